/* A BatchNorm's input gradient over a plane (nn/gradient_map.h): the one routine that
 * computes it, for BatchNorm's own backward and for the convolutions that apply it. */
#include "nn/gradient_map.h"

#include <string.h>

#include "nn/vector_clones.h"

/* dx (+)= the channel's input gradient over n floats in 16-float vectors, the last
 * part through copies into a whole vector: one expression in one kind of code, so
 * that the multiply-adds round alike wherever a plane ends (a scalar loop, or the
 * vectoriser's epilogue, contracted them otherwise). Always inlined with constant
 * `activated` and `kind`, so that the activation's gradient is a vector select on
 * y = the forward's map of x. */
static inline __attribute__((always_inline)) void input_gradient(
    bool activated, gf_activation_kind kind, float slope, float *dx, bool add,
    gf_channel_gradient m, const float *dz, const float *x, size_t n, const float *next_dz,
    const float *next_x) {
    const gf_vec zero = {0};
    const gf_channel_affine f = m.forward;
    for (size_t i = 0; i < n; i += GF_VL) {
        gf_vec g = {0}, in = {0}, old = {0};
        const size_t count = n - i < GF_VL ? n - i : GF_VL;
        if (next_dz) { /* a line of each per line read */
            __builtin_prefetch(next_dz + i);
            __builtin_prefetch(next_x + i);
        }
        if (count == GF_VL) {
            GF_VEC_LOAD(g, dz + i);
            GF_VEC_LOAD(in, x + i);
            if (add) GF_VEC_LOAD(old, dx + i);
        } else {
            memcpy(&g, dz + i, sizeof(float) * count);
            memcpy(&in, x + i, sizeof(float) * count);
            if (add) memcpy(&old, dx + i, sizeof(float) * count);
        }
        if (activated) {
            const gf_vec y = (in - f.centre) * f.scale + f.base;
            const gf_ivec positive = y > zero;
            switch (kind) {
            case GF_ACT_RELU: g = (gf_vec)((gf_ivec)g & positive); break;
            case GF_ACT_LEAKY_RELU:
                g = (gf_vec)(((gf_ivec)g & positive) | ((gf_ivec)(slope * g) & ~positive));
                break;
            case GF_ACT_RELU6: g = (gf_vec)((gf_ivec)g & positive & (y < zero + 6.0f)); break;
            }
        }
        g = m.dy * g + m.x_coefficient * in + m.constant;
        if (add) g = old + g;
        if (count == GF_VL)
            GF_VEC_STORE(dx + i, g);
        else
            memcpy(dx + i, &g, sizeof(float) * count);
    }
}

GF_VECTOR_CLONES void gf_gradient_map_plane(float *dx, bool add, gf_channel_gradient m,
                                            bool activated, gf_activation_kind kind,
                                            float slope, const float *dz, const float *x,
                                            size_t n, const float *next_dz,
                                            const float *next_x) {
    if (!activated) {
        input_gradient(false, GF_ACT_RELU, slope, dx, add, m, dz, x, n, next_dz, next_x);
        return;
    }
    switch (kind) {
    case GF_ACT_RELU:
        input_gradient(true, GF_ACT_RELU, slope, dx, add, m, dz, x, n, next_dz, next_x);
        break;
    case GF_ACT_LEAKY_RELU:
        input_gradient(true, GF_ACT_LEAKY_RELU, slope, dx, add, m, dz, x, n, next_dz, next_x);
        break;
    case GF_ACT_RELU6:
        input_gradient(true, GF_ACT_RELU6, slope, dx, add, m, dz, x, n, next_dz, next_x);
        break;
    }
}
