/* Conv2d as matrix products: per image and group, the input patches are unrolled
 * into a [C/g * k * k, out_h * out_w] matrix (im2col) and multiplied with the
 * group's weights [out/g, C/g * k * k] by cblas_sgemm. A 1x1 stride-1 convolution
 * without padding needs no unrolling (the image already is that matrix), and the
 * depthwise case (groups == in == out channels) has its own direct kernel, since
 * its matrices would have a single row. */
#include "nn/conv2d.h"

#include <cblas.h>
#include <stdbool.h>
#include <string.h>

#include "core/error.h"

int gf_conv2d_shape_init(gf_conv2d_shape *s) {
    if (s->batch < 1 || s->in_channels < 1 || s->in_h < 1 || s->in_w < 1 ||
        s->out_channels < 1 || s->kernel < 1 || s->stride < 1 || s->padding < 0 ||
        s->groups < 1)
        return gf_fail("conv2d: invalid sizes (batch %d, in_channels %d, input %dx%d, "
                       "out_channels %d, kernel %d, stride %d, padding %d, groups %d)",
                       s->batch, s->in_channels, s->in_h, s->in_w, s->out_channels,
                       s->kernel, s->stride, s->padding, s->groups);
    if (s->in_channels % s->groups != 0 || s->out_channels % s->groups != 0)
        return gf_fail("conv2d: groups %d must divide in_channels %d and out_channels %d",
                       s->groups, s->in_channels, s->out_channels);
    int span_h = s->in_h + 2 * s->padding - s->kernel;
    int span_w = s->in_w + 2 * s->padding - s->kernel;
    if (span_h < 0 || span_w < 0)
        return gf_fail("conv2d: kernel %d is larger than the padded input %dx%d "
                       "(input %dx%d, padding %d)",
                       s->kernel, s->in_h + 2 * s->padding, s->in_w + 2 * s->padding,
                       s->in_h, s->in_w, s->padding);
    s->out_h = span_h / s->stride + 1;
    s->out_w = span_w / s->stride + 1;
    return GF_OK;
}

static bool is_depthwise(const gf_conv2d_shape *s) {
    return s->groups == s->in_channels && s->groups == s->out_channels && s->groups > 1;
}

static bool is_pointwise(const gf_conv2d_shape *s) {
    return s->kernel == 1 && s->stride == 1 && s->padding == 0;
}

/* rows of the unrolled patch matrix of one group */
static size_t patch_rows(const gf_conv2d_shape *s) {
    return (size_t)(s->in_channels / s->groups) * (size_t)s->kernel * (size_t)s->kernel;
}

size_t gf_conv2d_workspace_floats(const gf_conv2d_shape *s) {
    if (is_depthwise(s) || is_pointwise(s)) return 0;
    return patch_rows(s) * (size_t)s->out_h * (size_t)s->out_w;
}

/* For kernel offset k: the output positions o with 0 <= o*stride - padding + k < size
 * form the range [*begin, *end). */
static void valid_output_range(int k, int size, int out_size, int stride, int padding,
                               int *begin, int *end) {
    int shift = k - padding; /* input index = o * stride + shift */
    int lo = shift >= 0 ? 0 : (-shift + stride - 1) / stride;
    int hi = size - 1 - shift < 0 ? 0 : (size - 1 - shift) / stride + 1;
    if (hi > out_size) hi = out_size;
    if (lo > hi) lo = hi;
    *begin = lo;
    *end = hi;
}

/* col[(c*k + kh)*k + kw][oh*out_w + ow] = in[c][oh*stride - pad + kh][ow*stride - pad + kw]
 * (0 outside the image), for `channels` planes starting at `in`. */
static void im2col(float *col, const float *in, int channels, const gf_conv2d_shape *s) {
    const int k = s->kernel, st = s->stride, pad = s->padding;
    const int h = s->in_h, w = s->in_w, oh_n = s->out_h, ow_n = s->out_w;
    for (int c = 0; c < channels; c++) {
        const float *plane = in + (size_t)c * h * w;
        for (int kh = 0; kh < k; kh++) {
            int oh_lo, oh_hi;
            valid_output_range(kh, h, oh_n, st, pad, &oh_lo, &oh_hi);
            for (int kw = 0; kw < k; kw++) {
                int ow_lo, ow_hi;
                valid_output_range(kw, w, ow_n, st, pad, &ow_lo, &ow_hi);
                float *row = col + ((size_t)(c * k + kh) * k + kw) * oh_n * ow_n;
                memset(row, 0, sizeof(float) * (size_t)oh_lo * ow_n);
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    float *dst = row + (size_t)oh * ow_n;
                    const float *src = plane + (size_t)(oh * st - pad + kh) * w - pad + kw;
                    for (int ow = 0; ow < ow_lo; ow++) dst[ow] = 0.0f;
                    if (st == 1) {
                        memcpy(dst + ow_lo, src + ow_lo, sizeof(float) * (size_t)(ow_hi - ow_lo));
                    } else {
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[ow * st];
                    }
                    for (int ow = ow_hi; ow < ow_n; ow++) dst[ow] = 0.0f;
                }
                memset(row + (size_t)oh_hi * ow_n, 0, sizeof(float) * (size_t)(oh_n - oh_hi) * ow_n);
            }
        }
    }
}

