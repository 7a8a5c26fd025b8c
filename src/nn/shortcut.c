#include "nn/shortcut.h"

#include <stdint.h>
#include <stdbool.h>
#include <string.h>

#include "core/error.h"
#include "core/parallel.h"

/* elements below which a job runs on the caller alone: a thread hand-off would cost more */
enum { PARALLEL_MIN_ELEMENTS = 1 << 15 };

int gf_shortcut_shape_init(gf_shortcut_shape *s) {
    if (s->batch < 1 || s->in_channels < 1 || s->in_h < 1 || s->in_w < 1 || s->stride < 1 ||
        s->pad < 0)
        return gf_fail("shortcut: invalid sizes (batch %d, in_channels %d, input %dx%d, "
                       "stride %d, pad %d)",
                       s->batch, s->in_channels, s->in_h, s->in_w, s->stride, s->pad);
    if ((int64_t)s->in_channels + 2 * (int64_t)s->pad > INT32_MAX ||
        (int64_t)s->in_h * s->in_w > INT32_MAX)
        return gf_fail("shortcut: sizes too large (in_channels %d + 2 x pad %d, input %dx%d; "
                       "each must stay below 2^31)",
                       s->in_channels, s->pad, s->in_h, s->in_w);
    s->out_channels = s->in_channels + 2 * s->pad;
    /* x[:, :, ::stride, ::stride] keeps ceil(size / stride) rows and columns */
    s->out_h = (s->in_h + s->stride - 1) / s->stride;
    s->out_w = (s->in_w + s->stride - 1) / s->stride;
    return GF_OK;
}

/* The shortcut's images split among the threads: each image's planes are a few
 * kilobytes of strided copies, and ResNet-20's two shortcuts at batch 128 otherwise
 * leave the other thread idle for about a millisecond each way. */
typedef struct shortcut_job {
    float *out;      /* forward: the output; backward: the input gradient */
    const float *in; /* forward: the input; backward: the output gradient */
    const gf_shortcut_shape *shape;
    bool backward;
} shortcut_job;

static void forward_image(float *y, const float *x, const gf_shortcut_shape *s) {
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    memset(y, 0, sizeof(float) * (size_t)s->pad * out_plane);
    memset(y + (size_t)(s->pad + s->in_channels) * out_plane, 0,
           sizeof(float) * (size_t)s->pad * out_plane);
    for (int c = 0; c < s->in_channels; c++) {
        const float *xc = x + (size_t)c * in_plane;
        float *yc = y + (size_t)(c + s->pad) * out_plane;
        for (int oh = 0; oh < s->out_h; oh++)
            for (int ow = 0; ow < s->out_w; ow++)
                yc[oh * s->out_w + ow] = xc[(size_t)oh * s->stride * s->in_w + ow * s->stride];
    }
}

static void backward_image(float *dx, const float *dy, const gf_shortcut_shape *s) {
    const size_t in_plane = (size_t)s->in_h * s->in_w, out_plane = (size_t)s->out_h * s->out_w;
    for (int c = 0; c < s->in_channels; c++) {
        float *dxc = dx + (size_t)c * in_plane;
        const float *dyc = dy + (size_t)(c + s->pad) * out_plane;
        for (int oh = 0; oh < s->out_h; oh++)
            for (int ow = 0; ow < s->out_w; ow++)
                dxc[(size_t)oh * s->stride * s->in_w + ow * s->stride] += dyc[oh * s->out_w + ow];
    }
}

static void shortcut_images(void *ctx, int thread, int threads) {
    const shortcut_job *job = ctx;
    const gf_shortcut_shape *s = job->shape;
    const size_t in_image = (size_t)s->in_channels * s->in_h * s->in_w,
                 out_image = (size_t)s->out_channels * s->out_h * s->out_w;
    int64_t begin, end;
    gf_parallel_share(s->batch, thread, threads, &begin, &end);
    for (int64_t n = begin; n < end; n++) {
        if (job->backward)
            backward_image(job->out + (size_t)n * in_image, job->in + (size_t)n * out_image, s);
        else
            forward_image(job->out + (size_t)n * out_image, job->in + (size_t)n * in_image, s);
    }
}

static void run_shortcut(shortcut_job *job) {
    const gf_shortcut_shape *s = job->shape;
    if ((size_t)s->batch * s->out_channels * s->out_h * s->out_w < PARALLEL_MIN_ELEMENTS)
        shortcut_images(job, 0, 1);
    else
        gf_parallel_run(shortcut_images, job);
}

void gf_shortcut_forward(float *out, const float *in, const gf_shortcut_shape *s) {
    shortcut_job job = {.out = out, .in = in, .shape = s, .backward = false};
    run_shortcut(&job);
}

