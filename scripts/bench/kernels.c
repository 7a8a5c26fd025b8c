/* Micro-benchmark of the layer kernels on the shapes of ResNet-20 and MobileNetV2
 * (CIFAR, batch 128): milliseconds per forward and per backward of each layer kind,
 * and the sum over a whole ResNet-20 / MobileNetV2 weighted by how often each shape
 * occurs there. Not a test; run it after changing a kernel:
 *   <build>/tests/nn/bench_kernels [repeats] [resnet] [cpu] [grid|f2|f4] [im2col]
 *   (see docs/kernels.md)
 * `grid`: 3x3 stride-1 convolutions through the plain grid path instead of Winograd;
 * `f2`, `f4`: all of them through Winograd F(2x2, 3x3), or F(4x4, 3x3), instead of
 * the tile the rule picks; `im2col`: 3x3 stride-2 ones through im2col instead of the
 * parity planes. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/gemm.h"
#include "core/memory.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "nn/activation.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"

enum { BATCH = 128 };

/* Wall time by default; with "cpu", the process's CPU time (all threads summed),
 * which other processes on a busy machine disturb much less. */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(bench_clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static float *random_buffer(size_t n, uint64_t seed) {
    float *x = gf_alloc(sizeof(float) * n, "benchmark buffer");
    if (!x) {
        fprintf(stderr, "%s\n", gf_error_message());
        exit(1);
    }
    gf_rng r;
    gf_rng_seed(&r, seed, 0);
    gf_rng_fill_normal(&r, x, n, 0.0f, 1.0f);
    return x;
}

typedef struct timing { double forward, backward; } timing;

/* conv with the BatchNorm and ReLU that follow it in both networks */
typedef struct layer_shape {
    const char *label;
    int in_channels, size, out_channels, kernel, stride, groups;
    int count; /* how often the shape occurs in the network */
} layer_shape;

static timing time_conv(const layer_shape *l, int repeats, int with_grad_in) {
    gf_conv2d_shape s = {.batch = BATCH, .in_channels = l->in_channels, .in_h = l->size,
                         .in_w = l->size, .out_channels = l->out_channels, .kernel = l->kernel,
                         .stride = l->stride, .padding = l->kernel / 2, .groups = l->groups};
    if (gf_conv2d_shape_init(&s) != GF_OK) {
        fprintf(stderr, "%s\n", gf_error_message());
        exit(1);
    }
    size_t in_n = (size_t)BATCH * s.in_channels * s.in_h * s.in_w;
    size_t out_n = (size_t)BATCH * s.out_channels * s.out_h * s.out_w;
    size_t w_n = (size_t)s.out_channels * (s.in_channels / s.groups) * s.kernel * s.kernel;
    float *in = random_buffer(in_n, 1), *w = random_buffer(w_n, 2), *out = random_buffer(out_n, 3);
    float *grad_in = random_buffer(in_n, 4), *grad_w = random_buffer(w_n, 5);
    size_t ws_n = gf_conv2d_workspace_floats(&s);
    float *ws = ws_n ? random_buffer(ws_n, 6) : NULL;
    gf_moments *moments = gf_alloc(sizeof *moments * (size_t)BATCH * s.out_channels, "moments");
    if (!moments) exit(1);
    timing t = {1e30, 1e30};
    for (int r = 0; r <= repeats; r++) { /* the first round warms up */
        double t0 = now_ms();
        /* with the output planes' moments for the BatchNorm after it where a network asks */
        gf_conv2d_forward_moments(out, s.out_h * s.out_w >= GF_MOMENTS_MIN_PLANE ? moments : NULL,
                                  in, w, NULL, &s, ws);
        double t1 = now_ms();
        gf_conv2d_backward(with_grad_in ? grad_in : NULL, grad_w, NULL, out, in, w, &s, ws,
                           GF_GRAD_STORE);
        double t2 = now_ms();
        if (r && t1 - t0 < t.forward) t.forward = t1 - t0;
        if (r && t2 - t1 < t.backward) t.backward = t2 - t1;
    }
    gf_free(in); gf_free(w); gf_free(out); gf_free(grad_in); gf_free(grad_w); gf_free(ws);
    gf_free(moments);
    return t;
}

static timing time_batchnorm_relu(int channels, int size, int repeats) {
    gf_batchnorm_shape s = {.batch = BATCH, .channels = channels, .spatial = size * size,
                            .eps = 1e-5f, .momentum = 0.1f, .activated = true,
                            .activation = GF_ACT_RELU};
    size_t n = (size_t)BATCH * channels * size * size;
    float *in = random_buffer(n, 1), *act = random_buffer(n, 3);
    float *grad = random_buffer(n, 4), *grad_in = random_buffer(n, 5);
    float *gamma = random_buffer(channels, 7), *beta = random_buffer(channels, 8);
    float *stats = random_buffer(4 * (size_t)channels, 9), *grads = random_buffer(2 * (size_t)channels, 10);
    for (int c = 0; c < channels; c++) stats[3 * channels + c] = 1.0f;
    /* the input's plane moments, which the convolution before hands over in a network */
    gf_moments *moments = gf_alloc(sizeof *moments * (size_t)BATCH * channels, "moments");
    if (!moments) exit(1);
    for (size_t p = 0; p < (size_t)BATCH * channels; p++)
        moments[p] = gf_moments_of_plane(in + p * s.spatial, (size_t)s.spatial);
    timing t = {1e30, 1e30};
    for (int r = 0; r <= repeats; r++) {
        double t0 = now_ms();
        /* fused, from given moments where a network gives them, storing the input gradient */
        gf_batchnorm_forward_train_moments(act, stats, stats + channels, stats + 2 * channels,
                                           stats + 3 * channels, in, gamma, beta,
                                           s.spatial >= GF_MOMENTS_MIN_PLANE ? moments : NULL, &s);
        double t1 = now_ms();
        gf_batchnorm_backward(grad_in, grads, grads + channels, grad, in, stats,
                              stats + channels, gamma, beta, &s, GF_GRAD_STORE);
        double t2 = now_ms();
        if (r && t1 - t0 < t.forward) t.forward = t1 - t0;
        if (r && t2 - t1 < t.backward) t.backward = t2 - t1;
    }
    gf_free(in); gf_free(act); gf_free(grad); gf_free(grad_in);
    gf_free(gamma); gf_free(beta); gf_free(stats); gf_free(grads); gf_free(moments);
    return t;
}

/* with "only=TEXT", the layers whose label contains TEXT (for profiling one shape) */
static const char *only_layers = NULL;

static void run_network(const char *name, const layer_shape *layers, int n_layers, int repeats) {
    printf("\n%s, batch %d (ms; min over %d runs)\n", name, BATCH, repeats);
    printf("%-28s %5s %9s %9s %9s %9s\n", "layer", "count", "conv fwd", "conv bwd", "bn+relu f",
           "bn+relu b");
    double total_conv = 0, total_bn = 0;
    for (int i = 0; i < n_layers; i++) {
        const layer_shape *l = &layers[i];
        if (only_layers && !strstr(l->label, only_layers)) continue;
        /* the first convolution needs no input gradient */
        timing c = time_conv(l, repeats, l->in_channels != 3);
        int out_size = (l->size + 2 * (l->kernel / 2) - l->kernel) / l->stride + 1;
        timing b = time_batchnorm_relu(l->out_channels, out_size, repeats);
        printf("%-28s %5d %9.2f %9.2f %9.2f %9.2f\n", l->label, l->count, c.forward, c.backward,
               b.forward, b.backward);
        total_conv += l->count * (c.forward + c.backward);
        total_bn += l->count * (b.forward + b.backward);
    }
    printf("%s total: conv %.1f ms, batchnorm+relu %.1f ms, sum %.1f ms per step\n", name,
           total_conv, total_bn, total_conv + total_bn);
}

int main(int argc, char **argv) {
    int repeats = argc > 1 ? atoi(argv[1]) : 3;
    if (repeats < 1) repeats = 1;
    bool resnet_only = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "resnet") == 0) resnet_only = true;
        if (strcmp(argv[i], "cpu") == 0) bench_clock = CLOCK_PROCESS_CPUTIME_ID;
        if (strcmp(argv[i], "grid") == 0) gf_conv2d_use_winograd(false);
        if (strcmp(argv[i], "im2col") == 0) gf_conv2d_use_parity_planes(false);
        if (strcmp(argv[i], "f2") == 0) gf_conv2d_force_winograd_tile(2);
        if (strcmp(argv[i], "f4") == 0) gf_conv2d_force_winograd_tile(4);
        if (strncmp(argv[i], "only=", 5) == 0) only_layers = argv[i] + 5;
    }
    printf("threads %d, gemm kernels %s, %s time\n", gf_parallel_threads(), gf_gemm_isa(),
           bench_clock == CLOCK_MONOTONIC ? "wall" : "CPU");
    const layer_shape resnet20[] = {
        {"conv1 3->16 32x32", 3, 32, 16, 3, 1, 1, 1},
        {"16->16 32x32", 16, 32, 16, 3, 1, 1, 6},
        {"16->32 32x32 s2", 16, 32, 32, 3, 2, 1, 1},
        {"32->32 16x16", 32, 16, 32, 3, 1, 1, 5},
        {"32->64 16x16 s2", 32, 16, 64, 3, 2, 1, 1},
        {"64->64 8x8", 64, 8, 64, 3, 1, 1, 5},
    };
    run_network("ResNet-20", resnet20, (int)(sizeof resnet20 / sizeof resnet20[0]), repeats);
    if (resnet_only) return 0;
    /* MobileNetV2 (CIFAR): per block expand 1x1, depthwise 3x3, project 1x1, and 1x1
     * shortcut convolutions where stride-1 blocks change the width */
    const layer_shape mobilenet[] = {
        {"conv1 3->32 32x32", 3, 32, 32, 3, 1, 1, 1},
        {"pw 32->32 32x32", 32, 32, 32, 1, 1, 1, 1},
        {"dw 32 32x32", 32, 32, 32, 3, 1, 32, 1},
        {"pw 32->16 32x32", 32, 32, 16, 1, 1, 1, 2},
        {"pw 16->96 32x32", 16, 32, 96, 1, 1, 1, 1},
        {"dw 96 32x32", 96, 32, 96, 3, 1, 96, 1},
        {"pw 96->24 32x32", 96, 32, 24, 1, 1, 1, 1},
        {"pw 16->24 32x32", 16, 32, 24, 1, 1, 1, 1},
        {"pw 24->144 32x32", 24, 32, 144, 1, 1, 1, 2},
        {"dw 144 32x32", 144, 32, 144, 3, 1, 144, 1},
        {"pw 144->24 32x32", 144, 32, 24, 1, 1, 1, 1},
        {"dw 144 32x32 s2", 144, 32, 144, 3, 2, 144, 1},
        {"pw 144->32 16x16", 144, 16, 32, 1, 1, 1, 1},
        {"pw 32->192 16x16", 32, 16, 192, 1, 1, 1, 3},
        {"dw 192 16x16", 192, 16, 192, 3, 1, 192, 2},
        {"pw 192->32 16x16", 192, 16, 32, 1, 1, 1, 2},
        {"dw 192 16x16 s2", 192, 16, 192, 3, 2, 192, 1},
        {"pw 192->64 8x8", 192, 8, 64, 1, 1, 1, 1},
        {"pw 64->384 8x8", 64, 8, 384, 1, 1, 1, 4},
        {"dw 384 8x8", 384, 8, 384, 3, 1, 384, 4},
        {"pw 384->64 8x8", 384, 8, 64, 1, 1, 1, 3},
        {"pw 384->96 8x8", 384, 8, 96, 1, 1, 1, 1},
        {"pw 64->96 8x8", 64, 8, 96, 1, 1, 1, 1},
        {"pw 96->576 8x8", 96, 8, 576, 1, 1, 1, 3},
        {"dw 576 8x8", 576, 8, 576, 3, 1, 576, 2},
        {"pw 576->96 8x8", 576, 8, 96, 1, 1, 1, 2},
        {"dw 576 8x8 s2", 576, 8, 576, 3, 2, 576, 1},
        {"pw 576->160 4x4", 576, 4, 160, 1, 1, 1, 1},
        {"pw 160->960 4x4", 160, 4, 960, 1, 1, 1, 3},
        {"dw 960 4x4", 960, 4, 960, 3, 1, 960, 3},
        {"pw 960->160 4x4", 960, 4, 160, 1, 1, 1, 2},
        {"pw 960->320 4x4", 960, 4, 320, 1, 1, 1, 1},
        {"pw 160->320 4x4", 160, 4, 320, 1, 1, 1, 1},
        {"pw 320->1280 4x4", 320, 4, 1280, 1, 1, 1, 1},
    };
    run_network("MobileNetV2", mobilenet, (int)(sizeof mobilenet / sizeof mobilenet[0]), repeats);
    return 0;
}
