/* Noise and internal scions touch only the filters under gamma. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/rng.h"
#include "graft/criteria.h"
#include "graft/scions.h"

static void test_noise_only_invalid(void) {
    /* filter 0: l1 0.02 (invalid), filter 1: l1 10 (valid), filter 2: all zero
     * (invalid), filter 3: l1 exactly 0.1 = gamma (valid: invalid means under gamma) */
    float w[16] = {0.01f, -0.01f, 0, 0, 1, -2, 3, 4, 0, 0, 0, 0, 0.025f, 0.025f, -0.025f, 0.025f};
    float before[16];
    memcpy(before, w, sizeof w);
    gf_rng rng;
    gf_rng_seed(&rng, 5, 0);
    int64_t grafted = -1;
    double gamma = gf_l1(w + 12, 4);
    CHECK(gf_scion_noise_layer(w, 4, 4, gamma, 0.5, &rng, &grafted) == GF_OK);
    CHECK(grafted == 2);
    CHECK(memcmp(w + 4, before + 4, 4 * sizeof *w) == 0);
    CHECK(memcmp(w + 12, before + 12, 4 * sizeof *w) == 0);
    int changed0 = 0, changed2 = 0;
    for (int i = 0; i < 4; i++) {
        changed0 += w[i] != before[i];
        changed2 += w[8 + i] != before[8 + i];
    }
    CHECK(changed0 == 4 && changed2 == 4);
    /* the same seed gives the same noise */
    float again[16];
    memcpy(again, before, sizeof again);
    gf_rng_seed(&rng, 5, 0);
    CHECK(gf_scion_noise_layer(again, 4, 4, gamma, 0.5, &rng, &grafted) == GF_OK);
    CHECK(memcmp(again, w, sizeof w) == 0);
}

static void test_noise_sigma(void) {
    /* sigma_t = a^t: 0.5^2 = 0.25; the added noise has that standard deviation */
    CHECK_NEAR(gf_noise_sigma(0.5, 2), 0.25, 1e-15);
    CHECK(gf_noise_sigma(0.9, 0) == 1.0);
    enum { PER = 20000 };
    static float w[2 * PER];
    for (int i = 0; i < PER; i++) w[PER + i] = 1.0f; /* second filter valid */
    gf_rng rng;
    gf_rng_seed(&rng, 11, 2);
    int64_t grafted;
    CHECK(gf_scion_noise_layer(w, 2, PER, 1.0, gf_noise_sigma(0.5, 2), &rng, &grafted) == GF_OK);
    CHECK(grafted == 1);
    double sum = 0, squares = 0;
    for (int i = 0; i < PER; i++) {
        sum += w[i];
        squares += (double)w[i] * w[i];
        CHECK(w[PER + i] == 1.0f);
    }
    double mean = sum / PER, sd = sqrt(squares / PER - mean * mean);
    CHECK(fabs(mean) < 0.01);
    CHECK_NEAR(sd, 0.25, 0.01);
    CHECK(gf_scion_noise_layer(w, 2, PER, 1.0, -1.0, &rng, &grafted) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "sigma");
}

static void test_internal_pairs(void) {
    /* l1: f0 0.01, f1 3, f2 0.02, f3 5. Invalid under 0.1: f0 and f2.
     * The smallest (f0) receives the largest (f3); the second smallest (f2) the
     * second largest (f1). */
    float w[8] = {0.01f, 0, 1, 2, 0, -0.02f, -4, 1};
    int64_t grafted = -1;
    CHECK(gf_scion_internal_layer(w, 4, 2, 0.1, &grafted) == GF_OK);
    CHECK(grafted == 2);
    CHECK_NEAR(w[0], 0.01 - 4, 1e-6);
    CHECK_NEAR(w[1], 1.0, 1e-6);
    CHECK(w[2] == 1 && w[3] == 2);
    CHECK_NEAR(w[4], 1.0, 1e-6);
    CHECK_NEAR(w[5], 2 - 0.02, 1e-6);
    CHECK(w[6] == -4 && w[7] == 1);
}

static void test_internal_more_than_half(void) {
    /* every filter invalid (gamma 100): l1 a=1 < b=2 < c=3. a receives c, b would
     * receive itself (skipped), c receives a as it was before the round */
    float w[3] = {2, -1, 3}; /* b, a, c by index */
    int64_t grafted;
    CHECK(gf_scion_internal_layer(w, 3, 1, 100.0, &grafted) == GF_OK);
    CHECK(grafted == 2);
    CHECK(w[0] == 2);          /* b untouched */
    CHECK(w[1] == -1 + 3);     /* a += c */
    CHECK(w[2] == 3 + -1);     /* c += a (before) */
    /* nothing invalid: nothing changes */
    float v[4] = {1, 2, 3, 4};
    CHECK(gf_scion_internal_layer(v, 4, 1, 0.5, &grafted) == GF_OK);
    CHECK(grafted == 0 && v[0] == 1 && v[1] == 2 && v[2] == 3 && v[3] == 4);
    CHECK(gf_scion_internal_layer(v, 4, 1, NAN, &grafted) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "gamma");
}

int main(void) {
    test_noise_only_invalid();
    test_noise_sigma();
    test_internal_pairs();
    test_internal_more_than_half();
    return CHECK_DONE();
}
