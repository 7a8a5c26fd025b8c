/* Stride-2 3x3 convolutions on parity planes; see conv2d_parity.h for the layout.
 * Splitting, joining and extracting planes are compiled per instruction set
 * (nn/vector_clones.h): their interleaving loops then use the widest shuffles. */
#include "nn/conv2d_parity.h"

#include <string.h>

#include "core/gemm.h"
#include "core/size.h"
#include "nn/interleave.h"
#include "nn/vector_clones.h"

/* Kernel row kh reads the input rows of parity row_parity_of[kh] (0 even, 1 odd)
 * shifted by row_shift_of[kh] grid rows; kernel column kw reads column plane
 * column_plane_of[kw]: the even columns (0), the odd ones (1), or the odd ones one
 * place to the right (2), the shift by a column done once in the split. */
static const int row_parity_of[3] = {1, 0, 1};
static const int row_shift_of[3] = {-1, 0, 0};
static const int column_plane_of[3] = {2, 0, 1};
enum { COLUMN_PLANES = 3, PLANES = 2 * COLUMN_PLANES }; /* row parity * 3 + column plane */

/* Layout of one grid plane for a chunk of `images` images. Position 0 of the
 * computed range is image 0's first value, `origin` floats into the plane: the zero
 * row before it, what the shift by -1 row reads. Image i's row r, column x is
 * position (i * image_rows + r) * row + x; the input gradient reads up to a row past
 * the last position. */
typedef struct grid {
    int row, image_rows, images;
    size_t origin, length, plane; /* length: computed positions */
} grid;

static size_t round_to_line(size_t floats) { return gf_size_round_up(floats, 16); }

static grid grid_of(const gf_conv2d_shape *s, int images) {
    grid g;
    g.row = s->out_w;
    g.image_rows = s->out_h + 1;
    g.images = images;
    g.origin = (size_t)g.row;
    g.length = gf_size_mul((size_t)images * g.image_rows - 1, (size_t)g.row);
    /* and a vector past the zero row after the last image, where the split's vectors
     * of its last rows reach */
    g.plane = round_to_line(gf_size_add(g.length, 2 * g.origin + GF_VL + 1));
    return g;
}

bool gf_conv2d_parity_applies(const gf_conv2d_shape *s) {
    bool depthwise = s->groups == s->in_channels && s->groups == s->out_channels && s->groups > 1;
    return s->kernel == 3 && s->stride == 2 && s->padding == 1 && !depthwise;
}

/* rows of grid length one image needs in the largest buffer: its parity planes, or
 * the input gradient's six products, or the outputs */
static size_t channel_rows(const gf_conv2d_shape *s) {
    const size_t planes = (size_t)PLANES * s->in_channels;
    return planes > (size_t)s->out_channels ? planes : (size_t)s->out_channels;
}

int gf_conv2d_parity_chunk(const gf_conv2d_shape *s) {
    grid one = grid_of(s, 1);
    size_t per_image = gf_size_mul(channel_rows(s), one.length + (size_t)one.row);
    size_t chunk = ((size_t)1 << 16) / (per_image ? per_image : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > (size_t)s->batch) chunk = (size_t)s->batch;
    return (int)chunk;
}

/* [parity planes: in_channels x 6 planes][output gradient: out_channels planes]
 * [products: one group's outputs, or its six input-gradient products][the
 * weight-gradient product's scratch] */
typedef struct chunk_buffers {
    float *input, *grad, *products, *nt;
} chunk_buffers;

static size_t product_floats(const gf_conv2d_shape *s, const grid *g) {
    const size_t cin_g = (size_t)(s->in_channels / s->groups);
    const size_t cout_g = (size_t)(s->out_channels / s->groups);
    const size_t rows = PLANES * cin_g > cout_g ? PLANES * cin_g : cout_g;
    /* and the vector join_row reads past the last row */
    return round_to_line(gf_size_add(gf_size_mul(rows, g->length), GF_VL + 1));
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
    const size_t weight_gradient = cout_g + 9 * cin_g, input_gradient = 2 * cout_g;
    return weight_gradient > input_gradient ? weight_gradient : input_gradient;
}

/* taps of plane p: the kernel rows of its row parity (1 even, 2 odd), one column */
static int plane_taps(int p) { return p / COLUMN_PLANES ? 2 : 1; }

