/* Conv2d: forward against a direct (naive) convolution in double, and input, weight
 * and bias gradients against finite differences, over strides, paddings, 1x1,
 * groups, depthwise, the padded-grid path of "same" convolutions and Winograd's
 * F(2x2, 3x3), the parity planes of stride 2; Winograd against the grid path, the
 * parity planes against im2col, the flat depthwise planes against the plain ones,
 * 1x1 read in place against gathered chunks, the output planes' moments and the activation of
 * the evaluation's output stage on random shapes. */
#include <string.h>

#include "core/error.h"
#include "core/gemm.h"
#include "gradcheck.h"
#include "nn/conv2d.h"
#include "nn/conv2d_depthwise.h"
#include "nn/conv2d_parity.h"
#include "nn/conv2d_winograd.h"

typedef struct conv_case {
    gf_conv2d_shape s;
    float *in, *weight, *bias, *out, *probe, *workspace;
    size_t in_n, weight_n, out_n;
} conv_case;

static double conv_loss(void *ctx) {
    conv_case *c = ctx;
    CHECK(gf_conv2d_forward(c->out, c->in, c->weight, c->bias, &c->s, c->workspace) == GF_OK);
    return gradcheck_dot(c->out, c->probe, c->out_n);
}

static double naive_output(const conv_case *c, int n, int oc, int oh, int ow) {
    const gf_conv2d_shape *s = &c->s;
    int cin_g = s->in_channels / s->groups, cout_g = s->out_channels / s->groups;
    int g = oc / cout_g;
    double sum = c->bias ? c->bias[oc] : 0.0;
    for (int ci = 0; ci < cin_g; ci++)
        for (int kh = 0; kh < s->kernel; kh++)
            for (int kw = 0; kw < s->kernel; kw++) {
                int ih = oh * s->stride - s->padding + kh, iw = ow * s->stride - s->padding + kw;
                if (ih < 0 || ih >= s->in_h || iw < 0 || iw >= s->in_w) continue;
                int ic = g * cin_g + ci;
                double x = c->in[(((size_t)n * s->in_channels + ic) * s->in_h + ih) * s->in_w + iw];
                double w = c->weight[(((size_t)oc * cin_g + ci) * s->kernel + kh) * s->kernel + kw];
                sum += x * w;
            }
    return sum;
}

/* Forward against the direct convolution within `forward_tolerance` of each output (or
 * of 1 where that is larger), then the gradients against finite differences. */
static void run_case_within(const char *label, gf_conv2d_shape s, int with_bias, uint64_t seed,
                            double forward_tolerance) {
    conv_case c = {.s = s};
    CHECK(gf_conv2d_shape_init(&c.s) == GF_OK);
    const gf_conv2d_shape *p = &c.s;
    c.in_n = (size_t)p->batch * p->in_channels * p->in_h * p->in_w;
    c.weight_n = (size_t)p->out_channels * (p->in_channels / p->groups) * p->kernel * p->kernel;
    c.out_n = (size_t)p->batch * p->out_channels * p->out_h * p->out_w;
    c.in = gradcheck_random(c.in_n, seed, 1.0f);
    c.weight = gradcheck_random(c.weight_n, seed + 1, 0.5f);
    c.bias = with_bias ? gradcheck_random((size_t)p->out_channels, seed + 2, 0.5f) : NULL;
    c.probe = gradcheck_random(c.out_n, seed + 3, 1.0f);
    c.out = malloc(sizeof(float) * c.out_n);
    size_t ws = gf_conv2d_workspace_floats(p);
    c.workspace = ws ? malloc(sizeof(float) * ws) : NULL;

    /* forward against the direct definition */
    CHECK(gf_conv2d_forward(c.out, c.in, c.weight, c.bias, p, c.workspace) == GF_OK);
    double worst = 0.0;
    for (int n = 0; n < p->batch; n++)
        for (int oc = 0; oc < p->out_channels; oc++)
            for (int oh = 0; oh < p->out_h; oh++)
                for (int ow = 0; ow < p->out_w; ow++) {
                    double ref = naive_output(&c, n, oc, oh, ow);
                    double got = c.out[(((size_t)n * p->out_channels + oc) * p->out_h + oh) * p->out_w + ow];
                    double d = fabs(got - ref) / fmax(fabs(ref), 1.0);
                    if (d > worst) worst = d;
                }
    if (worst > forward_tolerance)
        fprintf(stderr, "%s: forward differs from direct conv by %g\n", label, worst);
    CHECK(worst <= forward_tolerance);

    /* backward, accumulating onto random prior values */
    float *grad_in = gradcheck_random(c.in_n, seed + 4, 1.0f);
    float *grad_w = gradcheck_random(c.weight_n, seed + 5, 1.0f);
    float *grad_b = with_bias ? gradcheck_random((size_t)p->out_channels, seed + 6, 1.0f) : NULL;
    float *prior_in = gradcheck_copy(grad_in, c.in_n), *prior_w = gradcheck_copy(grad_w, c.weight_n);
    float *prior_b = with_bias ? gradcheck_copy(grad_b, (size_t)p->out_channels) : NULL;
    CHECK(gf_conv2d_backward(grad_in, grad_w, grad_b, c.probe, c.in, c.weight, p, c.workspace,
                             GF_GRAD_ADD) == GF_OK);
    gradcheck_remove_prior(grad_in, prior_in, c.in_n);
    gradcheck_remove_prior(grad_w, prior_w, c.weight_n);
    if (with_bias) gradcheck_remove_prior(grad_b, prior_b, (size_t)p->out_channels);

    /* the loss is linear in each argument: a large step is exact up to rounding */
    char what[160];
    snprintf(what, sizeof what, "%s: grad input", label);
    check_gradient(what, c.in, c.in_n, grad_in, conv_loss, &c, 0.05f, 2e-3, 1e-3, 200, seed);
    snprintf(what, sizeof what, "%s: grad weight", label);
    check_gradient(what, c.weight, c.weight_n, grad_w, conv_loss, &c, 0.05f, 2e-3, 1e-3, 200, seed);
    if (with_bias) {
        snprintf(what, sizeof what, "%s: grad bias", label);
        check_gradient(what, c.bias, (size_t)p->out_channels, grad_b, conv_loss, &c, 0.05f,
                       2e-3, 1e-3, 200, seed);
    }

    /* storing grad_in (into garbage) gives what adding contributed */
    float *stored = gradcheck_random(c.in_n, seed + 7, 100.0f);
    float *grad_w3 = calloc(c.weight_n, sizeof(float));
    CHECK(gf_conv2d_backward(stored, grad_w3, NULL, c.probe, c.in, c.weight, p, c.workspace,
                             GF_GRAD_STORE) == GF_OK);
    snprintf(what, sizeof what, "%s: grad input", label);
    CHECK(gradcheck_store_differs(what, stored, grad_in, c.in_n) <= 1e-5);
    free(stored);
    free(grad_w3);

    /* without grad_in, the weight gradient is the same */
    float *grad_w2 = calloc(c.weight_n, sizeof(float));
    CHECK(gf_conv2d_backward(NULL, grad_w2, NULL, c.probe, c.in, c.weight, p, c.workspace,
                             GF_GRAD_ADD) == GF_OK);
    double wd = 0.0;
    for (size_t i = 0; i < c.weight_n; i++) wd = fmax(wd, fabs(grad_w2[i] - grad_w[i]));
    CHECK(wd < 1e-3);

    free(grad_w2);
    free(grad_in); free(grad_w); free(grad_b);
    free(prior_in); free(prior_w); free(prior_b);
    free(c.in); free(c.weight); free(c.bias); free(c.out); free(c.probe); free(c.workspace);
}

static void run_case(const char *label, gf_conv2d_shape s, int with_bias, uint64_t seed) {
    run_case_within(label, s, with_bias, seed, 1e-5);
}

