/* Winograd F(2x2, 3x3); see conv2d_winograd.h. Tile (i, j) of an image covers
 * outputs rows 2i, 2i + 1 and columns 2j, 2j + 1, and reads input rows 2i - 1 ..
 * 2i + 2 and columns 2j - 1 .. 2j + 2: rows 2i .. 2i + 3 and columns 2j .. 2j + 3 of
 * a copy of the plane with one zero row and column before it and enough after it.
 * Transformed tiles are stored [xi][channel][tile], tiles of a chunk's images side
 * by side, so that each xi is a matrix product over channels with long rows. */
#include "nn/conv2d_winograd.h"

#include <string.h>

#include "core/gemm.h"
#include "core/size.h"
#include "nn/vector_clones.h"

enum { XI = 16, VL = GF_VL };



/* Tiles of a chunk in one matrix row: the target that sets the chunk's images,
 * about 256 KiB per buffer of transformed tiles ([16][channels][tiles] floats). */
enum { CHUNK_FLOATS = 16 * 4096 };

typedef struct geometry {
    int th, tw, tiles;  /* tile rows, tile columns, tiles per image */
    int span;           /* tw rounded up to whole vectors (VL floats) */
    int ph, pw;         /* the padded plane */
    int chunk;          /* images per chunk */
    size_t ld;          /* floats per row of a transformed-tile matrix */
} geometry;

/* Rows and matrices an odd number of cache lines apart: the transforms write 16
 * matrices at once and the products read many rows, which at power-of-two distances
 * would all fall into the same few sets of the L1 cache. */
static size_t odd_lines(size_t floats) {
    size_t lines = (floats + 15) / 16;
    return (lines | 1) * 16;
}

static size_t round_to_line(size_t floats) { return gf_size_round_up(floats, 16); }

/* floats from one xi's matrix [channels][ld] to the next */
static size_t xi_stride(int channels, const geometry *g) {
    return odd_lines((size_t)channels * g->ld);
}

static int max_channels(const gf_conv2d_shape *s) {
    return s->in_channels > s->out_channels ? s->in_channels : s->out_channels;
}

static geometry geometry_of(const gf_conv2d_shape *s) {
    geometry g;
    g.th = (s->in_h + 1) / 2;
    g.tw = (s->in_w + 1) / 2;
    g.tiles = g.th * g.tw;
    g.span = (g.tw + VL - 1) / VL * VL;
    g.ph = 2 * g.th + 2;
    g.pw = 2 * g.tw + 2;
    size_t per_image = (size_t)XI * (size_t)max_channels(s) * (size_t)g.tiles;
    size_t chunk = CHUNK_FLOATS / per_image;
    if (chunk < 1) chunk = 1;
    if (chunk > (size_t)s->batch) chunk = (size_t)s->batch;
    g.chunk = (int)chunk;
    /* the transforms write whole vectors: up to VL - 1 floats past a tile row */
    g.ld = odd_lines((size_t)g.chunk * (size_t)g.tiles + VL);
    return g;
}

bool gf_conv2d_winograd_applies(const gf_conv2d_shape *s) {
    /* with fewer channels the 16 products are too short to gain from */
    return s->kernel == 3 && s->stride == 1 && s->padding == 1 && s->groups == 1 &&
           s->in_channels >= 8 && s->out_channels >= 8;
}

int gf_conv2d_winograd_chunk(const gf_conv2d_shape *s) { return geometry_of(s).chunk; }

size_t gf_conv2d_winograd_shared_floats(const gf_conv2d_shape *s) {
    size_t forward = gf_gemm_packed_a_floats(s->out_channels, s->in_channels);
    size_t backward = gf_gemm_packed_a_floats(s->in_channels, s->out_channels);
    size_t packed = gf_size_mul(XI, forward > backward ? forward : backward);
    return gf_size_add(round_to_line(packed),
                       gf_size_mul(XI, (size_t)s->in_channels * (size_t)s->out_channels));
}

/* [V: 16 x in x ld][products (M or dV): 16 x max(in, out) x ld][dM: 16 x out x ld]
 * [dU: 16 x out x in][gf_gemm_nt scratch][a padded plane's even and odd columns]
 * [rows of a tile row's outputs or output gradients][a tile row's input gradients] */
typedef struct buffers {
    float *v, *products, *dm, *du, *nt, *even, *odd, *row, *v_row;
} buffers;