/* The adjoint of im2col: in[...] += col[...] over the same index map. */
static void col2im_add(float *in, const float *col, int channels, const gf_conv2d_shape *s) {
    const int k = s->kernel, st = s->stride, pad = s->padding;
    const int h = s->in_h, w = s->in_w, oh_n = s->out_h, ow_n = s->out_w;
    for (int c = 0; c < channels; c++) {
        float *plane = in + (size_t)c * h * w;
        for (int kh = 0; kh < k; kh++) {
            int oh_lo, oh_hi;
            valid_output_range(kh, h, oh_n, st, pad, &oh_lo, &oh_hi);
            for (int kw = 0; kw < k; kw++) {
                int ow_lo, ow_hi;
                valid_output_range(kw, w, ow_n, st, pad, &ow_lo, &ow_hi);
                const float *row = col + ((size_t)(c * k + kh) * k + kw) * oh_n * ow_n;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *src = row + (size_t)oh * ow_n;
                    float *dst = plane + (size_t)(oh * st - pad + kh) * w - pad + kw;
                    for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow * st] += src[ow];
                }
            }
        }
    }
}

/* Depthwise: each channel convolved with its own k x k filter. */
static void depthwise_forward_plane(float *out, const float *in, const float *filter,
                                    float bias, const gf_conv2d_shape *s) {
    const int k = s->kernel, st = s->stride, pad = s->padding;
    const int h = s->in_h, w = s->in_w, oh_n = s->out_h, ow_n = s->out_w;
    for (int i = 0; i < oh_n * ow_n; i++) out[i] = bias;
    for (int kh = 0; kh < k; kh++) {
        int oh_lo, oh_hi;
        valid_output_range(kh, h, oh_n, st, pad, &oh_lo, &oh_hi);
        for (int kw = 0; kw < k; kw++) {
            int ow_lo, ow_hi;
            valid_output_range(kw, w, ow_n, st, pad, &ow_lo, &ow_hi);
            const float wv = filter[kh * k + kw];
            for (int oh = oh_lo; oh < oh_hi; oh++) {
                float *dst = out + (size_t)oh * ow_n;
                const float *src = in + (size_t)(oh * st - pad + kh) * w - pad + kw;
                for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] += wv * src[ow * st];
            }
        }
    }
}

static void depthwise_backward_plane(float *grad_in, float *grad_filter, const float *grad_out,
                                     const float *in, const float *filter,
                                     const gf_conv2d_shape *s) {
    const int k = s->kernel, st = s->stride, pad = s->padding;
    const int h = s->in_h, w = s->in_w, oh_n = s->out_h, ow_n = s->out_w;
    for (int kh = 0; kh < k; kh++) {
        int oh_lo, oh_hi;
        valid_output_range(kh, h, oh_n, st, pad, &oh_lo, &oh_hi);
        for (int kw = 0; kw < k; kw++) {
            int ow_lo, ow_hi;
            valid_output_range(kw, w, ow_n, st, pad, &ow_lo, &ow_hi);
            const float wv = filter[kh * k + kw];
            float dw = 0.0f;
            for (int oh = oh_lo; oh < oh_hi; oh++) {
                const float *g = grad_out + (size_t)oh * ow_n;
                size_t offset = (size_t)(oh * st - pad + kh) * w - pad + kw;
                const float *src = in + offset;
                for (int ow = ow_lo; ow < ow_hi; ow++) dw += g[ow] * src[ow * st];
                if (grad_in) {
                    float *dst = grad_in + offset;
                    for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow * st] += wv * g[ow];
                }
            }
            grad_filter[kh * k + kw] += dw;
        }
    }
}

