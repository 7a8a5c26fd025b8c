/* gf_sort_indices and gf_first_duplicate: sorted, stable permutations on sorted,
 * reversed, random, constant and organ-pipe keys, and the work done counted: never
 * more than n ceil(log2 n) comparisons (an insertion sort makes n^2 / 2 on reversed
 * keys: 5e9 for the 100,000 here), whatever the order of the input. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "core/rng.h"
#include "io/sorted_index.h"

typedef struct counted_keys {
    const uint32_t *keys;
    size_t comparisons;
} counted_keys;

static int compare_keys(const void *context, size_t a, size_t b) {
    counted_keys *c = (counted_keys *)context;
    c->comparisons++;
    return c->keys[a] < c->keys[b] ? -1 : c->keys[a] > c->keys[b];
}

static size_t ceil_log2(size_t n) {
    size_t bits = 0;
    while (((size_t)1 << bits) < n) bits++;
    return bits;
}

/* Sorts 0..n-1 by keys; checks order, stability, permutation and the work bound. */
static void check_sort(const uint32_t *keys, size_t n, const char *what) {
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    bool *seen = calloc(n ? n : 1, sizeof *seen);
    for (size_t i = 0; i < n; i++) order[i] = i;
    counted_keys c = {keys, 0};
    CHECK(gf_sort_indices(order, n, compare_keys, &c) == 0);
    bool sorted = true, stable = true, permutation = true;
    for (size_t i = 0; i < n; i++) {
        permutation = permutation && order[i] < n && !seen[order[i]];
        if (order[i] < n) seen[order[i]] = true;
        if (i == 0) continue;
        sorted = sorted && keys[order[i - 1]] <= keys[order[i]];
        stable = stable && (keys[order[i - 1]] != keys[order[i]] || order[i - 1] < order[i]);
    }
    if (!(sorted && stable && permutation && c.comparisons <= n * ceil_log2(n)))
        fprintf(stderr, "%s, n = %zu: sorted %d, stable %d, permutation %d, %zu comparisons "
                        "(bound %zu)\n", what, n, sorted, stable, permutation, c.comparisons,
                n * ceil_log2(n));
    CHECK(sorted && stable && permutation);
    CHECK(c.comparisons <= n * ceil_log2(n));
    free(seen);
    free(order);
}

static void test_orders(void) {
    enum { N = 100000 };
    uint32_t *keys = malloc(N * sizeof *keys);
    gf_rng rng;
    gf_rng_seed(&rng, 17, 0);
    size_t sizes[] = {0, 1, 2, 3, 5, 8, 13, 64, 1000, N};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        for (size_t i = 0; i < n; i++) keys[i] = (uint32_t)i;
        check_sort(keys, n, "ascending");
        for (size_t i = 0; i < n; i++) keys[i] = (uint32_t)(n - i);
        check_sort(keys, n, "descending");
        for (size_t i = 0; i < n; i++) keys[i] = gf_rng_u32(&rng);
        check_sort(keys, n, "random");
        for (size_t i = 0; i < n; i++) keys[i] = gf_rng_below(&rng, 10);
        check_sort(keys, n, "ten values (stability)");
        for (size_t i = 0; i < n; i++) keys[i] = 7;
        check_sort(keys, n, "constant");
        for (size_t i = 0; i < n; i++) keys[i] = (uint32_t)(i < n / 2 ? i : n - i);
        check_sort(keys, n, "organ pipe");
    }
    free(keys);
}

static void test_first_duplicate(void) {
    uint32_t keys[6] = {5, 1, 9, 3, 9, 1};
    size_t order[6] = {0, 1, 2, 3, 4, 5};
    counted_keys c = {keys, 0};
    CHECK(gf_sort_indices(order, 6, compare_keys, &c) == 0);
    /* sorted: 1 (1), 1 (5), 3, 5, 9 (2), 9 (4): the first repeat at position 1, item 5 */
    size_t at = gf_first_duplicate(order, 6, compare_keys, &c);
    CHECK(at == 1 && order[at] == 5);
    uint32_t distinct[4] = {4, 3, 2, 1};
    size_t order4[4] = {0, 1, 2, 3};
    c.keys = distinct;
    CHECK(gf_sort_indices(order4, 4, compare_keys, &c) == 0);
    CHECK(gf_first_duplicate(order4, 4, compare_keys, &c) == 4);
    CHECK(gf_first_duplicate(order4, 0, compare_keys, &c) == 0);
}

int main(void) {
    test_orders();
    test_first_duplicate();
    return CHECK_DONE();
}