void gf_shortcut_backward(float *grad_in, const float *grad_out, const gf_shortcut_shape *s) {
    shortcut_job job = {.out = grad_in, .in = grad_out, .shape = s, .backward = true};
    run_shortcut(&job);
}

/* out = a + b, or out = a when b is NULL (the backward's copy) */
typedef struct add_job {
    float *out;
    const float *a, *b;
    size_t n;
} add_job;

static void add_elements(void *ctx, int thread, int64_t begin, int64_t end) {
    const add_job *job = ctx;
    (void)thread;
    if (!job->b) {
        memcpy(job->out + begin, job->a + begin, sizeof(float) * (size_t)(end - begin));
        return;
    }
    for (int64_t i = begin; i < end; i++) job->out[i] = job->a[i] + job->b[i];
}

/* element blocks of whole cache lines, to whichever thread is free */
static void for_elements(size_t n, gf_parallel_range_fn elements, void *job) {
    gf_parallel_for((int64_t)n, gf_parallel_block((int64_t)n, 16), PARALLEL_MIN_ELEMENTS,
                    elements, job);
}

void gf_add_forward(float *out, const float *a, const float *b, size_t n) {
    add_job job = {.out = out, .a = a, .b = b, .n = n};
    for_elements(n, add_elements, &job);
}

void gf_add_backward(float *grad_in, const float *grad_out, size_t n, gf_grad_write write) {
    add_job job = {.out = grad_in, .a = write == GF_GRAD_ADD ? grad_in : grad_out,
                   .b = write == GF_GRAD_ADD ? grad_out : NULL, .n = n};
    for_elements(n, add_elements, &job);
}

/* The add and its activation in one pass each way: forward reads a and b and writes
 * the activation's output; backward reads the output gradient and the output and
 * writes both inputs' gradients, where the two nodes apart also write and read the
 * sum and its gradient. */
typedef struct add_activation_job {
    float *out;                   /* forward */
    const float *a, *b;           /* forward */
    float *grad_a, *grad_b;       /* backward */
    const float *grad_out, *act_out; /* backward: the activation's output gradient, output */
    size_t n;
    gf_activation_kind kind;
    float slope;
    gf_grad_write write[2]; /* backward */
} add_activation_job;

/* one loop per kind, each with constants the compiler can vectorise */
#define ADD_ACTIVATION_FORWARD_LOOP(KIND) \
    for (size_t i = 0; i < n; i++) out[i] = gf_activation_value(KIND, a[i] + b[i], slope)

static void add_activation_forward_elements(void *ctx, int thread, int64_t begin, int64_t end) {
    const add_activation_job *job = ctx;
    (void)thread;
    const float *a = job->a + begin, *b = job->b + begin;
    float *out = job->out + begin;
    const size_t n = (size_t)(end - begin);
    const float slope = job->slope;
    switch (job->kind) {
    case GF_ACT_RELU: ADD_ACTIVATION_FORWARD_LOOP(GF_ACT_RELU); break;
    case GF_ACT_LEAKY_RELU: ADD_ACTIVATION_FORWARD_LOOP(GF_ACT_LEAKY_RELU); break;
    case GF_ACT_RELU6: ADD_ACTIVATION_FORWARD_LOOP(GF_ACT_RELU6); break;
    }
}

/* out = act(map(a) + b) over whole planes */
typedef struct add_mapped_job {
    float *out;
    const float *a, *b;
    const gf_channel_map *map;
    int channels;
    size_t plane;
    bool activated;
    gf_activation_kind kind;
    float slope;
} add_mapped_job;

/* y rounded as BatchNorm rounds its output (nn/channel_map.h), then the sum */
#define ADD_MAPPED_LOOP(VALUE)                                                             \
    for (size_t i = 0; i < n; i++) {                                                      \
        const float sum = gf_channel_affine_value(a[i], m) + b[i];                        \
        out[i] = VALUE;                                                                   \
    }

static void add_mapped_planes(void *ctx, int thread, int64_t first, int64_t last) {
    const add_mapped_job *job = ctx;
    (void)thread;
    const size_t n = job->plane;
    const float slope = job->slope;
    for (int64_t p = first; p < last; p++) {
        const gf_channel_affine m = job->map->affine[p % job->channels];
        const float *restrict a = job->a + (size_t)p * n, *restrict b = job->b + (size_t)p * n;
        float *restrict out = job->out + (size_t)p * n;
        if (!job->activated) {
            ADD_MAPPED_LOOP(sum);
            continue;
        }
        switch (job->kind) {
        case GF_ACT_RELU: ADD_MAPPED_LOOP(gf_activation_value(GF_ACT_RELU, sum, slope)); break;
        case GF_ACT_LEAKY_RELU:
            ADD_MAPPED_LOOP(gf_activation_value(GF_ACT_LEAKY_RELU, sum, slope));
            break;
        case GF_ACT_RELU6: ADD_MAPPED_LOOP(gf_activation_value(GF_ACT_RELU6, sum, slope)); break;
        }
    }
}
#undef ADD_MAPPED_LOOP

