/* Conv2d as matrix products: per image and group, the input patches are unrolled
 * into a [C/g * k * k, out_h * out_w] matrix (im2col) and multiplied with the
 * group's weights [out/g, C/g * k * k]. A 1x1 stride-1 convolution without padding
 * needs no unrolling (the image already is that matrix); "same" convolutions (stride
 * 1, padding (k - 1) / 2) read shifted rows of a zero-padded copy instead
 * (nn/conv2d_grid.h), and 3x3 ones among them go through Winograd's F(2x2, 3x3) or
 * F(4x4, 3x3) (nn/conv2d_winograd.h); 3x3 stride-2 ones (padding 1) read shifted rows
 * of the input's parity planes (nn/conv2d_parity.h); and the depthwise case (groups == in == out channels) has its
 * own direct kernel (nn/conv2d_depthwise.h), since its matrices would have a single row.
 *
 * The batch is split over the threads of core/parallel.h as blocks handed to whichever
 * thread is free: in the forward blocks of images, in the backward fixed parts of the
 * batch, each with its own weight (and bias) gradient sums, added in part order after
 * the join, by ranges of the sums over the threads (so that no bit depends on the
 * thread count, up to 8); each thread has its
 * own patch matrix. The products are core/gemm.h's kernels (see there why not BLAS).
 *
 * Workspace layout: [shared packed weights][part 0 gradients][part 1 gradients]...
 * [thread 0 scratch][thread 1 scratch]..., a part's gradients being [weight gradient]
 * [bias gradient], each thread's scratch [patch matrix, padded grids or transformed
 * tiles][gathered outputs][row table of the products][the weight-gradient product's
 * scratch]. */
#include "nn/conv2d.h"

#include <stdbool.h>
#include <string.h>

#include "core/error.h"
#include "core/gemm.h"
#include "core/parallel.h"
#include "core/size.h"
#include "nn/conv2d_depthwise.h"
#include "nn/conv2d_grid.h"
#include "nn/conv2d_parity.h"
#include "nn/conv2d_winograd.h"
#include "nn/moments.h"

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
    /* in int64, so that no size overflows; the kernels index planes with int */
    int64_t padded_h = (int64_t)s->in_h + 2 * (int64_t)s->padding;
    int64_t padded_w = (int64_t)s->in_w + 2 * (int64_t)s->padding;
    if (padded_h < s->kernel || padded_w < s->kernel)
        return gf_fail("conv2d: kernel %d is larger than the padded input %lldx%lld "
                       "(input %dx%d, padding %d)",
                       s->kernel, (long long)padded_h, (long long)padded_w, s->in_h, s->in_w,
                       s->padding);
    int64_t kernel_area = (int64_t)s->kernel * s->kernel;
    /* each test keeps the next product inside int64; the output is no larger */
    if (padded_h > INT32_MAX || padded_w > INT32_MAX || padded_h * padded_w > INT32_MAX ||
        kernel_area > INT32_MAX ||
        (int64_t)(s->in_channels / s->groups) * kernel_area > INT32_MAX ||
        (int64_t)(s->out_channels / s->groups) * kernel_area > INT32_MAX)
        return gf_fail("conv2d: sizes too large for the kernels (padded input %lldx%lld, "
                       "%d input and %d output channels per group, kernel %d; planes and "
                       "patch rows must stay below 2^31)",
                       (long long)padded_h, (long long)padded_w, s->in_channels / s->groups,
                       s->out_channels / s->groups, s->kernel);
    int64_t out_h = (padded_h - s->kernel) / s->stride + 1;
    int64_t out_w = (padded_w - s->kernel) / s->stride + 1;
    s->out_h = (int)out_h;
    s->out_w = (int)out_w;
    return GF_OK;
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
 * (0 outside the image), for `channels` planes starting at `in`; rows are `ld` apart. */
static void im2col(float *col, size_t ld, const float *in, int channels,
                   const gf_conv2d_shape *s) {
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
                float *row = col + ((size_t)(c * k + kh) * k + kw) * ld;
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
static void col2im_add(float *in, const float *col, size_t ld, int channels,
                       const gf_conv2d_shape *s) {
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
                const float *row = col + ((size_t)(c * k + kh) * k + kw) * ld;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *src = row + (size_t)oh * ow_n;
                    float *dst = plane + (size_t)(oh * st - pad + kh) * w - pad + kw;
                    if (st == 1) /* contiguous: the compiler vectorises this */
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] += src[ow];
                    else
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow * st] += src[ow];
                }
            }
        }
    }
}

static bool is_depthwise(const gf_conv2d_shape *s) {
    return s->groups == s->in_channels && s->groups == s->out_channels && s->groups > 1;
}

static bool is_pointwise(const gf_conv2d_shape *s) {
    return s->kernel == 1 && s->stride == 1 && s->padding == 0;
}

/* rows of the unrolled patch matrix of one group */
static size_t patch_rows(const gf_conv2d_shape *s) {
    return gf_size_mul((size_t)(s->in_channels / s->groups), (size_t)s->kernel * (size_t)s->kernel);
}

static size_t out_plane(const gf_conv2d_shape *s) { return (size_t)s->out_h * s->out_w; }
static size_t in_plane(const gf_conv2d_shape *s) { return (size_t)s->in_h * s->in_w; }

static size_t weight_floats(const gf_conv2d_shape *s) {
    return gf_size_mul((size_t)s->out_channels, patch_rows(s));
}

static bool winograd_enabled = true;
static int winograd_forced_tile = 0; /* 0: gf_conv2d_winograd_tile_for */

void gf_conv2d_use_winograd(bool on) { winograd_enabled = on; }