/* a padded plane's even (or odd) columns: rows of `half` floats, whole vectors past
 * the last column read */
static int half_of(const geometry *g) { return g->span + VL; }

static size_t deinterleaved_floats(const geometry *g) {
    return round_to_line((size_t)g->ph * (size_t)half_of(g));
}

static buffers buffers_of(float *scratch, const gf_conv2d_shape *s, const geometry *g) {
    buffers b;
    const size_t in = (size_t)s->in_channels, out = (size_t)s->out_channels;
    b.v = scratch;
    b.products = b.v + XI * xi_stride((int)in, g);
    b.dm = b.products + XI * xi_stride(max_channels(s), g);
    b.du = b.dm + XI * xi_stride((int)out, g);
    b.nt = b.du + round_to_line(XI * out * in);
    b.even = b.nt + round_to_line(gf_gemm_nt_scratch_floats(g->chunk * g->tiles));
    b.odd = b.even + deinterleaved_floats(g);
    b.row = b.odd + deinterleaved_floats(g);
    b.v_row = b.row + round_to_line((size_t)4 * (size_t)g->span);
    return b;
}

size_t gf_conv2d_winograd_scratch_floats(const gf_conv2d_shape *s) {
    const geometry g = geometry_of(s);
    size_t floats = gf_size_mul(XI, gf_size_add(gf_size_add(xi_stride(s->in_channels, &g),
                                                            xi_stride(max_channels(s), &g)),
                                                xi_stride(s->out_channels, &g)));
    floats = gf_size_add(floats, round_to_line(gf_size_mul(XI, (size_t)s->in_channels *
                                                                   (size_t)s->out_channels)));
    floats = gf_size_add(floats, round_to_line(gf_gemm_nt_scratch_floats(g.chunk * g.tiles)));
    floats = gf_size_add(floats, 2 * deinterleaved_floats(&g));
    floats = gf_size_add(floats, round_to_line((size_t)4 * (size_t)g.span));
    return gf_size_add(floats, round_to_line((size_t)16 * (size_t)g.span));
}

size_t gf_conv2d_winograd_row_count(const gf_conv2d_shape *s) {
    return (size_t)s->in_channels + (size_t)s->out_channels;
}

/* G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] */
static const float G[4][3] = {{1.0f, 0.0f, 0.0f}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f},
                              {0.0f, 0.0f, 1.0f}};

void gf_conv2d_winograd_pack(float *shared, const float *weight, const gf_conv2d_shape *s,
                             bool transposed) {
    const int in = s->in_channels, out = s->out_channels;
    const size_t matrix = (size_t)in * (size_t)out;
    size_t forward = gf_gemm_packed_a_floats(out, in), backward = gf_gemm_packed_a_floats(in, out);
    float *unpacked = shared + round_to_line(XI * (forward > backward ? forward : backward));
    for (int k = 0; k < out; k++)
        for (int c = 0; c < in; c++) {
            const float *g = weight + ((size_t)k * in + c) * 9;
            float gg[4][3]; /* G g */
            for (int a = 0; a < 4; a++)
                for (int q = 0; q < 3; q++)
                    gg[a][q] = G[a][0] * g[q] + G[a][1] * g[3 + q] + G[a][2] * g[6 + q];
            for (int a = 0; a < 4; a++)
                for (int b = 0; b < 4; b++)
                    unpacked[(size_t)(a * 4 + b) * matrix + (size_t)k * in + c] =
                        gg[a][0] * G[b][0] + gg[a][1] * G[b][1] + gg[a][2] * G[b][2];
        }
    for (int xi = 0; xi < XI; xi++) {
        const float *u = unpacked + (size_t)xi * matrix;
        if (transposed)
            gf_gemm_pack_a(shared + (size_t)xi * backward, u, in, true, in, out);
        else
            gf_gemm_pack_a(shared + (size_t)xi * forward, u, in, false, out, in);
    }
}

/* The transforms below run over the tiles of one tile row in vectors (nn/vector_clones.h):
 * a padded plane is kept as its even and odd columns (`half` floats a row each), so
 * that column 2j + q of every tile j is a contiguous run. */

/* Plane (image n, channel c) of a [N, channels, H, W] tensor as the padded plane's
 * even and odd columns: input (y, x) is padded (y + 1, x + 1), all else zero. */
