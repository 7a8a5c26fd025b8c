/* The network: build-time shape checks and their messages, slices and buffers,
 * initialisation, the arenas of training and evaluation, BatchNorm modes, state
 * copies, the same bits on any number of threads, and a whole-network
 * finite-difference check of gf_net_backward on a small net with residual adds and
 * BatchNorm in training mode. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "nn/conv2d.h"
#include "nn/loss.h"
#include "nn/network.h"

enum { BATCH = 3, CLASSES = 3, IN_C = 2, IN_HW = 6 };

/* The nets below end alike: global average pooling, a linear head of CLASSES, then
 * finalize; NULL (the error printed under `name`) on failure. */
static gf_net *with_head(gf_net *net, int x, uint64_t seed, const char *name) {
    x = gf_net_global_avgpool(net, x);
    x = gf_net_linear(net, "fc", x, CLASSES, true);
    if (x < 0 || gf_net_finalize(net, seed) != GF_OK) {
        fprintf(stderr, "%s: %s\n", name, gf_error_message());
        gf_net_free(net);
        return NULL;
    }
    return net;
}

/* A small net with everything backward has to get right: a node read by two later
 * nodes (residual), an option-A shortcut, a conv with bias, a grouped conv, a strided
 * conv, BatchNorm in training mode, pooling and a linear head. With `slope` > 0 it
 * has leaky ReLUs; the finite-difference check uses none (slope 0), since a step
 * across an activation's kink spoils a central difference: activations are checked
 * in the layer tests and, inside whole networks, by the PyTorch parity test.
 * `unfused` puts an unused reader between each BatchNorm or add and its activation,
 * so that the network does not fuse them (nn/batchnorm.h, nn/shortcut.h). */
static int activation_after(gf_net *net, int bn, float slope, bool unfused) {
    if (unfused) gf_net_global_avgpool(net, bn);
    return gf_net_activation(net, bn, GF_ACT_LEAKY_RELU, slope);
}

static gf_net *small_net(uint64_t seed, float slope, bool unfused) {
    gf_net *net = gf_net_create(IN_C, IN_HW, IN_HW);
    int x = gf_net_conv2d(net, "conv1", 0, 4, 3, 1, 1, 1, false);
    int stem = gf_net_batchnorm(net, "bn1", x);
    if (slope > 0) stem = activation_after(net, stem, slope, unfused);
    x = gf_net_conv2d(net, "block.conv1", stem, 4, 3, 1, 1, 1, true);
    x = gf_net_batchnorm(net, "block.bn1", x);
    if (slope > 0) x = activation_after(net, x, slope, unfused);
    x = gf_net_conv2d(net, "block.conv2", x, 4, 3, 1, 1, 2, false);
    x = gf_net_batchnorm(net, "block.bn2", x);
    int mid = gf_net_add(net, x, stem);
    if (slope > 0) mid = activation_after(net, mid, slope, unfused);
    x = gf_net_conv2d(net, "down.conv", mid, 8, 3, 2, 1, 1, false);
    x = gf_net_batchnorm(net, "down.bn", x);
    int shortcut = gf_net_shortcut_a(net, mid, 8, 2);
    x = gf_net_add(net, x, shortcut);
    x = gf_net_avgpool(net, x, 2, 1, 0);
    return with_head(net, x, seed, "small_net");
}

typedef struct fd_context {
    gf_net *net;
    const float *input;
    const int32_t *labels;
} fd_context;

/* The mean cross-entropy of a training-mode forward, in double. */
static double loss_of(fd_context *c) {
    const float *logits;
    if (gf_net_forward(c->net, c->input, BATCH, &logits) != GF_OK) return NAN;
    double total = 0.0;
    for (int b = 0; b < BATCH; b++) {
        const float *z = logits + b * CLASSES;
        double m = z[0], sum = 0.0;
        for (int k = 1; k < CLASSES; k++) m = z[k] > m ? z[k] : m;
        for (int k = 0; k < CLASSES; k++) sum += exp(z[k] - m);
        total += m + log(sum) - z[c->labels[b]];
    }
    return total / BATCH;
}

