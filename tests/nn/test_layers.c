/* The parameter-light layers: activations, pooling, linear, option-A shortcut, add.
 * Forward against direct definitions, backward against finite differences. */
#include "core/error.h"
#include "gradcheck.h"
#include "nn/activation.h"
#include "nn/linear.h"
#include "nn/pool.h"
#include "nn/shortcut.h"

/* One context type for every layer here: forward is a callback into it. */
typedef struct layer_case {
    void (*forward)(struct layer_case *c);
    float *in, *weight, *bias, *out, *probe;
    size_t in_n, out_n;
    int32_t *argmax;
    gf_activation_kind kind;
    float slope;
    gf_pool_shape pool;
    gf_shortcut_shape shortcut;
    int batch, in_features, out_features;
} layer_case;

static double layer_loss(void *ctx) {
    layer_case *c = ctx;
    c->forward(c);
    return gradcheck_dot(c->out, c->probe, c->out_n);
}

static void setup(layer_case *c, size_t in_n, size_t out_n, uint64_t seed) {
    c->in_n = in_n;
    c->out_n = out_n;
    c->in = gradcheck_random(in_n, seed, 1.0f);
    c->probe = gradcheck_random(out_n, seed + 1, 1.0f);
    c->out = malloc(sizeof(float) * out_n);
}

static void teardown(layer_case *c) {
    free(c->in); free(c->probe); free(c->out); free(c->weight); free(c->bias); free(c->argmax);
}

/* grad_in starts random (backward must accumulate); returns grad_in - start */
static float *input_gradient(layer_case *c, void (*backward)(layer_case *, float *)) {
    float *grad = gradcheck_random(c->in_n, 4242, 1.0f), *prior = gradcheck_copy(grad, c->in_n);
    backward(c, grad);
    gradcheck_remove_prior(grad, prior, c->in_n);
    free(prior);
    return grad;
}

/* ---- activations ---- */
static void act_forward(layer_case *c) { gf_activation_forward(c->out, c->in, c->in_n, c->kind, c->slope); }
static void act_backward(layer_case *c, float *g) {
    gf_activation_backward(g, c->probe, c->in, c->in_n, c->kind, c->slope, GF_GRAD_ADD);
}

static void activations(void) {
    const char *names[3] = {"relu", "leaky_relu", "relu6"};
    gf_activation_kind kinds[3] = {GF_ACT_RELU, GF_ACT_LEAKY_RELU, GF_ACT_RELU6};
    for (int k = 0; k < 3; k++) {
        layer_case c = {.forward = act_forward, .kind = kinds[k], .slope = 0.2f};
        setup(&c, 300, 300, 10 + k);
        /* spread over [-8, 8] and keep away from the kinks at 0 and 6 */
        for (size_t i = 0; i < c.in_n; i++) {
            float v = c.in[i] * 4.0f;
            if (fabsf(v) < 0.05f) v = v < 0 ? -0.05f : 0.05f;
            if (fabsf(v - 6.0f) < 0.05f) v = 6.1f;
            c.in[i] = v;
        }
        act_forward(&c);
        int wrong = 0;
        for (size_t i = 0; i < c.in_n; i++) {
            float x = c.in[i], ref = x;
            if (kinds[k] == GF_ACT_RELU) ref = x > 0 ? x : 0;
            if (kinds[k] == GF_ACT_LEAKY_RELU) ref = x > 0 ? x : 0.2f * x;
            if (kinds[k] == GF_ACT_RELU6) ref = x < 0 ? 0 : (x > 6 ? 6 : x);
            wrong += c.out[i] != ref;
        }
        CHECK(wrong == 0);
        float *g = input_gradient(&c, act_backward);
        check_gradient(names[k], c.in, c.in_n, g, layer_loss, &c, 1e-2f, 1e-3, 1e-4, 300, 1);
        float *stored = gradcheck_random(c.in_n, 20 + k, 100.0f);
        gf_activation_backward(stored, c.probe, c.in, c.in_n, c.kind, c.slope, GF_GRAD_STORE);
        CHECK(gradcheck_store_differs(names[k], stored, g, c.in_n) <= 1e-5);
        free(stored);
        free(g);
        teardown(&c);
    }
    /* large tensors take the threaded path: same results as a plain loop */
    const size_t big = 100003;
    float *x = gradcheck_random(big, 77, 3.0f), *y = malloc(sizeof(float) * big);
    float *gy = gradcheck_random(big, 78, 1.0f), *gx = gradcheck_random(big, 79, 1.0f);
    float *gx0 = gradcheck_copy(gx, big);
    gf_activation_forward(y, x, big, GF_ACT_LEAKY_RELU, 0.1f);
    gf_activation_backward(gx, gy, x, big, GF_ACT_LEAKY_RELU, 0.1f, GF_GRAD_ADD);
    int mismatches = 0;
    for (size_t i = 0; i < big; i++) {
        mismatches += y[i] != (x[i] > 0 ? x[i] : 0.1f * x[i]);
        mismatches += gx[i] != gx0[i] + (x[i] > 0 ? gy[i] : 0.1f * gy[i]);
    }
    gf_add_forward(y, x, gy, big);
    for (size_t i = 0; i < big; i++) mismatches += y[i] != x[i] + gy[i];
    CHECK(mismatches == 0);
    free(x); free(y); free(gy); free(gx); free(gx0);

    /* PyTorch's convention: gradient 0 at exactly 0 */
    float zero = 0.0f, one = 1.0f, g = 0.0f;
    gf_activation_backward(&g, &one, &zero, 1, GF_ACT_RELU, 0.0f, GF_GRAD_ADD);
    CHECK(g == 0.0f);
}

