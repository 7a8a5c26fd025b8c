/* Depthwise convolution, one plane at a time; see conv2d_depthwise.h. */
#include "nn/conv2d_depthwise.h"

#include <string.h>

#include "core/size.h"
#include "nn/channel_map.h"
#include "nn/interleave.h"
#include "nn/vector_clones.h"

enum { VL = GF_VL, FLAT_MAX_TAPS = GF_DEPTHWISE_MAX_TAPS };

static size_t padded_plane_floats(const gf_conv2d_shape *s) {
    return ((size_t)s->in_h + 2 * (size_t)s->padding) * ((size_t)s->in_w + 2 * (size_t)s->padding);
}

static void pad_plane(float *padded, size_t floats, const float *in, const gf_conv2d_shape *s) {
    const int pad = s->padding, pw = s->in_w + 2 * pad;
    memset(padded, 0, sizeof(float) * floats);
    for (int ih = 0; ih < s->in_h; ih++)
        memcpy(padded + (size_t)(ih + pad) * pw + pad, in + (size_t)ih * s->in_w,
               sizeof(float) * (size_t)s->in_w);
}

/* grad_in (one plane) = or += (`add`) the interior of the input gradient summed on
 * the padded grid (rows of pw floats) */
static void take_interior(float *grad_in, bool add, const float *grad_padded, int pw,
                          const gf_conv2d_shape *s) {
    const int pad = s->padding;
    for (int ih = 0; ih < s->in_h; ih++) {
        float *dst = grad_in + (size_t)ih * s->in_w;
        const float *src = grad_padded + (size_t)(ih + pad) * pw + pad;
        if (add)
            for (int iw = 0; iw < s->in_w; iw++) dst[iw] += src[iw];
        else
            memcpy(dst, src, sizeof(float) * (size_t)s->in_w);
    }
}

/* ---- the plain version ---------------------------------------------------- */

/* sum a[i] * b[i] in 16 separate partial sums, which the compiler can vectorise
 * (one float accumulator would have to be summed in order) */
static float dot(const float *a, const float *b, int n) {
    float partial[16] = {0};
    int i = 0;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) partial[j] += a[i + j] * b[i + j];
    float sum = 0.0f;
    for (; i < n; i++) sum += a[i] * b[i];
    for (int j = 0; j < 16; j++) sum += partial[j];
    return sum;
}

void gf_conv2d_depthwise_forward_plane_plain(float *out, const float *in, const float *filter,
                                             float bias, const gf_conv2d_shape *s,
                                             float *scratch) {
    const int k = s->kernel, st = s->stride, pw = s->in_w + 2 * s->padding;
    const int oh_n = s->out_h, ow_n = s->out_w;
    float *padded = scratch;
    pad_plane(padded, padded_plane_floats(s), in, s);
    for (int oh = 0; oh < oh_n; oh++) {
        float *dst = out + (size_t)oh * ow_n;
        for (int ow = 0; ow < ow_n; ow++) dst[ow] = bias;
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++) {
                const float wv = filter[kh * k + kw];
                const float *src = padded + (size_t)(oh * st + kh) * pw + kw;
                if (st == 1) /* contiguous: vectorised */
                    for (int ow = 0; ow < ow_n; ow++) dst[ow] += wv * src[ow];
                else
                    for (int ow = 0; ow < ow_n; ow++) dst[ow] += wv * src[ow * st];
            }
    }
}

/* The input gradient is summed on the padded grid, whose interior then goes to
 * grad_in. */
