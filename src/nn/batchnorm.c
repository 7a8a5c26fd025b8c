/* BatchNorm2d over NCHW: statistics per channel across batch and space. Channels are
 * split over the threads of core/parallel.h. Each plane (one image's H*W values of a
 * channel) is summed in 16 float lanes, then in double: the planes' moments combined
 * (nn/moments.h), the gradient sums added, so that a large batch of large activations
 * keeps the statistics accurate while the inner loops vectorise (a double accumulator
 * would serialise them).
 *
 * A thread walks its channels in blocks, image by image: one image's planes of a block
 * lie side by side in memory, so small planes (4x4 is one cache line, and the next
 * image's plane of the channel is channels * 64 bytes on) are read as one stream rather
 * than a line at a time from far apart, and a block across the batch stays in cache for
 * the second pass. Each channel still adds its planes in image order: the bits do not
 * depend on the block. */
#include "nn/batchnorm.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/error.h"
#include "core/parallel.h"
#include "nn/moments.h"
#include "nn/vector_clones.h"

typedef float lanes16 __attribute__((vector_size(64)));

/* (vectors passed by pointer: by value they would depend on the compiler's ISA flags) */
static lanes16 *load16(lanes16 *v, const float *p) {
    memcpy(v, p, sizeof *v);
    return v;
}

/* A channel's map is a gf_channel_affine (nn/channel_map.h). Backward recomputes y to
 * decide the activation's gradient, and must round it as the forward did, whichever
 * way the compiler contracted each loop of each clone: hence base 0, or scale 0. */
static gf_channel_affine affine_of(double scale, double mean, double beta) {
    const float centre = (float)(mean - beta / scale);
    if ((float)scale == 0.0f || !isfinite(centre))
        return (gf_channel_affine){0.0f, 0.0f, (float)(beta - mean * scale)};
    return (gf_channel_affine){(float)scale, centre, 0.0f};
}

/* in training, from the statistics as saved for backward, which recomputes it */
static gf_channel_affine training_affine(float gamma, float beta, float saved_mean,
                                      float saved_invstd) {
    return affine_of((double)gamma * saved_invstd, saved_mean, beta);
}

void gf_batchnorm_training_map(gf_channel_affine *affine, const float *gamma, const float *beta,
                               const float *saved_mean, const float *saved_invstd,
                               int channels) {
    for (int c = 0; c < channels; c++)
        affine[c] = training_affine(gamma[c], beta[c], saved_mean[c], saved_invstd[c]);
}

/* dy at one element: the output gradient itself, or its gradient through the fused
 * activation, decided by the activation's input y recomputed from x (see
 * nn/batchnorm.h): no read of the activation's output */
static inline float gradient_at(bool activated, gf_activation_kind kind, float slope,
                                const float *dz, const float *x, size_t i, gf_channel_affine m) {
    return activated ? gf_activation_gradient(kind, gf_channel_affine_value(x[i], m), dz[i],
                                              slope)
                     : dz[i];
}

/* adds the sums of dy and of dy * (x - mean) over one plane, and prefetches the plane
 * of next_dz and next_x (unless NULL) as it goes; always inlined with constant
 * `activated` and `kind`, so that the 16-lane gradient below is a plain load or a
 * vector select */
static inline __attribute__((always_inline)) void grad_sums(
    bool activated, gf_activation_kind kind, float slope, gf_channel_affine m, const float *dz,
    const float *x, size_t n, float mean, double *sum_dy, double *sum_dy_centred,
    const float *next_dz, const float *next_x) {
    lanes16 g, v;
    gf_dvec wide_a = {0}, wide_b = {0};
    size_t i = 0;
    while (i + 16 <= n) {
        /* no lane adds more than 16 values in float: a large plane's sums stay within
         * the tolerance of a double sum (backward_against_plain) */
        lanes16 a = {0}, b = {0};
        const size_t end = i + 16 * 16 < n ? i + 16 * 16 : n;
        if (next_dz)
            for (size_t k = i; k < end; k += 16) {
                __builtin_prefetch(next_dz + k);
                __builtin_prefetch(next_x + k);
            }
        for (; i + 16 <= end; i += 16) {
            float dy[16];
            for (int l = 0; l < 16; l++)
                dy[l] = gradient_at(activated, kind, slope, dz, x, i + l, m);
            load16(&g, dy);
            a += g;
            b += g * (*load16(&v, x + i) - mean);
        }
        GF_VEC_ADD_WIDENED(wide_a, a);
        GF_VEC_ADD_WIDENED(wide_b, b);
    }
    double s = GF_DVEC_SUM(wide_a), t = GF_DVEC_SUM(wide_b);
    for (; i < n; i++) {
        const float dy = gradient_at(activated, kind, slope, dz, x, i, m);
        s += dy;
        t += (double)dy * (x[i] - mean);
    }
    *sum_dy += s;
    *sum_dy_centred += t;
}