int gf_conv2d_force_winograd_tile(int tile) {
    if (tile != 0 && tile != 2 && tile != 4)
        return gf_fail("conv2d: Winograd tile %d is none of 0 (by the rule), 2 and 4", tile);
    winograd_forced_tile = tile;
    return GF_OK;
}

static int winograd_tile(const gf_conv2d_shape *s) {
    return winograd_forced_tile ? winograd_forced_tile : gf_conv2d_winograd_tile_for(s);
}

/* The path a convolution takes. Workspace sizes cover both the Winograd and the grid
 * path where both apply, so that gf_conv2d_use_winograd never invalidates one. */
static bool uses_winograd(const gf_conv2d_shape *s) {
    return winograd_enabled && gf_conv2d_winograd_applies(s);
}

static bool uses_grid(const gf_conv2d_shape *s) {
    return !uses_winograd(s) && gf_conv2d_grid_applies(s);
}

static bool parity_enabled = true;

void gf_conv2d_use_parity_planes(bool on) { parity_enabled = on; }

/* Workspace sizes cover the parity planes and im2col where the former apply. */
static bool uses_parity(const gf_conv2d_shape *s) {
    return parity_enabled && gf_conv2d_parity_applies(s);
}

static size_t larger(size_t a, size_t b) { return a > b ? a : b; }

/* packed weights for the forward product, or packed transposed (for the grid path:
 * flipped, plus the unpacked flipped matrix) weights for the input gradient, of every
 * group */
static size_t shared_floats(const gf_conv2d_shape *s) {
    if (is_depthwise(s)) return 0;
    const int rows = (int)patch_rows(s), cout_g = s->out_channels / s->groups;
    size_t forward = gf_size_mul((size_t)s->groups, gf_gemm_packed_a_floats(cout_g, rows));
    size_t backward = gf_size_mul((size_t)s->groups, gf_gemm_packed_a_floats(rows, cout_g));
    if (gf_conv2d_grid_applies(s))
        backward = gf_size_add(gf_size_mul((size_t)s->groups, gf_conv2d_grid_flipped_floats(s)),
                               gf_conv2d_grid_flipped_scratch_floats(s));
    if (gf_conv2d_parity_applies(s))
        backward = larger(backward, gf_conv2d_parity_transposed_floats(s));
    size_t floats = larger(forward, backward);
    return gf_conv2d_winograd_applies(s) ? larger(floats, gf_conv2d_winograd_shared_floats(s))
                                         : floats;
}

/* Small images are processed a chunk at a time, side by side in one patch matrix
 * [rows, chunk * P], so that the products have long rows (and the weight gradient
 * a long sum) instead of one short product per image. About 1 MiB of patches. */
static int chunk_images(const gf_conv2d_shape *s) {
    if (gf_conv2d_grid_applies(s)) return gf_conv2d_grid_chunk(s);
    size_t per_image = gf_size_mul(patch_rows(s), out_plane(s));
    size_t chunk = ((size_t)1 << 18) / (per_image ? per_image : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > (size_t)s->batch) chunk = (size_t)s->batch;
    return (int)chunk;
}

static bool pointwise_images_enabled = true;

/* Whether a 1x1 stride-1 convolution's products read the chunk's input planes and
 * write its output planes where they lie (gf_gemm_nn_segmented, gf_gemm_nt_segmented),
 * with no gathered copy either way: one image always (one segment), several when the
 * planes are whole vectors of 16. */
static bool reads_in_place(const gf_conv2d_shape *s, int images) {
    return is_pointwise(s) &&
           (images == 1 || (pointwise_images_enabled && in_plane(s) % 16 == 0));
}

void gf_conv2d_use_pointwise_images(bool on) { pointwise_images_enabled = on; }

/* Images a 1x1 stride-1 forward multiplies at a time: one, read and written in place,
 * for layers with more outputs than inputs and for planes below GF_MOMENTS_MIN_PLANE
 * that fill whole column blocks of gf_gemm_nn (bench_kernels: faster so than chunks,
 * gathered or read in place, e.g. 16->96 at 32x32 5.9 against 7.9 ms read in place);
 * a chunk otherwise, read in place where reads_in_place, else gathered and copied back
 * (which on larger planes was slower one image at a time still). */
static int forward_chunk_images(const gf_conv2d_shape *s) {
    const size_t op = out_plane(s);
    if (pointwise_images_enabled && is_pointwise(s) &&
        (s->out_channels > s->in_channels || (op < GF_MOMENTS_MIN_PLANE && op % 32 == 0)))
        return 1;
    return chunk_images(s);
}

/* Images a 1x1 stride-1 backward multiplies at a time: one, read and written in
 * place, where gathering chunks of images (the output gradient, and the input gradient
 * copied back) cost more than the shorter weight-gradient sums over one image lose:
 * planes of 32x32 and more, and 16x16 ones of layers with more outputs than inputs
 * (measured; smaller planes lost, as did 16x16 ones of the other layers); a chunk
 * otherwise. */
static int backward_chunk_images(const gf_conv2d_shape *s) {
    const size_t op = out_plane(s);
    if (pointwise_images_enabled && is_pointwise(s) &&
        (op >= 4 * GF_MOMENTS_MIN_PLANE ||
         (op >= GF_MOMENTS_MIN_PLANE && s->out_channels > s->in_channels)))
        return 1;
    return chunk_images(s);
}

static size_t round_to_line(size_t floats) { return gf_size_round_up(floats, 16); }

/* depthwise, per thread: every channel's filter-gradient sums over the part of the batch
 * at hand, after the planes' scratch */
