/* Pointwise activations, split over the threads of core/parallel.h for large tensors. */
#include "nn/activation.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/parallel.h"

/* below this many elements a thread hand-off costs more than it saves */
enum { PARALLEL_MIN_ELEMENTS = 1 << 15 };

/* indexed by gf_activation_kind */
static const char *const activation_names[] = {"relu", "leaky_relu", "relu6"};
enum { ACTIVATION_KINDS = sizeof activation_names / sizeof activation_names[0] };

const char *gf_activation_name(gf_activation_kind kind) {
    return (unsigned)kind < ACTIVATION_KINDS ? activation_names[kind] : "unknown";
}

int gf_activation_parse(const char *name) {
    for (int i = 0; i < ACTIVATION_KINDS; i++)
        if (strcmp(name, activation_names[i]) == 0) return i;
    return -1;
}

typedef struct activation_job {
    float *out;
    const float *in, *grad_out;
    size_t n;
    gf_activation_kind kind;
    float slope;
    gf_grad_write write;
} activation_job;

/* one loop per kind, each with constants the compiler can vectorise */
#define FORWARD_LOOP(KIND) for (size_t i = 0; i < n; i++) out[i] = gf_activation_value(KIND, in[i], slope)

static void forward_elements(void *ctx, int thread, int64_t begin, int64_t end) {
    const activation_job *job = ctx;
    (void)thread;
    const float *in = job->in + begin;
    float *out = job->out + begin;
    const size_t n = (size_t)(end - begin);
    const float slope = job->slope;
    switch (job->kind) {
    case GF_ACT_RELU: FORWARD_LOOP(GF_ACT_RELU); break;
    case GF_ACT_LEAKY_RELU: FORWARD_LOOP(GF_ACT_LEAKY_RELU); break;
    case GF_ACT_RELU6: FORWARD_LOOP(GF_ACT_RELU6); break;
    }
}

/* One loop per kind and write mode, each with constants the compiler can vectorise.
 * grad_in may be grad_out (each element read before it is written); no other overlap. */
#define BACKWARD_LOOP(KIND, OP)                                                           \
    for (size_t i = 0; i < n; i++) grad_in[i] OP gf_activation_gradient(KIND, in[i], grad_out[i], slope)

static void backward_elements(void *ctx, int thread, int64_t begin, int64_t end) {
    const activation_job *job = ctx;
    (void)thread;
    const float *in = job->in + begin, *grad_out = job->grad_out + begin;
    float *grad_in = job->out + begin;
    const size_t n = (size_t)(end - begin);
    const float slope = job->slope;
    const bool store = job->write == GF_GRAD_STORE;
    switch (job->kind) {
    case GF_ACT_RELU:
        if (store) BACKWARD_LOOP(GF_ACT_RELU, =); else BACKWARD_LOOP(GF_ACT_RELU, +=);
        break;
    case GF_ACT_LEAKY_RELU:
        if (store) BACKWARD_LOOP(GF_ACT_LEAKY_RELU, =); else BACKWARD_LOOP(GF_ACT_LEAKY_RELU, +=);
        break;
    case GF_ACT_RELU6:
        if (store) BACKWARD_LOOP(GF_ACT_RELU6, =); else BACKWARD_LOOP(GF_ACT_RELU6, +=);
        break;
    }
}

/* element blocks of whole cache lines, to whichever thread is free */
static void run(gf_parallel_range_fn elements, activation_job *job) {
    const int64_t n = (int64_t)job->n;
    gf_parallel_for(n, gf_parallel_block(n, 16), PARALLEL_MIN_ELEMENTS, elements, job);
}

void gf_activation_forward(float *out, const float *in, size_t n, gf_activation_kind kind,
                           float slope) {
    activation_job job = {.out = out, .in = in, .n = n, .kind = kind, .slope = slope};
    run(forward_elements, &job);
}

void gf_activation_backward(float *grad_in, const float *grad_out, const float *in, size_t n,
                            gf_activation_kind kind, float slope, gf_grad_write write) {
    activation_job job = {.out = grad_in, .in = in, .grad_out = grad_out, .n = n, .kind = kind,
                          .slope = slope, .write = write};
    run(backward_elements, &job);
}
