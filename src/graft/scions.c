#include "graft/scions.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/memory.h"
#include "graft/criteria.h"
#include "graft/layers.h"

double gf_noise_sigma(double a, int round) { return pow(a, round); }

static int check_gamma(double gamma, const char *operation) {
    if (isnan(gamma)) return gf_fail("%s: threshold gamma is NaN", operation);
    return GF_OK;
}

int gf_scion_noise_layer(float *weight, int64_t filters, int64_t per_filter, double gamma,
                         double sigma, gf_rng *rng, int64_t *grafted) {
    if (check_gamma(gamma, "noise scion") != GF_OK) return GF_ERR;
    if (!(sigma >= 0.0) || !isfinite(sigma))
        return gf_fail("noise scion: sigma %g must be finite and >= 0", sigma);
    int64_t count = 0;
    for (int64_t f = 0; f < filters; f++) {
        float *filter = weight + f * per_filter;
        if (gf_l1(filter, (size_t)per_filter) >= gamma) continue;
        for (int64_t i = 0; i < per_filter; i++) filter[i] += (float)sigma * gf_rng_normal(rng);
        count++;
    }
    *grafted = count;
    return GF_OK;
}

typedef struct ranked_filter {
    double l1;
    int64_t index;
} ranked_filter;

/* ascending l1, ties by index, so the order is deterministic */
static int by_l1(const void *a, const void *b) {
    const ranked_filter *x = a, *y = b;
    if (x->l1 != y->l1) return x->l1 < y->l1 ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

int gf_scion_internal_layer(float *weight, int64_t filters, int64_t per_filter, double gamma,
                            int64_t *grafted) {
    if (check_gamma(gamma, "internal scion") != GF_OK) return GF_ERR;
    *grafted = 0;
    ranked_filter *ranked = gf_alloc((size_t)filters * sizeof *ranked, "internal scion ranking");
    float *before = gf_alloc((size_t)(filters * per_filter) * sizeof *before,
                             "internal scion weights");
    if (!ranked || !before) {
        gf_free(ranked);
        gf_free(before);
        return gf_fail_context("internal scion");
    }
    memcpy(before, weight, (size_t)(filters * per_filter) * sizeof *before);
    for (int64_t f = 0; f < filters; f++) {
        ranked[f].l1 = gf_l1(before + f * per_filter, (size_t)per_filter);
        ranked[f].index = f;
    }
    qsort(ranked, (size_t)filters, sizeof *ranked, by_l1);
    for (int64_t i = 0; i < filters && ranked[i].l1 < gamma; i++) {
        int64_t rootstock = ranked[i].index;
        int64_t scion = ranked[filters - 1 - i].index;
        if (scion == rootstock) continue;
        float *into = weight + rootstock * per_filter;
        const float *from = before + scion * per_filter;
        for (int64_t k = 0; k < per_filter; k++) into[k] += from[k];
        (*grafted)++;
    }
    gf_free(ranked);
    gf_free(before);
    return GF_OK;
}

typedef enum scion_kind { SCION_NOISE, SCION_INTERNAL } scion_kind;

static int graft_conv_layers(gf_net *net, scion_kind kind, double gamma, double sigma,
                             gf_rng *rng, int64_t *grafted) {
    int capacity = gf_graft_layer_count(net);
    gf_graft_layer *layers = gf_alloc((size_t)capacity * sizeof *layers, "scion layers");
    if (!layers) return GF_ERR;
    int count = gf_graft_layers(net, layers, capacity);
    int status = count < 0 ? GF_ERR : GF_OK;
    int64_t total = 0;
    for (int l = 0; l < count && status == GF_OK; l++) {
        if (!layers[l].is_conv) continue;
        float *weight = gf_net_slice_data(net, layers[l].weight);
        int64_t changed = 0;
        status = kind == SCION_NOISE
                     ? gf_scion_noise_layer(weight, layers[l].filters, layers[l].per_filter,
                                            gamma, sigma, rng, &changed)
                     : gf_scion_internal_layer(weight, layers[l].filters,
                                               layers[l].per_filter, gamma, &changed);
        if (status != GF_OK) gf_fail_context("layer '%s'", layers[l].weight->name);
        total += changed;
    }
    gf_free(layers);
    if (grafted) *grafted = total;
    return status;
}

int gf_scion_noise(gf_net *net, double gamma, double sigma, gf_rng *rng, int64_t *grafted) {
    return graft_conv_layers(net, SCION_NOISE, gamma, sigma, rng, grafted);
}

int gf_scion_internal(gf_net *net, double gamma, int64_t *grafted) {
    return graft_conv_layers(net, SCION_INTERNAL, gamma, 0.0, NULL, grafted);
}
