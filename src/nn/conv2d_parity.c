/* Stride-2 3x3 convolutions on parity planes; see conv2d_parity.h for the layout.
 * Splitting, joining and extracting planes are compiled per instruction set
 * (nn/vector_clones.h): their interleaving loops then use the widest shuffles. */
#include "nn/conv2d_parity.h"

#include <string.h>

#include "core/gemm.h"
#include "core/size.h"
#include "nn/vector_clones.h"

/* Kernel row (column) k reads the input rows (columns) of parity parity_of[k] (0 even,
 * 1 odd), shifted by shift_of[k] rows (columns) of the grid. */
static const int parity_of[3] = {1, 0, 1};
static const int shift_of[3] = {-1, 0, 0};
enum { PLANES = 4 }; /* parity plane p = row parity * 2 + column parity */

/* Layout of one grid plane for a chunk of `images` images. Position 0 of the
 * computed range is image 0's first value, `origin` floats into the plane: one row
 * and one float before it, what the shift by -1 row and -1 column reads. Image i's
 * row r, column x is position (i * image_rows + r) * row + x; the input gradient
 * reads up to a row and a float past the last position. */
typedef struct grid {
    int row, image_rows, images;
    size_t origin, length, plane; /* length: computed positions */
} grid;

static size_t round_to_line(size_t floats) { return gf_size_round_up(floats, 16); }

static grid grid_of(const gf_conv2d_shape *s, int images) {
    grid g;
    g.row = s->out_w + 1;
    g.image_rows = s->out_h + 1;
    g.images = images;
    g.origin = (size_t)g.row + 1;
    g.length = gf_size_mul((size_t)images * g.image_rows - 1, (size_t)g.row);
    g.plane = round_to_line(gf_size_add(g.length, 2 * g.origin));
    return g;
}

bool gf_conv2d_parity_applies(const gf_conv2d_shape *s) {
    bool depthwise = s->groups == s->in_channels && s->groups == s->out_channels && s->groups > 1;
    return s->kernel == 3 && s->stride == 2 && s->padding == 1 && !depthwise;
}

/* rows of grid length one image needs in the largest buffer: its parity planes, or
 * the input gradient's four products, or the outputs */
static size_t channel_rows(const gf_conv2d_shape *s) {
    const size_t four_in = (size_t)PLANES * s->in_channels;
    return four_in > (size_t)s->out_channels ? four_in : (size_t)s->out_channels;
}

int gf_conv2d_parity_chunk(const gf_conv2d_shape *s) {
    grid one = grid_of(s, 1);
    size_t per_image = gf_size_mul(channel_rows(s), one.length + (size_t)one.row);
    size_t chunk = ((size_t)1 << 16) / (per_image ? per_image : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > (size_t)s->batch) chunk = (size_t)s->batch;
    return (int)chunk;
}

/* [parity planes: in_channels x 4 planes][output gradient: out_channels planes]
 * [products: one group's outputs, or its four input-gradient products][the
 * weight-gradient product's scratch] */
typedef struct chunk_buffers {
    float *input, *grad, *products, *nt;
} chunk_buffers;

static size_t product_floats(const gf_conv2d_shape *s, const grid *g) {
    const size_t cin_g = (size_t)(s->in_channels / s->groups);
    const size_t cout_g = (size_t)(s->out_channels / s->groups);
    const size_t rows = PLANES * cin_g > cout_g ? PLANES * cin_g : cout_g;
    return round_to_line(gf_size_mul(rows, g->length));
}

static chunk_buffers buffers_of(const gf_conv2d_images *a, const grid *g) {
    const gf_conv2d_shape *s = a->s;
    chunk_buffers b;
    b.input = a->scratch;
    b.grad = b.input + (size_t)PLANES * s->in_channels * g->plane;
    b.products = b.grad + (size_t)s->out_channels * g->plane;
    b.nt = b.products + product_floats(s, g);
    return b;
}

size_t gf_conv2d_parity_scratch_floats(const gf_conv2d_shape *s) {
    grid g = grid_of(s, gf_conv2d_parity_chunk(s));
    size_t planes = gf_size_add(gf_size_mul(PLANES, (size_t)s->in_channels), (size_t)s->out_channels);
    size_t floats = gf_size_add(gf_size_mul(planes, g.plane), product_floats(s, &g));
    return gf_size_add(floats, gf_gemm_nt_scratch_floats((int)g.length));
}

