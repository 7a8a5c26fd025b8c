#include "graft/ring.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/memory.h"
#include "graft/layers.h"

gf_graft_options gf_graft_options_default(void) {
    gf_graft_options o = {.criterion = GF_CRITERION_ENTROPY, .bins = GF_DEFAULT_BINS,
                          .weighting = gf_weighting_default(), .filter_level = false};
    return o;
}

int gf_graft_record_count(const gf_net *net, int networks) {
    return networks > 1 ? networks * gf_graft_layer_count(net) : 0;
}

static int check_same_architecture(gf_net *const *nets, int count) {
    const gf_net *first = nets[0];
    for (int k = 1; k < count; k++) {
        const gf_net *net = nets[k];
        if (gf_net_param_count(net) != gf_net_param_count(first) ||
            gf_net_stat_count(net) != gf_net_stat_count(first) ||
            gf_net_slice_count(net) != gf_net_slice_count(first) ||
            gf_net_node_count(net) != gf_net_node_count(first))
            return gf_fail("graft ring: network %d (%zu parameters, %zu statistics, %d tensors) "
                           "differs from network 0 (%zu parameters, %zu statistics, %d tensors)",
                           k, gf_net_param_count(net), gf_net_stat_count(net),
                           gf_net_slice_count(net), gf_net_param_count(first),
                           gf_net_stat_count(first), gf_net_slice_count(first));
        for (int s = 0; s < gf_net_slice_count(first); s++) {
            const gf_slice *a = gf_net_slice(first, s), *b = gf_net_slice(net, s);
            if (strcmp(a->name, b->name) != 0 || a->kind != b->kind || a->offset != b->offset ||
                a->numel != b->numel)
                return gf_fail("graft ring: tensor %d of network %d is '%s' (%lld values), of "
                               "network 0 '%s' (%lld values)",
                               s, k, b->name, (long long)b->numel, a->name, (long long)a->numel);
        }
    }
    return GF_OK;
}

/* Everything one round needs, freed together. */
typedef struct round_state {
    int count, layer_count;
    gf_graft_layer *layers;
    int *layer_of_node;      /* node -> index into layers, -1 */
    int *alpha_source;       /* node -> layer whose factors mix it, -1: nothing to mix */
    float **params, **stats; /* the pre-grafting snapshot of each network */
    double *info, *entropy, *l1; /* [network][layer] of the snapshot */
    int64_t total_filters;
    int64_t *first_filter;       /* layer -> offset into the factor arrays */
    float *self_factor, *other_factor; /* per filter, for the network being grafted */
} round_state;

static void round_free(round_state *r) {
    for (int k = 0; k < r->count; k++) {
        if (r->params) gf_free(r->params[k]);
        if (r->stats) gf_free(r->stats[k]);
    }
    gf_free(r->params);
    gf_free(r->stats);
    gf_free(r->layers);
    gf_free(r->layer_of_node);
    gf_free(r->alpha_source);
    gf_free(r->info);
    gf_free(r->entropy);
    gf_free(r->l1);
    gf_free(r->first_filter);
    gf_free(r->self_factor);
    gf_free(r->other_factor);
}

static const float *snapshot(const round_state *r, int k, const gf_slice *slice) {
    return (slice->kind == GF_SLICE_PARAM ? r->params[k] : r->stats[k]) + slice->offset;
}

/* Which layer's alpha mixes each node (see ring.h), checked before anything is
 * mixed so that a network the ring cannot graft is refused untouched. */
static int plan_alpha_sources(round_state *r, const gf_net *net, const gf_graft_options *options) {
    int last_conv = -1;
    for (int n = 0; n < gf_net_node_count(net); n++) {
        const gf_node *node = gf_net_node(net, n);
        int l = r->layer_of_node[n];
        r->alpha_source[n] = -1;
        if (l >= 0) {
            bool own_alpha = r->layers[l].is_conv || options->filter_level || last_conv < 0;
            r->alpha_source[n] = own_alpha ? l : last_conv;
            if (r->layers[l].is_conv) last_conv = l;
            continue;
        }
        if (node->op != GF_OP_BATCHNORM) continue;
        int input = node->inputs[0];
        int source = input >= 0 && r->layer_of_node[input] >= 0 &&
                             r->layers[r->layer_of_node[input]].is_conv
                         ? r->layer_of_node[input]
                         : last_conv;
        if (source < 0)
            return gf_fail("BatchNorm '%s' comes before any conv, so no alpha applies to it",
                           node->name);
        const gf_slice *weight = gf_net_slice(net, node->weight);
        if (weight->numel != r->layers[source].filters)
            return gf_fail("BatchNorm '%s' has %lld channels but takes its alpha from '%s' "
                           "with %lld filters", node->name, (long long)weight->numel,
                           r->layers[source].weight->name, (long long)r->layers[source].filters);
        r->alpha_source[n] = source;
    }
    return GF_OK;
}

