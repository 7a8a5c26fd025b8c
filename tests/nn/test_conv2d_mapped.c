/* A convolution that reads its input through a training BatchNorm's map
 * (gf_conv2d_forward_mapped, gf_conv2d_backward_mapped) against the same convolution
 * on the BatchNorm's written output: the same bits for the outputs, their planes'
 * moments, the weight, bias and input gradients, on random shapes of Winograd's path
 * (every plane width it has a copy compiled for, and others; both tiles; several
 * chunks), of the depthwise flat planes (strides 1 and 2) and of 1x1 stride-1
 * convolutions (one image or chunks, planes of whole vectors read in place or not,
 * groups), random statistics with a channel of gamma 0, every fused activation and
 * none. A map on a shape off those paths is refused by name. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "gradcheck.h"
#include "nn/batchnorm.h"
#include "nn/conv2d.h"

static size_t planes_floats(int batch, int channels, int h, int w) {
    return (size_t)batch * (size_t)channels * (size_t)h * (size_t)w;
}

/* one shape, one activation (activated false: none) */
static void mapped_case(gf_conv2d_shape s, bool activated, gf_activation_kind kind, float slope,
                        uint64_t seed) {
    CHECK(gf_conv2d_shape_init(&s) == GF_OK);
    CHECK(gf_conv2d_maps_input(&s));
    const size_t in_n = planes_floats(s.batch, s.in_channels, s.in_h, s.in_w);
    const size_t out_n = planes_floats(s.batch, s.out_channels, s.out_h, s.out_w);
    const size_t weight_n =
        (size_t)s.out_channels * (size_t)(s.in_channels / s.groups) * s.kernel * s.kernel;
    const int cin = s.in_channels;
    /* BatchNorm's input: channels of their own centre and spread */
    float *x = gradcheck_random(in_n, seed, 1.0f);
    const size_t plane = (size_t)s.in_h * s.in_w;
    for (int n = 0; n < s.batch; n++)
        for (int c = 0; c < cin; c++)
            for (size_t i = 0; i < plane; i++) {
                float *v = x + ((size_t)n * cin + c) * plane + i;
                *v = *v * (0.5f + 0.25f * (float)(c % 5)) + 0.3f * (float)(c % 3) - 0.2f;
            }
    float *gamma = gradcheck_random((size_t)cin, seed + 1, 1.0f);
    float *beta = gradcheck_random((size_t)cin, seed + 2, 0.5f);
    gamma[cin / 2] = 0.0f; /* the map's constant case: scale 0, base beta */
    float *running = calloc(2 * (size_t)cin, sizeof(float));
    float *saved = malloc(2 * sizeof(float) * (size_t)cin);
    float *y = malloc(sizeof(float) * in_n);
    const gf_batchnorm_shape bs = {.batch = s.batch, .channels = cin, .spatial = (int)plane,
                                   .eps = 1e-5f, .momentum = 0.1f, .activated = activated,
                                   .activation = kind, .slope = slope};
    CHECK(gf_batchnorm_forward_train(y, saved, saved + cin, running, running + cin, x, gamma,
                                     beta, &bs) == GF_OK);
    gf_channel_affine *affine = malloc(sizeof *affine * (size_t)cin);
    gf_batchnorm_training_map(affine, gamma, beta, saved, saved + cin, cin);
    const gf_channel_map map = {.affine = affine, .activated = activated, .activation = kind,
                                .slope = slope};

    float *w = gradcheck_random(weight_n, seed + 3, 0.3f);
    float *bias = gradcheck_random((size_t)s.out_channels, seed + 4, 0.5f);
    float *grad_out = gradcheck_random(out_n, seed + 5, 1.0f);
    float *ws = malloc(sizeof(float) * gf_conv2d_workspace_floats(&s));
    const size_t planes_out = (size_t)s.batch * s.out_channels;
    float *out[2], *grad_in[2], *grad_w[2], *grad_b[2];
    gf_moments *moments[2];
    for (int k = 0; k < 2; k++) {
        out[k] = malloc(sizeof(float) * out_n);
        grad_in[k] = malloc(sizeof(float) * in_n);
        grad_w[k] = calloc(weight_n, sizeof(float));
        grad_b[k] = calloc((size_t)s.out_channels, sizeof(float));
        moments[k] = malloc(sizeof(gf_moments) * planes_out);
    }
    CHECK(gf_conv2d_forward_moments(out[0], moments[0], y, w, bias, &s, ws) == GF_OK);
    CHECK(gf_conv2d_forward_mapped(out[1], moments[1], x, &map, w, bias, &s, ws) == GF_OK);
    CHECK(gf_conv2d_backward(grad_in[0], grad_w[0], grad_b[0], grad_out, y, w, &s, ws,
                             GF_GRAD_STORE) == GF_OK);
    CHECK(gf_conv2d_backward_mapped(grad_in[1], grad_w[1], grad_b[1], grad_out, x, &map, w, &s,
                                    ws, GF_GRAD_STORE) == GF_OK);
    const bool same = memcmp(out[0], out[1], sizeof(float) * out_n) == 0 &&
                      memcmp(moments[0], moments[1], sizeof(gf_moments) * planes_out) == 0 &&
                      memcmp(grad_in[0], grad_in[1], sizeof(float) * in_n) == 0 &&
                      memcmp(grad_w[0], grad_w[1], sizeof(float) * weight_n) == 0 &&
                      memcmp(grad_b[0], grad_b[1], sizeof(float) * s.out_channels) == 0;
    if (!same)
        fprintf(stderr,
                "mapped input %dx%d, %d->%d, groups %d, kernel %d, stride %d, batch %d, "
                "activation %d (%s): differs\n",
                s.in_h, s.in_w, s.in_channels, s.out_channels, s.groups, s.kernel, s.stride,
                s.batch, (int)kind, activated ? "on" : "off");
    CHECK(same);
    for (int k = 0; k < 2; k++) {
        free(out[k]);
        free(grad_in[k]);
        free(grad_w[k]);
        free(grad_b[k]);
        free(moments[k]);
    }
    free(x); free(gamma); free(beta); free(running); free(saved); free(y); free(affine);
    free(w); free(bias); free(grad_out); free(ws);
}