static void add_bias(float *out, const float *bias, int channels, size_t plane) {
    for (int c = 0; c < channels; c++)
        for (size_t i = 0; i < plane; i++) out[(size_t)c * plane + i] += bias[c];
}

int gf_conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                      const gf_conv2d_shape *s, float *workspace) {
    const int groups = s->groups;
    const int cin_g = s->in_channels / groups, cout_g = s->out_channels / groups;
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    const int rows = (int)patch_rows(s);
    if (!is_depthwise(s) && !is_pointwise(s) && !workspace)
        return gf_fail("conv2d forward: no workspace for %d x %zu patches", rows, out_plane);

    for (int n = 0; n < s->batch; n++) {
        const float *image = in + (size_t)n * s->in_channels * in_plane;
        float *result = out + (size_t)n * s->out_channels * out_plane;
        if (is_depthwise(s)) {
            for (int c = 0; c < s->in_channels; c++)
                depthwise_forward_plane(result + c * out_plane, image + c * in_plane,
                                        weight + (size_t)c * s->kernel * s->kernel,
                                        bias ? bias[c] : 0.0f, s);
            continue;
        }
        for (int g = 0; g < groups; g++) {
            const float *patches = image + (size_t)g * cin_g * in_plane;
            if (!is_pointwise(s)) {
                im2col(workspace, patches, cin_g, s);
                patches = workspace;
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout_g, (int)out_plane,
                        rows, 1.0f, weight + (size_t)g * cout_g * rows, rows, patches,
                        (int)out_plane, 0.0f, result + (size_t)g * cout_g * out_plane,
                        (int)out_plane);
        }
        if (bias) add_bias(result, bias, s->out_channels, out_plane);
    }
    return GF_OK;
}

int gf_conv2d_backward(float *grad_in, float *grad_weight, float *grad_bias,
                       const float *grad_out, const float *in, const float *weight,
                       const gf_conv2d_shape *s, float *workspace) {
    const int groups = s->groups;
    const int cin_g = s->in_channels / groups, cout_g = s->out_channels / groups;
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    const int rows = (int)patch_rows(s);
    if (!is_depthwise(s) && !is_pointwise(s) && !workspace)
        return gf_fail("conv2d backward: no workspace for %d x %zu patches", rows, out_plane);

    for (int n = 0; n < s->batch; n++) {
        const float *image = in + (size_t)n * s->in_channels * in_plane;
        const float *grad = grad_out + (size_t)n * s->out_channels * out_plane;
        float *grad_image = grad_in ? grad_in + (size_t)n * s->in_channels * in_plane : NULL;
        if (grad_bias)
            for (int c = 0; c < s->out_channels; c++) {
                float sum = 0.0f;
                for (size_t i = 0; i < out_plane; i++) sum += grad[c * out_plane + i];
                grad_bias[c] += sum;
            }
        if (is_depthwise(s)) {
            const int kk = s->kernel * s->kernel;
            for (int c = 0; c < s->in_channels; c++)
                depthwise_backward_plane(grad_image ? grad_image + c * in_plane : NULL,
                                         grad_weight + (size_t)c * kk, grad + c * out_plane,
                                         image + c * in_plane, weight + (size_t)c * kk, s);
            continue;
        }
        for (int g = 0; g < groups; g++) {
            const float *grad_g = grad + (size_t)g * cout_g * out_plane;
            const float *weight_g = weight + (size_t)g * cout_g * rows;
            const float *patches = image + (size_t)g * cin_g * in_plane;
            if (!is_pointwise(s)) {
                im2col(workspace, patches, cin_g, s);
                patches = workspace;
            }
            /* dW[out/g, rows] += dY[out/g, P] @ patches[rows, P]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cout_g, rows, (int)out_plane,
                        1.0f, grad_g, (int)out_plane, patches, (int)out_plane, 1.0f,
                        grad_weight + (size_t)g * cout_g * rows, rows);
            if (!grad_image) continue;
            float *grad_image_g = grad_image + (size_t)g * cin_g * in_plane;
            /* dpatches[rows, P] = W[out/g, rows]^T @ dY[out/g, P] */
            if (is_pointwise(s)) {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, (int)out_plane,
                            cout_g, 1.0f, weight_g, rows, grad_g, (int)out_plane, 1.0f,
                            grad_image_g, (int)out_plane);
            } else {
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, rows, (int)out_plane,
                            cout_g, 1.0f, weight_g, rows, grad_g, (int)out_plane, 0.0f,
                            workspace, (int)out_plane);
                col2im_add(grad_image_g, workspace, cin_g, s);
            }
        }
    }
    return GF_OK;
}
