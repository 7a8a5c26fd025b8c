/* The caller publishes a job by bumping a generation number; workers run their share
 * and count themselves out, the caller runs share 0 and waits for the count to reach
 * zero. Both sides first watch these atomics for a bounded window (a training step
 * hands out a job every millisecond or so, and waking a sleeping thread costs tens of
 * microseconds on a virtual machine), then sleep on condition variables, so an idle
 * process uses no CPU. One job at a time: a mutex held for the whole job makes
 * concurrent callers fall back to running alone. */
#include "core/parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/clock.h"

/* How long a worker watches for the next job, and the caller for the workers' end,
 * before sleeping: longer than most serial stretches between a training step's jobs
 * (up to about 0.6 ms), short enough that an idle process soon stops using the CPU. */
#define WATCH_NANOSECONDS 1000000

typedef struct pool {
    int threads;
    pthread_mutex_t busy; /* held by the thread that owns the current job */
    pthread_mutex_t lock; /* guards the sleeps on the two conditions */
    pthread_cond_t job_ready, job_done;
    atomic_uint_fast64_t generation; /* bumped (release) once fn and ctx are set */
    atomic_int running;              /* workers still inside the current job */
    gf_parallel_fn fn;
    void *ctx;
    int64_t finished[GF_MAX_THREADS]; /* when each thread ended its part of the job */
    int64_t idle_nanoseconds;         /* the threads' waits for the last one, summed */
} pool;

static pool the_pool = {.busy = PTHREAD_MUTEX_INITIALIZER,
                        .lock = PTHREAD_MUTEX_INITIALIZER,
                        .job_ready = PTHREAD_COND_INITIALIZER,
                        .job_done = PTHREAD_COND_INITIALIZER};
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static _Thread_local bool inside_job;

typedef struct worker_arg { int index; } worker_arg;
static worker_arg worker_args[GF_MAX_THREADS];

/* Watches done(arg) until it holds or the window has passed; returns done(arg). */
static bool watch_until(bool (*done)(const void *), const void *arg) {
    int64_t deadline = 0;
    for (unsigned i = 0;; i++) {
        if (done(arg)) return true;
        /* yielding, not pausing: on a loaded machine the thread we wait for may be
         * queued behind us on this CPU */
        sched_yield();
        if (i % 16 == 15) {
            int64_t now = gf_clock_nanoseconds();
            if (deadline == 0) deadline = now + WATCH_NANOSECONDS;
            else if (now >= deadline) return done(arg);
        }
    }
}

static bool generation_moved(const void *seen) {
    return atomic_load_explicit(&the_pool.generation, memory_order_acquire) !=
           *(const uint64_t *)seen;
}

static bool workers_finished(const void *unused) {
    (void)unused;
    return atomic_load_explicit(&the_pool.running, memory_order_acquire) == 0;
}

static void *worker_main(void *arg) {
    const int index = ((worker_arg *)arg)->index;
    uint64_t seen = 0;
    inside_job = true; /* nested calls from a worker run inline */
    for (;;) {
        if (!watch_until(generation_moved, &seen)) {
            pthread_mutex_lock(&the_pool.lock);
            while (!generation_moved(&seen)) pthread_cond_wait(&the_pool.job_ready, &the_pool.lock);
            pthread_mutex_unlock(&the_pool.lock);
        }
        seen = atomic_load_explicit(&the_pool.generation, memory_order_acquire);
        the_pool.fn(the_pool.ctx, index, the_pool.threads);
        the_pool.finished[index] = gf_clock_nanoseconds(); /* published by the release below */
        if (atomic_fetch_sub_explicit(&the_pool.running, 1, memory_order_acq_rel) == 1) {
            /* the caller may be asleep; a signal nobody waits for costs little */
            pthread_mutex_lock(&the_pool.lock);
            pthread_cond_signal(&the_pool.job_done);
            pthread_mutex_unlock(&the_pool.lock);
        }
    }
    return NULL;
}

static int configured_threads(void) {
    const char *env = getenv("GRAFT_THREADS");
    long n = 0;
    if (env && *env) {
        char *end;
        n = strtol(env, &end, 10);
        if (*end != '\0') n = 0;
    }
    if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > GF_MAX_THREADS) n = GF_MAX_THREADS;
    return (int)n;
}