size_t gf_conv2d_parity_row_count(const gf_conv2d_shape *s) {
    const size_t cin_g = (size_t)(s->in_channels / s->groups);
    const size_t cout_g = (size_t)(s->out_channels / s->groups);
    const size_t weight_gradient = cout_g + 9 * cin_g, input_gradient = PLANES * cout_g;
    return weight_gradient > input_gradient ? weight_gradient : input_gradient;
}

/* taps of a row (column) parity: 1 for even, 2 for odd */
static int taps_of(int parity) { return parity ? 2 : 1; }

static int plane_taps(int p) { return taps_of(p / 2) * taps_of(p % 2); }

/* floats of the packed transposed weights of one group's parity planes before plane
 * p (p = PLANES: all four) */
static size_t transposed_offset(const gf_conv2d_shape *s, int p) {
    const int cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    size_t floats = 0;
    for (int q = 0; q < p; q++)
        floats = gf_size_add(floats, gf_gemm_packed_a_floats(cin_g, cout_g * plane_taps(q)));
    return floats;
}

static size_t unpacked_floats(const gf_conv2d_shape *s) {
    return gf_size_mul(gf_size_mul((size_t)(s->in_channels / s->groups),
                                   (size_t)(s->out_channels / s->groups)),
                       (size_t)plane_taps(PLANES - 1));
}

size_t gf_conv2d_parity_transposed_floats(const gf_conv2d_shape *s) {
    return gf_size_add(gf_size_mul((size_t)s->groups, transposed_offset(s, PLANES)),
                       unpacked_floats(s));
}

void gf_conv2d_parity_pack_transposed(float *shared, const float *weight,
                                      const gf_conv2d_shape *s) {
    const int cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    const size_t group_floats = transposed_offset(s, PLANES);
    float *unpacked = shared + (size_t)s->groups * group_floats;
    for (int gr = 0; gr < s->groups; gr++) {
        const float *w = weight + (size_t)gr * cout_g * cin_g * 9;
        for (int p = 0; p < PLANES; p++) {
            const int taps = plane_taps(p), k = cout_g * taps;
            for (int c = 0; c < cin_g; c++)
                for (int o = 0; o < cout_g; o++) {
                    int t = 0;
                    for (int kh = 0; kh < 3; kh++)
                        for (int kw = 0; kw < 3; kw++)
                            if (parity_of[kh] == p / 2 && parity_of[kw] == p % 2)
                                unpacked[(size_t)c * k + (size_t)o * taps + t++] =
                                    w[((size_t)o * cin_g + c) * 9 + (size_t)kh * 3 + kw];
                }
            gf_gemm_pack_a(shared + (size_t)gr * group_floats + transposed_offset(s, p), unpacked,
                           k, false, cin_g, k);
        }
    }
}

/* Splits images first .. first + images - 1 of a [N, channels, H, W] tensor into the
 * parity planes ([channels][4][plane]); zeroes them first when asked to. Values past
 * the input's edge (an odd row or column plane of an odd size) are never written. */
GF_VECTOR_CLONES static void split_planes(float *planes, const float *tensor, int channels,
                                          const grid *g, const gf_conv2d_shape *s, int first,
                                          bool zero) {
    if (zero) memset(planes, 0, sizeof(float) * g->plane * PLANES * (size_t)channels);
    const int h = s->in_h, w = s->in_w, pairs = w / 2;
    for (int i = 0; i < g->images; i++)
        for (int c = 0; c < channels; c++) {
            const float *src = tensor + ((size_t)(first + i) * channels + c) * (size_t)h * w;
            float *channel = planes + (size_t)c * PLANES * g->plane + g->origin;
            for (int y = 0; y < h; y++) {
                const size_t at = ((size_t)i * g->image_rows + (size_t)(y / 2)) * g->row;
                float *restrict even = channel + (size_t)(y % 2) * 2 * g->plane + at;
                float *restrict odd = even + g->plane;
                const float *restrict x = src + (size_t)y * w;
                if (c + 1 < channels) /* the next channel's row: read next */
                    for (int f = 0; f < w; f += 16) __builtin_prefetch(x + (size_t)h * w + f);
                for (int j = 0; j < pairs; j++) {
                    even[j] = x[2 * j];
                    odd[j] = x[2 * j + 1];
                }
                if (w % 2) even[pairs] = x[w - 1];
            }
        }
}