static void random_shapes(void) {
    /* the widths with copies of their own (32, 28, 16, 14, 8, 7) and others */
    const int widths[] = {32, 28, 16, 14, 8, 7, 11, 5};
    const gf_activation_kind kinds[] = {GF_ACT_RELU, GF_ACT_RELU6, GF_ACT_LEAKY_RELU};
    gf_rng r;
    gf_rng_seed(&r, 2033, 12);
    for (int i = 0; i < 16; i++) {
        const int w = widths[i % 8];
        gf_conv2d_shape s = {.batch = 1 + (int)gf_rng_below(&r, 9),
                             .in_channels = 8 + (int)gf_rng_below(&r, 9),
                             .in_h = w > 8 ? w - (int)gf_rng_below(&r, 3) : w,
                             .in_w = w,
                             .out_channels = 8 + (int)gf_rng_below(&r, 9),
                             .kernel = 3, .stride = 1, .padding = 1, .groups = 1};
        const int activation = i % 4; /* 3: none */
        const float slope = kinds[activation % 3] == GF_ACT_LEAKY_RELU ? 0.1f : 0.0f;
        const int tile = i / 8 == 0 ? 0 : 2 + 2 * (i % 2); /* the rule, then each tile */
        CHECK(gf_conv2d_force_winograd_tile(tile) == GF_OK);
        mapped_case(s, activation < 3, kinds[activation % 3], slope, 7000 + 10 * (uint64_t)i);
    }
    CHECK(gf_conv2d_force_winograd_tile(0) == GF_OK);
}

/* depthwise convolutions of the flat planes: MobileNetV2's sizes and odd ones, strides
 * 1 and 2, 3x3 and 5x5 */
