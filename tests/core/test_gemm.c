/* The convolution's matrix kernels, every kernel set this CPU can run, against a
 * triple loop in double: odd sizes (partial tiles in M, N and K), transposed packing,
 * leading dimensions larger than the width, overwrite and accumulate, and rows given
 * as a table of overlapping views (random offsets into one buffer, as a convolution's
 * shifted views of a padded image); nt's product stored plain and transposed; nn over
 * segmented columns and nt over a segmented K against the same gathered, bit for bit. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/gemm.h"
#include "core/rng.h"

static float *random_floats(size_t n, gf_rng *r) {
    float *x = malloc(sizeof(float) * n);
    gf_rng_fill_normal(r, x, n, 0.0f, 1.0f);
    return x;
}

/* A table of `count` rows of `width` floats: plain rows `ld` apart, or (overlapping)
 * views at random offsets into one buffer. *storage receives the buffer to free. */
static const float **row_table(int count, int width, int ld, bool overlapping, float **storage,
                               gf_rng *r) {
    const float **rows = malloc(sizeof(float *) * (size_t)count);
    size_t span = overlapping ? (size_t)width + 2 * (size_t)count : (size_t)count * ld;
    *storage = random_floats(span, r);
    for (int i = 0; i < count; i++)
        rows[i] = *storage + (overlapping ? gf_rng_below(r, (uint32_t)(2 * count + 1))
                                          : (size_t)i * ld);
    return rows;
}

/* C = A B (+ C0) with A [m,k] at lda (or transposed storage), B [k,n] from a row table */
static double worst_nn(int m, int n, int k, bool transposed, bool accumulate, bool overlapping,
                       gf_rng *r) {
    int lda = transposed ? m + 3 : k + 2, ldc = n + 1;
    size_t a_n = transposed ? (size_t)k * lda : (size_t)m * lda;
    float *a = random_floats(a_n, r), *b_storage;
    const float **b = row_table(k, n, n + 5, overlapping, &b_storage, r);
    float *c = random_floats((size_t)m * ldc, r), *c0 = malloc(sizeof(float) * m * ldc);
    memcpy(c0, c, sizeof(float) * m * ldc);
    float *packed = malloc(sizeof(float) * gf_gemm_packed_a_floats(m, k));
    gf_gemm_pack_a(packed, a, lda, transposed, m, k);
    gf_gemm_nn(c, ldc, packed, b, m, n, k, accumulate);
    double worst = 0;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            double s = accumulate ? c0[i * ldc + j] : 0.0;
            for (int t = 0; t < k; t++)
                s += (double)(transposed ? a[t * lda + i] : a[i * lda + t]) * b[t][j];
            worst = fmax(worst, fabs(c[i * ldc + j] - s) / fmax(1.0, fabs(s)));
        }
        /* the padding columns between n and ldc stay untouched */
        for (int j = n; j < ldc; j++) worst = fmax(worst, c[i * ldc + j] != c0[i * ldc + j]);
    }
    free(a); free(b); free(b_storage); free(c); free(c0); free(packed);
    return worst;
}

/* gf_gemm_nn_segmented on `segments` segments of `segment` columns (the last one
 * `short_by` vectors of 16 short), B's and C's segments apart by random gaps, against
 * gf_gemm_nn on the columns gathered into plain matrices: the same bits, and the
 * gaps of C untouched. Returns false on any difference. */
