#include "graft/ring.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/memory.h"
#include "graft/layers.h"

gf_graft_options gf_graft_options_default(void) {
    gf_graft_options o = {.criterion = GF_CRITERION_ENTROPY, .bins = GF_DEFAULT_BINS,
                          .weighting = gf_weighting_default(),
                          .alpha_rule = GF_CONV_KEYS, .filter_level = false,
                          .filter_rule = GF_FILTER_GAMMA};
    return o;
}

static const char *const filter_rules[] = {"gamma", "criterion"};

const char *gf_filter_rule_name(gf_filter_rule rule) {
    return (unsigned)rule < 2 ? filter_rules[rule] : NULL;
}

int gf_filter_rule_parse(const char *name, gf_filter_rule *rule) {
    for (int i = 0; i < 2; i++)
        if (name && strcmp(name, filter_rules[i]) == 0) {
            *rule = (gf_filter_rule)i;
            return GF_OK;
        }
    return gf_fail("filter rule must be 'gamma' or 'criterion', got '%s'", name ? name : "(null)");
}

int gf_graft_record_count(const gf_net *net, int networks) {
    return networks > 1 ? networks * gf_graft_layer_count(net) : 0;
}

int gf_graft_chain_record_count(const gf_net *net, int networks) {
    return networks > 1 ? (networks - 1) * gf_graft_layer_count(net) : 0;
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
    int first_grafted; /* the first network grafted: 0 in a ring, 1 in an open chain */
    gf_graft_layer *layers;
    int *layer_of_node;      /* node -> index into layers, -1 */
    int *alpha_source;       /* node -> layer whose factors mix it, -1: nothing to mix */
    float **params, **stats; /* the pre-grafting snapshot of each network */
    double *info, *entropy, *l1; /* [network][layer] of the snapshot */
    int64_t total_filters;
    int64_t *first_filter;       /* layer -> offset into the factor arrays */
    float *self_factor, *other_factor; /* per filter, for the network being grafted */
    double *alpha;                     /* per filter, the same for the log */
    /* the BatchNorm gamma rule: node -> the BatchNorm that reads this conv and the one
     * that feeds it (-1: none); node -> offset of a BatchNorm's channel weights */
    int *reading_bn, *feeding_bn;
    int64_t *first_channel;
    float *channel_weight, *channel_rest; /* w and 1 - w */
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
    gf_free(r->alpha);
    gf_free(r->reading_bn);
    gf_free(r->feeding_bn);
    gf_free(r->first_channel);
    gf_free(r->channel_weight);
    gf_free(r->channel_rest);
}

static const float *snapshot(const round_state *r, int k, const gf_slice *slice) {
    return (slice->kind == GF_SLICE_PARAM ? r->params[k] : r->stats[k]) + slice->offset;
}

/* Which layer's alpha mixes each node (see ring.h), checked before anything is
 * mixed so that a network the ring cannot graft is refused untouched. */
static int plan_alpha_sources(round_state *r, const gf_net *net, const gf_graft_options *options) {
    int last_alpha = -1; /* the last layer that computed an alpha */
    for (int n = 0; n < gf_net_node_count(net); n++) {
        const gf_node *node = gf_net_node(net, n);
        int l = r->layer_of_node[n];
        r->alpha_source[n] = -1;
        if (l >= 0) {
            const gf_graft_layer *layer = &r->layers[l];
            bool computes = gf_conv_rule_takes(options->alpha_rule, layer);
            bool own_alpha = computes || options->filter_level || last_alpha < 0;
            r->alpha_source[n] = own_alpha ? l : last_alpha;
            if (own_alpha && layer->is_conv) last_alpha = l;
            continue;
        }
        if (node->op != GF_OP_BATCHNORM) continue;
        int input = node->inputs[0];
        int source = input >= 0 && r->layer_of_node[input] >= 0 &&
                             r->layers[r->layer_of_node[input]].is_conv
                         ? r->alpha_source[input]
                         : last_alpha;
        if (source < 0)
            return gf_fail("BatchNorm '%s' comes before any conv, so no alpha applies to it",
                           node->name);
        const gf_slice *weight = gf_net_slice(net, node->weight);
        if (options->filter_level && weight->numel != r->layers[source].filters)
            return gf_fail("BatchNorm '%s' has %lld channels but takes its alpha from '%s' "
                           "with %lld filters", node->name, (long long)weight->numel,
                           r->layers[source].weight->name, (long long)r->layers[source].filters);
        r->alpha_source[n] = source;
    }
    return GF_OK;
}

