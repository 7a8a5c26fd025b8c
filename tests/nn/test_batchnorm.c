/* BatchNorm2d: training-mode gradients (input, gamma, beta) against finite
 * differences, running statistics against a hand computation (unbiased variance,
 * momentum 0.1), normalised output moments, the variance of channels far from zero,
 * evaluation mode, the fused activation against the two kernels in turn, and
 * statistics from given plane moments. */
#include "core/error.h"
#include "gradcheck.h"
#include "nn/batchnorm.h"

typedef struct bn_case {
    gf_batchnorm_shape s;
    float *in, *gamma, *beta, *out, *probe;
    float *mean, *invstd, *run_mean, *run_var;
    size_t n;
} bn_case;

static double bn_loss(void *ctx) {
    bn_case *c = ctx;
    /* running statistics are scratch here: reset them so each evaluation is the same */
    for (int i = 0; i < c->s.channels; i++) c->run_mean[i] = 0.0f, c->run_var[i] = 1.0f;
    CHECK(gf_batchnorm_forward_train(c->out, c->mean, c->invstd, c->run_mean, c->run_var, c->in,
                                     c->gamma, c->beta, &c->s) == GF_OK);
    return gradcheck_dot(c->out, c->probe, c->n);
}

static void alloc_case(bn_case *c, int batch, int channels, int spatial, uint64_t seed) {
    c->s = (gf_batchnorm_shape){.batch = batch, .channels = channels, .spatial = spatial,
                                .eps = 1e-5f, .momentum = 0.1f};
    c->n = (size_t)batch * channels * spatial;
    c->in = gradcheck_random(c->n, seed, 2.0f);
    /* per-channel offsets, so the mean matters */
    for (size_t i = 0; i < c->n; i++) c->in[i] += (float)((i / spatial) % channels) - 1.0f;
    c->gamma = gradcheck_random((size_t)channels, seed + 1, 1.0f);
    c->beta = gradcheck_random((size_t)channels, seed + 2, 1.0f);
    c->probe = gradcheck_random(c->n, seed + 3, 1.0f);
    c->out = malloc(sizeof(float) * c->n);
    c->mean = malloc(sizeof(float) * channels);
    c->invstd = malloc(sizeof(float) * channels);
    c->run_mean = malloc(sizeof(float) * channels);
    c->run_var = malloc(sizeof(float) * channels);
    /* PyTorch's starting statistics: the training forward blends them into the new
     * ones, so left as malloc gave them (meson fills blocks with MALLOC_PERTURB_'s
     * byte) a case could start from 3e38 */
    for (int i = 0; i < channels; i++) c->run_mean[i] = 0.0f, c->run_var[i] = 1.0f;
}

static void free_case(bn_case *c) {
    free(c->in); free(c->gamma); free(c->beta); free(c->probe); free(c->out);
    free(c->mean); free(c->invstd); free(c->run_mean); free(c->run_var);
}

static void training_gradients(int batch, int channels, int spatial, uint64_t seed) {
    bn_case c;
    alloc_case(&c, batch, channels, spatial, seed);
    bn_loss(&c);
    float *grad_in = gradcheck_random(c.n, seed + 4, 1.0f);
    float *grad_gamma = gradcheck_random((size_t)channels, seed + 5, 1.0f);
    float *grad_beta = gradcheck_random((size_t)channels, seed + 6, 1.0f);
    float *p_in = gradcheck_copy(grad_in, c.n), *p_gamma = gradcheck_copy(grad_gamma, channels);
    float *p_beta = gradcheck_copy(grad_beta, channels);
    CHECK(gf_batchnorm_backward(grad_in, grad_gamma, grad_beta, c.probe, c.in, c.mean, c.invstd,
                                c.gamma, c.beta, &c.s, GF_GRAD_ADD) == GF_OK);
    gradcheck_remove_prior(grad_in, p_in, c.n);
    gradcheck_remove_prior(grad_gamma, p_gamma, channels);
    gradcheck_remove_prior(grad_beta, p_beta, channels);

    char what[96];
    /* storing grad_in (into garbage) gives what adding contributed */
    float *stored = gradcheck_random(c.n, seed + 7, 100.0f);
    float *scratch_gamma = calloc((size_t)channels, sizeof(float));
    float *scratch_beta = calloc((size_t)channels, sizeof(float));
    CHECK(gf_batchnorm_backward(stored, scratch_gamma, scratch_beta, c.probe, c.in, c.mean,
                                c.invstd, c.gamma, c.beta, &c.s, GF_GRAD_STORE) == GF_OK);
    snprintf(what, sizeof what, "batchnorm %dx%dx%d grad input", batch, channels, spatial);
    CHECK(gradcheck_store_differs(what, stored, grad_in, c.n) <= 1e-5);
    free(stored); free(scratch_gamma); free(scratch_beta);

    snprintf(what, sizeof what, "batchnorm %dx%dx%d grad input", batch, channels, spatial);
    check_gradient(what, c.in, c.n, grad_in, bn_loss, &c, 2e-3f, 1e-2, 2e-3, 150, seed);
    snprintf(what, sizeof what, "batchnorm %dx%dx%d grad gamma", batch, channels, spatial);
    check_gradient(what, c.gamma, channels, grad_gamma, bn_loss, &c, 2e-3f, 1e-2, 2e-3, 50, seed);
    snprintf(what, sizeof what, "batchnorm %dx%dx%d grad beta", batch, channels, spatial);
    check_gradient(what, c.beta, channels, grad_beta, bn_loss, &c, 2e-3f, 1e-2, 2e-3, 50, seed);

    free(grad_in); free(grad_gamma); free(grad_beta); free(p_in); free(p_gamma); free(p_beta);
    free_case(&c);
}