void gf_conv2d_depthwise_backward_plane_plain(float *grad_in, bool add, float *grad_filter,
                                              const float *grad_out, const float *in,
                                              const float *filter, const gf_conv2d_shape *s,
                                              float *scratch) {
    const int k = s->kernel, st = s->stride, pad = s->padding, pw = s->in_w + 2 * pad;
    const int oh_n = s->out_h, ow_n = s->out_w;
    float *padded = scratch, *grad_padded = scratch + padded_plane_floats(s);
    pad_plane(padded, padded_plane_floats(s), in, s);
    if (grad_in) memset(grad_padded, 0, sizeof(float) * padded_plane_floats(s));
    for (int kh = 0; kh < k; kh++)
        for (int kw = 0; kw < k; kw++) {
            const float wv = filter[kh * k + kw];
            float dw = 0.0f;
            for (int oh = 0; oh < oh_n; oh++) {
                const float *g = grad_out + (size_t)oh * ow_n;
                const size_t offset = (size_t)(oh * st + kh) * pw + kw;
                const float *src = padded + offset;
                float *dst = grad_padded + offset;
                if (st == 1) {
                    dw += dot(g, src, ow_n);
                    if (grad_in)
                        for (int ow = 0; ow < ow_n; ow++) dst[ow] += wv * g[ow];
                } else {
                    for (int ow = 0; ow < ow_n; ow++) dw += g[ow] * src[ow * st];
                    if (grad_in)
                        for (int ow = 0; ow < ow_n; ow++) dst[ow * st] += wv * g[ow];
                }
            }
            grad_filter[kh * k + kw] += dw;
        }
    if (grad_in) take_interior(grad_in, add, grad_padded, pw, s);
}

/* ---- the flat version (stride 1 and 2) ------------------------------------ */

/* Output (oh, ow) is position oh * row + ow of the flat positions, and tap (kh, kw)
 * reads a fixed offset further on in the padded buffer: every tap is one shifted run
 * over the `flat` positions (whole vectors; the ow >= out_w ones are discarded).
 * Stride 1: the buffer is the padded plane, rows of pw, tap offset kh * pw + kw.
 * Stride 2: the buffer holds the padded plane's four parity planes (even or odd rows
 * times even or odd columns), rows of `row` >= pw / 2, one after the other, `plane`
 * floats apart; padded (2 oh + kh, 2 ow + kw) is parity plane (kh % 2, kw % 2) at
 * (oh + kh / 2, ow + kw / 2), so that a tap is again one shifted run. The buffers
 * reach past the planes so that the last vector's taps stay inside. */
typedef gf_conv2d_depthwise_layout flat_layout;

/* offset[t]: in the padded buffer, parity * plane + the offset within the tap's
 * (parity) plane */
static flat_layout flat_layout_of(const gf_conv2d_shape *s) {
    flat_layout f;
    f.s = s;
    const int k = s->kernel, st = s->stride, shift = st - 1;
    const int reach = (k - 1) >> shift; /* the farthest tap's row (and column) shift */
    const size_t ph = (size_t)s->in_h + 2 * (size_t)s->padding;
    f.pw = s->in_w + 2 * s->padding;
    f.taps = k * k;
    f.parities = st * st;
    /* at stride 2, ceil(pw / 2) = out_w + reach columns: the input gradient's reads of
     * column c - kw / 2 < 0 wrap onto discarded columns (ow >= out_w) of the row before */
    f.row = (f.pw + st - 1) >> shift;
    f.positions = gf_size_round_up((size_t)s->out_h * (size_t)f.row, VL);
    f.plane = gf_size_round_up(((ph + (size_t)st - 1) >> shift) * (size_t)f.row, VL);
    const size_t farthest = (size_t)reach * f.row + (size_t)reach + 1;
    /* the last parity plane's last vector's farthest tap, and all planes */
    f.padded = gf_size_round_up((size_t)(f.parities - 1) * f.plane + f.positions + farthest, VL);
    if (f.padded < (size_t)f.parities * f.plane) f.padded = (size_t)f.parities * f.plane;
    f.front = gf_size_round_up(farthest, VL);
    if (f.taps > FLAT_MAX_TAPS) return f;
    if (st == 1) { /* as before the parity planes: no parity array */
        for (int t = 0; t < f.taps; t++) f.offset[t] = (size_t)(t / k) * f.pw + (size_t)(t % k);
        return f;
    }
    const int odd = st - 1;
    for (int kh = 0, t = 0; kh < k; kh++)
        for (int kw = 0; kw < k; kw++, t++) {
            f.parity[t] = (unsigned char)((kh & odd) * st + (kw & odd));
            f.offset[t] = (size_t)f.parity[t] * f.plane + (size_t)(kh >> shift) * f.row +
                          (size_t)(kw >> shift);
        }
    return f;
}

