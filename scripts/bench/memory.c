/* The machine's memory speeds, which bound the passes of a training step that move
 * whole tensors (BatchNorm, the splits and joins of the convolutions, the residual
 * adds): for working sets from 1 MiB to `max_mib`, the bytes per second that the
 * pool's threads (core/parallel.h, GRAFT_THREADS) read, write, copy and update in place,
 * each thread over its share of the arrays (allocated as a network's arena is, in huge
 * pages where the kernel gives them), the best of `repeats` timings by wall clock. Bytes are those the loop reads plus those it writes (a copy's destination
 * lines, which the CPU also reads before writing them, are counted once). Where the
 * speeds fall with the working set shows which cache a step's tensors fit in. Not a
 * test:
 *   <build>/tests/core/bench_memory [max_mib 512] [repeats 5]     (docs/benchmarks.md) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/memory.h"
#include "core/parallel.h"

enum { LANES = 16, ACCUMULATORS = 4 };

typedef float lanes __attribute__((vector_size(LANES * sizeof(float))));

typedef enum pass { READ, WRITE, COPY, UPDATE, PASSES } pass;

static const char *const pass_names[PASSES] = {"read", "write", "copy", "update"};
/* bytes moved per float of the working set's first array */
static const int pass_bytes[PASSES] = {4, 4, 8, 8};

typedef struct job {
    pass kind;
    float *a, *b;
    size_t floats; /* of each array, a multiple of LANES * ACCUMULATORS per thread */
    int rounds;
    float sink[GF_MAX_THREADS];
} job;

/* memcpy to and from vectors, in macros: a vector passed by value between the clones
 * below and a function compiled for baseline x86-64 would change the calling convention */
#define LOAD(v, p) memcpy(&(v), (p), sizeof(lanes))
#define STORE(p, v) memcpy((p), &(v), sizeof(lanes))

/* one thread's pass over n floats from a (and b), compiled for the widest vectors the
 * CPU has, as the layer kernels are (nn/vector_clones.h); returns the sum it read */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static float run_pass(pass kind, float *a, float *b, size_t n, int rounds, float fill) {
    /* independent sums, so that the reads are not serialised by one add's latency */
    lanes sum[ACCUMULATORS] = {{0}};
    /* 1 for any finite fill, but not known to the compiler, which would otherwise drop
     * the update as a no-op */
    const float factor = 1.0f + fill * 0.0f;
    lanes v, filled = (lanes){0} + fill;
    for (int r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i += LANES * ACCUMULATORS)
            for (int k = 0; k < ACCUMULATORS; k++) {
                const size_t at = i + (size_t)k * LANES;
                switch (kind) {
                case READ: LOAD(v, a + at); sum[k] += v; break;
                case WRITE: STORE(a + at, filled); break;
                case COPY: LOAD(v, a + at); STORE(b + at, v); break;
                case UPDATE: LOAD(v, a + at); v *= factor; STORE(a + at, v); break;
                case PASSES: break;
                }
            }
    }
    float total = 0.0f;
    for (int k = 0; k < ACCUMULATORS; k++)
        for (int l = 0; l < LANES; l++) total += sum[k][l];
    return total;
}

static void run_share(void *ctx, int thread, int threads) {
    job *j = ctx;
    int64_t begin, end;
    gf_parallel_share((int64_t)(j->floats / (LANES * ACCUMULATORS)), thread, threads, &begin,
                      &end);
    const size_t at = (size_t)begin * LANES * ACCUMULATORS;
    j->sink[thread] = run_pass(j->kind, j->a + at, j->b + at,
                               (size_t)(end - begin) * LANES * ACCUMULATORS, j->rounds,
                               (float)thread);
}

int main(int argc, char **argv) {
    const long max_mib = argc > 1 ? atol(argv[1]) : 512;
    const int repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (max_mib < 1 || max_mib > (1L << 20) || repeats < 1) {
        fprintf(stderr, "usage: %s [max_mib 1..1048576] [repeats >= 1]\n", argv[0]);
        return 2;
    }
    const int threads = gf_parallel_threads();
    const size_t unit = (size_t)LANES * ACCUMULATORS * (size_t)threads;
    const size_t most = ((size_t)max_mib << 20) / sizeof(float) / unit * unit;
    /* through gf_alloc, so in the huge pages a network's arena gets (core/memory.h) */
    float *a = gf_alloc(most * sizeof(float), "bench_memory's first array");
    float *b = a ? gf_alloc(most * sizeof(float), "bench_memory's second array") : NULL;
    if (!a || !b) {
        fprintf(stderr, "%s: %s\n", argv[0], gf_error_message());
        gf_free(a);
        return 1;
    }
    printf("threads=%d repeats=%d (GB/s, bytes read + written; copy's working set is both "
           "arrays)\n",
           threads, repeats);
    printf("%10s", "MiB");
    for (int p = 0; p < PASSES; p++) printf(" %8s", pass_names[p]);
    printf("\n");
    for (long mib = 1; mib <= max_mib; mib *= 2) {
        /* copy's two arrays make the working set, so each holds half of it */
        printf("%10ld", mib);
        for (int p = 0; p < PASSES; p++) {
            const size_t bytes = (size_t)mib << 20;
            size_t floats = bytes / sizeof(float) / (p == COPY ? 2 : 1) / unit * unit;
            if (floats == 0) floats = unit;
            /* about 2 GB moved per timing, so that small sets are timed over many rounds */
            const double moved = (double)floats * pass_bytes[p];
            job j = {.kind = (pass)p, .a = a, .b = b, .floats = floats,
                     .rounds = (int)(2e9 / moved) + 1};
            double best = 1e30;
            for (int r = 0; r <= repeats; r++) { /* the first round warms up */
                const double start = gf_clock_seconds();
                gf_parallel_run(run_share, &j);
                const double seconds = gf_clock_seconds() - start;
                if (r > 0 && seconds < best) best = seconds;
            }
            printf(" %8.1f", moved * j.rounds / best / 1e9);
        }
        printf("\n");
    }
    gf_free(a);
    gf_free(b);
    return 0;
}