/* A fast path and the plain one it replaces, chosen by a switch: Winograd with each
 * tile against the grid path, the parity planes of stride 2 against im2col. */
typedef struct path_pair {
    const char *name;
    void (*use_fast)(bool on);
    int tile;         /* the Winograd tile forced, or 0 */
    double tolerance; /* relative to the largest value */
} path_pair;

/* F(2, 3): a few roundings (up to 1.5e-6 seen); F(4, 3)'s transforms scale values by
 * up to 8 and its G divides by 6 and 24, which costs about ten times as much (up to
 * 6.7e-6 seen on the shapes of winograd_random_shapes; winograd_rounding gives each
 * path's distance from a direct convolution in double): three times what was seen */
static const path_pair winograd_pairs[] = {
    {"winograd F(2x2, 3x3)", gf_conv2d_use_winograd, 2, 5e-6},
    {"winograd F(4x4, 3x3)", gf_conv2d_use_winograd, 4, 2e-5},
};
/* the same products in another order (the weight gradient also over other parts of the
 * batch, whole chunks of each path's): a few roundings of the sums */
static const path_pair parity_pair = {"parity planes", gf_conv2d_use_parity_planes, 0, 3e-6};

/* One shape through the fast and the plain path: outputs, input gradients (stored
 * and added), weight and bias gradients agree to a few roundings, relative to the
 * largest value of each (Winograd's transforms' sums cancel). */
static void fast_against_plain(const path_pair *pair, gf_conv2d_shape s, int with_bias,
                               uint64_t seed) {
    CHECK(gf_conv2d_shape_init(&s) == GF_OK);
    const size_t in_n = (size_t)s.batch * s.in_channels * s.in_h * s.in_w;
    const size_t out_n = (size_t)s.batch * s.out_channels * s.out_h * s.out_w;
    const size_t w_n = (size_t)s.out_channels * (s.in_channels / s.groups) * 9;
    const size_t b_n = with_bias ? (size_t)s.out_channels : 0;
    float *in = gradcheck_random(in_n, seed, 1.0f), *w = gradcheck_random(w_n, seed + 1, 0.3f);
    float *bias = with_bias ? gradcheck_random(b_n, seed + 2, 0.5f) : NULL;
    float *grad_out = gradcheck_random(out_n, seed + 3, 1.0f);
    float *ws = malloc(sizeof(float) * gf_conv2d_workspace_floats(&s));
    float *out[2], *grad_in[2], *grad_w[2], *grad_b[2];
    CHECK(gf_conv2d_force_winograd_tile(pair->tile) == GF_OK);
    for (int path = 0; path < 2; path++) { /* 0: plain, 1: fast */
        pair->use_fast(path == 1);
        out[path] = malloc(sizeof(float) * out_n);
        grad_in[path] = gradcheck_random(in_n, seed + 4, 1.0f); /* added onto */
        grad_w[path] = gradcheck_random(w_n, seed + 5, 1.0f);
        grad_b[path] = with_bias ? gradcheck_random(b_n, seed + 7, 1.0f) : NULL;
        CHECK(gf_conv2d_forward(out[path], in, w, bias, &s, ws) == GF_OK);
        CHECK(gf_conv2d_backward(grad_in[path], grad_w[path], grad_b[path], grad_out, in, w, &s,
                                 ws, GF_GRAD_ADD) == GF_OK);
    }
    float *stored = gradcheck_random(in_n, seed + 6, 100.0f), *grad_w2 = calloc(w_n, sizeof(float));
    CHECK(gf_conv2d_backward(stored, grad_w2, NULL, grad_out, in, w, &s, ws, GF_GRAD_STORE) ==
          GF_OK);
    float *prior = gradcheck_random(in_n, seed + 4, 1.0f);
    for (size_t i = 0; i < in_n; i++) stored[i] += prior[i]; /* = what adding gives */
    const struct { const char *what; const float *fast, *plain; size_t n; } pairs[] = {
        {"output", out[1], out[0], out_n},
        {"grad input", grad_in[1], grad_in[0], in_n},
        {"grad input stored", stored, grad_in[0], in_n},
        {"grad weight", grad_w[1], grad_w[0], w_n},
        {"grad bias", grad_b[1], grad_b[0], b_n},
    };
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        double largest = 0.0, worst = 0.0;
        for (size_t i = 0; i < pairs[p].n; i++) largest = fmax(largest, fabs(pairs[p].plain[i]));
        for (size_t i = 0; i < pairs[p].n; i++)
            worst = fmax(worst, fabs((double)pairs[p].fast[i] - pairs[p].plain[i]) / largest);
        if (!(worst <= pair->tolerance))
            fprintf(stderr, "%s %dx%dx%dx%d -> %d, groups %d: %s differs by %g of the largest\n",
                    pair->name, s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, s.groups,
                    pairs[p].what, worst);
        CHECK(worst <= pair->tolerance);
    }
    pair->use_fast(true);
    CHECK(gf_conv2d_force_winograd_tile(0) == GF_OK);
    for (int path = 0; path < 2; path++) {
        free(out[path]);
        free(grad_in[path]);
        free(grad_w[path]);
        free(grad_b[path]);
    }
    free(in); free(w); free(bias); free(grad_out); free(ws); free(stored); free(grad_w2);
    free(prior);
}

/* Random shapes: batch 1-5, 8-40 channels each way, sizes 1-19 (odd ones leave part
 * tiles), one case of several chunks per thread, and ResNet-20's planes on
 * Fashion-MNIST (28, 14, 7) and CIFAR (32, 16, 8), and planes F(4, 3) moves several
 * tile rows at a time; each through both tiles. */
static void winograd_random_shapes(void) {
    for (int tile = 2; tile <= 4; tile += 2) {
        const path_pair *pair = &winograd_pairs[tile / 2 - 1];
        gf_rng r;
        gf_rng_seed(&r, 2026, 5);
        for (int i = 0; i < 12; i++) {
            gf_conv2d_shape s = {.batch = 1 + (int)gf_rng_below(&r, 5),
                                 .in_channels = 8 + (int)gf_rng_below(&r, 33),
                                 .in_h = 1 + (int)gf_rng_below(&r, 19),
                                 .in_w = 1 + (int)gf_rng_below(&r, 19),
                                 .out_channels = 8 + (int)gf_rng_below(&r, 33),
                                 .kernel = 3, .stride = 1, .padding = 1, .groups = 1};
            fast_against_plain(pair, s, i % 2, 3000 + 10 * (uint64_t)i + 1000 * (uint64_t)tile);
        }
        gf_conv2d_shape chunks = {.batch = 7, .in_channels = 16, .in_h = 36, .in_w = 35,
                                  .out_channels = 24, .kernel = 3, .stride = 1, .padding = 1,
                                  .groups = 1};
        fast_against_plain(pair, chunks, 1, 3500 + 1000 * (uint64_t)tile);
        /* ResNet's planes, each over several chunks with a shorter last one, where the
         * transforms' vectors cross rows and images */
        const int resnet[][3] = {{3, 16, 28}, {5, 32, 14}, {9, 64, 7},
                                 {3, 16, 32}, {5, 32, 16}, {9, 64, 8}};
        for (int i = 0; i < 6; i++) {
            gf_conv2d_shape s = {.batch = resnet[i][0], .in_channels = resnet[i][1],
                                 .in_h = resnet[i][2], .in_w = resnet[i][2],
                                 .out_channels = resnet[i][1], .kernel = 3, .stride = 1,
                                 .padding = 1, .groups = 1};
            fast_against_plain(pair, s, i % 2, 3600 + 10 * (uint64_t)i + 1000 * (uint64_t)tile);
        }
        /* F(4, 3)'s planes moved 16 / tw tile rows at a time (tile columns dividing 16):
         * rows of 4 and 8 floats, several to a vector, groups crossing images, and rows
         * past the plane (heights not a multiple of 4) */
        const int grouped[][4] = {{5, 4, 4, 9}, {3, 20, 8, 8}, {2, 10, 16, 12}, {3, 30, 32, 8}};
        for (int i = 0; i < 4; i++) {
            gf_conv2d_shape s = {.batch = grouped[i][0], .in_channels = grouped[i][3],
                                 .in_h = grouped[i][1], .in_w = grouped[i][2],
                                 .out_channels = 8 + i, .kernel = 3, .stride = 1, .padding = 1,
                                 .groups = 1};
            fast_against_plain(pair, s, i % 2, 3800 + 10 * (uint64_t)i + 1000 * (uint64_t)tile);
        }
    }
}

