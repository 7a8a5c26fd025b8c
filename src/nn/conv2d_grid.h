/* Implicit matrix products for "same" convolutions (stride 1, odd kernel k, padding
 * (k - 1) / 2, not depthwise): no im2col matrix is built.
 *
 * A chunk of images is copied once into a zero-padded grid per channel: rows of
 * width + pad floats (the pad columns at the end of a row are also the left padding
 * of the next row), pad zero rows above the first image and after every image. On
 * that grid the patch row (c, kh, kw) is the channel's plane shifted by
 * kh * row + kw - pad, so the products read their rows through a table of pointers
 * into the grid (core/gemm.h). Outputs are computed at every grid position; those
 * in the pad rows and columns are discarded.
 *
 * The input gradient is the same kind of convolution of the padded output gradient
 * with the flipped, transposed weights; the weight gradient is a product of the
 * output gradient on the grid (zero at the discarded positions) with the shifted
 * input rows. Internal to nn/conv2d.c, which owns threads and workspace. */
#ifndef GRAFT_NN_CONV2D_GRID_H
#define GRAFT_NN_CONV2D_GRID_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/conv2d.h"
#include "nn/conv2d_images.h"

bool gf_conv2d_grid_applies(const gf_conv2d_shape *s);
/* images per chunk (about 256 KiB of padded input or output gradient) */
int gf_conv2d_grid_chunk(const gf_conv2d_shape *s);
/* per-thread floats: padded input, padded output gradient, outputs on the grid */
size_t gf_conv2d_grid_scratch_floats(const gf_conv2d_shape *s);
/* row-table entries one product needs at most */
size_t gf_conv2d_grid_row_count(const gf_conv2d_shape *s);
/* floats of one group's packed flipped weights, and of the unpacked matrix (scratch) */
size_t gf_conv2d_grid_flipped_floats(const gf_conv2d_shape *s);
size_t gf_conv2d_grid_flipped_scratch_floats(const gf_conv2d_shape *s);
/* Packs, per group, A[c][(o, kh, kw)] = W[o][c][k-1-kh][k-1-kw] for the input gradient. */
void gf_conv2d_grid_pack_flipped(float *packed, float *scratch, const float *weight,
                                 const gf_conv2d_shape *s);

/* The images are processed a chunk (gf_conv2d_grid_chunk) at a time; their scratch
 * is gf_conv2d_grid_scratch_floats, their row table 2 * gf_conv2d_grid_row_count
 * entries. */

/* out = conv(in) (+ bias) for the images, through a->activation when given;
 * packed = forward-packed weights. */
void gf_conv2d_grid_forward(const gf_conv2d_images *a, float *out, const float *in,
                            const float *packed, const float *bias);
/* grad_weight += ..., grad_in += or = ... (`write`; grad_in may be NULL) for the images. */
void gf_conv2d_grid_backward(const gf_conv2d_images *a, float *grad_in, gf_grad_write write,
                             float *grad_weight, const float *grad_out, const float *in,
                             const float *packed_flipped);

#endif
