#include "graft/analysis.h"

#include <math.h>
#include <stdio.h>

#include "core/error.h"
#include "core/memory.h"
#include "graft/criteria.h"
#include "graft/layers.h"

/* The conv layers of net into a fresh array (*count of them); NULL on error. */
static gf_graft_layer *conv_layers(const gf_net *net, int *count) {
    int capacity = gf_graft_layer_count(net);
    gf_graft_layer *layers = gf_alloc((size_t)capacity * sizeof *layers, "analysis layers");
    if (!layers) return NULL;
    int all = gf_graft_layers(net, layers, capacity);
    if (all < 0) {
        gf_free(layers);
        return NULL;
    }
    int convs = 0;
    for (int l = 0; l < all; l++)
        if (layers[l].is_conv) layers[convs++] = layers[l];
    *count = convs;
    return layers;
}

int gf_conv_layer_count(const gf_net *net) {
    int count = 0;
    for (int i = 0; i < gf_net_node_count(net); i++)
        if (gf_net_node(net, i)->op == GF_OP_CONV2D) count++;
    return count;
}

int gf_invalid_filters(gf_net *net, double threshold, gf_conv_rule rule, gf_invalid_layer *out,
                       int capacity, int *layer_count, int64_t *total_filters,
                       int64_t *total_invalid) {
    if (isnan(threshold)) return gf_fail("invalid filters: threshold is NaN");
    if (!gf_conv_rule_name(rule)) return gf_fail("invalid filters: unknown rule %d", (int)rule);
    int count = 0;
    gf_graft_layer *layers = conv_layers(net, &count);
    if (!layers) return gf_fail_context("invalid filters");
    if (out && capacity < count) {
        gf_free(layers);
        return gf_fail("invalid filters: room for %d layers, the network has %d conv layers",
                       capacity, count);
    }
    int64_t filters = 0, invalid = 0;
    int counted = 0;
    for (int l = 0; l < count; l++) {
        if (!gf_conv_rule_takes(rule, &layers[l])) continue;
        const float *w = gf_net_slice_data(net, layers[l].weight);
        int64_t under = 0;
        for (int64_t f = 0; f < layers[l].filters; f++)
            if (gf_l1(w + f * layers[l].per_filter, (size_t)layers[l].per_filter) < threshold)
                under++;
        if (out) {
            out[counted].node = layers[l].node;
            snprintf(out[counted].layer, sizeof out[counted].layer, "%s", layers[l].weight->name);
            out[counted].filters = layers[l].filters;
            out[counted].invalid = under;
        }
        counted++;
        filters += layers[l].filters;
        invalid += under;
    }
    gf_free(layers);
    if (layer_count) *layer_count = counted;
    if (total_filters) *total_filters = filters;
    if (total_invalid) *total_invalid = invalid;
    return GF_OK;
}

int gf_invalid_ratios(const double *l1, int64_t n, const double *thresholds, int count,
                      double *ratios) {
    for (int t = 0; t < count; t++) {
        if (isnan(thresholds[t]))
            return gf_fail("invalid ratios: threshold %d of %d is NaN", t + 1, count);
        int64_t under = 0;
        for (int64_t f = 0; f < n; f++) under += l1[f] < thresholds[t];
        ratios[t] = n > 0 ? (double)under / (double)n : 0.0;
    }
    return GF_OK;
}

int gf_net_invalid_ratios(gf_net *net, gf_conv_rule rule, const double *thresholds, int count,
                          double *ratios, int64_t *filters) {
    int64_t total;
    if (gf_conv_filter_count(net, rule, &total) != GF_OK) return gf_fail_context("invalid ratios");
    double *l1 = gf_alloc((size_t)(total ? total : 1) * sizeof *l1, "filter l1 norms");
    int status = l1 ? gf_conv_filter_l1(net, rule, l1, total) : GF_ERR;
    if (status != GF_OK) status = gf_fail_context("invalid ratios");
    if (status == GF_OK) status = gf_invalid_ratios(l1, total, thresholds, count, ratios);
    gf_free(l1);
    if (status == GF_OK && filters) *filters = total;
    return status;
}

int gf_network_information(gf_net *net, int bins, double *information) {
    int count = 0;
    gf_graft_layer *layers = conv_layers(net, &count);
    if (!layers) return gf_fail_context("network information");
    double sum = 0.0;
    for (int l = 0; l < count; l++) {
        double h;
        if (gf_entropy(gf_net_slice_data(net, layers[l].weight), (size_t)layers[l].weight->numel,
                       bins, &h) != GF_OK) {
            gf_fail_context("network information, layer '%s'", layers[l].weight->name);
            gf_free(layers);
            return GF_ERR;
        }
        sum += h;
    }
    gf_free(layers);
    *information = sum;
    return GF_OK;
}

int gf_conv_filter_count(const gf_net *net, gf_conv_rule rule, int64_t *count) {
    if (!gf_conv_rule_name(rule)) return gf_fail("conv filters: unknown rule %d", (int)rule);
    int layer_count = 0;
    gf_graft_layer *layers = conv_layers(net, &layer_count);
    if (!layers) return gf_fail_context("conv filters");
    int64_t total = 0;
    for (int l = 0; l < layer_count; l++)
        if (gf_conv_rule_takes(rule, &layers[l])) total += layers[l].filters;
    gf_free(layers);
    *count = total;
    return GF_OK;
}

int gf_conv_filter_l1(gf_net *net, gf_conv_rule rule, double *l1, int64_t capacity) {
    if (!gf_conv_rule_name(rule)) return gf_fail("filter l1 norms: unknown rule %d", (int)rule);
    int count = 0;
    gf_graft_layer *layers = conv_layers(net, &count);
    if (!layers) return gf_fail_context("filter l1 norms");
    int64_t at = 0;
    for (int l = 0; l < count; l++) {
        if (!gf_conv_rule_takes(rule, &layers[l])) continue;
        if (at + layers[l].filters > capacity) {
            gf_free(layers);
            return gf_fail("filter l1 norms: room for %lld norms, the network has more",
                           (long long)capacity);
        }
        gf_filter_l1(gf_net_slice_data(net, layers[l].weight), layers[l].filters,
                     layers[l].per_filter, l1 + at);
        at += layers[l].filters;
    }
    gf_free(layers);
    return GF_OK;
}
