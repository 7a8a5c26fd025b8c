/* Pointwise activations. Backward adds into (or stores) grad_in and needs the forward
 * input (`in`); ReLU variants decide from its sign, as PyTorch does (gradient 0 at 0). */
#ifndef GRAFT_NN_ACTIVATION_H
#define GRAFT_NN_ACTIVATION_H

#include <stddef.h>

#include "nn/grad_write.h"

typedef enum gf_activation_kind {
    GF_ACT_RELU,
    GF_ACT_LEAKY_RELU, /* slope for x < 0, PyTorch default 0.01 */
    GF_ACT_RELU6
} gf_activation_kind;

void gf_activation_forward(float *out, const float *in, size_t n, gf_activation_kind kind,
                           float slope);
void gf_activation_backward(float *grad_in, const float *grad_out, const float *in, size_t n,
                            gf_activation_kind kind, float slope, gf_grad_write write);

#endif