GF_VECTOR_CLONES static void plane_grad_sums(const gf_batchnorm_shape *s, gf_channel_affine m,
                                             const float *dz, const float *x, size_t n,
                                             float mean, double *sum_dy,
                                             double *sum_dy_centred, const float *next_dz,
                                             const float *next_x) {
    if (!s->activated) {
        grad_sums(false, GF_ACT_RELU, 0.0f, m, dz, x, n, mean, sum_dy, sum_dy_centred, next_dz,
                  next_x);
        return;
    }
    switch (s->activation) {
    case GF_ACT_RELU:
        grad_sums(true, GF_ACT_RELU, s->slope, m, dz, x, n, mean, sum_dy, sum_dy_centred, next_dz,
                  next_x);
        break;
    case GF_ACT_LEAKY_RELU:
        grad_sums(true, GF_ACT_LEAKY_RELU, s->slope, m, dz, x, n, mean, sum_dy, sum_dy_centred, next_dz,
                  next_x);
        break;
    case GF_ACT_RELU6:
        grad_sums(true, GF_ACT_RELU6, s->slope, m, dz, x, n, mean, sum_dy, sum_dy_centred, next_dz,
                  next_x);
        break;
    }
}

static int check_shape(const gf_batchnorm_shape *s, const char *operation) {
    if (s->batch < 1 || s->channels < 1 || s->spatial < 1 || !(s->eps > 0.0f) ||
        !(s->momentum >= 0.0f && s->momentum <= 1.0f))
        return gf_fail("%s: invalid sizes (batch %d, channels %d, spatial %d, eps %g, "
                       "momentum %g)",
                       operation, s->batch, s->channels, s->spatial, (double)s->eps,
                       (double)s->momentum);
    if (s->activated && s->activation == GF_ACT_LEAKY_RELU && !(s->slope >= 0.0f))
        return gf_fail("%s: a fused leaky ReLU needs a slope >= 0 (got %g): its gradient is "
                       "read from the output's sign",
                       operation, (double)s->slope);
    return GF_OK;
}

typedef struct bn_job {
    const gf_batchnorm_shape *s;
    float *out, *saved_mean, *saved_invstd, *running_mean, *running_var;
    float *grad_in, *grad_gamma, *grad_beta;
    const float *in, *gamma, *beta, *grad_out, *mean, *invstd, *var;
    const gf_moments *plane_moments; /* [batch][channels], or NULL: computed here */
    gf_grad_write write;
} bn_job;

/* y = gf_channel_affine_value(x) over one channel of every image, through the fused
 * activation when there is one (one loop per kind, each vectorised) */
#define AFFINE_LOOP(VALUE) \
    for (size_t i = 0; i < plane; i++) y[i] = VALUE(gf_channel_affine_value(x[i], m))
#define PLAIN(v) (v)
#define RELU(v) gf_activation_value(GF_ACT_RELU, v, slope)
#define LEAKY_RELU(v) gf_activation_value(GF_ACT_LEAKY_RELU, v, slope)
#define RELU6(v) gf_activation_value(GF_ACT_RELU6, v, slope)
GF_VECTOR_CLONES static void apply_affine(float *y, const float *x, size_t plane,
                                          const gf_batchnorm_shape *s, gf_channel_affine m) {
    const float slope = s->slope;
    if (!s->activated) {
        AFFINE_LOOP(PLAIN);
        return;
    }
    switch (s->activation) {
    case GF_ACT_RELU: AFFINE_LOOP(RELU); break;
    case GF_ACT_LEAKY_RELU: AFFINE_LOOP(LEAKY_RELU); break;
    case GF_ACT_RELU6: AFFINE_LOOP(RELU6); break;
    }
}

/* The most channels in a block, and the bytes a block of two tensors' planes across
 * the batch may take: about half of a core's L2, so that the second pass finds it */
enum { BLOCK_MAX_CHANNELS = 64, BLOCK_BYTES = 1 << 20 };