static void fill_plane(float *even, float *odd, const float *tensor, int n, int c, int channels,
                       const gf_conv2d_shape *s, const geometry *g) {
    const int half = half_of(g), w = s->in_w;
    const float *src = tensor + ((size_t)n * channels + c) * (size_t)s->in_h * w;
    memset(even, 0, sizeof(float) * (size_t)half);
    memset(odd, 0, sizeof(float) * (size_t)half);
    for (int row = 1; row < g->ph; row++) {
        float *e = even + (size_t)row * half, *o = odd + (size_t)row * half;
        if (row > s->in_h) {
            memset(e, 0, sizeof(float) * (size_t)half);
            memset(o, 0, sizeof(float) * (size_t)half);
            continue;
        }
        const float *x = src + (size_t)(row - 1) * w;
        int m = 0;
        e[0] = 0.0f;
        for (; 2 * m + 1 < w; m++) { /* o[m] = x[2m], e[m + 1] = x[2m + 1] */
            o[m] = x[2 * m];
            e[m + 1] = x[2 * m + 1];
        }
        if (2 * m < w) {
            o[m] = x[2 * m];
            m++;
        }
        for (int j = m; j < half; j++) o[j] = 0.0f;
        for (int j = w / 2 + 1; j < half; j++) e[j] = 0.0f;
    }
}

/* V[xi][tile] = (B^T d B)[xi] for one tile row (padded rows 2i .. 2i + 3, given by
 * their even and odd columns e[r], o[r]), B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0;
 * 0 1 0 -1]; dst[xi * stride + j]. */
GF_VECTOR_CLONES static void input_row(float *dst, size_t stride, const float *const e[4],
                                    const float *const o[4], int tw) {
    for (int j = 0; j < tw; j += VL) {
        /* d[r][q]: columns q = 0..3 of the tiles' row r are e[j], o[j], e[j+1], o[j+1] */
        gf_vec d[4][4], t[4][4];
        for (int r = 0; r < 4; r++) {
            GF_VEC_LOAD(d[r][0], e[r] + j);
            GF_VEC_LOAD(d[r][1], o[r] + j);
            GF_VEC_LOAD(d[r][2], e[r] + j + 1);
            GF_VEC_LOAD(d[r][3], o[r] + j + 1);
        }
        for (int q = 0; q < 4; q++) {
            t[0][q] = d[0][q] - d[2][q];
            t[1][q] = d[1][q] + d[2][q];
            t[2][q] = d[2][q] - d[1][q];
            t[3][q] = d[1][q] - d[3][q];
        }
        for (int a = 0; a < 4; a++) {
            GF_VEC_STORE(dst + (size_t)(a * 4 + 0) * stride + j, t[a][0] - t[a][2]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 1) * stride + j, t[a][1] + t[a][2]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 2) * stride + j, t[a][2] - t[a][1]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 3) * stride + j, t[a][1] - t[a][3]);
        }
    }
}

/* Transforms a chunk's input planes into V. */
static void transform_inputs(const buffers *b, const float *tensor, int first, int images,
                             const gf_conv2d_shape *s, const geometry *g) {
    const size_t stride = xi_stride(s->in_channels, g);
    const int half = half_of(g);
    for (int i = 0; i < images; i++)
        for (int c = 0; c < s->in_channels; c++) {
            fill_plane(b->even, b->odd, tensor, first + i, c, s->in_channels, s, g);
            float *v = b->v + (size_t)c * g->ld + (size_t)i * g->tiles;
            for (int ti = 0; ti < g->th; ti++) {
                const float *e[4], *o[4];
                for (int r = 0; r < 4; r++) {
                    e[r] = b->even + (size_t)(2 * ti + r) * half;
                    o[r] = b->odd + (size_t)(2 * ti + r) * half;
                }
                input_row(v + (size_t)ti * g->tw, stride, e, o, g->tw);
            }
        }
}

/* Y = A^T M A (+ bias) for one tile row, A^T = [1 1 1 0; 0 1 -1 -1]: output rows
 * 2i and 2i + 1 as even and odd columns (y[r] even, y[2 + r] odd). */
