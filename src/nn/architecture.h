/* A network's architecture as text, which checkpoints store (io/checkpoint.h) so that
 * a network can be rebuilt from its file alone. One node per item, items separated
 * by ';', fields by spaces, in node order (node 0 is the input; inputs are node
 * indices; operation and activation names as gf_op_name and gf_activation_name):
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
#ifndef GRAFT_NN_ARCHITECTURE_H
#define GRAFT_NN_ARCHITECTURE_H

#include "nn/network.h"

/* Writes the text into a malloc'ed string (NULL with an error message on failure). */
char *gf_architecture_describe(const gf_net *net);
/* Replays the builder calls, so every check and limit of nn/network.h applies; the
 * network is returned unfinalised (nothing large is allocated yet), or NULL with an
 * error naming the node and what was wrong. */
gf_net *gf_architecture_build(const char *text);

/* An independent copy of a finalised network: architecture, model name, parameters,
 * statistics, counters and mode. */
gf_net *gf_net_clone(const gf_net *net);

#endif