/* ---- pooling ---- */
static void maxpool_forward(layer_case *c) {
    CHECK(gf_maxpool_forward(c->out, c->argmax, c->in, &c->pool) == GF_OK);
}
static void maxpool_backward(layer_case *c, float *g) {
    gf_maxpool_backward(g, c->probe, c->argmax, &c->pool);
}
static void avgpool_forward(layer_case *c) {
    CHECK(gf_avgpool_forward(c->out, c->in, &c->pool) == GF_OK);
}
static void avgpool_backward(layer_case *c, float *g) { gf_avgpool_backward(g, c->probe, &c->pool); }
static void global_forward(layer_case *c) {
    gf_global_avgpool_forward(c->out, c->in, c->pool.batch, c->pool.channels,
                              c->pool.in_h * c->pool.in_w);
}
static void global_backward(layer_case *c, float *g) {
    gf_global_avgpool_backward(g, c->probe, c->pool.batch, c->pool.channels,
                               c->pool.in_h * c->pool.in_w);
}

/* direct window reduction: max or average (padding counted in the divisor) */
static double pool_reference(const layer_case *c, size_t plane, int oh, int ow, int is_max) {
    const gf_pool_shape *s = &c->pool;
    double best = -INFINITY, sum = 0;
    for (int kh = 0; kh < s->kernel; kh++)
        for (int kw = 0; kw < s->kernel; kw++) {
            int ih = oh * s->stride - s->padding + kh, iw = ow * s->stride - s->padding + kw;
            if (ih < 0 || iw < 0 || ih >= s->in_h || iw >= s->in_w) continue;
            double v = c->in[plane * s->in_h * s->in_w + (size_t)ih * s->in_w + iw];
            best = fmax(best, v);
            sum += v;
        }
    return is_max ? best : sum / (s->kernel * s->kernel);
}

