/* gf_channel_map_plane: a channel's map over a run of floats in vectors. */
#include "nn/channel_map.h"

#include "nn/channel_map_vector.h"

/* one vector loop per activation, so that the choice is made once per run */
#define MAP_RUN_LOOP(ACTIVATED, KIND)                                                      \
    for (; i + GF_VL <= n; i += GF_VL) {                                                  \
        gf_vec v;                                                                         \
        GF_VEC_LOAD(v, src + i);                                                          \
        gf_channel_map_vector(&v, affine, ACTIVATED, KIND, slope);                        \
        GF_VEC_STORE(dst + i, v);                                                         \
    }
GF_VECTOR_CLONES void gf_channel_map_plane(float *restrict dst, const float *restrict src,
                                           size_t n, const gf_channel_map *map, int c) {
    const gf_channel_affine affine = map->affine[c];
    const float slope = map->slope;
    size_t i = 0;
    if (!map->activated) {
        MAP_RUN_LOOP(false, GF_ACT_RELU);
    } else {
        switch (map->activation) {
        case GF_ACT_RELU: MAP_RUN_LOOP(true, GF_ACT_RELU); break;
        case GF_ACT_LEAKY_RELU: MAP_RUN_LOOP(true, GF_ACT_LEAKY_RELU); break;
        case GF_ACT_RELU6: MAP_RUN_LOOP(true, GF_ACT_RELU6); break;
        }
    }
    gf_channel_map_run(dst + i, src + i, n - i, map, c);
}
