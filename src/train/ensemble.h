/* The ensemble of K networks (the "ensemble" of Table 6): each sample's class is the
 * argmax of the sum of the K networks' softmax outputs, i.e. of their mean. */
#ifndef GRAFT_TRAIN_ENSEMBLE_H
#define GRAFT_TRAIN_ENSEMBLE_H

#include <stdint.h>

#include "core/tensor.h"
#include "data/loader.h"
#include "nn/network.h"

typedef struct gf_ensemble_result {
    int64_t top1;  /* samples whose label has the largest summed softmax (first on ties) */
    int64_t count; /* samples */
} gf_ensemble_result;

/* One pass over the loader's epoch with every network in evaluation mode (each
 * network's mode is restored afterwards). The networks must give the same number
 * of classes. softmax_sum, when not NULL, receives a new tensor [samples, classes]
 * of the summed softmax outputs in loader order (to add up ensembles evaluated
 * apart); the caller frees it. */
int gf_ensemble_evaluate(gf_net *const *nets, int count, gf_loader *loader,
                         gf_ensemble_result *result, gf_tensor **softmax_sum);

/* One network's softmax outputs over the loader's epoch, in evaluation mode (its mode
 * is restored): *softmax [samples, classes] in loader order, as doubles, the terms
 * gf_ensemble_evaluate adds (so that ensembles evaluated apart add up to the same
 * bits), and *labels [samples]. Both are malloc'd; the caller frees them. */
int gf_ensemble_softmax(gf_net *net, gf_loader *loader, double **softmax, int32_t **labels,
                        int64_t *samples);

/* Samples whose label has the largest of its row of sums [samples, classes] (the
 * first on ties; a NaN sum scores no hit). */
int64_t gf_ensemble_hits(const double *sums, const int32_t *labels, int64_t samples, int classes);

#endif
