/* BatchNorm2d as PyTorch defines it: in training, normalise with the batch mean and
 * biased batch variance and update running_mean/running_var with momentum (0.1),
 * the running variance taking the unbiased batch variance; in evaluation, normalise
 * with the running statistics. eps 1e-5.
 *
 * Optionally fused with the activation after it (`activated`): the forward writes
 * activation(BatchNorm(in)) and the backward takes the gradient of that output, which
 * saves a pass over the tensor each way. The backward decides the activation's
 * gradient from its input y, recomputed from `in`, the saved statistics and beta
 * exactly as the forward computed it, rather than from the output (where the output
 * is positive exactly when y is: ReLU, ReLU6 and a leaky slope >= 0), so that it
 * reads two tensors rather than three. */
#ifndef GRAFT_NN_BATCHNORM_H
#define GRAFT_NN_BATCHNORM_H

#include <stdbool.h>

#include "nn/activation.h"
#include "nn/channel_map.h"
#include "nn/grad_write.h"
#include "nn/moments.h"

typedef struct gf_batchnorm_shape {
    int batch, channels, spatial; /* spatial = H*W */
    float eps, momentum;
    bool activated; /* followed by `activation` (with `slope`) inside the kernels */
    gf_activation_kind activation;
    float slope;
} gf_batchnorm_shape;

/* saved_mean / saved_invstd [channels] are written for the backward pass. out may be
 * NULL: the statistics alone, for a kernel that applies the map as it reads `in`
 * (gf_batchnorm_training_map). */
int gf_batchnorm_forward_train(float *out, float *saved_mean, float *saved_invstd,
                               float *running_mean, float *running_var, const float *in,
                               const float *gamma, const float *beta,
                               const gf_batchnorm_shape *s);
/* The same, from the moments of `in`'s planes [batch][channels] (nn/moments.h) as the
 * convolution before gave them (gf_conv2d_forward_moments), which saves a pass over
 * `in`; the same bits as computing them here. */
int gf_batchnorm_forward_train_moments(float *out, float *saved_mean, float *saved_invstd,
                                       float *running_mean, float *running_var, const float *in,
                                       const float *gamma, const float *beta,
                                       const gf_moments *plane_moments,
                                       const gf_batchnorm_shape *s);
/* The map a training forward applied to each channel (nn/channel_map.h), from the
 * statistics it saved, gamma and beta: what a kernel reading BatchNorm's input through
 * it needs to give BatchNorm's output, bit for bit. */
void gf_batchnorm_training_map(gf_channel_affine *affine, const float *gamma, const float *beta,
                               const float *saved_mean, const float *saved_invstd,
                               int channels);
int gf_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                              const float *beta, const float *running_mean,
                              const float *running_var, const gf_batchnorm_shape *s);
/* Training-mode backward; adds into grad_gamma, grad_beta, and adds into or stores
 * grad_in (`write`). When s->activated, grad_out is the gradient of the activated
 * output, and beta is needed (NULL otherwise is fine). */
int gf_batchnorm_backward(float *grad_in, float *grad_gamma, float *grad_beta,
                          const float *grad_out, const float *in, const float *saved_mean,
                          const float *saved_invstd, const float *gamma, const float *beta,
                          const gf_batchnorm_shape *s, gf_grad_write write);
/* The same in plain loops and double sums, the activation's gradient read from the
 * forward's output `out` (as PyTorch reads it): the reference for the tests. */
int gf_batchnorm_backward_plain(float *grad_in, float *grad_gamma, float *grad_beta,
                                const float *grad_out, const float *out, const float *in,
                                const float *saved_mean, const float *saved_invstd,
                                const float *gamma, const gf_batchnorm_shape *s,
                                gf_grad_write write);

#endif
