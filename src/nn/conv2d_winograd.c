/* Winograd F(2x2, 3x3) and F(4x4, 3x3); see conv2d_winograd.h. With tiles of m x m
 * outputs (m = 2 or 4), tile (i, j) of an image covers output rows m i .. m i + m - 1
 * and columns m j .. m j + m - 1, and reads input rows m i - 1 .. m i + m and columns
 * m j - 1 .. m j + m: an (m + 2) x (m + 2) input tile, of a copy of the plane with one
 * zero row and column before it and enough after it. Transformed tiles are stored
 * [xi][channel][tile], tiles of a chunk's images side by side, so that each xi is a
 * matrix product over channels with long rows.
 *
 * The transforms run over all tiles of a chunk's planes of one channel at once, in
 * vectors of GF_VL tiles (nn/vector_clones.h), whatever the planes' width: a plane is
 * kept as its m x m phase planes (rows and columns mod m), each with one value per
 * tile at the tile's own index, so that the inputs of every tile are the phase planes
 * read at the tile's index shifted by a tile row or column. The shifts cross row and
 * image edges, where lane masks give the zero padding. */
#include "nn/conv2d_winograd.h"

#include <stddef.h>
#include <string.h>

#include "core/gemm.h"
#include "core/parallel.h"
#include "core/size.h"
#include "nn/channel_map_vector.h"
#include "nn/interleave.h"
#include "nn/vector_clones.h"

enum { VL = GF_VL, MAX_XI = 36, MAX_PHASES = 16 };

/* Tiles of a chunk in one matrix row: the target that sets the chunk's images,
 * about 256 KiB per buffer of transformed tiles ([xi][channels][tiles] floats). */
enum { CHUNK_FLOATS = 16 * 4096 };

typedef struct geometry {
    int m;              /* outputs per tile row and column: 2 or 4 */
    int alpha;          /* inputs per tile row and column: m + 2 */
    int xi;             /* transformed values per tile: alpha^2 */
    int th, tw, tiles;  /* tile rows, tile columns, tiles per image */
    int chunk;          /* images per chunk */
    int flat;           /* a chunk's tiles rounded up to whole vectors */
    int guard;          /* floats before and after a phase plane that shifted reads reach */
    int block;          /* tile rows split_planes and join_planes take at a time */
    size_t phase;       /* floats of a phase plane with its guards */
    size_t ld;          /* floats per row of a transformed-tile matrix */
} geometry;

/* Rows and matrices an odd number of cache lines apart: the transforms write 16 or 36
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
 * 1x28x28 one 28x28 image is 196 tiles of F(2, 3) in 208 columns, two are 392 in
 * 400; two 14x14 images 98 in 112, four 196 in 208. */
static int chunk_of(const gf_conv2d_shape *s, int tiles, int xi) {
    const size_t per_image = (size_t)xi * (size_t)max_channels(s) * (size_t)tiles;
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

/* The fewest tile rows that make whole vectors of tiles, VL / gcd(tw, VL) (kept in the
 * geometry: its divisions cost split_planes and join_planes a tenth of their time when
 * taken per block). */
static int block_rows_of(int tw) {
    int a = tw, b = VL;
    while (b) {
        const int r = a % b;
        a = b;
        b = r;
    }
    return VL / a;
}

static geometry geometry_of(const gf_conv2d_shape *s, int m) {
    geometry g;
    g.m = m;
    g.alpha = m + 2;
    g.xi = g.alpha * g.alpha;
    g.th = (s->in_h + m - 1) / m;
    g.tw = (s->in_w + m - 1) / m;
    g.tiles = g.th * g.tw;
    g.chunk = chunk_of(s, g.tiles, g.xi);
    g.flat = (int)gf_size_round_up((size_t)g.chunk * (size_t)g.tiles, VL);
    g.guard = (int)round_to_line((size_t)g.tw + 1);
    g.block = block_rows_of(g.tw);
    g.phase = round_to_line((size_t)g.flat + 2 * (size_t)g.guard);
    /* the transforms write whole vectors: up to VL - 1 floats past a chunk's tiles */
    g.ld = odd_lines((size_t)g.flat);
    return g;
}

bool gf_conv2d_winograd_applies(const gf_conv2d_shape *s) {
    /* with fewer channels the products are too short to gain from */
    return s->kernel == 3 && s->stride == 1 && s->padding == 1 && s->groups == 1 &&
           s->in_channels >= 8 && s->out_channels >= 8;
}

/* products per channel pair for an image's tiles of m x m outputs */
static long products_of(const gf_conv2d_shape *s, int m) {
    return (long)((s->in_h + m - 1) / m) * ((s->in_w + m - 1) / m) * (m + 2) * (m + 2);
}

/* The tile with fewer products per image, F(2, 3) on a tie (fewer roundings): F(2, 3)
 * for planes of one or two rows or columns and for 5x5 to 6x6 ones, F(4, 3) for the
 * rest (measured faster on every ResNet-20 plane, 7x7 to 32x32), in every direction. */
int gf_conv2d_winograd_tile_for(const gf_conv2d_shape *s) {
    return products_of(s, 4) < products_of(s, 2) ? 4 : 2;
}

int gf_conv2d_winograd_chunk(const gf_conv2d_shape *s, int tile) {
    return geometry_of(s, tile).chunk;
}

/* the packed matrices of the larger direction (forward or input gradient) */
static size_t packed_floats_of(const gf_conv2d_shape *s) {
    size_t forward = gf_gemm_packed_a_floats(s->out_channels, s->in_channels);
    size_t backward = gf_gemm_packed_a_floats(s->in_channels, s->out_channels);
    return round_to_line(gf_size_mul(MAX_XI, forward > backward ? forward : backward));
}

/* floats from one unpacked U[xi] to the next: an odd number of cache lines, as the
 * transform writes all of them at once */
static size_t unpacked_stride(const gf_conv2d_shape *s) {
    return odd_lines((size_t)s->in_channels * (size_t)s->out_channels);
}

size_t gf_conv2d_winograd_shared_floats(const gf_conv2d_shape *s) {
    /* and every U[xi] unpacked, so that threads transform and pack rows of them apart */
    return gf_size_add(packed_floats_of(s), gf_size_mul(MAX_XI, unpacked_stride(s)));
}

/* Lane masks over a chunk's tiles: whether tile t has a neighbour above (UP), below
 * (DOWN), left (LEFT) and right (RIGHT) in its image; 0 past the chunk's tiles. */
enum { UP, DOWN, LEFT, RIGHT, MASKS };

/* [V: xi x in x ld][products (M or dV): xi x max(in, out) x ld][dM: xi x out x ld]
 * [dU: xi x in x out][gf_gemm_nt scratch][m^2 phase planes][the lane masks][a block of rows] */
typedef struct buffers {
    float *v, *products, *dm, *du, *nt;
    float *phase[MAX_PHASES]; /* [row phase * m + column phase], m^2 of them */
    int *mask[MASKS];
    float *rows; /* a block's rows of every row phase (block_floats) */
} buffers;

/* Tiles of a block with `rows` tile rows left in the chunk: whole vectors, but not past
 * the chunk's tiles (the phase planes are no longer) */
static int block_tiles(const geometry *g, int rows) {
    const int block = g->block;
    return rows >= block ? block * g->tw : (int)round_to_line((size_t)rows * (size_t)g->tw);
}

/* floats of a block's rows of one row phase, each row padded to m tw floats, and the
 * reach of the last row's vectors past them */
static size_t phase_rows_floats(const geometry *g) {
    return (size_t)g->block * (size_t)g->m * (size_t)g->tw + VL;
}

static size_t block_floats(const geometry *g) { return (size_t)g->m * phase_rows_floats(g); }

/* the scratch floats of one tile size, and the buffers in them when `b` is not NULL */
static size_t scratch_of(float *scratch, buffers *b, const gf_conv2d_shape *s,
                         const geometry *g) {
    const size_t xi = (size_t)g->xi, in = (size_t)s->in_channels, out = (size_t)s->out_channels;
    const size_t sizes[] = {
        xi * xi_stride((int)in, g),
        xi * xi_stride(max_channels(s), g),
        xi * xi_stride((int)out, g),
        round_to_line(xi * out * in),
        round_to_line(gf_gemm_nt_scratch_floats(g->chunk * g->tiles)),
    };
    float **starts[] = {b ? &b->v : NULL, b ? &b->products : NULL, b ? &b->dm : NULL,
                        b ? &b->du : NULL, b ? &b->nt : NULL};
    size_t floats = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (b) *starts[i] = scratch + floats;
        floats = gf_size_add(floats, sizes[i]);
    }
    for (int p = 0; p < g->m * g->m; p++) {
        if (b) b->phase[p] = scratch + floats + g->guard;
        floats = gf_size_add(floats, g->phase);
    }
    for (int k = 0; k < MASKS; k++) {
        /* int and float are both 4 bytes (vector_clones.h) */
        if (b) b->mask[k] = (int *)(void *)(scratch + floats);
        floats = gf_size_add(floats, (size_t)g->flat);
    }
    if (b) b->rows = scratch + floats;
    return gf_size_add(floats, block_floats(g));
}

