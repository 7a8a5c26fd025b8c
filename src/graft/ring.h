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
 *
 * Filter level (an option, to compare with "layer consistency"): each filter of a
 * conv or linear layer gets its own alpha from the filter criterion (eq. 3 or 4),
 * and each BatchNorm channel the alpha of its conv's filter.
 *
 * K = 1 is the baseline: nothing is mixed and no record is written. */
#ifndef GRAFT_GRAFT_RING_H
#define GRAFT_GRAFT_RING_H

#include <stdbool.h>

#include "graft/criteria.h"
#include "graft/weighting.h"
#include "nn/network.h"

typedef struct gf_graft_options {
    gf_criterion criterion;
    int bins;
    gf_weighting weighting;
    bool filter_level;
} gf_graft_options;

/* entropy criterion (eq. 6), 10 bins, adaptive alpha A = 0.4, c = 500 rounded, layer level */
gf_graft_options gf_graft_options_default(void);

/* What one round did to one layer of one network: the grafting log. */
typedef struct gf_graft_record {
    int network;              /* receiving network (0-based) */
    int source;               /* the network it took from */
    int node;                 /* conv or linear node */
    char layer[96];           /* its weight's name, e.g. "layer1.0.conv1.weight" */
    double alpha;             /* factor of the network's own weights; mean over filters at filter level */
    double info_self, info_other;       /* the criterion used */
    double entropy_self, entropy_other; /* entropy of the whole layer (eq. 6) */
    double l1_self, l1_other;           /* l1 norm of the layer */
} gf_graft_record;

/* Records per round: K * gf_graft_layer_count(net) (0 for K = 1). */
int gf_graft_record_count(const gf_net *net, int networks);

/* One grafting round over nets[0..count-1] (same architecture, checked). records
 * may be NULL; otherwise it needs gf_graft_record_count entries (capacity). */
int gf_graft_ring(gf_net *const *nets, int count, const gf_graft_options *options,
                  gf_graft_record *records, int capacity);

#endif