static void depthwise_shapes(void) {
    const int sizes[] = {32, 16, 8, 4, 7, 13, 10, 9};
    const gf_activation_kind kinds[] = {GF_ACT_RELU6, GF_ACT_RELU, GF_ACT_LEAKY_RELU};
    gf_rng r;
    gf_rng_seed(&r, 2035, 14);
    for (int i = 0; i < 16; i++) {
        const int size = sizes[i % 8], channels = 1 + (int)gf_rng_below(&r, 20);
        const int kernel = i % 5 == 4 ? 5 : 3;
        gf_conv2d_shape s = {.batch = 1 + (int)gf_rng_below(&r, 5), .in_channels = channels,
                             .in_h = size, .in_w = size, .out_channels = channels,
                             .kernel = kernel, .stride = 1 + (i / 2) % 2,
                             .padding = kernel / 2, .groups = channels};
        if (s.stride == 2 && size < 8) s.stride = 1; /* the flat version from 4 outputs */
        const int activation = i % 4; /* 3: none */
        const float slope = kinds[activation % 3] == GF_ACT_LEAKY_RELU ? 0.1f : 0.0f;
        mapped_case(s, activation < 3, kinds[activation % 3], slope, 8000 + 10 * (uint64_t)i);
    }
}

/* 1x1 stride-1 convolutions: MobileNetV2's plane sizes (whole vectors of 16, read in
 * place) and others (gathered), expansions (one image at a time) and projections
 * (chunks; several of them where the planes are large), one and two groups, with the
 * chunks read in place and with them gathered everywhere */
static void pointwise_shapes(void) {
    const int sizes[] = {32, 16, 8, 4, 7, 5, 28, 14};
    const gf_activation_kind kinds[] = {GF_ACT_RELU6, GF_ACT_RELU, GF_ACT_LEAKY_RELU};
    gf_rng r;
    gf_rng_seed(&r, 2041, 16);
    for (int i = 0; i < 32; i++) {
        const int size = sizes[i % 8], groups = 1 + (i / 8) % 2;
        const bool expands = i % 3 == 0;
        const int narrow = groups * (1 + (int)gf_rng_below(&r, 24));
        const int wide = groups * (8 + (int)gf_rng_below(&r, 90));
        gf_conv2d_shape s = {.batch = 1 + (int)gf_rng_below(&r, 7),
                             .in_channels = expands ? narrow : wide,
                             .in_h = size, .in_w = size,
                             .out_channels = expands ? wide : narrow,
                             .kernel = 1, .stride = 1, .padding = 0, .groups = groups};
        const int activation = i % 4; /* 3: none */
        const float slope = kinds[activation % 3] == GF_ACT_LEAKY_RELU ? 0.1f : 0.0f;
        gf_conv2d_use_pointwise_images(i < 16);
        mapped_case(s, activation < 3, kinds[activation % 3], slope, 9000 + 10 * (uint64_t)i);
    }
    gf_conv2d_use_pointwise_images(true);
}

/* a map where the path cannot read through it: refused, naming the shape */
static void refused_off_the_paths(void) {
    gf_conv2d_shape s = {.batch = 2, .in_channels = 8, .in_h = 6, .in_w = 6,
                         .out_channels = 8, .kernel = 1, .stride = 2, .padding = 0,
                         .groups = 1};
    CHECK(gf_conv2d_shape_init(&s) == GF_OK);
    CHECK(!gf_conv2d_maps_input(&s));
    gf_channel_affine affine[8] = {{0}};
    const gf_channel_map map = {.affine = affine};
    float *in = calloc(288, sizeof(float)), *out = calloc(288, sizeof(float));
    float *w = calloc(64, sizeof(float)), *grad_w = calloc(64, sizeof(float));
    float *ws = malloc(sizeof(float) * gf_conv2d_workspace_floats(&s));
    CHECK(gf_conv2d_forward_mapped(out, NULL, in, &map, w, NULL, &s, ws) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "conv2d forward: an input map needs a 3x3 stride-1");
    CHECK_CONTAINS(gf_error_message(), "(8->8 channels, kernel 1, stride 2, 6x6)");
    CHECK(gf_conv2d_backward_mapped(NULL, grad_w, NULL, out, in, &map, w, &s, ws,
                                    GF_GRAD_STORE) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "conv2d backward: an input map");
    free(in); free(out); free(w); free(grad_w); free(ws);
}

int main(void) {
    random_shapes();
    depthwise_shapes();
    pointwise_shapes();
    refused_off_the_paths();
    return CHECK_DONE();
}