/* whether tap (kh, kw) reads plane p */
static bool reads_plane(int kh, int kw, int p) {
    return row_parity_of[kh] == p / COLUMN_PLANES && column_plane_of[kw] == p % COLUMN_PLANES;
}

/* floats of the packed transposed weights of one group's parity planes before plane
 * p (p = PLANES: all six) */
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
                            if (reads_plane(kh, kw, p))
                                unpacked[(size_t)c * k + (size_t)o * taps + t++] =
                                    w[((size_t)o * cin_g + c) * 9 + (size_t)kh * 3 + kw];
                }
            gf_gemm_pack_a(shared + (size_t)gr * group_floats + transposed_offset(s, p), unpacked,
                           k, false, cin_g, k);
        }
    }
}

/* Splits images first .. first + images - 1 of a [N, channels, H, W] tensor into the
 * parity planes ([channels][6][plane]); zeroes them first when asked to. Values past
 * the input's edge (an odd row or column plane of an odd size, the first column of
 * the shifted odd columns) are only ever written zero. Rows 8 to 32 wide but a
 * plane's last go through vectors (nn/interleave.h), whose lanes past the row write
 * zeros into what comes after it in the grid: the rest of the row (past the edge),
 * the next rows (written later, or zero rows between images), the plane's end. */
