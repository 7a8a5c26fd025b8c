/* Depthwise convolution (groups == in_channels == out_channels): each channel
 * convolved with its own k x k filter, one plane at a time, over a zero-padded copy
 * of the plane, so that no tap needs a bounds check.
 *
 * Two versions of each pass: the plain one walks output rows and taps (any stride);
 * the flat one, for stride 1 (and stride 2 with outputs at least 4 wide, over the
 * padded plane's four parity planes), computes every position of the padded plane's
 * rows as one long run per tap (the positions past the output width are discarded),
 * in vectors compiled for AVX-512, AVX2 and baseline. tests/nn/test_conv2d.c
 * compares them on random shapes. Internal to nn/conv2d.c, which owns threads and workspace. */
#ifndef GRAFT_NN_CONV2D_DEPTHWISE_H
#define GRAFT_NN_CONV2D_DEPTHWISE_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/conv2d.h"

enum { GF_DEPTHWISE_MAX_TAPS = 49 };

/* floats of scratch one plane's forward or backward needs (any version) */
size_t gf_conv2d_depthwise_scratch_floats(const gf_conv2d_shape *s);

/* Where the flat version keeps a shape's planes in scratch (fields internal to
 * nn/conv2d_depthwise.c). */
typedef struct gf_conv2d_depthwise_layout {
    const gf_conv2d_shape *s;
    bool flat; /* the flat version applies */
    int pw, row, taps, parities;
    size_t positions; /* computed positions: out_h * row rounded up to whole vectors */
    size_t padded;    /* floats of a padded buffer */
    size_t plane;     /* a (parity) plane's positions, rounded up to whole vectors */
    size_t front;     /* zeros before the output gradient, as far as the farthest tap */
    size_t offset[GF_DEPTHWISE_MAX_TAPS]; /* of each tap in the padded buffer */
    unsigned char parity[GF_DEPTHWISE_MAX_TAPS]; /* each tap's parity plane, 0 at stride 1 */
    /* the input read through it (nn/channel_map.h), NULL if none (the default): set
     * after gf_conv2d_depthwise_prepare where gf_conv2d_depthwise_maps_input */
    const gf_channel_map *input_map;
} gf_conv2d_depthwise_layout;

/* whether the planes of s can be read through an input map: the flat version's */
bool gf_conv2d_depthwise_maps_input(const gf_conv2d_shape *s);

/* Computes the layout of s's planes once for the forwards and backwards of planes that
 * follow in one scratch, and clears that scratch: the plane functions below then
 * write only the planes' interiors into it, and its padding stays zero. */
void gf_conv2d_depthwise_prepare(gf_conv2d_depthwise_layout *layout, const gf_conv2d_shape *s,
                                 float *scratch);
/* out (one plane, out_h x out_w) = conv(in plane) + bias, in a scratch prepared by
 * gf_conv2d_depthwise_prepare for the same shape; `channel`: the plane's, whose map the
 * layout's input map applies to it */
void gf_conv2d_depthwise_forward_plane(float *out, const float *in, int channel,
                                       const float *filter, float bias,
                                       const gf_conv2d_depthwise_layout *layout, float *scratch);
/* floats of one channel's filter-gradient sums (gf_conv2d_depthwise_backward_plane): a
 * vector per tap for the flat version, a float per tap for the plain one */
size_t gf_conv2d_depthwise_filter_sums_floats(const gf_conv2d_shape *s);
/* filter_sums (the plane's channel's, zero before its first plane) += the plane's
 * share of the filter gradient, kept in vectors by the flat version (summing their
 * lanes for every plane cost more than the taps' products on 4x4 to 8x8 planes);
 * grad_in (one plane; may be NULL) = or += (`add`) ..., in a prepared scratch as above */
void gf_conv2d_depthwise_backward_plane(float *grad_in, bool add, float *filter_sums,
                                        const float *grad_out, const float *in, int channel,
                                        const float *filter,
                                        const gf_conv2d_depthwise_layout *layout, float *scratch);
/* grad_filter (k x k) += a channel's filter-gradient sums, once after its planes */
void gf_conv2d_depthwise_take_filter_sums(float *grad_filter, const float *filter_sums,
                                          const gf_conv2d_depthwise_layout *layout);

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
