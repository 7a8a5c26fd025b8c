/* A range of a convolution's batch and one thread's buffers, as nn/conv2d.c hands
 * it to the implicit-product paths (nn/conv2d_grid.h, nn/conv2d_winograd.h), which
 * process the images a chunk at a time. Internal to nn/conv2d*.c. */
#ifndef GRAFT_NN_CONV2D_IMAGES_H
#define GRAFT_NN_CONV2D_IMAGES_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/conv2d.h"

typedef struct gf_conv2d_images {
    const gf_conv2d_shape *s;
    int first, last;    /* images first .. last - 1 */
    float *scratch;     /* the path's scratch floats (gf_conv2d_*_scratch_floats) */
    const float **rows; /* the path's row-table entries (gf_conv2d_*_row_count) */
    /* forward: applied to the outputs where the path writes them, NULL if none */
    const gf_conv2d_activation *activation;
    /* training: the input is read through it (gf_conv2d_forward_mapped), NULL if none */
    const gf_channel_map *input_map;
} gf_conv2d_images;

/* dst[i] = src[i] + bias for i < n, through `activation` when there is one (dst may
 * be src); one loop per kind, each with constants the compiler can vectorise. */
#define GF_CONV2D_OUTPUT_LOOP(KIND) \
    for (size_t i = 0; i < n; i++) dst[i] = gf_activation_value(KIND, src[i] + bias, slope)
static inline void gf_conv2d_output_run(float *dst, const float *src, size_t n, float bias,
                                        const gf_conv2d_activation *activation) {
    if (!activation) {
        for (size_t i = 0; i < n; i++) dst[i] = src[i] + bias;
        return;
    }
    const float slope = activation->slope;
    switch (activation->kind) {
    case GF_ACT_RELU: GF_CONV2D_OUTPUT_LOOP(GF_ACT_RELU); break;
    case GF_ACT_LEAKY_RELU: GF_CONV2D_OUTPUT_LOOP(GF_ACT_LEAKY_RELU); break;
    case GF_ACT_RELU6: GF_CONV2D_OUTPUT_LOOP(GF_ACT_RELU6); break;
    }
}
#undef GF_CONV2D_OUTPUT_LOOP

/* Images first .. first + images - 1 of the range; `fresh`: the scratch's pads
 * are not known to be zero (the first chunk of a call, or a shorter chunk after a
 * longer one, whose pad rows held the previous chunk's data). */
typedef struct gf_conv2d_chunk {
    int first, images;
    bool fresh;
} gf_conv2d_chunk;

/* The chunk from image `first` in the range's chunks of `size` images. */
static inline gf_conv2d_chunk gf_conv2d_chunk_at(const gf_conv2d_images *a, int first,
                                                 int size) {
    gf_conv2d_chunk ch = {.first = first, .images = a->last - first < size ? a->last - first : size};
    ch.fresh = first == a->first || ch.images < size;
    return ch;
}

#endif
