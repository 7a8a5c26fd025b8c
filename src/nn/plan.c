/* The network's memory plan: backward's visits, fusions, gradient and output slots
 * once, the kernels' shapes and the arenas per batch size. */
#include "nn/plan.h"

#include <stdlib.h>

#include "core/error.h"
#include "core/memory.h"
#include "core/size.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

/* How many later nodes read each node (a node read twice by one, x + x, counts
 * twice); NULL, the error set, when out of memory. The caller frees it. */
static int *count_readers(const gf_node *nodes, int n) {
    int *readers = calloc((size_t)n, sizeof *readers);
    if (!readers) {
        gf_fail("gf_net_finalize: out of memory");
        return NULL;
    }
    for (int j = 0; j < n; j++)
        for (int k = 0; k < 2; k++)
            if (nodes[j].inputs[k] >= 0) readers[nodes[j].inputs[k]]++;
    return readers;
}

/* A BatchNorm or a residual add whose only reader is the next node, an activation
 * whose gradient can be read from its output's sign (nn/batchnorm.h, nn/shortcut.h),
 * and not the network's output. */
static int fuse_activations(gf_plan *plan, const gf_node *nodes, int n) {
    int *readers = count_readers(nodes, n);
    if (!readers) return GF_ERR;
    for (int i = 0; i < n; i++) plan->nodes[i].fused_activation = -1;
    for (int i = 1; i + 1 < n - 1; i++) {
        const gf_node *node = &nodes[i], *act = &nodes[i + 1];
        if ((node->op != GF_OP_BATCHNORM && node->op != GF_OP_ADD) ||
            act->op != GF_OP_ACTIVATION || act->inputs[0] != i)
            continue;
        if (!gf_activation_gradient_from_output(act->activation, act->slope)) continue;
        if (readers[i] == 1) plan->nodes[i].fused_activation = i + 1;
    }
    free(readers);
    return GF_OK;
}

/* A convolution whose only reader is the BatchNorm right after it: evaluation folds
 * that BatchNorm into it. */
static int mark_folds(gf_plan *plan, const gf_node *nodes, int n) {
    int *readers = count_readers(nodes, n);
    if (!readers) return GF_ERR;
    for (int i = 1; i + 1 < n; i++)
        plan->nodes[i].folds_next = nodes[i].op == GF_OP_CONV2D &&
                                    nodes[i + 1].op == GF_OP_BATCHNORM &&
                                    nodes[i + 1].inputs[0] == i && readers[i] == 1;
    free(readers);
    return GF_OK;
}

/* A BatchNorm, or the activation fused into it, read only by a convolution right after
 * it, or a BatchNorm without one read only by a residual add (once): that reader may
 * apply the BatchNorm's map (nn/plan.h). */
static int mark_input_maps(gf_plan *plan, const gf_node *nodes, int n) {
    int *readers = count_readers(nodes, n);
    if (!readers) return GF_ERR;
    int widest = 0;
    for (int i = 0; i < n; i++) plan->nodes[i].mapped_by = plan->nodes[i].input_map_from = -1;
    for (int i = 1; i < n; i++) {
        if (nodes[i].op != GF_OP_BATCHNORM) continue;
        const int read = gf_plan_gradient_read_by(plan, i);
        if (readers[read] != 1) continue;
        int reader = read + 1;
        while (reader < n && nodes[reader].inputs[0] != read && nodes[reader].inputs[1] != read)
            reader++;
        if (reader == n) continue;
        const bool conv = reader == read + 1 && nodes[reader].op == GF_OP_CONV2D;
        /* an add maps one of its inputs: with two BatchNorms (a projection shortcut),
         * the first */
        const bool add = nodes[reader].op == GF_OP_ADD && read == i &&
                         plan->nodes[reader].input_map_from < 0;
        if (!conv && !add) continue;
        plan->nodes[i].mapped_by = reader;
        plan->nodes[reader].input_map_from = i;
        if (nodes[i].channels > widest) widest = nodes[i].channels;
    }
    free(readers);
    if (widest == 0) return GF_OK;
    plan->input_affine = malloc(sizeof *plan->input_affine * (size_t)widest);
    if (!plan->input_affine) return gf_fail("gf_net_finalize: out of memory");
    return GF_OK;
}