/* the output gradient's buffer: front zeros, the flat positions, zeros up to the
 * plane's end (read by the input gradient's taps) */
static size_t gradient_floats(const flat_layout *f) {
    return f->front + (f->positions > f->plane ? f->positions : f->plane) + VL;
}

static bool flat_applies(const gf_conv2d_shape *s) {
    /* at stride 2, outputs under 4 wide gain nothing over the plain version (once its
     * scratch was prepared per thread rather than per plane, 4x4 outputs of 8x8
     * planes did: bench_kernels) */
    return (s->stride == 1 || (s->stride == 2 && s->out_w >= 4)) &&
           s->kernel * s->kernel <= FLAT_MAX_TAPS;
}

size_t gf_conv2d_depthwise_scratch_floats(const gf_conv2d_shape *s) {
    size_t plain = gf_size_mul(2, padded_plane_floats(s));
    if (!flat_applies(s)) return plain;
    const flat_layout f = flat_layout_of(s);
    /* and the mapped input plane (flat_pad) */
    size_t flat = gf_size_add(gf_size_add(f.padded, gradient_floats(&f)),
                              gf_size_mul((size_t)f.parities, f.plane));
    flat = gf_size_add(flat, gf_size_mul((size_t)s->in_h, (size_t)s->in_w));
    return plain > flat ? plain : flat;
}

/* the even or odd padded columns of a row of in_w floats: dst[j] = padded column
 * 2 j + parity of the row, a float at a time (the rows pairs_in_vectors leaves) */
static inline __attribute__((always_inline)) void split_row(float *restrict even,
                                                            float *restrict odd,
                                                            const float *restrict src, int in_w,
                                                            int pad) {
    /* input column iw is padded column iw + pad */
    const int first_even = pad % 2, first_odd = 1 - pad % 2;
    float *e = even + (first_even + pad) / 2, *o = odd + (first_odd + pad) / 2;
    for (int j = 0; j < (in_w - first_even + 1) / 2; j++) e[j] = src[first_even + 2 * j];
    for (int j = 0; j < (in_w - first_odd + 1) / 2; j++) o[j] = src[first_odd + 2 * j];
}

/* whether row ih of the input goes through vectors (nn/interleave.h), reading and
 * writing whole ones: 8 to 32 wide, the parity planes' rows at least 9 long, so that a
 * vector reaches at most into the next row of its parity plane; not the input's
 * last row, nor one whose parity plane has no row after it */
static bool pairs_in_vectors(const flat_layout *f, const gf_conv2d_shape *s, int ih) {
    const int y = ih + s->padding, plane_rows = (s->in_h + 2 * s->padding + 1) / 2;
    return gf_pairs_fit(s->in_w) && f->row > GF_VL / 2 &&
           ih + 1 < s->in_h && y / 2 + 1 < plane_rows;
}

/* the input plane into its parity planes in the padded buffer (stride 2), whose
 * padding is zero already (a vector's lanes past a row write zeros: over padding,
 * or the next row, written later) */