/* Stride-2 3x3 convolutions, parity planes against im2col: random shapes (batch 1-5,
 * 1-40 channels each way, planes 1-19 high and 1-35 wide, odd and even: rows split
 * and joined one float at a time, in one vector or in two, or too wide for them),
 * some in groups, and ResNet's two downsampling layers over several chunks with a
 * shorter last one, on CIFAR's planes and on Fashion-MNIST's. */
static void parity_random_shapes(void) {
    gf_rng r;
    gf_rng_seed(&r, 2029, 8);
    for (int i = 0; i < 32; i++) {
        const int groups = i % 6 == 5 ? 2 : 1;
        gf_conv2d_shape s = {.batch = 1 + (int)gf_rng_below(&r, 5),
                             .in_channels = groups * (1 + (int)gf_rng_below(&r, 40)),
                             .in_h = 1 + (int)gf_rng_below(&r, 19),
                             .in_w = 1 + (int)gf_rng_below(&r, 35),
                             .out_channels = groups * (1 + (int)gf_rng_below(&r, 40)),
                             .kernel = 3, .stride = 2, .padding = 1, .groups = groups};
        fast_against_plain(&parity_pair, s, i % 2, 3700 + 10 * (uint64_t)i);
    }
    const int resnet[][3] = {{9, 16, 32}, {17, 32, 16}, {9, 16, 28}, {17, 32, 14}};
    for (int i = 0; i < 4; i++) {
        gf_conv2d_shape s = {.batch = resnet[i][0], .in_channels = resnet[i][1],
                             .in_h = resnet[i][2], .in_w = resnet[i][2],
                             .out_channels = 2 * resnet[i][1], .kernel = 3, .stride = 2,
                             .padding = 1, .groups = 1};
        CHECK(gf_conv2d_shape_init(&s) == GF_OK && gf_conv2d_parity_chunk(&s) < s.batch);
        fast_against_plain(&parity_pair, s, i % 2, 4000 + 10 * (uint64_t)i);
    }
}

/* The forwards (training, with moments, and evaluation) take F(4x4, 3x3) where it
 * has fewer products (16x16, 7x9), F(2x2, 3x3) on a tie (6x6), the same bits as
 * forcing that tile; the grid path when Winograd is off. */
static void rule_tiles(void) {
    const int sizes[][3] = {{16, 16, 4}, {7, 9, 4}, {6, 6, 2}};
    for (int i = 0; i < 3; i++) {
        gf_conv2d_shape s = {.batch = 3, .in_channels = 12, .in_h = sizes[i][0],
                             .in_w = sizes[i][1], .out_channels = 10, .kernel = 3, .stride = 1,
                             .padding = 1, .groups = 1};
        CHECK(gf_conv2d_shape_init(&s) == GF_OK);
        const size_t in_n = (size_t)s.batch * s.in_channels * s.in_h * s.in_w;
        const size_t out_n = (size_t)s.batch * s.out_channels * s.out_h * s.out_w;
        float *in = gradcheck_random(in_n, 9500 + (uint64_t)i, 1.0f);
        float *w = gradcheck_random((size_t)s.out_channels * s.in_channels * 9, 9510 + (uint64_t)i, 0.3f);
        float *bias = gradcheck_random((size_t)s.out_channels, 9520 + (uint64_t)i, 0.5f);
        float *ws = malloc(sizeof(float) * gf_conv2d_workspace_floats(&s));
        float *want = malloc(sizeof(float) * out_n), *other = malloc(sizeof(float) * out_n);
        float *got[3];
        gf_moments *moments = malloc(sizeof *moments * (size_t)s.batch * s.out_channels);
        for (int f = 0; f < 3; f++) got[f] = malloc(sizeof(float) * out_n);
        CHECK(gf_conv2d_forward(got[0], in, w, bias, &s, ws) == GF_OK);
        CHECK(gf_conv2d_forward_moments(got[1], moments, in, w, bias, &s, ws) == GF_OK);
        CHECK(gf_conv2d_forward_inference(got[2], in, w, bias, NULL, &s, ws) == GF_OK);
        CHECK(gf_conv2d_force_winograd_tile(sizes[i][2]) == GF_OK);
        CHECK(gf_conv2d_forward(want, in, w, bias, &s, ws) == GF_OK);
        CHECK(gf_conv2d_force_winograd_tile(6 - sizes[i][2]) == GF_OK);
        CHECK(gf_conv2d_forward(other, in, w, bias, &s, ws) == GF_OK);
        CHECK(memcmp(other, want, sizeof(float) * out_n) != 0); /* the tiles round apart */
        CHECK(gf_conv2d_force_winograd_tile(0) == GF_OK);
        for (int f = 0; f < 3; f++) CHECK(memcmp(got[f], want, sizeof(float) * out_n) == 0);
        gf_conv2d_use_winograd(false);
        CHECK(gf_conv2d_forward(want, in, w, bias, &s, ws) == GF_OK);
        CHECK(gf_conv2d_forward_inference(got[2], in, w, bias, NULL, &s, ws) == GF_OK);
        CHECK(memcmp(got[2], want, sizeof(float) * out_n) == 0);
        gf_conv2d_use_winograd(true);
        for (int f = 0; f < 3; f++) free(got[f]);
        free(in); free(w); free(bias); free(ws); free(want); free(other); free(moments);
    }
}