static size_t depthwise_sums_floats(const gf_conv2d_shape *s) {
    return gf_size_mul((size_t)s->in_channels, gf_conv2d_depthwise_filter_sums_floats(s));
}

/* per thread: the patch matrix, the padded grids, or for depthwise two padded planes
 * and the filter-gradient sums */
static size_t patch_floats(const gf_conv2d_shape *s) {
    if (is_depthwise(s))
        return gf_size_add(round_to_line(gf_conv2d_depthwise_scratch_floats(s)),
                           depthwise_sums_floats(s));
    if (gf_conv2d_winograd_applies(s))
        return larger(gf_conv2d_grid_scratch_floats(s), gf_conv2d_winograd_scratch_floats(s));
    if (gf_conv2d_grid_applies(s)) return gf_conv2d_grid_scratch_floats(s);
    size_t floats = gf_size_mul(gf_size_mul(patch_rows(s), out_plane(s)), (size_t)chunk_images(s));
    return gf_conv2d_parity_applies(s) ? larger(floats, gf_conv2d_parity_scratch_floats(s)) : floats;
}

/* one group's outputs (or output gradients) of a chunk, side by side */
static size_t gathered_floats(const gf_conv2d_shape *s) {
    if (is_depthwise(s) || gf_conv2d_grid_applies(s) || chunk_images(s) == 1) return 0;
    return gf_size_mul(gf_size_mul((size_t)(s->out_channels / s->groups), out_plane(s)),
                       (size_t)chunk_images(s));
}

/* entries of the row table: the rows of B of one product, and of A for the weight
 * gradient */
static size_t row_table_entries(const gf_conv2d_shape *s) {
    if (is_depthwise(s)) return 0;
    if (gf_conv2d_winograd_applies(s))
        return larger(2 * gf_conv2d_grid_row_count(s), gf_conv2d_winograd_row_count(s));
    if (gf_conv2d_grid_applies(s)) return 2 * gf_conv2d_grid_row_count(s);
    size_t entries = gf_size_add(patch_rows(s), (size_t)(s->out_channels / s->groups));
    return gf_conv2d_parity_applies(s) ? larger(entries, gf_conv2d_parity_row_count(s)) : entries;
}

static size_t row_table_floats(const gf_conv2d_shape *s) {
    size_t bytes = gf_size_mul(row_table_entries(s), sizeof(float *));
    return round_to_line(gf_size_round_up(bytes, sizeof(float)) / sizeof(float));
}

/* the weight-gradient product's scratch (the grid path keeps its own) */
static size_t product_floats(const gf_conv2d_shape *s) {
    if (is_depthwise(s) || gf_conv2d_grid_applies(s)) return 0;
    return gf_gemm_nt_scratch_floats((int)(out_plane(s) * (size_t)chunk_images(s)));
}

static size_t thread_floats(const gf_conv2d_shape *s) {
    size_t floats = gf_size_add(round_to_line(patch_floats(s)), round_to_line(gathered_floats(s)));
    floats = gf_size_add(floats, row_table_floats(s));
    return gf_size_add(floats, round_to_line(product_floats(s)));
}

/* The backward sums the weight and bias gradients over fixed parts of the batch, each
 * part into its own buffer, and then the parts' sums in order: the bits depend neither
 * on which thread takes which part, so the threads take the parts from a queue (a
 * thread on a slower CPU takes fewer), nor on the thread count up to PARTS_MIN threads.
 * At most max_parts() parts, each whole chunks of the path's where the batch allows. */
enum { PARTS_MIN = 8, MAX_PARTS = GF_MAX_THREADS > PARTS_MIN ? GF_MAX_THREADS : PARTS_MIN };

/* PARTS_MIN, or one part per thread where there are more threads */
static int64_t max_parts(void) {
    const int threads = gf_parallel_threads();
    return threads > PARTS_MIN ? threads : PARTS_MIN;
}

/* floats of one part's weight and bias gradients */
static size_t part_floats(const gf_conv2d_shape *s) {
    return round_to_line(gf_size_add(weight_floats(s), (size_t)s->out_channels));
}

/* saturates at GF_SIZE_OVERFLOW (core/size.h) when the sizes do not fit */
size_t gf_conv2d_workspace_floats(const gf_conv2d_shape *s) {
    const size_t shared = gf_size_add(round_to_line(shared_floats(s)),
                                      gf_size_mul((size_t)max_parts(), part_floats(s)));
    return gf_size_add(shared, gf_size_mul((size_t)gf_parallel_threads(), thread_floats(s)));
}

typedef struct conv_job {
    const gf_conv2d_shape *s;
    float *out, *grad_in;
    const float *in, *weight, *bias, *grad_out;
    bool want_bias_grad;
    gf_grad_write write; /* of grad_in */
    float *workspace;
    const float *packed; /* per-group packed weights (forward) or transposed (backward) */
    gf_moments *moments; /* forward: the output planes' moments [batch][out_channels], or NULL */
    const gf_conv2d_activation *activation; /* forward: on the outputs, NULL if none */
    const gf_channel_map *input_map;        /* the input read through it, NULL if none */
    int64_t part_starts[MAX_PARTS + 1];      /* backward: split_into_parts */
} conv_job;

typedef struct thread_buffers {
    float *patches, *gathered, *product;
    const float **rows;
} thread_buffers;

/* part p's weight gradient, its bias gradient right after */
static float *part_gradients(const conv_job *job, int64_t p) {
    return job->workspace + round_to_line(shared_floats(job->s)) + (size_t)p * part_floats(job->s);
}

