/* Winograd's minimal filtering F(2x2, 3x3) for 3x3 convolutions with stride 1 and
 * padding 1 (not grouped): each output tile of 2x2 positions comes from a 4x4 input
 * tile through 16 products instead of 36 (Lavin and Gray, "Fast Algorithms for
 * Convolutional Neural Networks", 2016).
 *
 *   forward:         Y = A^T [ U (.) V ] A,  U = G g G^T (weights), V = B^T d B (input)
 *   weight gradient: dU = sum over tiles of dM (.) V,  dM = A dY A^T,  dg = G^T dU G
 *   input gradient:  dV = U (.) dM, scattered back as B dV B^T onto overlapping tiles
 *
 * The 16 element-wise products (.) over channels are 16 matrix products per chunk of
 * tiles: M[xi] = U[xi] V[xi] ([out, in] x [in, tiles]), dU[xi] += dM[xi] V[xi]^T and
 * dV[xi] = U[xi]^T dM[xi] (core/gemm.h). The transforms add and subtract (and halve,
 * for G), so a result differs from the direct convolution's by a few roundings more
 * (relative 1e-6 for ResNet's layers; tests/nn/test_conv2d.c bounds it).
 *
 * Internal to nn/conv2d.c, which owns threads and workspace; nn/conv2d_grid.h is the
 * plain version of the same convolutions that gf_conv2d_use_winograd(false) selects. */
#ifndef GRAFT_NN_CONV2D_WINOGRAD_H
#define GRAFT_NN_CONV2D_WINOGRAD_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/conv2d.h"
#include "nn/conv2d_images.h"

bool gf_conv2d_winograd_applies(const gf_conv2d_shape *s);
/* shared floats: the 16 packed transformed weight matrices, and their unpacked scratch */
size_t gf_conv2d_winograd_shared_floats(const gf_conv2d_shape *s);
/* per-thread floats: transformed tiles of a chunk, products, dU, a padded plane */
size_t gf_conv2d_winograd_scratch_floats(const gf_conv2d_shape *s);
/* images the transforms take at a time (forward and backward loop over such chunks) */
int gf_conv2d_winograd_chunk(const gf_conv2d_shape *s);
/* row-table entries the products need */
size_t gf_conv2d_winograd_row_count(const gf_conv2d_shape *s);
/* Transforms and packs the weights into `shared`: U[xi] as [out, in] for the forward
 * product, or transposed, [in, out], for the input gradient. */
void gf_conv2d_winograd_pack(float *shared, const float *weight, const gf_conv2d_shape *s,
                             bool transposed);


/* out = conv(in) (+ bias) for the images; packed from gf_conv2d_winograd_pack. */
void gf_conv2d_winograd_forward(const gf_conv2d_images *a, float *out, const float *in,
                                const float *packed, const float *bias);
/* grad_weight += ... ([out, in, 3, 3]); grad_in += or = ... (`write`; may be NULL) for
 * the images; packed_transposed from gf_conv2d_winograd_pack(..., true). */
void gf_conv2d_winograd_backward(const gf_conv2d_images *a, float *grad_in,
                                 gf_grad_write write, float *grad_weight, const float *grad_out,
                                 const float *in, const float *packed_transposed);

#endif
