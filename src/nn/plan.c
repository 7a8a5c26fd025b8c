/* The network's memory plan: backward's visits, fusions and gradient slots once, the
 * kernels' shapes and the arena per batch size. */
#include "nn/plan.h"

#include <stdlib.h>

#include "core/error.h"
#include "core/memory.h"
#include "core/size.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

/* A BatchNorm whose only reader is the next node, an activation whose gradient can be
 * read from its output's sign (nn/batchnorm.h), and not the network's output. */
static int fuse_activations(gf_plan *plan, const gf_node *nodes, int n) {
    int *readers = calloc((size_t)n, sizeof *readers);
    if (!readers) return gf_fail("gf_net_finalize: out of memory");
    for (int j = 0; j < n; j++)
        for (int k = 0; k < 2; k++)
            if (nodes[j].inputs[k] >= 0) readers[nodes[j].inputs[k]]++;
    for (int i = 0; i < n; i++) plan->nodes[i].fused_activation = -1;
    for (int i = 1; i + 1 < n - 1; i++) {
        const gf_node *bn = &nodes[i], *act = &nodes[i + 1];
        if (bn->op != GF_OP_BATCHNORM || act->op != GF_OP_ACTIVATION || act->inputs[0] != i)
            continue;
        if (act->activation == GF_ACT_LEAKY_RELU && !(act->slope >= 0.0f)) continue;
        if (readers[i] == 1) plan->nodes[i].fused_activation = i + 1;
    }
    free(readers);
    return GF_OK;
}

/* Gradients of activations live only during backward, from the moment the last
 * reader of a node (the first one backward reaches) writes into it until the node's
 * own backward has read it. Nodes whose lifetimes do not overlap share a buffer
 * ("slot"), which keeps a few activation gradients in memory instead of all. */
static int assign_gradient_slots(gf_plan *plan, const gf_node *nodes, int n) {
    plan->slot_numel = calloc((size_t)n, sizeof *plan->slot_numel);
    bool *busy = calloc((size_t)n, sizeof *busy);
    if (!plan->slot_numel || !busy) {
        free(busy);
        return gf_fail("gf_net_finalize: out of memory");
    }
    gf_node_plan *state = plan->nodes;
    plan->slot_count = 0;
    for (int i = 0; i < n; i++) state[i].grad_slot = -1;
    for (int i = n - 1; i > 0; i--) {
        /* a fused activation's gradient stays alive until its BatchNorm's backward */
        if (!state[i].contributes || gf_plan_is_fused_activation(plan, i)) continue;
        int born[3] = {i == n - 1 ? i : -1, -1, -1}; /* the output's gradient is the given one */
        for (int k = 0; k < 2; k++) {
            int j = nodes[i].inputs[k];
            if (j >= 0 && state[j].last_consumer == i) born[k + 1] = j;
        }
        for (int b = 0; b < 3; b++) {
            int j = born[b];
            if (j < 0 || state[j].grad_slot >= 0) continue;
            /* the smallest free slot that is large enough, else the largest free one */
            int64_t need = gf_node_numel(&nodes[j]);
            int fit = -1, largest = -1;
            for (int slot = 0; slot < plan->slot_count; slot++) {
                if (busy[slot]) continue;
                int64_t size = plan->slot_numel[slot];
                if (size >= need && (fit < 0 || size < plan->slot_numel[fit])) fit = slot;
                if (largest < 0 || size > plan->slot_numel[largest]) largest = slot;
            }
            int pick = fit >= 0 ? fit : largest;
            if (pick < 0) pick = plan->slot_count++;
            if (plan->slot_numel[pick] < need) plan->slot_numel[pick] = need;
            busy[pick] = true;
            state[j].grad_slot = pick;
        }
        busy[state[gf_plan_gradient_read_by(plan, i)].grad_slot] = false; /* read, then dead */
    }
    free(busy);
    return GF_OK;
}

