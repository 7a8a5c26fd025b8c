#include "nn/activation.h"

void gf_activation_forward(float *out, const float *in, size_t n, gf_activation_kind kind,
                           float slope) {
    switch (kind) {
    case GF_ACT_RELU:
        for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
        break;
    case GF_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : slope * in[i];
        break;
    case GF_ACT_RELU6:
        for (size_t i = 0; i < n; i++)
            out[i] = in[i] > 0.0f ? (in[i] < 6.0f ? in[i] : 6.0f) : 0.0f;
        break;
    }
}

/* grad_in must not alias grad_out: the gradient is added, not stored. */
void gf_activation_backward(float *grad_in, const float *grad_out, const float *in, size_t n,
                            gf_activation_kind kind, float slope) {
    switch (kind) {
    case GF_ACT_RELU:
        for (size_t i = 0; i < n; i++) grad_in[i] += in[i] > 0.0f ? grad_out[i] : 0.0f;
        break;
    case GF_ACT_LEAKY_RELU:
        for (size_t i = 0; i < n; i++)
            grad_in[i] += in[i] > 0.0f ? grad_out[i] : slope * grad_out[i];
        break;
    case GF_ACT_RELU6:
        for (size_t i = 0; i < n; i++)
            grad_in[i] += (in[i] > 0.0f && in[i] < 6.0f) ? grad_out[i] : 0.0f;
        break;
    }
}
