/* The layers grafting works on: every conv and linear node of a network with its
 * weight seen as [filters, per_filter] (one output channel, or one output row, per
 * filter). Criteria, scions, the ring and the analysis all walk this list.
 *
 * The reference's code walks a PyTorch state_dict and treats a key as a conv layer
 * when it contains "conv": it computes an alpha there and counts its filters as
 * invalid or not. A layer's `conv_key` says whether it is such a conv; so that a
 * network whose keys never say "conv" (VGG16's features.N, which the reference
 * grafts by module type instead) is not left without layers, there every conv
 * counts. MobileNetV2's projection shortcuts (layers.N.shortcut.0) are the convs
 * this leaves out. */
#ifndef GRAFT_GRAFT_LAYERS_H
#define GRAFT_GRAFT_LAYERS_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/network.h"

typedef struct gf_graft_layer {
    int node;            /* index of the conv or linear node */
    bool is_conv;
    const gf_slice *weight;
    const gf_slice *bias; /* NULL without bias */
    int64_t filters, per_filter;
    bool conv_key; /* a conv whose name the reference's code sees as a conv (above) */
} gf_graft_layer;

/* Which convs a rule takes: GF_CONV_KEYS those with conv_key (the reference's),
 * GF_EVERY_CONV all. */
typedef enum gf_conv_rule { GF_CONV_KEYS, GF_EVERY_CONV } gf_conv_rule;
/* "conv_keys", "every_conv"; NULL for an unknown value. */
const char *gf_conv_rule_name(gf_conv_rule rule);
/* Parses a name; GF_ERR with a message naming `what` and the valid names. */
int gf_conv_rule_parse(const char *name, const char *what, gf_conv_rule *rule);
/* Whether the rule takes the layer (a conv). */
bool gf_conv_rule_takes(gf_conv_rule rule, const gf_graft_layer *layer);

/* Number of conv and linear nodes. */
int gf_graft_layer_count(const gf_net *net);
/* Fills layers[capacity] in node order; returns the count or GF_ERR (a conv or
 * linear node without a weight slice, capacity too small). */
int gf_graft_layers(const gf_net *net, gf_graft_layer *layers, int capacity);

#endif
