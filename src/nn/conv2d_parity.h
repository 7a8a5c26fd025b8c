/* Implicit matrix products for 3x3 convolutions with stride 2 and padding 1 (not
 * depthwise): no im2col matrix is built.
 *
 * Output row y reads input rows 2y - 1, 2y and 2y + 1: the odd rows at index y - 1,
 * the even rows at y and the odd rows at y; the same for columns. So a chunk of
 * images is split once into six planes per channel: the even or odd rows of the
 * even columns, of the odd columns, and of the odd columns moved one place right
 * (what kernel column 0 reads), each laid out as a grid of the output's size: rows
 * of out_w floats, a zero row above every image and after the last. Each of the 9
 * taps (c, kh, kw) is then one plane read in place or shifted by -1 row, so the
 * forward product and the weight gradient read their rows through tables of
 * pointers into the grids (core/gemm.h), like the stride-1 grid path
 * (nn/conv2d_grid.h). Outputs are computed at every grid position; those in the
 * zero rows between images are discarded. (A zero column instead of the moved
 * plane would cost a computed column per row: 9 x 9 positions for 8 x 8 outputs.)
 *
 * The input gradient of each plane is a product of the transposed weights of its
 * taps (1 or 2 kernel rows) with the output gradient on the grid (zero in the zero
 * rows) read at the opposite row shift; the planes are then interleaved back into
 * the input gradient, the moved one one place left. Internal to nn/conv2d.c, which
 * owns threads and workspace. */
#ifndef GRAFT_NN_CONV2D_PARITY_H
#define GRAFT_NN_CONV2D_PARITY_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/conv2d.h"
#include "nn/conv2d_images.h"

bool gf_conv2d_parity_applies(const gf_conv2d_shape *s);
/* images per chunk (about 256 KiB of parity planes or products) */
int gf_conv2d_parity_chunk(const gf_conv2d_shape *s);
/* per-thread floats: parity planes, padded output gradient, products */
size_t gf_conv2d_parity_scratch_floats(const gf_conv2d_shape *s);
/* row-table entries the products need at most */
size_t gf_conv2d_parity_row_count(const gf_conv2d_shape *s);
/* floats of the packed transposed weights of every group and plane, plus the
 * unpacked scratch of one */
size_t gf_conv2d_parity_transposed_floats(const gf_conv2d_shape *s);
/* Packs, per group and plane, A[c][(o, tap)] = W[o][c][kh][kw] over the plane's
 * taps, for the input gradient. */
void gf_conv2d_parity_pack_transposed(float *shared, const float *weight,
                                      const gf_conv2d_shape *s);

/* The images are processed a chunk (gf_conv2d_parity_chunk) at a time. */

/* out = conv(in) (+ bias) for the images, through a->activation when given;
 * packed = the forward-packed weights of
 * every group ([out/g, in/g * 9] each, as for im2col). */
void gf_conv2d_parity_forward(const gf_conv2d_images *a, float *out, const float *in,
                              const float *packed, const float *bias);
/* grad_weight += ..., grad_in += or = ... (`write`; grad_in may be NULL) for the
 * images; packed_transposed from gf_conv2d_parity_pack_transposed. */
void gf_conv2d_parity_backward(const gf_conv2d_images *a, float *grad_in, gf_grad_write write,
                               float *grad_weight, const float *grad_out, const float *in,
                               const float *packed_transposed);

#endif