static void test_gradients_against_finite_differences(void) {
    uint64_t seed = getenv("GRAFT_TEST_SEED") ? strtoull(getenv("GRAFT_TEST_SEED"), NULL, 10) : 7;
    gf_net *net = small_net(seed, 0.0f, false);
    CHECK(net != NULL);
    if (!net) return;
    float input[BATCH * IN_C * IN_HW * IN_HW];
    gf_rng rng;
    gf_rng_seed(&rng, 99, 5);
    gf_rng_fill_normal(&rng, input, sizeof input / sizeof input[0], 0.0f, 1.0f);
    int32_t labels[BATCH] = {2, 0, 1};
    /* non-trivial BatchNorm affine parameters */
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *s = gf_net_slice(net, i);
        if (strstr(s->name, "bn") && s->kind == GF_SLICE_PARAM)
            gf_rng_fill_uniform(&rng, gf_net_slice_data(net, s), (size_t)s->numel, 0.5f, 1.5f);
    }
    fd_context ctx = {net, input, labels};

    const float *logits;
    float loss, grad_logits[BATCH * CLASSES];
    CHECK(gf_net_forward(net, input, BATCH, &logits) == GF_OK);
    CHECK(gf_cross_entropy(&loss, grad_logits, logits, labels, BATCH, CLASSES) == GF_OK);
    CHECK_NEAR(loss, loss_of(&ctx), 1e-5);
    CHECK(gf_net_backward(net, grad_logits) == GF_OK);
    size_t count = gf_net_param_count(net);
    float *analytic = malloc(count * sizeof(float));
    memcpy(analytic, gf_net_grads(net), count * sizeof(float));

    /* Every BatchNorm and bias parameter and a random sample of the weights against
     * central differences. Float forward passes leave about 1e-7 of the loss as
     * noise, so the step is large (the net is smooth) and the tolerance has a small
     * absolute part. */
    float *params = gf_net_params(net);
    int checked = 0, bad = 0;
    double worst = 0.0;
    gf_rng pick;
    gf_rng_seed(&pick, seed, 1);
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *s = gf_net_slice(net, i);
        if (s->kind != GF_SLICE_PARAM) continue;
        bool all = s->ndim == 1;
        int points = all ? (int)s->numel : 8;
        for (int p = 0; p < points; p++) {
            size_t k = s->offset + (all ? (size_t)p : gf_rng_below(&pick, (uint32_t)s->numel));
            const float eps = 1e-2f;
            float saved = params[k];
            params[k] = saved + eps;
            double up = loss_of(&ctx);
            params[k] = saved - eps;
            double down = loss_of(&ctx);
            params[k] = saved;
            double numeric = (up - down) / (2.0 * eps);
            double diff = fabs(numeric - analytic[k]);
            double scale = fmax(fabs(numeric), fabs(analytic[k]));
            if (diff > 5e-3 * scale + 5e-5) {
                if (bad < 5)
                    fprintf(stderr, "%s[%zu]: analytic %.6g, numeric %.6g\n", s->name,
                            k - s->offset, analytic[k], numeric);
                bad++;
            }
            if (scale > 1e-2 && diff / scale > worst) worst = diff / scale;
            checked++;
        }
    }
    printf(
        "finite differences: %d parameters, worst relative error %.2e (gradients above "
        "1e-2)\n",
        checked, worst);
    CHECK(bad == 0);
    CHECK(checked > 60);
    free(analytic);
    gf_net_free(net);
}

/* BatchNorm and add fused with their leaky ReLUs give what the nodes give apart: logits
 * (training and evaluation), gradients and running statistics. */
static void test_fused_activations_match_separate(void) {
    gf_net *fused = small_net(11, 0.2f, false), *apart = small_net(11, 0.2f, true);
    CHECK(fused && apart);
    if (!fused || !apart) return;
    size_t count = gf_net_param_count(fused);
    CHECK(count == gf_net_param_count(apart));
    CHECK(memcmp(gf_net_params(fused), gf_net_params(apart), count * sizeof(float)) == 0);
    float input[BATCH * IN_C * IN_HW * IN_HW];
    gf_rng rng;
    gf_rng_seed(&rng, 12, 0);
    gf_rng_fill_normal(&rng, input, sizeof input / sizeof input[0], 0.0f, 1.0f);
    int32_t labels[BATCH] = {1, 2, 0};
    float grads[2][BATCH * CLASSES], logits[2][BATCH * CLASSES], loss;
    gf_net *nets[2] = {fused, apart};
    for (int k = 0; k < 2; k++) {
        const float *out;
        gf_net_set_training(nets[k], true);
        CHECK(gf_net_forward(nets[k], input, BATCH, &out) == GF_OK);
        memcpy(logits[k], out, sizeof logits[k]);
        CHECK(gf_cross_entropy(&loss, grads[k], out, labels, BATCH, CLASSES) == GF_OK);
        CHECK(gf_net_backward(nets[k], grads[k]) == GF_OK);
    }
    CHECK(check_worst_relative(logits[0], logits[1], BATCH * CLASSES) <= 1e-5);
    double g = check_worst_relative(gf_net_grads(fused), gf_net_grads(apart), count);
    if (g > 1e-5) fprintf(stderr, "fused network: gradients differ by %g\n", g);
    CHECK(g <= 1e-5);
    CHECK(check_worst_relative(gf_net_stats(fused), gf_net_stats(apart), gf_net_stat_count(fused)) <= 1e-6);
    for (int k = 0; k < 2; k++) {
        const float *out;
        gf_net_set_training(nets[k], false);
        CHECK(gf_net_forward(nets[k], input, BATCH, &out) == GF_OK);
        memcpy(logits[k], out, sizeof logits[k]);
    }
    CHECK(check_worst_relative(logits[0], logits[1], BATCH * CLASSES) <= 1e-5);
    gf_net_free(fused);
    gf_net_free(apart);
}

/* A net whose BatchNorms (with ReLU, none, ReLU6 and a leaky ReLU) feed 3x3
 * convolutions of Winograd's path, depthwise ones (strides 1 and 2), a 1x1 one, or residual
 * adds (with an activation and without), each the only reader: in training the
 * convolutions and adds apply the BatchNorms' maps (nn/plan.h). `apart` gives each of
 * those outputs an unused second reader, so that they are written as usual. bn1's ReLU
 * is read by the residual add too, and stays written in both. */
enum { MAPPED_BATCH = 4, MAPPED_HW = 12 };

static int unused_reader(gf_net *net, int x, bool apart) {
    if (apart) gf_net_global_avgpool(net, x);
    return x;
}

