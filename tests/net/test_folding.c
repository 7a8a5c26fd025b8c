/* BatchNorm folded into the convolution before it in evaluation (nn/batchnorm_fold.h):
 * on random networks with random BatchNorm parameters and running statistics, the
 * folded evaluation against the same network evaluated with each BatchNorm as a pass
 * of its own, over every convolution path (Winograd, the padded grid, parity planes,
 * 1x1 products, depthwise) and a BatchNorm whose activation is fused, left apart or
 * absent; and evaluation changes nothing a training step reads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/rng.h"
#include "nn/network.h"

typedef struct net_shape {
    int in_c, hw, width, batch, wide; /* wide: channels after the stride-2 block */
    gf_activation_kind act;
    float slope;
    bool conv_bias, bn_output; /* bn_output: the network ends with a folded BatchNorm */
} net_shape;

static net_shape random_shape(gf_rng *r) {
    net_shape s = {.in_c = 1 + (int)gf_rng_below(r, 4), /* the first convolution: grid */
                   .hw = 5 + (int)gf_rng_below(r, 12),
                   .width = 8 + 2 * (int)gf_rng_below(r, 7), /* Winograd's 8 channels and more */
                   .batch = 1 + (int)gf_rng_below(r, 6),
                   .act = (gf_activation_kind)gf_rng_below(r, 3),
                   .slope = 0.5f * gf_rng_uniform(r),
                   .conv_bias = gf_rng_below(r, 2) == 1,
                   .bn_output = gf_rng_below(r, 2) == 1};
    s.wide = s.width + 2 * (1 + (int)gf_rng_below(r, 4));
    return s;
}

/* conv -> BatchNorm -> activation (fused); `apart`: the BatchNorm also read by a
 * global pooling nobody reads, so that its activation runs as a node of its own */
static int conv_bn(gf_net *net, int x, const char *name, int channels, int kernel, int stride,
                   int groups, bool bias, const net_shape *s, bool activated, bool apart) {
    char conv[32], bn[32];
    snprintf(conv, sizeof conv, "%s.conv", name);
    snprintf(bn, sizeof bn, "%s.bn", name);
    x = gf_net_conv2d(net, conv, x, channels, kernel, stride, (kernel - 1) / 2, groups, bias);
    x = gf_net_batchnorm(net, bn, x);
    if (apart) gf_net_global_avgpool(net, x);
    return activated ? gf_net_activation(net, x, s->act, s->slope) : x;
}

/* A ResNet-like network over every convolution path, with folding on or off. */
static gf_net *folding_net(const net_shape *s, bool fold, uint64_t seed) {
    gf_net *net = gf_net_create(s->in_c, s->hw, s->hw);
    CHECK(gf_net_fold_batchnorms(net, fold) == GF_OK);
    const int w = s->width;
    int stem = conv_bn(net, 0, "stem", w, 3, 1, 1, s->conv_bias, s, true, false);
    int x = conv_bn(net, stem, "b1.one", w, 3, 1, 1, false, s, true, false);
    x = conv_bn(net, x, "b1.two", w, 3, 1, 1, s->conv_bias, s, false, false);
    x = gf_net_activation(net, gf_net_add(net, x, stem), GF_ACT_RELU, 0.0f);
    /* a convolution read by its BatchNorm and by an add: not folded */
    int shared = gf_net_conv2d(net, "shared.conv", x, w, 3, 1, 1, 1, false);
    x = gf_net_add(net, gf_net_batchnorm(net, "shared.bn", shared), shared);
    int down = conv_bn(net, x, "b2.one", s->wide, 3, 2, 1, false, s, true, true); /* parity */
    down = conv_bn(net, down, "b2.two", s->wide, 3, 1, 1, false, s, false, false);
    x = gf_net_add(net, down, gf_net_shortcut_a(net, x, s->wide, 2));
    x = conv_bn(net, x, "point", s->wide, 1, 1, 1, s->conv_bias, s, true, false);
    x = conv_bn(net, x, "depth", s->wide, 3, 1, s->wide, false, s, true, false);
    if (s->bn_output) {
        x = conv_bn(net, x, "last", s->wide, 3, 1, 1, false, s, false, false);
    } else {
        x = gf_net_global_avgpool(net, x);
        x = gf_net_linear(net, "fc", x, 5, true);
    }
    if (x < 0 || gf_net_finalize(net, seed) != GF_OK) {
        fprintf(stderr, "folding_net: %s\n", gf_error_message());
        gf_net_free(net);
        return NULL;
    }
    return net;
}