int gf_plan_create(gf_plan *plan, const gf_node *nodes, int count) {
    *plan = (gf_plan){0};
    plan->nodes = calloc((size_t)count, sizeof *plan->nodes);
    if (!plan->nodes) return gf_fail("gf_net_finalize: out of memory for %d nodes", count);
    gf_node_plan *state = plan->nodes;
    /* walking backwards from the output marks what backward has to visit */
    state[count - 1].contributes = true;
    for (int i = count - 1; i > 0; i--) {
        if (!state[i].contributes) continue;
        for (int k = 0; k < 2; k++)
            if (nodes[i].inputs[k] >= 0) state[nodes[i].inputs[k]].contributes = true;
    }
    for (int i = 0; i < count; i++) state[i].last_consumer = -1;
    for (int i = 0; i < count; i++)
        for (int k = 0; k < 2 && state[i].contributes; k++)
            if (nodes[i].inputs[k] >= 0) state[nodes[i].inputs[k]].last_consumer = i;
    for (int i = 1; i + 1 < count; i++)
        state[i].moments_to_next = nodes[i].op == GF_OP_CONV2D &&
                                   nodes[i].height * nodes[i].width >= GF_MOMENTS_MIN_PLANE &&
                                   nodes[i + 1].op == GF_OP_BATCHNORM && nodes[i + 1].inputs[0] == i;
    if (fuse_activations(plan, nodes, count) != GF_OK ||
        assign_gradient_slots(plan, nodes, count) != GF_OK) {
        gf_plan_free(plan);
        return GF_ERR;
    }
    return GF_OK;
}

void gf_plan_free(gf_plan *plan) {
    free(plan->nodes);
    free(plan->slot_numel);
    gf_free(plan->arena);
    *plan = (gf_plan){0};
}

void gf_plan_release_arena(gf_plan *plan, int count) {
    gf_free(plan->arena);
    plan->arena = plan->workspace = NULL;
    plan->arena_floats = plan->workspace_floats = 0;
    plan->arena_batch = 0;
    for (int i = 0; i < count; i++) {
        gf_node_plan *st = &plan->nodes[i];
        st->out = st->grad = st->saved_mean = st->saved_invstd = NULL;
        st->argmax = NULL;
    }
}

/* Fills the kernels' shape structures for `batch`. */
static int shape_nodes(gf_plan *plan, const gf_node *nodes, int count, int batch) {
    for (int i = 1; i < count; i++) {
        const gf_node *n = &nodes[i];
        const gf_node *in = &nodes[n->inputs[0]];
        gf_node_plan *st = &plan->nodes[i];
        int status = GF_OK;
        switch (n->op) {
        case GF_OP_CONV2D:
            st->shape.conv = (gf_conv2d_shape){.batch = batch,
                                               .in_channels = in->channels,
                                               .in_h = in->height,
                                               .in_w = in->width,
                                               .out_channels = n->channels,
                                               .kernel = n->kernel,
                                               .stride = n->stride,
                                               .padding = n->padding,
                                               .groups = n->groups};
            status = gf_conv2d_shape_init(&st->shape.conv);
            break;
        case GF_OP_BATCHNORM:
            st->shape.bn = (gf_batchnorm_shape){.batch = batch,
                                                .channels = n->channels,
                                                .spatial = n->height * n->width,
                                                .eps = BN_EPS,
                                                .momentum = BN_MOMENTUM};
            if (st->fused_activation >= 0) {
                const gf_node *act = &nodes[st->fused_activation];
                st->shape.bn.activated = true;
                st->shape.bn.activation = act->activation;
                st->shape.bn.slope = act->slope;
            }
            break;
        case GF_OP_MAXPOOL:
        case GF_OP_AVGPOOL:
            st->shape.pool = (gf_pool_shape){.batch = batch,
                                             .channels = in->channels,
                                             .in_h = in->height,
                                             .in_w = in->width,
                                             .kernel = n->kernel,
                                             .stride = n->stride,
                                             .padding = n->padding};
            status = gf_pool_shape_init(&st->shape.pool);
            break;
        case GF_OP_SHORTCUT_A:
            st->shape.shortcut = (gf_shortcut_shape){.batch = batch,
                                                     .in_channels = in->channels,
                                                     .in_h = in->height,
                                                     .in_w = in->width,
                                                     .stride = n->stride,
                                                     .pad = n->pad_channels};
            status = gf_shortcut_shape_init(&st->shape.shortcut);
            break;
        default: break;
        }
        if (status != GF_OK) {
            char label[128];
            return gf_fail_context("%s", gf_node_label(n, i, label, sizeof label));
        }
    }
    plan->shaped_batch = batch;
    return GF_OK;
}

/* floats of `per_sample` * batch, rounded up to a 64-byte line; saturates (core/size.h) */
static size_t line_floats(size_t per_sample, int batch) {
    return gf_size_round_up(gf_size_mul(per_sample, (size_t)batch), 16);
}