static double relative_to_largest(const float *got, const double *reference, size_t n) {
    double largest = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) largest = fmax(largest, fabs(reference[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs(got[i] - reference[i]));
    return worst / largest;
}

/* The rounding of the grid path, F(2, 3) and F(4, 3) on ResNet-20's 3x3 stride-1
 * shapes (Fashion-MNIST and CIFAR planes, inputs of unit spread, He-initialised
 * weights), against the direct convolution and its gradients in double: each bounded,
 * and printed, as docs/kernels.md quotes them. */
static void winograd_rounding(void) {
    const int shapes[][3] = {{16, 32, 4}, {32, 16, 4}, {64, 8, 8}, {16, 28, 4}, {32, 14, 4}, {64, 7, 8}};
    double worst[3][3] = {{0}}; /* [grid, F(2, 3), F(4, 3)][output, grad input, grad weight] */
    for (int i = 0; i < 6; i++) {
        const int c = shapes[i][0], size = shapes[i][1], batch = shapes[i][2];
        gf_conv2d_shape s = {.batch = batch, .in_channels = c, .in_h = size, .in_w = size,
                             .out_channels = c, .kernel = 3, .stride = 1, .padding = 1,
                             .groups = 1};
        CHECK(gf_conv2d_shape_init(&s) == GF_OK);
        const size_t plane = (size_t)size * size, n = (size_t)batch * c * plane, w_n = (size_t)c * c * 9;
        const uint64_t seed = 9000 + 10 * (uint64_t)i;
        float *in = gradcheck_random(n, seed, 1.0f), *grad_out = gradcheck_random(n, seed + 1, 1.0f);
        float *w = gradcheck_random(w_n, seed + 2, (float)sqrt(2.0 / (9.0 * c)));
        double *out_ref = calloc(n, sizeof(double)), *grad_in_ref = calloc(n, sizeof(double));
        double *grad_w_ref = calloc(w_n, sizeof(double));
        for (int b = 0; b < batch; b++)
            for (int k = 0; k < c; k++)
                for (int ci = 0; ci < c; ci++)
                    for (int kh = 0; kh < 3; kh++)
                        for (int kw = 0; kw < 3; kw++) {
                            const double wt = w[((size_t)k * c + ci) * 9 + kh * 3 + kw];
                            const size_t o0 = ((size_t)b * c + k) * plane, i0 = ((size_t)b * c + ci) * plane;
                            double dw = 0.0;
                            for (int y = 0; y < size; y++)
                                for (int x = 0; x < size; x++) {
                                    const int iy = y + kh - 1, ix = x + kw - 1;
                                    if (iy < 0 || iy >= size || ix < 0 || ix >= size) continue;
                                    const size_t o = o0 + (size_t)y * size + x;
                                    const size_t at = i0 + (size_t)iy * size + ix;
                                    out_ref[o] += wt * in[at];
                                    grad_in_ref[at] += wt * grad_out[o];
                                    dw += (double)grad_out[o] * in[at];
                                }
                            grad_w_ref[((size_t)k * c + ci) * 9 + kh * 3 + kw] += dw;
                        }
        float *ws = malloc(sizeof(float) * gf_conv2d_workspace_floats(&s));
        float *out = malloc(sizeof(float) * n), *grad_in = malloc(sizeof(float) * n);
        float *grad_w = malloc(sizeof(float) * w_n);
        for (int path = 0; path < 3; path++) {
            gf_conv2d_use_winograd(path > 0);
            CHECK(gf_conv2d_force_winograd_tile(2 * path) == GF_OK);
            memset(grad_w, 0, sizeof(float) * w_n);
            CHECK(gf_conv2d_forward(out, in, w, NULL, &s, ws) == GF_OK);
            CHECK(gf_conv2d_backward(grad_in, grad_w, NULL, grad_out, in, w, &s, ws,
                                     GF_GRAD_STORE) == GF_OK);
            worst[path][0] = fmax(worst[path][0], relative_to_largest(out, out_ref, n));
            worst[path][1] = fmax(worst[path][1], relative_to_largest(grad_in, grad_in_ref, n));
            worst[path][2] = fmax(worst[path][2], relative_to_largest(grad_w, grad_w_ref, w_n));
        }
        gf_conv2d_use_winograd(true);
        CHECK(gf_conv2d_force_winograd_tile(0) == GF_OK);
        free(in); free(grad_out); free(w); free(out_ref); free(grad_in_ref); free(grad_w_ref);
        free(ws); free(out); free(grad_in); free(grad_w);
    }
    const char *paths[] = {"grid", "F(2x2, 3x3)", "F(4x4, 3x3)"};
    for (int path = 0; path < 3; path++) {
        printf("rounding of %s on ResNet-20's shapes, relative to the largest value: output "
               "%.2g, grad input %.2g, grad weight %.2g\n",
               paths[path], worst[path][0], worst[path][1], worst[path][2]);
        /* three times what was seen: 5.3e-6 for F(4, 3), 8e-7 for the others */
        for (int k = 0; k < 3; k++) CHECK(worst[path][k] <= (path == 2 ? 1.5e-5 : 2.5e-6));
    }
}

/* Depthwise planes, stride 1 and 2: the flat version against the plain one, forward,
 * filter gradient and input gradient stored and added, on random sizes, kernels 1-7
 * (and more 3x3 ones on larger planes) and paddings up to the kernel's half (not only
 * "same"); the flat version's scratch
 * prepared once and first used by another plane of large values, whose leftovers in
 * it must not reach the results. */
static void depthwise_flat_case(gf_conv2d_shape s, uint64_t seed) {
    const int k = s.kernel;
    CHECK(gf_conv2d_shape_init(&s) == GF_OK);
    const size_t in_n = (size_t)s.in_h * s.in_w, out_n = (size_t)s.out_h * s.out_w;
    float *in = gradcheck_random(in_n, seed, 1.0f), *filter = gradcheck_random((size_t)k * k, seed + 1, 0.5f);
    float *grad_out = gradcheck_random(out_n, seed + 2, 1.0f);
    float *scratch = malloc(sizeof(float) * gf_conv2d_depthwise_scratch_floats(&s));
    float *plain_scratch = malloc(sizeof(float) * gf_conv2d_depthwise_scratch_floats(&s));
    float *other = gradcheck_random(in_n > out_n ? in_n : out_n, seed + 6, 1000.0f);
    float *other_out = malloc(sizeof(float) * out_n), *other_grad = malloc(sizeof(float) * in_n);
    const size_t sums_n = gf_conv2d_depthwise_filter_sums_floats(&s);
    float *other_sums = calloc(sums_n, sizeof(float)), *sums = calloc(sums_n, sizeof(float));
    gf_conv2d_depthwise_layout layout;
    gf_conv2d_depthwise_prepare(&layout, &s, scratch);
    gf_conv2d_depthwise_forward_plane(other_out, other, 0, filter, 1.0f, &layout, scratch);
    gf_conv2d_depthwise_backward_plane(other_grad, false, other_sums, other, other, 0, filter,
                                       &layout, scratch);
    float *out[2], *grad_in[2], *grad_filter[2], *added[2];
    for (int flat = 0; flat < 2; flat++) {
        out[flat] = malloc(sizeof(float) * out_n);
        grad_in[flat] = gradcheck_random(in_n, seed + 3, 100.0f); /* stored over */
        added[flat] = gradcheck_random(in_n, seed + 4, 1.0f);
        grad_filter[flat] = gradcheck_random((size_t)k * k, seed + 5, 1.0f);
        if (flat) {
            gf_conv2d_depthwise_forward_plane(out[1], in, 0, filter, 0.25f, &layout, scratch);
            /* the filter gradient of both backwards summed in the channel's sums */
            gf_conv2d_depthwise_backward_plane(grad_in[1], false, sums, grad_out, in, 0, filter,
                                               &layout, scratch);
            gf_conv2d_depthwise_backward_plane(added[1], true, sums, grad_out, in, 0, filter,
                                               &layout, scratch);
            gf_conv2d_depthwise_take_filter_sums(grad_filter[1], sums, &layout);
        } else {
            gf_conv2d_depthwise_forward_plane_plain(out[0], in, filter, 0.25f, &s, plain_scratch);
            gf_conv2d_depthwise_backward_plane_plain(grad_in[0], false, grad_filter[0],
                                                     grad_out, in, filter, &s, plain_scratch);
            gf_conv2d_depthwise_backward_plane_plain(added[0], true, grad_filter[0],
                                                     grad_out, in, filter, &s, plain_scratch);
        }
    }
    /* the plain filter gradient adds the plane's products one by one in float, whose
     * rounding grows with their count: from 256 outputs, its tolerance with them */
    const double filter_tolerance = fmax(1.0, (double)out_n / 256.0);
    double worst = fmax(fmax(check_worst_relative(out[1], out[0], out_n),
                             check_worst_relative(grad_in[1], grad_in[0], in_n)),
                        fmax(check_worst_relative(added[1], added[0], in_n),
                             check_worst_relative(grad_filter[1], grad_filter[0],
                                                  (size_t)k * k) / filter_tolerance));
    if (!(worst <= 1e-5))
        fprintf(stderr, "depthwise %dx%d, kernel %d, stride %d, padding %d: flat differs by %g\n",
                s.in_h, s.in_w, k, s.stride, s.padding, worst);
    CHECK(worst <= 1e-5);
    for (int flat = 0; flat < 2; flat++) {
        free(out[flat]);
        free(grad_in[flat]);
        free(added[flat]);
        free(grad_filter[flat]);
    }
    free(in); free(filter); free(grad_out); free(scratch);
    free(other); free(other_out); free(other_grad); free(plain_scratch);
    free(other_sums); free(sums);
}

static void depthwise_flat_against_plain(void) {
    gf_rng r;
    gf_rng_seed(&r, 2027, 6);
    for (int i = 0; i < 80; i++) {
        const int k = 1 + (int)gf_rng_below(&r, 7);
        gf_conv2d_shape s = {.batch = 1, .in_channels = 1, .out_channels = 1, .groups = 1,
                             .kernel = k, .stride = 1 + i % 2,
                             .padding = (int)gf_rng_below(&r, (uint32_t)(k / 2 + 1)),
                             .in_h = k + (int)gf_rng_below(&r, 20),
                             /* at stride 2 wide enough for the flat version (out_w >= 4) */
                             .in_w = k + (i % 2 ? 14 : 0) + (int)gf_rng_below(&r, 20)};
        depthwise_flat_case(s, 5000 + 10 * (uint64_t)i);
    }
    /* 3x3 on planes of 16 to 35 rows and columns (more at stride 2, or 7 to 14 in a
     * quarter), most of them large enough for the unrolled 3x3 loops
     * (nn/conv2d_depthwise.c) */
    gf_rng_seed(&r, 2029, 8);
    for (int i = 0; i < 24; i++) {
        gf_conv2d_shape s = {.batch = 1, .in_channels = 1, .out_channels = 1, .groups = 1,
                             .kernel = 3, .stride = 1 + i % 2,
                             .padding = (int)gf_rng_below(&r, 2),
                             .in_h = 16 + (int)gf_rng_below(&r, 20),
                             .in_w = 16 + (i % 2 ? 14 : 0) + (int)gf_rng_below(&r, 20)};
        if (i % 4 == 3) /* stride 2, outputs 3 to 7 wide: the flat version from 4 */
            s.in_w = 7 + (int)gf_rng_below(&r, 8);
        depthwise_flat_case(s, 9000 + 10 * (uint64_t)i);
    }
    /* stride 2 on rows of 8 (split and joined in halves of 8 floats), each kernel
     * with the padding that gives outputs 4 wide, even and odd paddings */
    for (int k = 1; k <= 7; k += 2) {
        gf_conv2d_shape s = {.batch = 1, .in_channels = 1, .out_channels = 1, .groups = 1,
                             .kernel = k, .stride = 2, .padding = k / 2,
                             .in_h = 5 + (int)gf_rng_below(&r, 6), .in_w = 8};
        depthwise_flat_case(s, 9500 + 10 * (uint64_t)k);
    }
    /* outputs 16 or 32 wide (whole vectors): the forward writes the output rows
     * straight, without the flat positions */
    gf_rng_seed(&r, 2031, 10);
    for (int i = 0; i < 12; i++) {
        const int k = 1 + 2 * (int)gf_rng_below(&r, 3), stride = 1 + i % 2;
        const int padding = (int)gf_rng_below(&r, (uint32_t)(k / 2 + 1));
        const int out_w = 16 * (1 + (int)gf_rng_below(&r, 2));
        gf_conv2d_shape s = {.batch = 1, .in_channels = 1, .out_channels = 1, .groups = 1,
                             .kernel = k, .stride = stride, .padding = padding,
                             .in_h = k + (int)gf_rng_below(&r, 20),
                             /* the widest input of out_w outputs */
                             .in_w = (out_w - 1) * stride + k - 2 * padding +
                                     (int)gf_rng_below(&r, (uint32_t)stride)};
        depthwise_flat_case(s, 9500 + 10 * (uint64_t)i);
    }
}

/* 1x1 stride-1 convolutions on planes of 16x16 and more, read and written in place
 * (image by image: forwards of layers with more outputs than inputs, backwards on 32x32
 * planes and more and on 16x16 ones of layers with more outputs; chunks of planes of
 * whole vectors of 16 otherwise) against chunks of images gathered side by side:
 * outputs and their planes' moments the same bits (the same sums in the same order,
 * with at most 40 input channels a group), input gradients stored and added and
 * weight and bias gradients within 1e-5 of the largest value (sums over the images in
 * another order); random batches, channels, groups and planes (32x32, 16x16 and
 * others). */
static double worst_of_largest(const float *got, const float *want, size_t n) {
    double largest = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) largest = fmax(largest, fabs(want[i]));
    for (size_t i = 0; i < n; i++) worst = fmax(worst, fabs((double)got[i] - want[i]));
    return worst / largest;
}

