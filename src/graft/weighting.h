/* Weighting in grafting (section 3.3): W_self <- alpha W_self + (1 - alpha) W_other
 * (eq. 2), with alpha adaptive (eq. 7) or fixed.
 *
 * Eq. 7 in the form that produced the paper's tables (the paper prints it without
 * 1/pi): alpha = A/pi * atan(c * (H_self - H_other)) + 0.5, so alpha lies in
 * (0.5 - A/2, 0.5 + A/2): (0.3, 0.7) for the defaults A = 0.4, c = 500.
 * The authors round alpha to 2 decimals; here the rounding (optional) is applied
 * to the offset from 0.5 (half away from 0.5), so that alpha(-d) = 1 - alpha(d)
 * holds exactly and two networks grafting each other end bit-identical. */
#ifndef GRAFT_GRAFT_WEIGHTING_H
#define GRAFT_GRAFT_WEIGHTING_H

#include <stdbool.h>

#define GF_DEFAULT_A 0.4
#define GF_DEFAULT_C 500.0

typedef struct gf_weighting {
    bool adaptive;      /* eq. 7; false: fixed_alpha for every layer */
    double A, c;        /* eq. 7 */
    bool round;         /* round alpha to 2 decimals, as the authors do */
    double fixed_alpha; /* in [0, 1] */
} gf_weighting;

/* adaptive, A = 0.4, c = 500, rounded */
gf_weighting gf_weighting_default(void);
/* GF_ERR naming the bad value (fixed alpha outside [0, 1], non-finite A or c). */
int gf_weighting_check(const gf_weighting *w);

/* Eq. 7. */
double gf_adaptive_alpha(double info_self, double info_other, double A, double c, bool round);

/* Alpha for the grafting log, in double: with rounding the two-decimal number itself
 * (0.42, not the float factor 0.41999998). */
double gf_weighting_alpha(const gf_weighting *w, double info_self, double info_other);

/* The two factors of eq. 2 as floats: *self_factor = alpha, *other_factor = 1 - alpha,
 * computed as 0.5 + r and 0.5 - r so that swapping self and other swaps them exactly. */
void gf_weighting_factors(const gf_weighting *w, double info_self, double info_other,
                          float *self_factor, float *other_factor);

#endif
