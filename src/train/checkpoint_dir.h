/* A training run's checkpoints: one directory per completed epoch,
 *   DIR/epoch-0003/model.safetensors    weights and BatchNorm statistics (gf_net_save;
 *                                        loads into PyTorch by state_dict key)
 *   DIR/epoch-0003/trainer.safetensors  SGD momentum buffer, the data loader's generator
 *                                        state, and metadata: epoch, the history so far
 * Each epoch directory is written under a temporary name (".epoch-0003.tmp-<pid>")
 * and renamed into place when both files are complete, so a directory named
 * epoch-NNNN is always whole; older epoch directories are removed afterwards.
 * Resuming takes the highest-numbered one. */
#ifndef GRAFT_TRAIN_CHECKPOINT_DIR_H
#define GRAFT_TRAIN_CHECKPOINT_DIR_H

#include "core/rng.h"
#include "nn/network.h"
#include "train/sgd.h"

typedef struct gf_train_state {
    int epoch;         /* epochs completed */
    gf_rng loader_rng; /* the training loader's generator after that epoch */
    char *history;     /* caller's text (the Lua trainer stores its history); may be NULL */
} gf_train_state;

int gf_train_checkpoint_save(const char *dir, gf_net *net, const gf_sgd *sgd,
                             const gf_train_state *state);
/* Finds the last complete epoch in dir; *found = 0 when there is none (not an
 * error). Otherwise loads network and optimizer (both must match in size) and
 * fills *state; state->history is malloc'd (free it). Nothing is changed on error. */
int gf_train_checkpoint_load(const char *dir, gf_net *net, gf_sgd *sgd, gf_train_state *state,
                             int *found);
/* Path of the last complete epoch directory into buf; *found as above. */
int gf_train_checkpoint_last(const char *dir, char *buf, size_t size, int *found);

#endif