static bool segmented_matches_gathered(int m, int k, int segment, int segments, int short_by,
                                       bool accumulate, gf_rng *r) {
    const int n = segment * segments - 16 * short_by;
    const size_t b_stride = (size_t)segment + 16 * gf_rng_below(r, 3) + gf_rng_below(r, 5);
    const size_t c_stride = (size_t)segment * (size_t)m + gf_rng_below(r, 40);
    const int ldc = segment; /* C as images of m planes of `segment` floats */
    float *a = random_floats((size_t)m * k, r);
    float *b = random_floats(b_stride * (size_t)segments * k, r);
    float *c = random_floats(c_stride * (size_t)segments, r);
    float *c0 = malloc(sizeof(float) * c_stride * segments);
    memcpy(c0, c, sizeof(float) * c_stride * segments);
    const float **rows = malloc(sizeof(float *) * (size_t)k);
    /* B of segment s, row kk, column p at b[s * b_stride * k... ]: rows kk of every
     * segment are b_stride apart, rows of one segment segment * segments apart */
    for (int kk = 0; kk < k; kk++) rows[kk] = b + (size_t)kk * b_stride * segments;
    float *packed = malloc(sizeof(float) * gf_gemm_packed_a_floats(m, k));
    gf_gemm_pack_a(packed, a, k, false, m, k);
    gf_gemm_nn_segmented(c, ldc, c_stride, packed, rows, b_stride, (size_t)segment, m, n, k,
                         accumulate);
    /* the same columns gathered */
    float *gathered_b = malloc(sizeof(float) * (size_t)n * k);
    float *gathered_c = malloc(sizeof(float) * (size_t)n * m);
    const float **gathered_rows = malloc(sizeof(float *) * (size_t)k);
    for (int j = 0; j < n; j++) {
        const size_t seg = (size_t)(j / segment), at = (size_t)(j % segment);
        for (int kk = 0; kk < k; kk++)
            gathered_b[(size_t)kk * n + j] = rows[kk][seg * b_stride + at];
        for (int i = 0; i < m; i++)
            gathered_c[(size_t)i * n + j] = c0[seg * c_stride + (size_t)i * ldc + at];
    }
    gf_gemm_rows(gathered_rows, gathered_b, (size_t)n, k);
    gf_gemm_nn(gathered_c, n, packed, gathered_rows, m, n, k, accumulate);
    bool same = true;
    float *expected = malloc(sizeof(float) * c_stride * segments);
    memcpy(expected, c0, sizeof(float) * c_stride * segments);
    for (int j = 0; j < n; j++)
        for (int i = 0; i < m; i++)
            expected[(size_t)(j / segment) * c_stride + (size_t)i * ldc + (size_t)(j % segment)] =
                gathered_c[(size_t)i * n + j];
    same = memcmp(expected, c, sizeof(float) * c_stride * segments) == 0;
    free(a); free(b); free(c); free(c0); free(rows); free(packed);
    free(gathered_b); free(gathered_c); free(gathered_rows); free(expected);
    return same;
}

/* gf_gemm_nt_segmented with K in `segments` segments of `segment` values (the last
 * `short_by` vectors of 16 short), A's and B's segments apart by random gaps, against
 * gf_gemm_nt on K gathered into plain rows: the same bits. */
