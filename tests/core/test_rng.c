/* The seeded generator: same seed and stream give the same numbers, streams differ,
 * and the distributions have the right moments. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "core/rng.h"

enum { DRAWS = 200000 };

static void same_seed_same_stream_repeats(void) {
    gf_rng a, b;
    gf_rng_seed(&a, 42, 7);
    gf_rng_seed(&b, 42, 7);
    int equal = 0;
    for (int i = 0; i < 1000; i++) equal += gf_rng_u32(&a) == gf_rng_u32(&b);
    CHECK(equal == 1000);
    float na = gf_rng_normal(&a), nb = gf_rng_normal(&b);
    CHECK(na == nb);
}

static void streams_and_seeds_differ(void) {
    gf_rng s0, s1, other_seed;
    gf_rng_seed(&s0, 42, 0);
    gf_rng_seed(&s1, 42, 1);
    gf_rng_seed(&other_seed, 43, 0);
    int equal_stream = 0, equal_seed = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = gf_rng_u32(&s0);
        equal_stream += x == gf_rng_u32(&s1);
        equal_seed += x == gf_rng_u32(&other_seed);
    }
    /* two independent 32-bit sequences agree by chance about 1000 / 2^32 times */
    CHECK(equal_stream <= 1);
    CHECK(equal_seed <= 1);
}

/* PCG32's published reference output for seed 42, stream 54 (pcg32-demo), which
 * pins the generator to "the same numbers on every machine". */
static void matches_pcg32_reference(void) {
    gf_rng r;
    gf_rng_seed(&r, 42, 54);
    const uint32_t expected[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                  0x83d2f293, 0xbfa4784b, 0xcbed606e};
    for (int i = 0; i < 6; i++) CHECK(gf_rng_u32(&r) == expected[i]);
}

static void normal_moments(void) {
    gf_rng r;
    gf_rng_seed(&r, 1234, 3);
    float *x = malloc(sizeof(float) * DRAWS);
    gf_rng_fill_normal(&r, x, DRAWS, 2.0f, 3.0f);
    double sum = 0, sum2 = 0, within_one_sd = 0;
    for (int i = 0; i < DRAWS; i++) {
        sum += x[i];
        within_one_sd += fabs(x[i] - 2.0) < 3.0;
    }
    double mean = sum / DRAWS;
    for (int i = 0; i < DRAWS; i++) sum2 += (x[i] - mean) * (x[i] - mean);
    double sd = sqrt(sum2 / (DRAWS - 1));
    /* standard error of the mean is 3 / sqrt(2e5) ~ 0.0067 */
    CHECK_NEAR(mean, 2.0, 0.03);
    CHECK_NEAR(sd, 3.0, 0.03);
    CHECK_NEAR(within_one_sd / DRAWS, 0.6827, 0.005);
    free(x);
}

static void uniform_range_and_mean(void) {
    gf_rng r;
    gf_rng_seed(&r, 99, 0);
    float *x = malloc(sizeof(float) * DRAWS);
    gf_rng_fill_uniform(&r, x, DRAWS, -1.0f, 3.0f);
    double sum = 0;
    int out_of_range = 0;
    for (int i = 0; i < DRAWS; i++) {
        sum += x[i];
        out_of_range += x[i] < -1.0f || x[i] >= 3.0f;
    }
    CHECK(out_of_range == 0);
    CHECK_NEAR(sum / DRAWS, 1.0, 0.02);
    free(x);
}

static void below_and_shuffle(void) {
    gf_rng r;
    gf_rng_seed(&r, 5, 5);
    int counts[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint32_t v = gf_rng_below(&r, 7);
        CHECK(v < 7);
        if (v < 7) counts[v]++;
    }
    for (int i = 0; i < 7; i++) CHECK_NEAR(counts[i], 10000, 400);

    int32_t items[100];
    for (int i = 0; i < 100; i++) items[i] = i;
    gf_rng_shuffle(&r, items, 100);
    int seen[100] = {0}, fixed = 0;
    for (int i = 0; i < 100; i++) {
        seen[items[i]]++;
        fixed += items[i] == i;
    }
    for (int i = 0; i < 100; i++) CHECK(seen[i] == 1);
    CHECK(fixed < 10); /* a random permutation has ~1 fixed point */
}

int main(void) {
    same_seed_same_stream_repeats();
    streams_and_seeds_differ();
    matches_pcg32_reference();
    normal_moments();
    uniform_range_and_mean();
    below_and_shuffle();
    return CHECK_DONE();
}