static void pooling_case(int is_max, int h, int w, int kernel, int stride, int padding, uint64_t seed) {
    layer_case c = {.forward = is_max ? maxpool_forward : avgpool_forward};
    c.pool = (gf_pool_shape){.batch = 2, .channels = 3, .in_h = h, .in_w = w, .kernel = kernel,
                             .stride = stride, .padding = padding};
    CHECK(gf_pool_shape_init(&c.pool) == GF_OK);
    size_t planes = 6, out_plane = (size_t)c.pool.out_h * c.pool.out_w;
    setup(&c, planes * h * w, planes * out_plane, seed);
    /* distinct values 0.1 apart (a shuffled ramp, centred): a step of 0.04 changes no
     * window's winner */
    int32_t *order = malloc(sizeof(int32_t) * c.in_n);
    for (size_t i = 0; i < c.in_n; i++) order[i] = (int32_t)i;
    gf_rng r;
    gf_rng_seed(&r, seed, 1);
    gf_rng_shuffle(&r, order, c.in_n);
    for (size_t i = 0; i < c.in_n; i++) c.in[i] = 0.1f * ((float)order[i] - 0.5f * (float)c.in_n);
    free(order);
    c.argmax = malloc(sizeof(int32_t) * c.out_n);
    c.forward(&c);
    double worst = 0;
    for (size_t p = 0; p < planes; p++)
        for (int oh = 0; oh < c.pool.out_h; oh++)
            for (int ow = 0; ow < c.pool.out_w; ow++)
                worst = fmax(worst, fabs(c.out[p * out_plane + oh * c.pool.out_w + ow] -
                                         pool_reference(&c, p, oh, ow, is_max)));
    CHECK(worst < 1e-5);
    float *g = input_gradient(&c, is_max ? maxpool_backward : avgpool_backward);
    char what[64];
    snprintf(what, sizeof what, "%s k%d s%d p%d", is_max ? "maxpool" : "avgpool", kernel, stride, padding);
    check_gradient(what, c.in, c.in_n, g, layer_loss, &c, 0.04f, 1e-3, 2e-4, 400, seed);
    free(g);
    teardown(&c);
}

static void pooling(void) {
    pooling_case(1, 6, 6, 2, 2, 0, 100);
    pooling_case(1, 7, 5, 3, 2, 1, 110);
    pooling_case(0, 6, 6, 2, 2, 0, 120);
    pooling_case(0, 5, 7, 3, 1, 1, 130);
    pooling_case(0, 8, 8, 3, 2, 1, 140);

    layer_case c = {.forward = global_forward};
    c.pool = (gf_pool_shape){.batch = 3, .channels = 4, .in_h = 3, .in_w = 5};
    setup(&c, 3 * 4 * 15, 12, 150);
    global_forward(&c);
    double worst = 0;
    for (int p = 0; p < 12; p++) {
        double s = 0;
        for (int i = 0; i < 15; i++) s += c.in[p * 15 + i];
        worst = fmax(worst, fabs(c.out[p] - s / 15));
    }
    CHECK(worst < 1e-6);
    float *g = input_gradient(&c, global_backward);
    check_gradient("global avgpool", c.in, c.in_n, g, layer_loss, &c, 1e-2f, 1e-3, 1e-4, 400, 3);
    free(g);
    teardown(&c);

    gf_pool_shape bad = {.batch = 1, .channels = 1, .in_h = 4, .in_w = 4, .kernel = 2, .stride = 2, .padding = 2};
    CHECK(gf_pool_shape_init(&bad) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "padding 2 is more than half the kernel 2");
    /* sizes whose arithmetic would overflow int are refused, not wrapped */
    bad = (gf_pool_shape){.batch = 1, .channels = 1, .in_h = 2147483647, .in_w = 4,
                          .kernel = 3, .stride = 1, .padding = 1};
    CHECK(gf_pool_shape_init(&bad) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "input 2147483647x4 is too large");
    bad.in_h = 4;
    bad.padding = 2147483647;
    CHECK(gf_pool_shape_init(&bad) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "more than half the kernel");
}

/* ---- linear ---- */
static void linear_forward(layer_case *c) {
    gf_linear_forward(c->out, c->in, c->weight, c->bias, c->batch, c->in_features, c->out_features);
}