/* BatchNorm parameters and running statistics far from their initial 1, 0, 0, 1:
 * scales of either sign, 0.5 to 1.5 in size, and variances from exp(lowest) to 2.7. */
static void randomise_batchnorms(gf_net *net, gf_rng *r, float lowest) {
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *slice = gf_net_slice(net, i);
        float *data = gf_net_slice_data(net, slice);
        const char *suffix = strrchr(slice->name, '.');
        if (!strstr(slice->name, ".bn.") || !data) continue;
        for (int64_t k = 0; k < slice->numel; k++) {
            const float u = gf_rng_uniform(r);
            if (strcmp(suffix, ".weight") == 0)
                data[k] = (u < 0.5f ? -1.0f : 1.0f) * (0.5f + 2.0f * fabsf(u - 0.5f));
            else if (strcmp(suffix, ".running_var") == 0)
                data[k] = expf(lowest + (1.0f - lowest) * u);
            else /* bias, running_mean */
                data[k] = u - 0.5f;
        }
    }
}

/* The largest |x[i]|. */
static double largest_of(const float *x, size_t n) {
    double largest = 0.0;
    for (size_t i = 0; i < n; i++) largest = fmax(largest, fabs((double)x[i]));
    return largest;
}

/* The largest |got - want| over `largest`. */
static double relative_to_largest(const float *got, const float *want, size_t n,
                                  double largest) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / largest;
        if (!(d <= worst)) worst = d; /* a NaN stays */
    }
    return worst;
}

typedef gf_net *(*net_builder)(const net_shape *s, bool fold, uint64_t seed);

/* A convolution through path `path` (0 Winograd, 1 the padded grid, 2 parity planes,
 * 3 a 1x1 product, 4 depthwise), its BatchNorm and, unless s->bn_output, an
 * activation, with folding on or off; then x + x (exact), so that the activation is
 * not the output, which is never fused. */
static gf_net *single_layer_net(const net_shape *s, int path, bool fold, uint64_t seed) {
    static const int kernel[] = {3, 3, 3, 1, 3}, stride[] = {1, 1, 2, 1, 1};
    const int in_c = path == 1 ? s->in_c : s->width;
    gf_net *net = gf_net_create(in_c, s->hw, s->hw);
    CHECK(gf_net_fold_batchnorms(net, fold) == GF_OK);
    int x = conv_bn(net, 0, "layer", path == 4 ? in_c : s->wide, kernel[path], stride[path],
                    path == 4 ? in_c : 1, s->conv_bias, s, !s->bn_output, false);
    x = gf_net_add(net, x, x);
    if (x < 0 || gf_net_finalize(net, seed) != GF_OK) {
        fprintf(stderr, "single_layer_net: %s\n", gf_error_message());
        gf_net_free(net);
        return NULL;
    }
    return net;
}

/* The largest difference between `folded` and `apart`'s evaluations of a random
 * input, relative to the largest output, or when `unactivated` is given, to the
 * largest of its outputs (the same layers without the last activation, whose clamp,
 * ReLU6's, would hide the size of the values rounded); twice: each time with new
 * BatchNorm parameters and statistics (variances from exp(lowest)) and some new
 * weights, as a caller may change them between two evaluations. */
static double folding_difference(gf_net *folded, gf_net *apart, gf_net *unactivated,
                                 const net_shape *s, float lowest, gf_rng *r) {
    const int in_c = gf_net_node(folded, 0)->channels;
    const size_t in_n = (size_t)s->batch * (size_t)(in_c * s->hw * s->hw);
    const size_t out_n = (size_t)s->batch * (size_t)gf_net_output_size(folded);
    float *input = malloc(sizeof(float) * in_n), *want = malloc(sizeof(float) * out_n);
    gf_rng_fill_normal(r, input, in_n, 0.0f, 1.0f);
    gf_net_set_training(folded, false);
    gf_net_set_training(apart, false);
    if (unactivated) gf_net_set_training(unactivated, false);
    double worst = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        randomise_batchnorms(folded, r, lowest);
        gf_rng_fill_normal(r, gf_net_params(folded), 16, 0.0f, 0.3f); /* the first weights */
        CHECK(gf_net_copy_state(apart, folded) == GF_OK);
        const float *out;
        CHECK(gf_net_forward(apart, input, s->batch, &out) == GF_OK);
        memcpy(want, out, sizeof(float) * out_n);
        double largest = largest_of(want, out_n);
        if (unactivated) {
            CHECK(gf_net_copy_state(unactivated, folded) == GF_OK);
            CHECK(gf_net_forward(unactivated, input, s->batch, &out) == GF_OK);
            largest = largest_of(out, out_n);
        }
        CHECK(gf_net_forward(folded, input, s->batch, &out) == GF_OK);
        worst = fmax(worst, relative_to_largest(out, want, out_n, largest));
    }
    free(input);
    free(want);
    return worst;
}

