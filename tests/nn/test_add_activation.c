/* The residual add fused with the activation after it (nn/shortcut.h) against the two
 * kernels apart (gf_add_forward, gf_activation_forward/backward, gf_add_backward) on
 * random sizes, every activation kind, every pair of gradient writes and x + x: the
 * same floating-point operations in the same order, so bit for bit. And the add that
 * reads a training BatchNorm's input through its map (gf_add_mapped_forward) against
 * the add, fused or not, on that BatchNorm's written output, bit for bit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/shortcut.h"

/* Random summands with exact kinks among them: sums of exactly 0 and of ReLU6's 6. */
static void fill_summands(gf_rng *rng, float *a, float *b, size_t n) {
    gf_rng_fill_normal(rng, a, n, 0.0f, 4.0f);
    gf_rng_fill_normal(rng, b, n, 0.0f, 4.0f);
    for (size_t i = 0; i < n; i++) {
        uint32_t pick = gf_rng_below(rng, 8);
        if (pick == 0) b[i] = -a[i];
        if (pick == 1) a[i] = b[i] = 3.0f;
    }
}

static void check_case(gf_rng *rng, size_t n, gf_activation_kind kind, float slope) {
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    float *sum = malloc(n * sizeof *sum), *expected = malloc(n * sizeof *expected);
    float *out = malloc(n * sizeof *out), *grad_out = malloc(n * sizeof *grad_out);
    float *grad_sum = malloc(n * sizeof *grad_sum);
    float *start[2], *want[2], *got[2];
    for (int k = 0; k < 2; k++) {
        start[k] = malloc(n * sizeof(float));
        want[k] = malloc(n * sizeof(float));
        got[k] = malloc(n * sizeof(float));
        gf_rng_fill_normal(rng, start[k], n, 0.0f, 1.0f);
    }
    fill_summands(rng, a, b, n);
    gf_rng_fill_normal(rng, grad_out, n, 0.0f, 1.0f);

    gf_add_forward(sum, a, b, n);
    gf_activation_forward(expected, sum, n, kind, slope);
    gf_add_activation_forward(out, a, b, n, kind, slope);
    CHECK(memcmp(out, expected, n * sizeof *out) == 0);

    gf_activation_backward(grad_sum, grad_out, sum, n, kind, slope, GF_GRAD_STORE);
    for (int mode = 0; mode < 4; mode++) {
        const gf_grad_write write[2] = {mode & 1 ? GF_GRAD_STORE : GF_GRAD_ADD,
                                        mode & 2 ? GF_GRAD_STORE : GF_GRAD_ADD};
        /* two inputs */
        for (int k = 0; k < 2; k++) {
            memcpy(want[k], start[k], n * sizeof(float));
            memcpy(got[k], start[k], n * sizeof(float));
            gf_add_backward(want[k], grad_sum, n, write[k]);
        }
        gf_add_activation_backward(got[0], got[1], grad_out, out, n, kind, slope, write);
        for (int k = 0; k < 2; k++) CHECK(memcmp(got[k], want[k], n * sizeof(float)) == 0);
        /* x + x: one gradient gets the first write, then the second */
        memcpy(want[0], start[0], n * sizeof(float));
        memcpy(got[0], start[0], n * sizeof(float));
        gf_add_backward(want[0], grad_sum, n, write[0]);
        gf_add_backward(want[0], grad_sum, n, write[1]);
        gf_add_activation_backward(got[0], got[0], grad_out, out, n, kind, slope, write);
        CHECK(memcmp(got[0], want[0], n * sizeof(float)) == 0);
    }
    for (int k = 0; k < 2; k++) {
        free(start[k]);
        free(want[k]);
        free(got[k]);
    }
    free(a);
    free(b);
    free(sum);
    free(expected);
    free(out);
    free(grad_out);
    free(grad_sum);
}

