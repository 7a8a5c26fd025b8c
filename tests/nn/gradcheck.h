/* Finite-difference gradient checks for the layer tests.
 *
 * A test wraps its layer's forward pass as `loss(ctx)` = sum(out * probe), computed
 * in double from the float outputs, with a fixed random probe, so d loss / d out =
 * probe and the backward pass is run with grad_out = probe. check_gradient then
 * compares the analytic gradient with central differences
 *   (loss(x + eps) - loss(x - eps)) / (2 eps)
 * element by element (all of them, or a seeded random sample of large tensors). */
#ifndef GRAFT_TESTS_NN_GRADCHECK_H
#define GRAFT_TESTS_NN_GRADCHECK_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "core/rng.h"

typedef double (*gradcheck_loss)(void *ctx);

static inline float *gradcheck_random(size_t n, uint64_t seed, float scale) {
    float *x = malloc(sizeof(float) * (n ? n : 1));
    gf_rng r;
    gf_rng_seed(&r, seed, 11);
    gf_rng_fill_normal(&r, x, n, 0.0f, scale);
    return x;
}

static inline double gradcheck_dot(const float *a, const float *b, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Returns the number of elements whose difference exceeds rtol * max(|a|, |n|) + atol;
 * prints the first few and the worst relative error. */
static inline int check_gradient(const char *what, float *x, size_t n, const float *analytic,
                                 gradcheck_loss loss, void *ctx, float eps, double rtol,
                                 double atol, size_t max_points, uint64_t seed) {
    gf_rng pick;
    gf_rng_seed(&pick, seed, 3);
    size_t points = n < max_points ? n : max_points;
    int bad = 0;
    double worst = 0.0, largest = 0.0;
    for (size_t p = 0; p < points; p++) {
        size_t i = points == n ? p : gf_rng_below(&pick, (uint32_t)n);
        float saved = x[i];
        x[i] = saved + eps;
        double up = loss(ctx);
        x[i] = saved - eps;
        double down = loss(ctx);
        x[i] = saved;
        /* the actual step in float, not the nominal eps */
        double step = (double)(saved + eps) - (double)(saved - eps);
        double numeric = (up - down) / step;
        double scale = fmax(fabs(numeric), fabs((double)analytic[i]));
        double diff = fabs(numeric - analytic[i]);
        if (scale > largest) largest = scale;
        if (scale > 0 && diff / scale > worst && diff > atol) worst = diff / scale;
        if (!(diff <= rtol * scale + atol)) {
            if (bad < 5)
                fprintf(stderr, "%s[%zu]: analytic %.7g, numeric %.7g\n", what, i,
                        (double)analytic[i], numeric);
            bad++;
        }
    }
    if (bad) fprintf(stderr, "%s: %d of %zu points off, worst relative error %.3g\n", what,
                     bad, points, worst);
    /* a check against an all-zero gradient would prove nothing */
    if (largest == 0.0) {
        fprintf(stderr, "%s: gradient is zero everywhere\n", what);
        bad++;
    }
    check_failures += bad ? 1 : 0;
    return bad;
}

/* grad buffers start with random values so that the tests see backward accumulate
 * (+=) rather than overwrite; this subtracts that start again. */
static inline void gradcheck_remove_prior(float *grad, const float *prior, size_t n) {
    for (size_t i = 0; i < n; i++) grad[i] -= prior[i];
}

static inline float *gradcheck_copy(const float *x, size_t n) {
    float *y = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) y[i] = x[i];
    return y;
}

/* Largest difference, relative to max(1, |expected|), between a gradient stored
 * (GF_GRAD_STORE) into a buffer of garbage and the one added (GF_GRAD_ADD) onto a
 * prior and taken out again; prints it under `what` when above 1e-5. */
static inline double gradcheck_store_differs(const char *what, const float *stored,
                                             const float *added, size_t n) {
    double worst = check_worst_relative(stored, added, n);
    if (!(worst <= 1e-5)) fprintf(stderr, "%s: stored gradient differs by %g\n", what, worst);
    return worst;
}

#endif