/* One layer of each path, folded against unfolded: the folded weights are rounded
 * once more and BatchNorm's scale * x + shift is not, and on the Winograd F(4x4, 3x3)
 * path each side has that path's own rounding, up to 5e-6 of the largest output
 * (tests/nn/test_conv2d.c); 2e-5 is four times that (the worst seen over 30 seeds
 * was 6.8e-6). Variances go down to 1e-4, where eps is 10% of them: a wrong eps, a
 * missed activation or a stale parameter is off by far more. */
static void test_single_layers(void) {
    static const char *const paths[] = {"winograd", "grid", "parity planes", "1x1",
                                        "depthwise"};
    gf_rng r;
    gf_rng_seed(&r, getenv("GRAFT_TEST_SEED") ? strtoull(getenv("GRAFT_TEST_SEED"), NULL, 10) : 31,
                4);
    double worst_seen = 0.0;
    for (int round = 0; round < 20; round++) {
        const net_shape s = random_shape(&r);
        net_shape plain = s;
        plain.bn_output = true;
        const int path = round % 5;
        const uint64_t seed = 100 + (uint64_t)round;
        gf_net *folded = single_layer_net(&s, path, true, seed);
        gf_net *apart = single_layer_net(&s, path, false, seed);
        gf_net *unactivated = single_layer_net(&plain, path, false, seed);
        CHECK(folded && apart && unactivated);
        if (folded && apart && unactivated) {
            const double worst =
                folding_difference(folded, apart, unactivated, &s, logf(1e-4f), &r);
            if (!(worst <= 2e-5))
                fprintf(stderr, "folded %s layer, %dx%dx%d, width %d, %s%s: %g of the largest "
                        "output\n", paths[path], s.batch, s.hw, s.hw, s.wide,
                        s.bn_output ? "no activation" : gf_activation_name(s.act),
                        s.conv_bias ? ", bias" : "", worst);
            CHECK(worst <= 2e-5);
            worst_seen = fmax(worst_seen, worst);
        }
        gf_net_free(folded);
        gf_net_free(apart);
        gf_net_free(unactivated);
    }
    printf("folded single layers: worst %.2g of the largest output\n", worst_seen);
}

/* Whole random networks, folded against unfolded, with the BatchNorms' scales within
 * 0.5 to 3 in size (variances from 0.25): each layer's roundings pass through up to
 * ten more layers, which add and scale them; 1e-4 of the largest output is about
 * eight times the worst seen over 30 seeds (1.2e-5). (Larger scales make later layers
 * cancel values many times their output, and then neither evaluation's rounding is
 * small against the output.) */
static void test_whole_networks(void) {
    gf_rng r;
    gf_rng_seed(&r, getenv("GRAFT_TEST_SEED") ? strtoull(getenv("GRAFT_TEST_SEED"), NULL, 10) : 31,
                5);
    double worst_seen = 0.0;
    for (int round = 0; round < 8; round++) {
        const net_shape s = random_shape(&r);
        gf_net *folded = folding_net(&s, true, 200 + (uint64_t)round);
        gf_net *apart = folding_net(&s, false, 200 + (uint64_t)round);
        CHECK(folded && apart);
        if (folded && apart) {
            const double worst = folding_difference(folded, apart, NULL, &s, logf(0.25f), &r);
            if (!(worst <= 1e-4))
                fprintf(stderr, "folded network, %dx%dx%dx%d, width %d/%d, %s: %g of the "
                        "largest output\n", s.batch, s.in_c, s.hw, s.hw, s.width, s.wide,
                        gf_activation_name(s.act), worst);
            CHECK(worst <= 1e-4);
            worst_seen = fmax(worst_seen, worst);
        }
        gf_net_free(folded);
        gf_net_free(apart);
    }
    printf("folded networks: worst %.2g of the largest output\n", worst_seen);
}

