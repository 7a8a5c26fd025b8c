/* Implicit matrix products on a zero-padded grid; see conv2d_grid.h for the layout. */
#include "nn/conv2d_grid.h"

#include <string.h>

#include "core/gemm.h"
#include "core/size.h"

/* Layout of one channel's grid for a chunk of `images` images. Index 0 of a plane is
 * `front` floats before the grid origin, so that the first row's left neighbours
 * (offset -pad) are inside the plane; the tail covers the largest shift read from
 * the last discarded positions. */
typedef struct grid {
    int pad, row, image_rows, images;
    size_t front, length, plane; /* length: computed positions (grid rows * row) */
} grid;

static size_t round_to_line(size_t floats) { return gf_size_round_up(floats, 16); }

static grid grid_of(const gf_conv2d_shape *s, int images) {
    grid g;
    g.pad = s->padding;
    g.row = s->in_w + g.pad;
    g.image_rows = s->in_h + g.pad;
    g.images = images;
    g.front = (size_t)g.pad;
    g.length = gf_size_mul((size_t)images, (size_t)g.image_rows * g.row);
    g.plane = round_to_line(gf_size_add(g.length, g.front + (size_t)2 * g.pad * g.row + g.pad));
    return g;
}

bool gf_conv2d_grid_applies(const gf_conv2d_shape *s) {
    bool depthwise = s->groups == s->in_channels && s->groups == s->out_channels && s->groups > 1;
    return s->stride == 1 && s->kernel > 1 && s->kernel % 2 == 1 &&
           s->padding == (s->kernel - 1) / 2 && !depthwise;
}

static int max_channels(const gf_conv2d_shape *s) {
    return s->in_channels > s->out_channels ? s->in_channels : s->out_channels;
}

int gf_conv2d_grid_chunk(const gf_conv2d_shape *s) {
    grid one = grid_of(s, 1);
    size_t per_image = gf_size_mul((size_t)max_channels(s), one.length);
    size_t chunk = ((size_t)1 << 16) / (per_image ? per_image : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > (size_t)s->batch) chunk = (size_t)s->batch;
    return (int)chunk;
}

/* [padded input: in_channels planes][padded output gradient: out_channels planes]
 * [outputs on the grid: max(in, out) channels x length][the weight-gradient
 * product's scratch] */
size_t gf_conv2d_grid_scratch_floats(const gf_conv2d_shape *s) {
    grid g = grid_of(s, gf_conv2d_grid_chunk(s));
    size_t floats = gf_size_mul((size_t)s->in_channels + (size_t)s->out_channels, g.plane);
    floats = gf_size_add(floats, round_to_line(gf_size_mul((size_t)max_channels(s), g.length)));
    return gf_size_add(floats, gf_gemm_nt_scratch_floats((int)g.length));
}

size_t gf_conv2d_grid_row_count(const gf_conv2d_shape *s) {
    int cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    return gf_size_mul((size_t)(cin_g > cout_g ? cin_g : cout_g),
                       (size_t)s->kernel * (size_t)s->kernel);
}

size_t gf_conv2d_grid_flipped_floats(const gf_conv2d_shape *s) {
    int cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    return gf_gemm_packed_a_floats(cin_g, cout_g * s->kernel * s->kernel);
}

size_t gf_conv2d_grid_flipped_scratch_floats(const gf_conv2d_shape *s) {
    return gf_size_mul(gf_size_mul((size_t)(s->in_channels / s->groups),
                                   (size_t)(s->out_channels / s->groups)),
                       (size_t)s->kernel * (size_t)s->kernel);
}

