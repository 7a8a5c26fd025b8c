/* Winograd F(2x2, 3x3); see conv2d_winograd.h. Tile (i, j) of an image covers
 * outputs rows 2i, 2i + 1 and columns 2j, 2j + 1, and reads input rows 2i - 1 ..
 * 2i + 2 and columns 2j - 1 .. 2j + 2: rows 2i .. 2i + 3 and columns 2j .. 2j + 3 of
 * a copy of the plane with one zero row and column before it and enough after it.
 * Transformed tiles are stored [xi][channel][tile], tiles of a chunk's images side
 * by side, so that each xi is a matrix product over channels with long rows.
 *
 * The transforms run over all tiles of a chunk's planes of one channel at once, in
 * vectors of GF_VL tiles (nn/vector_clones.h), whatever the planes' width: a plane is
 * kept as its four parity planes (even or odd rows, even or odd columns), each with
 * one value per tile at the tile's own index, so that the 16 inputs of every tile are
 * the parity planes read at the tile's index shifted by a tile row or column. The
 * shifts cross row and image edges, where lane masks give the zero padding. */
#include "nn/conv2d_winograd.h"

#include <string.h>

#include "core/gemm.h"
#include "core/size.h"
#include "nn/vector_clones.h"

enum { XI = 16, VL = GF_VL };
_Static_assert(VL == 16, "the shuffles below name 16 lanes");



/* Tiles of a chunk in one matrix row: the target that sets the chunk's images,
 * about 256 KiB per buffer of transformed tiles ([16][channels][tiles] floats). */
enum { CHUNK_FLOATS = 16 * 4096 };