/* A buffer for `need` per-sample floats among `slots`, of which busy[] are taken: the
 * smallest free slot that is large enough, else the largest free one (grown), else a
 * new one. It is marked busy. `slots->numel` and `busy` have room for a slot per node. */
static int take_slot(gf_slots *slots, bool *busy, int64_t need) {
    int fit = -1, largest = -1;
    for (int slot = 0; slot < slots->count; slot++) {
        if (busy[slot]) continue;
        int64_t size = slots->numel[slot];
        if (size >= need && (fit < 0 || size < slots->numel[fit])) fit = slot;
        if (largest < 0 || size > slots->numel[largest]) largest = slot;
    }
    int pick = fit >= 0 ? fit : largest;
    if (pick < 0) pick = slots->count++;
    if (slots->numel[pick] < need) slots->numel[pick] = need;
    busy[pick] = true;
    return pick;
}

/* Room for a slot per node in `slots`, and busy flags (the caller frees them). */
static bool *start_slots(gf_slots *slots, int n) {
    slots->numel = calloc((size_t)n, sizeof *slots->numel);
    slots->count = 0;
    bool *busy = calloc((size_t)n, sizeof *busy);
    if (!slots->numel || !busy) {
        free(busy);
        gf_fail("gf_net_finalize: out of memory");
        return NULL;
    }
    return busy;
}

/* Whether an add fused with its activation masks the activation's gradient in place
 * and hands that buffer to both its inputs, whose gradients are both that masked
 * gradient (nn/shortcut.h): when both are first written there (stored) and one input,
 * `lone`, is read by the add alone, is neither an add (which could hand the buffer on
 * again) nor a fused activation, and does not read the other input, whose other
 * readers all come before `lone`: lone's backward has then read the buffer before
 * they add into it. */
static bool shares_input_gradients(const gf_plan *plan, const gf_node *nodes,
                                   const int *readers, int add) {
    const gf_node *node = &nodes[add];
    if (node->op != GF_OP_ADD || plan->nodes[add].fused_activation < 0) return false;
    const int first = node->inputs[0], second = node->inputs[1];
    if (first <= 0 || second <= 0 || first == second ||
        plan->nodes[first].last_consumer != add || plan->nodes[second].last_consumer != add)
        return false;
    for (int k = 0; k < 2; k++) {
        const int lone = k == 0 ? first : second, other = k == 0 ? second : first;
        if (readers[lone] != 1 || nodes[lone].op == GF_OP_ADD ||
            gf_plan_is_fused_activation(plan, lone) || nodes[lone].inputs[0] == other ||
            nodes[lone].inputs[1] == other)
            continue;
        bool before = true;
        for (int r = lone + 1; r < add && before; r++)
            before = !plan->nodes[r].contributes ||
                     (nodes[r].inputs[0] != other && nodes[r].inputs[1] != other);
        if (before) return true;
    }
    return false;
}

/* Gradients of activations live only during backward, from the moment the last
 * reader of a node (the first one backward reaches) writes into it until the node's
 * own backward has read it. Nodes whose lifetimes do not overlap share a buffer
 * ("slot"), which keeps a few activation gradients in memory instead of all; a slot
 * handed on from a node to its inputs is held by each until each has read it. */
