/* A network as a safetensors file: its state keyed by the PyTorch state_dict names
 * (parameters and running statistics as F32, num_batches_tracked as I64), and in the
 * metadata its architecture ("graft.architecture", nn/architecture.h) and model name
 * ("graft.model"), so that the file alone rebuilds the network. */
#ifndef GRAFT_IO_CHECKPOINT_H
#define GRAFT_IO_CHECKPOINT_H

#include "io/safetensors.h"
#include "nn/network.h"

#define GF_CHECKPOINT_ARCHITECTURE_KEY "graft.architecture"
#define GF_CHECKPOINT_MODEL_KEY "graft.model"

/* Writes the state, the architecture, the model name and `meta` (whose keys must not
 * be the two above). */
int gf_net_save(gf_net *net, const char *path, const gf_st_meta *meta, size_t meta_count);

/* Rebuilds the network a checkpoint describes and loads its state. The architecture
 * is checked against the limits of nn/network.h and against the file's tensors
 * (names, dtypes, shapes) before anything is allocated for it, so a file that claims
 * more than it holds costs nothing. NULL with an error naming the file on failure. */
gf_net *gf_net_load(const char *path);

/* Loads every tensor of an already built network from path; a missing tensor, an
 * extra one, or a shape or dtype mismatch is refused (naming file and tensor) and
 * leaves the network unchanged. */
int gf_net_load_state(gf_net *net, const char *path);

#endif