/* The BatchNorm that node `input` passes on through activations and pooling, or -1. */
static int batchnorm_before(const gf_net *net, int input) {
    while (input > 0) {
        const gf_node *node = gf_net_node(net, input);
        if (node->op == GF_OP_BATCHNORM) return input;
        if (node->op != GF_OP_ACTIVATION && node->op != GF_OP_MAXPOOL &&
            node->op != GF_OP_AVGPOOL)
            return -1;
        input = node->inputs[0];
    }
    return -1;
}

/* The BatchNorms around every conv and the room for their channel weights. */
static int plan_gamma_rule(round_state *r, const gf_net *net) {
    int nodes = gf_net_node_count(net);
    r->reading_bn = gf_alloc((size_t)nodes * sizeof *r->reading_bn, "graft ring nodes");
    r->feeding_bn = gf_alloc((size_t)nodes * sizeof *r->feeding_bn, "graft ring nodes");
    r->first_channel = gf_alloc((size_t)nodes * sizeof *r->first_channel, "graft ring nodes");
    if (!r->reading_bn || !r->feeding_bn || !r->first_channel) return GF_ERR;
    int64_t channels = 0;
    for (int n = 0; n < nodes; n++) {
        r->reading_bn[n] = r->feeding_bn[n] = -1;
        r->first_channel[n] = -1;
    }
    for (int n = 0; n < nodes; n++) {
        const gf_node *node = gf_net_node(net, n);
        if (node->op == GF_OP_BATCHNORM) {
            r->first_channel[n] = channels;
            channels += node->channels;
            int input = node->inputs[0];
            if (gf_net_node(net, input)->op == GF_OP_CONV2D && r->reading_bn[input] < 0)
                r->reading_bn[input] = n;
        } else if (node->op == GF_OP_CONV2D) {
            int bn = batchnorm_before(net, node->inputs[0]);
            if (bn >= 0 && gf_net_node(net, bn)->channels == gf_net_node(net, node->inputs[0])->channels)
                r->feeding_bn[n] = bn;
        }
    }
    size_t bytes = (size_t)(channels ? channels : 1) * sizeof(float);
    r->channel_weight = gf_alloc(bytes, "graft ring channel weights");
    r->channel_rest = gf_alloc(bytes, "graft ring channel weights");
    return r->channel_weight && r->channel_rest ? GF_OK : GF_ERR;
}