static void pointwise_large_images_against_chunks(void) {
    gf_rng r;
    gf_rng_seed(&r, 2030, 9);
    for (int i = 0; i < 12; i++) {
        const int groups = 1 + (int)gf_rng_below(&r, 2);
        const int size = i % 3 == 0 ? 32 : 16;
        gf_conv2d_shape s = {.batch = 1 + (int)gf_rng_below(&r, 4), .kernel = 1, .stride = 1,
                             .groups = groups,
                             .in_channels = groups * (1 + (int)gf_rng_below(&r, 40)),
                             .out_channels = groups * (1 + (int)gf_rng_below(&r, 40)),
                             .in_h = i % 3 == 2 ? 16 + (int)gf_rng_below(&r, 20) : size,
                             .in_w = i % 3 == 2 ? 16 + (int)gf_rng_below(&r, 20) : size};
        CHECK(gf_conv2d_shape_init(&s) == GF_OK);
        const size_t in_n = (size_t)s.batch * s.in_channels * s.in_h * s.in_w;
        const size_t out_n = (size_t)s.batch * s.out_channels * s.out_h * s.out_w;
        const size_t planes = (size_t)s.batch * s.out_channels;
        const size_t w_n = (size_t)s.out_channels * (s.in_channels / groups);
        const uint64_t seed = 8000 + 20 * (uint64_t)i;
        float *in = gradcheck_random(in_n, seed, 1.0f), *w = gradcheck_random(w_n, seed + 1, 0.5f);
        float *bias = gradcheck_random((size_t)s.out_channels, seed + 2, 0.5f);
        float *grad_out = gradcheck_random(out_n, seed + 3, 1.0f);
        float *ws = malloc(sizeof(float) * gf_conv2d_workspace_floats(&s));
        float *out[2], *stored[2], *added[2], *grad_w[2], *grad_b[2];
        gf_moments *moments[2];
        for (int images = 0; images < 2; images++) {
            gf_conv2d_use_pointwise_images(images == 1);
            out[images] = gradcheck_random(out_n, seed + 4, 100.0f);
            stored[images] = gradcheck_random(in_n, seed + 5, 100.0f); /* stored over */
            added[images] = gradcheck_random(in_n, seed + 6, 1.0f);
            grad_w[images] = gradcheck_random(w_n, seed + 7, 1.0f);
            grad_b[images] = gradcheck_random((size_t)s.out_channels, seed + 8, 1.0f);
            moments[images] = calloc(planes, sizeof *moments[images]);
            CHECK(gf_conv2d_forward_moments(out[images], moments[images], in, w, bias, &s, ws) ==
                  GF_OK);
            CHECK(gf_conv2d_backward(stored[images], grad_w[images], grad_b[images], grad_out, in,
                                     w, &s, ws, GF_GRAD_STORE) == GF_OK);
            CHECK(gf_conv2d_backward(added[images], grad_w[images], grad_b[images], grad_out, in,
                                     w, &s, ws, GF_GRAD_ADD) == GF_OK);
        }
        gf_conv2d_use_pointwise_images(true);
        const bool same = memcmp(out[0], out[1], sizeof(float) * out_n) == 0 &&
                          memcmp(moments[0], moments[1], sizeof *moments[0] * planes) == 0;
        const double worst =
            fmax(fmax(worst_of_largest(stored[1], stored[0], in_n),
                      worst_of_largest(added[1], added[0], in_n)),
                 fmax(worst_of_largest(grad_w[1], grad_w[0], w_n),
                      worst_of_largest(grad_b[1], grad_b[0], (size_t)s.out_channels)));
        if (!same || !(worst <= 1e-5))
            fprintf(stderr, "1x1 %dx%dx%dx%d -> %d, groups %d: image by image differs from "
                    "chunks (outputs %s, gradients by %g)\n", s.batch, s.in_channels, s.in_h,
                    s.in_w, s.out_channels, groups, same ? "the same" : "differ", worst);
        CHECK(same);
        CHECK(worst <= 1e-5);
        for (int images = 0; images < 2; images++) {
            free(out[images]); free(stored[images]); free(added[images]);
            free(grad_w[images]); free(grad_b[images]); free(moments[images]);
        }
        free(in); free(w); free(bias); free(grad_out); free(ws);
    }
}

