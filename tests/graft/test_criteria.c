/* Criteria (eq. 3-6) against hand-computed values and an independent histogram. */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "core/error.h"
#include "core/rng.h"
#include "graft/criteria.h"

static double entropy_of(const float *v, size_t n, int bins) {
    double h = -1.0;
    CHECK(gf_entropy(v, n, bins, &h) == GF_OK);
    return h;
}

static void test_known_vectors(void) {
    /* 0..9 over 10 bins: one value per bin, the maximum 9 in the closed last bin */
    const float ten[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK_NEAR(entropy_of(ten, 10, 10), log(10.0), 1e-12);
    /* constant tensor */
    const float constant[] = {3, 3, 3, 3};
    CHECK(entropy_of(constant, 4, 10) == 0.0);
    /* three zeros in bin 0, the maximum 1 in bin 9: -(.75 ln .75 + .25 ln .25) */
    const float skewed[] = {0, 0, 0, 1};
    CHECK_NEAR(entropy_of(skewed, 4, 10), 0.5623351446188083, 1e-12);
    /* two bins: {0, 0.4} and {0.6, 1, 1}: -(.4 ln .4 + .6 ln .6) */
    const float two_bins[] = {0, 0.4f, 0.6f, 1, 1};
    CHECK_NEAR(entropy_of(two_bins, 5, 2), 0.6730116670092565, 1e-12);
    /* 0.5 sits on the bin edge and belongs to the upper bin: counts (1, 2) */
    const float edge[] = {0, 0.5f, 1};
    CHECK_NEAR(entropy_of(edge, 3, 2), 0.6365141682948128, 1e-12);
    /* a single bin holds everything */
    CHECK(entropy_of(ten, 10, 1) == 0.0);
    /* one value */
    CHECK(entropy_of(ten + 4, 1, 10) == 0.0);
}

static void test_histogram(void) {
    const float v[] = {-1, 0, 0.25f, 0.5f, 1, 2};
    int64_t counts[4];
    CHECK(gf_histogram(v, 6, 4, 0.0, 1.0, counts) == GF_OK);
    /* -1 and 2 are outside; 0 -> 0, 0.25 -> 1, 0.5 -> 2, 1 -> 3 (closed) */
    CHECK(counts[0] == 1 && counts[1] == 1 && counts[2] == 1 && counts[3] == 1);
    CHECK(gf_histogram(v, 6, 0, 0.0, 1.0, counts) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "bins");
    CHECK(gf_histogram(v, 6, 4, 1.0, 0.0, counts) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "range");
}

/* Independent reference: sort, then count values against the edges lo + k*width. */
static int compare_floats(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double reference_entropy(const float *values, size_t n, int bins) {
    float *sorted = malloc(n * sizeof *sorted);
    for (size_t i = 0; i < n; i++) sorted[i] = values[i];
    qsort(sorted, n, sizeof *sorted, compare_floats);
    double lo = sorted[0], hi = sorted[n - 1], h = 0.0;
    size_t at = 0;
    for (int k = 0; k < bins; k++) {
        double upper = k == bins - 1 ? INFINITY : lo + (hi - lo) * (k + 1) / bins;
        size_t count = 0;
        while (at < n && sorted[at] < upper) { at++; count++; }
        if (count) h -= (double)count / n * log((double)count / n);
    }
    free(sorted);
    return h;
}

/* What a histogram shows: finite values; on a log axis, log10 of the positive ones. */
static void test_histogram_values(void) {
    const float v[] = {1, 0, -2, NAN, INFINITY, 100, 1e-3f, -INFINITY};
    float out[8];
    CHECK(gf_histogram_values(v, 8, false, out) == 5);
    CHECK(out[0] == 1 && out[1] == 0 && out[2] == -2 && out[3] == 100 && out[4] == 1e-3f);
    CHECK(gf_histogram_values(v, 8, true, out) == 3);
    CHECK_NEAR(out[0], 0.0, 0);
    CHECK_NEAR(out[1], 2.0, 1e-6);
    CHECK_NEAR(out[2], -3.0, 1e-6);
    CHECK(gf_histogram_values(v, 0, true, out) == 0);
}

static void test_random_against_reference(void) {
    gf_rng rng;
    gf_rng_seed(&rng, 20240611, 3);
    enum { N = 1000 };
    float v[N];
    const int bins[] = {1, 3, 7, 10, 64, 100};
    for (int trial = 0; trial < 6; trial++) {
        gf_rng_fill_normal(&rng, v, N, 0.1f * trial, 0.05f);
        double h = entropy_of(v, N, bins[trial]);
        CHECK_NEAR(h, reference_entropy(v, N, bins[trial]), 1e-9);
        CHECK(h <= log((double)bins[trial]) + 1e-12);
    }
}

static void test_refusals(void) {
    float v[] = {0, 1, NAN, 2};
    double h;
    CHECK(gf_entropy(v, 4, 10, &h) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "index 2");
    CHECK(gf_entropy(v, 0, 10, &h) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "no values");
    CHECK(gf_entropy(v, 2, 0, &h) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "bins");
    gf_criterion c;
    CHECK(gf_criterion_parse("entropy_sum", &c) == GF_OK && c == GF_CRITERION_ENTROPY_SUM);
    CHECK(gf_criterion_parse("l2", &c) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "'l2'");
}

static void test_filters_and_layers(void) {
    /* 2 filters of 10 values: 0..9 and a constant filter of 0.5 */
    float w[20];
    for (int i = 0; i < 10; i++) {
        w[i] = (float)i - 4.0f;
        w[10 + i] = 0.5f;
    }
    double l1[2], h[2], info;
    gf_filter_l1(w, 2, 10, l1);
    CHECK_NEAR(l1[0], 4 + 3 + 2 + 1 + 0 + 1 + 2 + 3 + 4 + 5, 1e-12);
    CHECK_NEAR(l1[1], 5.0, 1e-12);
    CHECK(gf_filter_entropy(w, 2, 10, 10, h) == GF_OK);
    CHECK_NEAR(h[0], log(10.0), 1e-12);
    CHECK(h[1] == 0.0);
    /* eq. 5: sum of the filters' entropies */
    CHECK(gf_layer_information(w, 2, 10, GF_CRITERION_ENTROPY_SUM, 10, &info) == GF_OK);
    CHECK_NEAR(info, log(10.0), 1e-12);
    /* eq. 6: the whole layer over [-4, 5], 10 bins of width 0.9: -4..5 fall one in
     * each bin, and the ten values 0.5 (on the edge 5 * 0.9 above -4) join 1 in bin 5:
     * 9 bins with 1 value and bin 5 with 11 values, n = 20 */
    CHECK(gf_layer_information(w, 2, 10, GF_CRITERION_ENTROPY, 10, &info) == GF_OK);
    double expected = -(9 * 0.05 * log(0.05) + 0.55 * log(0.55));
    CHECK_NEAR(info, expected, 1e-12);
    CHECK(gf_layer_information(w, 2, 10, GF_CRITERION_L1, 10, &info) == GF_OK);
    CHECK_NEAR(info, l1[0] + l1[1], 1e-12);
    double filter_info;
    CHECK(gf_filter_information(w, 10, GF_CRITERION_L1, 10, &filter_info) == GF_OK);
    CHECK_NEAR(filter_info, l1[0], 1e-12);
    CHECK(gf_filter_information(w, 10, GF_CRITERION_ENTROPY, 10, &filter_info) == GF_OK);
    CHECK_NEAR(filter_info, log(10.0), 1e-12);
}

int main(void) {
    test_known_vectors();
    test_histogram();
    test_histogram_values();
    test_random_against_reference();
    test_refusals();
    test_filters_and_layers();
    return CHECK_DONE();
}
