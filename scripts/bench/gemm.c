/* Micro-benchmark of the matrix kernels (core/gemm.h) on one thread, on the products
 * of ResNet-20's "same" convolutions as the grid path (nn/conv2d_grid.c) calls them:
 * B rows are shifted views of zero-padded planes, K or N the positions of one chunk;
 * and on MobileNetV2's 1x1 forward products, an image at a time, its planes read in
 * place, the outputs written once into one image's buffer (which stays in cache) and
 * once into the planes of a batch of 128 images (fresh memory, as in a network).
 * Prints GFLOPS per product, the best of `repeats` timings by process CPU time (this
 * machine's host steals time unpredictably, the best run is the kernel's). Not a test:
 *   <build>/tests/core/bench_gemm [repeats] [avx512|avx2|portable]   (docs/kernels.md) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/gemm.h"
#include "core/rng.h"

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static float *random_floats(size_t n, gf_rng *r) {
    float *x = malloc(sizeof(float) * n);
    if (!x) {
        fprintf(stderr, "bench_gemm: out of memory (%zu floats)\n", n);
        exit(1);
    }
    gf_rng_fill_normal(r, x, n, 0.0f, 1.0f);
    return x;
}

/* One conv layer of ResNet-20 on its grid: `channels` planes of `positions` floats
 * (a chunk of images, rows of width + 1), 3 x 3 taps. */
typedef struct product_shape {
    const char *label;
    int channels, width, positions;
} product_shape;

/* rows[(c * 3 + kh) * 3 + kw] = plane c shifted by kh * row + kw - 1 */
static void shifted_rows(const float **rows, const float *planes, const product_shape *p,
                         size_t plane) {
    const int row = p->width + 1;
    for (int c = 0; c < p->channels; c++)
        for (int t = 0; t < 9; t++)
            rows[c * 9 + t] = planes + (size_t)c * plane + 1 + (size_t)(t / 3) * row + t % 3 - 1;
}

static void run(const product_shape *p, int repeats, gf_rng *r) {
    const int m = p->channels, n = p->channels * 9, k = p->positions;
    const size_t plane = (size_t)k + 4 * (size_t)(p->width + 1);
    float *planes = random_floats(plane * (size_t)m, r);
    float *grad = random_floats((size_t)m * k, r);
    float *weights = random_floats((size_t)m * n, r);
    float *packed = malloc(sizeof(float) * gf_gemm_packed_a_floats(m, n));
    float *scratch = malloc(sizeof(float) * gf_gemm_nt_scratch_floats(k));
    float *out = malloc(sizeof(float) * (size_t)m * k);
    const float **rows = malloc(sizeof(float *) * (size_t)n);
    const float **grad_rows = malloc(sizeof(float *) * (size_t)m);
    if (!packed || !scratch || !out || !rows || !grad_rows) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        exit(1);
    }
    shifted_rows(rows, planes, p, plane);
    gf_gemm_rows(grad_rows, grad, (size_t)k, m);
    gf_gemm_pack_a(packed, weights, n, false, m, n);
    const double flops = 2.0 * m * n * k;
    double best_nn = 1e30, best_nt = 1e30;
    for (int i = 0; i <= repeats; i++) { /* the first round warms up */
        /* forward: out[m, k] = W[m, n] patches[n, k] */
        double t0 = cpu_seconds();
        gf_gemm_nn(out, k, packed, rows, m, k, n, false);
        /* weight gradient: dW[m, n] += dY[m, k] patches[n, k]^T */
        double t1 = cpu_seconds();
        gf_gemm_nt(weights, n, grad_rows, rows, m, n, k, true, scratch);
        double t2 = cpu_seconds();
        if (i > 0 && t1 - t0 < best_nn) best_nn = t1 - t0;
        if (i > 0 && t2 - t1 < best_nt) best_nt = t2 - t1;
    }
    double nn = flops / best_nn / 1e9, nt = flops / best_nt / 1e9;
    printf("%-24s %4d x %4d x %5d %10.1f %10.1f\n", p->label, m, n, k, nn, nt);
    free(planes); free(grad); free(weights); free(packed); free(scratch); free(out);
    free(rows); free(grad_rows);
}

/* A 1x1 convolution's forward on planes of `positions` floats: out[m, positions] =
 * W[m, k] in[k, positions] per image. */
