/* Workers wait on a condition variable for a new job generation, run their share,
 * and the last one to finish signals the caller. One job at a time: a mutex held for
 * the whole job makes concurrent callers fall back to running alone. */
#include "core/parallel.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct pool {
    int threads;
    pthread_mutex_t busy; /* held by the thread that owns the current job */
    pthread_mutex_t lock;
    pthread_cond_t job_ready, job_done;
    uint64_t generation;
    int running; /* workers still inside the current job */
    gf_parallel_fn fn;
    void *ctx;
} pool;

static pool the_pool = {.busy = PTHREAD_MUTEX_INITIALIZER,
                        .lock = PTHREAD_MUTEX_INITIALIZER,
                        .job_ready = PTHREAD_COND_INITIALIZER,
                        .job_done = PTHREAD_COND_INITIALIZER};
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static _Thread_local bool inside_job;

typedef struct worker_arg { int index; } worker_arg;
static worker_arg worker_args[GF_MAX_THREADS];

static void *worker_main(void *arg) {
    const int index = ((worker_arg *)arg)->index;
    uint64_t seen = 0;
    inside_job = true; /* nested calls from a worker run inline */
    pthread_mutex_lock(&the_pool.lock);
    for (;;) {
        while (the_pool.generation == seen) pthread_cond_wait(&the_pool.job_ready, &the_pool.lock);
        seen = the_pool.generation;
        gf_parallel_fn fn = the_pool.fn;
        void *ctx = the_pool.ctx;
        int threads = the_pool.threads;
        pthread_mutex_unlock(&the_pool.lock);
        fn(ctx, index, threads);
        pthread_mutex_lock(&the_pool.lock);
        if (--the_pool.running == 0) pthread_cond_signal(&the_pool.job_done);
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
    pthread_mutex_lock(&the_pool.lock);
    the_pool.fn = fn;
    the_pool.ctx = ctx;
    the_pool.running = threads - 1;
    the_pool.generation++;
    pthread_cond_broadcast(&the_pool.job_ready);
    pthread_mutex_unlock(&the_pool.lock);

    inside_job = true;
    fn(ctx, 0, threads);
    inside_job = false;

    pthread_mutex_lock(&the_pool.lock);
    while (the_pool.running > 0) pthread_cond_wait(&the_pool.job_done, &the_pool.lock);
    pthread_mutex_unlock(&the_pool.lock);
    pthread_mutex_unlock(&the_pool.busy);
}

void gf_parallel_share(int64_t count, int thread, int threads, int64_t *begin, int64_t *end) {
    int64_t base = count / threads, extra = count % threads;
    *begin = thread * base + (thread < extra ? thread : extra);
    *end = *begin + base + (thread < extra ? 1 : 0);
}