static int block_channels(const gf_batchnorm_shape *s) {
    const size_t per_channel = (size_t)s->batch * (size_t)s->spatial * 2 * sizeof(float);
    const size_t fit = BLOCK_BYTES / per_channel;
    int block = fit < 1 ? 1 : fit > BLOCK_MAX_CHANNELS ? BLOCK_MAX_CHANNELS : (int)fit;
    /* at least 4 blocks per thread where the channels allow, so that a thread that runs
     * ahead takes over blocks of one that falls behind */
    const int parts = 4 * gf_parallel_threads();
    const int share = (s->channels + parts - 1) / parts;
    return block < share ? block : share;
}

/* Runs channels_fn over the channels in blocks, to whichever thread is free. Each
 * channel's results depend on its own planes alone, added in image order, so the bits
 * are the same whichever thread takes which block. */
static void run_blocks(gf_parallel_range_fn channels_fn, bn_job *job) {
    gf_parallel_for(job->s->channels, block_channels(job->s), 1, channels_fn, job);
}

/* out = the affine maps m[0 .. count) of channels c0 .. c0 + count, image by image */
static void apply_block(float *out, const float *in, const gf_batchnorm_shape *s, int64_t c0,
                        int count, const gf_channel_affine *m) {
    const size_t plane = (size_t)s->spatial, stride = (size_t)s->channels * plane;
    for (int n = 0; n < s->batch; n++) {
        const size_t at = n * stride + (size_t)c0 * plane;
        for (int j = 0; j < count; j++)
            apply_affine(out + at + j * plane, in + at + j * plane, plane, s, m[j]);
    }
}

static void forward_train_channels(void *ctx, int thread, int64_t c0, int64_t last) {
    const bn_job *job = ctx;
    (void)thread;
    const gf_batchnorm_shape *s = job->s;
    const size_t plane = (size_t)s->spatial, stride = (size_t)s->channels * plane;
    const double count = (double)s->batch * (double)plane;
    const int count_c = (int)(last - c0);
    /* the planes' moments combined in image order, whoever computed them */
    gf_moments_sum sums[BLOCK_MAX_CHANNELS] = {0};
    for (int n = 0; n < s->batch; n++) {
        const float *x = job->in + n * stride + (size_t)c0 * plane;
        for (int j = 0; j < count_c; j++) {
            const gf_moments part =
                job->plane_moments
                    ? job->plane_moments[(size_t)n * s->channels + (size_t)c0 + j]
                    : gf_moments_of_plane(x + j * plane, plane);
            gf_moments_add(&sums[j], &part);
        }
    }
    gf_channel_affine maps[BLOCK_MAX_CHANNELS];
    for (int j = 0; j < count_c; j++) {
        const int64_t c = c0 + j;
        const gf_moments total = gf_moments_combine(&sums[j], plane);
        const double mean = total.mean, squares = total.squares; /* sum of (x - mean)^2 */
        const double var = squares / count; /* biased: used to normalise */
        const double invstd = 1.0 / sqrt(var + s->eps);
        job->saved_mean[c] = (float)mean;
        job->saved_invstd[c] = (float)invstd;
        maps[j] = training_affine(job->gamma[c], job->beta[c], job->saved_mean[c],
                                  job->saved_invstd[c]);
        job->running_mean[c] =
            (float)((1.0 - s->momentum) * job->running_mean[c] + s->momentum * mean);
        job->running_var[c] = (float)((1.0 - s->momentum) * job->running_var[c] +
                                      s->momentum * squares / (count - 1.0));
    }
    if (job->out) apply_block(job->out, job->in, s, c0, count_c, maps);
}

int gf_batchnorm_forward_train_moments(float *out, float *saved_mean, float *saved_invstd,
                                       float *running_mean, float *running_var, const float *in,
                                       const float *gamma, const float *beta,
                                       const gf_moments *plane_moments,
                                       const gf_batchnorm_shape *s) {
    if (check_shape(s, "batchnorm forward") != GF_OK) return GF_ERR;
    if ((size_t)s->batch * s->spatial < 2)
        return gf_fail("batchnorm forward: training needs more than 1 value per channel "
                       "(batch %d, spatial %d)",
                       s->batch, s->spatial);
    bn_job job = {.s = s, .out = out, .saved_mean = saved_mean, .saved_invstd = saved_invstd,
                  .running_mean = running_mean, .running_var = running_var, .in = in,
                  .gamma = gamma, .beta = beta, .plane_moments = plane_moments};
    run_blocks(forward_train_channels, &job);
    return GF_OK;
}

int gf_batchnorm_forward_train(float *out, float *saved_mean, float *saved_invstd,
                               float *running_mean, float *running_var, const float *in,
                               const float *gamma, const float *beta,
                               const gf_batchnorm_shape *s) {
    return gf_batchnorm_forward_train_moments(out, saved_mean, saved_invstd, running_mean,
                                              running_var, in, gamma, beta, NULL, s);
}