GF_VECTOR_CLONES static void split_parity_planes(float *padded, const float *in,
                                                 const flat_layout *f, const gf_conv2d_shape *s) {
    const int pad = s->padding, w = s->in_w;
    for (int ih = 0; ih < s->in_h; ih++) {
        const int y = ih + pad;
        float *even = padded + (size_t)(y % 2 * 2) * f->plane + (size_t)(y / 2) * f->row;
        const float *x = in + (size_t)ih * w;
        if (w == 8) {
            gf_split_eight(x, even + (size_t)(pad % 2) * f->plane + pad / 2,
                           even + (size_t)(1 - pad % 2) * f->plane + (pad + 1) / 2);
            continue;
        }
        if (!pairs_in_vectors(f, s, ih)) {
            split_row(even, even + f->plane, x, w, pad);
            continue;
        }
        /* input column iw is padded column iw + pad: column parity (iw + pad) % 2, at
         * (iw + pad) / 2 */
        gf_vec even_columns, odd_columns;
        gf_vec_split_pairs(x, w, &even_columns, &odd_columns);
        GF_VEC_STORE(even + (size_t)(pad % 2) * f->plane + pad / 2, even_columns);
        GF_VEC_STORE(even + (size_t)(1 - pad % 2) * f->plane + (pad + 1) / 2, odd_columns);
    }
}

/* grad_in (one plane) = or += (`add`) the interior of the input gradient summed on
 * the parity planes (stride 2) */
GF_VECTOR_CLONES static void join_parity_planes(float *grad_in, bool add,
                                                const float *grad_padded, const flat_layout *f,
                                                const gf_conv2d_shape *s) {
    const int pad = s->padding, first_even = pad % 2, first_odd = 1 - pad % 2;
    for (int ih = 0; ih < s->in_h; ih++) {
        const int y = ih + pad;
        float *restrict dst = grad_in + (size_t)ih * s->in_w;
        const float *even = grad_padded + (size_t)(y % 2 * 2) * f->plane + (size_t)(y / 2) * f->row;
        const float *restrict e = even + (first_even + pad) / 2;
        const float *restrict o = even + f->plane + (first_odd + pad) / 2;
        if (s->in_w == 8) {
            if (first_even == 0)
                gf_join_eight(dst, e, o, add);
            else
                gf_join_eight(dst, o, e, add);
            continue;
        }
        if (pairs_in_vectors(f, s, ih)) {
            gf_vec from_even, from_odd; /* the even and the odd padded columns */
            GF_VEC_LOAD(from_even, e);
            GF_VEC_LOAD(from_odd, o);
            if (first_even == 0)
                gf_vec_join_pairs(dst, s->in_w, from_even, from_odd, add);
            else
                gf_vec_join_pairs(dst, s->in_w, from_odd, from_even, add);
            continue;
        }
        const int evens = (s->in_w - first_even + 1) / 2, odds = (s->in_w - first_odd + 1) / 2;
        if (add) {
            for (int j = 0; j < evens; j++) dst[first_even + 2 * j] += e[j];
            for (int j = 0; j < odds; j++) dst[first_odd + 2 * j] += o[j];
        } else {
            for (int j = 0; j < evens; j++) dst[first_even + 2 * j] = e[j];
            for (int j = 0; j < odds; j++) dst[first_odd + 2 * j] = o[j];
        }
    }
}

#if defined(__GNUC__) && !defined(__clang__)
#define NO_COPY_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_COPY_CALLS
#endif

/* rows x width floats from src (rows src_stride apart) into dst (dst_stride apart),
 * stored or added (`add`): whole vectors, then runs of 4 and single floats. One call
 * per plane, compiled per instruction set: a call per row of 16-byte copies cost
 * twice the taps' products. (GCC would turn the tail loops into calls of memmove,
 * which for rows of 4 to 8 floats cost more than the copy.) */
GF_VECTOR_CLONES NO_COPY_CALLS static void copy_rows(float *restrict dst, size_t dst_stride,
                                                   const float *restrict src,
                                                   size_t src_stride, int rows, int width,
                                                   bool add) {
    for (int r = 0; r < rows; r++, dst += dst_stride, src += src_stride) {
        int j = 0;
        for (; j + VL <= width; j += VL) {
            gf_vec v, d;
            GF_VEC_LOAD(v, src + j);
            if (add) {
                GF_VEC_LOAD(d, dst + j);
                v += d;
            }
            GF_VEC_STORE(dst + j, v);
        }
        if (add) {
            for (; j < width; j++) dst[j] += src[j];
            continue;
        }
        for (; j + 4 <= width; j += 4) memcpy(dst + j, src + j, 4 * sizeof(float));
        for (; j < width; j++) dst[j] = src[j];
    }
}

