/* BatchNorm2d over NCHW: statistics per channel across batch and space. Sums are
 * accumulated in double so that a large batch of large activations keeps the
 * variance (a difference of two sums) accurate. */
#include "nn/batchnorm.h"

#include <math.h>
#include <stddef.h>

#include "core/error.h"

static int check_shape(const gf_batchnorm_shape *s, const char *operation) {
    if (s->batch < 1 || s->channels < 1 || s->spatial < 1 || !(s->eps > 0.0f) ||
        !(s->momentum >= 0.0f && s->momentum <= 1.0f))
        return gf_fail("%s: invalid sizes (batch %d, channels %d, spatial %d, eps %g, "
                       "momentum %g)",
                       operation, s->batch, s->channels, s->spatial, (double)s->eps,
                       (double)s->momentum);
    return GF_OK;
}

int gf_batchnorm_forward_train(float *out, float *saved_mean, float *saved_invstd,
                               float *running_mean, float *running_var, const float *in,
                               const float *gamma, const float *beta,
                               const gf_batchnorm_shape *s) {
    if (check_shape(s, "batchnorm forward") != GF_OK) return GF_ERR;
    const size_t count = (size_t)s->batch * s->spatial;
    if (count < 2)
        return gf_fail("batchnorm forward: training needs more than 1 value per channel "
                       "(batch %d, spatial %d)",
                       s->batch, s->spatial);
    const size_t plane = (size_t)s->spatial, stride = (size_t)s->channels * plane;
    for (int c = 0; c < s->channels; c++) {
        const float *x = in + (size_t)c * plane;
        double sum = 0.0;
        for (int n = 0; n < s->batch; n++)
            for (size_t i = 0; i < plane; i++) sum += x[n * stride + i];
        const double mean = sum / (double)count;
        double squares = 0.0;
        for (int n = 0; n < s->batch; n++)
            for (size_t i = 0; i < plane; i++) {
                double d = x[n * stride + i] - mean;
                squares += d * d;
            }
        const double var = squares / (double)count; /* biased: used to normalise */
        const double invstd = 1.0 / sqrt(var + s->eps);
        saved_mean[c] = (float)mean;
        saved_invstd[c] = (float)invstd;
        running_mean[c] = (float)((1.0 - s->momentum) * running_mean[c] + s->momentum * mean);
        running_var[c] = (float)((1.0 - s->momentum) * running_var[c] +
                                 s->momentum * squares / (double)(count - 1));

        const float scale = (float)(gamma[c] * invstd);
        const float shift = (float)(beta[c] - mean * gamma[c] * invstd);
        float *y = out + (size_t)c * plane;
        for (int n = 0; n < s->batch; n++)
            for (size_t i = 0; i < plane; i++) y[n * stride + i] = x[n * stride + i] * scale + shift;
    }
    return GF_OK;
}

int gf_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                              const float *beta, const float *running_mean,
                              const float *running_var, const gf_batchnorm_shape *s) {
    if (check_shape(s, "batchnorm forward (eval)") != GF_OK) return GF_ERR;
    const size_t plane = (size_t)s->spatial, stride = (size_t)s->channels * plane;
    for (int c = 0; c < s->channels; c++) {
        const double invstd = 1.0 / sqrt((double)running_var[c] + s->eps);
        const float scale = (float)(gamma[c] * invstd);
        const float shift = (float)(beta[c] - running_mean[c] * gamma[c] * invstd);
        const float *x = in + (size_t)c * plane;
        float *y = out + (size_t)c * plane;
        for (int n = 0; n < s->batch; n++)
            for (size_t i = 0; i < plane; i++) y[n * stride + i] = x[n * stride + i] * scale + shift;
    }
    return GF_OK;
}

/* With xhat = (x - mean) * invstd and y = gamma * xhat + beta:
 *   dbeta = sum dy, dgamma = sum dy * xhat,
 *   dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma). */
int gf_batchnorm_backward(float *grad_in, float *grad_gamma, float *grad_beta,
                          const float *grad_out, const float *in, const float *saved_mean,
                          const float *saved_invstd, const float *gamma,
                          const gf_batchnorm_shape *s) {
    if (check_shape(s, "batchnorm backward") != GF_OK) return GF_ERR;
    const size_t plane = (size_t)s->spatial, stride = (size_t)s->channels * plane;
    const double count = (double)s->batch * (double)s->spatial;
    for (int c = 0; c < s->channels; c++) {
        const float *x = in + (size_t)c * plane;
        const float *dy = grad_out + (size_t)c * plane;
        const float mean = saved_mean[c], invstd = saved_invstd[c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int n = 0; n < s->batch; n++)
            for (size_t i = 0; i < plane; i++) {
                size_t j = n * stride + i;
                sum_dy += dy[j];
                sum_dy_xhat += dy[j] * ((x[j] - mean) * invstd);
            }
        grad_beta[c] += (float)sum_dy;
        grad_gamma[c] += (float)sum_dy_xhat;
        if (!grad_in) continue;
        /* dx = a * dy + b * x + d, folded per channel */
        const double k = gamma[c] * invstd;
        const float a = (float)k;
        const float b = (float)(-k * sum_dy_xhat / count * invstd);
        const float d = (float)(-k * sum_dy / count + k * sum_dy_xhat / count * invstd * mean);
        float *dx = grad_in + (size_t)c * plane;
        for (int n = 0; n < s->batch; n++)
            for (size_t i = 0; i < plane; i++) {
                size_t j = n * stride + i;
                dx[j] += a * dy[j] + b * x[j] + d;
            }
    }
    return GF_OK;
}
