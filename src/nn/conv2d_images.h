/* One thread's share of a convolution's batch and its buffers, as nn/conv2d.c hands
 * it to the implicit-product paths (nn/conv2d_grid.h, nn/conv2d_winograd.h), which
 * process the images a chunk at a time. Internal to nn/conv2d*.c. */
#ifndef GRAFT_NN_CONV2D_IMAGES_H
#define GRAFT_NN_CONV2D_IMAGES_H

#include "nn/conv2d.h"

typedef struct gf_conv2d_images {
    const gf_conv2d_shape *s;
    int first, last;    /* images first .. last - 1 */
    float *scratch;     /* the path's scratch floats (gf_conv2d_*_scratch_floats) */
    const float **rows; /* the path's row-table entries (gf_conv2d_*_row_count) */
} gf_conv2d_images;

#endif
