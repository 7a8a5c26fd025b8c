#include "graft/layers.h"

#include <string.h>

#include "core/error.h"

static const char *const conv_rules[] = {"conv_keys", "every_conv"};

const char *gf_conv_rule_name(gf_conv_rule rule) {
    return (unsigned)rule < 2 ? conv_rules[rule] : NULL;
}

int gf_conv_rule_parse(const char *name, const char *what, gf_conv_rule *rule) {
    for (int i = 0; i < 2; i++)
        if (name && strcmp(name, conv_rules[i]) == 0) {
            *rule = (gf_conv_rule)i;
            return GF_OK;
        }
    return gf_fail("%s must be 'conv_keys' or 'every_conv', got '%s'", what,
                   name ? name : "(null)");
}

bool gf_conv_rule_takes(gf_conv_rule rule, const gf_graft_layer *layer) {
    return layer->is_conv && (rule == GF_EVERY_CONV || layer->conv_key);
}

static bool has_filters(const gf_node *node) {
    return node->op == GF_OP_CONV2D || node->op == GF_OP_LINEAR;
}

int gf_graft_layer_count(const gf_net *net) {
    int count = 0;
    for (int i = 0; i < gf_net_node_count(net); i++)
        if (has_filters(gf_net_node(net, i))) count++;
    return count;
}

int gf_graft_layers(const gf_net *net, gf_graft_layer *layers, int capacity) {
    int count = 0;
    for (int i = 0; i < gf_net_node_count(net); i++) {
        const gf_node *node = gf_net_node(net, i);
        if (!has_filters(node)) continue;
        if (count >= capacity)
            return gf_fail("grafting layers: more than %d conv/linear layers", capacity);
        if (node->weight < 0)
            return gf_fail("grafting layers: node %d ('%s') has no weight", i, node->name);
        const gf_slice *weight = gf_net_slice(net, node->weight);
        if (weight->ndim < 1 || weight->shape[0] < 1)
            return gf_fail("grafting layers: weight '%s' has no filters", weight->name);
        gf_graft_layer *layer = &layers[count++];
        layer->node = i;
        layer->is_conv = node->op == GF_OP_CONV2D;
        layer->weight = weight;
        layer->bias = node->bias >= 0 ? gf_net_slice(net, node->bias) : NULL;
        layer->filters = weight->shape[0];
        layer->per_filter = weight->numel / weight->shape[0];
        layer->conv_key = layer->is_conv && strstr(weight->name, "conv") != NULL;
    }
    bool any_named = false;
    for (int l = 0; l < count; l++) any_named = any_named || layers[l].conv_key;
    for (int l = 0; l < count && !any_named; l++) layers[l].conv_key = layers[l].is_conv;
    return count;
}