static int assign_gradient_slots(gf_plan *plan, const gf_node *nodes, int n) {
    int *readers = count_readers(nodes, n);
    int *holders = readers ? calloc((size_t)n, sizeof *holders) : NULL;
    bool *busy = holders ? start_slots(&plan->gradient_slots, n) : NULL;
    if (!busy) {
        free(readers);
        free(holders);
        return readers && !holders ? gf_fail("gf_net_finalize: out of memory") : GF_ERR;
    }
    gf_node_plan *state = plan->nodes;
    for (int i = 0; i < n; i++) state[i].grad_slot = -1;
    for (int i = n - 1; i > 0; i--) {
        /* a fused activation's gradient stays alive until its BatchNorm's or add's backward */
        if (!state[i].contributes || gf_plan_is_fused_activation(plan, i)) continue;
        int born[3] = {i == n - 1 ? i : -1, -1, -1}; /* the output's gradient is the given one */
        for (int k = 0; k < 2; k++) {
            int j = nodes[i].inputs[k];
            if (j >= 0 && state[j].last_consumer == i) born[k + 1] = j;
        }
        /* a plain add's first input takes over the add's gradient, which its backward
         * would only copy there (stored: the add is that input's first reader); an add
         * fused with its activation may hand its masked gradient to both inputs */
        const int read = gf_plan_gradient_read_by(plan, i);
        const bool shared = shares_input_gradients(plan, nodes, readers, i);
        for (int b = 0; b < 3; b++) {
            int j = born[b];
            if (j < 0 || state[j].grad_slot >= 0) continue;
            const bool hand_on = state[read].grad_slot >= 0 &&
                                 ((b == 1 && nodes[i].op == GF_OP_ADD && read == i) ||
                                  (b > 0 && shared));
            state[j].grad_slot = hand_on ? state[read].grad_slot
                                         : take_slot(&plan->gradient_slots, busy,
                                                     gf_node_numel(&nodes[j]));
            holders[state[j].grad_slot]++;
        }
        /* read, then dead (unless handed on) */
        if (--holders[state[read].grad_slot] == 0) busy[state[read].grad_slot] = false;
    }
    free(readers);
    free(holders);
    free(busy);
    return GF_OK;
}

/* An evaluation forward keeps nothing for backward: an activation lives from the node
 * that writes it (a fused BatchNorm or add writes its activation's, a folding
 * convolution its BatchNorm's, and a folding convolution's own output never exists)
 * until its last reader has run, and activations whose lifetimes do not overlap share
 * a buffer. A node's output never shares its inputs' buffers (no kernel works in
 * place); the network's output stays, for the caller. */
static int assign_output_slots(gf_plan *plan, const gf_node *nodes, int n) {
    int *last_reader = malloc((size_t)n * sizeof *last_reader);
    bool *busy = last_reader ? start_slots(&plan->output_slots, n) : NULL;
    if (!busy) {
        free(last_reader);
        return last_reader ? GF_ERR : gf_fail("gf_net_finalize: out of memory");
    }
    gf_node_plan *state = plan->nodes;
    for (int i = 0; i < n; i++) {
        last_reader[i] = -1;
        state[i].output_slot = -1;
    }
    for (int i = 1; i < n; i++)
        for (int k = 0; k < 2; k++)
            if (nodes[i].inputs[k] >= 0) last_reader[nodes[i].inputs[k]] = i;
    for (int i = 0; i < n; i++) {
        /* run by the node before: a BatchNorm, an add or a convolution */
        if (gf_plan_is_fused_activation(plan, i) || gf_plan_is_folded_batchnorm(plan, i))
            continue;
        int written = gf_plan_inference_written(plan, i);
        state[written].output_slot =
            take_slot(&plan->output_slots, busy, gf_node_numel(&nodes[written]));
        for (int k = 0; k < 2; k++) {
            int j = nodes[i].inputs[k];
            if (j >= 0 && last_reader[j] == i) busy[state[j].output_slot] = false;
        }
        if (last_reader[written] < 0 && written != n - 1) busy[state[written].output_slot] = false;
    }
    free(last_reader);
    free(busy);
    return GF_OK;
}

int gf_plan_create(gf_plan *plan, const gf_node *nodes, int count, bool fold_batchnorms) {
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
    if ((fold_batchnorms && mark_folds(plan, nodes, count) != GF_OK) ||
        fuse_activations(plan, nodes, count) != GF_OK ||
        mark_input_maps(plan, nodes, count) != GF_OK ||
        assign_gradient_slots(plan, nodes, count) != GF_OK ||
        assign_output_slots(plan, nodes, count) != GF_OK) {
        gf_plan_free(plan);
        return GF_ERR;
    }
    return GF_OK;
}

void gf_plan_free(gf_plan *plan) {
    free(plan->nodes);
    free(plan->gradient_slots.numel);
    free(plan->output_slots.numel);
    free(plan->input_affine);
    gf_free(plan->training.memory);
    gf_free(plan->inference.memory);
    *plan = (gf_plan){0};
}

