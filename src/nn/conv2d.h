/* 2-D convolution, NCHW, square kernel/stride/padding, with groups (groups ==
 * in_channels == out_channels is depthwise). Weight layout is PyTorch's:
 * [out_channels, in_channels / groups, kernel, kernel]. */
#ifndef GRAFT_NN_CONV2D_H
#define GRAFT_NN_CONV2D_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/activation.h"
#include "nn/channel_map.h"
#include "nn/grad_write.h"
#include "nn/moments.h"

typedef struct gf_conv2d_shape {
    int batch, in_channels, in_h, in_w;
    int out_channels, kernel, stride, padding, groups;
    int out_h, out_w; /* filled by gf_conv2d_shape_init */
} gf_conv2d_shape;

/* Validates the sizes and computes out_h/out_w; the error names every size. */
int gf_conv2d_shape_init(gf_conv2d_shape *s);
/* Floats of scratch memory forward/backward need (im2col matrices, padded grids). */
size_t gf_conv2d_workspace_floats(const gf_conv2d_shape *s);

/* out [N, out_channels, out_h, out_w] is overwritten; bias may be NULL. */
int gf_conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                      const gf_conv2d_shape *s, float *workspace);
/* The same, and the moments of every output plane into moments [N][out_channels]
 * (nn/moments.h), taken while a chunk of outputs is still in cache: what a training
 * BatchNorm after the convolution needs (gf_batchnorm_forward_train_moments). */
int gf_conv2d_forward_moments(float *out, gf_moments *moments, const float *in,
                              const float *weight, const float *bias, const gf_conv2d_shape *s,
                              float *workspace);
/* An activation a forward applies to its outputs after the bias, where it writes them
 * (evaluation: a BatchNorm folded into the convolution brings its fused activation
 * along, nn/network.c), as gf_activation_value computes it. */
typedef struct gf_conv2d_activation {
    gf_activation_kind kind;
    float slope;
} gf_conv2d_activation;

/* The same as gf_conv2d_forward, for outputs no backward follows (evaluation), then
 * `activation` (NULL: none) on every output. */
int gf_conv2d_forward_inference(float *out, const float *in, const float *weight,
                                const float *bias, const gf_conv2d_activation *activation,
                                const gf_conv2d_shape *s, float *workspace);
/* Accumulates (+=) into grad_weight and grad_bias (may be NULL when there is no
 * bias); adds into or stores (`write`) grad_in (may be NULL: not needed). */
int gf_conv2d_backward(float *grad_in, float *grad_weight, float *grad_bias,
                       const float *grad_out, const float *in, const float *weight,
                       const gf_conv2d_shape *s, float *workspace, gf_grad_write write);

/* Whether the training forward and backward of s can read their input through a
 * BatchNorm's map (nn/channel_map.h): the 3x3 stride-1 convolutions of Winograd's path
 * and the depthwise ones of the flat planes, which copy every input plane anyway (into
 * phase planes or a padded plane), and the 1x1 stride-1 ones, which then copy a
 * chunk's mapped planes side by side (otherwise read in place). */
bool gf_conv2d_maps_input(const gf_conv2d_shape *s);
/* gf_conv2d_forward_moments of y = map(in) where gf_conv2d_maps_input(s), and
 * gf_conv2d_backward with that y: grad_in is y's gradient. The same bits as the plain
 * functions given y. map NULL: none (any shape). */
int gf_conv2d_forward_mapped(float *out, gf_moments *moments, const float *in,
                             const gf_channel_map *map, const float *weight, const float *bias,
                             const gf_conv2d_shape *s, float *workspace);
int gf_conv2d_backward_mapped(float *grad_in, float *grad_weight, float *grad_bias,
                              const float *grad_out, const float *in, const gf_channel_map *map,
                              const float *weight, const gf_conv2d_shape *s, float *workspace,
                              gf_grad_write write);

/* 3x3 stride-1 convolutions use Winograd's F(2x2, 3x3) or F(4x4, 3x3)
 * (nn/conv2d_winograd.h) unless switched off, which selects the plain implicit
 * products of nn/conv2d_grid.h (tests and benchmarks compare them; call these only
 * between convolutions, and not between a network's training forward and its
 * backward: the next training forward lays the network's arena out again for the
 * BatchNorm maps the paths can apply, nn/plan.h). */
void gf_conv2d_use_winograd(bool on);
/* 3x3 stride-2 convolutions with padding 1 read the input's parity planes
 * (nn/conv2d_parity.h) unless switched off, which selects the plain im2col products
 * (tests and benchmarks compare the two; call only between convolutions). */
void gf_conv2d_use_parity_planes(bool on);
/* The forward and backward of a 1x1 stride-1 convolution read and write planes in
 * place: chunks of images side by side where the planes are whole vectors of 16, else
 * image by image where that is faster than gathering chunks (nn/conv2d.c); unless
 * switched off, which gathers chunks into matrices everywhere (tests compare the two;
 * call only between convolutions). */
void gf_conv2d_use_pointwise_images(bool on);
/* The Winograd tile: 2 for F(2x2, 3x3), 4 for F(4x4, 3x3) on every such convolution,
 * or 0 (the default) for the rule of docs/kernels.md; any other value is an error. */
int gf_conv2d_force_winograd_tile(int tile);

#endif