typedef struct geometry {
    int th, tw, tiles;  /* tile rows, tile columns, tiles per image */
    int chunk;          /* images per chunk */
    int flat;           /* a chunk's tiles rounded up to whole vectors */
    int guard;          /* floats before and after a parity plane that shifted reads reach */
    size_t parity;      /* floats of a parity plane with its guards */
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

/* Images per chunk: about CHUNK_FLOATS floats per buffer, or up to twice as many
 * where the products then compute fewer columns per image (gf_gemm_nn_columns): at
 * 1x28x28 one 28x28 image is 196 tiles in 208 columns, two are 392 in 400; two 14x14
 * images 98 in 112, four 196 in 208. */
static int chunk_of(const gf_conv2d_shape *s, int tiles) {
    const size_t per_image = (size_t)XI * (size_t)max_channels(s) * (size_t)tiles;
    const size_t batch = (size_t)s->batch;
    size_t chunk = CHUNK_FLOATS / per_image;
    if (chunk < 1) chunk = 1;
    if (chunk > batch) chunk = batch;
    size_t best = chunk;
    for (size_t c = chunk + 1; c <= 2 * chunk && c <= batch; c++)
        if (gf_gemm_nn_columns(c * (size_t)tiles) * best <
            gf_gemm_nn_columns(best * (size_t)tiles) * c)
            best = c;
    return (int)best;
}

static geometry geometry_of(const gf_conv2d_shape *s) {
    geometry g;
    g.th = (s->in_h + 1) / 2;
    g.tw = (s->in_w + 1) / 2;
    g.tiles = g.th * g.tw;
    g.chunk = chunk_of(s, g.tiles);
    g.flat = (int)gf_size_round_up((size_t)g.chunk * (size_t)g.tiles, VL);
    g.guard = (int)round_to_line((size_t)g.tw + 1);
    g.parity = round_to_line((size_t)g.flat + 2 * (size_t)g.guard);
    /* the transforms write whole vectors: up to VL - 1 floats past a chunk's tiles */
    g.ld = odd_lines((size_t)g.flat);
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

/* The four parity planes of a chunk's planes of one channel: [pr * 2 + pc][tile],
 * pr (pc) 0 for even rows (columns), 1 for odd, with `guard` floats either side. */
enum { EE, EO, OE, OO };

/* Lane masks over a chunk's tiles: whether tile t has a neighbour above (UP), below
 * (DOWN), left (LEFT) and right (RIGHT) in its image; 0 past the chunk's tiles. */
enum { UP, DOWN, LEFT, RIGHT, MASKS };

/* [V: 16 x in x ld][products (M or dV): 16 x max(in, out) x ld][dM: 16 x out x ld]
 * [dU: 16 x out x in][gf_gemm_nt scratch][4 parity planes][the lane masks][a plane] */
typedef struct buffers {
    float *v, *products, *dm, *du, *nt;
    float *parity[4];
    int *mask[MASKS];
    float *plane; /* an output plane put together */
} buffers;

static buffers buffers_of(float *scratch, const gf_conv2d_shape *s, const geometry *g) {
    buffers b;
    const size_t in = (size_t)s->in_channels, out = (size_t)s->out_channels;
    b.v = scratch;
    b.products = b.v + XI * xi_stride((int)in, g);
    b.dm = b.products + XI * xi_stride(max_channels(s), g);
    b.du = b.dm + XI * xi_stride((int)out, g);
    b.nt = b.du + round_to_line(XI * out * in);
    float *next = b.nt + round_to_line(gf_gemm_nt_scratch_floats(g->chunk * g->tiles));
    for (int p = 0; p < 4; p++) {
        b.parity[p] = next + g->guard;
        next += g->parity;
    }
    for (int m = 0; m < MASKS; m++) {
        b.mask[m] = (int *)next; /* int and float are both 4 bytes (vector_clones.h) */
        next += g->flat;
    }
    b.plane = next;
    return b;
}

static size_t plane_floats(const gf_conv2d_shape *s) {
    return (size_t)s->in_h * (size_t)s->in_w + 2 * VL;
}

size_t gf_conv2d_winograd_scratch_floats(const gf_conv2d_shape *s) {
    const geometry g = geometry_of(s);
    size_t floats = gf_size_mul(XI, gf_size_add(gf_size_add(xi_stride(s->in_channels, &g),
                                                            xi_stride(max_channels(s), &g)),
                                                xi_stride(s->out_channels, &g)));
    floats = gf_size_add(floats, round_to_line(gf_size_mul(XI, (size_t)s->in_channels *
                                                                   (size_t)s->out_channels)));
    floats = gf_size_add(floats, round_to_line(gf_gemm_nt_scratch_floats(g.chunk * g.tiles)));
    floats = gf_size_add(floats, 4 * g.parity);
    floats = gf_size_add(floats, MASKS * (size_t)g.flat);
    return gf_size_add(floats, plane_floats(s));
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

/* The masks for the first `n` tiles of a chunk (fewer in a chunk's last images). */
static void set_masks(const buffers *b, int n, const geometry *g) {
    for (int t = 0; t < g->flat; t++) {
        const int within = t % g->tiles, ti = within / g->tw, tj = within % g->tw;
        const bool valid = t < n;
        b->mask[UP][t] = valid && ti > 0 ? -1 : 0;
        b->mask[DOWN][t] = valid && ti < g->th - 1 ? -1 : 0;
        b->mask[LEFT][t] = valid && tj > 0 ? -1 : 0;
        b->mask[RIGHT][t] = valid && tj < g->tw - 1 ? -1 : 0;
    }
}

/* Lanes 0, 2, .., 30 (EVENS) or 1, 3, .., 31 (ODDS) of a and b side by side; a and b
 * interleaved from their low (LOW) or high (HIGH) halves. */
#define EVENS(a, b) \
    __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODDS(a, b) \
    __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
#define LOW(a, b) \
    __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define HIGH(a, b) \
    __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)

/* Planes (images first .. first + images - 1, channel c) of a [N, channels, H, W]
 * tensor into the parity planes: position (2 ti + pr, 2 tj + pc) of image i is
 * parity[pr * 2 + pc][i * tiles + ti * tw + tj], zero past the plane's edge. A row
 * goes VL column pairs at a time, read in two vectors past its end (only the
 * tensor's last floats through a copy) and stored in whole vectors past its tile
 * row, into places a later row or image overwrites, or the guard. */
GF_VECTOR_CLONES static void split_planes(float *const parity[4], const float *tensor, int first,
                                          int images, int c, int channels,
                                          const gf_conv2d_shape *s, const geometry *g) {
    const int h = s->in_h, w = s->in_w, tw = g->tw;
    const float *end = tensor + (size_t)s->batch * channels * (size_t)h * w;
    for (int i = 0; i < images; i++) {
        const float *src = tensor + ((size_t)(first + i) * channels + c) * (size_t)h * w;
        for (int y = 0; y < h; y++) {
            const size_t at = (size_t)i * g->tiles + (size_t)(y / 2) * tw;
            float *even = parity[(y % 2) * 2] + at, *odd = parity[(y % 2) * 2 + 1] + at;
            for (int j = 0; j < tw; j += VL) {
                const float *x = src + (size_t)y * w + 2 * j;
                if (c + 1 < channels) { /* the next channel's plane: read next */
                    __builtin_prefetch(x + (size_t)h * w);
                    __builtin_prefetch(x + (size_t)h * w + VL);
                }
                float copy[2 * VL];
                if (x + 2 * VL > end) {
                    memset(copy, 0, sizeof copy);
                    memcpy(copy, x, sizeof(float) * (size_t)(end - x));
                    x = copy;
                }
                gf_vec a, b;
                GF_VEC_LOAD(a, x);
                GF_VEC_LOAD(b, x + VL);
                GF_VEC_STORE(even + j, EVENS(a, b));
                GF_VEC_STORE(odd + j, ODDS(a, b));
            }
            if (w % 2) odd[tw - 1] = 0.0f; /* read from past the row */
        }
        if (h % 2) {
            const size_t at = (size_t)i * g->tiles + (size_t)(g->th - 1) * tw;
            memset(parity[OE] + at, 0, sizeof(float) * (size_t)tw);
            memset(parity[OO] + at, 0, sizeof(float) * (size_t)tw);
        }
    }
}

/* The inverse of split_planes: dst = (or +=, `add`) the parity planes' values. The
 * rows are put together in `plane` (h w + 2 VL floats) in whole vectors, each past
 * its row into the next one, which overwrites it; then the plane goes to dst in one
 * run, so that no write reaches past it (into another thread's image). */
GF_VECTOR_CLONES static void join_planes(float *tensor, bool add, const float *const parity[4],
                                         float *plane, int first, int images, int c,
                                         int channels, const gf_conv2d_shape *s,
                                         const geometry *g) {
    const int h = s->in_h, w = s->in_w, tw = g->tw, size = h * w;
    for (int i = 0; i < images; i++) {
        for (int y = 0; y < h; y++) {
            const size_t at = (size_t)i * g->tiles + (size_t)(y / 2) * tw;
            const float *even = parity[(y % 2) * 2] + at, *odd = parity[(y % 2) * 2 + 1] + at;
            for (int j = 0; j < tw; j += VL) {
                gf_vec e, o;
                GF_VEC_LOAD(e, even + j);
                GF_VEC_LOAD(o, odd + j);
                GF_VEC_STORE(plane + (size_t)y * w + 2 * j, LOW(e, o));
                GF_VEC_STORE(plane + (size_t)y * w + 2 * j + VL, HIGH(e, o));
            }
        }
        float *restrict dst = tensor + ((size_t)(first + i) * channels + c) * (size_t)size;
        const float *restrict from = plane;
        if (add)
            for (int k = 0; k < size; k++) dst[k] += from[k];
        else
            memcpy(dst, from, sizeof(float) * (size_t)size);
    }
}

/* Tile t reads padded rows 2 ti .. 2 ti + 3, i.e. plane rows 2 ti - 1 .. 2 ti + 2:
 * row r of the tile is the odd rows of tile row ti - 1, the even and odd rows of tile
 * row ti, the even rows of tile row ti + 1; the same for columns. */
static const int parity_of[4] = {1, 0, 1, 0}; /* of row (column) r of a tile */
static const int shift_of[4] = {-1, 0, 0, 1}; /* tile rows (columns) away */

#define MASKED(v, m) ((gf_vec)((gf_ivec)(v) & (m)))

/* the lane masks of tiles t .. t + VL - 1 for rows and columns r = 0..3 of a tile (a
 * macro, as vectors must not cross between cloned and plain functions) */
#define EDGE_MASKS(row_mask, column_mask, mask, t)                                        \
    gf_ivec row_mask[4], column_mask[4];                                                  \
    memcpy(&row_mask[0], (mask)[UP] + (t), sizeof row_mask[0]);                           \
    memcpy(&row_mask[3], (mask)[DOWN] + (t), sizeof row_mask[3]);                         \
    memcpy(&column_mask[0], (mask)[LEFT] + (t), sizeof column_mask[0]);                   \
    memcpy(&column_mask[3], (mask)[RIGHT] + (t), sizeof column_mask[3]);                  \
    row_mask[1] = row_mask[2] = column_mask[1] = column_mask[2] = ~(gf_ivec){0}

/* V[xi][t] = (B^T d B)[xi] for the chunk's tiles t < n of one channel, B^T = [1 0 -1 0;
 * 0 1 1 0; 0 -1 1 0; 0 1 0 -1]; dst[xi * stride + t]. */
GF_VECTOR_CLONES static void input_transform(float *dst, size_t stride, const float *const parity[4],
                                             const int *const mask[MASKS], int n, int tw) {
    for (int t = 0; t < n; t += VL) {
        EDGE_MASKS(row_mask, column_mask, mask, t);
        gf_vec d[4][4], u[4][4];
        for (int r = 0; r < 4; r++)
            for (int q = 0; q < 4; q++) {
                GF_VEC_LOAD(d[r][q], parity[parity_of[r] * 2 + parity_of[q]] + t +
                                         shift_of[r] * tw + shift_of[q]);
                d[r][q] = MASKED(d[r][q], row_mask[r] & column_mask[q]);
            }
        for (int q = 0; q < 4; q++) {
            u[0][q] = d[0][q] - d[2][q];
            u[1][q] = d[1][q] + d[2][q];
            u[2][q] = d[2][q] - d[1][q];
            u[3][q] = d[1][q] - d[3][q];
        }
        for (int a = 0; a < 4; a++) {
            GF_VEC_STORE(dst + (size_t)(a * 4 + 0) * stride + t, u[a][0] - u[a][2]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 1) * stride + t, u[a][1] + u[a][2]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 2) * stride + t, u[a][2] - u[a][1]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 3) * stride + t, u[a][1] - u[a][3]);
        }
    }
}