static gf_net *mapped_net(uint64_t seed, bool apart) {
    gf_net *net = gf_net_create(3, MAPPED_HW, MAPPED_HW);
    int x = gf_net_conv2d(net, "conv1", 0, 8, 3, 1, 1, 1, false);
    int stem = gf_net_activation(net, gf_net_batchnorm(net, "bn1", x), GF_ACT_RELU, 0.0f);
    x = gf_net_conv2d(net, "conv2", stem, 10, 3, 1, 1, 1, false);
    x = gf_net_activation(net, gf_net_batchnorm(net, "bn2", x), GF_ACT_RELU, 0.0f);
    x = gf_net_conv2d(net, "conv3", unused_reader(net, x, apart), 9, 3, 1, 1, 1, false);
    x = gf_net_batchnorm(net, "bn3", x);
    x = gf_net_conv2d(net, "conv4", unused_reader(net, x, apart), 8, 3, 1, 1, 1, true);
    x = gf_net_activation(net, gf_net_batchnorm(net, "bn4", x), GF_ACT_RELU6, 0.0f);
    x = gf_net_conv2d(net, "conv5.dw", unused_reader(net, x, apart), 8, 3, 1, 1, 8, false);
    x = gf_net_activation(net, gf_net_batchnorm(net, "bn5", x), GF_ACT_LEAKY_RELU, 0.1f);
    x = gf_net_conv2d(net, "conv6", unused_reader(net, x, apart), 8, 3, 1, 1, 1, false);
    x = unused_reader(net, gf_net_batchnorm(net, "bn6", x), apart);
    const int mid = gf_net_activation(net, gf_net_add(net, x, stem), GF_ACT_RELU, 0.0f);
    x = gf_net_conv2d(net, "conv7", mid, 12, 1, 1, 0, 1, false);
    x = gf_net_activation(net, gf_net_batchnorm(net, "bn7", x), GF_ACT_RELU6, 0.0f);
    x = gf_net_conv2d(net, "conv8.dw", unused_reader(net, x, apart), 12, 3, 2, 1, 12, false);
    x = gf_net_activation(net, gf_net_batchnorm(net, "bn8", x), GF_ACT_RELU6, 0.0f);
    x = gf_net_conv2d(net, "conv10", unused_reader(net, x, apart), 12, 1, 1, 0, 1, false);
    x = unused_reader(net, gf_net_batchnorm(net, "bn10", x), apart);
    /* a projection shortcut: the add's two inputs both BatchNorms, the first mapped */
    int shortcut = gf_net_conv2d(net, "conv9", mid, 12, 1, 2, 0, 1, false);
    shortcut = unused_reader(net, gf_net_batchnorm(net, "bn9", shortcut), apart);
    x = gf_net_add(net, x, shortcut);
    return with_head(net, x, seed, "mapped_net");
}

enum { MAPPED_INPUT = MAPPED_BATCH * 3 * MAPPED_HW * MAPPED_HW, MAPPED_LOGITS = MAPPED_BATCH * CLASSES };

/* `steps` training steps of both nets on the same random batches, each followed by a
 * plain SGD step (so that the next starts from other weights): the same logits,
 * gradients and running statistics, bit for bit. The last batch stays in `input`. */
static void train_alike(gf_net *nets[2], gf_rng *rng, float *input, int steps) {
    const size_t count = gf_net_param_count(nets[0]);
    float logits[2][MAPPED_LOGITS], grads[2][MAPPED_LOGITS], loss;
    int32_t labels[MAPPED_BATCH] = {2, 0, 1, 2};
    for (int step = 0; step < steps; step++) {
        gf_rng_fill_normal(rng, input, MAPPED_INPUT, 0.5f, 1.5f);
        for (int k = 0; k < 2; k++) {
            const float *out;
            gf_net_set_training(nets[k], true);
            CHECK(gf_net_forward(nets[k], input, MAPPED_BATCH, &out) == GF_OK);
            memcpy(logits[k], out, sizeof logits[k]);
            CHECK(gf_cross_entropy(&loss, grads[k], out, labels, MAPPED_BATCH, CLASSES) == GF_OK);
            CHECK(gf_net_backward(nets[k], grads[k]) == GF_OK);
        }
        CHECK(memcmp(logits[0], logits[1], sizeof logits[0]) == 0);
        CHECK(memcmp(gf_net_grads(nets[0]), gf_net_grads(nets[1]), count * sizeof(float)) == 0);
        CHECK(memcmp(gf_net_stats(nets[0]), gf_net_stats(nets[1]),
                     gf_net_stat_count(nets[0]) * sizeof(float)) == 0);
        for (int k = 0; k < 2; k++)
            for (size_t p = 0; p < count; p++)
                gf_net_params(nets[k])[p] -= 0.1f * gf_net_grads(nets[k])[p];
    }
}

/* The mapped BatchNorms give the bits of the written ones: logits, gradients and
 * running statistics over two training steps, then evaluation; and the training arena
 * holds none of their outputs. With Winograd switched off its convolutions map no
 * more: the next training forward lays the arena out again, still the same bits, and
 * again when it is switched back on. */