static void forward_eval_channels(void *ctx, int thread, int64_t c0, int64_t last) {
    const bn_job *job = ctx;
    (void)thread;
    const int count = (int)(last - c0);
    gf_channel_affine maps[BLOCK_MAX_CHANNELS];
    for (int j = 0; j < count; j++) {
        const int64_t c = c0 + j;
        const double invstd = 1.0 / sqrt((double)job->var[c] + job->s->eps);
        maps[j] = affine_of(job->gamma[c] * invstd, job->mean[c], job->beta[c]);
    }
    apply_block(job->out, job->in, job->s, c0, count, maps);
}

int gf_batchnorm_forward_eval(float *out, const float *in, const float *gamma,
                              const float *beta, const float *running_mean,
                              const float *running_var, const gf_batchnorm_shape *s) {
    if (check_shape(s, "batchnorm forward (eval)") != GF_OK) return GF_ERR;
    bn_job job = {.s = s, .out = out, .in = in, .gamma = gamma, .beta = beta,
                  .mean = running_mean, .var = running_var};
    run_blocks(forward_eval_channels, &job);
    return GF_OK;
}

/* dx (+)= a * dy + b * x + d over one plane, dy as in gradient_at; one loop per write
 * mode, activation and kind, each vectorised */
#define INPUT_GRADIENT_LOOP(ACTIVATED, KIND, OP)                                           \
    for (size_t i = 0; i < n; i++)                                                        \
        dx[i] OP a * gradient_at(ACTIVATED, KIND, slope, dz, x, i, m) + b * x[i] + d
#define INPUT_GRADIENT(ACTIVATED, KIND)                                                   \
    if (write == GF_GRAD_STORE) INPUT_GRADIENT_LOOP(ACTIVATED, KIND, =);                  \
    else INPUT_GRADIENT_LOOP(ACTIVATED, KIND, +=)
GF_VECTOR_CLONES static void plane_input_gradient(float *dx, gf_grad_write write,
                                                  const gf_batchnorm_shape *s, gf_channel_affine m,
                                                  float a, float b, float d, const float *dz,
                                                  const float *x, size_t n) {
    const float slope = s->slope;
    if (!s->activated) {
        INPUT_GRADIENT(false, GF_ACT_RELU);
        return;
    }
    switch (s->activation) {
    case GF_ACT_RELU: INPUT_GRADIENT(true, GF_ACT_RELU); break;
    case GF_ACT_LEAKY_RELU: INPUT_GRADIENT(true, GF_ACT_LEAKY_RELU); break;
    case GF_ACT_RELU6: INPUT_GRADIENT(true, GF_ACT_RELU6); break;
    }
}

/* With xhat = (x - mean) * invstd and y = gamma * xhat + beta:
 *   dbeta = sum dy, dgamma = sum dy * xhat,
 *   dx = gamma * invstd / M * (M * dy - dbeta - xhat * dgamma),
 * folded per channel into dx (+)= a * dy + b * x + d. Two passes per block over dz and
 * x (the sums, then dx); the second finds the block in cache. */
