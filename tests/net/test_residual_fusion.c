/* A residual add fused with the activation that alone reads it (nn/plan.h,
 * nn/shortcut.h) against the same network run node by node: random residual
 * networks (identity, option-A and option-B shortcuts, every activation kind, random
 * batch and shape, x + x, an add read by others, an add's input read after it or
 * between its branch and it, and
 * activations the plan must not fuse) give the same outputs, gradients and running
 * statistics, bit for bit, in training and in evaluation, and the plan fuses exactly
 * the adds it should, and of those hands the activation's gradient, masked in place,
 * to both inputs exactly where it should. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/rng.h"
#include "nn/network.h"
#include "nn/plan.h"

enum { CLASSES = 3, MAX_BLOCKS = 4 };

typedef enum shortcut_kind { IDENTITY, OPTION_A, OPTION_B } shortcut_kind;
typedef enum twist {
    PLAIN,
    DOUBLED,        /* the block's output then goes through act(y + y) */
    SUM_READ_TWICE, /* the add's output is read by its activation and by another add */
    INPUT_LATER,    /* the block's input is also added after the block: act(x + y) */
    READ_BETWEEN,   /* a 1x1 conv_bn of the block's input, built between the branch and
                       the add, is added to the block's output: the add's input is read
                       in between, so the add's inputs cannot share its gradient */
    TWISTS
} twist;

typedef struct block_choice {
    shortcut_kind shortcut;
    twist twist;
    bool shortcut_first; /* add(shortcut, branch), else add(branch, shortcut) */
    gf_activation_kind kind;
    float slope;
} block_choice;

typedef struct graph {
    int batch, channels, size, blocks;
    bool head; /* global pooling and a linear layer, else the last activation is the output */
    block_choice block[MAX_BLOCKS];
} graph;

typedef struct built {
    gf_net *net;
    bool apart; /* every add gets an unused reader before its activation: never fused */
    bool should_fuse[GF_NET_MAX_NODES]; /* by add index: the plan must fuse it */
    /* by add index: a fused add whose inputs' gradients are one buffer, the
     * activation's, masked in place (nn/plan.c) */
    bool should_share[GF_NET_MAX_NODES];
    int adds;
} built;

static void draw_activation(gf_rng *rng, block_choice *b) {
    b->kind = (gf_activation_kind)gf_rng_below(rng, 3);
    b->slope = 0.0f;
    if (b->kind == GF_ACT_LEAKY_RELU) /* a negative slope now and then: never fused */
        b->slope = gf_rng_below(rng, 4) == 0 ? -0.2f : 0.3f * gf_rng_uniform(rng);
}

static graph draw_graph(gf_rng *rng, bool large) {
    graph g = {.batch = 2 + (int)gf_rng_below(rng, 3), /* BatchNorm needs 2 values */
               .channels = 2 + (int)gf_rng_below(rng, 3),
               .size = 3 + (int)gf_rng_below(rng, 7),
               .blocks = 1 + (int)gf_rng_below(rng, MAX_BLOCKS),
               .head = gf_rng_below(rng, 4) != 0};
    if (large) { /* past the kernels' threshold for splitting work between threads */
        g.batch = 9;
        g.channels = 16;
        g.size = 16;
    }
    for (int i = 0; i < g.blocks; i++) {
        block_choice *b = &g.block[i];
        b->shortcut = (shortcut_kind)gf_rng_below(rng, 3);
        b->twist = (twist)gf_rng_below(rng, TWISTS);
        b->shortcut_first = gf_rng_below(rng, 2);
        draw_activation(rng, b);
    }
    if (large) g.block[0].shortcut = IDENTITY; /* keeps the full size */
    return g;
}

/* act(a + b). `alone`: nothing else will read the add; `last`: the activation is the
 * network's output. *sum is the add's index. */
static int add_then_activation(built *b, int a, int other, const block_choice *c, bool alone,
                               bool last, bool shares, int *sum) {
    *sum = gf_net_add(b->net, a, other);
    if (*sum < 0) return GF_ERR;
    if (b->apart) gf_net_global_avgpool(b->net, *sum);
    b->should_fuse[*sum] = !b->apart && alone && !last && c->slope >= 0.0f;
    b->should_share[*sum] = b->should_fuse[*sum] && shares;
    b->adds++;
    return gf_net_activation(b->net, *sum, c->kind, c->slope);
}

