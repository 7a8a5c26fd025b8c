/* The thread pool: every index runs exactly once per job, shares tile the range,
 * jobs nested in jobs and jobs from two application threads at once still cover all
 * the work. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

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

int main(void) {
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
