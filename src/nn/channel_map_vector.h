/* A channel's map (nn/channel_map.h) applied to a vector of floats (nn/vector_clones.h),
 * for the copies of convolutions that read their input through it: the bits of
 * gf_channel_map_run, which GCC leaves scalar where it is inlined in those copies.
 * Internal to src/nn. */
#ifndef GRAFT_NN_CHANNEL_MAP_VECTOR_H
#define GRAFT_NN_CHANNEL_MAP_VECTOR_H

#include "nn/channel_map.h"
#include "nn/vector_clones.h"

/* *v = the map at *v: the affine, then the activation (if `activated`) as lane masks.
 * Always inlined, so that it takes the vector width of the clone it is in; callers
 * pass the map's fields as values held outside their loops (read through the map's
 * pointer, they were reloaded after every store of floats, which may alias them). */
static inline __attribute__((always_inline)) void gf_channel_map_vector(
    gf_vec *v, gf_channel_affine affine, bool activated, gf_activation_kind kind,
    float slope) {
    const gf_vec zero = {0};
    gf_vec y = (*v - affine.centre) * affine.scale + affine.base;
    if (activated) {
        const gf_ivec positive = y > zero;
        switch (kind) {
        case GF_ACT_RELU: y = (gf_vec)((gf_ivec)y & positive); break;
        case GF_ACT_LEAKY_RELU:
            y = (gf_vec)(((gf_ivec)y & positive) | ((gf_ivec)(slope * y) & ~positive));
            break;
        case GF_ACT_RELU6: {
            const gf_ivec below = y < zero + 6.0f;
            y = (gf_vec)((((gf_ivec)y & below) | ((gf_ivec)(zero + 6.0f) & ~below)) & positive);
            break;
        }
        }
    }
    *v = y;
}

#endif