static bool nt_segmented_matches_gathered(int m, int n, int segment, int segments,
                                          int short_by, bool accumulate, gf_rng *r) {
    const int k = segment * segments - 16 * short_by;
    const size_t a_stride = (size_t)segment * (size_t)m + gf_rng_below(r, 40);
    const size_t b_stride = (size_t)segment * (size_t)n + gf_rng_below(r, 40);
    float *a = random_floats(a_stride * (size_t)segments, r);
    float *b = random_floats(b_stride * (size_t)segments, r);
    const float **a_rows = malloc(sizeof(float *) * (size_t)m);
    const float **b_rows = malloc(sizeof(float *) * (size_t)n);
    /* as a 1x1 convolution's planes: row i of segment s at s * stride + i * segment */
    for (int i = 0; i < m; i++) a_rows[i] = a + (size_t)i * segment;
    for (int j = 0; j < n; j++) b_rows[j] = b + (size_t)j * segment;
    float *ga = malloc(sizeof(float) * (size_t)m * k), *gb = malloc(sizeof(float) * (size_t)n * k);
    for (int kk = 0; kk < k; kk++) {
        const size_t at = (size_t)(kk / segment), within = (size_t)(kk % segment);
        for (int i = 0; i < m; i++) ga[(size_t)i * k + kk] = a_rows[i][at * a_stride + within];
        for (int j = 0; j < n; j++) gb[(size_t)j * k + kk] = b_rows[j][at * b_stride + within];
    }
    const float **ga_rows = malloc(sizeof(float *) * (size_t)m);
    const float **gb_rows = malloc(sizeof(float *) * (size_t)n);
    gf_gemm_rows(ga_rows, ga, (size_t)k, m);
    gf_gemm_rows(gb_rows, gb, (size_t)k, n);
    float *c = random_floats((size_t)m * n, r), *expected = malloc(sizeof(float) * m * n);
    memcpy(expected, c, sizeof(float) * m * n);
    float *scratch = malloc(sizeof(float) * gf_gemm_nt_scratch_floats(k));
    gf_gemm_nt_segmented(c, n, a_rows, a_stride, b_rows, b_stride, (size_t)segment, m, n, k,
                         accumulate, scratch);
    gf_gemm_nt(expected, n, ga_rows, gb_rows, m, n, k, accumulate, scratch);
    const bool same = memcmp(c, expected, sizeof(float) * m * n) == 0;
    free(a); free(b); free(a_rows); free(b_rows); free(ga); free(gb); free(ga_rows);
    free(gb_rows); free(c); free(expected); free(scratch);
    return same;
}

/* C = A B^T (+ C0) with A and B from row tables; `transposed`: C^T stored, [n][ldc] */
static double worst_nt(int m, int n, int k, bool accumulate, bool overlapping, bool transposed,
                       gf_rng *r) {
    const int rows = transposed ? n : m, width = transposed ? m : n, ldc = width + 2;
    float *a_storage, *b_storage;
    const float **a = row_table(m, k, k + 1, overlapping, &a_storage, r);
    const float **b = row_table(n, k, k + 3, overlapping, &b_storage, r);
    float *c = random_floats((size_t)rows * ldc, r), *c0 = malloc(sizeof(float) * rows * ldc);
    memcpy(c0, c, sizeof(float) * rows * ldc);
    float *scratch = malloc(sizeof(float) * gf_gemm_nt_scratch_floats(k));
    if (transposed)
        gf_gemm_nt_transposed(c, ldc, a, b, m, n, k, accumulate, scratch);
    else
        gf_gemm_nt(c, ldc, a, b, m, n, k, accumulate, scratch);
    free(scratch);
    double worst = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            const size_t at = transposed ? (size_t)j * ldc + i : (size_t)i * ldc + j;
            double s = accumulate ? c0[at] : 0.0;
            for (int t = 0; t < k; t++) s += (double)a[i][t] * b[j][t];
            worst = fmax(worst, fabs(c[at] - s) / fmax(1.0, fabs(s)));
        }
    /* the padding columns between the width and ldc stay untouched */
    for (int i = 0; i < rows; i++)
        for (int j = width; j < ldc; j++) worst = fmax(worst, c[i * ldc + j] != c0[i * ldc + j]);
    free(a); free(b); free(a_storage); free(b_storage); free(c); free(c0);
    return worst;
}

/* One shape of gf_gemm_nn (nt false) or gf_gemm_nt, each of the eight settings of its
 * checker's three flags, within 1e-5 of the double reference. */
static void check_variants(const char *set, bool nt, int m, int n, int k, gf_rng *r) {
    for (int variant = 0; variant < 8; variant++) {
        double e = nt ? worst_nt(m, n, k, variant & 1, variant & 2, variant & 4, r)
                      : worst_nn(m, n, k, variant & 1, variant & 2, variant & 4, r);
        if (e > 1e-5)
            fprintf(stderr, "%s %s %dx%dx%d variant %d: %g\n", set, nt ? "nt" : "nn", m, n, k,
                    variant, e);
        CHECK(e <= 1e-5);
    }
}