/* batch x channels planes of `plane` floats; activated false: the add without one */
static void check_mapped_case(gf_rng *rng, int batch, int channels, int plane, bool activated,
                              gf_activation_kind kind, float slope) {
    const size_t n = (size_t)batch * channels * plane;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *b = malloc(n * sizeof *b);
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    float *gamma = malloc(sizeof(float) * channels), *beta = malloc(sizeof(float) * channels);
    float *stats = calloc(4 * (size_t)channels, sizeof(float));
    gf_channel_affine *affine = malloc(sizeof *affine * channels);
    gf_rng_fill_normal(rng, x, n, 0.5f, 2.0f);
    gf_rng_fill_normal(rng, b, n, 0.0f, 1.0f);
    gf_rng_fill_normal(rng, gamma, (size_t)channels, 1.0f, 0.5f);
    gf_rng_fill_normal(rng, beta, (size_t)channels, 0.0f, 0.5f);
    gamma[channels / 2] = 0.0f; /* the map's constant case */
    const gf_batchnorm_shape bs = {.batch = batch, .channels = channels, .spatial = plane,
                                   .eps = 1e-5f, .momentum = 0.1f};
    float *saved_mean = stats, *saved_invstd = stats + channels;
    CHECK(gf_batchnorm_forward_train(y, saved_mean, saved_invstd, stats + 2 * channels,
                                     stats + 3 * channels, x, gamma, beta, &bs) == 0);
    gf_batchnorm_training_map(affine, gamma, beta, saved_mean, saved_invstd, channels);
    const gf_channel_map map = {.affine = affine};
    if (activated)
        gf_add_activation_forward(want, y, b, n, kind, slope);
    else
        gf_add_forward(want, y, b, n);
    gf_add_mapped_forward(got, x, &map, channels, (size_t)plane, b, n, activated, kind, slope);
    const bool same = memcmp(want, got, n * sizeof *got) == 0;
    if (!same)
        fprintf(stderr, "mapped add %d x %d x %d, activation %d (%s): differs\n", batch, channels,
                plane, (int)kind, activated ? "on" : "off");
    CHECK(same);
    free(x); free(y); free(b); free(want); free(got); free(gamma); free(beta); free(stats);
    free(affine);
}

int main(void) {
    gf_rng rng;
    gf_rng_seed(&rng, getenv("GRAFT_TEST_SEED") ? strtoull(getenv("GRAFT_TEST_SEED"), NULL, 10) : 21,
                3);
    const gf_activation_kind kinds[3] = {GF_ACT_RELU, GF_ACT_LEAKY_RELU, GF_ACT_RELU6};
    for (int round = 0; round < 6; round++) {
        /* small tensors run on one thread, large ones are split between the threads */
        size_t n = round < 3 ? 1 + gf_rng_below(&rng, 200)
                             : ((size_t)1 << 15) + gf_rng_below(&rng, 1 << 16);
        for (int k = 0; k < 3; k++) {
            float slope = kinds[k] == GF_ACT_LEAKY_RELU ? 0.5f * gf_rng_uniform(&rng) : 0.0f;
            check_case(&rng, n, kinds[k], slope);
        }
        check_case(&rng, n, GF_ACT_LEAKY_RELU, 0.0f);
    }
    /* the mapped add: small tensors on one thread, large ones over the threads */
    for (int round = 0; round < 8; round++) {
        const bool large = round >= 4; /* at least 5 x 32 planes of 256: 40960 floats */
        const int batch = (large ? 5 : 1) + (int)gf_rng_below(&rng, 4);
        const int channels = (large ? 32 : 1) + (int)gf_rng_below(&rng, 16);
        const int plane = large ? 256 + (int)gf_rng_below(&rng, 800) : 1 + (int)gf_rng_below(&rng, 70);
        const int activation = round % 4; /* 3: none */
        const float slope = kinds[activation % 3] == GF_ACT_LEAKY_RELU ? 0.2f : 0.0f;
        check_mapped_case(&rng, batch, channels, plane, activation < 3, kinds[activation % 3],
                          slope);
    }
    /* the fusion keeps only the output: the kinds whose output's sign decides */
    CHECK(gf_activation_gradient_from_output(GF_ACT_RELU, 0.0f));
    CHECK(gf_activation_gradient_from_output(GF_ACT_RELU6, 0.0f));
    CHECK(gf_activation_gradient_from_output(GF_ACT_LEAKY_RELU, 0.0f));
    CHECK(gf_activation_gradient_from_output(GF_ACT_LEAKY_RELU, 0.3f));
    CHECK(!gf_activation_gradient_from_output(GF_ACT_LEAKY_RELU, -0.3f));
    return CHECK_DONE();
}