void gf_plan_release_arena(gf_plan *plan, int count) {
    gf_free(plan->training.memory);
    gf_free(plan->inference.memory);
    plan->training = plan->inference = (gf_arena){0};
    plan->moments = NULL;
    plan->inference_argmax = NULL;
    plan->folded_weights = NULL;
    for (int i = 0; i < count; i++) {
        gf_node_plan *st = &plan->nodes[i];
        st->out = st->grad = st->saved_mean = st->saved_invstd = st->inference_out = NULL;
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

/* Whether node i's output is never written in training: a BatchNorm or an add fused
 * with its activation writes the activation's output instead, and a mapped BatchNorm's
 * output (its own or its activation's) is applied by the convolution after it. */
static bool unwritten_in_training(const gf_plan *plan, int i) {
    if (plan->nodes[i].fused_activation >= 0) return true;
    const int bn = gf_plan_is_fused_activation(plan, i) ? i - 1 : i;
    return plan->nodes[bn].mapped;
}

/* Whether BatchNorm i's reader applies its map on the convolution paths in force now
 * (gf_conv2d_use_winograd can change them). */
static bool maps_now(const gf_plan *plan, const gf_node *nodes, int i) {
    const int reader = plan->nodes[i].mapped_by;
    return reader >= 0 && (nodes[reader].op == GF_OP_ADD ||
                           gf_conv2d_maps_input(&plan->nodes[reader].shape.conv));
}

/* Whether the training arena was laid out for other mappings than the paths give now. */
static bool mappings_changed(const gf_plan *plan, const gf_node *nodes, int count) {
    for (int i = 0; i < count; i++)
        if (plan->nodes[i].mapped != maps_now(plan, nodes, i)) return true;
    return false;
}

/* Floats of node i's output in the training arena: none where it is never written. */
static size_t output_floats(const gf_plan *plan, const gf_node *nodes, int i, int batch) {
    if (unwritten_in_training(plan, i)) return 0;
    return line_floats((size_t)gf_node_numel(&nodes[i]), batch);
}

/* The scratch every convolution's kernels need at the shaped batch. */
static size_t shaped_workspace_floats(const gf_plan *plan, const gf_node *nodes, int count) {
    size_t workspace = 0;
    for (int i = 1; i < count; i++)
        if (nodes[i].op == GF_OP_CONV2D) {
            size_t w = gf_conv2d_workspace_floats(&plan->nodes[i].shape.conv);
            if (w > workspace) workspace = w;
        }
    return workspace;
}

/* Allocates `floats` for `arena` in place of its memory, laid out for `batch` with
 * `workspace` floats of scratch at its end. */
static int replace_arena(gf_arena *arena, size_t floats, int batch, size_t workspace) {
    floats = gf_size_add(floats, line_floats(workspace, 1));
    /* an overflow saturates, and gf_alloc refuses it by name */
    float *memory = gf_alloc(gf_size_mul(floats, sizeof(float)), "the activation arena");
    if (!memory) return GF_ERR;
    gf_free(arena->memory);
    *arena = (gf_arena){.memory = memory,
                        .floats = floats,
                        .batch = batch,
                        .workspace = memory + floats - line_floats(workspace, 1),
                        .workspace_floats = workspace};
    return GF_OK;
}

/* The training arena, for `batch` samples and `workspace` floats of scratch: every
 * node's output (backward reads them), BatchNorm's saved statistics, max pooling's
 * winners, the gradient slots and a convolution's moments for its BatchNorm. */
static int lay_out_training(gf_plan *plan, const gf_node *nodes, int count, int batch,
                            size_t workspace) {
    /* the largest batch of plane moments a convolution hands to its BatchNorm */
    size_t moments_floats = 0;
    for (int i = 1; i < count; i++)
        if (plan->nodes[i].moments_to_next) {
            size_t floats = line_floats(gf_size_mul((size_t)nodes[i].channels,
                                                    sizeof(gf_moments) / sizeof(float)),
                                        batch);
            if (floats > moments_floats) moments_floats = floats;
        }
    for (int i = 0; i < count; i++) plan->nodes[i].mapped = maps_now(plan, nodes, i);
    size_t total = moments_floats;
    for (int i = 0; i < count; i++) {
        const gf_node *n = &nodes[i];
        size_t per_batch = line_floats((size_t)gf_node_numel(n), batch);
        total = gf_size_add(total, output_floats(plan, nodes, i, batch));
        if (n->op == GF_OP_BATCHNORM)
            total = gf_size_add(total, 2 * line_floats((size_t)n->channels, 1));
        if (n->op == GF_OP_MAXPOOL) total = gf_size_add(total, per_batch); /* int32 argmax */
    }
    const gf_slots *slots = &plan->gradient_slots;
    for (int slot = 0; slot < slots->count; slot++)
        total = gf_size_add(total, line_floats((size_t)slots->numel[slot], batch));
    if (replace_arena(&plan->training, total, batch, workspace) != GF_OK) return GF_ERR;

    float *arena = plan->training.memory;
    plan->moments = moments_floats ? (gf_moments *)(void *)arena : NULL;
    float *p = arena + moments_floats;
    for (int i = 0; i < count; i++) {
        const gf_node *n = &nodes[i];
        gf_node_plan *st = &plan->nodes[i];
        size_t per_batch = line_floats((size_t)gf_node_numel(n), batch);
        st->out = unwritten_in_training(plan, i) ? NULL : p;
        p += output_floats(plan, nodes, i, batch);
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
    for (int slot = 0; slot < slots->count; slot++) {
        for (int i = 0; i < count; i++)
            if (plan->nodes[i].grad_slot == slot) plan->nodes[i].grad = p;
        p += line_floats((size_t)slots->numel[slot], batch);
    }
    return GF_OK;
}

/* The floats of a folding convolution's folded weights and bias. */
static size_t folded_floats(const gf_node *nodes, int i) {
    const gf_node *n = &nodes[i], *in = &nodes[n->inputs[0]];
    size_t per_channel = (size_t)(in->channels / n->groups) * (size_t)n->kernel * (size_t)n->kernel;
    return line_floats(gf_size_mul((size_t)n->channels, per_channel + 1), 1);
}

/* The inference arena, for `batch` samples and `workspace` floats of scratch: the
 * output slots, one buffer for max pooling's winners, which nobody reads, and one
 * for the folded weights of the convolution running. */
static int lay_out_inference(gf_plan *plan, const gf_node *nodes, int count, int batch,
                             size_t workspace) {
    size_t argmax_floats = 0; /* int32 winners, one per output value of the largest pooling */
    size_t folded = 0;        /* the largest folded convolution's */
    for (int i = 1; i < count; i++) {
        if (nodes[i].op == GF_OP_MAXPOOL) {
            size_t floats = line_floats((size_t)gf_node_numel(&nodes[i]), batch);
            if (floats > argmax_floats) argmax_floats = floats;
        }
        if (plan->nodes[i].folds_next && folded_floats(nodes, i) > folded)
            folded = folded_floats(nodes, i);
    }
    size_t total = gf_size_add(argmax_floats, folded);
    const gf_slots *slots = &plan->output_slots;
    for (int slot = 0; slot < slots->count; slot++)
        total = gf_size_add(total, line_floats((size_t)slots->numel[slot], batch));
    if (replace_arena(&plan->inference, total, batch, workspace) != GF_OK) return GF_ERR;

    float *p = plan->inference.memory;
    plan->inference_argmax = argmax_floats ? (int32_t *)(void *)p : NULL;
    p += argmax_floats;
    plan->folded_weights = folded ? p : NULL;
    p += folded;
    for (int slot = 0; slot < slots->count; slot++) {
        for (int i = 0; i < count; i++)
            if (plan->nodes[i].output_slot == slot) plan->nodes[i].inference_out = p;
        p += line_floats((size_t)slots->numel[slot], batch);
    }
    return GF_OK;
}

int gf_plan_prepare(gf_plan *plan, const gf_node *nodes, int count, int batch, bool training) {
    if (batch != plan->shaped_batch && shape_nodes(plan, nodes, count, batch) != GF_OK)
        return GF_ERR;
    gf_arena *arena = training ? &plan->training : &plan->inference;
    size_t workspace = shaped_workspace_floats(plan, nodes, count);
    /* a convolution path switched since the layout changes which outputs are written */
    const bool remap = training && arena->batch > 0 && mappings_changed(plan, nodes, count);
    if (!remap && batch <= arena->batch && workspace <= arena->workspace_floats) return GF_OK;
    int layout_batch = batch > arena->batch ? batch : arena->batch;
    if (workspace < arena->workspace_floats) workspace = arena->workspace_floats;
    return training ? lay_out_training(plan, nodes, count, layout_batch, workspace)
                    : lay_out_inference(plan, nodes, count, layout_batch, workspace);
}
