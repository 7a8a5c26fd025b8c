/* One model's speed in graft: a training step (forward, softmax cross-entropy,
 * backward and a plain SGD update over the flat parameter buffer) or an evaluation
 * forward, on a fixed random batch; warm-up steps first, then timed steps. Prints one
 * line of key=value pairs, read by scripts/bench/train_step (which also runs the same
 * work in PyTorch): images/s over all timed steps (mean) and of the median step, the
 * FLOPs per image counted as direct convolution and linear products, the effective
 * GFLOP/s, the peak resident memory, and the least process CPU time of a step
 * (cpu_step_ms: with GRAFT_THREADS=1, a figure other processes on the machine barely
 * move), and the thread-milliseconds per step that threads spent waiting at the ends of
 * the pool's jobs for the last one (idle_step_ms, gf_parallel_idle_nanoseconds).
 *
 *   bench_train_step resnet20|resnet56|mobilenetv2 [batch 128] [warmup 2] [steps 10] [train|eval]
 *       [CxHxW 3x32x32] [rule|f2|f4|grid]
 * (the images' shape: 1x28x28 is Fashion-MNIST's, the epoch's; the path of the 3x3
 * stride-1 convolutions: the rule of docs/kernels.md, Winograd F(2x2, 3x3) or
 * F(4x4, 3x3) for all, or the plain grid path) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/error.h"
#include "core/memory.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "nn/conv2d.h"
#include "nn/loss.h"
#include "nn/models.h"
#include "nn/network.h"

static double clock_seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int train_step(gf_net *net, const float *input, const int32_t *labels, int batch,
                      float *grad_logits, float *loss) {
    const float *logits;
    int classes = gf_net_output_size(net);
    if (gf_net_forward(net, input, batch, &logits) != GF_OK ||
        gf_cross_entropy(loss, grad_logits, logits, labels, batch, classes) != GF_OK ||
        gf_net_backward(net, grad_logits) != GF_OK)
        return GF_ERR;
    float *params = gf_net_params(net);
    const float *grads = gf_net_grads(net);
    size_t n = gf_net_param_count(net);
    for (size_t i = 0; i < n; i++) params[i] -= 0.01f * grads[i];
    return GF_OK;
}

/* FLOPs per image of the convolutions and linear layers computed directly (2 per
 * multiply-add). Training counts three products per layer (forward, weight gradient,
 * input gradient), except the input gradient of a layer reading the network's input,
 * which nobody computes. */
