/* The ensemble (train/ensemble.h) of a ring spread over the processes of an MPI run:
 * every process evaluates its own networks on the same test images in the same
 * order, and rank 0 adds all networks' softmax outputs in ring order (its own, then
 * rank 1's, ...), as one process adds them, so the hits are one process's to the
 * bit. Every process takes part and gets the result. */
#ifndef GRAFT_MPI_ENSEMBLE_H
#define GRAFT_MPI_ENSEMBLE_H

#include "data/loader.h"
#include "nn/network.h"
#include "train/ensemble.h"

/* nets: this process's block of the ring, in ring order (count >= 1). */
int gf_mpi_ensemble_evaluate(gf_net *const *nets, int count, gf_loader *loader,
                             gf_ensemble_result *result);

#endif