/* Copies images first .. first + images - 1 of a [N, channels, out_h, out_w] tensor
 * into grid planes ([channels][plane]); zeroes them first when asked to. */
static void fill_grid(float *planes, const float *tensor, int channels, const grid *g,
                      const gf_conv2d_shape *s, int first, bool zero) {
    if (zero) memset(planes, 0, sizeof(float) * g->plane * (size_t)channels);
    const size_t image_plane = (size_t)s->out_h * s->out_w;
    for (int i = 0; i < g->images; i++)
        for (int c = 0; c < channels; c++) {
            const float *src = tensor + ((size_t)(first + i) * channels + c) * image_plane;
            float *dst = planes + (size_t)c * g->plane + g->origin +
                         (size_t)i * g->image_rows * g->row;
            for (int y = 0; y < s->out_h; y++)
                memcpy(dst + (size_t)y * g->row, src + (size_t)y * s->out_w,
                       sizeof(float) * (size_t)s->out_w);
        }
}

/* out[first + i][c0 + c] = the valid positions of products ([channels][length]) +
 * bias[c0 + c] (when given) */
GF_VECTOR_CLONES static void extract_outputs(float *out, const float *products, int c0,
                                             int channels, const grid *g,
                                             const gf_conv2d_shape *s, int first,
                                             const float *bias) {
    const size_t image_plane = (size_t)s->out_h * s->out_w;
    for (int i = 0; i < g->images; i++)
        for (int c = 0; c < channels; c++) {
            float *dst = out + ((size_t)(first + i) * s->out_channels + c0 + c) * image_plane;
            const float *src = products + (size_t)c * g->length + (size_t)i * g->image_rows * g->row;
            const float b = bias ? bias[c0 + c] : 0.0f;
            for (int y = 0; y < s->out_h; y++)
                for (int x = 0; x < s->out_w; x++)
                    dst[(size_t)y * s->out_w + x] = src[(size_t)y * g->row + x] + b;
        }
}

/* The inverse of split_planes for channels c0 .. c0 + channels - 1 of the input
 * gradient: stores or adds (`add`) the four products ([4][channels][length]). */
GF_VECTOR_CLONES static void join_planes(float *grad_in, bool add, const float *products,
                                         int c0, int channels, const grid *g,
                                         const gf_conv2d_shape *s, int first) {
    const int h = s->in_h, w = s->in_w, pairs = w / 2;
    const size_t matrix = (size_t)channels * g->length;
    for (int i = 0; i < g->images; i++)
        for (int c = 0; c < channels; c++) {
            float *dst = grad_in + ((size_t)(first + i) * s->in_channels + c0 + c) * (size_t)h * w;
            for (int y = 0; y < h; y++) {
                const size_t at = (size_t)c * g->length +
                                  ((size_t)i * g->image_rows + (size_t)(y / 2)) * g->row;
                const float *restrict even = products + (size_t)(y % 2) * 2 * matrix + at;
                const float *restrict odd = even + matrix;
                float *restrict x = dst + (size_t)y * w;
                if (add) {
                    for (int j = 0; j < pairs; j++) {
                        x[2 * j] += even[j];
                        x[2 * j + 1] += odd[j];
                    }
                    if (w % 2) x[w - 1] += even[pairs];
                } else {
                    for (int j = 0; j < pairs; j++) {
                        x[2 * j] = even[j];
                        x[2 * j + 1] = odd[j];
                    }
                    if (w % 2) x[w - 1] = even[pairs];
                }
            }
        }
}

/* rows[(c * 3 + kh) * 3 + kw] = channel c's tap (kh, kw): its parity plane shifted */
static void tap_rows(const float **rows, const float *planes, int channels, const grid *g) {
    for (int c = 0; c < channels; c++)
        for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++) {
                const float *plane = planes +
                                     ((size_t)c * PLANES + (size_t)parity_of[kh] * 2 +
                                      (size_t)parity_of[kw]) * g->plane;
                rows[(c * 3 + kh) * 3 + kw] =
                    plane + g->origin + (ptrdiff_t)shift_of[kh] * g->row + shift_of[kw];
            }
}

/* rows[o * taps + t] = the output gradient of channel o read for tap t of parity
 * plane p: shifted the other way */
