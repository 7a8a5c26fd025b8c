#include "graft/layers.h"

#include "core/error.h"

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
    }
    return count;
}
