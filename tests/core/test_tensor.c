/* Tensors: creation, views, elementwise ops and reductions against naive loops,
 * matmul against a triple loop, and the error messages for bad shapes. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "core/error.h"
#include "core/tensor.h"

static gf_tensor *random_tensor(int ndim, const int64_t *shape, uint64_t seed) {
    gf_tensor *t = gf_tensor_create(ndim, shape);
    gf_rng r;
    gf_rng_seed(&r, seed, 0);
    gf_tensor_fill_normal(t, &r, 0.0f, 1.0f);
    return t;
}

static void create_is_zeroed_and_aligned(void) {
    int64_t shape[5] = {2, 3, 4, 5, 6};
    gf_tensor *t = gf_tensor_create(5, shape);
    CHECK(t != NULL);
    CHECK(t->numel == 720);
    CHECK(((uintptr_t)t->data % 64) == 0);
    CHECK(gf_tensor_abs_sum(t) == 0.0);
    gf_tensor_fill(t, 1.5f);
    CHECK_NEAR(gf_tensor_sum(t), 1080.0, 1e-9);
    gf_tensor *c = gf_tensor_clone(t);
    CHECK(c->data != t->data && gf_tensor_same_shape(c, t));
    CHECK(gf_tensor_max_rel_diff(c, t, 1e-12) == 0.0);
    gf_tensor_free(c);
    gf_tensor_free(t);
}

static void views_share_memory(void) {
    float buffer[12] = {0};
    int64_t shape[2] = {3, 4};
    gf_tensor *v = gf_tensor_view(buffer, 2, shape);
    gf_tensor_fill(v, 2.0f);
    CHECK(buffer[11] == 2.0f);
    int64_t flat[1] = {12};
    gf_tensor *r = gf_tensor_reshape_view(v, 1, flat);
    r->data[5] = -1.0f;
    CHECK(buffer[5] == -1.0f);
    gf_tensor_free(r);
    int64_t wrong[2] = {5, 2};
    gf_error_clear();
    CHECK(gf_tensor_reshape_view(v, 2, wrong) == NULL);
    CHECK_CONTAINS(gf_error_message(), "reshape: shape [3, 4] (12 elements) cannot become [5, 2]");
    gf_tensor_free(v); /* a view leaves the buffer alone */
}

static void elementwise_match_naive(void) {
    int64_t shape[3] = {4, 5, 6};
    gf_tensor *a = random_tensor(3, shape, 1), *b = random_tensor(3, shape, 2);
    for (int64_t i = 0; i < b->numel; i++) b->data[i] += b->data[i] > 0 ? 0.5f : -0.5f;
    gf_tensor *out = gf_tensor_create(3, shape);
    int worst = 0;
    CHECK(gf_tensor_add(out, a, b) == GF_OK);
    for (int64_t i = 0; i < a->numel; i++) worst += out->data[i] != a->data[i] + b->data[i];
    CHECK(gf_tensor_sub(out, a, b) == GF_OK);
    for (int64_t i = 0; i < a->numel; i++) worst += out->data[i] != a->data[i] - b->data[i];
    CHECK(gf_tensor_mul(out, a, b) == GF_OK);
    for (int64_t i = 0; i < a->numel; i++) worst += out->data[i] != a->data[i] * b->data[i];
    CHECK(gf_tensor_div(out, a, b) == GF_OK);
    for (int64_t i = 0; i < a->numel; i++) worst += out->data[i] != a->data[i] / b->data[i];
    CHECK(worst == 0);

    /* aliasing: out == a */
    gf_tensor *a_copy = gf_tensor_clone(a);
    CHECK(gf_tensor_add(a, a, b) == GF_OK);
    for (int64_t i = 0; i < a->numel; i++) worst += a->data[i] != a_copy->data[i] + b->data[i];
    CHECK(gf_tensor_copy(a, a_copy) == GF_OK);

    CHECK(gf_tensor_axpy(out, 0.0f, a) == GF_OK);
    gf_tensor_fill(out, 1.0f);
    CHECK(gf_tensor_axpy(out, -2.0f, a) == GF_OK);
    for (int64_t i = 0; i < a->numel; i++) worst += out->data[i] != 1.0f + -2.0f * a->data[i];
    gf_tensor_copy(out, a);
    gf_tensor_scale(out, 3.0f);
    gf_tensor_add_scalar(out, 0.25f);
    for (int64_t i = 0; i < a->numel; i++) worst += out->data[i] != a->data[i] * 3.0f + 0.25f;
    CHECK(worst == 0);

    gf_tensor_free(a_copy);
    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(out);
}