GF_VECTOR_CLONES static void split_planes(float *planes, const float *tensor, int channels,
                                          const grid *g, const gf_conv2d_shape *s, int first,
                                          bool zero) {
    if (zero) memset(planes, 0, sizeof(float) * g->plane * PLANES * (size_t)channels);
    const int h = s->in_h, w = s->in_w, pairs = w / 2;
    const int shifted = pairs < g->row - 1 ? pairs : g->row - 1;
    const bool vectors = gf_pairs_fit(w);
    for (int i = 0; i < g->images; i++)
        for (int c = 0; c < channels; c++) {
            const float *src = tensor + ((size_t)(first + i) * channels + c) * (size_t)h * w;
            float *channel = planes + (size_t)c * PLANES * g->plane + g->origin;
            for (int y = 0; y < h; y++) {
                const size_t at = ((size_t)i * g->image_rows + (size_t)(y / 2)) * g->row;
                float *restrict even = channel + (size_t)(y % 2) * COLUMN_PLANES * g->plane + at;
                float *restrict odd = even + g->plane, *restrict odd_right = odd + g->plane + 1;
                const float *restrict x = src + (size_t)y * w;
                if (c + 1 < channels) /* the next channel's row: read next */
                    for (int f = 0; f < w; f += 16) __builtin_prefetch(x + (size_t)h * w + f);
                if (vectors && y + 1 < h) {
                    gf_vec even_columns, odd_columns;
                    gf_vec_split_pairs(x, w, &even_columns, &odd_columns);
                    GF_VEC_STORE(even, even_columns);
                    GF_VEC_STORE(odd, odd_columns);
                    GF_VEC_STORE(odd_right, GF_VEC_FIRST_LANES(odd_columns, shifted));
                    continue;
                }
                for (int j = 0; j < pairs; j++) {
                    even[j] = x[2 * j];
                    odd[j] = x[2 * j + 1];
                }
                for (int j = 0; j < shifted; j++) odd_right[j] = x[2 * j + 1];
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
            /* rows of out_w floats: an image is one run */
            memcpy(planes + (size_t)c * g->plane + g->origin + (size_t)i * g->image_rows * g->row,
                   src, sizeof(float) * image_plane);
        }
}

/* out[first + i][c0 + c] = the valid positions of products ([channels][length]) +
 * bias[c0 + c] (when given), through `activation` (when given) */
GF_VECTOR_CLONES static void extract_outputs(float *out, const float *products, int c0,
                                             int channels, const grid *g,
                                             const gf_conv2d_shape *s, int first,
                                             const float *bias,
                                             const gf_conv2d_activation *activation) {
    const size_t image_plane = (size_t)s->out_h * s->out_w;
    for (int i = 0; i < g->images; i++)
        for (int c = 0; c < channels; c++) {
            float *dst = out + ((size_t)(first + i) * s->out_channels + c0 + c) * image_plane;
            const float *src = products + (size_t)c * g->length + (size_t)i * g->image_rows * g->row;
            const float b = bias ? bias[c0 + c] : 0.0f;
            gf_conv2d_output_run(dst, src, image_plane, b, activation); /* one run */
        }
}

/* One input-gradient row x (w floats) = (or +=, `add`) its planes' values: the even
 * columns', the odd columns' plus the shifted odd columns' one place on. Rows 8 to 32
 * wide go through vectors (nn/interleave.h) unless `last`, the plane's last row,
 * past which they would reach. */
static inline __attribute__((always_inline)) void join_row(float *restrict x,
                                                           const float *restrict even,
                                                           const float *restrict odd,
                                                           const float *restrict odd_right,
                                                           int shifted, int w, bool add,
                                                           bool last) {
    const int pairs = w / 2;
    if (gf_pairs_fit(w) && !last) {
        gf_vec e, o, o_right;
        GF_VEC_LOAD(e, even);
        GF_VEC_LOAD(o, odd);
        GF_VEC_LOAD(o_right, odd_right);
        gf_vec_join_pairs(x, w, e, GF_VEC_BLEND_AT(o + o_right, o, shifted), add);
        return;
    }
    for (int j = 0; j < shifted; j++) {
        const float o = odd[j] + odd_right[j];
        x[2 * j] = add ? x[2 * j] + even[j] : even[j];
        x[2 * j + 1] = add ? x[2 * j + 1] + o : o;
    }
    for (int j = shifted; j < pairs; j++) { /* the last odd column has no right neighbour */
        x[2 * j] = add ? x[2 * j] + even[j] : even[j];
        x[2 * j + 1] = add ? x[2 * j + 1] + odd[j] : odd[j];
    }
    if (w % 2) x[w - 1] = add ? x[w - 1] + even[pairs] : even[pairs];
}

/* The inverse of split_planes for channels c0 .. c0 + channels - 1 of the input
 * gradient: stores or adds (`add`) the six products ([6][channels][length]). */
GF_VECTOR_CLONES static void join_planes(float *grad_in, bool add, const float *products,
                                         int c0, int channels, const grid *g,
                                         const gf_conv2d_shape *s, int first) {
    const int h = s->in_h, w = s->in_w, pairs = w / 2;
    const int shifted = pairs < g->row - 1 ? pairs : g->row - 1;
    const size_t matrix = (size_t)channels * g->length;
    for (int i = 0; i < g->images; i++)
        for (int c = 0; c < channels; c++) {
            float *dst = grad_in + ((size_t)(first + i) * s->in_channels + c0 + c) * (size_t)h * w;
            for (int y = 0; y < h; y++) {
                const size_t at = (size_t)c * g->length +
                                  ((size_t)i * g->image_rows + (size_t)(y / 2)) * g->row;
                const float *even = products + (size_t)(y % 2) * COLUMN_PLANES * matrix + at;
                const float *odd = even + matrix, *odd_right = odd + matrix + 1;
                if (add)
                    join_row(dst + (size_t)y * w, even, odd, odd_right, shifted, w, true,
                             y + 1 == h);
                else
                    join_row(dst + (size_t)y * w, even, odd, odd_right, shifted, w, false,
                             y + 1 == h);
            }
        }
}

/* rows[(c * 3 + kh) * 3 + kw] = channel c's tap (kh, kw): its parity plane shifted */
static void tap_rows(const float **rows, const float *planes, int channels, const grid *g) {
    for (int c = 0; c < channels; c++)
        for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++) {
                const size_t p = (size_t)row_parity_of[kh] * COLUMN_PLANES + column_plane_of[kw];
                rows[(c * 3 + kh) * 3 + kw] = planes + ((size_t)c * PLANES + p) * g->plane +
                                              g->origin + (ptrdiff_t)row_shift_of[kh] * g->row;
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
                if (reads_plane(kh, kw, p))
                    rows[o * taps + t++] = grad_planes + (size_t)o * g->plane + g->origin -
                                           (ptrdiff_t)row_shift_of[kh] * g->row;
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
        extract_outputs(out, b.products, gr * cout_g, cout_g, &g, s, ch->first, bias,
                        a->activation);
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
