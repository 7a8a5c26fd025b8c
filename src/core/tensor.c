#include "core/tensor.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/memory.h"

int gf_shape_check(int ndim, const int64_t *shape, const char *operation) {
    if (ndim < 1 || ndim > GF_MAX_DIMS)
        return gf_fail("%s: %d dimensions given, a tensor has 1 to %d", operation, ndim,
                       GF_MAX_DIMS);
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1) {
            char buf[128];
            return gf_fail("%s: shape %s has size %lld in dimension %d, sizes must be >= 1",
                           operation, gf_shape_format(buf, sizeof buf, ndim, shape),
                           (long long)shape[i], i);
        }
        /* keep numel * sizeof(float) representable */
        if (numel > (INT64_MAX / 8) / shape[i]) {
            char buf[128];
            return gf_fail("%s: shape %s has too many elements", operation,
                           gf_shape_format(buf, sizeof buf, ndim, shape));
        }
        numel *= shape[i];
    }
    return GF_OK;
}

int64_t gf_shape_numel(int ndim, const int64_t *shape) {
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= shape[i];
    return numel;
}

char *gf_shape_format(char *buf, size_t size, int ndim, const int64_t *shape) {
    if (size == 0) return buf;
    size_t used = 0;
    buf[0] = '\0';
    int n = snprintf(buf, size, "[");
    if (n > 0) used = (size_t)n;
    for (int i = 0; i < ndim && used < size; i++) {
        n = snprintf(buf + used, size - used, i ? ", %lld" : "%lld", (long long)shape[i]);
        if (n < 0) break;
        used += (size_t)n;
    }
    if (used < size) snprintf(buf + used, size - used, "]");
    return buf;
}