static void reductions_match_naive(void) {
    int64_t shape[2] = {37, 11};
    gf_tensor *a = random_tensor(2, shape, 3);
    double sum = 0, abs_sum = 0;
    float mx = a->data[0], mn = a->data[0];
    for (int64_t i = 0; i < a->numel; i++) {
        sum += a->data[i];
        abs_sum += fabs(a->data[i]);
        if (a->data[i] > mx) mx = a->data[i];
        if (a->data[i] < mn) mn = a->data[i];
    }
    CHECK_NEAR(gf_tensor_sum(a), sum, 1e-9);
    CHECK_NEAR(gf_tensor_mean(a), sum / 407.0, 1e-12);
    CHECK_NEAR(gf_tensor_abs_sum(a), abs_sum, 1e-9);
    CHECK(gf_tensor_max(a) == mx);
    CHECK(gf_tensor_min(a) == mn);
    CHECK(mx > 1.0f && mn < -1.0f);

    gf_tensor *b = gf_tensor_clone(a);
    b->data[17] = a->data[17] * 1.01f;
    double expected = fabs((double)a->data[17] - b->data[17]) / fmax(fabs(b->data[17]), 1e-3);
    CHECK_NEAR(gf_tensor_max_rel_diff(a, b, 1e-3), expected, 1e-9);
    b->data[3] = NAN;
    CHECK(isinf(gf_tensor_max_rel_diff(a, b, 1e-3)));
    gf_tensor_free(a);
    gf_tensor_free(b);
}

static void matmul_matches_triple_loop(void) {
    int64_t sa[2] = {7, 13}, sb[2] = {13, 5}, so[2] = {7, 5};
    gf_tensor *a = random_tensor(2, sa, 4), *b = random_tensor(2, sb, 5);
    gf_tensor *out = gf_tensor_create(2, so), *ref = gf_tensor_create(2, so);
    CHECK(gf_tensor_matmul(out, a, b) == GF_OK);
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 5; j++) {
            double s = 0;
            for (int k = 0; k < 13; k++) s += (double)a->data[i * 13 + k] * b->data[k * 5 + j];
            ref->data[i * 5 + j] = (float)s;
        }
    CHECK(gf_tensor_max_rel_diff(out, ref, 1e-3) < 1e-5);
    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(out);
    gf_tensor_free(ref);
}

static void errors_name_operation_and_shapes(void) {
    int64_t s23[2] = {2, 3}, s45[2] = {4, 5}, s25[2] = {2, 5}, s3[1] = {3};
    gf_tensor *a = gf_tensor_create(2, s23), *b = gf_tensor_create(2, s45);
    gf_tensor *o = gf_tensor_create(2, s25), *v = gf_tensor_create(1, s3);

    CHECK(gf_tensor_matmul(o, a, b) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "matmul: shapes [2, 3] and [4, 5] do not match");
    CHECK(gf_tensor_add(a, a, b) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "add: shapes [2, 3] and [4, 5] do not match");
    CHECK(gf_tensor_mul(o, a, a) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "mul: output shape [2, 5] does not match operand shape [2, 3]");
    CHECK(gf_tensor_copy(v, a) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "copy: shapes [3] and [2, 3] do not match");
    CHECK(gf_tensor_axpy(v, 1.0f, a) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "axpy: shapes [3] and [2, 3] do not match");

    int64_t bad[2] = {2, 0};
    CHECK(gf_tensor_create(2, bad) == NULL);
    CHECK_CONTAINS(gf_error_message(), "tensor_create: shape [2, 0] has size 0 in dimension 1");
    int64_t six[6] = {1, 1, 1, 1, 1, 1};
    CHECK(gf_tensor_create(6, six) == NULL);
    CHECK_CONTAINS(gf_error_message(), "6 dimensions given, a tensor has 1 to 5");
    int64_t huge[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
    CHECK(gf_tensor_create(2, huge) == NULL);
    CHECK_CONTAINS(gf_error_message(), "too many elements");

    gf_tensor_free(a);
    gf_tensor_free(b);
    gf_tensor_free(o);
    gf_tensor_free(v);
}

int main(void) {
    create_is_zeroed_and_aligned();
    views_share_memory();
    elementwise_match_naive();
    reductions_match_naive();
    matmul_matches_triple_loop();
    errors_name_operation_and_shapes();
    return CHECK_DONE();
}