/* the input plane (of channel c, through the layout's input map if any: first into
 * its own buffer at the scratch's end) into the padded buffer, whose padding is zero
 * already: the padded plane's interior (stride 1) or the parity planes (stride 2) */
static void flat_pad(float *padded, const float *in, int c, const flat_layout *f,
                     const gf_conv2d_shape *s) {
    if (f->input_map) {
        float *mapped = padded + f->padded + gradient_floats(f) + (size_t)f->parities * f->plane;
        gf_channel_map_plane(mapped, in, (size_t)s->in_h * (size_t)s->in_w, f->input_map, c);
        in = mapped;
    }
    if (f->parities > 1) {
        split_parity_planes(padded, in, f, s);
        return;
    }
    const int pad = s->padding;
    copy_rows(padded + (size_t)pad * f->pw + pad, (size_t)f->pw, in, (size_t)s->in_w, s->in_h,
              s->in_w, false);
}

/* grad_in (one plane) = or += (`add`) the interior of the input gradient summed on
 * the padded buffer's layout */
static void flat_take_interior(float *grad_in, bool add, const float *grad_padded,
                               const flat_layout *f, const gf_conv2d_shape *s) {
    if (f->parities > 1) {
        join_parity_planes(grad_in, add, grad_padded, f, s);
        return;
    }
    const int pad = s->padding;
    copy_rows(grad_in, (size_t)s->in_w, grad_padded + (size_t)pad * f->pw + pad, (size_t)f->pw,
              s->in_h, s->in_w, add);
}

/* The flat passes' tap loops are written once, for a tap count given as a constant
 * where it is 9 (3x3 filters, all of MobileNetV2's depthwise layers): unrolled, they
 * keep the filter, the offsets and the filter gradient's sums in registers, where
 * the loops over a count read at run time reloaded them for every vector (the
 * filter gradient's sums went through memory, a store and a load per tap). */
#define INLINE static inline __attribute__((always_inline))
enum { TAPS_3X3 = 9, UNROLLED_MIN_POSITIONS = 16 * VL, UNROLLED_SUMS_MIN_POSITIONS = 4 * VL };

/* whether a plane's forward and input gradient take the unrolled 3x3 loops: on planes
 * of fewer positions (8x8 outputs and less) they measured no faster, or slower
 * (bench_kernels) */
static bool unrolled_3x3(const flat_layout *f) {
    return f->taps == TAPS_3X3 && f->positions >= UNROLLED_MIN_POSITIONS;
}

/* whether its filter gradient does: down to 8x8 outputs, 4% faster there (its sums
 * stay in registers); on 4x4 ones, two vectors a plane, 3% slower */
static bool unrolled_sums_3x3(const flat_layout *f) {
    return f->taps == TAPS_3X3 && f->positions >= UNROLLED_SUMS_MIN_POSITIONS;
}

/* out = bias + the taps' products at `rows` runs of `run` positions, the padded
 * layout's runs in_row apart and out's out_row apart: all flat positions as one run
 * (rows 1), or each output row a run of whole vectors straight into the plane */
INLINE void flat_forward_taps(float *restrict out, const float *restrict padded,
                              const float *filter, float bias, const flat_layout *f, int taps,
                              size_t rows, size_t run, size_t in_row, size_t out_row) {
    for (size_t r = 0; r < rows; r++, padded += in_row, out += out_row)
        for (size_t p = 0; p < run; p += VL) {
            gf_vec acc = (gf_vec){0} + bias;
            for (int t = 0; t < taps; t++) {
                gf_vec x;
                GF_VEC_LOAD(x, padded + p + f->offset[t]);
                acc += filter[t] * x;
            }
            GF_VEC_STORE(out + p, acc);
        }
}