size_t gf_conv2d_winograd_scratch_floats(const gf_conv2d_shape *s) {
    const geometry two = geometry_of(s, 2), four = geometry_of(s, 4);
    const size_t a = scratch_of(NULL, NULL, s, &two), b = scratch_of(NULL, NULL, s, &four);
    return a > b ? a : b;
}

size_t gf_conv2d_winograd_row_count(const gf_conv2d_shape *s) {
    return (size_t)s->in_channels + (size_t)s->out_channels;
}

/* G of F(2, 3) and of F(4, 3) (points 0, 1, -1 and 0, 1, -1, 2, -2, and infinity) */
static const double G2[4][3] = {{1.0, 0.0, 0.0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5},
                                {0.0, 0.0, 1.0}};
static const double G4[6][3] = {{1.0 / 4, 0.0, 0.0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0.0, 0.0, 1.0}};


typedef struct pack_job {
    float *shared;
    const float *weight;
    const gf_conv2d_shape *s;
    int tile;
    bool transposed;
} pack_job;

/* Rows a0 .. a1 - 1 of U = G g G^T (xi = a alpha + b) for every (out, in) pair p, in
 * double (G of F(4, 3) has sixths), each row of G g computed once, DL pairs at a time in
 * vectors of doubles (their filters gathered, their U stored as runs of DL floats, past
 * the last pair up to a multiple of DL); inlined with a constant alpha, so that its
 * loops unroll. */
enum { DL = 8 };
typedef double dvec __attribute__((vector_size(8 * DL)));
typedef float fvec __attribute__((vector_size(4 * DL)));
static inline __attribute__((always_inline)) void transform_weights(
    float *unpacked, size_t stride, const float *weight, size_t pairs, const double G[][3],
    int alpha, int a0, int a1) {
    for (size_t p = 0; p < pairs; p += DL) {
        /* the last block's lanes past the pairs hold zero filters; their U goes into the
         * padding of U's rows (unpacked_stride: whole cache lines) */
        const size_t lanes = pairs - p < DL ? pairs - p : DL;
        dvec g[9] = {{0}};
        for (int e = 0; e < 9; e++)
            for (size_t l = 0; l < lanes; l++) g[e][l] = weight[(p + l) * 9 + (size_t)e];
        for (int a = a0; a < a1; a++) {
            dvec t[3]; /* row a of G g */
            for (int r = 0; r < 3; r++)
                t[r] = G[a][0] * g[r] + G[a][1] * g[3 + r] + G[a][2] * g[6 + r];
            for (int b = 0; b < alpha; b++) {
                dvec u = G[b][0] * t[0];
                for (int r = 1; r < 3; r++) u += G[b][r] * t[r];
                const fvec rounded = __builtin_convertvector(u, fvec);
                memcpy(unpacked + (size_t)(a * alpha + b) * stride + p, &rounded, sizeof rounded);
            }
        }
    }
}

/* U's rows a0 .. a1 - 1 for the tile (a function of its own, compiled per instruction
 * set: vectors must not cross between cloned and plain functions) */
GF_VECTOR_CLONES static void transform_rows(float *unpacked, size_t stride, const float *weight,
                                            size_t pairs, int tile, int a0, int a1) {
    if (tile == 2)
        transform_weights(unpacked, stride, weight, pairs, G2, 4, a0, a1);
    else
        transform_weights(unpacked, stride, weight, pairs, G4, 6, a0, a1);
}

/* U's rows a0 .. a1 - 1 transformed and packed; the threads take one row at a time, so
 * that no value is computed twice. */
static void pack_rows(void *ctx, int thread, int64_t a0, int64_t a1) {
    const pack_job *job = ctx;
    (void)thread;
    const gf_conv2d_shape *s = job->s;
    const int in = s->in_channels, out = s->out_channels, alpha = job->tile + 2;
    const size_t pairs = (size_t)in * out, stride = unpacked_stride(s);
    float *unpacked = job->shared + packed_floats_of(s);
    const size_t forward = gf_gemm_packed_a_floats(out, in);
    const size_t backward = gf_gemm_packed_a_floats(in, out);
    transform_rows(unpacked, stride, job->weight, pairs, job->tile, (int)a0, (int)a1);
    for (int xi = (int)a0 * alpha; xi < (int)a1 * alpha; xi++) {
        const float *u = unpacked + (size_t)xi * stride;
        if (job->transposed)
            gf_gemm_pack_a(job->shared + (size_t)xi * backward, u, in, true, in, out);
        else
            gf_gemm_pack_a(job->shared + (size_t)xi * forward, u, in, false, out, in);
    }
}

