/* A trainer's checkpoints: one folder per completed epoch (io/epoch_dir.h: written
 * under a temporary name and renamed when whole, older ones removed; resuming takes
 * the highest-numbered one) with three members:
 *   DIR/epoch-0003/model.safetensors    weights and BatchNorm statistics (gf_net_save;
 *                                        loads into PyTorch by state_dict key)
 *   DIR/epoch-0003/trainer.safetensors  SGD momentum buffer, the data loader's two
 *                                        generator states (order, augmentation), and
 *                                        metadata: epoch, parameter count
 *   DIR/epoch-0003/history.jsonl        the caller's history so far */
#ifndef GRAFT_TRAIN_CHECKPOINT_DIR_H
#define GRAFT_TRAIN_CHECKPOINT_DIR_H

#include "data/loader.h"
#include "io/epoch_dir.h"
#include "nn/network.h"
#include "train/sgd.h"

/* Epoch numbers above this are refused in directory names and trainer files. */
#define GF_TRAIN_MAX_EPOCH GF_EPOCH_DIR_MAX_EPOCH
/* A history.jsonl above this many bytes is refused (a record is about 200 bytes). */
#define GF_TRAIN_MAX_HISTORY_BYTES (64 * 1024 * 1024)

typedef struct gf_train_state {
    int epoch;         /* epochs completed */
    gf_loader_rngs loader_rngs; /* the training loader's generators after that epoch */
    char *history;     /* caller's text (the Lua trainer stores its history); may be NULL */
} gf_train_state;

int gf_train_checkpoint_save(const char *dir, gf_net *net, const gf_sgd *sgd,
                             const gf_train_state *state);
/* The caller's check of the history text: GF_OK, or GF_ERR with a message. `path`
 * is the history file, for the message. */
typedef int (*gf_train_history_check)(void *context, int epoch, const char *history,
                                      const char *path);

/* Finds the last complete epoch in dir; *found = 0 when there is none (not an
 * error). Otherwise loads network and optimizer (both must match in size) and
 * fills *state; state->history is malloc'd (free it). Every field of the trainer
 * file is checked first (format, epoch matching the directory, parameter count,
 * momentum flag and buffer of finite values, an odd generator increment, no unknown
 * fields), then `check` (may be NULL) is given the history, then the network file;
 * nothing is changed on error. */
int gf_train_checkpoint_load(const char *dir, gf_net *net, gf_sgd *sgd, gf_train_state *state,
                             int *found, gf_train_history_check check, void *context);

#endif
