/* External scions (section 3.1.3) over a ring of K networks (section 3.4,
 * Algorithm 1): network k receives from network k-1, network 0 from network K-1,
 * and every network grafts from the states *before* this round (a snapshot), so
 * the order in which networks are processed does not matter.
 *
 * Layer level (the paper's method): for each conv, alpha comes from the criterion
 * of the two conv weights (weighting.h) and mixes that conv's weight and bias
 * (eq. 2). The BatchNorm that reads that conv (weight, bias, running_mean,
 * running_var) is mixed with the same alpha; a BatchNorm that does not read a
 * conv directly uses the last conv's alpha before it. A linear layer is mixed with
 * the last computed alpha (the last conv's), or with its own when no conv comes
 * before it. BatchNorm num_batches_tracked counters are left as they are.
 * Which convs compute an alpha (alpha_rule, layers.h):
 *   GF_CONV_KEYS   the reference's rule and the default (its grafting.py computes an
 *                  alpha at every state_dict key containing "conv"): a conv without
 *                  conv_key reuses the last alpha computed before it. For MobileNetV2
 *                  this gives the projection shortcut (layers.N.shortcut.0) its
 *                  block's conv3 alpha; for ResNets, WRN and VGG16 it changes nothing;
 *   GF_EVERY_CONV  every conv its own.
 *
 * Filter level (filter_level = true) has two rules:
 *   GF_FILTER_GAMMA      the reference's filter_level_grafting.py: every BatchNorm
 *       channel c gets w[c] = |gamma_self[c]| / (|gamma_self[c]| + |gamma_other[c]|)
 *       (0.5 when both are 0), from the weights before the round, and mixes its
 *       weight, bias and running statistics with w[c]. A conv weight at (output o,
 *       input j) is mixed with s = a[j] * b[o]: b from the BatchNorm that reads the
 *       conv, a from the BatchNorm that feeds it through activations and pooling
 *       (1 when there is none: the first conv, or a conv after a residual sum).
 *       Conv biases and linear layers are not mixed, as in the reference. (The
 *       reference applies each channel's w to the whole BatchNorm vector, C times
 *       over; here each channel takes its own, as the script intends.)
 *   GF_FILTER_CRITERION  each filter of a conv or linear layer gets its own alpha
 *       from the filter criterion (eq. 3 or 4) and eq. 7, and each BatchNorm channel
 *       the alpha of its conv's filter.
 *
 * K = 1 is the baseline: nothing is mixed and no record is written.
 *
 * The ring is the chain that closes. An open chain (gf_graft_chain) grafts network k
 * from k-1 for k >= 1 and leaves network 0 as it is: a process holding a block of a
 * ring spread over MPI ranks (src/mpi) puts the pre-round state of the network before
 * its block there, and its block is then mixed to the same bytes as in the ring. */
#ifndef GRAFT_GRAFT_RING_H
#define GRAFT_GRAFT_RING_H

#include <stdbool.h>

#include "graft/criteria.h"
#include "graft/layers.h"
#include "graft/weighting.h"
#include "nn/network.h"

typedef enum gf_filter_rule { GF_FILTER_GAMMA, GF_FILTER_CRITERION } gf_filter_rule;

/* "gamma", "criterion"; NULL for an unknown value. */
const char *gf_filter_rule_name(gf_filter_rule rule);
/* Parses a name; GF_ERR with a message listing the valid names. */
int gf_filter_rule_parse(const char *name, gf_filter_rule *rule);

typedef struct gf_graft_options {
    gf_criterion criterion;
    int bins;
    gf_weighting weighting;
    gf_conv_rule alpha_rule;    /* layer level */
    bool filter_level;
    gf_filter_rule filter_rule; /* filter level */
} gf_graft_options;

/* entropy criterion (eq. 6), 10 bins, adaptive alpha A = 0.4, c = 500 rounded, layer
 * level with the reference's key rule; at filter level the BatchNorm gamma rule */
gf_graft_options gf_graft_options_default(void);

/* What one round did to one layer of one network: the grafting log. */
typedef struct gf_graft_record {
    int network;              /* receiving network (0-based) */
    int source;               /* the network it took from */
    int node;                 /* conv or linear node */
    char layer[96];           /* its weight's name, e.g. "layer1.0.conv1.weight" */
    double alpha;             /* factor of the network's own weights (two decimals when
                                 rounded); at filter level the mean over the layer's
                                 filters (gamma rule: over its weights; 1 for an
                                 unmixed layer) */
    double info_self, info_other;       /* the criterion used */
    double entropy_self, entropy_other; /* entropy of the whole layer (eq. 6) */
    double l1_self, l1_other;           /* l1 norm of the layer */
} gf_graft_record;

/* Records per round: K * gf_graft_layer_count(net) (0 for K = 1). */
int gf_graft_record_count(const gf_net *net, int networks);

/* One grafting round over nets[0..count-1] (same architecture, checked). records
 * may be NULL; otherwise it needs gf_graft_record_count entries (capacity), network
 * k's layers from k * layers. On error every network is as before the round. */
int gf_graft_ring(gf_net *const *nets, int count, const gf_graft_options *options,
                  gf_graft_record *records, int capacity);

/* Records per round of an open chain: (networks - 1) * layers (0 for one network). */
int gf_graft_chain_record_count(const gf_net *net, int networks);

/* The same round over an open chain: nets[k] takes from nets[k-1] for k = 1 ..
 * count-1 and nets[0] only gives. Records as gf_graft_ring's, network k's layers from
 * (k - 1) * layers, network and source numbered as in nets. */
int gf_graft_chain(gf_net *const *nets, int count, const gf_graft_options *options,
                   gf_graft_record *records, int capacity);

#endif
