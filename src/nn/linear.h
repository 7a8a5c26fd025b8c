/* Fully connected layer: out[N, out] = in[N, in] W^T + b, W is [out, in] (PyTorch). */
#ifndef GRAFT_NN_LINEAR_H
#define GRAFT_NN_LINEAR_H

void gf_linear_forward(float *out, const float *in, const float *weight, const float *bias,
                       int batch, int in_features, int out_features);
/* Accumulates into grad_in (may be NULL), grad_weight, grad_bias (may be NULL). */
void gf_linear_backward(float *grad_in, float *grad_weight, float *grad_bias,
                        const float *grad_out, const float *in, const float *weight,
                        int batch, int in_features, int out_features);

#endif