/* Mean and sum of squared deviations of channel ch of a [batch, channels, spatial]
 * tensor, in two passes in double. */
static void channel_moments(const float *x, int batch, int channels, int spatial, int ch,
                            double *mean, double *squares) {
    double sum = 0.0;
    for (int n = 0; n < batch; n++)
        for (int i = 0; i < spatial; i++) sum += x[(n * channels + ch) * spatial + i];
    *mean = sum / ((double)batch * spatial);
    *squares = 0.0;
    for (int n = 0; n < batch; n++)
        for (int i = 0; i < spatial; i++) {
            double d = x[(n * channels + ch) * spatial + i] - *mean;
            *squares += d * d;
        }
}

static void statistics_and_output(void) {
    bn_case c;
    const int batch = 3, channels = 4, spatial = 10;
    alloc_case(&c, batch, channels, spatial, 77);
    float start_mean[4] = {0.5f, -1.0f, 0.0f, 2.0f}, start_var[4] = {1.0f, 2.0f, 0.5f, 3.0f};
    for (int i = 0; i < channels; i++) c.run_mean[i] = start_mean[i], c.run_var[i] = start_var[i];
    CHECK(gf_batchnorm_forward_train(c.out, c.mean, c.invstd, c.run_mean, c.run_var, c.in,
                                     c.gamma, c.beta, &c.s) == GF_OK);
    const int count = batch * spatial;
    for (int ch = 0; ch < channels; ch++) {
        double mean, sq, out_sum = 0, out_sq = 0;
        channel_moments(c.in, batch, channels, spatial, ch, &mean, &sq);
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < spatial; i++) {
                double y = (c.out[(n * channels + ch) * spatial + i] - c.beta[ch]) / c.gamma[ch];
                out_sum += y;
                out_sq += y * y;
            }
        double biased = sq / count, unbiased = sq / (count - 1);
        CHECK_NEAR(c.mean[ch], mean, 1e-5);
        CHECK_NEAR(c.invstd[ch], 1.0 / sqrt(biased + 1e-5), 1e-5);
        CHECK_NEAR(c.run_mean[ch], 0.9 * start_mean[ch] + 0.1 * mean, 1e-5);
        CHECK_NEAR(c.run_var[ch], 0.9 * start_var[ch] + 0.1 * unbiased, 1e-5);
        /* the normalised values have mean 0 and (biased) variance var / (var + eps) */
        CHECK_NEAR(out_sum / count, 0.0, 1e-4);
        CHECK_NEAR(out_sq / count, biased / (biased + 1e-5), 1e-4);
    }

    /* evaluation uses the running statistics */
    CHECK(gf_batchnorm_forward_eval(c.out, c.in, c.gamma, c.beta, c.run_mean, c.run_var, &c.s) ==
          GF_OK);
    double worst = 0;
    for (size_t j = 0; j < c.n; j++) {
        int ch = (int)((j / spatial) % channels);
        double ref = (c.in[j] - c.run_mean[ch]) / sqrt(c.run_var[ch] + 1e-5) * c.gamma[ch] + c.beta[ch];
        worst = fmax(worst, fabs(c.out[j] - ref));
    }
    CHECK(worst < 1e-5);

    /* one value per channel cannot be normalised in training (PyTorch refuses too) */
    gf_batchnorm_shape single = {.batch = 1, .channels = 4, .spatial = 1, .eps = 1e-5f, .momentum = 0.1f};
    CHECK(gf_batchnorm_forward_train(c.out, c.mean, c.invstd, c.run_mean, c.run_var, c.in, c.gamma,
                                     c.beta, &single) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "more than 1 value per channel (batch 1, spatial 1)");
    free_case(&c);
}

