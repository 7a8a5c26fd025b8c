/* A BatchNorm in evaluation folded into the convolution before it. */
#include "nn/batchnorm_fold.h"

#include <math.h>

void gf_batchnorm_fold(float *folded_weight, float *folded_bias, const float *weight,
                       const float *bias, int channels, size_t per_channel, const float *gamma,
                       const float *beta, const float *running_mean, const float *running_var,
                       float eps) {
    for (int k = 0; k < channels; k++) {
        /* the BatchNorm's evaluation scale (nn/batchnorm.c) */
        const double scale = gamma[k] * (1.0 / sqrt((double)running_var[k] + eps));
        const float *w = weight + (size_t)k * per_channel;
        float *folded = folded_weight + (size_t)k * per_channel;
        for (size_t j = 0; j < per_channel; j++) folded[j] = (float)(w[j] * scale);
        const double b = bias ? bias[k] : 0.0;
        folded_bias[k] = (float)(beta[k] + (b - running_mean[k]) * scale);
    }
}
