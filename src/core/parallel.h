/* A small pool of worker threads for the layer kernels, which split their work by
 * (thread index, thread count), as ggml does, or take blocks of it from a queue
 * (gf_parallel_for). The calling thread is thread 0; the pool holds threads - 1 workers that wait between jobs (watching for the next one
 * for up to a millisecond, then asleep).
 *
 * The thread count is the number of online CPUs, or GRAFT_THREADS when set (1 to 64),
 * read once. A call from inside a job, or while another application thread is using
 * the pool, runs the job on the calling thread alone (thread 0 of 1), so kernels
 * must not assume the count: they ask for it through their `threads` argument. */
#ifndef GRAFT_CORE_PARALLEL_H
#define GRAFT_CORE_PARALLEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define GF_MAX_THREADS 64

typedef void (*gf_parallel_fn)(void *ctx, int thread, int threads);

/* The most threads a job can get (size per-thread scratch memory with this). */
int gf_parallel_threads(void);
/* Runs fn(ctx, t, n) for t = 0 .. n-1 on n threads and returns when all are done. */
void gf_parallel_run(gf_parallel_fn fn, void *ctx);
/* Thread-nanoseconds spent, since the start, by the threads of the pool's jobs waiting
 * at a job's end for the last of them to finish (the cost of unequal shares: on two
 * threads, the time by which the slower one ends after the faster). */
int64_t gf_parallel_idle_nanoseconds(void);
/* The share [*begin, *end) of `count` items that thread `thread` of `threads` takes. */
void gf_parallel_share(int64_t count, int thread, int threads, int64_t *begin, int64_t *end);

/* Items 0 .. count - 1 handed out in order, `block` at a time, to whichever thread
 * asks next: for work whose results do not depend on which thread computes which
 * item, so that a thread on a slower CPU (a virtual machine's CPUs are often unequal
 * for seconds at a time) takes fewer blocks instead of keeping the others waiting. */
typedef struct gf_parallel_queue {
    _Atomic int64_t next;
    int64_t count, block;
} gf_parallel_queue;

void gf_parallel_queue_init(gf_parallel_queue *q, int64_t count, int64_t block);
/* A block for a queue of `count` items: about an eighth of a thread's share, rounded up
 * to a multiple of `multiple` (whole cache lines of floats, a kernel's whole chunks). */
int64_t gf_parallel_block(int64_t count, int64_t multiple);
/* The next block [*begin, *end) (the last may be shorter); false when none is left. */
bool gf_parallel_queue_take(gf_parallel_queue *q, int64_t *begin, int64_t *end);

/* fn(ctx, thread, begin, end) over items 0 .. count - 1 in blocks of `block` taken from
 * a queue by the pool's threads (`thread`: the taker's index, for its scratch); on the
 * caller alone, in one call, when count is below min_parallel (a hand-off would cost
 * more). */
typedef void (*gf_parallel_range_fn)(void *ctx, int thread, int64_t begin, int64_t end);
void gf_parallel_for(int64_t count, int64_t block, int64_t min_parallel, gf_parallel_range_fn fn,
                     void *ctx);

#endif
