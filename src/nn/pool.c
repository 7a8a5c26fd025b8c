/* Pooling windows follow PyTorch: out = floor((in + 2 * padding - kernel) / stride) + 1,
 * padding at most half the kernel (so every window holds a real input). */
#include "nn/pool.h"

#include <math.h>
#include <stddef.h>

#include "core/error.h"

int gf_pool_shape_init(gf_pool_shape *s) {
    if (s->batch < 1 || s->channels < 1 || s->in_h < 1 || s->in_w < 1 || s->kernel < 1 ||
        s->stride < 1 || s->padding < 0)
        return gf_fail("pool: invalid sizes (batch %d, channels %d, input %dx%d, kernel %d, "
                       "stride %d, padding %d)",
                       s->batch, s->channels, s->in_h, s->in_w, s->kernel, s->stride,
                       s->padding);
    if (s->padding > s->kernel / 2) /* 2 * padding > kernel, without overflow */
        return gf_fail("pool: padding %d is more than half the kernel %d", s->padding,
                       s->kernel);
    /* in int64 (padding <= kernel / 2 keeps 2 * padding an int), so nothing wraps */
    int64_t span_h = (int64_t)s->in_h + 2 * s->padding - s->kernel;
    int64_t span_w = (int64_t)s->in_w + 2 * s->padding - s->kernel;
    if (span_h < 0 || span_w < 0)
        return gf_fail("pool: kernel %d is larger than the padded input %lldx%lld (input "
                       "%dx%d, padding %d)",
                       s->kernel, (long long)span_h + s->kernel, (long long)span_w + s->kernel,
                       s->in_h, s->in_w, s->padding);
    if ((int64_t)s->in_h * s->in_w > INT32_MAX)
        return gf_fail("pool: input %dx%d is too large (a plane must stay below 2^31)", s->in_h,
                       s->in_w);
    s->out_h = (int)(span_h / s->stride + 1);
    s->out_w = (int)(span_w / s->stride + 1);
    return GF_OK;
}

static int check_initialised(const gf_pool_shape *s, const char *operation) {
    gf_pool_shape copy = *s;
    if (gf_pool_shape_init(&copy) != GF_OK) return gf_fail_context("%s", operation);
    if (copy.out_h != s->out_h || copy.out_w != s->out_w)
        return gf_fail("%s: output %dx%d does not follow from the sizes (expected %dx%d)",
                       operation, s->out_h, s->out_w, copy.out_h, copy.out_w);
    return GF_OK;
}

/* argmax holds the index of the winner within its input plane (h * in_w + w). */
int gf_maxpool_forward(float *out, int32_t *argmax, const float *in, const gf_pool_shape *s) {
    if (check_initialised(s, "maxpool forward") != GF_OK) return GF_ERR;
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    for (size_t p = 0; p < (size_t)s->batch * s->channels; p++) {
        const float *x = in + p * in_plane;
        for (int oh = 0; oh < s->out_h; oh++)
            for (int ow = 0; ow < s->out_w; ow++) {
                float best = -INFINITY;
                int32_t best_index = -1;
                for (int kh = 0; kh < s->kernel; kh++) {
                    int ih = oh * s->stride - s->padding + kh;
                    if (ih < 0 || ih >= s->in_h) continue;
                    for (int kw = 0; kw < s->kernel; kw++) {
                        int iw = ow * s->stride - s->padding + kw;
                        if (iw < 0 || iw >= s->in_w) continue;
                        float v = x[ih * s->in_w + iw];
                        /* NaN wins, as in PyTorch, so it is not silently dropped */
                        if (best_index < 0 || v > best || isnan(v)) {
                            best = v;
                            best_index = ih * s->in_w + iw;
                            if (isnan(v)) goto window_done;
                        }
                    }
                }
            window_done:
                out[p * out_plane + (size_t)oh * s->out_w + ow] = best;
                argmax[p * out_plane + (size_t)oh * s->out_w + ow] = best_index;
            }
    }
    return GF_OK;
}

void gf_maxpool_backward(float *grad_in, const float *grad_out, const int32_t *argmax,
                         const gf_pool_shape *s) {
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    for (size_t p = 0; p < (size_t)s->batch * s->channels; p++)
        for (size_t o = 0; o < out_plane; o++)
            grad_in[p * in_plane + (size_t)argmax[p * out_plane + o]] += grad_out[p * out_plane + o];
}

int gf_avgpool_forward(float *out, const float *in, const gf_pool_shape *s) {
    if (check_initialised(s, "avgpool forward") != GF_OK) return GF_ERR;
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    const float divisor = (float)(s->kernel * s->kernel);
    for (size_t p = 0; p < (size_t)s->batch * s->channels; p++) {
        const float *x = in + p * in_plane;
        for (int oh = 0; oh < s->out_h; oh++)
            for (int ow = 0; ow < s->out_w; ow++) {
                float sum = 0.0f;
                for (int kh = 0; kh < s->kernel; kh++) {
                    int ih = oh * s->stride - s->padding + kh;
                    if (ih < 0 || ih >= s->in_h) continue;
                    for (int kw = 0; kw < s->kernel; kw++) {
                        int iw = ow * s->stride - s->padding + kw;
                        if (iw >= 0 && iw < s->in_w) sum += x[ih * s->in_w + iw];
                    }
                }
                out[p * out_plane + (size_t)oh * s->out_w + ow] = sum / divisor;
            }
    }
    return GF_OK;
}

void gf_avgpool_backward(float *grad_in, const float *grad_out, const gf_pool_shape *s) {
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    const float divisor = (float)(s->kernel * s->kernel);
    for (size_t p = 0; p < (size_t)s->batch * s->channels; p++) {
        float *dx = grad_in + p * in_plane;
        for (int oh = 0; oh < s->out_h; oh++)
            for (int ow = 0; ow < s->out_w; ow++) {
                float g = grad_out[p * out_plane + (size_t)oh * s->out_w + ow] / divisor;
                for (int kh = 0; kh < s->kernel; kh++) {
                    int ih = oh * s->stride - s->padding + kh;
                    if (ih < 0 || ih >= s->in_h) continue;
                    for (int kw = 0; kw < s->kernel; kw++) {
                        int iw = ow * s->stride - s->padding + kw;
                        if (iw >= 0 && iw < s->in_w) dx[ih * s->in_w + iw] += g;
                    }
                }
            }
    }
}

void gf_global_avgpool_forward(float *out, const float *in, int batch, int channels,
                               int spatial) {
    for (size_t p = 0; p < (size_t)batch * channels; p++) {
        const float *x = in + p * (size_t)spatial;
        float sum = 0.0f;
        for (int i = 0; i < spatial; i++) sum += x[i];
        out[p] = sum / (float)spatial;
    }
}

void gf_global_avgpool_backward(float *grad_in, const float *grad_out, int batch,
                                int channels, int spatial) {
    for (size_t p = 0; p < (size_t)batch * channels; p++) {
        float g = grad_out[p] / (float)spatial;
        float *dx = grad_in + p * (size_t)spatial;
        for (int i = 0; i < spatial; i++) dx[i] += g;
    }
}