GF_VECTOR_CLONES static void output_row(float *const y[4], const float *m, size_t stride,
                                     float bias, int tw) {
    for (int j = 0; j < tw; j += VL) {
        gf_vec x[4][4], r0[4], r1[4];
        for (int a = 0; a < 4; a++)
            for (int q = 0; q < 4; q++) GF_VEC_LOAD(x[a][q], m + (size_t)(a * 4 + q) * stride + j);
        for (int q = 0; q < 4; q++) {
            r0[q] = x[0][q] + x[1][q] + x[2][q];
            r1[q] = x[1][q] - x[2][q] - x[3][q];
        }
        GF_VEC_STORE(y[0] + j, r0[0] + r0[1] + r0[2] + bias);
        GF_VEC_STORE(y[2] + j, r0[1] - r0[2] - r0[3] + bias);
        GF_VEC_STORE(y[1] + j, r1[0] + r1[1] + r1[2] + bias);
        GF_VEC_STORE(y[3] + j, r1[1] - r1[2] - r1[3] + bias);
    }
}

/* dst[x] = even[x / 2] for even x, odd[x / 2] for odd x (+= when `add`) */
static void interleave(float *restrict dst, const float *restrict even, const float *restrict odd,
                       int w, bool add) {
    int j = 0;
    if (add)
        for (; 2 * j + 1 < w; j++) {
            dst[2 * j] += even[j];
            dst[2 * j + 1] += odd[j];
        }
    else
        for (; 2 * j + 1 < w; j++) {
            dst[2 * j] = even[j];
            dst[2 * j + 1] = odd[j];
        }
    if (2 * j < w) dst[2 * j] = (add ? dst[2 * j] : 0.0f) + even[j];
}

/* Output plane of image n, channel k from M[xi][k][tiles of the image] (`m` at xi 0). */
static void output_transform(float *out, const float *m, size_t stride, float bias, float *row,
                             const gf_conv2d_shape *s, const geometry *g) {
    float *y[4] = {row, row + g->span, row + 2 * g->span, row + 3 * g->span};
    for (int i = 0; i < g->th; i++) {
        output_row(y, m + (size_t)i * g->tw, stride, bias, g->tw);
        for (int r = 0; r < 2 && 2 * i + r < s->in_h; r++)
            interleave(out + (size_t)(2 * i + r) * s->in_w, y[r], y[2 + r], s->in_w, false);
    }
}

/* dM[xi][tile] = (A dY A^T)[xi] for one tile row from output-gradient rows 2i, 2i + 1
 * given as even and odd columns (g[0], g[1] even; g[2], g[3] odd). */
GF_VECTOR_CLONES static void gradient_row(float *dst, size_t stride, const float *const gr[4],
                                       int tw) {
    for (int j = 0; j < tw; j += VL) {
        gf_vec h[4][2];
        gf_vec top[2], bottom[2];
        GF_VEC_LOAD(top[0], gr[0] + j);
        GF_VEC_LOAD(top[1], gr[2] + j);
        GF_VEC_LOAD(bottom[0], gr[1] + j);
        GF_VEC_LOAD(bottom[1], gr[3] + j);
        for (int q = 0; q < 2; q++) {
            h[0][q] = top[q];
            h[1][q] = top[q] + bottom[q];
            h[2][q] = top[q] - bottom[q];
            h[3][q] = -bottom[q];
        }
        for (int a = 0; a < 4; a++) {
            GF_VEC_STORE(dst + (size_t)(a * 4 + 0) * stride + j, h[a][0]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 1) * stride + j, h[a][0] + h[a][1]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 2) * stride + j, h[a][0] - h[a][1]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 3) * stride + j, -h[a][1]);
        }
    }
}

/* dM for output-gradient plane `grad` (H x W); `row` holds 4 * span floats. */
static void gradient_transform(float *dm, size_t stride, const float *grad, float *row,
                               const gf_conv2d_shape *s, const geometry *g) {
    float *gr[4] = {row, row + g->span, row + 2 * g->span, row + 3 * g->span};
    const int w = s->in_w;
    for (int i = 0; i < g->th; i++) {
        for (int r = 0; r < 2; r++) {
            float *e = gr[r], *o = gr[2 + r];
            memset(e, 0, sizeof(float) * (size_t)g->span);
            memset(o, 0, sizeof(float) * (size_t)g->span);
            if (2 * i + r >= s->in_h) continue;
            const float *x = grad + (size_t)(2 * i + r) * w;
            for (int j = 0; 2 * j < w; j++) e[j] = x[2 * j];
            for (int j = 0; 2 * j + 1 < w; j++) o[j] = x[2 * j + 1];
        }
        gradient_row(dm + (size_t)i * g->tw, stride, (const float *const *)gr, g->tw);
    }
}