void gf_conv2d_grid_pack_flipped(float *packed, float *scratch, const float *weight,
                                 const gf_conv2d_shape *s) {
    const int k = s->kernel, kk = k * k;
    const int cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    for (int g = 0; g < s->groups; g++) {
        const float *w = weight + (size_t)g * cout_g * cin_g * kk;
        for (int c = 0; c < cin_g; c++)
            for (int o = 0; o < cout_g; o++)
                for (int t = 0; t < kk; t++) /* tap t = kh * k + kw, flipped: kk - 1 - t */
                    scratch[((size_t)c * cout_g + o) * kk + t] =
                        w[((size_t)o * cin_g + c) * kk + (kk - 1 - t)];
        gf_gemm_pack_a(packed + (size_t)g * gf_conv2d_grid_flipped_floats(s), scratch,
                       cout_g * kk, false, cin_g, cout_g * kk);
    }
}

/* Copies images first .. first + images - 1 of a [N, channels, H, W] tensor into
 * the interior of the grid planes; zeroes the planes first when asked to. */
static void fill_grid(float *planes, const float *tensor, int channels, const grid *g,
                      const gf_conv2d_shape *s, int first, bool zero) {
    if (zero) memset(planes, 0, sizeof(float) * g->plane * (size_t)channels);
    const size_t image_plane = (size_t)s->in_h * s->in_w;
    for (int i = 0; i < g->images; i++)
        for (int c = 0; c < channels; c++) {
            const float *src = tensor + ((size_t)(first + i) * channels + c) * image_plane;
            float *dst = planes + (size_t)c * g->plane + g->front +
                         ((size_t)g->pad + (size_t)i * g->image_rows) * g->row;
            for (int h = 0; h < s->in_h; h++)
                memcpy(dst + (size_t)h * g->row, src + (size_t)h * s->in_w,
                       sizeof(float) * (size_t)s->in_w);
        }
}

/* tensor[first + i][c] (=, or += when `add`) the valid positions of outputs on the
 * grid ([channels][length]), plus bias[c] when given, through `activation` (when
 * given, and not `add`). */
static void extract_grid(float *tensor, const float *outputs, int channels, const grid *g,
                         const gf_conv2d_shape *s, int first, const float *bias,
                         const gf_conv2d_activation *activation, bool add) {
    const size_t image_plane = (size_t)s->in_h * s->in_w;
    for (int i = 0; i < g->images; i++)
        for (int c = 0; c < channels; c++) {
            float *dst = tensor + ((size_t)(first + i) * channels + c) * image_plane;
            const float *src = outputs + (size_t)c * g->length +
                               (size_t)i * g->image_rows * g->row;
            const float b = bias ? bias[c] : 0.0f;
            for (int h = 0; h < s->in_h; h++) {
                float *d = dst + (size_t)h * s->in_w;
                const float *r = src + (size_t)h * g->row;
                if (add)
                    for (int w = 0; w < s->in_w; w++) d[w] += r[w];
                else
                    gf_conv2d_output_run(d, r, (size_t)s->in_w, b, activation);
            }
        }
}

/* rows[(c * k + kh) * k + kw] = channel c's plane shifted by (kh, kw) */
static void shifted_rows(const float **rows, const float *planes, int channels, const grid *g,
                         int k) {
    for (int c = 0; c < channels; c++)
        for (int kh = 0; kh < k; kh++)
            for (int kw = 0; kw < k; kw++)
                rows[(c * k + kh) * k + kw] = planes + (size_t)c * g->plane + g->front +
                                              (size_t)kh * g->row + kw - g->pad;
}

typedef struct chunk_buffers {
    float *input, *grad, *outputs, *product;
} chunk_buffers;

static chunk_buffers buffers_of(const gf_conv2d_images *a, const grid *g) {
    const gf_conv2d_shape *s = a->s;
    chunk_buffers b;
    b.input = a->scratch;
    b.grad = b.input + (size_t)s->in_channels * g->plane;
    b.outputs = b.grad + (size_t)s->out_channels * g->plane;
    b.product = b.outputs + round_to_line((size_t)max_channels(s) * g->length);
    return b;
}