static void test_mapped_batchnorms_match_written(void) {
    gf_net *mapped = mapped_net(21, false), *written = mapped_net(21, true);
    CHECK(mapped && written);
    if (!mapped || !written) return;
    CHECK(gf_net_param_count(mapped) == gf_net_param_count(written));
    float input[MAPPED_INPUT], logits[2][MAPPED_LOGITS];
    gf_rng rng;
    gf_rng_seed(&rng, 22, 0);
    gf_net *nets[2] = {mapped, written};
    train_alike(nets, &rng, input, 2);
    /* channels of the mapped outputs at 12x12 (conv2 to conv6, bn7's, bn6), and bn8's
     * and bn10's at 6x6; bn9's stays written in both */
    const size_t plane_bytes = MAPPED_BATCH * MAPPED_HW * MAPPED_HW * sizeof(float);
    const size_t mapped_arena = gf_net_mode_arena_bytes(mapped, true);
    CHECK(gf_net_mode_arena_bytes(written, true) - mapped_arena >=
          (10 + 9 + 8 + 8 + 12 + 8) * plane_bytes + (12 + 12) * plane_bytes / 4);
    for (int k = 0; k < 2; k++) {
        const float *out;
        gf_net_set_training(nets[k], false);
        CHECK(gf_net_forward(nets[k], input, MAPPED_BATCH, &out) == GF_OK);
        memcpy(logits[k], out, sizeof logits[k]);
    }
    CHECK(memcmp(logits[0], logits[1], sizeof logits[0]) == 0);
    gf_conv2d_use_winograd(false);
    train_alike(nets, &rng, input, 1);
    /* conv3, conv4 and conv6's inputs written again: 10 + 9 + 8 channels at 12x12 (the
     * depthwise convolutions and the adds still map) */
    CHECK(gf_net_mode_arena_bytes(mapped, true) >= mapped_arena + (10 + 9 + 8) * plane_bytes);
    gf_conv2d_use_winograd(true);
    train_alike(nets, &rng, input, 1);
    CHECK(gf_net_mode_arena_bytes(mapped, true) == mapped_arena);
    gf_net_free(mapped);
    gf_net_free(written);
}

static void test_build_errors(void) {
    gf_net *net = gf_net_create(3, 8, 8);
    int c = gf_net_conv2d(net, "conv1", 0, 6, 3, 1, 1, 1, false);
    CHECK(c == 1);
    CHECK(gf_net_conv2d(net, "grouped", c, 8, 3, 1, 1, 4, false) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "conv2d 'grouped'");
    CHECK_CONTAINS(gf_error_message(), "groups 4 must divide in_channels 6 and out_channels 8");
    CHECK(gf_net_conv2d(net, "big", c, 8, 11, 1, 1, 1, false) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "kernel 11 does not fit the input 8x8 with padding 1");
    CHECK(gf_net_conv2d(net, "conv1", c, 8, 3, 1, 1, 1, false) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "layer name 'conv1' is already used by node 1");
    CHECK(gf_net_conv2d(net, "", c, 8, 3, 1, 1, 1, false) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "needs a name");
    CHECK(gf_net_batchnorm(net, "bn", 9) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "input node 9 does not exist (the network has 2 nodes)");
    int strided = gf_net_conv2d(net, "strided", c, 6, 3, 2, 1, 1, false);
    CHECK(strided == 2);
    CHECK(gf_net_add(net, c, strided) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "node 1 (conv2d 'conv1') gives [6, 8, 8]");
    CHECK_CONTAINS(gf_error_message(), "node 2 (conv2d 'strided') gives [6, 4, 4]");
    CHECK(gf_net_shortcut_a(net, c, 9, 2) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "6 -> 9 channels");
    char long_name[90];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    CHECK(gf_net_batchnorm(net, long_name, c) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "is too long (89 characters, at most 75)");
    CHECK(gf_net_node_count(net) == 3); /* failed builders added nothing */
    CHECK(gf_net_slice_count(net) == 2);
    CHECK(gf_net_finalize(net, 1) == GF_OK);
    CHECK(gf_net_activation(net, c, GF_ACT_RELU, 0) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "already finalised");
    const float *out;
    float x[3 * 8 * 8] = {0};
    CHECK(gf_net_backward(net, x) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "needs a forward in training mode");
    gf_net_set_training(net, false);
    CHECK(gf_net_forward(net, x, 1, &out) == GF_OK);
    CHECK(gf_net_backward(net, x) == GF_ERR);
    gf_net_free(net);
    CHECK(gf_net_create(3, 0, 8) == NULL);
    CHECK_CONTAINS(gf_error_message(), "input shape [3, 0, 8]");
}