/* 1x1 stride-1 forwards on planes below GF_MOMENTS_MIN_PLANE, read in place (image by
 * image, or chunks of planes of whole vectors of 16) against chunks of images gathered
 * side by side: the same sums in the same order (with at most 40 input channels a
 * group, within one pass of gf_gemm_nn's padded last block), so the same bits, outputs
 * and their planes' moments; random batches, channels, groups and planes (8x8 and 4x8,
 * whole column blocks or vectors, in every third). */
static void pointwise_images_against_chunks(void) {
    gf_rng r;
    gf_rng_seed(&r, 2028, 7);
    for (int i = 0; i < 24; i++) {
        const int groups = 1 + (int)gf_rng_below(&r, 2);
        gf_conv2d_shape s = {.batch = 1 + (int)gf_rng_below(&r, 9), .kernel = 1, .stride = 1,
                             .groups = groups,
                             .in_channels = groups * (1 + (int)gf_rng_below(&r, 40)),
                             .out_channels = groups * (1 + (int)gf_rng_below(&r, 40)),
                             .in_h = i % 3 ? 1 + (int)gf_rng_below(&r, 15) : 8,
                             .in_w = i % 3 ? 1 + (int)gf_rng_below(&r, 15) : 4 + 4 * (i % 2)};
        CHECK(gf_conv2d_shape_init(&s) == GF_OK);
        const size_t in_n = (size_t)s.batch * s.in_channels * s.in_h * s.in_w;
        const size_t out_n = (size_t)s.batch * s.out_channels * s.out_h * s.out_w;
        const size_t planes = (size_t)s.batch * s.out_channels;
        const uint64_t seed = 7000 + 10 * (uint64_t)i;
        float *in = gradcheck_random(in_n, seed, 1.0f);
        float *w = gradcheck_random((size_t)s.out_channels * (s.in_channels / groups), seed + 1, 0.5f);
        float *bias = i % 2 ? gradcheck_random((size_t)s.out_channels, seed + 2, 0.5f) : NULL;
        float *ws = malloc(sizeof(float) * gf_conv2d_workspace_floats(&s));
        float *out[2];
        gf_moments *moments[2];
        for (int images = 0; images < 2; images++) {
            gf_conv2d_use_pointwise_images(images == 1);
            out[images] = gradcheck_random(out_n, seed + 3 + (uint64_t)images, 100.0f);
            moments[images] = calloc(planes, sizeof *moments[images]);
            CHECK(gf_conv2d_forward_moments(out[images], moments[images], in, w, bias, &s, ws) ==
                  GF_OK);
        }
        gf_conv2d_use_pointwise_images(true);
        const bool same = memcmp(out[0], out[1], sizeof(float) * out_n) == 0 &&
                          memcmp(moments[0], moments[1], sizeof *moments[0] * planes) == 0;
        if (!same)
            fprintf(stderr, "1x1 %dx%dx%dx%d -> %d, groups %d: image by image differs from chunks\n",
                    s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, groups);
        CHECK(same);
        for (int images = 0; images < 2; images++) {
            free(out[images]);
            free(moments[images]);
        }
        free(in); free(w); free(bias); free(ws);
    }
}

static gf_conv2d_shape shape(int batch, int cin, int h, int w, int cout, int k, int stride,
                             int pad, int groups) {
    gf_conv2d_shape s = {.batch = batch, .in_channels = cin, .in_h = h, .in_w = w,
                         .out_channels = cout, .kernel = k, .stride = stride,
                         .padding = pad, .groups = groups};
    return s;
}

/* One shape, forward for evaluation with an activation in the output stage against
 * the same forward without one followed by gf_activation_forward: equal values (the
 * stage applies the activation to the very floats the other forward stores; a zero's
 * sign may differ, which == ignores). */
static void activation_stage_case(const char *what, gf_conv2d_shape s, int with_bias,
                                  gf_conv2d_activation activation, uint64_t seed) {
    CHECK(gf_conv2d_shape_init(&s) == GF_OK);
    const size_t in_n = (size_t)s.batch * s.in_channels * s.in_h * s.in_w;
    const size_t out_n = (size_t)s.batch * s.out_channels * s.out_h * s.out_w;
    const size_t w_n = (size_t)s.out_channels * (s.in_channels / s.groups) * s.kernel * s.kernel;
    /* outputs of both signs and, for ReLU6, beyond 6 */
    float *in = gradcheck_random(in_n, seed, 4.0f), *w = gradcheck_random(w_n, seed + 1, 0.5f);
    float *bias = with_bias ? gradcheck_random((size_t)s.out_channels, seed + 2, 2.0f) : NULL;
    float *ws = malloc(sizeof(float) * gf_conv2d_workspace_floats(&s));
    float *got = malloc(sizeof(float) * out_n), *want = malloc(sizeof(float) * out_n);
    CHECK(gf_conv2d_forward_inference(want, in, w, bias, NULL, &s, ws) == GF_OK);
    gf_activation_forward(want, want, out_n, activation.kind, activation.slope);
    CHECK(gf_conv2d_forward_inference(got, in, w, bias, &activation, &s, ws) == GF_OK);
    size_t differ = 0, changed = 0;
    for (size_t i = 0; i < out_n; i++) {
        differ += got[i] != want[i];
        changed += want[i] == 0.0f || want[i] == 6.0f || want[i] < 0.0f;
    }
    if (differ)
        fprintf(stderr, "%s %dx%dx%dx%d -> %d, kernel %d stride %d groups %d, %s: %zu of %zu "
                "outputs differ\n", what, s.batch, s.in_channels, s.in_h, s.in_w,
                s.out_channels, s.kernel, s.stride, s.groups,
                gf_activation_name(activation.kind), differ, out_n);
    CHECK(differ == 0);
    CHECK(changed > 0); /* the activation did something */
    free(in); free(w); free(bias); free(ws); free(got); free(want);
}

/* The activation of gf_conv2d_forward_inference's output stage on every path (each
 * applies it where it writes its outputs), for each kind, on random shapes. */