static void forward_chunk(const gf_conv2d_images *a, const gf_conv2d_chunk *ch, float *out,
                          const float *in, const float *packed, const float *bias) {
    const gf_conv2d_shape *s = a->s;
    const grid g = grid_of(s, ch->images);
    const chunk_buffers b = buffers_of(a, &g);
    const int k = s->kernel, cin_g = s->in_channels / s->groups;
    const int cout_g = s->out_channels / s->groups;
    fill_grid(b.input, in, s->in_channels, &g, s, ch->first, ch->fresh);
    for (int gr = 0; gr < s->groups; gr++) {
        shifted_rows(a->rows, b.input + (size_t)gr * cin_g * g.plane, cin_g, &g, k);
        gf_gemm_nn(b.outputs + (size_t)gr * cout_g * g.length, (int)g.length,
                   packed + (size_t)gr * gf_gemm_packed_a_floats(cout_g, cin_g * k * k), a->rows,
                   cout_g, (int)g.length, cin_g * k * k, false);
    }
    extract_grid(out, b.outputs, s->out_channels, &g, s, ch->first, bias, a->activation, false);
}

static void backward_chunk(const gf_conv2d_images *a, const gf_conv2d_chunk *ch, float *grad_in,
                           gf_grad_write write, float *grad_weight, const float *grad_out,
                           const float *in, const float *packed_flipped) {
    const gf_conv2d_shape *s = a->s;
    const grid g = grid_of(s, ch->images);
    const chunk_buffers b = buffers_of(a, &g);
    const int k = s->kernel, kk = k * k, cin_g = s->in_channels / s->groups;
    const int cout_g = s->out_channels / s->groups;
    const float **rows = a->rows, **grad_rows = a->rows + gf_conv2d_grid_row_count(s);
    fill_grid(b.input, in, s->in_channels, &g, s, ch->first, ch->fresh);
    fill_grid(b.grad, grad_out, s->out_channels, &g, s, ch->first, ch->fresh);
    for (int gr = 0; gr < s->groups; gr++) {
        const float *grad_planes = b.grad + (size_t)gr * cout_g * g.plane;
        /* dW[o][(c, kh, kw)] += sum over positions of dY[o] * shifted input; dY is
         * zero at the discarded positions, so they add nothing */
        for (int o = 0; o < cout_g; o++)
            grad_rows[o] = grad_planes + (size_t)o * g.plane + g.front + (size_t)g.pad * g.row;
        shifted_rows(rows, b.input + (size_t)gr * cin_g * g.plane, cin_g, &g, k);
        gf_gemm_nt(grad_weight + (size_t)gr * cout_g * cin_g * kk, cin_g * kk, grad_rows, rows,
                   cout_g, cin_g * kk, (int)g.length, true, b.product);
        if (!grad_in) continue;
        shifted_rows(rows, grad_planes, cout_g, &g, k);
        gf_gemm_nn(b.outputs + (size_t)gr * cin_g * g.length, (int)g.length,
                   packed_flipped + (size_t)gr * gf_conv2d_grid_flipped_floats(s), rows, cin_g,
                   (int)g.length, cout_g * kk, false);
    }
    if (grad_in)
        extract_grid(grad_in, b.outputs, s->in_channels, &g, s, ch->first, NULL, NULL,
                     write == GF_GRAD_ADD);
}

void gf_conv2d_grid_forward(const gf_conv2d_images *a, float *out, const float *in,
                            const float *packed, const float *bias) {
    for (int first = a->first; first < a->last; first += gf_conv2d_grid_chunk(a->s)) {
        const gf_conv2d_chunk ch = gf_conv2d_chunk_at(a, first, gf_conv2d_grid_chunk(a->s));
        forward_chunk(a, &ch, out, in, packed, bias);
    }
}

void gf_conv2d_grid_backward(const gf_conv2d_images *a, float *grad_in, gf_grad_write write,
                             float *grad_weight, const float *grad_out, const float *in,
                             const float *packed_flipped) {
    for (int first = a->first; first < a->last; first += gf_conv2d_grid_chunk(a->s)) {
        const gf_conv2d_chunk ch = gf_conv2d_chunk_at(a, first, gf_conv2d_grid_chunk(a->s));
        backward_chunk(a, &ch, grad_in, write, grad_weight, grad_out, in, packed_flipped);
    }
}
