/* Moments of planes; see moments.h. */
#include "nn/moments.h"

#include <string.h>

#include "nn/vector_clones.h"

/* sums of d = x[i] - shift and of d^2 in vector lanes (memory, not arithmetic,
 * bounds this loop), the lanes and the tail added in double */
GF_VECTOR_CLONES static void shifted_sums(const float *x, size_t n, float shift, double *sum,
                                          double *squares) {
    gf_vec a = {0}, b = {0};
    size_t i = 0;
    for (; i + GF_VL <= n; i += GF_VL) {
        gf_vec v;
        GF_VEC_LOAD(v, x + i);
        const gf_vec d = v - shift;
        a += d;
        b += d * d;
    }
    gf_dvec wide_a = {0}, wide_b = {0};
    GF_VEC_ADD_WIDENED(wide_a, a);
    GF_VEC_ADD_WIDENED(wide_b, b);
    double s = GF_DVEC_SUM(wide_a), q = GF_DVEC_SUM(wide_b);
    for (; i < n; i++) {
        const double d = (double)x[i] - shift;
        s += d;
        q += d * d;
    }
    *sum = s;
    *squares = q;
}

gf_moments gf_moments_of_plane(const float *x, size_t n) {
    const float shift = x[0];
    double sum, squares;
    shifted_sums(x, n, shift, &sum, &squares);
    const double mean_shift = sum / (double)n;
    gf_moments m = {.mean = shift + mean_shift, .squares = squares - sum * mean_shift};
    if (m.squares < 0.0) m.squares = 0.0;
    return m;
}

void gf_moments_add(gf_moments_sum *total, const gf_moments *plane) {
    if (total->planes == 0) *total = (gf_moments_sum){.shift = plane->mean};
    const double d = plane->mean - total->shift;
    total->means += d;
    total->mean_squares += d * d;
    total->squares += plane->squares;
    total->planes++;
}

gf_moments gf_moments_combine(const gf_moments_sum *total, size_t plane_size) {
    const double planes = (double)total->planes, mean_shift = total->means / planes;
    double spread = total->mean_squares - total->means * mean_shift; /* of the means */
    if (spread < 0.0) spread = 0.0;
    return (gf_moments){.mean = total->shift + mean_shift,
                        .squares = total->squares + (double)plane_size * spread};
}
