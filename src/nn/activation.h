/* Pointwise activations. Backward adds into (or stores) grad_in and needs the forward
 * input (`in`); ReLU variants decide from its sign, as PyTorch does (gradient 0 at 0). */
#ifndef GRAFT_NN_ACTIVATION_H
#define GRAFT_NN_ACTIVATION_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/grad_write.h"

typedef enum gf_activation_kind {
    GF_ACT_RELU,
    GF_ACT_LEAKY_RELU, /* slope for x < 0, PyTorch default 0.01 */
    GF_ACT_RELU6
} gf_activation_kind;

/* One element, for kernels that apply an activation inside their own loop
 * (a BatchNorm or a residual add fused with the activation after it). */
static inline float gf_activation_value(gf_activation_kind kind, float x, float slope) {
    switch (kind) {
    case GF_ACT_RELU: return x > 0.0f ? x : 0.0f;
    case GF_ACT_LEAKY_RELU: return x > 0.0f ? x : slope * x;
    case GF_ACT_RELU6: return x > 0.0f ? (x < 6.0f ? x : 6.0f) : 0.0f;
    }
    return x;
}

/* The gradient through one element given the forward input x and the output gradient
 * g (g is used unconditionally, so that the compiler turns the choice into a vector
 * select: a branch on random signs mispredicts). The activation's output decides the
 * same way wherever it is positive exactly when x is: for ReLU, ReLU6 and a leaky
 * slope >= 0, x may be the output instead. */
static inline float gf_activation_gradient(gf_activation_kind kind, float x, float g, float slope) {
    switch (kind) {
    case GF_ACT_RELU: return x > 0.0f ? g : 0.0f;
    case GF_ACT_LEAKY_RELU: return x > 0.0f ? g : slope * g;
    case GF_ACT_RELU6: return (x > 0.0f && x < 6.0f) ? g : 0.0f;
    }
    return g;
}

/* Whether the output's sign decides the gradient as the input's would (ReLU, ReLU6, a
 * leaky slope >= 0), so that a kernel fused with the activation can keep the output
 * alone for backward. */
static inline bool gf_activation_gradient_from_output(gf_activation_kind kind, float slope) {
    return kind != GF_ACT_LEAKY_RELU || slope >= 0.0f;
}

/* "relu", "leaky_relu", "relu6" (as architectures and Lua name them); parse returns
 * -1 for an unknown name. */
const char *gf_activation_name(gf_activation_kind kind);
int gf_activation_parse(const char *name);

void gf_activation_forward(float *out, const float *in, size_t n, gf_activation_kind kind,
                           float slope);
/* grad_in (+)= the gradient through the activation at `in` (its input, or its output
 * where gf_activation_gradient_from_output holds); grad_in may be grad_out. */
void gf_activation_backward(float *grad_in, const float *grad_out, const float *in, size_t n,
                            gf_activation_kind kind, float slope, gf_grad_write write);

#endif