static void backward_channels(void *ctx, int thread, int64_t c0, int64_t last) {
    const bn_job *job = ctx;
    (void)thread;
    const gf_batchnorm_shape *s = job->s;
    const size_t plane = (size_t)s->spatial, stride = (size_t)s->channels * plane;
    const double count = (double)s->batch * (double)plane;
    const int count_c = (int)(last - c0);
    gf_channel_affine maps[BLOCK_MAX_CHANNELS];
    double sum_dy[BLOCK_MAX_CHANNELS] = {0}, sum_dy_centred[BLOCK_MAX_CHANNELS] = {0};
    for (int j = 0; j < count_c; j++) {
        const int64_t c = c0 + j;
        maps[j] = s->activated ? training_affine(job->gamma[c], job->beta[c], job->mean[c],
                                                 job->invstd[c])
                               : (gf_channel_affine){0.0f, 0.0f, 0.0f};
    }
    for (int n = 0; n < s->batch; n++) {
        const size_t at = n * stride + (size_t)c0 * plane;
        for (int j = 0; j < count_c; j++) {
            /* the next plane's lines are fetched meanwhile: it lies an image further
             * on, or (4 KB and more) on pages where the hardware prefetcher starts
             * afresh; the block's second pass finds it all in cache */
            const bool last_plane = j + 1 == count_c && n + 1 == s->batch;
            const size_t next = j + 1 < count_c ? at + (j + 1) * plane : at + stride;
            plane_grad_sums(s, maps[j], job->grad_out + at + j * plane,
                            job->in + at + j * plane, plane, job->mean[c0 + j], &sum_dy[j],
                            &sum_dy_centred[j], last_plane ? NULL : job->grad_out + next,
                            last_plane ? NULL : job->in + next);
        }
    }
    float a[BLOCK_MAX_CHANNELS], b[BLOCK_MAX_CHANNELS], d[BLOCK_MAX_CHANNELS];
    for (int j = 0; j < count_c; j++) {
        const int64_t c = c0 + j;
        const double invstd = job->invstd[c], mean = job->mean[c];
        const double sum_dy_xhat = sum_dy_centred[j] * invstd;
        job->grad_beta[c] += (float)sum_dy[j];
        job->grad_gamma[c] += (float)sum_dy_xhat;
        const double k = job->gamma[c] * invstd;
        a[j] = (float)k;
        b[j] = (float)(-k * sum_dy_xhat / count * invstd);
        d[j] = (float)(-k * sum_dy[j] / count + k * sum_dy_xhat / count * invstd * mean);
    }
    if (!job->grad_in) return;
    for (int n = 0; n < s->batch; n++) {
        const size_t at = n * stride + (size_t)c0 * plane;
        for (int j = 0; j < count_c; j++)
            plane_input_gradient(job->grad_in + at + j * plane, job->write, s, maps[j], a[j],
                                 b[j], d[j], job->grad_out + at + j * plane,
                                 job->in + at + j * plane, plane);
    }
}

int gf_batchnorm_backward(float *grad_in, float *grad_gamma, float *grad_beta,
                          const float *grad_out, const float *in, const float *saved_mean,
                          const float *saved_invstd, const float *gamma, const float *beta,
                          const gf_batchnorm_shape *s, gf_grad_write write) {
    if (check_shape(s, "batchnorm backward") != GF_OK) return GF_ERR;
    if (s->activated && !beta)
        return gf_fail("batchnorm backward: fused with an activation, it needs beta (the "
                       "activation's input is recomputed)");
    bn_job job = {.s = s, .grad_in = grad_in, .grad_gamma = grad_gamma, .grad_beta = grad_beta,
                  .grad_out = grad_out, .in = in, .mean = saved_mean, .invstd = saved_invstd,
                  .gamma = gamma, .beta = beta, .write = write};
    run_blocks(backward_channels, &job);
    return GF_OK;
}

int gf_batchnorm_backward_plain(float *grad_in, float *grad_gamma, float *grad_beta,
                                const float *grad_out, const float *out, const float *in,
                                const float *saved_mean, const float *saved_invstd,
                                const float *gamma, const gf_batchnorm_shape *s,
                                gf_grad_write write) {
    if (check_shape(s, "batchnorm backward (plain)") != GF_OK) return GF_ERR;
    if (s->activated && !out)
        return gf_fail("batchnorm backward (plain): fused with an activation, it needs the "
                       "forward's output");
    const size_t plane = (size_t)s->spatial, stride = (size_t)s->channels * plane;
    const double count = (double)s->batch * (double)plane;
    for (int c = 0; c < s->channels; c++) {
        const double mean = saved_mean[c], invstd = saved_invstd[c];
        double sum_dy = 0.0, sum_dy_xhat = 0.0;
        for (int n = 0; n < s->batch; n++)
            for (size_t i = n * stride + c * plane, end = i + plane; i < end; i++) {
                const double dy = s->activated ? gf_activation_gradient(s->activation, out[i],
                                                                        grad_out[i], s->slope)
                                               : grad_out[i];
                sum_dy += dy;
                sum_dy_xhat += dy * (in[i] - mean) * invstd;
            }
        grad_beta[c] += (float)sum_dy;
        grad_gamma[c] += (float)sum_dy_xhat;
        if (!grad_in) continue;
        for (int n = 0; n < s->batch; n++)
            for (size_t i = n * stride + c * plane, end = i + plane; i < end; i++) {
                const double dy = s->activated ? gf_activation_gradient(s->activation, out[i],
                                                                        grad_out[i], s->slope)
                                               : grad_out[i];
                const double xhat = (in[i] - mean) * invstd;
                const float dx =
                    (float)(gamma[c] * invstd / count * (count * dy - sum_dy - xhat * sum_dy_xhat));
                grad_in[i] = write == GF_GRAD_STORE ? dx : grad_in[i] + dx;
            }
    }
    return GF_OK;
}