static int round_prepare(round_state *r, gf_net *const *nets, int count, bool closed,
                         const gf_graft_options *options) {
    memset(r, 0, sizeof *r);
    r->count = count;
    r->first_grafted = closed ? 0 : 1;
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
    bool gamma_rule = options->filter_level && options->filter_rule == GF_FILTER_GAMMA;
    if (gamma_rule ? plan_gamma_rule(r, first) != GF_OK
                   : plan_alpha_sources(r, first, options) != GF_OK)
        return GF_ERR;
    r->self_factor = gf_alloc((size_t)r->total_filters * sizeof(float), "graft ring factors");
    r->other_factor = gf_alloc((size_t)r->total_filters * sizeof(float), "graft ring factors");
    r->alpha = gf_alloc((size_t)r->total_filters * sizeof(double), "graft ring factors");
    if (!r->self_factor || !r->other_factor || !r->alpha) return GF_ERR;

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
    double *alpha = r->alpha + r->first_filter[l];
    if (!options->filter_level) {
        double self_info = r->info[k * L + l], other_info = r->info[other * L + l];
        gf_weighting_factors(&options->weighting, self_info, other_info, &self_f[0], &other_f[0]);
        alpha[0] = gf_weighting_alpha(&options->weighting, self_info, other_info);
        for (int64_t f = 1; f < layer->filters; f++) {
            self_f[f] = self_f[0];
            other_f[f] = other_f[0];
            alpha[f] = alpha[0];
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
        alpha[f] = gf_weighting_alpha(&options->weighting, info_self, info_other);
    }
    return GF_OK;
}

static void record_layer(const round_state *r, int k, int other, int l, double alpha,
                         gf_graft_record *record) {
    const gf_graft_layer *layer = &r->layers[l];
    int L = r->layer_count;
    record->network = k;
    record->source = other;
    record->node = layer->node;
    snprintf(record->layer, sizeof record->layer, "%s", layer->weight->name);
    record->alpha = alpha;
    record->info_self = r->info[k * L + l];
    record->info_other = r->info[other * L + l];
    record->entropy_self = r->entropy[k * L + l];
    record->entropy_other = r->entropy[other * L + l];
    record->l1_self = r->l1[k * L + l];
    record->l1_other = r->l1[other * L + l];
}

/* The alpha of a layer: its filters' mean at filter level. */
static double layer_alpha(const round_state *r, int l, const gf_graft_options *options) {
    if (!options->filter_level) return r->alpha[r->first_filter[l]];
    double sum = 0.0;
    for (int64_t f = 0; f < r->layers[l].filters; f++) sum += r->alpha[r->first_filter[l] + f];
    return sum / (double)r->layers[l].filters;
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
        /* at layer level one factor pair mixes everything; at filter level each
         * filter or channel its own */
        int64_t groups = options->filter_level ? r->layers[source].filters : 1;
        if (l >= 0) {
            const gf_graft_layer *layer = &r->layers[l];
            mix_slice(net, r, k, other, layer->weight, groups, self_f, other_f);
            if (layer->bias) mix_slice(net, r, k, other, layer->bias, groups, self_f, other_f);
            if (records)
                record_layer(r, k, other, l, layer_alpha(r, source, options),
                             &records[(k - r->first_grafted) * r->layer_count + l]);
            continue;
        }
        const int slices[4] = {node->weight, node->bias, node->running_mean, node->running_var};
        for (int s = 0; s < 4; s++)
            if (slices[s] >= 0)
                mix_slice(net, r, k, other, gf_net_slice(net, slices[s]), groups, self_f, other_f);
    }
    return GF_OK;
}

/* The gamma rule (ring.h): the channel weights of every BatchNorm first, then the
 * BatchNorms channel by channel and the convs weight by weight. */
static void graft_network_gamma(gf_net *net, round_state *r, int k, gf_graft_record *records) {
    int other = (k + r->count - 1) % r->count;
    int nodes = gf_net_node_count(net);
    for (int n = 0; n < nodes; n++) {
        const gf_node *node = gf_net_node(net, n);
        if (node->op != GF_OP_BATCHNORM) continue;
        const gf_slice *gamma = gf_net_slice(net, node->weight);
        const float *mine = snapshot(r, k, gamma), *theirs = snapshot(r, other, gamma);
        float *w = r->channel_weight + r->first_channel[n];
        float *rest = r->channel_rest + r->first_channel[n];
        for (int64_t c = 0; c < gamma->numel; c++) {
            double a = fabs((double)mine[c]), b = fabs((double)theirs[c]);
            w[c] = a + b > 0.0 ? (float)(a / (a + b)) : 0.5f;
            rest[c] = 1.0f - w[c];
        }
        const int slices[4] = {node->weight, node->bias, node->running_mean, node->running_var};
        for (int s = 0; s < 4; s++)
            if (slices[s] >= 0)
                mix_slice(net, r, k, other, gf_net_slice(net, slices[s]), gamma->numel, w, rest);
    }
    for (int l = 0; l < r->layer_count; l++) {
        const gf_graft_layer *layer = &r->layers[l];
        double mean = 1.0; /* linear layers are not mixed */
        if (layer->is_conv) {
            const gf_node *node = gf_net_node(net, layer->node);
            int reading = r->reading_bn[layer->node], feeding = r->feeding_bn[layer->node];
            const float *b = reading >= 0 ? r->channel_weight + r->first_channel[reading] : NULL;
            const float *a = feeding >= 0 ? r->channel_weight + r->first_channel[feeding] : NULL;
            int64_t area = (int64_t)node->kernel * node->kernel;
            int64_t inputs_per_group = layer->per_filter / area;
            int64_t filters_per_group = layer->filters / node->groups;
            float *dst = gf_net_slice_data(net, layer->weight);
            const float *mine = snapshot(r, k, layer->weight);
            const float *theirs = snapshot(r, other, layer->weight);
            double sum = 0.0;
            for (int64_t o = 0; o < layer->filters; o++) {
                int64_t first_input = o / filters_per_group * inputs_per_group;
                for (int64_t i = 0; i < inputs_per_group; i++) {
                    float s = (a ? a[first_input + i] : 1.0f) * (b ? b[o] : 1.0f);
                    int64_t at = (o * inputs_per_group + i) * area;
                    mix(dst + at, mine + at, theirs + at, area, s, 1.0f - s);
                    sum += s;
                }
            }
            mean = sum / (double)(layer->filters * inputs_per_group);
        }
        if (records)
            record_layer(r, k, other, l, mean, &records[(k - r->first_grafted) * r->layer_count + l]);
    }
}