static int conv_bn(gf_net *net, const char *name, int x, int channels, int kernel, int stride,
                   int *layer) {
    char conv[32], bn[32];
    snprintf(conv, sizeof conv, "%s%d.conv", name, *layer);
    snprintf(bn, sizeof bn, "%s%d.bn", name, *layer);
    (*layer)++;
    x = gf_net_conv2d(net, conv, x, channels, kernel, stride, kernel / 2, 1, false);
    return gf_net_batchnorm(net, bn, x);
}

/* A residual block as the graph draws it; returns its output node. */
static int block(built *b, const block_choice *c, int x, int *channels, int *size, bool last,
                 int *layer) {
    bool down = c->shortcut != IDENTITY && *size >= 2;
    /* option A pads an even number of channels */
    int stride = down ? 2 : 1, out_channels = down ? *channels + 2 : *channels;
    int y = conv_bn(b->net, "conv", x, out_channels, 3, stride, layer);
    y = gf_net_activation(b->net, y, GF_ACT_RELU, 0.0f);
    y = conv_bn(b->net, "conv", y, out_channels, 3, 1, layer);
    int shortcut = x;
    if (down && c->shortcut == OPTION_A) shortcut = gf_net_shortcut_a(b->net, x, out_channels, 2);
    if (down && c->shortcut == OPTION_B)
        shortcut = conv_bn(b->net, "shortcut", x, out_channels, 1, 2, layer);
    twist t = (c->twist == INPUT_LATER || c->twist == READ_BETWEEN) && down ? PLAIN : c->twist;
    const int between = t == READ_BETWEEN ? conv_bn(b->net, "between", x, out_channels, 1, 1, layer)
                                          : -1;
    int sum, out;
    /* the block's add shares its gradient with its inputs unless the block's input is
     * read after it; x + x never does, nor an add reading an activation and its input */
    out = add_then_activation(b, c->shortcut_first ? shortcut : y, c->shortcut_first ? y : shortcut,
                              c, t != SUM_READ_TWICE, last && t == PLAIN,
                              t != INPUT_LATER && t != READ_BETWEEN, &sum);
    if (t == DOUBLED) out = add_then_activation(b, out, out, c, true, last, false, &sum);
    if (t == SUM_READ_TWICE) out = add_then_activation(b, out, sum, c, true, last, false, &sum);
    if (t == INPUT_LATER) out = add_then_activation(b, x, out, c, true, last, false, &sum);
    if (t == READ_BETWEEN) out = add_then_activation(b, out, between, c, true, last, true, &sum);
    *channels = out_channels;
    *size = (*size + stride - 1) / stride;
    return out;
}

static built build(const graph *g, bool apart) {
    built b = {.net = gf_net_create(g->channels, g->size, g->size), .apart = apart};
    int layer = 0, channels = g->channels, size = g->size;
    int x = conv_bn(b.net, "stem", 0, channels, 3, 1, &layer);
    x = gf_net_activation(b.net, x, GF_ACT_RELU, 0.0f);
    for (int i = 0; i < g->blocks; i++)
        x = block(&b, &g->block[i], x, &channels, &size, !g->head && i == g->blocks - 1, &layer);
    if (g->head) {
        x = gf_net_global_avgpool(b.net, x);
        x = gf_net_linear(b.net, "fc", x, CLASSES, true);
    }
    if (x < 0 || gf_net_finalize(b.net, 5) != GF_OK) {
        fprintf(stderr, "build: %s\n", gf_error_message());
        gf_net_free(b.net);
        b.net = NULL;
    }
    return b;
}

/* The plan fuses the adds it should and no other, and hands the activation's gradient
 * to both inputs of those it should; returns how many it fuses. */
static int check_plan(const built *b, int *shared) {
    int count = gf_net_node_count(b->net), fused = 0;
    gf_plan plan;
    CHECK(gf_plan_create(&plan, gf_net_node(b->net, 0), count, true) == GF_OK);
    for (int i = 1; i < count; i++) {
        const gf_node *node = gf_net_node(b->net, i);
        if (node->op != GF_OP_ADD) continue;
        bool is_fused = plan.nodes[i].fused_activation == i + 1;
        CHECK(is_fused == b->should_fuse[i]);
        CHECK(is_fused || plan.nodes[i].fused_activation == -1);
        fused += is_fused;
        const int slot = plan.nodes[node->inputs[0]].grad_slot;
        const bool shares = is_fused && slot == plan.nodes[node->inputs[1]].grad_slot &&
                            slot == plan.nodes[i + 1].grad_slot && node->inputs[0] != node->inputs[1];
        CHECK(shares == b->should_share[i]);
        *shared += shares;
    }
    gf_plan_free(&plan);
    return fused;
}