static void gradient_rows(const float **rows, const float *grad_planes, int channels, int p,
                          const grid *g) {
    const int taps = plane_taps(p);
    for (int o = 0; o < channels; o++) {
        int t = 0;
        for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++)
                if (parity_of[kh] == p / 2 && parity_of[kw] == p % 2)
                    rows[o * taps + t++] = grad_planes + (size_t)o * g->plane + g->origin -
                                           (ptrdiff_t)shift_of[kh] * g->row - shift_of[kw];
    }
}

static void forward_chunk(const gf_conv2d_images *a, const gf_conv2d_chunk *ch, float *out,
                          const float *in, const float *packed, const float *bias) {
    const gf_conv2d_shape *s = a->s;
    const grid g = grid_of(s, ch->images);
    const chunk_buffers b = buffers_of(a, &g);
    const int cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    split_planes(b.input, in, s->in_channels, &g, s, ch->first, ch->fresh);
    for (int gr = 0; gr < s->groups; gr++) {
        tap_rows(a->rows, b.input + (size_t)gr * cin_g * PLANES * g.plane, cin_g, &g);
        gf_gemm_nn(b.products, (int)g.length,
                   packed + (size_t)gr * gf_gemm_packed_a_floats(cout_g, cin_g * 9), a->rows,
                   cout_g, (int)g.length, cin_g * 9, false);
        extract_outputs(out, b.products, gr * cout_g, cout_g, &g, s, ch->first, bias);
    }
}

static void backward_chunk(const gf_conv2d_images *a, const gf_conv2d_chunk *ch, float *grad_in,
                           gf_grad_write write, float *grad_weight, const float *grad_out,
                           const float *in, const float *packed_transposed) {
    const gf_conv2d_shape *s = a->s;
    const grid g = grid_of(s, ch->images);
    const chunk_buffers b = buffers_of(a, &g);
    const int cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    const float **grad_rows = a->rows, **rows = a->rows + cout_g;
    split_planes(b.input, in, s->in_channels, &g, s, ch->first, ch->fresh);
    fill_grid(b.grad, grad_out, s->out_channels, &g, s, ch->first, ch->fresh);
    for (int gr = 0; gr < s->groups; gr++) {
        const float *grad_planes = b.grad + (size_t)gr * cout_g * g.plane;
        /* dW[o][(c, kh, kw)] += sum over positions of dY[o] * tap; dY is zero at the
         * discarded positions, so they add nothing */
        for (int o = 0; o < cout_g; o++) grad_rows[o] = grad_planes + (size_t)o * g.plane + g.origin;
        tap_rows(rows, b.input + (size_t)gr * cin_g * PLANES * g.plane, cin_g, &g);
        gf_gemm_nt(grad_weight + (size_t)gr * cout_g * cin_g * 9, cin_g * 9, grad_rows, rows,
                   cout_g, cin_g * 9, (int)g.length, true, b.nt);
        if (!grad_in) continue;
        const float *packed = packed_transposed + (size_t)gr * transposed_offset(s, PLANES);
        for (int p = 0; p < PLANES; p++) {
            gradient_rows(a->rows, grad_planes, cout_g, p, &g);
            gf_gemm_nn(b.products + (size_t)p * cin_g * g.length, (int)g.length,
                       packed + transposed_offset(s, p), a->rows, cin_g, (int)g.length,
                       cout_g * plane_taps(p), false);
        }
        join_planes(grad_in, write == GF_GRAD_ADD, b.products, gr * cin_g, cin_g, &g, s,
                    ch->first);
    }
}

void gf_conv2d_parity_forward(const gf_conv2d_images *a, float *out, const float *in,
                              const float *packed, const float *bias) {
    for (int first = a->first; first < a->last; first += gf_conv2d_parity_chunk(a->s)) {
        const gf_conv2d_chunk ch = gf_conv2d_chunk_at(a, first, gf_conv2d_parity_chunk(a->s));
        forward_chunk(a, &ch, out, in, packed, bias);
    }
}

void gf_conv2d_parity_backward(const gf_conv2d_images *a, float *grad_in, gf_grad_write write,
                               float *grad_weight, const float *grad_out, const float *in,
                               const float *packed_transposed) {
    for (int first = a->first; first < a->last; first += gf_conv2d_parity_chunk(a->s)) {
        const gf_conv2d_chunk ch = gf_conv2d_chunk_at(a, first, gf_conv2d_parity_chunk(a->s));
        backward_chunk(a, &ch, grad_in, write, grad_weight, grad_out, in, packed_transposed);
    }
}