static void test_slices_and_initialisation(void) {
    gf_net *net = gf_net_create(16, 8, 8);
    int x = gf_net_conv2d(net, "wide", 0, 64, 3, 1, 1, 1, true);
    x = gf_net_batchnorm(net, "bn", x);
    x = gf_net_global_avgpool(net, x);
    x = gf_net_linear(net, "head", x, 50, true);
    CHECK(gf_net_finalize(net, 11) == GF_OK);
    static const char *names[] = {"wide.weight",
                                  "wide.bias",
                                  "bn.weight",
                                  "bn.bias",
                                  "bn.running_mean",
                                  "bn.running_var",
                                  "bn.num_batches_tracked",
                                  "head.weight",
                                  "head.bias"};
    CHECK(gf_net_slice_count(net) == 9);
    for (int i = 0; i < 9 && i < gf_net_slice_count(net); i++) {
        CHECK(strcmp(gf_net_slice(net, i)->name, names[i]) == 0);
        CHECK(gf_net_find_slice(net, names[i]) == i);
    }
    CHECK(gf_net_find_slice(net, "bn.missing") == -1);
    /* parameters are contiguous in state_dict order; stats and counters apart */
    CHECK(gf_net_param_count(net) == 64 * 16 * 9 + 64 + 64 + 64 + 50 * 64 + 50);
    CHECK(gf_net_stat_count(net) == 128);
    CHECK(gf_net_counter_count(net) == 1);
    CHECK(gf_net_slice(net, 6)->kind == GF_SLICE_COUNT && gf_net_slice(net, 6)->ndim == 0);
    CHECK(gf_net_slice_data(net, gf_net_slice(net, 6)) == NULL);
    CHECK(gf_net_slice_grad(net, gf_net_slice(net, 4)) == NULL);
    CHECK(((uintptr_t)gf_net_params(net) % 64) == 0 && ((uintptr_t)gf_net_grads(net) % 64) == 0);
    CHECK(gf_net_slice_data(net, gf_net_slice(net, 7)) ==
          gf_net_params(net) + 64 * 16 * 9 + 64 * 3);

    /* Kaiming normal: std sqrt(2 / fan_in) */
    const gf_slice *w = gf_net_slice(net, 0);
    const float *wd = gf_net_slice_data(net, w);
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < w->numel; i++) {
        sum += wd[i];
        sq += (double)wd[i] * wd[i];
    }
    double mean = sum / (double)w->numel, std = sqrt(sq / (double)w->numel - mean * mean);
    CHECK_NEAR(mean, 0.0, 0.01);
    CHECK_NEAR(std, sqrt(2.0 / (16 * 9)), 0.004);
    const float *conv_bias = gf_net_slice_data(net, gf_net_slice(net, 1));
    const float *gamma = gf_net_slice_data(net, gf_net_slice(net, 2));
    const float *var = gf_net_slice_data(net, gf_net_slice(net, 5));
    const float *head_bias = gf_net_slice_data(net, gf_net_slice(net, 8));
    int bias_ok = 1, bn_ok = 1, head_ok = 1;
    for (int c = 0; c < 64; c++) {
        bias_ok &= conv_bias[c] == 0.0f;
        bn_ok &=
            gamma[c] == 1.0f && gamma[64 + c] == 0.0f && var[c] == 1.0f && var[-64 + c] == 0.0f;
    }
    float bound = 1.0f / 8.0f, largest = 0.0f;
    for (int k = 0; k < 50; k++) {
        head_ok &= fabsf(head_bias[k]) <= bound;
        largest = fmaxf(largest, fabsf(head_bias[k]));
    }
    CHECK(bias_ok && bn_ok && head_ok);
    CHECK(largest > bound / 2); /* drawn from the whole range */

    /* same seed, same weights; another seed, others */
    float first = wd[0];
    gf_net_initialise(net, 11);
    CHECK(wd[0] == first);
    gf_net_initialise(net, 12);
    CHECK(wd[0] != first);
    gf_net_free(net);
}

static void test_batchnorm_modes_and_arena(void) {
    gf_net *net = small_net(5, 0.1f, false);
    float input[8 * IN_C * IN_HW * IN_HW];
    gf_rng rng;
    gf_rng_seed(&rng, 4, 2);
    gf_rng_fill_normal(&rng, input, sizeof input / sizeof input[0], 1.0f, 2.0f);
    int64_t *counters = gf_net_counters(net);
    const float *out;

    CHECK(gf_net_is_training(net));
    CHECK(gf_net_forward(net, input, 4, &out) == GF_OK);
    size_t arena = gf_net_arena_bytes(net);
    CHECK(arena > 0);
    CHECK(counters[0] == 1 && counters[gf_net_counter_count(net) - 1] == 1);
    /* running mean moved towards the batch mean (input mean is 1) */
    const gf_slice *mean = gf_net_slice(net, gf_net_find_slice(net, "bn1.running_mean"));
    const float *mean_data = gf_net_slice_data(net, mean);
    int moved = 0;
    for (int c = 0; c < 4; c++) moved += mean_data[c] != 0.0f;
    CHECK(moved == 4);

    CHECK(gf_net_forward(net, input, 2, &out) == GF_OK);
    CHECK(gf_net_arena_bytes(net) == arena); /* a smaller batch reuses the arena */
    CHECK(counters[0] == 2);

    gf_net_set_training(net, false);
    size_t stat_bytes = gf_net_stat_count(net) * sizeof(float);
    float *stats_before = malloc(stat_bytes);
    memcpy(stats_before, gf_net_stats(net), stat_bytes);
    CHECK(gf_net_forward(net, input, 2, &out) == GF_OK);
    float eval_first[2 * CLASSES];
    memcpy(eval_first, out, sizeof eval_first);
    /* in evaluation a sample's output does not depend on the rest of the batch */
    CHECK(gf_net_forward(net, input, 1, &out) == GF_OK);
    for (int k = 0; k < CLASSES; k++) CHECK_NEAR(out[k], eval_first[k], 1e-6);
    CHECK(memcmp(stats_before, gf_net_stats(net), stat_bytes) == 0);
    free(stats_before);
    CHECK(counters[0] == 2);

    gf_net_set_training(net, true);
    CHECK(gf_net_forward(net, input, 8, &out) == GF_OK);
    CHECK(gf_net_arena_bytes(net) > arena); /* a larger batch grows it */
    /* released, the arena is gone: the next forward lays it out again and gives the
     * same outputs, and backward needs that forward */
    gf_net_set_training(net, false);
    CHECK(gf_net_forward(net, input, 8, &out) == GF_OK);
    float before_release[8 * CLASSES];
    memcpy(before_release, out, sizeof before_release);
    gf_net_release_activations(net);
    CHECK(gf_net_arena_bytes(net) == 0);
    CHECK(gf_net_forward(net, input, 8, &out) == GF_OK);
    CHECK(gf_net_arena_bytes(net) > 0);
    CHECK(memcmp(out, before_release, sizeof before_release) == 0);
    gf_net_set_training(net, true);
    CHECK(gf_net_forward(net, input, 8, &out) == GF_OK);
    gf_net_release_activations(net);
    float grad_output[8 * CLASSES] = {0};
    CHECK(gf_net_backward(net, grad_output) != GF_OK);
    CHECK(strstr(gf_error_message(), "forward") != NULL);
    CHECK(gf_net_output_size(net) == CLASSES);
    int c, h, w;
    gf_net_input_shape(net, &c, &h, &w);
    CHECK(c == IN_C && h == IN_HW && w == IN_HW);
    gf_net_free(net);
}

