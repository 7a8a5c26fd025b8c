#include "graft/weighting.h"

#include <math.h>

#include "core/error.h"

gf_weighting gf_weighting_default(void) {
    gf_weighting w = {.adaptive = true, .A = GF_DEFAULT_A, .c = GF_DEFAULT_C, .round = true,
                      .fixed_alpha = 0.5};
    return w;
}

int gf_weighting_check(const gf_weighting *w) {
    if (w->adaptive) {
        if (!isfinite(w->A) || !isfinite(w->c))
            return gf_fail("grafting weighting: A = %g and c = %g must be finite", w->A, w->c);
        return GF_OK;
    }
    if (!(w->fixed_alpha >= 0.0 && w->fixed_alpha <= 1.0))
        return gf_fail("grafting weighting: fixed alpha %g is outside [0, 1]", w->fixed_alpha);
    return GF_OK;
}

/* alpha - 0.5, rounded to 2 decimals half away from zero when asked */
static double alpha_offset(double info_self, double info_other, double A, double c, bool round_it) {
    double offset = A / M_PI * atan(c * (info_self - info_other));
    return round_it ? round(offset * 100.0) / 100.0 : offset;
}

double gf_adaptive_alpha(double info_self, double info_other, double A, double c, bool round_it) {
    return 0.5 + alpha_offset(info_self, info_other, A, c, round_it);
}

double gf_weighting_alpha(const gf_weighting *w, double info_self, double info_other) {
    if (!w->adaptive) return w->fixed_alpha;
    double alpha = 0.5 + alpha_offset(info_self, info_other, w->A, w->c, w->round);
    return w->round ? round(alpha * 100.0) / 100.0 : alpha;
}

void gf_weighting_factors(const gf_weighting *w, double info_self, double info_other,
                          float *self_factor, float *other_factor) {
    double offset = w->adaptive ? alpha_offset(info_self, info_other, w->A, w->c, w->round)
                                : w->fixed_alpha - 0.5;
    *self_factor = (float)(0.5 + offset);
    *other_factor = (float)(0.5 - offset);
}
