/* A BatchNorm in evaluation folded into the convolution before it: with the running
 * statistics, BatchNorm is the affine map y = scale[k] * x + beta[k] - scale[k] *
 * mean[k] per channel k, scale[k] = gamma[k] / sqrt(var[k] + eps) (nn/batchnorm.h), so
 * the convolution with weights w[k] * scale[k] and bias beta[k] + (b[k] - mean[k]) *
 * scale[k] gives its output in one pass instead of two. The sums round differently:
 * the folded weights are rounded once more, and the BatchNorm's own rounding of
 * scale * x + shift is gone. */
#ifndef GRAFT_NN_BATCHNORM_FOLD_H
#define GRAFT_NN_BATCHNORM_FOLD_H

#include <stddef.h>

/* folded_weight [channels][per_channel] and folded_bias [channels] from a
 * convolution's weight and bias (NULL: none) and the BatchNorm's gamma, beta, running
 * mean and variance and eps, computed in double as the BatchNorm's evaluation does. */
void gf_batchnorm_fold(float *folded_weight, float *folded_bias, const float *weight,
                       const float *bias, int channels, size_t per_channel, const float *gamma,
                       const float *beta, const float *running_mean, const float *running_var,
                       float eps);

#endif