static void linear(void) {
    layer_case c = {.forward = linear_forward, .batch = 4, .in_features = 7, .out_features = 5};
    setup(&c, 28, 20, 200);
    c.weight = gradcheck_random(35, 201, 0.5f);
    c.bias = gradcheck_random(5, 202, 0.5f);
    linear_forward(&c);
    double worst = 0;
    for (int n = 0; n < 4; n++)
        for (int o = 0; o < 5; o++) {
            double s = c.bias[o];
            for (int i = 0; i < 7; i++) s += (double)c.in[n * 7 + i] * c.weight[o * 7 + i];
            worst = fmax(worst, fabs(c.out[n * 5 + o] - s));
        }
    CHECK(worst < 1e-5);

    float *gi = gradcheck_random(28, 203, 1), *gw = gradcheck_random(35, 204, 1), *gb = gradcheck_random(5, 205, 1);
    float *pi = gradcheck_copy(gi, 28), *pw = gradcheck_copy(gw, 35), *pb = gradcheck_copy(gb, 5);
    gf_linear_backward(gi, gw, gb, c.probe, c.in, c.weight, 4, 7, 5);
    gradcheck_remove_prior(gi, pi, 28);
    gradcheck_remove_prior(gw, pw, 35);
    gradcheck_remove_prior(gb, pb, 5);
    check_gradient("linear grad input", c.in, 28, gi, layer_loss, &c, 0.05f, 2e-3, 1e-4, 100, 1);
    check_gradient("linear grad weight", c.weight, 35, gw, layer_loss, &c, 0.05f, 2e-3, 1e-4, 100, 2);
    check_gradient("linear grad bias", c.bias, 5, gb, layer_loss, &c, 0.05f, 2e-3, 1e-4, 100, 3);

    /* no grad_in, no bias: the weight gradient is unchanged */
    float *gw2 = calloc(35, sizeof(float));
    gf_linear_backward(NULL, gw2, NULL, c.probe, c.in, c.weight, 4, 7, 5);
    double d = 0;
    for (int i = 0; i < 35; i++) d = fmax(d, fabs(gw2[i] - gw[i]));
    CHECK(d < 1e-5);
    free(gw2);
    free(gi); free(gw); free(gb); free(pi); free(pw); free(pb);
    teardown(&c);
}

/* ---- option-A shortcut and add ---- */
static void shortcut_forward(layer_case *c) { gf_shortcut_forward(c->out, c->in, &c->shortcut); }
static void shortcut_backward(layer_case *c, float *g) { gf_shortcut_backward(g, c->probe, &c->shortcut); }

static void shortcut_case(int h, int w, int stride, int pad, uint64_t seed) {
    layer_case c = {.forward = shortcut_forward};
    c.shortcut = (gf_shortcut_shape){.batch = 2, .in_channels = 3, .in_h = h, .in_w = w,
                                     .stride = stride, .pad = pad};
    CHECK(gf_shortcut_shape_init(&c.shortcut) == GF_OK);
    const gf_shortcut_shape *s = &c.shortcut;
    CHECK(s->out_channels == 3 + 2 * pad);
    CHECK(s->out_h == (h + stride - 1) / stride && s->out_w == (w + stride - 1) / stride);
    setup(&c, (size_t)2 * 3 * h * w, (size_t)2 * s->out_channels * s->out_h * s->out_w, seed);
    for (size_t i = 0; i < c.out_n; i++) c.out[i] = NAN; /* forward must write everything */
    shortcut_forward(&c);
    int wrong = 0;
    for (int n = 0; n < 2; n++)
        for (int oc = 0; oc < s->out_channels; oc++)
            for (int oh = 0; oh < s->out_h; oh++)
                for (int ow = 0; ow < s->out_w; ow++) {
                    int ic = oc - pad;
                    float ref = (ic < 0 || ic >= 3) ? 0.0f
                        : c.in[((n * 3 + ic) * h + oh * stride) * w + ow * stride];
                    wrong += c.out[((n * s->out_channels + oc) * s->out_h + oh) * s->out_w + ow] != ref;
                }
    CHECK(wrong == 0);
    float *g = input_gradient(&c, shortcut_backward);
    check_gradient("shortcut", c.in, c.in_n, g, layer_loss, &c, 0.05f, 1e-3, 1e-4, 400, seed);
    free(g);
    teardown(&c);
}

/* Past the threads' threshold (images split among the threads, an odd batch): the
 * forward against its definition, the backward against a plain scatter onto a prior
 * gradient, both exact. */
