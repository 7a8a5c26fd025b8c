/* A network node: its operation, its inputs (indices of earlier nodes), its output
 * shape per sample and its settings, as nn/network.h builds them and nn/plan.h and
 * nn/architecture.h read them. */
#ifndef GRAFT_NN_NODE_H
#define GRAFT_NN_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/activation.h"

typedef enum gf_op {
    GF_OP_INPUT,
    GF_OP_CONV2D,
    GF_OP_BATCHNORM,
    GF_OP_ACTIVATION,
    GF_OP_MAXPOOL,
    GF_OP_AVGPOOL,
    GF_OP_GLOBAL_AVGPOOL, /* [N, C, H, W] -> [N, C] */
    GF_OP_LINEAR,         /* flattens its input */
    GF_OP_SHORTCUT_A,
    GF_OP_ADD
} gf_op;

typedef struct gf_node {
    gf_op op;
    char name[80];      /* module name ("layer1.0.conv1"); empty for parameterless nodes */
    int inputs[2];      /* node indices; -1 when unused */
    int channels, height, width; /* output shape per sample (height = width = 1 for vectors) */
    /* op settings */
    int kernel, stride, padding, groups, out_features, pad_channels;
    bool has_bias;
    gf_activation_kind activation;
    float slope;
    /* indices into the slice table, -1 when absent */
    int weight, bias, running_mean, running_var, batches_tracked;
} gf_node;

/* Elements of one sample of a node's output. */
static inline int64_t gf_node_numel(const gf_node *n) {
    return (int64_t)n->channels * n->height * n->width;
}
/* "node 3 (conv2d 'layer1.0.conv1')", for messages; returns buf. */
const char *gf_node_label(const gf_node *n, int index, char *buf, size_t size);

/* "input", "conv2d", "batchnorm", ... (as architectures and Lua name them); parse
 * returns -1 for an unknown name. */
const char *gf_op_name(gf_op op);
int gf_op_parse(const char *name);

#endif