static thread_buffers buffers_of(const conv_job *job, int thread) {
    const gf_conv2d_shape *s = job->s;
    thread_buffers b;
    b.patches = part_gradients(job, max_parts()) + (size_t)thread * thread_floats(s);
    b.gathered = b.patches + round_to_line(patch_floats(s));
    /* 16-float (64-byte) aligned, like the whole workspace, so fit for pointers */
    b.rows = (const float **)(void *)(b.gathered + round_to_line(gathered_floats(s)));
    b.product = (float *)(void *)b.rows + row_table_floats(s);
    return b;
}

static gf_conv2d_images thread_images(const gf_conv2d_shape *s, const thread_buffers *buf,
                                         int64_t first, int64_t last) {
    gf_conv2d_images images = {.s = s, .first = (int)first, .last = (int)last,
                                    .scratch = buf->patches, .rows = buf->rows};
    return images;
}

/* How gather_rows moves a matrix and a tensor's planes. */
typedef enum gather_way { TO_MATRIX, ADD_TO_TENSOR, STORE_TO_TENSOR } gather_way;

/* Copies channels [first, first + count) of images n0 .. n0 + images - 1 of a
 * [N, channels_total, P] tensor into rows of a [count, images * P] matrix (through
 * `map` where not NULL), or back (adding or storing). */
static void gather_rows(float *matrix, float *tensor, const gf_channel_map *map, int n0,
                        int images, int first, int count, int channels_total, size_t plane,
                        gather_way way) {
    const size_t ld = (size_t)images * plane;
    for (int i = 0; i < images; i++)
        for (int c = 0; c < count; c++) {
            float *t = tensor + ((size_t)(n0 + i) * channels_total + first + c) * plane;
            float *m = matrix + (size_t)c * ld + (size_t)i * plane;
            if (way == ADD_TO_TENSOR)
                for (size_t p = 0; p < plane; p++) t[p] += m[p];
            else if (way == STORE_TO_TENSOR)
                memcpy(t, m, sizeof(float) * plane);
            else if (map)
                gf_channel_map_plane(m, t, plane, map, first + c);
            else
                memcpy(m, t, sizeof(float) * plane);
        }
}

/* The patch matrix of group g for a chunk (the 1x1 stride-1 convolutions' gathered,
 * through the job's input map if any); returns it and its row length. */
static const float *chunk_patches(const conv_job *job, float *patches, int n0, int images,
                                  int g, size_t *ld) {
    const gf_conv2d_shape *s = job->s;
    const int cin_g = s->in_channels / s->groups;
    const size_t ip = in_plane(s), op = out_plane(s);
    *ld = (size_t)images * op;
    if (is_pointwise(s)) {
        gather_rows(patches, (float *)job->in, job->input_map, n0, images, g * cin_g, cin_g,
                    s->in_channels, ip, TO_MATRIX);
        return patches;
    }
    for (int i = 0; i < images; i++)
        im2col(patches + (size_t)i * op, *ld,
               job->in + ((size_t)(n0 + i) * s->in_channels + (size_t)g * cin_g) * ip, cin_g, s);
    return patches;
}

/* The row table of group g's input planes for a chunk read in place: where they lie,
 * or, through the job's input map, their mapped copies side by side in `patches`.
 * Returns the distance between two images' planes in those rows (the products'
 * segment stride). */
static size_t in_place_rows(const conv_job *job, float *patches, const float **table, int64_t n0,
                            int images, int g) {
    const gf_conv2d_shape *s = job->s;
    const int cin_g = s->in_channels / s->groups; /* a 1x1 convolution's patch rows */
    const size_t ip = in_plane(s);
    if (job->input_map) {
        size_t ld;
        const float *mapped = chunk_patches(job, patches, (int)n0, images, g, &ld);
        gf_gemm_rows(table, mapped, ld, cin_g);
        return out_plane(s);
    }
    gf_gemm_rows(table, job->in + ((size_t)n0 * s->in_channels + (size_t)g * cin_g) * ip, ip,
                 cin_g);
    return (size_t)s->in_channels * ip;
}

/* Rows of output channels a product computes at a time when the moments of their
 * planes are wanted, so that those are taken while the planes are in cache: a multiple
 * of every kernel set's panel height (core/gemm.c: 8, 6, 4). */
enum { MOMENT_ROWS = 24 };

/* the moments of output planes first .. first + count - 1 (index n * out_channels +
 * c), when they are wanted */
static void take_moments(const conv_job *job, size_t first, size_t count) {
    if (!job->moments) return;
    const size_t op = out_plane(job->s);
    for (size_t p = first; p < first + count; p++)
        job->moments[p] = gf_moments_of_plane(job->out + p * op, op);
}

/* A depthwise convolution's next input plane (and in backward the next output
 * gradient's) is fetched before the plane at hand is computed: planes of 16x16 and
 * more each start a page or more away, where the hardware prefetcher begins afresh;
 * smaller ones lie several to a page, and its stream does better on them. */
enum { DEPTHWISE_PREFETCH_MIN_PLANE = 256 };

static void prefetch_plane(const float *plane, size_t floats) {
    for (size_t k = 0; k < floats; k += 16) __builtin_prefetch(plane + k);
}

