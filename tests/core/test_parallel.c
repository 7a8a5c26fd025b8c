/* The thread pool: every index runs exactly once per job, shares tile the range,
 * jobs nested in jobs and jobs from two application threads at once still cover all
 * the work; the hand-off holds whether the other side is spinning or asleep (jobs back
 * to back, after idle pauses, with workers slower than the caller), idle workers
 * stop using the CPU, and a queue hands out every item once, in blocks, also to
 * threads of unequal speed. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "core/parallel.h"

enum { ITEMS = 10007 };

typedef struct job {
    atomic_int calls[GF_MAX_THREADS];
    atomic_int seen_threads;
    int *hits; /* per item */
    int nested;
} job;

static void count_items(void *ctx, int thread, int threads) {
    job *j = ctx;
    atomic_fetch_add(&j->calls[thread], 1);
    atomic_store(&j->seen_threads, threads);
    int64_t begin, end;
    gf_parallel_share(ITEMS, thread, threads, &begin, &end);
    for (int64_t i = begin; i < end; i++) j->hits[i]++;
}

static void outer(void *ctx, int thread, int threads) {
    job *j = ctx;
    (void)threads;
    if (thread == 0) gf_parallel_run(count_items, j); /* nested: runs inline */
}

static void check_job(job *j, int expected_threads) {
    int wrong = 0;
    for (int i = 0; i < ITEMS; i++) wrong += j->hits[i] != 1;
    CHECK(wrong == 0);
    CHECK(atomic_load(&j->seen_threads) == expected_threads);
    for (int t = 0; t < expected_threads; t++) CHECK(atomic_load(&j->calls[t]) == 1);
}

static job *new_job(void) {
    job *j = calloc(1, sizeof *j);
    j->hits = calloc(ITEMS, sizeof(int));
    return j;
}

static void free_job(job *j) {
    free(j->hits);
    free(j);
}

static void *app_thread(void *arg) {
    for (int r = 0; r < 50; r++) {
        job *j = new_job();
        gf_parallel_run(count_items, j);
        int wrong = 0;
        for (int i = 0; i < ITEMS; i++) wrong += j->hits[i] != 1;
        if (wrong) atomic_fetch_add((atomic_int *)arg, 1);
        free_job(j);
    }
    return NULL;
}

