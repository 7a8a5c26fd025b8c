/* Winograd's minimal filtering for 3x3 convolutions with stride 1 and padding 1 (not
 * grouped), in tiles of m x m outputs: F(2x2, 3x3), each 2x2 block of outputs from a
 * 4x4 input tile through 16 products instead of 36, and F(4x4, 3x3), each 4x4 block
 * from a 6x6 tile through 36 instead of 144 (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016; F(4, 3) with the points 0, 1, -1, 2, -2 and
 * infinity).
 *
 *   forward:         Y = A^T [ U (.) V ] A,  U = G g G^T (weights), V = B^T d B (input)
 *   weight gradient: dU = sum over tiles of dM (.) V,  dM = A dY A^T,  dg = G^T dU G
 *   input gradient:  dV = U (.) dM, B dV B^T summed back over the overlapping tiles
 *
 * The (m + 2)^2 element-wise products (.) over channels are as many matrix products
 * per chunk of tiles: M[xi] = U[xi] V[xi] ([out, in] x [in, tiles]), dU[xi] += dM[xi]
 * V[xi]^T and dV[xi] = U[xi]^T dM[xi] (core/gemm.h). The transforms add and subtract
 * (and scale by up to 8, or divide by up to 24 for G of F(4, 3), in double), so a
 * result differs from the direct convolution's by some roundings more, F(4, 3)'s by
 * more than F(2, 3)'s (docs/kernels.md; tests/nn/test_conv2d.c bounds both).
 *
 * Internal to nn/conv2d.c, which owns threads and workspace and picks the tile
 * (gf_conv2d_winograd_tile_for, unless forced); nn/conv2d_grid.h is the plain version
 * of the same convolutions that gf_conv2d_use_winograd(false) selects. */
#ifndef GRAFT_NN_CONV2D_WINOGRAD_H
#define GRAFT_NN_CONV2D_WINOGRAD_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/conv2d.h"
#include "nn/conv2d_images.h"

bool gf_conv2d_winograd_applies(const gf_conv2d_shape *s);
/* The tile, 2 or 4, of the forwards and gradients (the rule of docs/kernels.md) */
int gf_conv2d_winograd_tile_for(const gf_conv2d_shape *s);
/* The sizes below cover both tiles, so that the tile may change between calls. */
/* shared floats: the packed transformed weight matrices, and all of them unpacked */
size_t gf_conv2d_winograd_shared_floats(const gf_conv2d_shape *s);
/* per-thread floats: transformed tiles of a chunk, products, dU, phase planes, a block
 * of plane rows */
size_t gf_conv2d_winograd_scratch_floats(const gf_conv2d_shape *s);
/* images the transforms take at a time (forward and backward loop over such chunks) */
int gf_conv2d_winograd_chunk(const gf_conv2d_shape *s, int tile);
/* row-table entries the products need */
size_t gf_conv2d_winograd_row_count(const gf_conv2d_shape *s);
/* Transforms and packs the weights for `tile` into `shared`: U[xi] as [out, in] for the forward
 * product, or transposed, [in, out], for the input gradient; the rows of U split among
 * the pool's threads (core/parallel.h), so call it outside a job to use them. */
void gf_conv2d_winograd_pack(float *shared, const float *weight, const gf_conv2d_shape *s,
                             int tile, bool transposed);


/* out = conv(in) (+ bias) for the images, through a->activation when given;
 * packed from gf_conv2d_winograd_pack. */
void gf_conv2d_winograd_forward(const gf_conv2d_images *a, int tile, float *out,
                                const float *in, const float *packed, const float *bias);
/* grad_weight += ... ([out, in, 3, 3]); grad_in += or = ... (`write`; may be NULL) for
 * the images; packed_transposed from gf_conv2d_winograd_pack(..., true). */
void gf_conv2d_winograd_backward(const gf_conv2d_images *a, int tile, float *grad_in,
                                 gf_grad_write write, float *grad_weight, const float *grad_out,
                                 const float *in, const float *packed_transposed);

#endif
