/* A training BatchNorm's input gradient, applied by the convolution before it as that
 * convolution's backward reads its output gradient: per channel
 *
 *   dx = dy * g(dz, x) + x_coefficient * x + constant,
 *
 * where dz is the gradient of BatchNorm's output (of its fused activation's, if any),
 * g(dz, x) that activation's gradient at y = the forward's map of x (nn/channel_map.h),
 * or dz, and the coefficients come from BatchNorm's sums over the batch
 * (gf_batchnorm_backward_coefficients). dx is the convolution's output gradient, which
 * is then never written nor read back: BatchNorm's backward keeps its first pass (the
 * sums) and the convolution's reads of dz and x replace its second (nn/plan.h).
 * BatchNorm's own backward and every kernel that applies the map compute dx through
 * gf_gradient_map_plane, which gives them the same bits. */
#ifndef GRAFT_NN_GRADIENT_MAP_H
#define GRAFT_NN_GRADIENT_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/activation.h"
#include "nn/channel_map.h"

typedef struct gf_channel_gradient {
    gf_channel_affine forward; /* the forward's map, for the activation's gradient */
    float dy, x_coefficient, constant;
} gf_channel_gradient;

typedef struct gf_gradient_map {
    const gf_channel_gradient *channels; /* one per channel */
    const float *input;                  /* x: BatchNorm's input, laid out as dz */
    bool activated;                      /* dz is `activation`'s (with `slope`) */
    gf_activation_kind activation;
    float slope;
} gf_gradient_map;

/* dx = (or +=, `add`) the input gradient of a channel with coefficients m over a plane
 * of n floats, from dz and x (the activation's gradient when `activated`); the next
 * planes of n floats to be read, next_dz and next_x, are prefetched as it goes
 * (NULL: none). */
void gf_gradient_map_plane(float *dx, bool add, gf_channel_gradient m, bool activated,
                           gf_activation_kind kind, float slope, const float *dz,
                           const float *x, size_t n, const float *next_dz,
                           const float *next_x);

#endif