/* Transforms a chunk's input planes into V. */
static void transform_inputs(const buffers *b, const float *tensor, int first, int images,
                             const gf_conv2d_shape *s, const geometry *g) {
    const size_t stride = xi_stride(s->in_channels, g);
    for (int c = 0; c < s->in_channels; c++) {
        split_planes(b->parity, tensor, first, images, c, s->in_channels, s, g);
        input_transform(b->v + (size_t)c * g->ld, stride, (const float *const *)b->parity,
                        (const int *const *)b->mask, images * g->tiles, g->tw);
    }
}

/* Y = A^T M A (+ bias) for the chunk's tiles t < n of one output channel, A^T =
 * [1 1 1 0; 0 1 -1 -1], into the parity planes of the output. */
GF_VECTOR_CLONES static void output_transform(float *const parity[4], const float *m,
                                              size_t stride, float bias, int n) {
    for (int t = 0; t < n; t += VL) {
        gf_vec x[4][4], r0[4], r1[4];
        for (int a = 0; a < 4; a++)
            for (int q = 0; q < 4; q++) GF_VEC_LOAD(x[a][q], m + (size_t)(a * 4 + q) * stride + t);
        for (int q = 0; q < 4; q++) {
            r0[q] = x[0][q] + x[1][q] + x[2][q];
            r1[q] = x[1][q] - x[2][q] - x[3][q];
        }
        GF_VEC_STORE(parity[EE] + t, r0[0] + r0[1] + r0[2] + bias);
        GF_VEC_STORE(parity[EO] + t, r0[1] - r0[2] - r0[3] + bias);
        GF_VEC_STORE(parity[OE] + t, r1[0] + r1[1] + r1[2] + bias);
        GF_VEC_STORE(parity[OO] + t, r1[1] - r1[2] - r1[3] + bias);
    }
}