/* the outputs of images first .. last - 1, each chunk's planes' moments right after */
static void forward_range(const conv_job *job, const thread_buffers *buf, int64_t first,
                          int64_t last) {
    const gf_conv2d_shape *s = job->s;
    const int groups = s->groups, cout_g = s->out_channels / groups;
    const int rows = (int)patch_rows(s);
    const size_t ip = in_plane(s), op = out_plane(s), planes = (size_t)s->out_channels;
    if (is_depthwise(s)) {
        gf_conv2d_depthwise_layout layout;
        gf_conv2d_depthwise_prepare(&layout, s, buf->patches);
        layout.input_map = job->input_map;
        for (int64_t n = first; n < last; n++)
            for (int c = 0; c < s->in_channels; c++) {
                const bool more = n + 1 < last || c + 1 < s->in_channels;
                if (ip >= DEPTHWISE_PREFETCH_MIN_PLANE && more)
                    prefetch_plane(job->in + ((size_t)n * s->in_channels + c + 1) * ip, ip);
                float *plane = job->out + ((size_t)n * s->out_channels + c) * op;
                gf_conv2d_depthwise_forward_plane(plane,
                                        job->in + ((size_t)n * s->in_channels + c) * ip, c,
                                        job->weight + (size_t)c * s->kernel * s->kernel,
                                        job->bias ? job->bias[c] : 0.0f, &layout, buf->patches);
                if (job->activation) /* the plane is still in cache */
                    gf_conv2d_output_run(plane, plane, op, 0.0f, job->activation);
                take_moments(job, (size_t)n * planes + (size_t)c, 1);
            }
        return;
    }
    if (uses_winograd(s) || uses_grid(s) || uses_parity(s)) {
        /* the paths loop over chunks of their own; given one chunk at a time, their
         * outputs are still in cache for the moments */
        const int64_t chunk = !job->moments ? last - first
                              : uses_winograd(s) ? gf_conv2d_winograd_chunk(s, winograd_tile(s))
                              : uses_parity(s)   ? gf_conv2d_parity_chunk(s)
                                                 : chunk_images(s);
        for (int64_t n0 = first; n0 < last; n0 += chunk) {
            const int64_t n1 = last - n0 < chunk ? last : n0 + chunk;
            gf_conv2d_images images = thread_images(s, buf, n0, n1);
            images.activation = job->activation;
            images.input_map = job->input_map;
            if (uses_winograd(s))
                gf_conv2d_winograd_forward(&images, winograd_tile(s),
                                           job->out, job->in, job->packed, job->bias);
            else if (uses_parity(s))
                gf_conv2d_parity_forward(&images, job->out, job->in, job->packed, job->bias);
            else
                gf_conv2d_grid_forward(&images, job->out, job->in, job->packed, job->bias);
            take_moments(job, (size_t)n0 * planes, (size_t)(n1 - n0) * planes);
        }
        return;
    }
    const int chunk = forward_chunk_images(s), block = job->moments ? MOMENT_ROWS : cout_g;
    for (int64_t n0 = first; n0 < last; n0 += chunk) {
        const int images = (int)(last - n0 < chunk ? last - n0 : chunk);
        for (int g = 0; g < groups; g++) {
            size_t ld, b_stride = 0;
            const bool in_place = reads_in_place(s, images);
            if (in_place) {
                ld = (size_t)images * op;
                b_stride = in_place_rows(job, buf->patches, buf->rows, n0, images, g);
            } else {
                const float *patches = chunk_patches(job, buf->patches, (int)n0, images, g, &ld);
                gf_gemm_rows(buf->rows, patches, ld, rows);
            }
            const float *packed = job->packed + (size_t)g * gf_gemm_packed_a_floats(cout_g, rows);
            for (int r0 = 0; r0 < cout_g; r0 += block) {
                const int m = cout_g - r0 < block ? cout_g - r0 : block, c0 = g * cout_g + r0;
                /* packed A holds whole panels of rows: r0 starts one; the outputs go
                 * straight to their planes where read in place or of one image (one
                 * segment: B's segment stride then unused) */
                if (in_place || images == 1) {
                    gf_gemm_nn_segmented(
                        job->out + ((size_t)n0 * s->out_channels + (size_t)c0) * op, (int)op,
                        (size_t)s->out_channels * op, packed + (size_t)r0 * rows, buf->rows,
                        b_stride, op, m, (int)ld, rows, false);
                } else {
                    gf_gemm_nn(buf->gathered, (int)ld, packed + (size_t)r0 * rows, buf->rows, m,
                               (int)ld, rows, false);
                    for (int i = 0; i < images; i++)
                        for (int c = 0; c < m; c++)
                            memcpy(job->out + ((size_t)(n0 + i) * s->out_channels + c0 + c) * op,
                                   buf->gathered + (size_t)c * ld + (size_t)i * op,
                                   sizeof(float) * op);
                }
                for (int i = 0; i < images; i++) {
                    const size_t plane0 = (size_t)(n0 + i) * planes + (size_t)c0;
                    if (job->bias || job->activation)
                        for (int c = 0; c < m; c++) {
                            float *row = job->out + (plane0 + (size_t)c) * op;
                            gf_conv2d_output_run(row, row, op, job->bias ? job->bias[c0 + c] : 0.0f,
                                                 job->activation);
                        }
                    take_moments(job, plane0, (size_t)m);
                }
            }
        }
    }
}

/* Images per block of the forward's queue: whole chunks of the path's, about an eighth
 * of a thread's share, so that a thread that runs ahead takes over blocks of one that
 * falls behind. Each output depends on its image alone, so the bits are the same
 * whoever computes it. */
static int64_t forward_block(const gf_conv2d_shape *s) {
    const int64_t chunk = is_depthwise(s)     ? 1
                          : uses_winograd(s) ? gf_conv2d_winograd_chunk(s, winograd_tile(s))
                          : uses_parity(s)   ? gf_conv2d_parity_chunk(s)
                          : uses_grid(s)     ? chunk_images(s)
                                             : forward_chunk_images(s);
    return gf_parallel_block(s->batch, chunk);
}

