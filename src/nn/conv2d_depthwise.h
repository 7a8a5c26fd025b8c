/* Depthwise convolution (groups == in_channels == out_channels): each channel
 * convolved with its own k x k filter, one plane at a time, over a zero-padded copy
 * of the plane, so that no tap needs a bounds check.
 *
 * Two versions of each pass: the plain one walks output rows and taps (any stride);
 * the flat one, for stride 1 (and stride 2 with outputs at least 8 wide, over the
 * padded plane's four parity planes), computes every position of the padded plane's
 * rows as one long run per tap (the positions past the output width are discarded),
 * in vectors compiled for AVX-512, AVX2 and baseline. tests/nn/test_conv2d.c
 * compares them on random shapes. Internal to nn/conv2d.c, which owns threads and workspace. */
#ifndef GRAFT_NN_CONV2D_DEPTHWISE_H
#define GRAFT_NN_CONV2D_DEPTHWISE_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/conv2d.h"

/* floats of scratch one plane's forward or backward needs (any version) */
size_t gf_conv2d_depthwise_scratch_floats(const gf_conv2d_shape *s);

/* out (one plane, out_h x out_w) = conv(in plane) + bias */
void gf_conv2d_depthwise_forward_plane(float *out, const float *in, const float *filter,
                                       float bias, const gf_conv2d_shape *s, float *scratch);
/* grad_filter (k x k) += ...; grad_in (one plane; may be NULL) = or += (`add`) ... */
void gf_conv2d_depthwise_backward_plane(float *grad_in, bool add, float *grad_filter,
                                        const float *grad_out, const float *in,
                                        const float *filter, const gf_conv2d_shape *s,
                                        float *scratch);

/* the plain versions (any stride), which the two above use where the flat one does
 * not apply */
void gf_conv2d_depthwise_forward_plane_plain(float *out, const float *in, const float *filter,
                                             float bias, const gf_conv2d_shape *s,
                                             float *scratch);
void gf_conv2d_depthwise_backward_plane_plain(float *grad_in, bool add, float *grad_filter,
                                              const float *grad_out, const float *in,
                                              const float *filter, const gf_conv2d_shape *s,
                                              float *scratch);

#endif