void gf_add_mapped_forward(float *out, const float *a, const gf_channel_map *map, int channels,
                           size_t plane, const float *b, size_t n, bool activated,
                           gf_activation_kind kind, float slope) {
    add_mapped_job job = {.out = out, .a = a, .b = b, .map = map, .channels = channels,
                          .plane = plane, .activated = activated, .kind = kind,
                          .slope = slope};
    const int64_t planes = (int64_t)(n / plane);
    gf_parallel_for(planes, gf_parallel_block(planes, 1),
                    (int64_t)(PARALLEL_MIN_ELEMENTS / plane) + 1, add_mapped_planes, &job);
}

/* One loop per kind and pair of write modes, each with constants the compiler can
 * vectorise. */
#define ADD_ACTIVATION_BACKWARD_LOOP(KIND, OP_A, OP_B)                                \
    for (size_t i = 0; i < n; i++) {                                                  \
        const float g = gf_activation_gradient(KIND, act_out[i], grad_out[i], slope); \
        grad_a[i] OP_A g;                                                             \
        grad_b[i] OP_B g;                                                             \
    }
#define ADD_ACTIVATION_BACKWARD_WRITES(KIND)                  \
    if (store_a && store_b)                                   \
        ADD_ACTIVATION_BACKWARD_LOOP(KIND, =, =)              \
    else if (store_a)                                         \
        ADD_ACTIVATION_BACKWARD_LOOP(KIND, =, +=)             \
    else if (store_b)                                         \
        ADD_ACTIVATION_BACKWARD_LOOP(KIND, +=, =)             \
    else                                                      \
        ADD_ACTIVATION_BACKWARD_LOOP(KIND, +=, +=)

/* the backward into two distinct gradients */
static void backward_distinct(float *restrict grad_a, float *restrict grad_b,
                              const float *restrict grad_out, const float *restrict act_out,
                              size_t n, gf_activation_kind kind, float slope, bool store_a,
                              bool store_b) {
    switch (kind) {
    case GF_ACT_RELU: ADD_ACTIVATION_BACKWARD_WRITES(GF_ACT_RELU); break;
    case GF_ACT_LEAKY_RELU: ADD_ACTIVATION_BACKWARD_WRITES(GF_ACT_LEAKY_RELU); break;
    case GF_ACT_RELU6: ADD_ACTIVATION_BACKWARD_WRITES(GF_ACT_RELU6); break;
    }
}

static void add_activation_backward_elements(void *ctx, int thread, int64_t begin,
                                             int64_t end) {
    const add_activation_job *job = ctx;
    (void)thread;
    const float *grad_out = job->grad_out + begin, *act_out = job->act_out + begin;
    float *grad_a = job->grad_a + begin, *grad_b = job->grad_b + begin;
    const size_t n = (size_t)(end - begin);
    const bool store_a = job->write[0] == GF_GRAD_STORE, store_b = job->write[1] == GF_GRAD_STORE;
    if (grad_a != grad_b) {
        backward_distinct(grad_a, grad_b, grad_out, act_out, n, job->kind, job->slope, store_a,
                          store_b);
        return;
    }
    /* x + x: the first input's write, then the second's (as the two nodes apart do) */
    for (size_t i = 0; i < n; i++) {
        const float g = gf_activation_gradient(job->kind, act_out[i], grad_out[i], job->slope);
        const float first = store_a ? g : grad_a[i] + g;
        grad_a[i] = store_b ? g : first + g;
    }
}

void gf_add_activation_forward(float *out, const float *a, const float *b, size_t n,
                               gf_activation_kind kind, float slope) {
    add_activation_job job = {.out = out, .a = a, .b = b, .n = n, .kind = kind, .slope = slope};
    for_elements(n, add_activation_forward_elements, &job);
}

void gf_add_activation_backward(float *grad_a, float *grad_b, const float *grad_out,
                                const float *out, size_t n, gf_activation_kind kind, float slope,
                                const gf_grad_write write[2]) {
    add_activation_job job = {.grad_a = grad_a, .grad_b = grad_b, .grad_out = grad_out,
                              .act_out = out, .n = n, .kind = kind, .slope = slope,
                              .write = {write[0], write[1]}};
    for_elements(n, add_activation_backward_elements, &job);
}