static void start_pool(void) {
    int wanted = configured_threads();
    the_pool.threads = 1;
    for (int i = 1; i < wanted; i++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_t thread;
        worker_args[i].index = i;
        int failed = pthread_create(&thread, &attr, worker_main, &worker_args[i]);
        pthread_attr_destroy(&attr);
        if (failed) break; /* run with the workers we have */
        the_pool.threads = i + 1;
    }
}

int gf_parallel_threads(void) {
    pthread_once(&pool_once, start_pool);
    return the_pool.threads;
}

void gf_parallel_run(gf_parallel_fn fn, void *ctx) {
    int threads = gf_parallel_threads();
    if (threads == 1 || inside_job || pthread_mutex_trylock(&the_pool.busy) != 0) {
        fn(ctx, 0, 1);
        return;
    }
    the_pool.fn = fn;
    the_pool.ctx = ctx;
    atomic_store_explicit(&the_pool.running, threads - 1, memory_order_relaxed);
    /* under the lock, so that a worker between its check and its sleep cannot miss it */
    pthread_mutex_lock(&the_pool.lock);
    atomic_fetch_add_explicit(&the_pool.generation, 1, memory_order_release);
    pthread_cond_broadcast(&the_pool.job_ready);
    pthread_mutex_unlock(&the_pool.lock);

    inside_job = true;
    fn(ctx, 0, threads);
    inside_job = false;
    the_pool.finished[0] = gf_clock_nanoseconds();

    if (!watch_until(workers_finished, NULL)) {
        pthread_mutex_lock(&the_pool.lock);
        while (!workers_finished(NULL)) pthread_cond_wait(&the_pool.job_done, &the_pool.lock);
        pthread_mutex_unlock(&the_pool.lock);
    }
    int64_t last = 0;
    for (int t = 0; t < threads; t++)
        if (the_pool.finished[t] > last) last = the_pool.finished[t];
    for (int t = 0; t < threads; t++) the_pool.idle_nanoseconds += last - the_pool.finished[t];
    pthread_mutex_unlock(&the_pool.busy);
}

int64_t gf_parallel_idle_nanoseconds(void) {
    pthread_mutex_lock(&the_pool.busy);
    const int64_t idle = the_pool.idle_nanoseconds;
    pthread_mutex_unlock(&the_pool.busy);
    return idle;
}

void gf_parallel_share(int64_t count, int thread, int threads, int64_t *begin, int64_t *end) {
    int64_t base = count / threads, extra = count % threads;
    *begin = thread * base + (thread < extra ? thread : extra);
    *end = *begin + base + (thread < extra ? 1 : 0);
}

void gf_parallel_queue_init(gf_parallel_queue *q, int64_t count, int64_t block) {
    atomic_init(&q->next, 0);
    q->count = count;
    q->block = block < 1 ? 1 : block;
}

int64_t gf_parallel_block(int64_t count, int64_t multiple) {
    const int64_t parts = 8 * (int64_t)gf_parallel_threads();
    const int64_t target = (count + parts - 1) / parts;
    if (multiple < 1) multiple = 1;
    const int64_t block = (target + multiple - 1) / multiple * multiple;
    return block < 1 ? 1 : block;
}

bool gf_parallel_queue_take(gf_parallel_queue *q, int64_t *begin, int64_t *end) {
    /* relaxed: the items' data is published by gf_parallel_run's start and join */
    const int64_t first = atomic_fetch_add_explicit(&q->next, q->block, memory_order_relaxed);
    if (first >= q->count) return false;
    *begin = first;
    *end = q->count - first < q->block ? q->count : first + q->block;
    return true;
}

typedef struct range_job {
    gf_parallel_queue queue;
    gf_parallel_range_fn fn;
    void *ctx;
} range_job;

static void take_ranges(void *ctx, int thread, int threads) {
    range_job *job = ctx;
    (void)threads;
    int64_t begin, end;
    while (gf_parallel_queue_take(&job->queue, &begin, &end)) job->fn(job->ctx, thread, begin, end);
}

void gf_parallel_for(int64_t count, int64_t block, int64_t min_parallel, gf_parallel_range_fn fn,
                     void *ctx) {
    if (count < min_parallel) {
        if (count > 0) fn(ctx, 0, 0, count);
        return;
    }
    range_job job = {.fn = fn, .ctx = ctx};
    gf_parallel_queue_init(&job.queue, count, block);
    gf_parallel_run(take_ranges, &job);
}
