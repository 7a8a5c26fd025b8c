/* A network's memory plan: which nodes backward visits, which BatchNorms run their
 * activation inside their own kernels, which activation gradients share a buffer
 * ("slot"), and for a batch size the kernels' shapes and the arena that holds every
 * activation, gradient and scratch buffer. nn/network.c makes the plan once at
 * gf_net_finalize and lays the arena out again only for a larger batch. */
#ifndef GRAFT_NN_PLAN_H
#define GRAFT_NN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/batchnorm.h"
#include "nn/conv2d.h"
#include "nn/moments.h"
#include "nn/node.h"
#include "nn/pool.h"
#include "nn/shortcut.h"

/* A node's part of the plan: its memory in the arena and its kernel shapes for the
 * current batch. */
typedef struct gf_node_plan {
    float *out, *grad;
    float *saved_mean, *saved_invstd; /* BatchNorm, for backward */
    int32_t *argmax;                  /* max pooling, for backward */
    union {
        gf_conv2d_shape conv;
        gf_batchnorm_shape bn;
        gf_pool_shape pool;
        gf_shortcut_shape shortcut;
    } shape;
    int last_consumer; /* the latest contributing node reading this one, -1 if none */
    bool contributes;  /* the output depends on this node (backward visits it) */
    int grad_slot;     /* the shared gradient buffer this node uses, -1 if none */
    /* BatchNorm followed by an activation that alone reads it: the activation runs
     * inside BatchNorm's kernels (nn/batchnorm.h), which saves a pass each way */
    int fused_activation; /* BatchNorm: that activation node, else -1 */
    /* a convolution read by the BatchNorm right after it: in training, the convolution
     * gives the moments of its output planes (plan->moments), which the BatchNorm would
     * otherwise take in a pass of its own */
    bool moments_to_next;
} gf_node_plan;

typedef struct gf_plan {
    gf_node_plan *nodes; /* one per network node */
    int64_t *slot_numel; /* per-sample floats of each gradient slot */
    int slot_count;
    float *arena;
    size_t arena_floats;
    int arena_batch;  /* the batch the arena is laid out for, 0 if none */
    float *workspace; /* shared kernel scratch (im2col), inside the arena */
    gf_moments *moments; /* a convolution's output-plane moments for its BatchNorm */
    size_t workspace_floats;
    int shaped_batch; /* the batch the kernel shapes are for, 0 if none */
} gf_plan;

/* Plans backward for the `count` nodes of a network (the last one is the output). */
int gf_plan_create(gf_plan *plan, const gf_node *nodes, int count);
void gf_plan_free(gf_plan *plan);

/* Fills the kernels' shapes and lays the arena out for `batch` samples; the arena
 * moves (and earlier activations are lost) only when the batch or the workspace
 * outgrows it. Sizes are overflow-checked (core/size.h). */
int gf_plan_prepare(gf_plan *plan, const gf_node *nodes, int count, int batch);

/* Frees the arena of a plan of `count` nodes (activations, gradients, scratch); the next gf_plan_prepare lays
 * it out again. */
void gf_plan_release_arena(gf_plan *plan, int count);

/* An activation computed by the BatchNorm before it. */
static inline bool gf_plan_is_fused_activation(const gf_plan *plan, int i) {
    return i > 0 && plan->nodes[i - 1].fused_activation == i;
}

/* The node whose gradient node i's backward reads: its own, or for a BatchNorm fused
 * with the activation after it, the activation's. */
static inline int gf_plan_gradient_read_by(const gf_plan *plan, int i) {
    return plan->nodes[i].fused_activation >= 0 ? plan->nodes[i].fused_activation : i;
}

#endif
