/* A small pool of worker threads for the layer kernels, which split their work by
 * (thread index, thread count), as ggml does. The calling thread is thread 0; the
 * pool holds threads - 1 workers that wait between jobs (watching for the next one
 * for up to a millisecond, then asleep).
 *
 * The thread count is the number of online CPUs, or GRAFT_THREADS when set (1 to 64),
 * read once. A call from inside a job, or while another application thread is using
 * the pool, runs the job on the calling thread alone (thread 0 of 1), so kernels
 * must not assume the count: they ask for it through their `threads` argument. */
#ifndef GRAFT_CORE_PARALLEL_H
#define GRAFT_CORE_PARALLEL_H

#include <stdint.h>

#define GF_MAX_THREADS 64

typedef void (*gf_parallel_fn)(void *ctx, int thread, int threads);

/* The most threads a job can get (size per-thread scratch memory with this). */
int gf_parallel_threads(void);
/* Runs fn(ctx, t, n) for t = 0 .. n-1 on n threads and returns when all are done. */
void gf_parallel_run(gf_parallel_fn fn, void *ctx);
/* The share [*begin, *end) of `count` items that thread `thread` of `threads` takes. */
void gf_parallel_share(int64_t count, int thread, int threads, int64_t *begin, int64_t *end);

#endif