/* For one tile row: x[(r * 4 + q) * span + j] = (B dV B^T)[r][q] of tile j, B = (B^T)^T. */
GF_VECTOR_CLONES static void scatter_row(float *x, const float *v, size_t stride, int tw, int span) {
    for (int j = 0; j < tw; j += VL) {
        gf_vec d[4][4], w[4][4];
        for (int a = 0; a < 4; a++)
            for (int q = 0; q < 4; q++) GF_VEC_LOAD(d[a][q], v + (size_t)(a * 4 + q) * stride + j);
        for (int q = 0; q < 4; q++) {
            w[0][q] = d[0][q];
            w[1][q] = d[1][q] - d[2][q] + d[3][q];
            w[2][q] = d[1][q] + d[2][q] - d[0][q];
            w[3][q] = -d[3][q];
        }
        for (int r = 0; r < 4; r++) {
            GF_VEC_STORE(x + (size_t)(r * 4 + 0) * span + j, w[r][0]);
            GF_VEC_STORE(x + (size_t)(r * 4 + 1) * span + j, w[r][1] - w[r][2] + w[r][3]);
            GF_VEC_STORE(x + (size_t)(r * 4 + 2) * span + j, w[r][1] + w[r][2] - w[r][0]);
            GF_VEC_STORE(x + (size_t)(r * 4 + 3) * span + j, -w[r][3]);
        }
    }
}

/* The input gradient of one plane from dV[xi][c][tiles of the image] (`dv` at xi 0):
 * each tile adds B dV B^T onto its 4 x 4 input positions, which overlap the next
 * tile's by two columns and two rows. Sums go into the padded plane's even and odd
 * columns: column 2j + q is even[j], odd[j], even[j + 1], odd[j + 1] for q = 0..3,
 * added in two passes so that no pass adds twice to one place. Then grad_in = or +=
 * the interior: input x even is odd column x / 2, x odd even column (x + 1) / 2. */
static void scatter_gradient(float *grad_in, bool add, const float *dv, size_t stride,
                             const buffers *b, const gf_conv2d_shape *s, const geometry *g) {
    const int half = half_of(g), tw = g->tw, span = g->span;
    memset(b->even, 0, sizeof(float) * (size_t)g->ph * half);
    memset(b->odd, 0, sizeof(float) * (size_t)g->ph * half);
    float *x = b->v_row;
    for (int i = 0; i < g->th; i++) {
        scatter_row(x, dv + (size_t)i * tw, stride, tw, span);
        for (int r = 0; r < 4; r++) {
            float *restrict even = b->even + (size_t)(2 * i + r) * half;
            float *restrict odd = b->odd + (size_t)(2 * i + r) * half;
            const float *xr = x + (size_t)r * 4 * span;
            for (int j = 0; j < tw; j++) {
                even[j] += xr[j];
                odd[j] += xr[span + j];
            }
            for (int j = 0; j < tw; j++) {
                even[j + 1] += xr[2 * span + j];
                odd[j + 1] += xr[3 * span + j];
            }
        }
    }
    for (int y = 0; y < s->in_h; y++) {
        const float *even = b->even + (size_t)(y + 1) * half, *odd = b->odd + (size_t)(y + 1) * half;
        interleave(grad_in + (size_t)y * s->in_w, odd, even + 1, s->in_w, add);
    }
}