static void shortcut_threaded(void) {
    gf_shortcut_shape s = {.batch = 7, .in_channels = 16, .in_h = 32, .in_w = 31, .stride = 2,
                           .pad = 8};
    CHECK(gf_shortcut_shape_init(&s) == GF_OK);
    const int h = s.in_h, w = s.in_w, oc_n = s.out_channels, oh_n = s.out_h, ow_n = s.out_w;
    const size_t in_n = (size_t)s.batch * s.in_channels * h * w,
                 out_n = (size_t)s.batch * oc_n * oh_n * ow_n;
    CHECK(out_n >= ((size_t)1 << 15));
    float *in = gradcheck_random(in_n, 330, 1.0f), *out = malloc(sizeof(float) * out_n);
    for (size_t i = 0; i < out_n; i++) out[i] = NAN;
    gf_shortcut_forward(out, in, &s);
    float *grad_out = gradcheck_random(out_n, 331, 1.0f), *grad_in = gradcheck_random(in_n, 332, 1.0f);
    float *expected = gradcheck_copy(grad_in, in_n);
    gf_shortcut_backward(grad_in, grad_out, &s);
    int wrong = 0;
    for (int n = 0; n < s.batch; n++)
        for (int oc = 0; oc < oc_n; oc++)
            for (int oh = 0; oh < oh_n; oh++)
                for (int ow = 0; ow < ow_n; ow++) {
                    const int ic = oc - s.pad;
                    const size_t o = (((size_t)n * oc_n + oc) * oh_n + oh) * ow_n + ow;
                    if (ic < 0 || ic >= s.in_channels) {
                        wrong += out[o] != 0.0f;
                        continue;
                    }
                    const size_t i = (((size_t)n * s.in_channels + ic) * h + oh * 2) * w + ow * 2;
                    wrong += out[o] != in[i];
                    expected[i] += grad_out[o];
                }
    CHECK(wrong == 0);
    wrong = 0;
    for (size_t i = 0; i < in_n; i++) wrong += grad_in[i] != expected[i];
    CHECK(wrong == 0);
    free(in); free(out); free(grad_out); free(grad_in); free(expected);
}

static void shortcut_and_add(void) {
    shortcut_threaded();
    shortcut_case(8, 8, 2, 2, 300);
    shortcut_case(7, 5, 2, 1, 310);
    shortcut_case(4, 4, 1, 0, 320);
    float a[5] = {1, 2, 3, 4, 5}, b[5] = {0.5f, -2, 0, 1, 10};
    gf_add_forward(a, a, b, 5);
    CHECK(a[0] == 1.5f && a[1] == 0.0f && a[4] == 15.0f);
    /* the add's backward, small and threaded: added onto a prior, or stored over garbage */
    const size_t sizes[2] = {7, 100003};
    for (int t = 0; t < 2; t++) {
        const size_t n = sizes[t];
        float *g = gradcheck_random(n, 500 + t, 1.0f), *prior = gradcheck_random(n, 510 + t, 1.0f);
        float *added = gradcheck_copy(prior, n), *stored = gradcheck_random(n, 520 + t, 100.0f);
        gf_add_backward(added, g, n, GF_GRAD_ADD);
        gf_add_backward(stored, g, n, GF_GRAD_STORE);
        int wrong = 0;
        for (size_t i = 0; i < n; i++) wrong += added[i] != prior[i] + g[i] || stored[i] != g[i];
        CHECK(wrong == 0);
        free(g); free(prior); free(added); free(stored);
    }
}

/* an option-A shortcut whose channel count would overflow int is refused */
static void shortcut_limits(void) {
    gf_shortcut_shape s = {.batch = 1, .in_channels = 2, .in_h = 4, .in_w = 4, .stride = 1,
                           .pad = 2147483647 / 2 + 1};
    CHECK(gf_shortcut_shape_init(&s) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "sizes too large");
}

int main(void) {
    activations();
    pooling();
    linear();
    shortcut_and_add();
    shortcut_limits();
    return CHECK_DONE();
}