static int round_prepare(round_state *r, gf_net *const *nets, int count,
                         const gf_graft_options *options) {
    memset(r, 0, sizeof *r);
    r->count = count;
    const gf_net *first = nets[0];
    int nodes = gf_net_node_count(first);
    r->layer_count = gf_graft_layer_count(first);
    int L = r->layer_count;
    r->layers = gf_alloc((size_t)L * sizeof *r->layers, "graft ring layers");
    r->layer_of_node = gf_alloc((size_t)nodes * sizeof *r->layer_of_node, "graft ring nodes");
    r->alpha_source = gf_alloc((size_t)nodes * sizeof *r->alpha_source, "graft ring nodes");
    r->params = gf_alloc((size_t)count * sizeof *r->params, "graft ring snapshot");
    r->stats = gf_alloc((size_t)count * sizeof *r->stats, "graft ring snapshot");
    r->info = gf_alloc((size_t)(count * L) * sizeof(double), "graft ring criteria");
    r->entropy = gf_alloc((size_t)(count * L) * sizeof(double), "graft ring criteria");
    r->l1 = gf_alloc((size_t)(count * L) * sizeof(double), "graft ring criteria");
    r->first_filter = gf_alloc((size_t)L * sizeof *r->first_filter, "graft ring filters");
    if (!r->layers || !r->layer_of_node || !r->alpha_source || !r->params || !r->stats || !r->info || !r->entropy ||
        !r->l1 || !r->first_filter)
        return GF_ERR;
    if (gf_graft_layers(first, r->layers, L) < 0) return GF_ERR;
    for (int n = 0; n < nodes; n++) r->layer_of_node[n] = -1;
    for (int l = 0; l < L; l++) {
        r->layer_of_node[r->layers[l].node] = l;
        r->first_filter[l] = r->total_filters;
        r->total_filters += r->layers[l].filters;
    }
    if (plan_alpha_sources(r, first, options) != GF_OK) return GF_ERR;
    r->self_factor = gf_alloc((size_t)r->total_filters * sizeof(float), "graft ring factors");
    r->other_factor = gf_alloc((size_t)r->total_filters * sizeof(float), "graft ring factors");
    if (!r->self_factor || !r->other_factor) return GF_ERR;

    size_t param_bytes = gf_net_param_count(first) * sizeof(float);
    size_t stat_bytes = gf_net_stat_count(first) * sizeof(float);
    for (int k = 0; k < count; k++) {
        r->params[k] = gf_alloc(param_bytes, "graft ring parameter snapshot");
        r->stats[k] = gf_alloc(stat_bytes, "graft ring statistics snapshot");
        if (!r->params[k] || !r->stats[k]) return GF_ERR;
        memcpy(r->params[k], gf_net_params(nets[k]), param_bytes);
        if (stat_bytes) memcpy(r->stats[k], gf_net_stats(nets[k]), stat_bytes);
    }
    for (int k = 0; k < count; k++) {
        for (int l = 0; l < L; l++) {
            const gf_graft_layer *layer = &r->layers[l];
            const float *w = snapshot(r, k, layer->weight);
            size_t at = (size_t)(k * L + l);
            if (gf_layer_information(w, layer->filters, layer->per_filter, options->criterion,
                                     options->bins, &r->info[at]) != GF_OK ||
                gf_layer_information(w, layer->filters, layer->per_filter, GF_CRITERION_ENTROPY,
                                     options->bins, &r->entropy[at]) != GF_OK)
                return gf_fail_context("network %d, layer '%s'", k, layer->weight->name);
            r->l1[at] = gf_l1(w, (size_t)layer->weight->numel);
        }
    }
    return GF_OK;
}

static void restore(gf_net *net, const round_state *r, int k) {
    memcpy(gf_net_params(net), r->params[k], gf_net_param_count(net) * sizeof(float));
    if (gf_net_stat_count(net))
        memcpy(gf_net_stats(net), r->stats[k], gf_net_stat_count(net) * sizeof(float));
}

/* dst = a*self + b*other, over n values */
static void mix(float *dst, const float *self, const float *other, int64_t n, float a, float b) {
    for (int64_t i = 0; i < n; i++) dst[i] = a * self[i] + b * other[i];
}

/* Mixes one slice whose values split into `groups` equal runs (filters or channels),
 * run g with factors[g]. */
static void mix_slice(gf_net *net, const round_state *r, int k, int other, const gf_slice *slice,
                      int64_t groups, const float *self_factor, const float *other_factor) {
    float *dst = gf_net_slice_data(net, slice);
    const float *a = snapshot(r, k, slice), *b = snapshot(r, other, slice);
    int64_t run = slice->numel / groups;
    for (int64_t g = 0; g < groups; g++)
        mix(dst + g * run, a + g * run, b + g * run, run, self_factor[g], other_factor[g]);
}