/* Channels far from zero with a small spread (mean 1000, sd 0.01; mean -5000, sd 3;
 * one far sample first, as the moments are taken about the first sample): the
 * variance, against two passes in double, stays accurate. */
static void variance_of_offset_channels(void) {
    bn_case c;
    const int batch = 8, channels = 2, spatial = 300;
    alloc_case(&c, batch, channels, spatial, 91);
    const float centre[2] = {1000.0f, -5000.0f}, spread[2] = {0.01f, 3.0f};
    for (size_t i = 0; i < c.n; i++) {
        int ch = (int)((i / spatial) % channels);
        c.in[i] = centre[ch] + spread[ch] * (c.in[i] - (float)ch + 1.0f) / 2.0f;
    }
    c.in[0] = centre[0] + 5.0f * spread[0];
    CHECK(gf_batchnorm_forward_train(c.out, c.mean, c.invstd, c.run_mean, c.run_var, c.in,
                                     c.gamma, c.beta, &c.s) == GF_OK);
    for (int ch = 0; ch < channels; ch++) {
        double mean, squares;
        channel_moments(c.in, batch, channels, spatial, ch, &mean, &squares);
        double var = squares / ((double)batch * spatial), invstd = 1.0 / sqrt(var + 1e-5);
        if (fabs(c.invstd[ch] - invstd) > 1e-4 * invstd)
            fprintf(stderr, "channel %d: invstd %g, two passes in double %g\n", ch,
                    (double)c.invstd[ch], invstd);
        CHECK(fabs(c.invstd[ch] - invstd) <= 1e-4 * invstd);
        CHECK(fabs(c.mean[ch] - mean) <= 1e-6 * fabs(mean));
    }
    free_case(&c);
}

/* Statistics from given plane moments (as a convolution hands them over) on random
 * shapes: the same bits as computing them inside, and they are what is used: the
 * moments of the input plus 1 move the saved mean by 1 and nothing else. */
static void given_moments(void) {
    gf_rng r;
    gf_rng_seed(&r, 2029, 8);
    for (int i = 0; i < 12; i++) {
        bn_case c, given;
        /* beyond 64 channels: several of the kernel's channel blocks per thread */
        const int batch = 1 + (int)gf_rng_below(&r, 9);
        const int channels = 1 + (int)gf_rng_below(&r, i % 3 ? 20 : 150);
        const int spatial = 2 + (int)gf_rng_below(&r, 300);
        alloc_case(&c, batch, channels, spatial, 7000 + 10 * (uint64_t)i);
        alloc_case(&given, batch, channels, spatial, 7000 + 10 * (uint64_t)i);
        gf_moments *moments = malloc(sizeof *moments * (size_t)batch * channels);
        for (int shifted = 0; shifted < 2; shifted++) {
            float *plane_values = malloc(sizeof(float) * (size_t)spatial);
            for (size_t p = 0; p < (size_t)batch * channels; p++) {
                for (int j = 0; j < spatial; j++)
                    plane_values[j] = c.in[p * spatial + j] + (float)shifted;
                moments[p] = gf_moments_of_plane(plane_values, (size_t)spatial);
            }
            free(plane_values);
            for (int ch = 0; ch < channels; ch++) {
                c.run_mean[ch] = given.run_mean[ch] = 0.5f;
                c.run_var[ch] = given.run_var[ch] = 2.0f;
            }
            CHECK(gf_batchnorm_forward_train(c.out, c.mean, c.invstd, c.run_mean, c.run_var, c.in,
                                             c.gamma, c.beta, &c.s) == GF_OK);
            CHECK(gf_batchnorm_forward_train_moments(given.out, given.mean, given.invstd,
                                                     given.run_mean, given.run_var, given.in,
                                                     given.gamma, given.beta, moments,
                                                     &given.s) == GF_OK);
            if (!shifted) {
                CHECK(memcmp(c.out, given.out, sizeof(float) * c.n) == 0);
                CHECK(memcmp(c.mean, given.mean, sizeof(float) * channels) == 0);
                CHECK(memcmp(c.invstd, given.invstd, sizeof(float) * channels) == 0);
                CHECK(memcmp(c.run_mean, given.run_mean, sizeof(float) * channels) == 0);
                CHECK(memcmp(c.run_var, given.run_var, sizeof(float) * channels) == 0);
                continue;
            }
            for (int ch = 0; ch < channels; ch++) {
                CHECK(fabs(given.mean[ch] - (c.mean[ch] + 1.0f)) <= 1e-5 * (fabs(c.mean[ch]) + 1.0));
                CHECK(fabs(given.invstd[ch] - c.invstd[ch]) <= 1e-4 * c.invstd[ch]);
            }
        }
        free(moments);
        free_case(&c);
        free_case(&given);
    }
}

