/* Analysis of a trained network (section 4.8): invalid filters (Fig. 6), the
 * network's information (Fig. 7) and the l1 norms of the filters (histograms).
 * Only conv layers count: a filter is one output channel of a conv weight. Invalid
 * filters, their ratios and the l1 norms take the convs of one rule (layers.h), so
 * that a histogram of the norms and the ratios count the same filters. */
#ifndef GRAFT_GRAFT_ANALYSIS_H
#define GRAFT_GRAFT_ANALYSIS_H

#include <stdint.h>

#include "graft/layers.h"
#include "nn/network.h"

typedef struct gf_invalid_layer {
    int node;
    char layer[96];   /* weight name */
    int64_t filters;
    int64_t invalid;  /* filters whose l1 norm is under the threshold */
} gf_invalid_layer;

/* Number of conv layers. */
int gf_conv_layer_count(const gf_net *net);

/* Invalid filters: l1 < threshold, over the conv layers the rule takes (layers.h;
 * GF_CONV_KEYS counts as the reference's filter_comparison.py does, which leaves out
 * MobileNetV2's projection shortcuts: 17,088 filters, not 17,544). layers may be
 * NULL; otherwise it needs gf_conv_layer_count entries, and *layer_count (may be
 * NULL) receives how many were filled. Totals over the counted layers. */
int gf_invalid_filters(gf_net *net, double threshold, gf_conv_rule rule,
                       gf_invalid_layer *layers, int capacity, int *layer_count,
                       int64_t *total_filters, int64_t *total_invalid);

/* Fig. 6 over several thresholds: ratios[t] = the fraction of the n filter l1 norms
 * under thresholds[t] (l1 < threshold, as gf_invalid_filters counts); 0 when n is
 * 0. Refuses NaN thresholds. */
int gf_invalid_ratios(const double *l1, int64_t n, const double *thresholds, int count,
                      double *ratios);

/* gf_invalid_ratios of the conv filters the rule takes (as gf_invalid_filters counts
 * them); *filters (may be NULL) receives how many there are. */
int gf_net_invalid_ratios(gf_net *net, gf_conv_rule rule, const double *thresholds, int count,
                          double *ratios, int64_t *filters);

/* Sum over conv layers of the entropy of the whole layer (eq. 6). */
int gf_network_information(gf_net *net, int bins, double *information);

/* The number of conv filters the rule takes (those gf_invalid_filters counts). */
int gf_conv_filter_count(const gf_net *net, gf_conv_rule rule, int64_t *count);
/* The l1 norm of every conv filter the rule takes, in node order: l1[capacity],
 * capacity at least their gf_conv_filter_count. */
int gf_conv_filter_l1(gf_net *net, gf_conv_rule rule, double *l1, int64_t capacity);

#endif
