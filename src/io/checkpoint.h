/* A network's state as safetensors, keyed by the PyTorch state_dict names:
 * parameters and running statistics as F32, num_batches_tracked as I64. */
#ifndef GRAFT_IO_CHECKPOINT_H
#define GRAFT_IO_CHECKPOINT_H

#include "io/safetensors.h"
#include "nn/network.h"

int gf_net_save(gf_net *net, const char *path, const gf_st_meta *meta, size_t meta_count);
/* Loads every tensor of the network from path; a missing tensor, an extra one, or
 * a shape or dtype mismatch is refused (naming file and tensor) and leaves the
 * network unchanged. */
int gf_net_load(gf_net *net, const char *path);

#endif