/* BatchNorm fused with the activation after it against the two kernels one after
 * the other: outputs, running statistics and the input, gamma and beta gradients,
 * in training and evaluation, for each kind (odd plane size: the vector loops' tails). */
static void fused_activation(void) {
    const gf_activation_kind kinds[3] = {GF_ACT_RELU, GF_ACT_LEAKY_RELU, GF_ACT_RELU6};
    for (int k = 0; k < 3; k++) {
        bn_case c;
        const int batch = 3, channels = 5, spatial = 37;
        alloc_case(&c, batch, channels, spatial, 60 + k);
        for (size_t i = 0; i < c.n; i++) c.in[i] *= 3.0f; /* reach ReLU6's upper kink too */
        const float slope = 0.1f;
        const size_t n = c.n, ch = (size_t)channels;
        float *y = malloc(sizeof(float) * n), *z = malloc(sizeof(float) * n);
        float *dy = malloc(sizeof(float) * n), *mean2 = malloc(sizeof(float) * ch);
        float *invstd2 = malloc(sizeof(float) * ch), *rm2 = malloc(sizeof(float) * ch);
        float *rv2 = malloc(sizeof(float) * ch);
        for (size_t i = 0; i < ch; i++) c.run_mean[i] = rm2[i] = 0.0f, c.run_var[i] = rv2[i] = 1.0f;
        /* separate: BatchNorm, then the activation */
        CHECK(gf_batchnorm_forward_train(y, c.mean, c.invstd, c.run_mean, c.run_var, c.in, c.gamma,
                                         c.beta, &c.s) == GF_OK);
        gf_activation_forward(z, y, n, kinds[k], slope);
        gf_batchnorm_shape fused = c.s;
        fused.activated = true;
        fused.activation = kinds[k];
        fused.slope = slope;
        CHECK(gf_batchnorm_forward_train(c.out, mean2, invstd2, rm2, rv2, c.in, c.gamma, c.beta,
                                         &fused) == GF_OK);
        CHECK(check_worst_relative(c.out, z, n) <= 1e-6);
        CHECK(check_worst_relative(rm2, c.run_mean, ch) == 0.0 && check_worst_relative(rv2, c.run_var, ch) == 0.0);
        /* backward, the probe as the activation output's gradient */
        float *g_sep = calloc(n, sizeof(float)), *g_fused = gradcheck_random(n, 70 + k, 100.0f);
        float *p_sep = calloc(2 * ch, sizeof(float)), *p_fused = calloc(2 * ch, sizeof(float));
        gf_activation_backward(dy, c.probe, y, n, kinds[k], slope, GF_GRAD_STORE);
        CHECK(gf_batchnorm_backward(g_sep, p_sep, p_sep + ch, dy, c.in, c.mean, c.invstd, c.gamma,
                                    c.beta, &c.s, GF_GRAD_ADD) == GF_OK);
        CHECK(gf_batchnorm_backward(g_fused, p_fused, p_fused + ch, c.probe, c.in, mean2, invstd2,
                                    c.gamma, c.beta, &fused, GF_GRAD_STORE) == GF_OK);
        double wg = check_worst_relative(g_fused, g_sep, n), wp = check_worst_relative(p_fused, p_sep, 2 * ch);
        if (wg > 1e-5 || wp > 1e-5)
            fprintf(stderr, "fused kind %d: input gradient differs by %g, gamma/beta by %g\n", k,
                    wg, wp);
        CHECK(wg <= 1e-5 && wp <= 1e-5);
        /* evaluation mode */
        CHECK(gf_batchnorm_forward_eval(y, c.in, c.gamma, c.beta, c.run_mean, c.run_var, &c.s) ==
              GF_OK);
        gf_activation_forward(z, y, n, kinds[k], slope);
        CHECK(gf_batchnorm_forward_eval(c.out, c.in, c.gamma, c.beta, c.run_mean, c.run_var,
                                        &fused) == GF_OK);
        CHECK(check_worst_relative(c.out, z, n) <= 1e-6);
        free(y); free(z); free(dy); free(mean2); free(invstd2); free(rm2); free(rv2);
        free(g_sep); free(g_fused); free(p_sep); free(p_fused);
        free_case(&c);
    }
    /* the gradient is decided by the sign: a negative leaky slope cannot be fused, and the
     * backward needs beta to recompute the activation's input */
    bn_case c;
    alloc_case(&c, 2, 2, 3, 80);
    gf_batchnorm_shape bad = c.s;
    bad.activated = true;
    bad.activation = GF_ACT_LEAKY_RELU;
    bad.slope = -0.5f;
    CHECK(gf_batchnorm_forward_train(c.out, c.mean, c.invstd, c.run_mean, c.run_var, c.in, c.gamma,
                                     c.beta, &bad) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "a fused leaky ReLU needs a slope >= 0 (got -0.5)");
    bad.slope = 0.1f;
    CHECK(gf_batchnorm_backward(c.out, c.gamma, c.beta, c.probe, c.in, c.mean, c.invstd, c.gamma,
                                NULL, &bad, GF_GRAD_ADD) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "it needs beta");
    CHECK(gf_batchnorm_backward_plain(c.out, c.gamma, c.beta, c.probe, NULL, c.in, c.mean,
                                      c.invstd, c.gamma, &bad, GF_GRAD_ADD) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "needs the forward's output");
    free_case(&c);
}