/* One training step's logits and gradients. */
static void train_step(gf_net *net, const float *input, int batch, float *logits, float *grads) {
    const float *out;
    gf_net_set_training(net, true);
    CHECK(gf_net_forward(net, input, batch, &out) == GF_OK);
    const size_t n = (size_t)batch * (size_t)gf_net_output_size(net);
    memcpy(logits, out, sizeof(float) * n);
    float *grad_output = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) grad_output[i] = 0.01f * (float)(i % 7) - 0.03f;
    CHECK(gf_net_backward(net, grad_output) == GF_OK);
    memcpy(grads, gf_net_grads(net), sizeof(float) * gf_net_param_count(net));
    free(grad_output);
}

/* Training, evaluation, training: the evaluation leaves parameters, statistics and
 * counters as they were, and the second step gives the bits of a twin network's
 * second step without an evaluation in between. */
static void test_training_around_evaluation(void) {
    gf_rng r;
    gf_rng_seed(&r, 77, 4);
    net_shape s = random_shape(&r);
    s.bn_output = false;
    gf_net *net = folding_net(&s, true, 9), *twin = folding_net(&s, true, 9);
    CHECK(net && twin);
    if (!net || !twin) {
        gf_net_free(net);
        gf_net_free(twin);
        return;
    }
    randomise_batchnorms(net, &r, logf(1e-3f));
    CHECK(gf_net_copy_state(twin, net) == GF_OK);
    const int in_n = s.batch * s.in_c * s.hw * s.hw, out_n = s.batch * gf_net_output_size(net);
    const size_t params = gf_net_param_count(net), stats = gf_net_stat_count(net);
    const size_t counters = gf_net_counter_count(net);
    float *input = malloc(sizeof(float) * (size_t)in_n);
    gf_rng_fill_normal(&r, input, (size_t)in_n, 0.0f, 1.0f);
    float *logits[2], *grads[2];
    for (int k = 0; k < 2; k++) {
        logits[k] = malloc(sizeof(float) * (size_t)out_n);
        grads[k] = malloc(sizeof(float) * params);
    }
    train_step(net, input, s.batch, logits[0], grads[0]);
    train_step(twin, input, s.batch, logits[1], grads[1]);
    float *param_copy = malloc(sizeof(float) * params), *stat_copy = malloc(sizeof(float) * stats);
    int64_t *counter_copy = malloc(sizeof(int64_t) * counters);
    memcpy(param_copy, gf_net_params(net), sizeof(float) * params);
    memcpy(stat_copy, gf_net_stats(net), sizeof(float) * stats);
    memcpy(counter_copy, gf_net_counters(net), sizeof(int64_t) * counters);
    const float *out;
    gf_net_set_training(net, false);
    CHECK(gf_net_forward(net, input, s.batch, &out) == GF_OK);
    CHECK(memcmp(param_copy, gf_net_params(net), sizeof(float) * params) == 0);
    CHECK(memcmp(stat_copy, gf_net_stats(net), sizeof(float) * stats) == 0);
    CHECK(memcmp(counter_copy, gf_net_counters(net), sizeof(int64_t) * counters) == 0);
    train_step(net, input, s.batch, logits[0], grads[0]);
    train_step(twin, input, s.batch, logits[1], grads[1]);
    CHECK(memcmp(logits[0], logits[1], sizeof(float) * (size_t)out_n) == 0);
    CHECK(memcmp(grads[0], grads[1], sizeof(float) * params) == 0);
    CHECK(memcmp(gf_net_stats(net), gf_net_stats(twin), sizeof(float) * stats) == 0);
    for (int k = 0; k < 2; k++) {
        free(logits[k]);
        free(grads[k]);
    }
    free(param_copy);
    free(stat_copy);
    free(counter_copy);
    free(input);
    gf_net_free(net);
    gf_net_free(twin);
}

/* Folding is part of the plan gf_net_finalize makes: too late afterwards. */
static void test_switch_before_finalize(void) {
    gf_net *net = gf_net_create(1, 4, 4);
    gf_net_batchnorm(net, "bn", gf_net_conv2d(net, "conv", 0, 2, 3, 1, 1, 1, false));
    CHECK(gf_net_finalize(net, 1) == GF_OK);
    CHECK(gf_net_fold_batchnorms(net, false) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "already finalised");
    gf_net_free(net);
}

int main(void) {
    test_single_layers();
    test_whole_networks();
    test_training_around_evaluation();
    test_switch_before_finalize();
    return CHECK_DONE();
}
