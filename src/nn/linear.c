#include "nn/linear.h"

#include <cblas.h>

void gf_linear_forward(float *out, const float *in, const float *weight, const float *bias,
                       int batch, int in_features, int out_features) {
    /* out[N, out] = in[N, in] @ W[out, in]^T */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, batch, out_features, in_features,
                1.0f, in, in_features, weight, in_features, 0.0f, out, out_features);
    if (!bias) return;
    for (int n = 0; n < batch; n++)
        for (int o = 0; o < out_features; o++) out[(size_t)n * out_features + o] += bias[o];
}

void gf_linear_backward(float *grad_in, float *grad_weight, float *grad_bias,
                        const float *grad_out, const float *in, const float *weight,
                        int batch, int in_features, int out_features) {
    /* dW[out, in] += dY[N, out]^T @ X[N, in] */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out_features, in_features, batch,
                1.0f, grad_out, out_features, in, in_features, 1.0f, grad_weight, in_features);
    /* dX[N, in] += dY[N, out] @ W[out, in] */
    if (grad_in)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, batch, in_features,
                    out_features, 1.0f, grad_out, out_features, weight, in_features, 1.0f,
                    grad_in, in_features);
    if (grad_bias)
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < out_features; o++)
                grad_bias[o] += grad_out[(size_t)n * out_features + o];
}
