/* Micro-benchmark of the thread pool's dispatch (core/parallel.h): `calls` jobs that
 * do almost nothing (each thread marks its slot), with the caller doing `gap` µs of
 * work of its own between jobs (0: back to back), as a training step's serial
 * stretches between layers do. Prints wall and process CPU ns per call, the best of
 * `repeats` rounds by wall time (run it on a quiet machine). Not a test:
 *   <build>/tests/core/bench_parallel [calls] [repeats]          (docs/kernels.md) */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/parallel.h"

static double clock_seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct marks {
    atomic_int slot[GF_MAX_THREADS];
} marks;

static void mark_slot(void *ctx, int thread, int threads) {
    (void)threads;
    atomic_fetch_add_explicit(&((marks *)ctx)->slot[thread], 1, memory_order_relaxed);
}

/* Serial work of the caller's own, about `micros` µs (a busy loop on the clock). */
static void work_alone(double micros) {
    if (micros <= 0.0) return;
    double until = clock_seconds(CLOCK_MONOTONIC) + micros * 1e-6;
    while (clock_seconds(CLOCK_MONOTONIC) < until) {
    }
}

int main(int argc, char **argv) {
    int calls = argc > 1 ? atoi(argv[1]) : 20000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (calls < 1 || repeats < 1) {
        fprintf(stderr, "usage: bench_parallel [calls >= 1] [repeats >= 1]\n");
        return 1;
    }
    const double gaps[] = {0.0, 5.0, 50.0, 500.0, 5000.0};
    marks m = {0};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        /* long gaps take long: fewer calls, at least 20 */
        int n = gaps[g] > 0.0 ? (int)(calls / (1.0 + gaps[g] / 10.0)) : calls;
        if (n < 20) n = 20;
        double best_wall = 0.0, best_cpu = 0.0;
        for (int r = 0; r < repeats; r++) {
            double wall = clock_seconds(CLOCK_MONOTONIC);
            double cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
            for (int i = 0; i < n; i++) {
                gf_parallel_run(mark_slot, &m);
                work_alone(gaps[g]);
            }
            wall = clock_seconds(CLOCK_MONOTONIC) - wall;
            cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu;
            if (r == 0 || wall < best_wall) {
                best_wall = wall;
                best_cpu = cpu;
            }
        }
        /* the gap's own time taken out: what a call adds */
        double gap_seconds = gaps[g] * 1e-6;
        printf("threads=%d gap_us=%.0f calls=%d wall_ns_per_call=%.0f "
               "cpu_ns_per_call=%.0f\n",
               gf_parallel_threads(), gaps[g], n, 1e9 * (best_wall / n - gap_seconds),
               1e9 * (best_cpu / n - gap_seconds));
    }
    long total = 0;
    for (int t = 0; t < GF_MAX_THREADS; t++) total += atomic_load(&m.slot[t]);
    return total > 0 ? 0 : 1;
}
