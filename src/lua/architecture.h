/* A network's architecture as text, stored in checkpoints (safetensors metadata
 * "graft.architecture") so that graft.load can rebuild the network before loading
 * its weights. One node per item, items separated by ';', fields by spaces, in
 * node order (node 0 is the input; inputs are node indices):
 *   input C H W
 *   conv2d NAME IN OUT KERNEL STRIDE PADDING GROUPS BIAS(0|1)
 *   batchnorm NAME IN
 *   activation IN relu|leaky_relu|relu6 SLOPE
 *   maxpool IN KERNEL STRIDE PADDING        avgpool IN KERNEL STRIDE PADDING
 *   global_avgpool IN
 *   linear NAME IN OUT BIAS(0|1)
 *   shortcut_a IN OUT STRIDE
 *   add A B
 * Names are PyTorch module names; they hold no spaces or ';'. */
#ifndef GRAFT_LUA_ARCHITECTURE_H
#define GRAFT_LUA_ARCHITECTURE_H

#include <stddef.h>

#include "nn/network.h"

/* Writes the text into a malloc'ed string (NULL with an error message on failure). */
char *gf_architecture_describe(const gf_net *net);
/* Replays the builder calls; the network is returned unfinalised, or NULL with an
 * error naming the node and what was wrong. */
gf_net *gf_architecture_build(const char *text);

/* "relu", "leaky_relu", "relu6"; parse returns -1 for an unknown name. */
const char *gf_activation_name(gf_activation_kind kind);
int gf_activation_parse(const char *name);

#endif
