/* The seeded generator behind every random number in graft.
 *
 * PCG32 (O'Neill's PCG-XSH-RR, 64-bit state, 32-bit output): the same seed and
 * stream give the same sequence on every machine, because it uses only integer
 * arithmetic. Uniform floats take the top 24 bits; normals use the Marsaglia polar
 * method in double precision (libm's log and sqrt, then rounded to float). Separate
 * streams (the `stream` argument) give independent sequences for one seed, which is
 * how K networks of a ring get different data orders from one experiment seed. */
#ifndef GRAFT_CORE_RNG_H
#define GRAFT_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct gf_rng {
    uint64_t state;
    uint64_t increment;
    /* the polar method makes normals in pairs; the second is kept here */
    double spare_normal;
    int has_spare_normal;
} gf_rng;

void gf_rng_seed(gf_rng *rng, uint64_t seed, uint64_t stream);
/* GF_OK when the state can run: PCG32 needs an odd increment. With an even one the
 * sequence can shrink to a few values or a single one (state and increment 0 give 0
 * forever, and gf_rng_below would never return). A state read from a file is checked
 * here before use; the error names the increment. */
int gf_rng_check(const gf_rng *rng);
uint32_t gf_rng_u32(gf_rng *rng);
/* uniform integer in [0, bound), without modulo bias; bound > 0 */
uint32_t gf_rng_below(gf_rng *rng, uint32_t bound);
/* uniform in [0, 1) */
float gf_rng_uniform(gf_rng *rng);
/* standard normal */
float gf_rng_normal(gf_rng *rng);
/* fills with mean + std * normal */
void gf_rng_fill_normal(gf_rng *rng, float *out, size_t n, float mean, float std);
/* fills with uniform in [low, high) */
void gf_rng_fill_uniform(gf_rng *rng, float *out, size_t n, float low, float high);
/* Fisher-Yates shuffle of a permutation */
void gf_rng_shuffle(gf_rng *rng, int32_t *items, size_t n);

#endif