/* the flat positions, or, for outputs of whole vectors' width (`rows_direct`), the
 * output plane itself */
GF_VECTOR_CLONES static void flat_forward(float *restrict out, const float *restrict padded,
                                          const float *filter, float bias,
                                          const flat_layout *f, bool rows_direct) {
    const gf_conv2d_shape *s = f->s;
    const size_t rows = rows_direct ? (size_t)s->out_h : 1;
    const size_t run = rows_direct ? (size_t)s->out_w : f->positions;
    const size_t in_row = rows_direct ? (size_t)f->row : 0, out_row = rows_direct ? run : 0;
    if (unrolled_3x3(f))
        flat_forward_taps(out, padded, filter, bias, f, TAPS_3X3, rows, run, in_row, out_row);
    else
        flat_forward_taps(out, padded, filter, bias, f, f->taps, rows, run, in_row, out_row);
}

bool gf_conv2d_depthwise_maps_input(const gf_conv2d_shape *s) { return flat_applies(s); }

void gf_conv2d_depthwise_prepare(gf_conv2d_depthwise_layout *layout, const gf_conv2d_shape *s,
                                 float *scratch) {
    if (!flat_applies(s)) {
        layout->s = s;
        layout->flat = false;
        layout->input_map = NULL;
        return;
    }
    *layout = flat_layout_of(s);
    layout->flat = true;
    layout->input_map = NULL;
    memset(scratch, 0, sizeof(float) * gf_conv2d_depthwise_scratch_floats(s));
}

void gf_conv2d_depthwise_forward_plane(float *out, const float *in, int channel,
                                       const float *filter, float bias,
                                       const gf_conv2d_depthwise_layout *layout, float *scratch) {
    const gf_conv2d_shape *s = layout->s;
    if (!layout->flat) {
        gf_conv2d_depthwise_forward_plane_plain(out, in, filter, bias, s, scratch);
        return;
    }
    /* the outputs where the backward sums the input gradient: both are rewritten
     * whole for every plane, so that forwards and backwards may share a scratch */
    float *padded = scratch, *flat = scratch + layout->padded + gradient_floats(layout);
    flat_pad(padded, in, channel, layout, s);
    if (s->out_w % VL == 0) { /* no discarded positions: no copy */
        flat_forward(out, padded, filter, bias, layout, true);
        return;
    }
    flat_forward(flat, padded, filter, bias, layout, false);
    copy_rows(out, (size_t)s->out_w, flat, (size_t)layout->row, s->out_h, s->out_w, false);
}

/* sums[t] (VL partial sums) += g * padded shifted by tap t, over the positions */
INLINE void flat_filter_gradient_taps(float *restrict sums, const float *restrict g,
                                      const float *restrict padded, const flat_layout *f,
                                      int taps) {
    gf_vec acc[FLAT_MAX_TAPS];
    for (int t = 0; t < taps; t++) acc[t] = (gf_vec){0};
    for (size_t p = 0; p < f->positions; p += VL) {
        gf_vec gv;
        GF_VEC_LOAD(gv, g + p);
        for (int t = 0; t < taps; t++) {
            gf_vec x;
            GF_VEC_LOAD(x, padded + p + f->offset[t]);
            acc[t] += gv * x;
        }
    }
    for (int t = 0; t < taps; t++) {
        gf_vec sum;
        GF_VEC_LOAD(sum, sums + (size_t)t * VL);
        GF_VEC_STORE(sums + (size_t)t * VL, sum + acc[t]);
    }
}

GF_VECTOR_CLONES static void flat_filter_gradient(float *restrict sums, const float *restrict g,
                                               const float *restrict padded,
                                               const flat_layout *f) {
    if (unrolled_sums_3x3(f))
        flat_filter_gradient_taps(sums, g, padded, f, TAPS_3X3);
    else
        flat_filter_gradient_taps(sums, g, padded, f, f->taps);
}