/* Floats of node i's output in the arena. A BatchNorm fused with its activation
 * writes the activation's output and nobody reads its own: it gets none. */
static size_t output_floats(const gf_plan *plan, const gf_node *nodes, int i, int batch) {
    if (plan->nodes[i].fused_activation >= 0) return 0;
    return line_floats((size_t)gf_node_numel(&nodes[i]), batch);
}

/* Lays the arena out for `batch` samples (kernel shapes must be filled for it). */
static int ensure_arena(gf_plan *plan, const gf_node *nodes, int count, int batch) {
    size_t workspace = 0;
    for (int i = 1; i < count; i++)
        if (nodes[i].op == GF_OP_CONV2D) {
            size_t w = gf_conv2d_workspace_floats(&plan->nodes[i].shape.conv);
            if (w > workspace) workspace = w;
        }
    if (batch <= plan->arena_batch && workspace <= plan->workspace_floats) return GF_OK;
    int layout_batch = batch > plan->arena_batch ? batch : plan->arena_batch;
    if (workspace < plan->workspace_floats) workspace = plan->workspace_floats;

    /* the largest batch of plane moments a convolution hands to its BatchNorm */
    size_t moments_floats = 0;
    for (int i = 1; i < count; i++)
        if (plan->nodes[i].moments_to_next) {
            size_t floats = line_floats(gf_size_mul((size_t)nodes[i].channels,
                                                    sizeof(gf_moments) / sizeof(float)),
                                        layout_batch);
            if (floats > moments_floats) moments_floats = floats;
        }
    size_t total = moments_floats;
    for (int i = 0; i < count; i++) {
        const gf_node *n = &nodes[i];
        size_t per_batch = line_floats((size_t)gf_node_numel(n), layout_batch);
        total = gf_size_add(total, output_floats(plan, nodes, i, layout_batch));
        if (n->op == GF_OP_BATCHNORM)
            total = gf_size_add(total, 2 * line_floats((size_t)n->channels, 1));
        if (n->op == GF_OP_MAXPOOL) total = gf_size_add(total, per_batch); /* int32 argmax */
    }
    for (int slot = 0; slot < plan->slot_count; slot++)
        total = gf_size_add(total, line_floats((size_t)plan->slot_numel[slot], layout_batch));
    total = gf_size_add(total, line_floats(workspace, 1));
    /* an overflow saturates, and gf_alloc refuses it by name */
    float *arena = gf_alloc(gf_size_mul(total, sizeof(float)), "the activation arena");
    if (!arena) return GF_ERR;
    gf_free(plan->arena);
    plan->arena = arena;
    plan->arena_floats = total;
    plan->arena_batch = layout_batch;
    plan->workspace_floats = workspace;

    plan->moments = moments_floats ? (gf_moments *)(void *)arena : NULL;
    float *p = arena + moments_floats;
    for (int i = 0; i < count; i++) {
        const gf_node *n = &nodes[i];
        gf_node_plan *st = &plan->nodes[i];
        size_t per_batch = line_floats((size_t)gf_node_numel(n), layout_batch);
        st->out = st->fused_activation >= 0 ? NULL : p;
        p += output_floats(plan, nodes, i, layout_batch);
        st->grad = NULL; /* set below from its gradient slot */
        st->saved_mean = st->saved_invstd = NULL;
        st->argmax = NULL;
        if (n->op == GF_OP_BATCHNORM) {
            st->saved_mean = p;
            p += line_floats((size_t)n->channels, 1);
            st->saved_invstd = p;
            p += line_floats((size_t)n->channels, 1);
        }
        if (n->op == GF_OP_MAXPOOL) {
            st->argmax = (int32_t *)(void *)p;
            p += per_batch;
        }
    }
    for (int slot = 0; slot < plan->slot_count; slot++) {
        for (int i = 0; i < count; i++)
            if (plan->nodes[i].grad_slot == slot) plan->nodes[i].grad = p;
        p += line_floats((size_t)plan->slot_numel[slot], layout_batch);
    }
    plan->workspace = p;
    return GF_OK;
}

int gf_plan_prepare(gf_plan *plan, const gf_node *nodes, int count, int batch) {
    if (batch != plan->shaped_batch && shape_nodes(plan, nodes, count, batch) != GF_OK)
        return GF_ERR;
    return ensure_arena(plan, nodes, count, batch);
}