static void inference_activations(void) {
    static const char *const paths[] = {"winograd", "grid", "parity planes", "im2col",
                                        "1x1", "depthwise"};
    gf_rng r;
    gf_rng_seed(&r, 2027, 9);
    for (int i = 0; i < 36; i++) {
        const int path = i % 6;
        const gf_conv2d_activation activation = {
            .kind = (gf_activation_kind)(i / 6 % 3),
            .slope = 1.5f * (float)gf_rng_below(&r, 1000) / 1000.0f};
        gf_conv2d_shape s = {.batch = 1 + (int)gf_rng_below(&r, 5),
                             .in_channels = 8 + (int)gf_rng_below(&r, 25),
                             .in_h = 1 + (int)gf_rng_below(&r, 19),
                             .in_w = 1 + (int)gf_rng_below(&r, 19),
                             .out_channels = 8 + (int)gf_rng_below(&r, 25),
                             .kernel = 3, .stride = 1, .padding = 1, .groups = 1};
        if (path == 0) /* the rule's tile, F(2x2, 3x3), F(4x4, 3x3) */
            CHECK(gf_conv2d_force_winograd_tile((int)gf_rng_below(&r, 3) * 2) == GF_OK);
        if (path == 1) { /* too few channels for Winograd, or 5x5 "same" */
            s.in_channels = 1 + (int)gf_rng_below(&r, 7);
            if (i % 12 >= 6) s.kernel = 5, s.padding = 2;
        }
        if (path == 2 || path == 3) s.stride = 2, s.groups = 1 + (int)gf_rng_below(&r, 2);
        if (path == 3) gf_conv2d_use_parity_planes(false);
        if (path == 4) s.kernel = 1, s.padding = 0;
        if (path == 5) {
            s.in_channels = s.out_channels = s.groups = 2 + (int)gf_rng_below(&r, 8);
            s.stride = 1 + (int)gf_rng_below(&r, 2);
        }
        s.in_channels += s.in_channels % s.groups;
        s.out_channels += s.out_channels % s.groups;
        activation_stage_case(paths[path], s, i % 2, activation, 5000 + 10 * (uint64_t)i);
        gf_conv2d_use_parity_planes(true);
        CHECK(gf_conv2d_force_winograd_tile(0) == GF_OK);
    }
    /* several chunks of ResNet planes; a 1x1 product read and written in place */
    const gf_conv2d_activation relu = {.kind = GF_ACT_RELU};
    activation_stage_case("winograd chunks", shape(7, 16, 32, 32, 16, 3, 1, 1, 1), 0, relu, 5400);
    activation_stage_case("winograd rows grouped", shape(9, 64, 8, 8, 64, 3, 1, 1, 1), 1, relu,
                          5410);
    activation_stage_case("parity chunks", shape(9, 16, 32, 32, 32, 3, 2, 1, 1), 0, relu, 5420);
    activation_stage_case("1x1 one image at a time", shape(2, 130, 32, 32, 3, 1, 1, 0, 1), 1,
                          relu, 5430);
}

static void shape_errors(void) {
    gf_conv2d_shape s = shape(2, 6, 8, 8, 4, 3, 1, 1, 4);
    CHECK(gf_conv2d_shape_init(&s) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "groups 4 must divide in_channels 6 and out_channels 4");
    s = shape(2, 3, 2, 2, 4, 5, 1, 1, 1);
    CHECK(gf_conv2d_shape_init(&s) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "kernel 5 is larger than the padded input 4x4");
    s = shape(2, 3, 8, 8, 4, 3, 0, 1, 1);
    CHECK(gf_conv2d_shape_init(&s) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "stride 0");
    s = shape(2, 3, 9, 7, 4, 3, 2, 1, 1);
    CHECK(gf_conv2d_shape_init(&s) == GF_OK);
    CHECK(s.out_h == 5 && s.out_w == 4);
    /* sizes whose arithmetic would overflow int are refused, not wrapped */
    s = shape(1, 1, 1, 1, 4, 2, 1, 2000000000, 1);
    CHECK(gf_conv2d_shape_init(&s) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "padded input 4000000001x4000000001");
    s = shape(1, 1, 46341, 46341, 1, 1, 1, 0, 1); /* a plane of 2^31 + 2 * 46341 + 1 */
    CHECK(gf_conv2d_shape_init(&s) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "must stay below 2^31");
    s = shape(1, 65536, 8, 8, 1, 256, 1, 128, 1); /* 65536 * 256^2 = 2^32 patch rows */
    CHECK(gf_conv2d_shape_init(&s) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "65536 input and 1 output channels per group, kernel 256");
}

/* gf_conv2d_forward_moments on random shapes of every path (Winograd and the grid for
 * "same" 3x3, the grid for 5x5, parity planes and im2col for stride 2, 1x1 read in
 * place or gathered, groups, depthwise at stride 1 and 2): the same outputs as gf_conv2d_forward, bit for bit,
 * and each output plane's moments against two passes in double over it. An offset
 * per output channel (the bias) keeps planes away from zero. */
static void moments_of_outputs(void) {
    gf_rng r;
    gf_rng_seed(&r, 2028, 7);
    for (int i = 0; i < 48; i++) {
        const int kind = i % 6; /* 0 3x3 same, 1 5x5 same, 2 strided, 3 1x1, 4 groups, 5 depthwise */
        const int k = kind == 1 ? 5 : kind == 3 ? 1 : 3;
        int cin = 1 + (int)gf_rng_below(&r, 40), cout = 1 + (int)gf_rng_below(&r, 40), groups = 1;
        if (kind == 0) cin += 8, cout += 8; /* Winograd needs 8 each way */
        if (kind == 4) groups = 2, cin = 2 * cin, cout = 2 * cout;
        if (kind == 5) groups = cout = cin = cin + 1;
        const int stride = kind == 2 || (kind == 5 && i % 4 == 1) ? 2 : 1;
        gf_conv2d_shape s = shape(1 + (int)gf_rng_below(&r, 9), cin, k + (int)gf_rng_below(&r, 19),
                                  k + (int)gf_rng_below(&r, 19), cout, k, stride, k / 2, groups);
        if (kind == 3 && i % 4 == 3) s.in_h = s.in_w = 2; /* several images gathered per chunk */
        CHECK(gf_conv2d_shape_init(&s) == GF_OK);
        gf_conv2d_use_winograd(i % 12 != 0); /* 3x3 "same": grid, F(4, 3) or the rule's F(2, 3) */
        CHECK(gf_conv2d_force_winograd_tile(i % 24 == 6 ? 4 : 0) == GF_OK);
        gf_conv2d_use_parity_planes(i % 12 != 2); /* half the strided ones through im2col */
        const size_t in_n = (size_t)s.batch * s.in_channels * s.in_h * s.in_w;
        const size_t plane = (size_t)s.out_h * s.out_w, planes = (size_t)s.batch * s.out_channels;
        const size_t w_n = (size_t)s.out_channels * (s.in_channels / groups) * k * k;
        const uint64_t seed = 6000 + 10 * (uint64_t)i;
        float *in = gradcheck_random(in_n, seed, 1.0f), *w = gradcheck_random(w_n, seed + 1, 0.5f);
        float *bias = gradcheck_random((size_t)s.out_channels, seed + 2, 50.0f);
        float *ws = malloc(sizeof(float) * gf_conv2d_workspace_floats(&s));
        float *plain = malloc(sizeof(float) * planes * plane), *out = malloc(sizeof(float) * planes * plane);
        gf_moments *moments = malloc(sizeof *moments * planes);
        CHECK(gf_conv2d_forward(plain, in, w, bias, &s, ws) == GF_OK);
        CHECK(gf_conv2d_forward_moments(out, moments, in, w, bias, &s, ws) == GF_OK);
        CHECK(memcmp(out, plain, sizeof(float) * planes * plane) == 0);
        double worst = 0.0;
        for (size_t p = 0; p < planes; p++) {
            const float *x = out + p * plane;
            double mean = 0.0, squares = 0.0, largest = 0.0;
            for (size_t j = 0; j < plane; j++) mean += x[j], largest = fmax(largest, fabs(x[j]));
            mean /= (double)plane;
            for (size_t j = 0; j < plane; j++) squares += (x[j] - mean) * (x[j] - mean);
            /* float rounding of values of size `largest`, summed over the plane */
            const double unit = 1e-6 * largest, scale = squares + (double)plane * unit * unit;
            worst = fmax(worst, fabs(moments[p].mean - mean) / fmax(unit, 1e-30));
            worst = fmax(worst, fabs(moments[p].squares - squares) / scale);
        }
        if (!(worst <= 1.0))
            fprintf(stderr, "moments %dx%dx%dx%d -> %d, kernel %d, stride %d, groups %d: off by %g\n",
                    s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, k, stride, groups,
                    worst);
        CHECK(worst <= 1.0);
        free(in); free(w); free(bias); free(ws); free(plain); free(out); free(moments);
    }
    gf_conv2d_use_winograd(true);
    gf_conv2d_use_parity_planes(true);
    CHECK(gf_conv2d_force_winograd_tile(0) == GF_OK);
}

