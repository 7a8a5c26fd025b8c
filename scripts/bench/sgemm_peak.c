/* The machine's single-precision product peak as OpenBLAS reaches it: the best of
 * `repeats` timings (wall clock) of cblas_sgemm on n x n matrices, with the threads
 * OpenBLAS is given (OPENBLAS_NUM_THREADS; scripts/bench/train_step sets 2). Prints
 * one key=value line, with the kernel family OpenBLAS chose (`core`): an old OpenBLAS
 * takes a CPU it does not know for a generic one (Prescott) and runs SSE3 kernels
 * unless OPENBLAS_CORETYPE names a better one. Not a test:
 *   <build>/tests/core/bench_sgemm_peak [n 2048] [repeats 10] */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/rng.h"

int main(int argc, char **argv) {
    const int n = argc > 1 ? atoi(argv[1]) : 2048;
    const int repeats = argc > 2 ? atoi(argv[2]) : 10;
    if (n < 16 || repeats < 1) {
        fprintf(stderr, "usage: %s [n >= 16] [repeats >= 1]\n", argv[0]);
        return 2;
    }
    const size_t count = (size_t)n * (size_t)n;
    float *a = malloc(count * sizeof *a), *b = malloc(count * sizeof *b);
    float *c = malloc(count * sizeof *c);
    if (!a || !b || !c) {
        fprintf(stderr, "%s: out of memory for %d x %d matrices\n", argv[0], n, n);
        return 1;
    }
    gf_rng rng;
    gf_rng_seed(&rng, 3, 0);
    gf_rng_fill_normal(&rng, a, count, 0.0f, 1.0f);
    gf_rng_fill_normal(&rng, b, count, 0.0f, 1.0f);
    double best = 1e30;
    for (int r = 0; r <= repeats; r++) { /* the first round warms up */
        double start = gf_clock_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                    c, n);
        double seconds = gf_clock_seconds() - start;
        if (r > 0 && seconds < best) best = seconds;
    }
    printf("sgemm n=%d repeats=%d core=%s gflop_per_s=%.1f\n", n, repeats, openblas_get_corename(),
           2.0 * n * n * (double)n / best / 1e9);
    free(a);
    free(b);
    free(c);
    return 0;
}
