/* The layers grafting works on: every conv and linear node of a network with its
 * weight seen as [filters, per_filter] (one output channel, or one output row, per
 * filter). Criteria, scions, the ring and the analysis all walk this list. */
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
} gf_graft_layer;

/* Number of conv and linear nodes. */
int gf_graft_layer_count(const gf_net *net);
/* Fills layers[capacity] in node order; returns the count or GF_ERR (a conv or
 * linear node without a weight slice, capacity too small). */
int gf_graft_layers(const gf_net *net, gf_graft_layer *layers, int capacity);

#endif
