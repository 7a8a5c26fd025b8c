/* A network's memory plan: which nodes backward visits, which BatchNorms and adds run
 * their activation inside their own kernels, which BatchNorms' maps the convolution
 * after them applies in training, which BatchNorms evaluation folds into the
 * convolution before them, which values share a buffer ("slot"), and for
 * a batch size the kernels' shapes and two arenas: the training arena holds every
 * activation (backward reads them), the gradient slots and the scratch; the
 * inference arena holds only the activations an evaluation forward still has to
 * read, in output slots, and the scratch. nn/network.c makes the plan once at
 * gf_net_finalize and lays an arena out when a forward of its mode first needs it,
 * and again only for a larger batch. */
#ifndef GRAFT_NN_PLAN_H
#define GRAFT_NN_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn/batchnorm.h"
#include "nn/channel_map.h"
#include "nn/conv2d.h"
#include "nn/moments.h"
#include "nn/node.h"
#include "nn/pool.h"
#include "nn/shortcut.h"

/* A node's part of the plan: its memory in the arenas and its kernel shapes for the
 * current batch. */
typedef struct gf_node_plan {
    float *out, *grad;                /* in the training arena */
    float *saved_mean, *saved_invstd; /* BatchNorm, for backward */
    int32_t *argmax;                  /* max pooling, for backward */
    float *inference_out;             /* in the inference arena */
    union {
        gf_conv2d_shape conv;
        gf_batchnorm_shape bn;
        gf_pool_shape pool;
        gf_shortcut_shape shortcut;
    } shape;
    int last_consumer; /* the latest contributing node reading this one, -1 if none */
    bool contributes;  /* the output depends on this node (backward visits it) */
    int grad_slot;     /* the shared gradient buffer this node uses, -1 if none */
    int output_slot;   /* the inference arena's buffer of its output, -1 if none */
    /* a BatchNorm or a residual add followed by an activation that alone reads it: the
     * activation runs inside its kernels (nn/batchnorm.h, nn/shortcut.h), which saves a
     * pass each way, and its own output is never stored */
    int fused_activation; /* BatchNorm or add: that activation node, else -1 */
    /* a convolution read by the BatchNorm right after it: in training, the convolution
     * gives the moments of its output planes (plan->moments), which the BatchNorm would
     * otherwise take in a pass of its own */
    bool moments_to_next;
    /* a convolution read only by the BatchNorm right after it: in evaluation that
     * BatchNorm's affine map is folded into the convolution's weights and bias, and
     * the convolution writes what the BatchNorm (with its fused activation) would */
    bool folds_next;
    /* a BatchNorm (with its fused activation) whose output only the convolution right
     * after reads, or (without one) only a residual add: in training, where that
     * convolution can read its input through a map (gf_conv2d_maps_input on the paths in
     * force when the training arena was laid out, `mapped`; gf_plan_prepare lays it out
     * again when they change) and always for the add, the reader applies
     * BatchNorm's map (nn/channel_map.h) as it reads BatchNorm's input, and BatchNorm's
     * output is neither written nor given memory. That reader, else -1. */
    int mapped_by;
    int input_map_from; /* a convolution or an add: that BatchNorm, else -1 */
    bool mapped;
} gf_node_plan;

/* Buffers shared by values whose lifetimes do not overlap. */
typedef struct gf_slots {
    int64_t *numel; /* per-sample floats of each slot */
    int count;
} gf_slots;

/* One allocation holding a mode's activations and scratch. */
typedef struct gf_arena {
    float *memory;
    size_t floats;
    int batch;        /* the batch it is laid out for, 0 if none */
    float *workspace; /* shared kernel scratch (im2col), inside it */
    size_t workspace_floats;
} gf_arena;

typedef struct gf_plan {
    gf_node_plan *nodes; /* one per network node */
    gf_slots gradient_slots; /* activation gradients, in the training arena */
    gf_slots output_slots;   /* activations, in the inference arena */
    gf_arena training, inference;
    gf_moments *moments; /* a convolution's output-plane moments for its BatchNorm (training) */
    int32_t *inference_argmax; /* max pooling's winners in evaluation, one buffer for all */
    /* in the inference arena: a folding convolution's weights and bias with its
     * BatchNorm folded in, one buffer for all */
    float *folded_weights;
    int shaped_batch; /* the batch the kernel shapes are for, 0 if none */
    /* a BatchNorm's map for the convolution applying it, as many as the widest such
     * BatchNorm's channels */
    gf_channel_affine *input_affine;
} gf_plan;

/* Plans the `count` nodes of a network (the last one is the output); evaluation folds
 * BatchNorms into convolutions where it can when `fold_batchnorms`. */
int gf_plan_create(gf_plan *plan, const gf_node *nodes, int count, bool fold_batchnorms);
void gf_plan_free(gf_plan *plan);

/* Fills the kernels' shapes and lays the arena of a training or an inference forward
 * out for `batch` samples; an arena moves (and its earlier activations are lost) only
 * when the batch or the workspace outgrows it, and the other arena stays as it is.
 * Sizes are overflow-checked (core/size.h). */
int gf_plan_prepare(gf_plan *plan, const gf_node *nodes, int count, int batch, bool training);

/* Frees both arenas of a plan of `count` nodes (activations, gradients, scratch); the
 * next gf_plan_prepare lays its arena out again. */
void gf_plan_release_arena(gf_plan *plan, int count);

/* An activation computed by the BatchNorm or the add before it. */
static inline bool gf_plan_is_fused_activation(const gf_plan *plan, int i) {
    return i > 0 && plan->nodes[i - 1].fused_activation == i;
}

/* A BatchNorm that evaluation folds into the convolution before it. */
static inline bool gf_plan_is_folded_batchnorm(const gf_plan *plan, int i) {
    return i > 0 && plan->nodes[i - 1].folds_next;
}

/* The node whose output node i's kernels write in evaluation: a folding convolution
 * writes its BatchNorm's, and a BatchNorm or an add fused with its activation the
 * activation's. */
static inline int gf_plan_inference_written(const gf_plan *plan, int i) {
    if (plan->nodes[i].folds_next) i++;
    return plan->nodes[i].fused_activation >= 0 ? plan->nodes[i].fused_activation : i;
}

/* The node whose gradient node i's backward reads: its own, or for a BatchNorm or an
 * add fused with the activation after it, the activation's. */
static inline int gf_plan_gradient_read_by(const gf_plan *plan, int i) {
    return plan->nodes[i].fused_activation >= 0 ? plan->nodes[i].fused_activation : i;
}

#endif