bool gf_tensor_same_shape(const gf_tensor *a, const gf_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

static gf_tensor *tensor_header(int ndim, const int64_t *shape, const char *operation) {
    if (gf_shape_check(ndim, shape, operation) != GF_OK) return NULL;
    gf_tensor *t = gf_alloc(sizeof *t, "tensor header");
    if (!t) return NULL;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = gf_shape_numel(ndim, shape);
    return t;
}

gf_tensor *gf_tensor_create(int ndim, const int64_t *shape) {
    gf_tensor *t = tensor_header(ndim, shape, "tensor_create");
    if (!t) return NULL;
    char buf[128];
    t->data = gf_alloc((size_t)t->numel * sizeof(float),
                       gf_shape_format(buf, sizeof buf, ndim, shape));
    if (!t->data) {
        gf_free(t);
        return NULL;
    }
    t->owns_data = true;
    return t;
}

gf_tensor *gf_tensor_view(float *data, int ndim, const int64_t *shape) {
    if (!data) {
        gf_fail("tensor_view: no data");
        return NULL;
    }
    gf_tensor *t = tensor_header(ndim, shape, "tensor_view");
    if (!t) return NULL;
    t->data = data;
    t->owns_data = false;
    return t;
}

gf_tensor *gf_tensor_clone(const gf_tensor *src) {
    gf_tensor *t = gf_tensor_create(src->ndim, src->shape);
    if (!t) return NULL;
    memcpy(t->data, src->data, (size_t)src->numel * sizeof(float));
    return t;
}

void gf_tensor_free(gf_tensor *t) {
    if (!t) return;
    if (t->owns_data) gf_free(t->data);
    gf_free(t);
}

gf_tensor *gf_tensor_reshape_view(const gf_tensor *t, int ndim, const int64_t *shape) {
    if (gf_shape_check(ndim, shape, "reshape") != GF_OK) return NULL;
    if (gf_shape_numel(ndim, shape) != t->numel) {
        char from[128], to[128];
        gf_fail("reshape: shape %s (%lld elements) cannot become %s (%lld elements)",
                gf_shape_format(from, sizeof from, t->ndim, t->shape), (long long)t->numel,
                gf_shape_format(to, sizeof to, ndim, shape),
                (long long)gf_shape_numel(ndim, shape));
        return NULL;
    }
    return gf_tensor_view(t->data, ndim, shape);
}

void gf_tensor_fill(gf_tensor *t, float value) {
    for (int64_t i = 0; i < t->numel; i++) t->data[i] = value;
}

static int shape_mismatch(const char *operation, const gf_tensor *a, const gf_tensor *b) {
    char sa[128], sb[128];
    return gf_fail("%s: shapes %s and %s do not match", operation,
                   gf_shape_format(sa, sizeof sa, a->ndim, a->shape),
                   gf_shape_format(sb, sizeof sb, b->ndim, b->shape));
}

int gf_tensor_copy(gf_tensor *dst, const gf_tensor *src) {
    if (!gf_tensor_same_shape(dst, src)) return shape_mismatch("copy", dst, src);
    memmove(dst->data, src->data, (size_t)src->numel * sizeof(float));
    return GF_OK;
}

void gf_tensor_fill_normal(gf_tensor *t, gf_rng *rng, float mean, float std) {
    gf_rng_fill_normal(rng, t->data, (size_t)t->numel, mean, std);
}

void gf_tensor_fill_uniform(gf_tensor *t, gf_rng *rng, float low, float high) {
    gf_rng_fill_uniform(rng, t->data, (size_t)t->numel, low, high);
}

/* The output must have the operands' shape too: a silent write past a smaller
 * buffer is worse than an error. */
static int check_binary(const char *operation, const gf_tensor *out, const gf_tensor *a,
                        const gf_tensor *b) {
    if (!gf_tensor_same_shape(a, b)) return shape_mismatch(operation, a, b);
    if (!gf_tensor_same_shape(out, a)) {
        char so[128], sa[128];
        return gf_fail("%s: output shape %s does not match operand shape %s", operation,
                       gf_shape_format(so, sizeof so, out->ndim, out->shape),
                       gf_shape_format(sa, sizeof sa, a->ndim, a->shape));
    }
    return GF_OK;
}

#define ELEMENTWISE(fn_name, op_name, expr)                                          \
    int fn_name(gf_tensor *out, const gf_tensor *a, const gf_tensor *b) {            \
        if (check_binary(op_name, out, a, b) != GF_OK) return GF_ERR;                \
        const float *x = a->data, *y = b->data;                                      \
        float *z = out->data;                                                        \
        for (int64_t i = 0; i < out->numel; i++) z[i] = (expr);                      \
        return GF_OK;                                                                \
    }

ELEMENTWISE(gf_tensor_add, "add", x[i] + y[i])
ELEMENTWISE(gf_tensor_sub, "sub", x[i] - y[i])
ELEMENTWISE(gf_tensor_mul, "mul", x[i] * y[i])
ELEMENTWISE(gf_tensor_div, "div", x[i] / y[i])

void gf_tensor_scale(gf_tensor *t, float factor) {
    for (int64_t i = 0; i < t->numel; i++) t->data[i] *= factor;
}

void gf_tensor_add_scalar(gf_tensor *t, float value) {
    for (int64_t i = 0; i < t->numel; i++) t->data[i] += value;
}

int gf_tensor_axpy(gf_tensor *y, float a, const gf_tensor *x) {
    if (!gf_tensor_same_shape(y, x)) return shape_mismatch("axpy", y, x);
    for (int64_t i = 0; i < y->numel; i++) y->data[i] += a * x->data[i];
    return GF_OK;
}

double gf_tensor_sum(const gf_tensor *t) {
    double sum = 0.0;
    for (int64_t i = 0; i < t->numel; i++) sum += t->data[i];
    return sum;
}

double gf_tensor_mean(const gf_tensor *t) { return gf_tensor_sum(t) / (double)t->numel; }

float gf_tensor_max(const gf_tensor *t) {
    float m = t->data[0];
    for (int64_t i = 1; i < t->numel; i++)
        if (t->data[i] > m) m = t->data[i];
    return m;
}

float gf_tensor_min(const gf_tensor *t) {
    float m = t->data[0];
    for (int64_t i = 1; i < t->numel; i++)
        if (t->data[i] < m) m = t->data[i];
    return m;
}

double gf_tensor_abs_sum(const gf_tensor *t) {
    double sum = 0.0;
    for (int64_t i = 0; i < t->numel; i++) sum += fabs((double)t->data[i]);
    return sum;
}

double gf_tensor_max_rel_diff(const gf_tensor *a, const gf_tensor *b, double floor) {
    if (!gf_tensor_same_shape(a, b)) {
        shape_mismatch("max_rel_diff", a, b);
        return INFINITY;
    }
    double worst = 0.0;
    for (int64_t i = 0; i < a->numel; i++) {
        double x = a->data[i], y = b->data[i];
        double scale = fabs(y) > floor ? fabs(y) : floor;
        double d = fabs(x - y) / scale;
        if (isnan(d)) return INFINITY; /* NaN on either side is never "close" */
        if (d > worst) worst = d;
    }
    return worst;
}

int gf_tensor_matmul(gf_tensor *out, const gf_tensor *a, const gf_tensor *b) {
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0])
        return shape_mismatch("matmul", a, b);
    int64_t m = a->shape[0], k = a->shape[1], n = b->shape[1];
    if (out->ndim != 2 || out->shape[0] != m || out->shape[1] != n) {
        char so[128];
        int64_t want[2] = {m, n};
        char sw[128];
        return gf_fail("matmul: output shape %s, expected %s",
                       gf_shape_format(so, sizeof so, out->ndim, out->shape),
                       gf_shape_format(sw, sizeof sw, 2, want));
    }
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
        return gf_fail("matmul: sizes %lld x %lld x %lld exceed BLAS's int range",
                       (long long)m, (long long)k, (long long)n);
    if (out->data == a->data || out->data == b->data)
        return gf_fail("matmul: output must not alias an operand");
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f,
                a->data, (int)k, b->data, (int)n, 0.0f, out->data, (int)n);
    return GF_OK;
}