/* floats of a batch of `per_sample` floats in an arena (a 64-byte line at least) */
static size_t arena_floats(size_t per_sample, int batch) {
    return (per_sample * (size_t)batch + 15) / 16 * 16;
}

/* An evaluation forward keeps only what it has yet to read: a chain of equal
 * convolution, BatchNorm and ReLU layers needs two buffers (a layer's input and its
 * output), the convolutions' scratch and one convolution's weights and bias with its
 * BatchNorm folded in, where training keeps every output and the
 * gradients. The two arenas live side by side: evaluating between training steps,
 * even at a larger batch, leaves the training arena as it was, and the outputs are
 * the same, bit for bit, whatever ran in between. */
static void test_inference_arena(void) {
    enum { LAYERS = 6, C = 4, HW = 8, B = 5, PLANE = C * HW * HW };
    gf_net *net = gf_net_create(C, HW, HW);
    int x = 0;
    for (int l = 0; l < LAYERS; l++) {
        char name[16];
        snprintf(name, sizeof name, "conv%d", l);
        x = gf_net_conv2d(net, name, x, C, 3, 1, 1, 1, false);
        snprintf(name, sizeof name, "bn%d", l);
        x = gf_net_batchnorm(net, name, x);
        x = gf_net_activation(net, x, GF_ACT_RELU, 0.0f);
    }
    x = gf_net_global_avgpool(net, x);
    x = gf_net_linear(net, "fc", x, CLASSES, true);
    CHECK(x > 0 && gf_net_finalize(net, 3) == GF_OK);
    float input[3 * B * PLANE];
    gf_rng rng;
    gf_rng_seed(&rng, 5, 2);
    gf_rng_fill_normal(&rng, input, sizeof input / sizeof input[0], 0.5f, 1.0f);
    /* what the arenas hold besides activations: the largest convolution scratch, and
     * in evaluation a convolution's folded weights and bias */
    const size_t folded = arena_floats(C * C * 9 + C, 1);
    size_t workspace[2];
    for (int k = 0; k < 2; k++) {
        gf_conv2d_shape conv = {.batch = k ? 3 * B : B, .in_channels = C, .in_h = HW,
                                .in_w = HW, .out_channels = C, .kernel = 3, .stride = 1,
                                .padding = 1, .groups = 1};
        CHECK(gf_conv2d_shape_init(&conv) == GF_OK);
        workspace[k] = arena_floats(gf_conv2d_workspace_floats(&conv), 1);
    }

    const float *out;
    gf_net_set_training(net, false);
    CHECK(gf_net_forward(net, input, B, &out) == GF_OK);
    float first[B * CLASSES];
    memcpy(first, out, sizeof first);
    CHECK(gf_net_mode_arena_bytes(net, true) == 0); /* no training forward yet */
    size_t inference = gf_net_mode_arena_bytes(net, false);
    CHECK(inference == (2 * arena_floats(PLANE, B) + workspace[0] + folded) * sizeof(float));

    /* a training step lays out the training arena: the input, every convolution's and
     * every ReLU's output (a BatchNorm writes its ReLU's), gradients and scratch */
    size_t stat_bytes = gf_net_stat_count(net) * sizeof(float);
    float *stats = malloc(stat_bytes);
    memcpy(stats, gf_net_stats(net), stat_bytes);
    gf_net_set_training(net, true);
    CHECK(gf_net_forward(net, input, B, &out) == GF_OK);
    float grad_output[B * CLASSES];
    gf_rng_fill_normal(&rng, grad_output, B * CLASSES, 0.0f, 1.0f);
    CHECK(gf_net_backward(net, grad_output) == GF_OK);
    size_t training = gf_net_mode_arena_bytes(net, true);
    CHECK(training >= ((2 * LAYERS + 1) * arena_floats(PLANE, B) + workspace[0]) * sizeof(float));
    CHECK(gf_net_mode_arena_bytes(net, false) == inference);
    CHECK(gf_net_arena_bytes(net) == training + inference);

    /* evaluation again, with the running statistics as they were: the same outputs */
    memcpy(gf_net_stats(net), stats, stat_bytes);
    gf_net_set_training(net, false);
    CHECK(gf_net_forward(net, input, B, &out) == GF_OK);
    CHECK(memcmp(out, first, sizeof first) == 0);
    CHECK(gf_net_mode_arena_bytes(net, false) == inference);
    /* a larger evaluation batch (a test pass's) grows the inference arena alone, and
     * the training arena is still there for the next step */
    CHECK(gf_net_forward(net, input, 3 * B, &out) == GF_OK);
    CHECK(gf_net_mode_arena_bytes(net, false) ==
          (2 * arena_floats(PLANE, 3 * B) + workspace[1] + folded) * sizeof(float));
    CHECK(gf_net_mode_arena_bytes(net, true) == training);
    gf_net_set_training(net, true);
    CHECK(gf_net_forward(net, input, B, &out) == GF_OK);
    CHECK(gf_net_backward(net, grad_output) == GF_OK);
    CHECK(gf_net_mode_arena_bytes(net, true) == training);
    /* backward is of the last forward, which has to be a training one */
    gf_net_set_training(net, false);
    CHECK(gf_net_forward(net, input, B, &out) == GF_OK);
    CHECK(gf_net_backward(net, grad_output) == GF_ERR);
    free(stats);
    gf_net_free(net);
}

