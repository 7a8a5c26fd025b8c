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
    float la[GF_VL], lb[GF_VL];
    memcpy(la, &a, sizeof la);
    memcpy(lb, &b, sizeof lb);
    double s = 0.0, q = 0.0;
    for (int l = 0; l < GF_VL; l++) s += la[l], q += lb[l];
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

void gf_moments_merge(gf_moments *total, double count, const gf_moments *part, double part_count) {
    const double merged = count + part_count;
    const double delta = part->mean - total->mean;
    total->mean += delta * (part_count / merged);
    total->squares += part->squares + delta * delta * (count * part_count / merged);
}