/* The outputs of an evaluation forward of each network are the same, bit for bit. */
static void check_evaluation(gf_net *nets[2], const float *input, int batch, size_t out_n) {
    const float *out[2];
    for (int k = 0; k < 2; k++) {
        gf_net_set_training(nets[k], false);
        CHECK(gf_net_forward(nets[k], input, batch, &out[k]) == GF_OK);
    }
    CHECK(memcmp(out[0], out[1], out_n * sizeof(float)) == 0);
}

/* Two training steps' outputs, gradients and statistics, and evaluation before and
 * after, of the fused network and the network apart. Returns the adds fused and adds
 * to *adds the adds built. */
static int check_graph(const graph *g, uint64_t seed, int *adds, int *shared) {
    built fused = build(g, false), apart = build(g, true);
    CHECK(fused.net && apart.net);
    if (!fused.net || !apart.net) {
        gf_net_free(fused.net);
        gf_net_free(apart.net);
        return 0;
    }
    int fused_adds = check_plan(&fused, shared), shared_apart = 0;
    *adds += fused.adds;
    CHECK(check_plan(&apart, &shared_apart) == 0 && shared_apart == 0);
    gf_net *nets[2] = {fused.net, apart.net};
    size_t params = gf_net_param_count(fused.net);
    CHECK(params == gf_net_param_count(apart.net));
    CHECK(memcmp(gf_net_params(fused.net), gf_net_params(apart.net), params * sizeof(float)) == 0);
    size_t in_n = (size_t)g->batch * g->channels * g->size * g->size;
    size_t out_n = (size_t)g->batch * gf_net_output_size(fused.net);
    float *input = malloc(in_n * sizeof *input), *grad_output = malloc(out_n * sizeof *grad_output);
    gf_rng rng;
    gf_rng_seed(&rng, seed, 7);
    gf_rng_fill_normal(&rng, input, in_n, 0.0f, 1.0f);
    check_evaluation(nets, input, g->batch, out_n);
    for (int step = 0; step < 2; step++) {
        gf_rng_fill_normal(&rng, grad_output, out_n, 0.0f, 1.0f);
        const float *out[2];
        for (int k = 0; k < 2; k++) {
            gf_net_set_training(nets[k], true);
            int status = gf_net_forward(nets[k], input, g->batch, &out[k]);
            if (status != GF_OK) fprintf(stderr, "forward: %s\n", gf_error_message());
            CHECK(status == GF_OK);
            CHECK(gf_net_backward(nets[k], grad_output) == GF_OK);
        }
        CHECK(memcmp(out[0], out[1], out_n * sizeof(float)) == 0);
        CHECK(memcmp(gf_net_grads(fused.net), gf_net_grads(apart.net), params * sizeof(float)) ==
              0);
        CHECK(memcmp(gf_net_stats(fused.net), gf_net_stats(apart.net),
                     gf_net_stat_count(fused.net) * sizeof(float)) == 0);
        /* a step of plain descent, so that the second step starts elsewhere */
        for (int k = 0; k < 2; k++)
            for (size_t p = 0; p < params; p++)
                gf_net_params(nets[k])[p] -= 0.1f * gf_net_grads(nets[k])[p];
    }
    check_evaluation(nets, input, g->batch, out_n);
    free(input);
    free(grad_output);
    gf_net_free(fused.net);
    gf_net_free(apart.net);
    return fused_adds;
}

int main(void) {
    uint64_t seed = getenv("GRAFT_TEST_SEED") ? strtoull(getenv("GRAFT_TEST_SEED"), NULL, 10) : 3;
    gf_rng rng;
    gf_rng_seed(&rng, seed, 11);
    int fused = 0, adds = 0, shared = 0;
    for (int round = 0; round < 40; round++) {
        graph g = draw_graph(&rng, round == 0);
        fused += check_graph(&g, seed + (uint64_t)round, &adds, &shared);
    }
    printf("residual fusion: %d of %d adds fused (%d masking the gradient in place for both "
           "inputs), all bit for bit\n", fused, adds, shared);
    CHECK(fused > 20); /* the draws fuse most adds */
    CHECK(shared > 10); /* and most of those share it */
    return CHECK_DONE();
}
