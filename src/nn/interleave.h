/* A row's even and odd columns apart, and back, in vectors (nn/vector_clones.h): the
 * shuffles of Winograd's phase planes and of the stride-2 parity planes (3x3
 * convolutions and depthwise ones). Include only from GF_VECTOR_CLONES functions: the
 * helpers are always inlined, so they take the width of the clone they are in.
 * Internal to src/nn. */
#ifndef GRAFT_NN_INTERLEAVE_H
#define GRAFT_NN_INTERLEAVE_H

#include <stdbool.h>
#include <string.h>

#include "nn/vector_clones.h"

_Static_assert(GF_VL == 16, "the shuffles below name 16 lanes");

/* Lanes 0, 2, .., 30 (EVENS) or 1, 3, .., 31 (ODDS) of a and b side by side; a and b
 * interleaved from their low (LOW) or high (HIGH) halves. */
#define GF_VEC_EVENS(a, b) \
    __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define GF_VEC_ODDS(a, b) \
    __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
#define GF_VEC_LOW(a, b) \
    __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define GF_VEC_HIGH(a, b) \
    __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)

/* Whether rows of w floats go through the helpers below: 8 to 32 wide, so that their
 * vectors reach at most into the next row (callers take a plane's last row apart). */
static inline bool gf_pairs_fit(int w) { return w >= 8 && w <= 2 * GF_VL; }

/* lanes 0 .. n - 1 of a, the others of b (macros: a vector returned by a function not
 * compiled for AVX-512 would change the calling convention) */
#define GF_VEC_BLEND_AT(a, b, n)                                                           \
    __extension__({                                                                       \
        const gf_ivec lane_ = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};      \
        const gf_ivec first_ = lane_ < (n);                                               \
        (gf_vec)(((gf_ivec)(a) & first_) | ((gf_ivec)(b) & ~first_));                     \
    })
/* v with lanes n and on zero */
#define GF_VEC_FIRST_LANES(v, n) GF_VEC_BLEND_AT(v, (gf_vec){0}, n)

/* The w floats at x (w <= 32; reads x[0, 16), or x[0, 32) where w > 16) apart:
 * *even holds x[0], x[2], .. in its first (w + 1) / 2 lanes, *odd x[1], x[3], .. in
 * its first w / 2, their other lanes zero. */
static inline __attribute__((always_inline)) void gf_vec_split_pairs(const float *x, int w,
                                                                     gf_vec *even,
                                                                     gf_vec *odd) {
    gf_vec a, b = {0};
    GF_VEC_LOAD(a, x);
    if (w > GF_VL) GF_VEC_LOAD(b, x + GF_VL);
    *even = GF_VEC_FIRST_LANES(GF_VEC_EVENS(a, b), (w + 1) / 2);
    *odd = GF_VEC_FIRST_LANES(GF_VEC_ODDS(a, b), w / 2);
}

/* The inverse: x[2 j] = (or +=, `add`) even[j], x[2 j + 1] = odd[j], for the w floats
 * of the row (w <= 32). Whole vectors are read and written back, up to x[16), or
 * x[32) where w > 16; the floats past the row keep their values, but no other thread
 * may write them meanwhile. */
static inline __attribute__((always_inline)) void gf_vec_join_pairs(float *x, int w,
                                                                    gf_vec even, gf_vec odd,
                                                                    bool add) {
    const gf_vec parts[2] = {GF_VEC_LOW(even, odd), GF_VEC_HIGH(even, odd)};
    for (int v = 0; v < (w > GF_VL ? 2 : 1); v++) {
        gf_vec old;
        GF_VEC_LOAD(old, x + v * GF_VL);
        const gf_vec value = add ? old + parts[v] : parts[v];
        GF_VEC_STORE(x + v * GF_VL, GF_VEC_BLEND_AT(value, old, w - v * GF_VL));
    }
}

/* Rows of exactly 8 floats, whose halves fit a vector of 4: split and joined with no
 * float read or written past the row, so also a plane's last row. */
typedef float gf_quarter_vec __attribute__((vector_size(GF_VL)));

static inline __attribute__((always_inline)) void gf_split_eight(const float *x, float *even,
                                                                 float *odd) {
    gf_half_vec row;
    memcpy(&row, x, sizeof row);
    const gf_quarter_vec evens = __builtin_shufflevector(row, row, 0, 2, 4, 6);
    const gf_quarter_vec odds = __builtin_shufflevector(row, row, 1, 3, 5, 7);
    memcpy(even, &evens, sizeof evens);
    memcpy(odd, &odds, sizeof odds);
}

/* x[2 j] = (or +=, `add`) even[j], x[2 j + 1] = odd[j], j < 4 */
static inline __attribute__((always_inline)) void gf_join_eight(float *x, const float *even,
                                                                const float *odd, bool add) {
    gf_quarter_vec evens, odds;
    memcpy(&evens, even, sizeof evens);
    memcpy(&odds, odd, sizeof odds);
    gf_half_vec row = __builtin_shufflevector(evens, odds, 0, 4, 1, 5, 2, 6, 3, 7);
    if (add) {
        gf_half_vec old;
        memcpy(&old, x, sizeof old);
        row += old;
    }
    memcpy(x, &row, sizeof row);
}

#endif