static void forward_images(void *ctx, int thread, int64_t first, int64_t last) {
    const conv_job *job = ctx;
    const thread_buffers buf = buffers_of(job, thread);
    forward_range(job, &buf, first, last);
}

bool gf_conv2d_maps_input(const gf_conv2d_shape *s) {
    return uses_winograd(s) || is_pointwise(s) ||
           (is_depthwise(s) && gf_conv2d_depthwise_maps_input(s));
}

static int check_input_map(const gf_channel_map *map, const gf_conv2d_shape *s,
                           const char *pass) {
    if (map && !gf_conv2d_maps_input(s))
        return gf_fail("conv2d %s: an input map needs a 3x3 stride-1 convolution on "
                       "Winograd's path, a 1x1 stride-1 one or a depthwise one its flat "
                       "planes take (%d->%d "
                       "channels, kernel %d, stride %d, %dx%d)",
                       pass, s->in_channels, s->out_channels, s->kernel, s->stride, s->in_h,
                       s->in_w);
    return GF_OK;
}

static int forward(float *out, gf_moments *moments, const float *in, const gf_channel_map *map,
                   const float *weight, const float *bias,
                   const gf_conv2d_activation *activation, const gf_conv2d_shape *s,
                   float *workspace) {
    if (!workspace)
        return gf_fail("conv2d forward: no workspace (%zu floats needed)",
                       gf_conv2d_workspace_floats(s));
    if (check_input_map(map, s, "forward") != GF_OK) return GF_ERR;
    conv_job job = {.s = s, .out = out, .in = in, .weight = weight, .bias = bias,
                    .workspace = workspace, .packed = workspace, .moments = moments,
                    .activation = activation, .input_map = map};
    if (uses_winograd(s)) {
        gf_conv2d_winograd_pack(workspace, weight, s, winograd_tile(s), false);
    } else if (!is_depthwise(s)) {
        const int rows = (int)patch_rows(s), cout_g = s->out_channels / s->groups;
        for (int g = 0; g < s->groups; g++)
            gf_gemm_pack_a(workspace + (size_t)g * gf_gemm_packed_a_floats(cout_g, rows),
                           weight + (size_t)g * cout_g * rows, rows, false, cout_g, rows);
    }
    gf_parallel_for(s->batch, forward_block(s), 1, forward_images, &job);
    return GF_OK;
}

int gf_conv2d_forward_moments(float *out, gf_moments *moments, const float *in,
                              const float *weight, const float *bias, const gf_conv2d_shape *s,
                              float *workspace) {
    return forward(out, moments, in, NULL, weight, bias, NULL, s, workspace);
}

int gf_conv2d_forward_mapped(float *out, gf_moments *moments, const float *in,
                             const gf_channel_map *map, const float *weight, const float *bias,
                             const gf_conv2d_shape *s, float *workspace) {
    return forward(out, moments, in, map, weight, bias, NULL, s, workspace);
}

int gf_conv2d_forward(float *out, const float *in, const float *weight, const float *bias,
                      const gf_conv2d_shape *s, float *workspace) {
    return forward(out, NULL, in, NULL, weight, bias, NULL, s, workspace);
}

int gf_conv2d_forward_inference(float *out, const float *in, const float *weight,
                                const float *bias, const gf_conv2d_activation *activation,
                                const gf_conv2d_shape *s, float *workspace) {
    return forward(out, NULL, in, NULL, weight, bias, activation, s, workspace);
}

static void backward_depthwise(const conv_job *job, const thread_buffers *buf,
                               float *grad_weight, int64_t first, int64_t last) {
    const gf_conv2d_shape *s = job->s;
    const size_t ip = in_plane(s), op = out_plane(s);
    const int kk = s->kernel * s->kernel;
    const size_t sums_floats = gf_conv2d_depthwise_filter_sums_floats(s);
    float *sums = buf->patches + round_to_line(gf_conv2d_depthwise_scratch_floats(s));
    memset(sums, 0, sizeof(float) * depthwise_sums_floats(s));
    gf_conv2d_depthwise_layout layout;
    gf_conv2d_depthwise_prepare(&layout, s, buf->patches);
    layout.input_map = job->input_map;
    for (int64_t n = first; n < last; n++)
        for (int c = 0; c < s->in_channels; c++) {
            size_t in_offset = ((size_t)n * s->in_channels + c) * ip;
            const bool more = n + 1 < last || c + 1 < s->in_channels;
            if (ip >= DEPTHWISE_PREFETCH_MIN_PLANE && more) {
                prefetch_plane(job->in + in_offset + ip, ip);
                prefetch_plane(job->grad_out + ((size_t)n * s->out_channels + c + 1) * op, op);
            }
            gf_conv2d_depthwise_backward_plane(
                job->grad_in ? job->grad_in + in_offset : NULL, job->write == GF_GRAD_ADD,
                sums + (size_t)c * sums_floats,
                job->grad_out + ((size_t)n * s->out_channels + c) * op, job->in + in_offset, c,
                job->weight + (size_t)c * kk, &layout, buf->patches);
        }
    for (int c = 0; c < s->in_channels; c++)
        gf_conv2d_depthwise_take_filter_sums(grad_weight + (size_t)c * kk,
                                             sums + (size_t)c * sums_floats, &layout);
}

/* Images a backward takes at a time (the parts of the batch are whole multiples of it
 * where the batch allows). */
static int backward_chunk(const gf_conv2d_shape *s) {
    if (is_depthwise(s)) return 1;
    if (uses_winograd(s)) return gf_conv2d_winograd_chunk(s, winograd_tile(s));
    if (uses_grid(s)) return gf_conv2d_grid_chunk(s);
    if (uses_parity(s)) return gf_conv2d_parity_chunk(s);
    return backward_chunk_images(s);
}

