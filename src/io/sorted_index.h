/* Sorting a list of indices by a comparison of the items they stand for, and finding
 * equal neighbours in the result: the O(n log n) steps under the safetensors
 * reader's checks (names appear once, tensors tile the data section) and its name
 * lookup, so that a header of a million tensors costs seconds at most, not hours. */
#ifndef GRAFT_IO_SORTED_INDEX_H
#define GRAFT_IO_SORTED_INDEX_H

#include <stddef.h>

/* <0, 0 or >0 as item a sorts before, with or after item b. */
typedef int (*gf_index_compare)(const void *context, size_t a, size_t b);

/* Sorts order[0..n) (indices, in any order) by compare: a stable bottom-up merge
 * sort, at most n * ceil(log2 n) comparisons whatever the input. GF_ERR (out of
 * memory for n scratch indices) leaves order as it was. */
int gf_sort_indices(size_t *order, size_t n, gf_index_compare compare, const void *context);

/* In sorted order[0..n): the first position i > 0 whose item compares equal to the
 * one before it, or n when all differ (n - 1 comparisons). */
size_t gf_first_duplicate(const size_t *order, size_t n, gf_index_compare compare,
                          const void *context);

#endif