/* A round over a ring (closed) or an open chain, see ring.h. */
static int graft_round(gf_net *const *nets, int count, bool closed,
                       const gf_graft_options *options, gf_graft_record *records, int capacity) {
    if (count < 1) return gf_fail("graft ring: needs at least one network, got %d", count);
    for (int k = 0; k < count; k++)
        if (!nets[k]) return gf_fail("graft ring: network %d is missing", k);
    if (options->bins < 1)
        return gf_fail("graft ring: bins must be at least 1, got %d", options->bins);
    if (!gf_criterion_name(options->criterion))
        return gf_fail("graft ring: unknown criterion %d", (int)options->criterion);
    if (!gf_conv_rule_name(options->alpha_rule) || !gf_filter_rule_name(options->filter_rule))
        return gf_fail("graft ring: unknown alpha rule %d or filter rule %d",
                       (int)options->alpha_rule, (int)options->filter_rule);
    if (gf_weighting_check(&options->weighting) != GF_OK) return gf_fail_context("graft ring");
    if (check_same_architecture(nets, count) != GF_OK) return GF_ERR;
    if (count == 1) return GF_OK;
    int needed = closed ? gf_graft_record_count(nets[0], count)
                        : gf_graft_chain_record_count(nets[0], count);
    if (records && capacity < needed)
        return gf_fail("graft ring: room for %d records, %d layers of %d grafted network(s) "
                       "need %d", capacity, gf_graft_layer_count(nets[0]),
                       closed ? count : count - 1, needed);

    round_state r;
    int status = round_prepare(&r, nets, count, closed, options);
    if (status != GF_OK) {
        gf_fail_context("graft ring");
        round_free(&r);
        return status;
    }
    bool gamma_rule = options->filter_level && options->filter_rule == GF_FILTER_GAMMA;
    int grafted = r.first_grafted;
    for (; grafted < count && status == GF_OK; grafted++) {
        if (gamma_rule) {
            graft_network_gamma(nets[grafted], &r, grafted, records);
            continue;
        }
        status = graft_network(nets[grafted], &r, grafted, options, records);
        if (status != GF_OK) gf_fail_context("graft ring, network %d", grafted);
    }
    if (status != GF_OK) /* leave every network as it was before the round */
        for (int k = r.first_grafted; k < grafted; k++) restore(nets[k], &r, k);
    round_free(&r);
    return status;
}

int gf_graft_ring(gf_net *const *nets, int count, const gf_graft_options *options,
                  gf_graft_record *records, int capacity) {
    return graft_round(nets, count, true, options, records, capacity);
}

int gf_graft_chain(gf_net *const *nets, int count, const gf_graft_options *options,
                   gf_graft_record *records, int capacity) {
    return graft_round(nets, count, false, options, records, capacity);
}