/* x in channel ch placed within a few units in the last place of where the activation
 * kinks (y = 0, and y = 6 for ReLU6) under the map the statistics give, so that
 * rounding decides which side y falls on */
static void place_at_kinks(float *x, const bn_case *c, gf_rng *r, int ch, float kink) {
    const double scale = (double)c->gamma[ch] * c->invstd[ch];
    const float shift = (float)(c->beta[ch] - c->mean[ch] * scale);
    const float at = (float)((kink - shift) / scale);
    for (int n = 0; n < c->s.batch; n++)
        for (int i = 0; i < c->s.spatial; i += 3) {
            float v = at;
            for (int k = (int)gf_rng_below(r, 7); k > 0; k--) v = nextafterf(v, 3.0f * at + 1.0f);
            for (int k = (int)gf_rng_below(r, 7); k > 0; k--) v = nextafterf(v, -3.0f * at - 1.0f);
            x[((size_t)n * c->s.channels + ch) * c->s.spatial + i] = v;
        }
}

/* The forward (training and evaluation) against the formula, and the backward against
 * its plain reference, on random shapes (up to 150 channels of planes up to 100 values,
 * 20 of planes up to 4096), kinds, write modes and
 * prefetch ranges, the reference reading the activation's gradient from the forward's
 * output and the kernel recomputing the activation's input: a third of each channel's
 * inputs at the kinks (normalised with the statistics of the inputs before they moved
 * there, handed over as plane moments), where the two agree only if the recomputed
 * input rounds as the forward's did. */