/* Fills the factors of layer l for network k, from the layer criterion or per filter. */
static int layer_factors(round_state *r, int k, int other, int l, const gf_graft_options *options) {
    const gf_graft_layer *layer = &r->layers[l];
    float *self_f = r->self_factor + r->first_filter[l];
    float *other_f = r->other_factor + r->first_filter[l];
    int L = r->layer_count;
    if (!options->filter_level) {
        gf_weighting_factors(&options->weighting, r->info[k * L + l], r->info[other * L + l],
                             &self_f[0], &other_f[0]);
        for (int64_t f = 1; f < layer->filters; f++) {
            self_f[f] = self_f[0];
            other_f[f] = other_f[0];
        }
        return GF_OK;
    }
    const float *a = snapshot(r, k, layer->weight), *b = snapshot(r, other, layer->weight);
    for (int64_t f = 0; f < layer->filters; f++) {
        double info_self, info_other;
        if (gf_filter_information(a + f * layer->per_filter, layer->per_filter,
                                  options->criterion, options->bins, &info_self) != GF_OK ||
            gf_filter_information(b + f * layer->per_filter, layer->per_filter,
                                  options->criterion, options->bins, &info_other) != GF_OK)
            return gf_fail_context("filter %lld of layer '%s'", (long long)f, layer->weight->name);
        gf_weighting_factors(&options->weighting, info_self, info_other, &self_f[f], &other_f[f]);
    }
    return GF_OK;
}

static void record_layer(const round_state *r, int k, int other, int l, int alpha_layer,
                         gf_graft_record *record) {
    const gf_graft_layer *layer = &r->layers[l];
    const gf_graft_layer *from = &r->layers[alpha_layer];
    int L = r->layer_count;
    double sum = 0.0;
    for (int64_t f = 0; f < from->filters; f++) sum += r->self_factor[r->first_filter[alpha_layer] + f];
    record->network = k;
    record->source = other;
    record->node = layer->node;
    snprintf(record->layer, sizeof record->layer, "%s", layer->weight->name);
    record->alpha = sum / (double)from->filters;
    record->info_self = r->info[k * L + l];
    record->info_other = r->info[other * L + l];
    record->entropy_self = r->entropy[k * L + l];
    record->entropy_other = r->entropy[other * L + l];
    record->l1_self = r->l1[k * L + l];
    record->l1_other = r->l1[other * L + l];
}

static int graft_network(gf_net *net, round_state *r, int k, const gf_graft_options *options,
                         gf_graft_record *records) {
    int other = (k + r->count - 1) % r->count;
    for (int n = 0; n < gf_net_node_count(net); n++) {
        int source = r->alpha_source[n];
        if (source < 0) continue;
        const gf_node *node = gf_net_node(net, n);
        int l = r->layer_of_node[n];
        if (l == source && layer_factors(r, k, other, l, options) != GF_OK) return GF_ERR;
        const float *self_f = r->self_factor + r->first_filter[source];
        const float *other_f = r->other_factor + r->first_filter[source];
        if (l >= 0) {
            const gf_graft_layer *layer = &r->layers[l];
            /* a borrowed alpha is one factor pair for the whole layer */
            int64_t groups = l == source ? layer->filters : 1;
            mix_slice(net, r, k, other, layer->weight, groups, self_f, other_f);
            if (layer->bias) mix_slice(net, r, k, other, layer->bias, groups, self_f, other_f);
            if (records) record_layer(r, k, other, l, source, &records[k * r->layer_count + l]);
            continue;
        }
        const int slices[4] = {node->weight, node->bias, node->running_mean, node->running_var};
        for (int s = 0; s < 4; s++)
            if (slices[s] >= 0)
                mix_slice(net, r, k, other, gf_net_slice(net, slices[s]),
                          r->layers[source].filters, self_f, other_f);
    }
    return GF_OK;
}

int gf_graft_ring(gf_net *const *nets, int count, const gf_graft_options *options,
                  gf_graft_record *records, int capacity) {
    if (count < 1) return gf_fail("graft ring: needs at least one network, got %d", count);
    for (int k = 0; k < count; k++)
        if (!nets[k]) return gf_fail("graft ring: network %d is missing", k);
    if (options->bins < 1)
        return gf_fail("graft ring: bins must be at least 1, got %d", options->bins);
    if (!gf_criterion_name(options->criterion))
        return gf_fail("graft ring: unknown criterion %d", (int)options->criterion);
    if (gf_weighting_check(&options->weighting) != GF_OK) return gf_fail_context("graft ring");
    if (check_same_architecture(nets, count) != GF_OK) return GF_ERR;
    if (count == 1) return GF_OK;
    int needed = gf_graft_record_count(nets[0], count);
    if (records && capacity < needed)
        return gf_fail("graft ring: room for %d records, %d networks x %d layers need %d",
                       capacity, count, gf_graft_layer_count(nets[0]), needed);

    round_state r;
    int status = round_prepare(&r, nets, count, options);
    if (status != GF_OK) {
        gf_fail_context("graft ring");
        round_free(&r);
        return status;
    }
    int grafted = 0;
    for (; grafted < count && status == GF_OK; grafted++) {
        status = graft_network(nets[grafted], &r, grafted, options, records);
        if (status != GF_OK) gf_fail_context("graft ring, network %d", grafted);
    }
    if (status != GF_OK) /* leave every network as it was before the round */
        for (int k = 0; k < grafted; k++) restore(nets[k], &r, k);
    round_free(&r);
    return status;
}