/* dM[xi][t] = (A dY A^T)[xi] for the chunk's tiles t < n of one output channel, from
 * the parity planes of the output gradient. */
GF_VECTOR_CLONES static void gradient_transform(float *dst, size_t stride,
                                                const float *const parity[4], int n) {
    for (int t = 0; t < n; t += VL) {
        gf_vec h[4][2], top[2], bottom[2];
        GF_VEC_LOAD(top[0], parity[EE] + t);
        GF_VEC_LOAD(top[1], parity[EO] + t);
        GF_VEC_LOAD(bottom[0], parity[OE] + t);
        GF_VEC_LOAD(bottom[1], parity[OO] + t);
        for (int q = 0; q < 2; q++) {
            h[0][q] = top[q];
            h[1][q] = top[q] + bottom[q];
            h[2][q] = top[q] - bottom[q];
            h[3][q] = -bottom[q];
        }
        for (int a = 0; a < 4; a++) {
            GF_VEC_STORE(dst + (size_t)(a * 4 + 0) * stride + t, h[a][0]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 1) * stride + t, h[a][0] + h[a][1]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 2) * stride + t, h[a][0] - h[a][1]);
            GF_VEC_STORE(dst + (size_t)(a * 4 + 3) * stride + t, -h[a][1]);
        }
    }
}

/* The input gradient of the chunk's tiles t < n of one input channel, from dV[xi][t]:
 * each tile adds B dV B^T onto its 4 x 4 input positions in the parity planes (which
 * must start at zero), the inverse of input_transform's reads; tiles overlap their
 * neighbours by two rows and columns, and the masked lanes add zeros. */