int main(void) {
    const char *sets[3] = {"avx512", "avx2", "portable"};
    const int sizes[][3] = {{1, 1, 1}, {8, 32, 16}, {16, 64, 144}, {7, 33, 5},
                            {13, 70, 131}, {3, 5, 200}, {24, 16, 27}, {9, 100, 64}, {40, 9, 50},
                            {11, 57, 130}, {32, 98, 80}};
    int tested = 0;
    for (int s = 0; s < 3; s++) {
        if (gf_gemm_use(sets[s]) != GF_OK) {
            CHECK_CONTAINS(gf_error_message(), "cannot run");
            continue;
        }
        CHECK(strcmp(gf_gemm_isa(), sets[s]) == 0);
        tested++;
        gf_rng r;
        gf_rng_seed(&r, 1000 + s, 0);
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            check_variants(sets[s], false, sizes[i][0], sizes[i][1], sizes[i][2], &r);
            check_variants(sets[s], true, sizes[i][0], sizes[i][1], sizes[i][2], &r);
        }
        /* random shapes with many columns: several strips of column blocks
         * (core/gemm.c), each passed by several row panels */
        for (int shape = 0; shape < 4; shape++) {
            int m = 1 + (int)gf_rng_below(&r, 40), n = 600 + (int)gf_rng_below(&r, 2400);
            int k = 32 + (int)gf_rng_below(&r, 64);
            check_variants(sets[s], false, m, n, k, &r);
        }
        /* random weight-gradient shapes: channels each way, a short K of tiles */
        for (int shape = 0; shape < 6; shape++) {
            int m = 1 + (int)gf_rng_below(&r, 96), n = 1 + (int)gf_rng_below(&r, 96);
            int k = 1 + (int)gf_rng_below(&r, 120);
            check_variants(sets[s], true, m, n, k, &r);
        }
        /* segmented columns: planes of 16 to 80 floats, a short last one, K past the
         * padded copy's 64 rows */
        for (int shape = 0; shape < 12; shape++) {
            const int segment = 16 * (1 + (int)gf_rng_below(&r, 5));
            const int segments = 1 + (int)gf_rng_below(&r, 6);
            const int short_by = (int)gf_rng_below(&r, (uint32_t)(segment / 16));
            const int m = 1 + (int)gf_rng_below(&r, 40), k = 1 + (int)gf_rng_below(&r, 150);
            const bool same = segmented_matches_gathered(m, k, segment, segments, short_by,
                                                         shape & 1, &r);
            if (!same)
                fprintf(stderr, "%s nn segmented %dx%dx%d (%d x %d, short by %d): differs\n",
                        sets[s], m, segment * segments - 16 * short_by, k, segments, segment,
                        short_by);
            CHECK(same);
            const int n = 1 + (int)gf_rng_below(&r, 40);
            const bool nt_same = nt_segmented_matches_gathered(m, n, segment, segments, short_by,
                                                               shape & 2, &r);
            if (!nt_same)
                fprintf(stderr, "%s nt segmented %dx%dx%d (%d x %d, short by %d): differs\n",
                        sets[s], m, n, segment * segments - 16 * short_by, segments, segment,
                        short_by);
            CHECK(nt_same);
        }
    }
    CHECK(tested >= 1);
    /* whole blocks of 32 columns, a last one of at most 16 as 16 */
    CHECK(gf_gemm_nn_columns(64) == 64 && gf_gemm_nn_columns(98) == 112);
    CHECK(gf_gemm_nn_columns(196) == 208 && gf_gemm_nn_columns(113) == 128);
    CHECK(gf_gemm_nn_columns(1) == 16 && gf_gemm_nn_columns(17) == 32);
    CHECK(gf_gemm_use("sse9") == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "no kernel set named \"sse9\"");
    return CHECK_DONE();
}