static void sleep_microseconds(long micros) {
    struct timespec ts = {.tv_sec = micros / 1000000, .tv_nsec = micros % 1000000 * 1000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A short job: every thread writes its slot (plain stores, which the caller must see
 * once the job returns); threads other than 0 first sleep `worker_delay` µs. */
typedef struct slots {
    int value[GF_MAX_THREADS];
    int round;
    long worker_delay;
} slots;

static void write_slot(void *ctx, int thread, int threads) {
    slots *s = ctx;
    (void)threads;
    if (thread > 0 && s->worker_delay > 0) sleep_microseconds(s->worker_delay);
    s->value[thread] = s->round;
}

/* Runs `rounds` short jobs, `gap` µs apart; returns how many came back incomplete. */
static int short_jobs(int rounds, long gap, long worker_delay) {
    slots s = {.worker_delay = worker_delay};
    int incomplete = 0;
    for (int r = 1; r <= rounds; r++) {
        s.round = r;
        gf_parallel_run(write_slot, &s);
        int threads = gf_parallel_threads(), done = 0;
        for (int t = 0; t < threads; t++) done += s.value[t] == r;
        /* all threads, or thread 0 alone when another application thread held the pool */
        if (done != threads && !(done == 1 && s.value[0] == r)) incomplete++;
        if (gap > 0) sleep_microseconds(gap);
    }
    return incomplete;
}

static void *app_short_jobs(void *arg) {
    atomic_fetch_add((atomic_int *)arg, short_jobs(10000, 0, 0));
    return NULL;
}

typedef struct queue_job {
    gf_parallel_queue queue;
    atomic_int hits[ITEMS];
    atomic_int blocks[GF_MAX_THREADS];
    atomic_int wrong_size; /* blocks other than `block` long, except the last */
    int block;
} queue_job;

static void take_blocks(void *ctx, int thread, int threads) {
    queue_job *j = ctx;
    (void)threads;
    int64_t begin, end;
    while (gf_parallel_queue_take(&j->queue, &begin, &end)) {
        if (end - begin != j->block && end != ITEMS) atomic_fetch_add(&j->wrong_size, 1);
        atomic_fetch_add(&j->blocks[thread], 1);
        for (int64_t i = begin; i < end; i++) atomic_fetch_add(&j->hits[i], 1);
        /* the caller slower than the workers: they take more of the blocks */
        if (thread == 0) sleep_microseconds(200);
    }
}

/* gf_parallel_for's ranges: each item counted once, ranges recorded by length */
typedef struct range_count {
    atomic_int hits[ITEMS];
    atomic_int calls;
} range_count;

static void count_range(void *ctx, int thread, int64_t begin, int64_t end) {
    range_count *r = ctx;
    (void)thread;
    atomic_fetch_add(&r->calls, 1);
    for (int64_t i = begin; i < end; i++) atomic_fetch_add(&r->hits[i], 1);
}

int main(void) {
    setenv("GRAFT_THREADS", "3", 0); /* several workers even on a two-core machine */
    int threads = gf_parallel_threads();
    CHECK(threads >= 1 && threads <= GF_MAX_THREADS);

    for (int round = 0; round < 100; round++) {
        job *j = new_job();
        gf_parallel_run(count_items, j);
        check_job(j, threads);
        free_job(j);
    }

    job *j = new_job();
    gf_parallel_run(outer, j);
    check_job(j, 1);
    free_job(j);

    atomic_int failures = 0;
    pthread_t a, b;
    pthread_create(&a, NULL, app_thread, &failures);
    pthread_create(&b, NULL, app_thread, &failures);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK(atomic_load(&failures) == 0);

    /* the hand-off: back to back (workers spinning), after pauses longer than the
     * spin (workers asleep), workers slower than the caller's spin */
    CHECK(short_jobs(20000, 0, 0) == 0);
    CHECK(short_jobs(20, 5000, 0) == 0);
    CHECK(short_jobs(20, 0, 3000) == 0);
    for (int r = 0; r < 20; r++) CHECK(short_jobs(50, r * 50, r % 3 * 100) == 0);

    /* many short jobs from two application threads, each job whole */
    atomic_int incomplete = 0;
    pthread_create(&a, NULL, app_short_jobs, &incomplete);
    pthread_create(&b, NULL, app_short_jobs, &incomplete);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK(atomic_load(&incomplete) == 0);

    /* idle workers sleep: a spinning one would use about the whole pause */
    CHECK(short_jobs(100, 0, 0) == 0);
    double cpu = cpu_seconds();
    sleep_microseconds(200000);
    cpu = cpu_seconds() - cpu;
    CHECK(cpu < 0.04);

    /* a queue: every item once, in blocks of the size asked for; with the caller
     * slowed down, the workers take most of the blocks */
    for (int block = 1; block <= 1000; block *= 7) {
        queue_job *q = calloc(1, sizeof *q);
        q->block = block;
        gf_parallel_queue_init(&q->queue, ITEMS, block);
        gf_parallel_run(take_blocks, q);
        int wrong = 0, taken = 0;
        for (int i = 0; i < ITEMS; i++) wrong += atomic_load(&q->hits[i]) != 1;
        for (int t = 0; t < GF_MAX_THREADS; t++) taken += atomic_load(&q->blocks[t]);
        CHECK(wrong == 0);
        CHECK(atomic_load(&q->wrong_size) == 0);
        CHECK(taken == (ITEMS + block - 1) / block);
        if (gf_parallel_threads() > 1 && taken >= 50)
            CHECK(atomic_load(&q->blocks[0]) < taken / 2);
        int64_t begin, end;
        CHECK(!gf_parallel_queue_take(&q->queue, &begin, &end)); /* stays empty */
        free(q);
    }
    /* gf_parallel_for: every item once, in blocks of whole multiples; below the
     * threshold one call on the caller; nothing for no items */
    for (int threshold = 0; threshold <= ITEMS + 1; threshold += ITEMS + 1) {
        range_count *r = calloc(1, sizeof *r);
        gf_parallel_for(ITEMS, gf_parallel_block(ITEMS, 16), threshold, count_range, r);
        int wrong = 0;
        for (int i = 0; i < ITEMS; i++) wrong += atomic_load(&r->hits[i]) != 1;
        CHECK(wrong == 0);
        const int64_t block = gf_parallel_block(ITEMS, 16);
        CHECK(block % 16 == 0);
        CHECK(atomic_load(&r->calls) ==
              (threshold > ITEMS ? 1 : (int)((ITEMS + block - 1) / block)));
        free(r);
    }
    range_count *none = calloc(1, sizeof *none);
    gf_parallel_for(0, 16, 100, count_range, none);
    CHECK(atomic_load(&none->calls) == 0);
    free(none);
    gf_parallel_queue q0;
    gf_parallel_queue_init(&q0, 5, 0); /* a block below 1 counts as 1 */
    int64_t begin, end;
    CHECK(gf_parallel_queue_take(&q0, &begin, &end) && begin == 0 && end == 1);

    /* shares: contiguous, in order, sizes differ by at most one */
    for (int n = 1; n <= 9; n++) {
        int64_t expected_begin = 0;
        for (int t = 0; t < n; t++) {
            int64_t begin, end;
            gf_parallel_share(20, t, n, &begin, &end);
            CHECK(begin == expected_begin);
            CHECK(end - begin == 20 / n || end - begin == 20 / n + 1);
            expected_begin = end;
        }
        CHECK(expected_begin == 20);
    }
    return CHECK_DONE();
}
