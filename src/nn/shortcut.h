/* The CIFAR-ResNet "option A" shortcut: keep every `stride`-th row and column
 * (x[:, :, ::stride, ::stride]) and zero-pad `pad` channels on each side, so
 * out_channels = in_channels + 2 * pad. It has no parameters. Also the residual add,
 * alone or with the activation that alone reads it. */
#ifndef GRAFT_NN_SHORTCUT_H
#define GRAFT_NN_SHORTCUT_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/activation.h"
#include "nn/channel_map.h"
#include "nn/grad_write.h"

typedef struct gf_shortcut_shape {
    int batch, in_channels, in_h, in_w, stride, pad;
    int out_channels, out_h, out_w; /* filled by gf_shortcut_shape_init */
} gf_shortcut_shape;

int gf_shortcut_shape_init(gf_shortcut_shape *s);
void gf_shortcut_forward(float *out, const float *in, const gf_shortcut_shape *s);
/* accumulates into grad_in */
void gf_shortcut_backward(float *grad_in, const float *grad_out, const gf_shortcut_shape *s);

/* out = a + b (out may alias either) */
void gf_add_forward(float *out, const float *a, const float *b, size_t n);
/* The residual add's backward for one of its inputs: grad_in (+)= grad_out. */
void gf_add_backward(float *grad_in, const float *grad_out, size_t n, gf_grad_write write);

/* out = map(a) + b, through the add's activation when `activated`: `a` is a training
 * BatchNorm's input, read through its map (nn/channel_map.h; without an activation of
 * its own), planes of `plane` floats whose channels cycle through `channels`, so that
 * the BatchNorm's output is never written. The bits of the add on that output; out
 * aliases neither input. */
void gf_add_mapped_forward(float *out, const float *a, const gf_channel_map *map, int channels,
                           size_t plane, const float *b, size_t n, bool activated,
                           gf_activation_kind kind, float slope);

/* out = act(a + b) in one pass, for an add whose only reader is the activation: the
 * sum is never stored (out may alias a or b). */
void gf_add_activation_forward(float *out, const float *a, const float *b, size_t n,
                               gf_activation_kind kind, float slope);
/* Their backward in one pass: with g the gradient through the activation, read from
 * its output `out` (gf_activation_gradient_from_output must hold) and its output
 * gradient, grad_a (+)= g and grad_b (+)= g as write[0] and write[1] say. grad_b may
 * be grad_a (x + x: it gets both); neither may alias grad_out or out. (Where the plan
 * gives both inputs the activation's gradient buffer, the network masks that buffer in
 * place with gf_activation_backward instead, nn/plan.c.) */
void gf_add_activation_backward(float *grad_a, float *grad_b, const float *grad_out,
                                const float *out, size_t n, gf_activation_kind kind, float slope,
                                const gf_grad_write write[2]);

#endif