/* The parts of the batch: whole chunks of the path's, as many parts as max_parts()
 * where the chunks allow, largest first, so that the last ones the threads take from
 * the queue are short and a thread that ends its last part early waits less for the
 * other's: part p ends near chunk K (1 - (1 - (p + 1) / P)^2) of K, the sizes falling
 * from about a quarter of the batch to a sixty-fourth, each at least one chunk. A
 * function of the shape alone. Fills starts[0 .. P] with the parts' first images
 * (starts[P]: the batch) and returns P. */
static int64_t split_into_parts(const gf_conv2d_shape *s, int64_t starts[MAX_PARTS + 1]) {
    const int64_t chunk = backward_chunk(s), chunks = ((int64_t)s->batch + chunk - 1) / chunk;
    const int64_t parts = chunks < max_parts() ? chunks : max_parts(), square = parts * parts;
    int64_t start = 0; /* in chunks */
    starts[0] = 0;
    for (int64_t p = 1; p <= parts; p++) {
        const int64_t left = parts - p;
        int64_t end = (chunks * (square - left * left) + square / 2) / square;
        if (end > chunks - left) end = chunks - left; /* a chunk for each part after */
        start = end > start ? end : start + 1;
        starts[p] = start * chunk < s->batch ? start * chunk : s->batch;
    }
    return parts;
}

/* The gradients of images first .. last - 1: the input's (stored or added) and the sums
 * of the weight and bias gradients over these images, added into grad_weight and
 * grad_bias. */
static void backward_range(const conv_job *job, const thread_buffers *buf, float *grad_weight,
                           float *grad_bias, int64_t first, int64_t last) {
    const gf_conv2d_shape *s = job->s;
    const int groups = s->groups, cin_g = s->in_channels / groups;
    const int cout_g = s->out_channels / groups, rows = (int)patch_rows(s);
    const size_t ip = in_plane(s), op = out_plane(s);
    if (job->want_bias_grad)
        for (int64_t n = first; n < last; n++)
            for (int c = 0; c < s->out_channels; c++) {
                const float *g = job->grad_out + ((size_t)n * s->out_channels + c) * op;
                float sum = 0.0f;
                for (size_t i = 0; i < op; i++) sum += g[i];
                grad_bias[c] += sum;
            }
    if (uses_winograd(s)) {
        gf_conv2d_images images = thread_images(s, buf, first, last);
        images.input_map = job->input_map;
        gf_conv2d_winograd_backward(&images, winograd_tile(s), job->grad_in, job->write,
                                    grad_weight, job->grad_out, job->in, job->packed);
        return;
    }
    if (uses_grid(s)) {
        const gf_conv2d_images images = thread_images(s, buf, first, last);
        gf_conv2d_grid_backward(&images, job->grad_in, job->write, grad_weight, job->grad_out,
                                job->in, job->packed);
        return;
    }
    if (uses_parity(s)) {
        const gf_conv2d_images images = thread_images(s, buf, first, last);
        gf_conv2d_parity_backward(&images, job->grad_in, job->write, grad_weight,
                                  job->grad_out, job->in, job->packed);
        return;
    }
    if (is_depthwise(s)) {
        backward_depthwise(job, buf, grad_weight, first, last);
        return;
    }
    /* im2col's path adds up overlapping contributions: storing means clearing this
     * thread's images first; 1x1 products store straight into their planes */
    const bool store = job->write == GF_GRAD_STORE;
    if (job->grad_in && store && !is_pointwise(s))
        memset(job->grad_in + (size_t)first * s->in_channels * ip, 0,
               sizeof(float) * (size_t)(last - first) * s->in_channels * ip);
    const int chunk = backward_chunk_images(s);
    const float **patch_rows_table = buf->rows, **grad_rows_table = buf->rows + rows;
    for (int64_t n0 = first; n0 < last; n0 += chunk) {
        const int images = (int)(last - n0 < chunk ? last - n0 : chunk);
        for (int g = 0; g < groups; g++) {
            const float *grad_g = job->grad_out + ((size_t)n0 * s->out_channels + (size_t)g * cout_g) * op;
            const float *packed_t = job->packed + (size_t)g * gf_gemm_packed_a_floats(rows, cout_g);
            if (reads_in_place(s, images)) {
                /* the chunk's planes read and written where they lie */
                const int columns = images * (int)op;
                const size_t in_stride =
                    in_place_rows(job, buf->patches, patch_rows_table, n0, images, g);
                gf_gemm_rows(grad_rows_table, grad_g, op, cout_g);
                gf_gemm_nt_segmented(grad_weight + (size_t)g * cout_g * rows, rows,
                                     grad_rows_table, (size_t)s->out_channels * op,
                                     patch_rows_table, in_stride, op, cout_g, rows, columns, true,
                                     buf->product);
                if (!job->grad_in) continue;
                gf_gemm_nn_segmented(
                    job->grad_in + ((size_t)n0 * s->in_channels + (size_t)g * cin_g) * ip,
                    (int)ip, (size_t)s->in_channels * ip, packed_t, grad_rows_table,
                    (size_t)s->out_channels * op, op, rows, columns, cout_g, !store);
                continue;
            }
            size_t ld;
            float *patches = buf->patches;
            const float *b = chunk_patches(job, patches, (int)n0, images, g, &ld);
            gf_gemm_rows(patch_rows_table, b, ld, rows);
            if (images > 1) {
                gather_rows(buf->gathered, (float *)job->grad_out, NULL, (int)n0, images,
                            g * cout_g, cout_g, s->out_channels, op, TO_MATRIX);
                grad_g = buf->gathered;
            }
            gf_gemm_rows(grad_rows_table, grad_g, ld, cout_g);
            /* dW[out/g, rows] += dY[out/g, chunk P] @ patches[rows, chunk P]^T */
            gf_gemm_nt(grad_weight + (size_t)g * cout_g * rows, rows, grad_rows_table,
                       patch_rows_table, cout_g, rows, (int)ld, true, buf->product);
            if (!job->grad_in) continue;
            /* dpatches[rows, chunk P] = W[out/g, rows]^T @ dY[out/g, chunk P] */
            gf_gemm_nn(patches, (int)ld, packed_t, grad_rows_table, rows, (int)ld, cout_g, false);
            if (is_pointwise(s)) {
                gather_rows(patches, job->grad_in, NULL, (int)n0, images, g * cin_g, cin_g,
                            s->in_channels, ip, store ? STORE_TO_TENSOR : ADD_TO_TENSOR);
                continue;
            }
            for (int i = 0; i < images; i++)
                col2im_add(job->grad_in + ((size_t)(n0 + i) * s->in_channels + (size_t)g * cin_g) * ip,
                           patches + (size_t)i * op, ld, cin_g, s);
        }
    }
}