static void backward_against_plain(void) {
    gf_rng r;
    gf_rng_seed(&r, 4141, 3);
    const int planes[] = {1, 7, 16, 64, 100, 256, 1024, 4096};
    for (int t = 0; t < 24; t++) {
        bn_case c;
        const int batch = 1 + (int)gf_rng_below(&r, 6);
        const int spatial = planes[gf_rng_below(&r, 8)] + (t % 2 ? 0 : (int)gf_rng_below(&r, 40));
        /* small planes with many channels: several channel blocks per thread */
        const int channels = 1 + (int)gf_rng_below(&r, spatial <= 100 ? 150 : 20);
        if (batch * spatial < 2) continue;
        alloc_case(&c, batch, channels, spatial, 9000 + 10 * (uint64_t)t);
        for (size_t i = 0; i < c.n; i++) c.in[i] *= 3.0f; /* reach ReLU6's upper kink too */
        c.s.activated = t % 4 != 3;
        c.s.activation = (gf_activation_kind)(t % 3);
        c.s.slope = c.s.activation == GF_ACT_LEAKY_RELU ? 0.1f : 0.0f;
        gf_moments *moments = malloc(sizeof *moments * (size_t)batch * channels);
        for (size_t p = 0; p < (size_t)batch * channels; p++)
            moments[p] = gf_moments_of_plane(c.in + p * spatial, (size_t)spatial);
        CHECK(gf_batchnorm_forward_train(c.out, c.mean, c.invstd, c.run_mean, c.run_var, c.in,
                                         c.gamma, c.beta, &c.s) == GF_OK);
        for (int ch = 0; ch < channels; ch++)
            place_at_kinks(c.in, &c, &r, ch,
                           c.s.activation == GF_ACT_RELU6 && ch % 2 ? 6.0f : 0.0f);
        CHECK(gf_batchnorm_forward_train_moments(c.out, c.mean, c.invstd, c.run_mean, c.run_var,
                                                 c.in, c.gamma, c.beta, moments, &c.s) == GF_OK);
        double worst_out = 0.0;
        for (size_t i = 0; i < c.n; i++) {
            const int ch = (int)((i / (size_t)spatial) % (size_t)channels);
            const double y = (c.in[i] - c.mean[ch]) * c.invstd[ch] * c.gamma[ch] + c.beta[ch];
            const double z = c.s.activated ? gf_activation_value(c.s.activation, (float)y, c.s.slope) : y;
            worst_out = fmax(worst_out, fabs(c.out[i] - z) / fmax(1.0, fabs(z)));
        }
        CHECK(worst_out <= 1e-5);
        for (int ch = 0; ch < channels; ch++) c.run_var[ch] = 0.5f + (float)ch / channels;
        float *eval_out = malloc(sizeof(float) * c.n);
        CHECK(gf_batchnorm_forward_eval(eval_out, c.in, c.gamma, c.beta, c.run_mean, c.run_var,
                                        &c.s) == GF_OK);
        double worst_eval = 0.0;
        for (size_t i = 0; i < c.n; i++) {
            const int ch = (int)((i / (size_t)spatial) % (size_t)channels);
            const double y = (c.in[i] - c.run_mean[ch]) / sqrt(c.run_var[ch] + (double)c.s.eps) *
                                 c.gamma[ch] + c.beta[ch];
            const double z = c.s.activated ? gf_activation_value(c.s.activation, (float)y, c.s.slope) : y;
            worst_eval = fmax(worst_eval, fabs(eval_out[i] - z) / fmax(1.0, fabs(z)));
        }
        free(eval_out);
        CHECK(worst_eval <= 1e-5);
        const gf_grad_write write = t % 2 ? GF_GRAD_ADD : GF_GRAD_STORE;
        float *fast = gradcheck_random(c.n, 9100 + (uint64_t)t, 1.0f);
        float *plain = gradcheck_copy(fast, c.n);
        float *params_fast = gradcheck_random(2 * (size_t)channels, 9200 + (uint64_t)t, 1.0f);
        float *params_plain = gradcheck_copy(params_fast, 2 * (size_t)channels);
        CHECK(gf_batchnorm_backward(fast, params_fast, params_fast + channels, c.probe, c.in,
                                    c.mean, c.invstd, c.gamma, c.beta, &c.s, write) == GF_OK);
        CHECK(gf_batchnorm_backward_plain(plain, params_plain, params_plain + channels, c.probe,
                                          c.out, c.in, c.mean, c.invstd, c.gamma, &c.s,
                                          write) == GF_OK);
        const double wg = check_worst_relative(fast, plain, c.n);
        const double wp = check_worst_relative(params_fast, params_plain, 2 * (size_t)channels);
        if (!(wg <= 1e-5 && wp <= 1e-5))
            fprintf(stderr,
                    "backward %dx%dx%d (activated %d, kind %d, write %d) against plain: input "
                    "gradient differs by %g, gamma/beta by %g\n",
                    batch, channels, spatial, (int)c.s.activated, (int)c.s.activation, (int)write,
                    wg, wp);
        CHECK(wg <= 1e-5 && wp <= 1e-5);
        free(fast); free(plain); free(params_fast); free(params_plain); free(moments);
        free_case(&c);
    }
}

int main(void) {
    statistics_and_output();
    fused_activation();
    variance_of_offset_channels();
    given_moments();
    backward_against_plain();
    training_gradients(2, 3, 5, 10);
    training_gradients(4, 2, 9, 20);
    training_gradients(5, 3, 1, 30); /* after global pooling: spatial 1 */
    return CHECK_DONE();
}