static double flops_per_image(const gf_net *net, int training) {
    double total = 0.0;
    for (int i = 1; i < gf_net_node_count(net); i++) {
        const gf_node *n = gf_net_node(net, i), *in = gf_net_node(net, n->inputs[0]);
        double product = 0.0;
        if (n->op == GF_OP_CONV2D)
            product = 2.0 * n->channels * n->height * n->width * (in->channels / n->groups) *
                      n->kernel * n->kernel;
        else if (n->op == GF_OP_LINEAR)
            product = 2.0 * n->out_features * in->channels * in->height * in->width;
        if (training) product *= n->inputs[0] == 0 ? 2.0 : 3.0;
        total += product;
    }
    return total;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *model = argc > 1 ? argv[1] : "";
    const char *mode = argc > 5 ? argv[5] : "train";
    const char *shape = argc > 6 ? argv[6] : "3x32x32";
    const char *path = argc > 7 ? argv[7] : "rule";
    int depth = strcmp(model, "resnet20") == 0 ? 20 : strcmp(model, "resnet56") == 0 ? 56 : 0;
    if ((depth == 0 && strcmp(model, "mobilenetv2") != 0) ||
        (strcmp(mode, "train") != 0 && strcmp(mode, "eval") != 0) ||
        (strcmp(path, "rule") != 0 && strcmp(path, "f2") != 0 && strcmp(path, "f4") != 0 &&
         strcmp(path, "grid") != 0)) {
        fprintf(stderr,
                "usage: %s resnet20|resnet56|mobilenetv2 [batch] [warmup] [steps] [train|eval] "
                "[CxHxW] [rule|f2|f4|grid]\n",
                argv[0]);
        return 2;
    }
    gf_conv2d_use_winograd(strcmp(path, "grid") != 0);
    gf_conv2d_force_winograd_tile(strcmp(path, "f2") == 0 ? 2 : strcmp(path, "f4") == 0 ? 4 : 0);
    int channels = 0, height = 0, width = 0;
    char rest;
    if (sscanf(shape, "%dx%dx%d%c", &channels, &height, &width, &rest) != 3 || channels < 1 ||
        height < 1 || height != width) {
        fprintf(stderr, "%s: image shape '%s' must be CxHxW with H = W (the models take square "
                "images), e.g. 1x28x28\n", argv[0], shape);
        return 2;
    }
    const int training = strcmp(mode, "train") == 0;
    int batch = argc > 2 ? atoi(argv[2]) : 128;
    int warmup = argc > 3 ? atoi(argv[3]) : 2;
    int steps = argc > 4 ? atoi(argv[4]) : 10;
    if (batch < 2 || warmup < 0 || steps < 1) {
        fprintf(stderr, "%s: need batch >= 2, warmup >= 0, steps >= 1\n", argv[0]);
        return 2;
    }
    gf_model_options options = {.classes = 10, .in_channels = channels, .image_size = height,
                                .seed = 1};
    gf_net *net = depth ? gf_model_resnet_cifar(depth, &options)
                        : gf_model_mobilenetv2_cifar(&options);
    if (!net) {
        fprintf(stderr, "%s: %s\n", argv[0], gf_error_message());
        return 1;
    }
    gf_net_set_training(net, training);
    size_t in_floats = (size_t)batch * (size_t)channels * (size_t)height * (size_t)width;
    float *input = gf_alloc(in_floats * sizeof(float), "benchmark input");
    float *grad_logits = gf_alloc((size_t)batch * 10 * sizeof(float), "benchmark gradient");
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    double *step_seconds = malloc((size_t)steps * sizeof *step_seconds);
    if (!input || !grad_logits || !labels || !step_seconds) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    gf_rng rng;
    gf_rng_seed(&rng, 7, 1);
    gf_rng_fill_normal(&rng, input, in_floats, 0.0f, 1.0f);
    for (int b = 0; b < batch; b++) labels[b] = (int32_t)gf_rng_below(&rng, 10);

    float loss = 0.0f;
    const float *logits;
    int status = GF_OK;
    double least_cpu = 0.0, idle_seconds = 0.0;
    for (int i = 0; i < warmup + steps && status == GF_OK; i++) {
        const int64_t idle_start = gf_parallel_idle_nanoseconds();
        double start = clock_seconds(CLOCK_MONOTONIC);
        double cpu_start = clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
        status = training ? train_step(net, input, labels, batch, grad_logits, &loss)
                          : gf_net_forward(net, input, batch, &logits);
        double cpu = clock_seconds(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
        if (i >= warmup) {
            step_seconds[i - warmup] = clock_seconds(CLOCK_MONOTONIC) - start;
            if (i == warmup || cpu < least_cpu) least_cpu = cpu;
            idle_seconds += (gf_parallel_idle_nanoseconds() - idle_start) / 1e9;
        }
    }
    if (status != GF_OK) {
        fprintf(stderr, "%s: %s\n", argv[0], gf_error_message());
    } else {
        double total = 0.0;
        for (int i = 0; i < steps; i++) total += step_seconds[i];
        qsort(step_seconds, (size_t)steps, sizeof *step_seconds, compare_doubles);
        double median = steps % 2 ? step_seconds[steps / 2]
                                  : 0.5 * (step_seconds[steps / 2 - 1] + step_seconds[steps / 2]);
        double images_per_s = batch * steps / total;
        double flops = flops_per_image(net, training);
        struct rusage usage;
        getrusage(RUSAGE_SELF, &usage);
        printf("model=%s mode=%s shape=%s batch=%d steps=%d threads=%d images_per_s=%.1f "
               "median_images_per_s=%.1f step_ms=%.1f mflop_per_image=%.1f gflop_per_s=%.1f "
               "max_rss_mb=%.1f arena_mb=%.1f params=%zu loss=%.4f cpu_step_ms=%.1f "
               "idle_step_ms=%.1f\n",
               model, mode, shape, batch, steps, gf_parallel_threads(), images_per_s, batch / median,
               1e3 * total / steps, flops / 1e6, flops * images_per_s / 1e9,
               usage.ru_maxrss / 1024.0, gf_net_arena_bytes(net) / 1048576.0,
               gf_net_param_count(net), loss, 1e3 * least_cpu, 1e3 * idle_seconds / steps);
    }
    gf_free(input);
    gf_free(grad_logits);
    free(labels);
    free(step_seconds);
    gf_net_free(net);
    return status == GF_OK ? 0 : 1;
}