typedef struct pointwise_shape {
    const char *label;
    int in, out, positions;
} pointwise_shape;

enum { POINTWISE_IMAGES = 128 };

static void run_pointwise(const pointwise_shape *p, int repeats, gf_rng *r) {
    const int m = p->out, k = p->in, n = p->positions;
    const size_t in_floats = (size_t)k * n, out_floats = (size_t)m * n;
    float *in = random_floats(in_floats * POINTWISE_IMAGES, r);
    float *weights = random_floats((size_t)m * k, r);
    float *packed = malloc(sizeof(float) * gf_gemm_packed_a_floats(m, k));
    float *out = malloc(sizeof(float) * out_floats * POINTWISE_IMAGES);
    const float **rows = malloc(sizeof(float *) * (size_t)k);
    if (!packed || !out || !rows) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        exit(1);
    }
    gf_gemm_pack_a(packed, weights, k, false, m, k);
    double best[2] = {1e30, 1e30}; /* one buffer, the batch's planes */
    for (int i = 0; i <= repeats; i++) /* the first round warms up */
        for (int fresh = 0; fresh < 2; fresh++) {
            const double t0 = cpu_seconds();
            for (int image = 0; image < POINTWISE_IMAGES; image++) {
                gf_gemm_rows(rows, in + (size_t)image * in_floats, (size_t)n, k);
                gf_gemm_nn(out + (fresh ? (size_t)image * out_floats : 0), n, packed, rows, m, n,
                           k, false);
            }
            const double t = cpu_seconds() - t0;
            if (i > 0 && t < best[fresh]) best[fresh] = t;
        }
    const double flops = 2.0 * m * k * n * POINTWISE_IMAGES;
    printf("%-24s %4d x %4d x %5d %10.1f %10.1f %10.1f\n", p->label, m, k, n,
           flops / best[0] / 1e9, flops / best[1] / 1e9,
           sizeof(float) * (double)out_floats * POINTWISE_IMAGES / best[1] / 1e9);
    free(in); free(weights); free(packed); free(out); free(rows);
}

int main(int argc, char **argv) {
    const int repeats = argc > 1 ? atoi(argv[1]) : 20;
    if (repeats < 1) {
        fprintf(stderr, "bench_gemm: repeats must be a positive number, not \"%s\"\n", argv[1]);
        return 2;
    }
    if (argc > 2 && gf_gemm_use(argv[2]) != GF_OK) {
        fprintf(stderr, "bench_gemm: %s\n", gf_error_message());
        return 2;
    }
    /* chunks as gf_conv2d_grid_chunk makes them: 3, 7 and 12 images */
    const product_shape shapes[] = {
        {"16->16 32x32 (3 images)", 16, 32, 3 * 33 * 33},
        {"32->32 16x16 (7 images)", 32, 16, 7 * 17 * 17},
        {"64->64 8x8 (12 images)", 64, 8, 12 * 9 * 9},
    };
    gf_rng r;
    gf_rng_seed(&r, 7, 0);
    printf("kernel set %s, one thread, GFLOPS by CPU time, best of %d\n", gf_gemm_isa(), repeats);
    printf("%-24s %-20s %10s %10s\n", "product", "m x n x k", "nn (fwd)", "nt (dW)");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) run(&shapes[i], repeats, &r);
    const pointwise_shape pointwise[] = {
        {"16->96 32x32", 16, 96, 1024},  {"24->144 32x32", 24, 144, 1024},
        {"144->24 32x32", 144, 24, 1024}, {"32->192 16x16", 32, 192, 256},
        {"64->384 8x8", 64, 384, 64},    {"96->576 8x8", 96, 576, 64},
    };
    printf("\nMobileNetV2's 1x1 forward, %d images one at a time: GFLOPS with the outputs in one\n"
           "buffer and in the batch's planes, and the latter's rate of writing them (GB/s)\n",
           POINTWISE_IMAGES);
    printf("%-24s %-20s %10s %10s %10s\n", "product", "m x k x positions", "one buf", "batch",
           "write GB/s");
    for (size_t i = 0; i < sizeof pointwise / sizeof pointwise[0]; i++)
        run_pointwise(&pointwise[i], repeats, &r);
    return 0;
}