void gf_conv2d_winograd_pack(float *shared, const float *weight, const gf_conv2d_shape *s,
                             int tile, bool transposed) {
    pack_job job = {.shared = shared, .weight = weight, .s = s, .tile = tile,
                    .transposed = transposed};
    gf_parallel_for(tile + 2, 1, 1, pack_rows, &job);
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

/* m VL floats from x (VL groups of m) into the m column phases row[pc] + at, and back */
#define DEINTERLEAVE(row, at, x, m)                                                       \
    do {                                                                                  \
        gf_vec a_, b_;                                                                    \
        GF_VEC_LOAD(a_, (x));                                                             \
        GF_VEC_LOAD(b_, (x) + VL);                                                        \
        if ((m) == 2) {                                                                   \
            GF_VEC_STORE((row)[0] + (at), GF_VEC_EVENS(a_, b_));                          \
            GF_VEC_STORE((row)[1] + (at), GF_VEC_ODDS(a_, b_));                           \
        } else {                                                                          \
            gf_vec c_, d_;                                                                \
            GF_VEC_LOAD(c_, (x) + 2 * VL);                                                \
            GF_VEC_LOAD(d_, (x) + 3 * VL);                                                \
            const gf_vec even_ab_ = GF_VEC_EVENS(a_, b_), even_cd_ = GF_VEC_EVENS(c_, d_); \
            const gf_vec odd_ab_ = GF_VEC_ODDS(a_, b_), odd_cd_ = GF_VEC_ODDS(c_, d_);    \
            GF_VEC_STORE((row)[0] + (at), GF_VEC_EVENS(even_ab_, even_cd_));              \
            GF_VEC_STORE((row)[1] + (at), GF_VEC_EVENS(odd_ab_, odd_cd_));                \
            GF_VEC_STORE((row)[2] + (at), GF_VEC_ODDS(even_ab_, even_cd_));               \
            GF_VEC_STORE((row)[3] + (at), GF_VEC_ODDS(odd_ab_, odd_cd_));                 \
        }                                                                                 \
    } while (0)

#define INTERLEAVE(to, row, at, m)                                                        \
    do {                                                                                  \
        gf_vec a_, b_;                                                                    \
        GF_VEC_LOAD(a_, (row)[0] + (at));                                                 \
        GF_VEC_LOAD(b_, (row)[1] + (at));                                                 \
        if ((m) == 2) {                                                                   \
            GF_VEC_STORE((to), GF_VEC_LOW(a_, b_));                                       \
            GF_VEC_STORE((to) + VL, GF_VEC_HIGH(a_, b_));                                 \
        } else {                                                                          \
            gf_vec c_, d_;                                                                \
            GF_VEC_LOAD(c_, (row)[2] + (at));                                             \
            GF_VEC_LOAD(d_, (row)[3] + (at));                                             \
            /* columns 0 mod 2 (phases 0 and 2) and 1 mod 2 (1 and 3), then both */       \
            const gf_vec even_low_ = GF_VEC_LOW(a_, c_), even_high_ = GF_VEC_HIGH(a_, c_); \
            const gf_vec odd_low_ = GF_VEC_LOW(b_, d_), odd_high_ = GF_VEC_HIGH(b_, d_);  \
            GF_VEC_STORE((to), GF_VEC_LOW(even_low_, odd_low_));                          \
            GF_VEC_STORE((to) + VL, GF_VEC_HIGH(even_low_, odd_low_));                    \
            GF_VEC_STORE((to) + 2 * VL, GF_VEC_LOW(even_high_, odd_high_));               \
            GF_VEC_STORE((to) + 3 * VL, GF_VEC_HIGH(even_high_, odd_high_));              \
        }                                                                                 \
    } while (0)

/* n floats from src to dst: vectors, then single floats (not a plain copy loop, which
 * GCC would make a call of memmove, costing more than rows of a few floats) */
static inline __attribute__((always_inline)) void copy_row(float *restrict dst,
                                                           const float *restrict src, int n) {
    int k = 0;
    for (; k + VL <= n; k += VL) {
        gf_vec v;
        GF_VEC_LOAD(v, src + k);
        GF_VEC_STORE(dst + k, v);
    }
    for (; k < n; k++) dst[k] = src[k];
}

/* dst += src over n floats, in vectors as far as they go */
static inline __attribute__((always_inline)) void add_row(float *restrict dst,
                                                          const float *restrict src, int n) {
    int k = 0;
    for (; k + VL <= n; k += VL) {
        gf_vec a, b;
        GF_VEC_LOAD(a, dst + k);
        GF_VEC_LOAD(b, src + k);
        GF_VEC_STORE(dst + k, a + b);
    }
    for (; k < n; k++) dst[k] += src[k];
}

/* Planes (images first .. first + images - 1, channel c) of a [N, channels, H, W]
 * tensor into the phase planes: position (m ti + pr, m tj + pc) of image i is
 * phase[pr * m + pc][i * tiles + ti * tw + tj], zero past the plane's edge. The
 * chunk's tile rows go a block (geometry's `block`) at a time, the planes' rows in order: each
 * row is copied into `rows` after the block's earlier rows of its row phase, padded to
 * m tw floats (so that the block's rows of a row phase are its tiles' m columns side
 * by side), then every row phase is split VL column groups of m at a time by
 * shuffles. A row is copied in whole vectors, read past its end (the tensor's last
 * row through single floats) and written past it, where the next row of its row
 * phase or the padding overwrites it, or after the block's last row. */
static inline __attribute__((always_inline)) void split_rows(
    float *const phase[MAX_PHASES], const float *tensor, const gf_channel_map *map, float *rows,
    int first, int images, int c, int channels, const gf_conv2d_shape *s, const geometry *g,
    const int w) {
    const int h = s->in_h, tw = g->tw, m = g->m, th = g->th;
    const int block = g->block, line = m * tw, total = images * th;
    const size_t plane = (size_t)h * w, phase_rows = phase_rows_floats(g);
    const float *end = tensor + (size_t)s->batch * channels * plane;
    const int whole = (w + VL - 1) / VL * VL; /* floats a row's vectors reach */
    /* the map's fields held here, not reloaded after every store */
    const gf_channel_affine affine = map ? map->affine[c] : (gf_channel_affine){0};
    const bool activated = map && map->activated;
    const gf_activation_kind kind = map ? map->activation : GF_ACT_RELU;
    const float slope = map ? map->slope : 0.0f;
    for (int r0 = 0; r0 < total; r0 += block) {
        int i = r0 / th, ti = r0 % th;
        for (int r = 0; r < block; r++) {
            const float *src = r0 + r < total
                                   ? tensor + ((size_t)(first + i) * channels + c) * plane +
                                         (size_t)(m * ti) * w
                                   : NULL;
            for (int pr = 0; pr < m; pr++) {
                float *to = rows + (size_t)pr * phase_rows + (size_t)r * line;
                if (!src || m * ti + pr >= h) {
                    memset(to, 0, sizeof(float) * (size_t)line);
                    continue;
                }
                const float *x = src + (size_t)pr * w;
                if (c + 1 < channels) /* the next channel's plane, else a miss on every row */
                    for (int k = 0; k < w; k += VL) __builtin_prefetch(x + plane + k);
                if (map && x + whole <= end) {
                    for (int k = 0; k < w; k += VL) {
                        gf_vec v;
                        GF_VEC_LOAD(v, x + k);
                        gf_channel_map_vector(&v, affine, activated, kind, slope);
                        GF_VEC_STORE(to + k, v);
                    }
                } else if (map) {
                    gf_channel_map_run(to, x, (size_t)w, map, c);
                } else if (x + whole <= end) {
                    for (int k = 0; k < w; k += VL) {
                        gf_vec v;
                        GF_VEC_LOAD(v, x + k);
                        GF_VEC_STORE(to + k, v);
                    }
                } else {
                    copy_row(to, x, w);
                }
                for (int k = w; k < line; k++) to[k] = 0.0f;
            }
            if (++ti == th) ti = 0, i++;
        }
        const int tiles = block_tiles(g, total - r0);
        for (int pr = 0; pr < m; pr++)
            for (int t = 0; t < tiles; t += VL)
                DEINTERLEAVE(phase + pr * m, (size_t)r0 * tw + (size_t)t,
                             rows + (size_t)pr * phase_rows + (size_t)t * m, m);
    }
}

/* The inverse of split_planes: dst = (or +=, `add`) the phase planes' values. Each
 * block's row phases are put together in `rows` by shuffles, then each row goes to its
 * place in dst, the planes' rows in order, no write reaching past it (into another
 * thread's image). */
static inline __attribute__((always_inline)) void join_rows(
    float *tensor, bool add, const float *const phase[MAX_PHASES], float *rows, int first,
    int images, int c, int channels, const gf_conv2d_shape *s, const geometry *g, const int w) {
    const int h = s->in_h, tw = g->tw, m = g->m, th = g->th;
    const int block = g->block, line = m * tw, total = images * th;
    const size_t plane = (size_t)h * w, phase_rows = phase_rows_floats(g);
    /* each row's lines are read in before its stores complete: the next channel's
     * rows, written next, are fetched for writing meanwhile, as split_rows fetches the
     * next channel's rows it reads */
    const bool prefetch = c + 1 < channels;
    for (int r0 = 0; r0 < total; r0 += block) {
        const int tiles = block_tiles(g, total - r0);
        for (int pr = 0; pr < m; pr++)
            for (int t = 0; t < tiles; t += VL)
                INTERLEAVE(rows + (size_t)pr * phase_rows + (size_t)t * m, phase + pr * m,
                           (size_t)r0 * tw + (size_t)t, m);
        int i = r0 / th, ti = r0 % th;
        for (int r = 0; r < block && r0 + r < total; r++) {
            float *row =
                tensor + ((size_t)(first + i) * channels + c) * plane + (size_t)(m * ti) * w;
            for (int pr = 0; pr < m && m * ti + pr < h; pr++) {
                float *dst = row + (size_t)pr * w;
                const float *from = rows + (size_t)pr * phase_rows + (size_t)r * line;
                if (prefetch)
                    for (int k = 0; k < w; k += VL) __builtin_prefetch(dst + plane + k, 1);
                if (add)
                    add_row(dst, from, w);
                else
                    copy_row(dst, from, w);
            }
            if (++ti == th) ti = 0, i++;
        }
    }
}

/* split_rows and join_rows for the planes' width, a constant for the widths of CIFAR's
 * and Fashion-MNIST's planes (F(4, 3)'s rows then copied by whole vector moves) */
#define FOR_WIDTH(call, w)                 \
    switch (w) {                           \
    case 32: call(32); break;              \
    case 28: call(28); break;              \
    case 16: call(16); break;              \
    case 14: call(14); break;              \
    case 8: call(8); break;                \
    case 7: call(7); break;                \
    default: call(w); break;               \
    }

GF_VECTOR_CLONES static void split_planes(float *const phase[MAX_PHASES], const float *tensor,
                                          const gf_channel_map *map, float *rows, int first,
                                          int images, int c, int channels,
                                          const gf_conv2d_shape *s, const geometry *g) {
#define SPLIT(w) split_rows(phase, tensor, map, rows, first, images, c, channels, s, g, w)
    FOR_WIDTH(SPLIT, s->in_w)
#undef SPLIT
}

GF_VECTOR_CLONES static void join_planes(float *tensor, bool add,
                                         const float *const phase[MAX_PHASES], float *rows,
                                         int first, int images, int c, int channels,
                                         const gf_conv2d_shape *s, const geometry *g) {
#define JOIN(w) join_rows(tensor, add, phase, rows, first, images, c, channels, s, g, w)
    FOR_WIDTH(JOIN, s->in_w)
#undef JOIN
}

/* Row r of an (m + 2)-row input tile is plane row m ti - 1 + r: the last phase of tile
 * row ti - 1, the m phases of tile row ti, the first phase of tile row ti + 1; the
 * same for columns. */
static const int phase_of2[4] = {1, 0, 1, 0}, shift_of2[4] = {-1, 0, 0, 1};
static const int phase_of4[6] = {3, 0, 1, 2, 3, 0}, shift_of4[6] = {-1, 0, 0, 0, 0, 1};

#define MASKED(v, m) ((gf_vec)((gf_ivec)(v) & (m)))

/* the lane masks of tiles t .. t + VL - 1 for rows and columns r = 0 .. alpha - 1 of
 * a tile (a macro, as vectors must not cross between cloned and plain functions) */
#define EDGE_MASKS(row_mask, column_mask, alpha, mask, t)                                 \
    gf_ivec row_mask[alpha], column_mask[alpha];                                          \
    for (int edge_ = 1; edge_ < (alpha) - 1; edge_++)                                     \
        row_mask[edge_] = column_mask[edge_] = ~(gf_ivec){0};                             \
    memcpy(&row_mask[0], (mask)[UP] + (t), sizeof row_mask[0]);                           \
    memcpy(&row_mask[(alpha) - 1], (mask)[DOWN] + (t), sizeof row_mask[0]);               \
    memcpy(&column_mask[0], (mask)[LEFT] + (t), sizeof column_mask[0]);                   \
    memcpy(&column_mask[(alpha) - 1], (mask)[RIGHT] + (t), sizeof column_mask[0])

/* V[xi][t] = (B^T d B)[xi] for the chunk's tiles t < n of one channel, B^T = [1 0 -1 0;
 * 0 1 1 0; 0 -1 1 0; 0 1 0 -1]; dst[xi * stride + t]. */
GF_VECTOR_CLONES static void input_transform2(float *dst, size_t stride,
                                              const float *const phase[MAX_PHASES],
                                              const int *const mask[MASKS], int n, int tw) {
    for (int t = 0; t < n; t += VL) {
        EDGE_MASKS(row_mask, column_mask, 4, mask, t);
        gf_vec d[4][4], u[4][4];
        for (int r = 0; r < 4; r++)
            for (int q = 0; q < 4; q++) {
                GF_VEC_LOAD(d[r][q], phase[phase_of2[r] * 2 + phase_of2[q]] + t +
                                         shift_of2[r] * tw + shift_of2[q]);
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

/* B^T of F(4, 3) on six values: [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 * 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1] */
#define INPUT_ROWS4(u, d)                                                     \
    do {                                                                      \
        const gf_vec sum12_ = (d)[1] + (d)[2], diff12_ = (d)[1] - (d)[2];     \
        const gf_vec sum34_ = (d)[3] + (d)[4], diff34_ = (d)[4] - (d)[3];     \
        const gf_vec rest_ = (d)[4] - (d)[2], odd_ = (d)[3] - (d)[1];         \
        (u)[0] = 4.0f * (d)[0] - 5.0f * (d)[2] + (d)[4];                      \
        (u)[1] = sum34_ - 4.0f * sum12_;                                      \
        (u)[2] = diff34_ + 4.0f * diff12_;                                    \
        (u)[3] = rest_ + 2.0f * odd_;                                         \
        (u)[4] = rest_ - 2.0f * odd_;                                         \
        (u)[5] = 4.0f * (d)[1] - 5.0f * (d)[3] + (d)[5];                      \
    } while (0)

/* V = B^T d B of F(4, 3) for the chunk's tiles t < n of one channel: each tile row
 * first (into w), then each column of w. */
GF_VECTOR_CLONES static void input_transform4(float *dst, size_t stride,
                                              const float *const phase[MAX_PHASES],
                                              const int *const mask[MASKS], int n, int tw) {
    for (int t = 0; t < n; t += VL) {
        EDGE_MASKS(row_mask, column_mask, 6, mask, t);
        gf_vec w[6][6];
        for (int r = 0; r < 6; r++) {
            gf_vec d[6];
            for (int q = 0; q < 6; q++) {
                GF_VEC_LOAD(d[q], phase[phase_of4[r] * 4 + phase_of4[q]] + t +
                                      shift_of4[r] * tw + shift_of4[q]);
                d[q] = MASKED(d[q], row_mask[r] & column_mask[q]);
            }
            INPUT_ROWS4(w[r], d);
        }
        for (int b = 0; b < 6; b++) {
            gf_vec column[6], v[6];
            for (int r = 0; r < 6; r++) column[r] = w[r][b];
            INPUT_ROWS4(v, column);
            for (int a = 0; a < 6; a++) GF_VEC_STORE(dst + (size_t)(a * 6 + b) * stride + t, v[a]);
        }
    }
}

/* Transforms a chunk's input planes into V. */
static void transform_inputs(const buffers *b, const float *tensor, const gf_channel_map *map,
                             int first, int images, const gf_conv2d_shape *s,
                             const geometry *g) {
    const size_t stride = xi_stride(s->in_channels, g);
    const int n = images * g->tiles;
    for (int c = 0; c < s->in_channels; c++) {
        split_planes(b->phase, tensor, map, b->rows, first, images, c, s->in_channels, s, g);
        float *v = b->v + (size_t)c * g->ld;
        const float *const *phase = (const float *const *)b->phase;
        const int *const *mask = (const int *const *)b->mask;
        if (g->m == 2)
            input_transform2(v, stride, phase, mask, n, g->tw);
        else
            input_transform4(v, stride, phase, mask, n, g->tw);
    }
}

/* Y = A^T M A (+ bias) for the chunk's tiles t < n of one output channel, A^T =
 * [1 1 1 0; 0 1 -1 -1], into the phase planes of the output. */
GF_VECTOR_CLONES static void output_transform2(float *const phase[MAX_PHASES], const float *m,
                                               size_t stride, float bias, int n) {
    for (int t = 0; t < n; t += VL) {
        gf_vec x[4][4], r0[4], r1[4];
        for (int a = 0; a < 4; a++)
            for (int q = 0; q < 4; q++) GF_VEC_LOAD(x[a][q], m + (size_t)(a * 4 + q) * stride + t);
        for (int q = 0; q < 4; q++) {
            r0[q] = x[0][q] + x[1][q] + x[2][q];
            r1[q] = x[1][q] - x[2][q] - x[3][q];
        }
        GF_VEC_STORE(phase[0] + t, r0[0] + r0[1] + r0[2] + bias);
        GF_VEC_STORE(phase[1] + t, r0[1] - r0[2] - r0[3] + bias);
        GF_VEC_STORE(phase[2] + t, r1[0] + r1[1] + r1[2] + bias);
        GF_VEC_STORE(phase[3] + t, r1[1] - r1[2] - r1[3] + bias);
    }
}

/* A^T of F(4, 3) on six values: [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0;
 * 0 1 -1 8 -8 1] */
#define OUTPUT_ROWS4(y, x)                                                    \
    do {                                                                      \
        const gf_vec sum12_ = (x)[1] + (x)[2], diff12_ = (x)[1] - (x)[2];     \
        const gf_vec sum34_ = (x)[3] + (x)[4], diff34_ = (x)[3] - (x)[4];     \
        (y)[0] = (x)[0] + sum12_ + sum34_;                                    \
        (y)[1] = diff12_ + 2.0f * diff34_;                                    \
        (y)[2] = sum12_ + 4.0f * sum34_;                                      \
        (y)[3] = diff12_ + 8.0f * diff34_ + (x)[5];                           \
    } while (0)

/* Y = A^T M A (+ bias) of F(4, 3): each column of M first (into r), then each row. */
GF_VECTOR_CLONES static void output_transform4(float *const phase[MAX_PHASES], const float *m,
                                               size_t stride, float bias, int n) {
    for (int t = 0; t < n; t += VL) {
        gf_vec r[4][6];
        for (int q = 0; q < 6; q++) {
            gf_vec column[6], y[4];
            for (int a = 0; a < 6; a++) GF_VEC_LOAD(column[a], m + (size_t)(a * 6 + q) * stride + t);
            OUTPUT_ROWS4(y, column);
            for (int a = 0; a < 4; a++) r[a][q] = y[a];
        }
        for (int a = 0; a < 4; a++) {
            gf_vec y[4];
            OUTPUT_ROWS4(y, r[a]);
            for (int b = 0; b < 4; b++) GF_VEC_STORE(phase[a * 4 + b] + t, y[b] + bias);
        }
    }
}

/* dM[xi][t] = (A dY A^T)[xi] for the chunk's tiles t < n of one output channel, from
 * the phase planes of the output gradient. */
GF_VECTOR_CLONES static void gradient_transform2(float *dst, size_t stride,
                                                 const float *const phase[MAX_PHASES], int n) {
    for (int t = 0; t < n; t += VL) {
        gf_vec h[4][2], top[2], bottom[2];
        GF_VEC_LOAD(top[0], phase[0] + t);
        GF_VEC_LOAD(top[1], phase[1] + t);
        GF_VEC_LOAD(bottom[0], phase[2] + t);
        GF_VEC_LOAD(bottom[1], phase[3] + t);
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

/* A of F(4, 3) (the transpose of A^T) on four values, giving six */
#define GRADIENT_ROWS4(h, y)                                                  \
    do {                                                                      \
        const gf_vec even_ = (y)[0] + (y)[2], odd_ = (y)[1] + (y)[3];         \
        const gf_vec even4_ = (y)[0] + 4.0f * (y)[2];                         \
        const gf_vec odd4_ = 2.0f * (y)[1] + 8.0f * (y)[3];                   \
        (h)[0] = (y)[0];                                                      \
        (h)[1] = even_ + odd_;                                                \
        (h)[2] = even_ - odd_;                                                \
        (h)[3] = even4_ + odd4_;                                              \
        (h)[4] = even4_ - odd4_;                                              \
        (h)[5] = (y)[3];                                                      \
    } while (0)

/* dM = A dY A^T of F(4, 3): each column of the 4 x 4 output gradient first (into h),
 * then each of h's six rows. */
GF_VECTOR_CLONES static void gradient_transform4(float *dst, size_t stride,
                                                 const float *const phase[MAX_PHASES], int n) {
    for (int t = 0; t < n; t += VL) {
        gf_vec h[6][4];
        for (int q = 0; q < 4; q++) {
            gf_vec column[4], x[6];
            for (int a = 0; a < 4; a++) GF_VEC_LOAD(column[a], phase[a * 4 + q] + t);
            GRADIENT_ROWS4(x, column);
            for (int a = 0; a < 6; a++) h[a][q] = x[a];
        }
        for (int a = 0; a < 6; a++) {
            gf_vec x[6];
            GRADIENT_ROWS4(x, h[a]);
            for (int b = 0; b < 6; b++) GF_VEC_STORE(dst + (size_t)(a * 6 + b) * stride + t, x[b]);
        }
    }
}

/* The input gradient of F(2, 3), first step: X = B dV B^T of every tile of the chunk's
 * tiles t < n of one input channel, B = [1 0 0 0; 0 1 -1 1; -1 1 1 0; 0 0 0 -1],
 * written over dV (xi = 4 r + q); gather_input_gradients then adds each position's
 * values. */
GF_VECTOR_CLONES static void tile_input_gradients2(float *dv, size_t stride, int n) {
    for (int t = 0; t < n; t += VL) {
        gf_vec d[4][4], w[4][4];
        for (int a = 0; a < 4; a++)
            for (int q = 0; q < 4; q++) GF_VEC_LOAD(d[a][q], dv + (size_t)(a * 4 + q) * stride + t);
        for (int q = 0; q < 4; q++) {
            w[0][q] = d[0][q];
            w[1][q] = d[1][q] - d[2][q] + d[3][q];
            w[2][q] = d[1][q] + d[2][q] - d[0][q];
            w[3][q] = -d[3][q];
        }
        for (int r = 0; r < 4; r++) {
            GF_VEC_STORE(dv + (size_t)(r * 4 + 0) * stride + t, w[r][0]);
            GF_VEC_STORE(dv + (size_t)(r * 4 + 1) * stride + t, w[r][1] - w[r][2] + w[r][3]);
            GF_VEC_STORE(dv + (size_t)(r * 4 + 2) * stride + t, w[r][1] + w[r][2] - w[r][0]);
            GF_VEC_STORE(dv + (size_t)(r * 4 + 3) * stride + t, -w[r][3]);
        }
    }
}

/* B of F(4, 3) (the transpose of B^T) on six values */
#define GRADIENT_INPUT_ROWS4(x, v)                                            \
    do {                                                                      \
        const gf_vec sum12_ = (v)[1] + (v)[2], diff12_ = (v)[2] - (v)[1];     \
        const gf_vec sum34_ = (v)[3] + (v)[4], diff34_ = (v)[4] - (v)[3];     \
        (x)[0] = 4.0f * (v)[0];                                               \
        (x)[1] = 4.0f * diff12_ + 2.0f * diff34_ + 4.0f * (v)[5];             \
        (x)[2] = -5.0f * (v)[0] - 4.0f * sum12_ - sum34_;                     \
        (x)[3] = -diff12_ - 2.0f * diff34_ - 5.0f * (v)[5];                   \
        (x)[4] = (v)[0] + sum12_ + sum34_;                                    \
        (x)[5] = (v)[5];                                                      \
    } while (0)

/* The input gradient of F(4, 3), first step: X = B dV B^T of every tile of the chunk's
 * tiles t < n of one input channel, each column of dV first (into w), then each row of
 * w, written over dV (xi = 6 r + q). */
GF_VECTOR_CLONES static void tile_input_gradients4(float *dv, size_t stride, int n) {
    for (int t = 0; t < n; t += VL) {
        gf_vec w[6][6];
        for (int q = 0; q < 6; q++) {
            gf_vec column[6], x[6];
            for (int a = 0; a < 6; a++) GF_VEC_LOAD(column[a], dv + (size_t)(a * 6 + q) * stride + t);
            GRADIENT_INPUT_ROWS4(x, column);
            for (int r = 0; r < 6; r++) w[r][q] = x[r];
        }
        for (int r = 0; r < 6; r++) {
            gf_vec x[6];
            GRADIENT_INPUT_ROWS4(x, w[r]);
            for (int q = 0; q < 6; q++) GF_VEC_STORE(dv + (size_t)(r * 6 + q) * stride + t, x[q]);
        }
    }
}

/* Second step, for either tile: each input position takes the X values of the tiles
 * that read it (tiles overlap their neighbours by two rows and columns): phase (pr,
 * pc) of tile t is tile t's X[pr + 1][pc + 1], plus for pr = 0 (m - 1) the tile
 * above's (below's) last row (first), for pc = 0 (m - 1) the left (right) tile's last
 * column (first), and at the corners the diagonal tile's; the masks drop tiles
 * outside the image. The phase planes are written, not added to: a tile adding onto
 * its overlapping positions loaded vectors that the store just before had partly
 * written, which the CPU cannot forward (it stalled 40% of that version's time).
 * Reads reach tw + 1 floats before and after a row of X, into the neighbouring rows of
 * the buffer, where the masks drop what they read. Inlined with a constant m. */
static inline __attribute__((always_inline)) void gather_input_gradients(
    float *const phase[MAX_PHASES], const float *x, size_t stride, const int *const mask[MASKS],
    int n, int tw, const int m) {
    const int alpha = m + 2;
    for (int t = 0; t < n; t += VL) {
        gf_ivec up, down, left, right;
        memcpy(&up, mask[UP] + t, sizeof up);
        memcpy(&down, mask[DOWN] + t, sizeof down);
        memcpy(&left, mask[LEFT] + t, sizeof left);
        memcpy(&right, mask[RIGHT] + t, sizeof right);
        for (int pr = 0; pr < m; pr++) {
            /* the neighbouring tile's row of X that reaches this phase, if any */
            const int rr = pr == 0 ? alpha - 1 : pr == m - 1 ? 0 : -1, rs = pr == 0 ? -1 : 1;
            const gf_ivec row_mask = rs < 0 ? up : down;
            for (int pc = 0; pc < m; pc++) {
                const int cr = pc == 0 ? alpha - 1 : pc == m - 1 ? 0 : -1, cs = pc == 0 ? -1 : 1;
                const gf_ivec column_mask = cs < 0 ? left : right;
                gf_vec v, e;
                GF_VEC_LOAD(v, x + (size_t)((pr + 1) * alpha + pc + 1) * stride + t);
                if (rr >= 0) {
                    GF_VEC_LOAD(e, x + (ptrdiff_t)((size_t)(rr * alpha + pc + 1) * stride + t) +
                                       rs * tw);
                    v += MASKED(e, row_mask);
                }
                if (cr >= 0) {
                    GF_VEC_LOAD(e, x + (ptrdiff_t)((size_t)((pr + 1) * alpha + cr) * stride + t) +
                                       cs);
                    v += MASKED(e, column_mask);
                }
                if (rr >= 0 && cr >= 0) {
                    GF_VEC_LOAD(e, x + (ptrdiff_t)((size_t)(rr * alpha + cr) * stride + t) +
                                       rs * tw + cs);
                    v += MASKED(e, row_mask & column_mask);
                }
                GF_VEC_STORE(phase[pr * m + pc] + t, v);
            }
        }
    }
}

/* gather_input_gradients for the tile (vectors must not cross between cloned and
 * plain functions) */
GF_VECTOR_CLONES static void gather_tile_gradients(float *const phase[MAX_PHASES],
                                                   const float *x, size_t stride,
                                                   const int *const mask[MASKS], int n, int tw,
                                                   int tile) {
    if (tile == 2)
        gather_input_gradients(phase, x, stride, mask, n, tw, 2);
    else
        gather_input_gradients(phase, x, stride, mask, n, tw, 4);
}

/* The forward's activation on the first n values of each of `count` phase planes,
 * while they are in the first-level cache: join_planes then copies whole planes. */
GF_VECTOR_CLONES static void activate_phases(float *const phase[MAX_PHASES], int count, int n,
                                             const gf_conv2d_activation *activation) {
    for (int p = 0; p < count; p++)
        gf_conv2d_output_run(phase[p], phase[p], (size_t)n, 0.0f, activation);
}

void gf_conv2d_winograd_forward(const gf_conv2d_images *a, int tile, float *out,
                                const float *in, const float *packed, const float *bias) {
    const gf_conv2d_shape *s = a->s;
    const geometry g = geometry_of(s, tile);
    buffers b;
    scratch_of(a->scratch, &b, s, &g);
    const int cin = s->in_channels, cout = s->out_channels;
    const size_t packed_floats = gf_gemm_packed_a_floats(cout, cin);
    int masked = -1; /* tiles the masks are set for */
    for (int first = a->first; first < a->last; first += g.chunk) {
        const int images = a->last - first < g.chunk ? a->last - first : g.chunk;
        const int columns = images * g.tiles;
        if (masked != columns) set_masks(&b, masked = columns, &g);
        transform_inputs(&b, in, a->input_map, first, images, s, &g);
        for (int xi = 0; xi < g.xi; xi++) {
            gf_gemm_rows(a->rows, b.v + (size_t)xi * xi_stride(cin, &g), g.ld, cin);
            gf_gemm_nn(b.products + (size_t)xi * xi_stride(cout, &g), (int)g.ld,
                       packed + (size_t)xi * packed_floats, a->rows, cout, columns, cin, false);
        }
        for (int k = 0; k < cout; k++) {
            const float *m = b.products + (size_t)k * g.ld;
            const float bias_k = bias ? bias[k] : 0.0f;
            if (tile == 2)
                output_transform2(b.phase, m, xi_stride(cout, &g), bias_k, columns);
            else
                output_transform4(b.phase, m, xi_stride(cout, &g), bias_k, columns);
            if (a->activation) activate_phases(b.phase, tile * tile, columns, a->activation);
            join_planes(out, false, (const float *const *)b.phase, b.rows, first, images, k,
                        cout, s, &g);
        }
    }
}

/* grad_weight[out][in] += G^T dU[.][in][out] G for each channel pair, in double, in
 * blocks of FOLD_OUTS output channels (two vectors of DL doubles, one 64-byte row of
 * each dU matrix) by FOLD_INS input channels, so that each output channel's gradient
 * is written as one run of FOLD_INS * 9 floats (pair by pair, 9 floats a row of
 * grad_weight apart, the stores bound the fold); inlined with a constant alpha, so
 * that its loops unroll. dU is stored [xi][in][out] (gf_gemm_nt_transposed); the outputs
 * past the last are read from zeros and dropped. */
enum { FOLD_OUTS = 2 * DL, FOLD_INS = 8 };
static inline __attribute__((always_inline)) void add_weight_gradient(
    float *grad_weight, const float *du_all, int cin, int cout, const double G[][3],
    int alpha) {
    const size_t matrix = (size_t)cin * (size_t)cout;
    for (int out0 = 0; out0 < cout; out0 += FOLD_OUTS) {
        const int outs = cout - out0 < FOLD_OUTS ? cout - out0 : FOLD_OUTS;
        for (int in0 = 0; in0 < cin; in0 += FOLD_INS) {
            const int ins = cin - in0 < FOLD_INS ? cin - in0 : FOLD_INS;
            float tile[FOLD_OUTS][FOLD_INS * 9];
            for (int i = 0; i < ins; i++) {
                dvec d[MAX_XI][2];
                for (int xi = 0; xi < alpha * alpha; xi++) {
                    const float *du = du_all + (size_t)xi * matrix + (size_t)(in0 + i) * cout + out0;
                    fvec half[2] = {{0}, {0}};
                    /* a copy of constant size is two vector loads; GCC makes one of
                     * variable size a rep movs, which cost the fold half its time */
                    if (outs == FOLD_OUTS)
                        memcpy(half, du, sizeof half);
                    else
                        memcpy(half, du, sizeof(float) * (size_t)outs);
                    d[xi][0] = __builtin_convertvector(half[0], dvec);
                    d[xi][1] = __builtin_convertvector(half[1], dvec);
                }
                for (int h = 0; h < 2; h++) {
                    dvec t[3][6]; /* G^T dU: row r, column q */
                    for (int r = 0; r < 3; r++)
                        for (int q = 0; q < alpha; q++) {
                            t[r][q] = G[0][r] * d[q][h];
                            for (int k = 1; k < alpha; k++) t[r][q] += G[k][r] * d[k * alpha + q][h];
                        }
                    for (int r = 0; r < 3; r++)
                        for (int q = 0; q < 3; q++) {
                            dvec sum = t[r][0] * G[0][q];
                            for (int k = 1; k < alpha; k++) sum += t[r][k] * G[k][q];
                            /* converted as one vector, not lane by lane */
                            const fvec rounded = __builtin_convertvector(sum, fvec);
                            for (int l = 0; l < DL; l++)
                                tile[h * DL + l][i * 9 + r * 3 + q] = rounded[l];
                        }
                }
            }
            for (int o = 0; o < outs; o++) {
                float *dw = grad_weight + ((size_t)(out0 + o) * cin + (size_t)in0) * 9;
                for (int e = 0; e < ins * 9; e++) dw[e] += tile[o][e];
            }
        }
    }
}

/* add_weight_gradient for the tile (a function of its own, compiled per instruction
 * set: vectors must not cross between cloned and plain functions) */
GF_VECTOR_CLONES static void fold_weight_gradient(float *grad_weight, const float *du_all,
                                                  int cin, int cout, int tile) {
    if (tile == 2)
        add_weight_gradient(grad_weight, du_all, cin, cout, G2, 4);
    else
        add_weight_gradient(grad_weight, du_all, cin, cout, G4, 6);
}

void gf_conv2d_winograd_backward(const gf_conv2d_images *a, int tile, float *grad_in,
                                 gf_grad_write write, float *grad_weight, const float *grad_out,
                                 const float *in, const float *packed_transposed) {
    const gf_conv2d_shape *s = a->s;
    const geometry g = geometry_of(s, tile);
    buffers b;
    scratch_of(a->scratch, &b, s, &g);
    const int cin = s->in_channels, cout = s->out_channels;
    const size_t packed_floats = gf_gemm_packed_a_floats(cin, cout);
    const size_t matrix = (size_t)cin * cout;
    if (a->first >= a->last) return;
    const float **dm_rows = a->rows, **v_rows = a->rows + cout;
    const float *const *phase = (const float *const *)b.phase;
    int masked = -1; /* tiles the masks are set for */
    for (int first = a->first; first < a->last; first += g.chunk) {
        const int images = a->last - first < g.chunk ? a->last - first : g.chunk;
        const int columns = images * g.tiles;
        if (masked != columns) set_masks(&b, masked = columns, &g);
        transform_inputs(&b, in, a->input_map, first, images, s, &g);
        for (int k = 0; k < cout; k++) {
            split_planes(b.phase, grad_out, NULL, b.rows, first, images, k, cout, s, &g);
            float *dm = b.dm + (size_t)k * g.ld;
            if (tile == 2)
                gradient_transform2(dm, xi_stride(cout, &g), phase, columns);
            else
                gradient_transform4(dm, xi_stride(cout, &g), phase, columns);
        }
        for (int xi = 0; xi < g.xi; xi++) {
            gf_gemm_rows(dm_rows, b.dm + (size_t)xi * xi_stride(cout, &g), g.ld, cout);
            gf_gemm_rows(v_rows, b.v + (size_t)xi * xi_stride(cin, &g), g.ld, cin);
            /* dU[xi][in, out] (+)= (dM[xi][out, tiles] V[xi][in, tiles]^T)^T, the first
             * chunk's stored (no clearing of dU, once per part of the batch) */
            gf_gemm_nt_transposed(b.du + (size_t)xi * matrix, cout, dm_rows, v_rows, cout, cin,
                                  columns, first > a->first, b.nt);
            if (!grad_in) continue;
            /* dV[xi][in, tiles] = U[xi]^T dM[xi] */
            gf_gemm_nn(b.products + (size_t)xi * xi_stride(cin, &g), (int)g.ld,
                       packed_transposed + (size_t)xi * packed_floats, dm_rows, cin, columns,
                       cout, false);
        }
        if (!grad_in) continue;
        for (int c = 0; c < cin; c++) {
            float *dv = b.products + (size_t)c * g.ld;
            const int *const *mask = (const int *const *)b.mask;
            if (tile == 2)
                tile_input_gradients2(dv, xi_stride(cin, &g), columns);
            else
                tile_input_gradients4(dv, xi_stride(cin, &g), columns);
            gather_tile_gradients(b.phase, dv, xi_stride(cin, &g), mask, columns, g.tw, tile);
            join_planes(grad_in, write == GF_GRAD_ADD, phase, b.rows, first, images, c, cin, s,
                        &g);
        }
    }
    /* dg = G^T dU G, per (out, in) pair, in double */
    fold_weight_gradient(grad_weight, b.du, cin, cout, tile);
}
