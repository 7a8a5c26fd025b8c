#include "core/rng.h"

#include <math.h>

#include "core/error.h"

static const uint64_t PCG_MULTIPLIER = 6364136223846793005ULL;

void gf_rng_seed(gf_rng *rng, uint64_t seed, uint64_t stream) {
    rng->state = 0;
    rng->increment = (stream << 1u) | 1u;
    gf_rng_u32(rng);
    rng->state += seed;
    gf_rng_u32(rng);
    rng->has_spare_normal = 0;
    rng->spare_normal = 0.0;
}

int gf_rng_check(const gf_rng *rng) {
    if (!(rng->increment & 1u))
        return gf_fail("generator increment %llu is even (PCG32 needs an odd one)",
                       (unsigned long long)rng->increment);
    return GF_OK;
}

uint32_t gf_rng_u32(gf_rng *rng) {
    uint64_t old = rng->state;
    rng->state = old * PCG_MULTIPLIER + rng->increment;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

uint32_t gf_rng_below(gf_rng *rng, uint32_t bound) {
    uint32_t threshold = (0u - bound) % bound;
    for (;;) {
        uint32_t r = gf_rng_u32(rng);
        if (r >= threshold) return r % bound;
    }
}

float gf_rng_uniform(gf_rng *rng) { return (float)(gf_rng_u32(rng) >> 8) * (1.0f / 16777216.0f); }

float gf_rng_normal(gf_rng *rng) {
    if (rng->has_spare_normal) {
        rng->has_spare_normal = 0;
        return (float)rng->spare_normal;
    }
    double u, v, s;
    do {
        u = 2.0 * ((double)gf_rng_u32(rng) / 4294967296.0) - 1.0;
        v = 2.0 * ((double)gf_rng_u32(rng) / 4294967296.0) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double scale = sqrt(-2.0 * log(s) / s);
    rng->spare_normal = v * scale;
    rng->has_spare_normal = 1;
    return (float)(u * scale);
}

void gf_rng_fill_normal(gf_rng *rng, float *out, size_t n, float mean, float std) {
    for (size_t i = 0; i < n; i++) out[i] = mean + std * gf_rng_normal(rng);
}

void gf_rng_fill_uniform(gf_rng *rng, float *out, size_t n, float low, float high) {
    for (size_t i = 0; i < n; i++) out[i] = low + (high - low) * gf_rng_uniform(rng);
}

void gf_rng_shuffle(gf_rng *rng, int32_t *items, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = gf_rng_below(rng, (uint32_t)i);
        int32_t t = items[i - 1];
        items[i - 1] = items[j];
        items[j] = t;
    }
}