/* grad_padded[q] of (parity) plane `parity` = sum over that plane's taps of
 * filter[t] * g[q - local offset t]: the output positions whose tap t reads position
 * q, gathered (adding into overlapping vectors tap after tap would stall on every
 * store); g has `front` zeros before it */
INLINE void flat_input_gradient_taps(float *restrict grad_padded, const float *restrict g,
                                     const float *w, const size_t *local, const flat_layout *f,
                                     int taps) {
    for (size_t q = 0; q < f->plane; q += VL) {
        gf_vec acc = (gf_vec){0};
        for (int t = 0; t < taps; t++) {
            gf_vec x;
            GF_VEC_LOAD(x, g + q - local[t]);
            acc += w[t] * x;
        }
        GF_VEC_STORE(grad_padded + q, acc);
    }
}

GF_VECTOR_CLONES static void flat_input_gradient(float *restrict grad_padded, const float *restrict g,
                                              const float *filter, const flat_layout *f,
                                              int parity) {
    /* stride 1: every tap, at its offset; stride 2: the taps of this parity plane */
    float weight[FLAT_MAX_TAPS];
    size_t own[FLAT_MAX_TAPS];
    const float *w = filter;
    const size_t *local = f->offset;
    int taps = f->taps;
    if (f->parities > 1) {
        taps = 0;
        for (int t = 0; t < f->taps; t++)
            if (f->parity[t] == parity) {
                weight[taps] = filter[t];
                own[taps++] = f->offset[t] - (size_t)parity * f->plane;
            }
        w = weight;
        local = own;
    }
    if (taps == TAPS_3X3 && unrolled_3x3(f))
        flat_input_gradient_taps(grad_padded, g, w, local, f, TAPS_3X3);
    else
        flat_input_gradient_taps(grad_padded, g, w, local, f, taps);
}

size_t gf_conv2d_depthwise_filter_sums_floats(const gf_conv2d_shape *s) {
    const size_t taps = (size_t)s->kernel * (size_t)s->kernel;
    return flat_applies(s) ? taps * VL : taps;
}

void gf_conv2d_depthwise_take_filter_sums(float *grad_filter, const float *filter_sums,
                                          const gf_conv2d_depthwise_layout *layout) {
    const int taps = layout->s->kernel * layout->s->kernel;
    for (int t = 0; t < taps; t++) {
        if (!layout->flat) {
            grad_filter[t] += filter_sums[t];
            continue;
        }
        float sum = 0.0f;
        for (int l = 0; l < VL; l++) sum += filter_sums[(size_t)t * VL + (size_t)l];
        grad_filter[t] += sum;
    }
}

void gf_conv2d_depthwise_backward_plane(float *grad_in, bool add, float *filter_sums,
                                        const float *grad_out, const float *in, int channel,
                                        const float *filter,
                                        const gf_conv2d_depthwise_layout *layout, float *scratch) {
    const gf_conv2d_shape *s = layout->s;
    if (!layout->flat) {
        gf_conv2d_depthwise_backward_plane_plain(grad_in, add, filter_sums, grad_out, in, filter,
                                                 s, scratch);
        return;
    }
    const flat_layout *f = layout;
    float *padded = scratch, *g = scratch + f->padded + f->front;
    float *grad_padded = scratch + f->padded + gradient_floats(f);
    /* the output gradient on the flat positions (zero at the discarded ones, which
     * no plane writes) */
    copy_rows(g, (size_t)f->row, grad_out, (size_t)s->out_w, s->out_h, s->out_w, false);
    flat_pad(padded, in, channel, f, s);
    flat_filter_gradient(filter_sums, g, padded, f);
    if (!grad_in) return;
    for (int parity = 0; parity < f->parities; parity++)
        flat_input_gradient(grad_padded + (size_t)parity * f->plane, g, filter, f, parity);
    flat_take_interior(grad_in, add, grad_padded, f, s);
}
