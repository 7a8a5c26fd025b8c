/* Adaptive weighting (eq. 7) at known differences, its bounds and its symmetry. */
#include <math.h>

#include "check.h"
#include "core/error.h"
#include "core/rng.h"
#include "graft/weighting.h"

static void test_known_values(void) {
    /* equal information: 0.5 */
    CHECK(gf_adaptive_alpha(1.3, 1.3, 0.4, 500, true) == 0.5);
    CHECK(gf_adaptive_alpha(1.3, 1.3, 0.4, 500, false) == 0.5);
    /* d = 1: 0.5 + 0.4/pi * atan(500) = 0.5 + 0.4/pi * (pi/2 - 0.0019999973) */
    CHECK_NEAR(gf_adaptive_alpha(1.0, 0.0, 0.4, 500, false), 0.6997453524305827, 1e-12);
    CHECK_NEAR(gf_adaptive_alpha(1.0, 0.0, 0.4, 500, true), 0.70, 1e-12);
    /* d = 0.001: c d = 0.5, atan 0.5 = 0.4636476090 -> 0.5590334471 -> 0.56 */
    CHECK_NEAR(gf_adaptive_alpha(0.201, 0.2, 0.4, 500, false), 0.5590334470601733, 1e-9);
    CHECK_NEAR(gf_adaptive_alpha(0.201, 0.2, 0.4, 500, true), 0.56, 1e-12);
    CHECK_NEAR(gf_adaptive_alpha(0.2, 0.201, 0.4, 500, true), 0.44, 1e-12);
    /* A = 0: always 0.5 */
    CHECK(gf_adaptive_alpha(5.0, 0.0, 0.0, 500, false) == 0.5);
    /* A = 1, c = 1, d = 1: 0.5 + atan(1)/pi = 0.75 */
    CHECK_NEAR(gf_adaptive_alpha(1.0, 0.0, 1.0, 1.0, false), 0.75, 1e-15);
}

static void test_bounds(void) {
    /* unrounded alpha stays strictly inside (0.3, 0.7) for A = 0.4 */
    const double d[] = {1e-6, 1e-3, 0.1, 1, 10, 1e3, 1e9};
    for (int i = 0; i < 7; i++) {
        double up = gf_adaptive_alpha(d[i], 0, 0.4, 500, false);
        double down = gf_adaptive_alpha(0, d[i], 0.4, 500, false);
        CHECK(up > 0.5 && up < 0.7);
        CHECK(down < 0.5 && down > 0.3);
    }
    /* rounded, the extremes reach the bounds */
    CHECK_NEAR(gf_adaptive_alpha(1e9, 0, 0.4, 500, true), 0.7, 1e-15);
    CHECK_NEAR(gf_adaptive_alpha(0, 1e9, 0.4, 500, true), 0.3, 1e-15);
    /* monotone in the difference */
    double previous = 0.0;
    for (double x = -0.01; x <= 0.01; x += 0.0005) {
        double a = gf_adaptive_alpha(x, 0, 0.4, 500, false);
        CHECK(a > previous);
        previous = a;
    }
}

static void test_factor_symmetry(void) {
    /* swapping self and other swaps the two factors exactly, so two networks that
     * graft each other end identical */
    gf_rng rng;
    gf_rng_seed(&rng, 77, 1);
    gf_weighting w = gf_weighting_default();
    for (int trial = 0; trial < 1000; trial++) {
        double a = gf_rng_uniform(&rng) * 3.0, b = gf_rng_uniform(&rng) * 3.0;
        if (trial % 2) b = a + (gf_rng_uniform(&rng) - 0.5) * 0.004; /* near 0.5 */
        w.round = trial % 3 != 0;
        float s1, o1, s2, o2;
        gf_weighting_factors(&w, a, b, &s1, &o1);
        gf_weighting_factors(&w, b, a, &s2, &o2);
        CHECK(s1 == o2 && o1 == s2);
        CHECK_NEAR((double)s1 + (double)o1, 1.0, 1e-7);
        CHECK_NEAR(s1, gf_adaptive_alpha(a, b, w.A, w.c, w.round), 1e-7);
    }
}

static void test_fixed(void) {
    gf_weighting w = {.adaptive = false, .fixed_alpha = 0.8};
    CHECK(gf_weighting_check(&w) == GF_OK);
    float s, o;
    gf_weighting_factors(&w, 0.0, 100.0, &s, &o); /* the information does not matter */
    CHECK_NEAR(s, 0.8, 1e-7);
    CHECK_NEAR(o, 0.2, 1e-7);
    w.fixed_alpha = 1.5;
    CHECK(gf_weighting_check(&w) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "1.5");
    gf_weighting adaptive = gf_weighting_default();
    CHECK(adaptive.adaptive && adaptive.A == 0.4 && adaptive.c == 500 && adaptive.round);
    adaptive.c = INFINITY;
    CHECK(gf_weighting_check(&adaptive) == GF_ERR);
}

int main(void) {
    test_known_values();
    test_bounds();
    test_factor_symmetry();
    test_fixed();
    return CHECK_DONE();
}