GF_VECTOR_CLONES static void scatter_transform(float *const parity[4], const float *dv,
                                               size_t stride, const int *const mask[MASKS], int n,
                                               int tw) {
    for (int t = 0; t < n; t += VL) {
        /* a lane past n (no tile) adds only at its own index, which nothing reads */
        EDGE_MASKS(row_mask, column_mask, mask, t);
        gf_vec d[4][4], w[4][4], x[4][4];
        for (int a = 0; a < 4; a++)
            for (int q = 0; q < 4; q++) GF_VEC_LOAD(d[a][q], dv + (size_t)(a * 4 + q) * stride + t);
        for (int q = 0; q < 4; q++) {
            w[0][q] = d[0][q];
            w[1][q] = d[1][q] - d[2][q] + d[3][q];
            w[2][q] = d[1][q] + d[2][q] - d[0][q];
            w[3][q] = -d[3][q];
        }
        for (int r = 0; r < 4; r++) {
            x[r][0] = w[r][0];
            x[r][1] = w[r][1] - w[r][2] + w[r][3];
            x[r][2] = w[r][1] + w[r][2] - w[r][0];
            x[r][3] = -w[r][3];
        }
        for (int r = 0; r < 4; r++)
            for (int q = 0; q < 4; q++) {
                float *p = parity[parity_of[r] * 2 + parity_of[q]] + t + shift_of[r] * tw +
                           shift_of[q];
                gf_vec old;
                GF_VEC_LOAD(old, p);
                GF_VEC_STORE(p, old + MASKED(x[r][q], row_mask[r] & column_mask[q]));
            }
    }
}

void gf_conv2d_winograd_forward(const gf_conv2d_images *a, float *out, const float *in,
                                const float *packed, const float *bias) {
    const gf_conv2d_shape *s = a->s;
    const geometry g = geometry_of(s);
    const buffers b = buffers_of(a->scratch, s, &g);
    const int cin = s->in_channels, cout = s->out_channels;
    const size_t packed_floats = gf_gemm_packed_a_floats(cout, cin);
    int masked = -1; /* tiles the masks are set for */
    for (int first = a->first; first < a->last; first += g.chunk) {
        const int images = a->last - first < g.chunk ? a->last - first : g.chunk;
        const int columns = images * g.tiles;
        if (masked != columns) set_masks(&b, masked = columns, &g);
        transform_inputs(&b, in, first, images, s, &g);
        for (int xi = 0; xi < XI; xi++) {
            gf_gemm_rows(a->rows, b.v + (size_t)xi * xi_stride(cin, &g), g.ld, cin);
            gf_gemm_nn(b.products + (size_t)xi * xi_stride(cout, &g), (int)g.ld,
                       packed + (size_t)xi * packed_floats, a->rows, cout, columns, cin, false);
        }
        for (int k = 0; k < cout; k++) {
            output_transform(b.parity, b.products + (size_t)k * g.ld, xi_stride(cout, &g),
                             bias ? bias[k] : 0.0f, columns);
            join_planes(out, false, (const float *const *)b.parity, b.plane, first, images, k,
                        cout, s, &g);
        }
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
    const size_t matrix = (size_t)cin * cout;
    memset(b.du, 0, sizeof(float) * XI * matrix);
    const float **dm_rows = a->rows, **v_rows = a->rows + cout;
    int masked = -1; /* tiles the masks are set for */
    for (int first = a->first; first < a->last; first += g.chunk) {
        const int images = a->last - first < g.chunk ? a->last - first : g.chunk;
        const int columns = images * g.tiles;
        if (masked != columns) set_masks(&b, masked = columns, &g);
        transform_inputs(&b, in, first, images, s, &g);
        for (int k = 0; k < cout; k++) {
            split_planes(b.parity, grad_out, first, images, k, cout, s, &g);
            gradient_transform(b.dm + (size_t)k * g.ld, xi_stride(cout, &g),
                               (const float *const *)b.parity, columns);
        }
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
        for (int c = 0; c < cin; c++) {
            for (int p = 0; p < 4; p++)
                memset(b.parity[p] - g.guard, 0, sizeof(float) * g.parity);
            scatter_transform(b.parity, b.products + (size_t)c * g.ld, xi_stride(cin, &g),
                              (const int *const *)b.mask, columns, g.tw);
            join_planes(grad_in, write == GF_GRAD_ADD, (const float *const *)b.parity,
                        b.plane, first, images, c, cin, s, &g);
        }
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