/* parts p0 .. p1 - 1 of the batch, each's gradient sums from zero into its own buffer */
static void backward_parts(void *ctx, int thread, int64_t p0, int64_t p1) {
    const conv_job *job = ctx;
    const gf_conv2d_shape *s = job->s;
    const thread_buffers buf = buffers_of(job, thread);
    for (int64_t p = p0; p < p1; p++) {
        float *grads = part_gradients(job, p);
        memset(grads, 0, sizeof(float) * (weight_floats(s) + (size_t)s->out_channels));
        backward_range(job, &buf, grads, grads + weight_floats(s), job->part_starts[p],
                       job->part_starts[p + 1]);
    }
}

/* The parts' gradient sums added into the gradients, part by part in order, a range of
 * the floats at a time: the same bits whichever thread takes which range. */
typedef struct sum_parts_job {
    const conv_job *job;
    int64_t parts;
    float *grad_weight, *grad_bias;
} sum_parts_job;

/* below this many floats a part, one thread adds them (a hand-off would cost more) */
enum { SUM_PARALLEL_MIN = 16384 };

static void sum_parts(void *ctx, int thread, int64_t begin, int64_t end) {
    const sum_parts_job *sum = ctx;
    (void)thread;
    const int64_t weights = (int64_t)weight_floats(sum->job->s);
    const int64_t bias_end = weights + (sum->grad_bias ? sum->job->s->out_channels : 0);
    const int64_t weight_end = end < weights ? end : weights;
    const int64_t bias_begin = begin > weights ? begin : weights;
    for (int64_t p = 0; p < sum->parts; p++) {
        const float *grads = part_gradients(sum->job, p);
        for (int64_t i = begin; i < weight_end; i++) sum->grad_weight[i] += grads[i];
        for (int64_t i = bias_begin; i < end && i < bias_end; i++)
            sum->grad_bias[i - weights] += grads[i];
    }
}

int gf_conv2d_backward_mapped(float *grad_in, float *grad_weight, float *grad_bias,
                              const float *grad_out, const float *in, const gf_channel_map *map,
                              const float *weight, const gf_conv2d_shape *s, float *workspace,
                              gf_grad_write write) {
    if (!workspace)
        return gf_fail("conv2d backward: no workspace (%zu floats needed)",
                       gf_conv2d_workspace_floats(s));
    if (check_input_map(map, s, "backward") != GF_OK) return GF_ERR;
    conv_job job = {.s = s, .grad_in = grad_in, .in = in, .weight = weight,
                    .grad_out = grad_out, .want_bias_grad = grad_bias != NULL,
                    .write = write, .workspace = workspace, .packed = workspace,
                    .input_map = map};
    if (grad_in && uses_winograd(s)) {
        gf_conv2d_winograd_pack(workspace, weight, s, winograd_tile(s), true);
    } else if (grad_in && uses_grid(s)) {
        gf_conv2d_grid_pack_flipped(workspace,
                                    workspace + (size_t)s->groups * gf_conv2d_grid_flipped_floats(s),
                                    weight, s);
    } else if (grad_in && uses_parity(s)) {
        gf_conv2d_parity_pack_transposed(workspace, weight, s);
    } else if (grad_in && !is_depthwise(s)) {
        const int rows = (int)patch_rows(s), cout_g = s->out_channels / s->groups;
        for (int g = 0; g < s->groups; g++)
            gf_gemm_pack_a(workspace + (size_t)g * gf_gemm_packed_a_floats(rows, cout_g),
                           weight + (size_t)g * cout_g * rows, rows, true, rows, cout_g);
    }
    const int64_t parts = split_into_parts(s, job.part_starts);
    gf_parallel_for(parts, 1, 2, backward_parts, &job);
    sum_parts_job sum = {.job = &job, .parts = parts, .grad_weight = grad_weight,
                         .grad_bias = grad_bias};
    const int64_t floats = (int64_t)part_floats(s);
    gf_parallel_for(floats, gf_parallel_block(floats, 16), SUM_PARALLEL_MIN, sum_parts, &sum);
    return GF_OK;
}

int gf_conv2d_backward(float *grad_in, float *grad_weight, float *grad_bias,
                       const float *grad_out, const float *in, const float *weight,
                       const gf_conv2d_shape *s, float *workspace, gf_grad_write write) {
    return gf_conv2d_backward_mapped(grad_in, grad_weight, grad_bias, grad_out, in, NULL, weight,
                                     s, workspace, write);
}