/* Winograd's transformed weights, U = G g G^T for every (out, in) pair, packed for the
 * forward or transposed for the input gradient, against the plain sum
 * sum_ij G[a][i] g[i][j] G[b][j] in double packed one matrix at a time, on random
 * channel counts and both tiles (rows of U split among the pool's threads). */
static void winograd_packed_weights(void) {
    static const double g2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
    static const double g4[6][3] = {{1.0 / 4, 0, 0},
                                    {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                    {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                    {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                    {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                    {0, 0, 1}};
    gf_rng r;
    gf_rng_seed(&r, 2029, 8);
    for (int i = 0; i < 16; i++) {
        const int tile = i % 2 ? 4 : 2, alpha = tile + 2;
        const bool transposed = i % 4 >= 2;
        gf_conv2d_shape s = shape(1, 1 + (int)gf_rng_below(&r, 70), 8, 8,
                                  1 + (int)gf_rng_below(&r, 70), 3, 1, 1, 1);
        const int in = s.in_channels, out = s.out_channels;
        const size_t pairs = (size_t)in * out;
        const size_t packed = transposed ? gf_gemm_packed_a_floats(in, out)
                                         : gf_gemm_packed_a_floats(out, in);
        float *weight = gradcheck_random(pairs * 9, 6000 + (uint64_t)i, 1.0f);
        /* cleared: a packed matrix may have floats past its panels that packing skips */
        float *shared = calloc(gf_conv2d_winograd_shared_floats(&s), sizeof(float));
        float *unpacked = malloc(sizeof(float) * pairs);
        float *expected = calloc(packed, sizeof(float));
        gf_conv2d_winograd_pack(shared, weight, &s, tile, transposed);
        double worst = 0.0;
        for (int xi = 0; xi < alpha * alpha; xi++) {
            const double *ga = tile == 2 ? g2[xi / alpha] : g4[xi / alpha];
            const double *gb = tile == 2 ? g2[xi % alpha] : g4[xi % alpha];
            for (size_t p = 0; p < pairs; p++) {
                double u = 0.0;
                for (int a = 0; a < 3; a++)
                    for (int b = 0; b < 3; b++) u += ga[a] * weight[p * 9 + a * 3 + b] * gb[b];
                unpacked[p] = (float)u;
            }
            if (transposed)
                gf_gemm_pack_a(expected, unpacked, in, true, in, out);
            else
                gf_gemm_pack_a(expected, unpacked, in, false, out, in);
            const double d = check_worst_relative(shared + (size_t)xi * packed, expected, packed);
            worst = fmax(worst, d);
        }
        if (!(worst <= 1e-6))
            fprintf(stderr, "winograd weights F(%d, 3) %d -> %d%s: differ by %g\n", tile, in,
                    out, transposed ? " transposed" : "", worst);
        CHECK(worst <= 1e-6);
        free(weight);
        free(shared);
        free(unpacked);
        free(expected);
    }
}

int main(void) {
    shape_errors();
    run_case("3x3 stride 1 pad 1 bias", shape(2, 3, 7, 6, 4, 3, 1, 1, 1), 1, 100);
    run_case("3x3 stride 2 pad 1", shape(2, 3, 7, 7, 5, 3, 2, 1, 1), 0, 200);
    run_case("3x3 stride 1 pad 0", shape(2, 2, 6, 5, 3, 3, 1, 0, 1), 1, 300);
    run_case("3x3 stride 2 pad 0 even", shape(1, 3, 8, 8, 2, 3, 2, 0, 1), 0, 350);
    run_case("1x1 stride 1", shape(3, 5, 4, 3, 6, 1, 1, 0, 1), 1, 400);
    /* planes large enough for one image per product (read and written in place) */
    run_case("1x1 stride 1, one image at a time", shape(2, 130, 32, 32, 3, 1, 1, 0, 1), 0, 410);
    run_case("groups 2 1x1, one image at a time", shape(3, 256, 32, 32, 4, 1, 1, 0, 2), 1, 420);
    /* below GF_MOMENTS_MIN_PLANE: image by image (whole column blocks), and in chunks */
    run_case("1x1 stride 1, 8x8 planes", shape(5, 12, 8, 8, 7, 1, 1, 0, 1), 1, 430);
    run_case("1x1 stride 1, fewer outputs", shape(3, 7, 5, 3, 4, 1, 1, 0, 1), 0, 440);
    run_case("1x1 stride 2", shape(2, 4, 5, 5, 3, 1, 2, 0, 1), 0, 500);
    run_case("5x5 stride 2 pad 2", shape(2, 2, 9, 8, 3, 5, 2, 2, 1), 1, 600);
    run_case("groups 2", shape(2, 4, 6, 6, 6, 3, 1, 1, 2), 1, 700);
    /* "same" convolutions go through the padded grid (nn/conv2d_grid.h): 5x5 with two
     * pad rows and columns, and a batch in chunks of 2 images with a shorter last one */
    run_case("5x5 stride 1 pad 2", shape(3, 3, 7, 9, 4, 5, 1, 2, 1), 1, 720);
    run_case("3x3 same, chunks of 2", shape(7, 16, 36, 36, 4, 3, 1, 1, 1), 1, 740);
    /* Winograd F(2x2, 3x3) and F(4x4, 3x3): odd sizes (part tiles), and several
     * chunks; F(4, 3)'s outputs within ten times F(2, 3)'s roundings */
    for (int tile = 2; tile <= 4; tile += 2) {
        CHECK(gf_conv2d_force_winograd_tile(tile) == GF_OK);
        const double tolerance = tile == 2 ? 1e-5 : 1e-4;
        run_case_within("winograd odd sizes", shape(3, 8, 7, 5, 9, 3, 1, 1, 1), 1, 760, tolerance);
        run_case_within("winograd chunks", shape(5, 8, 36, 36, 8, 3, 1, 1, 1), 0, 770, tolerance);
    }
    CHECK(gf_conv2d_force_winograd_tile(3) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "Winograd tile 3");
    CHECK(gf_conv2d_force_winograd_tile(0) == GF_OK);
    winograd_packed_weights();
    winograd_random_shapes();
    run_case("parity planes odd sizes", shape(3, 5, 9, 7, 6, 3, 2, 1, 1), 1, 780);
    run_case("parity planes groups 2", shape(2, 4, 6, 5, 6, 3, 2, 1, 2), 0, 790);
    parity_random_shapes();
    winograd_rounding();
    rule_tiles();
    inference_activations();
    run_case("groups 2 1x1", shape(2, 4, 5, 4, 6, 1, 1, 0, 2), 0, 750);
    run_case("depthwise stride 1", shape(2, 4, 6, 7, 4, 3, 1, 1, 4), 1, 800);
    run_case("depthwise stride 2", shape(2, 3, 7, 7, 3, 3, 2, 1, 3), 0, 900);
    run_case("depthwise stride 2 even", shape(2, 5, 8, 8, 5, 3, 2, 1, 5), 1, 950);
    run_case("depthwise 5x5 pad 2", shape(1, 3, 6, 6, 3, 5, 1, 2, 3), 0, 1000);
    run_case("depthwise 3x3 pad 0", shape(2, 3, 6, 5, 3, 3, 1, 0, 3), 1, 1100);
    depthwise_flat_against_plain();
    pointwise_images_against_chunks();
    pointwise_large_images_against_chunks();
    moments_of_outputs();
    return CHECK_DONE();
}
