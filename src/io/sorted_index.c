#include "io/sorted_index.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

/* Merges the sorted runs from[lo, mid) and from[mid, hi) into to[lo, hi); equal
 * items keep their order (the left run's first). */
static void merge(const size_t *from, size_t *to, size_t lo, size_t mid, size_t hi,
                  gf_index_compare compare, const void *context) {
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi) to[k++] = compare(context, from[j], from[i]) < 0 ? from[j++] : from[i++];
    while (i < mid) to[k++] = from[i++];
    while (j < hi) to[k++] = from[j++];
}

int gf_sort_indices(size_t *order, size_t n, gf_index_compare compare, const void *context) {
    if (n < 2) return GF_OK;
    size_t *scratch = malloc(n * sizeof *scratch);
    if (!scratch) return gf_fail("out of memory sorting %zu items", n);
    /* runs of width 1, 2, 4, ... merged back and forth between the two arrays */
    size_t *from = order, *to = scratch;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            merge(from, to, lo, mid, hi, compare, context);
        }
        size_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != order) memcpy(order, from, n * sizeof *order);
    free(scratch);
    return GF_OK;
}

size_t gf_first_duplicate(const size_t *order, size_t n, gf_index_compare compare,
                          const void *context) {
    for (size_t i = 1; i < n; i++)
        if (compare(context, order[i - 1], order[i]) == 0) return i;
    return n;
}