static void test_copy_state(void) {
    gf_net *a = small_net(1, 0.1f, false), *b = small_net(2, 0.1f, false);
    float input[BATCH * IN_C * IN_HW * IN_HW] = {0};
    input[5] = 1.0f;
    const float *out;
    CHECK(gf_net_forward(a, input, BATCH, &out) == GF_OK);
    CHECK(memcmp(gf_net_params(a), gf_net_params(b), gf_net_param_count(a) * 4) != 0);
    CHECK(gf_net_copy_state(b, a) == GF_OK);
    CHECK(memcmp(gf_net_params(a), gf_net_params(b), gf_net_param_count(a) * 4) == 0);
    CHECK(memcmp(gf_net_stats(a), gf_net_stats(b), gf_net_stat_count(a) * 4) == 0);
    CHECK(gf_net_counters(b)[0] == 1);

    gf_net *other = gf_net_create(IN_C, IN_HW, IN_HW);
    gf_net_linear(other, "fc", 0, CLASSES, true);
    gf_net_finalize(other, 1);
    CHECK(gf_net_copy_state(other, a) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "different architectures");
    gf_net_free(other);
    gf_net_free(a);
    gf_net_free(b);
}

/* Every builder refuses sizes beyond the limits of nn/network.h, naming the layer and
 * the value, and leaves the network as it was; the arena's size cannot wrap around. */
static void test_limits(void) {
    gf_net *net = gf_net_create(1, 1, 1);
    /* the 1x1x1 input whose huge padding once made the arena's size wrap around */
    CHECK(gf_net_conv2d(net, "c", 0, 4, 2, 1, 536870912, 1, false) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "node 1 (conv2d 'c'): padding 536870912 is beyond the limit 64");
    CHECK(gf_net_conv2d(net, "c", 0, 1000000000, 1, 1, 0, 1, false) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "out_channels 1000000000 is beyond the limit 65536");
    CHECK(gf_net_maxpool(net, 0, 65, 1, 0) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "node 1 (maxpool): kernel 65 is beyond the limit 64");
    CHECK(gf_net_shortcut_a(net, 0, 1, 100) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "stride 100 is beyond the limit 64");
    CHECK(gf_net_linear(net, "fc", 0, 70000, true) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "node 1 (linear 'fc'): out_features 70000");
    CHECK(gf_net_node_count(net) == 1 && gf_net_slice_count(net) == 0);
    gf_net_free(net);

    CHECK(gf_net_create(3, 8193, 8) == NULL);
    CHECK_CONTAINS(gf_error_message(), "input shape [3, 8193, 8] is beyond the limits");
    CHECK(gf_net_create(65536, 8192, 8192) == NULL);
    CHECK_CONTAINS(gf_error_message(), "beyond the limits");

    /* outputs: an image that padding grows past the limit, a sample that is too large */
    net = gf_net_create(1, 8192, 8192);
    CHECK(gf_net_conv2d(net, "grow", 0, 1, 1, 1, 1, 1, true) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "node 1 (conv2d 'grow'): output height 8194 is beyond the limit 8192");
    CHECK(gf_net_conv2d(net, "wide", 0, 8, 1, 1, 0, 1, false) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "output size per sample 536870912 is beyond the limit 268435456");
    CHECK(gf_net_slice_count(net) == 0 && gf_net_param_count(net) == 0); /* slices undone */
    /* parameters: 2^26 inputs to 64 features is 2^32 weights */
    CHECK(gf_net_linear(net, "fc", 0, 64, true) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "node 1 (linear 'fc'): parameter and statistic floats up to 'fc.weight' 4294967296 is beyond the limit 1073741824");
    gf_net_free(net);

    net = gf_net_create(1, 1, 1);
    int x = 0;
    for (int i = 1; i < GF_NET_MAX_NODES; i++) x = gf_net_activation(net, x, GF_ACT_RELU, 0);
    CHECK(x == GF_NET_MAX_NODES - 1);
    CHECK(gf_net_activation(net, x, GF_ACT_RELU, 0) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "the network has 10000 nodes, the limit");
    gf_net_free(net);

    /* 17 activations of 2^28 floats for the largest batch: more bytes than size_t
     * holds, refused before anything is allocated or read */
    net = gf_net_create(4, 8192, 8192);
    x = 0;
    for (int i = 0; i < 16; i++) x = gf_net_activation(net, x, GF_ACT_RELU, 0);
    CHECK(gf_net_finalize(net, 0) == GF_OK);
    float sample[1] = {0};
    const float *out = NULL;
    CHECK(gf_net_forward(net, sample, 2147483647, &out) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "gf_net_forward with batch 2147483647: cannot allocate "
                                       "the activation arena: its size overflows");
    gf_net_free(net);
}