void gf_conv2d_winograd_forward(const gf_conv2d_images *a, float *out, const float *in,
                                const float *packed, const float *bias) {
    const gf_conv2d_shape *s = a->s;
    const geometry g = geometry_of(s);
    const buffers b = buffers_of(a->scratch, s, &g);
    const int cin = s->in_channels, cout = s->out_channels;
    const size_t packed_floats = gf_gemm_packed_a_floats(cout, cin);
    const size_t out_plane = (size_t)s->in_h * s->in_w;
    for (int first = a->first; first < a->last; first += g.chunk) {
        const int images = a->last - first < g.chunk ? a->last - first : g.chunk;
        const int columns = images * g.tiles;
        transform_inputs(&b, in, first, images, s, &g);
        for (int xi = 0; xi < XI; xi++) {
            gf_gemm_rows(a->rows, b.v + (size_t)xi * xi_stride(cin, &g), g.ld, cin);
            gf_gemm_nn(b.products + (size_t)xi * xi_stride(cout, &g), (int)g.ld,
                       packed + (size_t)xi * packed_floats, a->rows, cout, columns, cin, false);
        }
        for (int i = 0; i < images; i++)
            for (int k = 0; k < cout; k++)
                output_transform(out + ((size_t)(first + i) * cout + k) * out_plane,
                                 b.products + (size_t)k * g.ld + (size_t)i * g.tiles,
                                 xi_stride(cout, &g), bias ? bias[k] : 0.0f, b.row, s, &g);
    }
}

void gf_conv2d_winograd_backward(const gf_conv2d_images *a, float *grad_in,
                                 gf_grad_write write, float *grad_weight, const float *grad_out,
                                 const float *in, const float *packed_transposed) {
    const gf_conv2d_shape *s = a->s;
    const geometry g = geometry_of(s);
    const buffers b = buffers_of(a->scratch, s, &g);
    const int cin = s->in_channels, cout = s->out_channels;
    const size_t packed_floats = gf_gemm_packed_a_floats(cin, cout);
    const size_t plane = (size_t)s->in_h * s->in_w, matrix = (size_t)cin * cout;
    memset(b.du, 0, sizeof(float) * XI * matrix);
    const float **dm_rows = a->rows, **v_rows = a->rows + cout;
    for (int first = a->first; first < a->last; first += g.chunk) {
        const int images = a->last - first < g.chunk ? a->last - first : g.chunk;
        const int columns = images * g.tiles;
        transform_inputs(&b, in, first, images, s, &g);
        for (int i = 0; i < images; i++)
            for (int k = 0; k < cout; k++)
                gradient_transform(b.dm + (size_t)k * g.ld + (size_t)i * g.tiles,
                                   xi_stride(cout, &g),
                                   grad_out + ((size_t)(first + i) * cout + k) * plane, b.row, s,
                                   &g);
        for (int xi = 0; xi < XI; xi++) {
            gf_gemm_rows(dm_rows, b.dm + (size_t)xi * xi_stride(cout, &g), g.ld, cout);
            gf_gemm_rows(v_rows, b.v + (size_t)xi * xi_stride(cin, &g), g.ld, cin);
            /* dU[xi][out, in] += dM[xi][out, tiles] V[xi][in, tiles]^T */
            gf_gemm_nt(b.du + (size_t)xi * matrix, cin, dm_rows, v_rows, cout, cin, columns, true,
                       b.nt);
            if (!grad_in) continue;
            /* dV[xi][in, tiles] = U[xi]^T dM[xi] */
            gf_gemm_nn(b.products + (size_t)xi * xi_stride(cin, &g), (int)g.ld,
                       packed_transposed + (size_t)xi * packed_floats, dm_rows, cin, columns,
                       cout, false);
        }
        if (!grad_in) continue;
        for (int i = 0; i < images; i++)
            for (int c = 0; c < cin; c++)
                scatter_gradient(grad_in + ((size_t)(first + i) * cin + c) * plane,
                                 write == GF_GRAD_ADD,
                                 b.products + (size_t)c * g.ld + (size_t)i * g.tiles,
                                 xi_stride(cin, &g), &b, s, &g);
    }
    /* dg = G^T dU G, per (out, in) pair */
    for (size_t p = 0; p < matrix; p++) {
        float du[4][4], t[3][4];
        for (int xi = 0; xi < XI; xi++) du[xi / 4][xi % 4] = b.du[(size_t)xi * matrix + p];
        for (int r = 0; r < 3; r++)
            for (int q = 0; q < 4; q++)
                t[r][q] = G[0][r] * du[0][q] + G[1][r] * du[1][q] + G[2][r] * du[2][q] +
                          G[3][r] * du[3][q];
        float *dw = grad_weight + p * 9;
        for (int r = 0; r < 3; r++)
            for (int q = 0; q < 3; q++)
                dw[r * 3 + q] += t[r][0] * G[0][q] + t[r][1] * G[1][q] + t[r][2] * G[2][q] +
                                 t[r][3] * G[3][q];
    }
}
