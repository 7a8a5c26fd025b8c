/* A training BatchNorm's map and its fused activation, applied by the kernel that reads
 * BatchNorm's output as it reads it: y = activation((x - centre) * scale + base) per
 * channel. A convolution whose input only BatchNorm gives (nn/plan.h) reads BatchNorm's
 * input through the map, so that BatchNorm's output is never written nor read back
 * (nn/conv2d.h, gf_conv2d_forward_mapped). base is 0, or scale is 0 and base the
 * constant y, so that a fused multiply-add rounds as a product and a sum do: every
 * kernel that applies the map gives BatchNorm's own bits. */
#ifndef GRAFT_NN_CHANNEL_MAP_H
#define GRAFT_NN_CHANNEL_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/activation.h"

typedef struct gf_channel_affine {
    float scale, centre, base;
} gf_channel_affine;

static inline float gf_channel_affine_value(float x, gf_channel_affine m) {
    return (x - m.centre) * m.scale + m.base;
}

typedef struct gf_channel_map {
    const gf_channel_affine *affine; /* one per channel */
    bool activated;                  /* then `activation` (with `slope`) after it */
    gf_activation_kind activation;
    float slope;
} gf_channel_map;

/* dst[i] = the map of channel m->affine[c] at src[i], i < n: one loop per activation,
 * each vectorised as BatchNorm's own (dst may be src) */
#define GF_CHANNEL_MAP_LOOP(VALUE)                                                         \
    for (size_t i = 0; i < n; i++) dst[i] = VALUE
static inline void gf_channel_map_run(float *dst, const float *src, size_t n,
                                      const gf_channel_map *map, int c) {
    const gf_channel_affine m = map->affine[c];
    const float slope = map->slope;
    if (!map->activated) {
        GF_CHANNEL_MAP_LOOP(gf_channel_affine_value(src[i], m));
        return;
    }
    switch (map->activation) {
    case GF_ACT_RELU:
        GF_CHANNEL_MAP_LOOP(
            gf_activation_value(GF_ACT_RELU, gf_channel_affine_value(src[i], m), slope));
        break;
    case GF_ACT_LEAKY_RELU:
        GF_CHANNEL_MAP_LOOP(
            gf_activation_value(GF_ACT_LEAKY_RELU, gf_channel_affine_value(src[i], m), slope));
        break;
    case GF_ACT_RELU6:
        GF_CHANNEL_MAP_LOOP(
            gf_activation_value(GF_ACT_RELU6, gf_channel_affine_value(src[i], m), slope));
        break;
    }
}
#undef GF_CHANNEL_MAP_LOOP

/* gf_channel_map_run in vectors of the widest instruction set the CPU has (its bits;
 * dst must not overlap src): a convolution's copy of a whole input plane through the
 * map (nn/channel_map.c) */
void gf_channel_map_plane(float *restrict dst, const float *restrict src, size_t n,
                          const gf_channel_map *map, int c);

#endif