/* A net with every convolution path (grid, Winograd, parity planes, depthwise flat
 * planes, 1x1 read in place and mapped, im2col, grouped), BatchNorms and a linear head,
 * at a batch that makes several parts of each backward's batch. */
enum { THREADS_BATCH = 21, THREADS_HW = 12 };

static gf_net *all_paths_net(void) {
    gf_net *net = gf_net_create(3, THREADS_HW, THREADS_HW);
    int x = gf_net_conv2d(net, "grid", 0, 8, 3, 1, 1, 1, true);
    x = gf_net_activation(net, gf_net_batchnorm(net, "bn1", x), GF_ACT_RELU, 0.0f);
    x = gf_net_conv2d(net, "winograd", x, 10, 3, 1, 1, 1, false);
    x = gf_net_activation(net, gf_net_batchnorm(net, "bn2", x), GF_ACT_RELU, 0.0f);
    x = gf_net_conv2d(net, "parity", x, 12, 3, 2, 1, 1, false);
    x = gf_net_activation(net, gf_net_batchnorm(net, "bn3", x), GF_ACT_RELU6, 0.0f);
    x = gf_net_conv2d(net, "depthwise", x, 12, 3, 1, 1, 12, false);
    x = gf_net_batchnorm(net, "bn4", x);
    x = gf_net_conv2d(net, "pointwise", x, 16, 1, 1, 0, 1, true);
    x = gf_net_activation(net, gf_net_batchnorm(net, "bn5", x), GF_ACT_RELU, 0.0f);
    x = gf_net_conv2d(net, "im2col", x, 8, 1, 2, 0, 2, false);
    return with_head(net, x, 31, "all_paths_net");
}

typedef struct training_step {
    gf_net *net;
    const float *input;
    float logits[THREADS_BATCH * CLASSES];
    int status;
} training_step;

static void train_once(training_step *t) {
    int32_t labels[THREADS_BATCH];
    for (int n = 0; n < THREADS_BATCH; n++) labels[n] = n % CLASSES;
    float grads[THREADS_BATCH * CLASSES], loss;
    const float *out;
    gf_net_set_training(t->net, true);
    t->status = gf_net_forward(t->net, t->input, THREADS_BATCH, &out);
    if (t->status != GF_OK) return;
    memcpy(t->logits, out, sizeof t->logits);
    t->status = gf_cross_entropy(&loss, grads, out, labels, THREADS_BATCH, CLASSES);
    if (t->status == GF_OK) t->status = gf_net_backward(t->net, grads);
}

/* thread 0 trains, its kernels' jobs each on that thread alone (a job inside a job) */
static void train_inside_a_job(void *ctx, int thread, int threads) {
    (void)threads;
    if (thread == 0) train_once(ctx);
}

/* One training step on the pool's threads and one on a single thread give the same
 * logits, gradients and running statistics, bit for bit: every kernel's result is
 * independent of the thread count (the convolutions' weight gradients are summed
 * over fixed parts of the batch, nn/conv2d.c). */
static void test_same_bits_on_any_thread_count(void) {
    CHECK(gf_parallel_threads() > 1);
    training_step steps[2] = {{.net = all_paths_net()}, {.net = all_paths_net()}};
    CHECK(steps[0].net && steps[1].net);
    if (!steps[0].net || !steps[1].net) return;
    const size_t in_n = (size_t)THREADS_BATCH * 3 * THREADS_HW * THREADS_HW;
    float *input = malloc(sizeof(float) * in_n);
    gf_rng rng;
    gf_rng_seed(&rng, 33, 0);
    gf_rng_fill_normal(&rng, input, in_n, 0.2f, 1.0f);
    steps[0].input = steps[1].input = input;
    train_once(&steps[0]);
    gf_parallel_run(train_inside_a_job, &steps[1]);
    CHECK(steps[0].status == GF_OK && steps[1].status == GF_OK);
    CHECK(memcmp(steps[0].logits, steps[1].logits, sizeof steps[0].logits) == 0);
    CHECK(memcmp(gf_net_grads(steps[0].net), gf_net_grads(steps[1].net),
                 gf_net_param_count(steps[0].net) * sizeof(float)) == 0);
    CHECK(memcmp(gf_net_stats(steps[0].net), gf_net_stats(steps[1].net),
                 gf_net_stat_count(steps[0].net) * sizeof(float)) == 0);
    free(input);
    gf_net_free(steps[0].net);
    gf_net_free(steps[1].net);
}

int main(void) {
    setenv("GRAFT_THREADS", "3", 0); /* several threads even on a two-core machine */
    test_same_bits_on_any_thread_count();
    test_gradients_against_finite_differences();
    test_fused_activations_match_separate();
    test_mapped_batchnorms_match_written();
    test_build_errors();
    test_slices_and_initialisation();
    test_batchnorm_modes_and_arena();
    test_inference_arena();
    test_copy_state();
    test_limits();
    return CHECK_DONE();
}
