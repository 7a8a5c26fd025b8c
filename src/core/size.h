/* Size arithmetic that cannot wrap around. A sum or product that does not fit in
 * size_t saturates to GF_SIZE_OVERFLOW, which stays so through further sums and
 * products (of non-zero sizes) and which no allocation satisfies. A chain of sizes
 * (an arena, a kernel's workspace) is therefore checked once, where it is used. */
#ifndef GRAFT_CORE_SIZE_H
#define GRAFT_CORE_SIZE_H

#include <stddef.h>
#include <stdint.h>

#define GF_SIZE_OVERFLOW SIZE_MAX

static inline size_t gf_size_add(size_t a, size_t b) {
    size_t sum;
    return __builtin_add_overflow(a, b, &sum) ? GF_SIZE_OVERFLOW : sum;
}

static inline size_t gf_size_mul(size_t a, size_t b) {
    size_t product;
    return __builtin_mul_overflow(a, b, &product) ? GF_SIZE_OVERFLOW : product;
}

/* a rounded up to a multiple of `multiple` (> 0) */
static inline size_t gf_size_round_up(size_t a, size_t multiple) {
    size_t padded = gf_size_add(a, multiple - 1);
    return padded == GF_SIZE_OVERFLOW ? GF_SIZE_OVERFLOW : padded / multiple * multiple;
}

#endif
