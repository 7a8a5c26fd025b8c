/* Max and average pooling over square windows, and global average pooling. */
#ifndef GRAFT_NN_POOL_H
#define GRAFT_NN_POOL_H

#include <stdint.h>

typedef struct gf_pool_shape {
    int batch, channels, in_h, in_w;
    int kernel, stride, padding;
    int out_h, out_w; /* filled by gf_pool_shape_init */
} gf_pool_shape;

int gf_pool_shape_init(gf_pool_shape *s);

/* argmax [N*C*out_h*out_w] records the winning input index for backward. */
int gf_maxpool_forward(float *out, int32_t *argmax, const float *in, const gf_pool_shape *s);
void gf_maxpool_backward(float *grad_in, const float *grad_out, const int32_t *argmax,
                         const gf_pool_shape *s);
/* Padding counts in the divisor (PyTorch's count_include_pad = True). */
int gf_avgpool_forward(float *out, const float *in, const gf_pool_shape *s);
void gf_avgpool_backward(float *grad_in, const float *grad_out, const gf_pool_shape *s);

/* [N, C, H, W] -> [N, C] */
void gf_global_avgpool_forward(float *out, const float *in, int batch, int channels,
                               int spatial);
void gf_global_avgpool_backward(float *grad_in, const float *grad_out, int batch,
                                int channels, int spatial);

#endif
