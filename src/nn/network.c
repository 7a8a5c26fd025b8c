/* The network: nodes in execution order over flat parameter, gradient, statistics
 * and counter buffers, and an activation arena reused from step to step (laid out by
 * nn/plan.h). */
#include "nn/network.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/memory.h"
#include "core/rng.h"
#include "core/size.h"
#include "nn/batchnorm_fold.h"
#include "nn/linear.h"
#include "nn/plan.h"

/* the PCG32 stream that weight initialisation draws from (data loaders use others) */
#define INIT_STREAM 0
/* longest slice suffix, so that "<name>.num_batches_tracked" fits gf_slice.name */
#define LONGEST_SUFFIX ".num_batches_tracked"
_Static_assert(sizeof(((gf_slice *)0)->name) - sizeof LONGEST_SUFFIX == 75,
               "add_slice formats names with %.75s");

struct gf_net {
    gf_node *nodes;
    int node_count, node_capacity;
    gf_slice *slices;
    int slice_count, slice_capacity;
    size_t param_count, stat_count, counter_count;
    float *params, *grads, *stats;
    int64_t *counters;
    bool finalized, training;
    bool fold_batchnorms; /* in evaluation, into the convolutions before them */
    gf_init_rule init;
    char model[64];
    /* the tables' sizes before the node being built, restored if it fails */
    struct {
        int slice_count;
        size_t param_count, stat_count, counter_count;
    } before_node;

    gf_plan plan;      /* made by gf_net_finalize */
    int forward_batch; /* batch of the last training forward that backward may use, 0 if none */
};

static const char *node_label(const gf_net *net, int index, char *buf, size_t size) {
    return gf_node_label(&net->nodes[index], index, buf, size);
}

gf_net *gf_net_create(int in_channels, int in_h, int in_w) {
    if (in_channels <= 0 || in_h <= 0 || in_w <= 0) {
        gf_fail("gf_net_create: input shape [%d, %d, %d] must be positive", in_channels, in_h,
                in_w);
        return NULL;
    }
    if (in_channels > GF_NET_MAX_CHANNELS || in_h > GF_NET_MAX_IMAGE || in_w > GF_NET_MAX_IMAGE ||
        (int64_t)in_channels * in_h * in_w > GF_NET_MAX_SAMPLE_FLOATS) {
        gf_fail("gf_net_create: input shape [%d, %d, %d] is beyond the limits (%d channels, "
                "%dx%d images, %d floats per sample; docs/limits.md)",
                in_channels, in_h, in_w, GF_NET_MAX_CHANNELS, GF_NET_MAX_IMAGE, GF_NET_MAX_IMAGE,
                GF_NET_MAX_SAMPLE_FLOATS);
        return NULL;
    }
    gf_net *net = calloc(1, sizeof *net);
    if (!net) {
        gf_fail("gf_net_create: out of memory");
        return NULL;
    }
    net->training = true;
    net->fold_batchnorms = true;
    snprintf(net->model, sizeof net->model, "custom");
    net->node_capacity = 16;
    net->nodes = calloc((size_t)net->node_capacity, sizeof *net->nodes);
    if (!net->nodes) {
        free(net);
        gf_fail("gf_net_create: out of memory");
        return NULL;
    }
    gf_node *input = &net->nodes[0];
    input->op = GF_OP_INPUT;
    input->inputs[0] = input->inputs[1] = -1;
    input->channels = in_channels;
    input->height = in_h;
    input->width = in_w;
    input->weight = input->bias = input->running_mean = input->running_var =
        input->batches_tracked = -1;
    net->node_count = 1;
    return net;
}

void gf_net_free(gf_net *net) {
    if (!net) return;
    free(net->nodes);
    free(net->slices);
    gf_free(net->params);
    gf_free(net->grads);
    gf_free(net->stats);
    gf_free(net->counters);
    gf_plan_free(&net->plan);
    free(net);
}

/* ---- building ---------------------------------------------------------- */

/* Common checks of a builder; on success *node is a fresh node (not yet counted). */
static int begin_node(gf_net *net, gf_op op, const char *name, int input, const char *what,
                      gf_node **node) {
    if (net->finalized)
        return gf_fail("%s: the network is already finalised; build all nodes first", what);
    if (input < 0 || input >= net->node_count)
        return gf_fail("%s '%s': input node %d does not exist (the network has %d nodes)", what,
                       name ? name : "", input, net->node_count);
    if (net->node_count >= GF_NET_MAX_NODES)
        return gf_fail("%s '%s': the network has %d nodes, the limit (docs/limits.md)", what,
                       name ? name : "", net->node_count);
    bool named = op == GF_OP_CONV2D || op == GF_OP_BATCHNORM || op == GF_OP_LINEAR;
    if (named) {
        if (!name || !name[0]) return gf_fail("%s: a layer with parameters needs a name", what);
        size_t max_len = sizeof net->slices[0].name - sizeof LONGEST_SUFFIX;
        if (strlen(name) > max_len)
            return gf_fail("%s: layer name '%s' is too long (%zu characters, at most %zu)", what,
                           name, strlen(name), max_len);
        for (int i = 0; i < net->node_count; i++)
            if (strcmp(net->nodes[i].name, name) == 0)
                return gf_fail("%s: layer name '%s' is already used by node %d", what, name, i);
    }
    if (net->node_count == net->node_capacity) {
        int capacity = net->node_capacity * 2;
        gf_node *nodes = realloc(net->nodes, (size_t)capacity * sizeof *nodes);
        if (!nodes) return gf_fail("%s: out of memory growing the node list", what);
        net->nodes = nodes;
        net->node_capacity = capacity;
    }
    gf_node *n = &net->nodes[net->node_count];
    memset(n, 0, sizeof *n);
    n->op = op;
    if (named) snprintf(n->name, sizeof n->name, "%s", name);
    n->inputs[0] = input;
    n->inputs[1] = -1;
    n->weight = n->bias = n->running_mean = n->running_var = n->batches_tracked = -1;
    net->before_node.slice_count = net->slice_count;
    net->before_node.param_count = net->param_count;
    net->before_node.stat_count = net->stat_count;
    net->before_node.counter_count = net->counter_count;
    *node = n;
    return GF_OK;
}

/* Forgets the slices of the node being built; returns GF_ERR. */
static int abandon_node(gf_net *net) {
    net->slice_count = net->before_node.slice_count;
    net->param_count = net->before_node.param_count;
    net->stat_count = net->before_node.stat_count;
    net->counter_count = net->before_node.counter_count;
    return GF_ERR;
}

/* Fails, naming the node being built, when its `what` is beyond `limit`. */
static int within_limit(gf_net *net, const char *what, int64_t value, int64_t limit) {
    if (value <= limit) return GF_OK;
    char label[128];
    gf_fail("%s: %s %lld is beyond the limit %lld (docs/limits.md)",
            node_label(net, net->node_count, label, sizeof label), what, (long long)value,
            (long long)limit);
    return abandon_node(net);
}

/* Appends a slice "<node name><suffix>"; returns its index or GF_ERR. */
static int add_slice(gf_net *net, const gf_node *node, const char *suffix, gf_slice_kind kind,
                     int ndim, const int64_t *shape) {
    /* the builders' limits keep every shape product far inside int64 */
    int64_t numel = gf_shape_numel(ndim, shape);
    int64_t state = (int64_t)(net->param_count + net->stat_count);
    char what[160];
    snprintf(what, sizeof what, "parameter and statistic floats up to '%.80s%s'", node->name,
             suffix);
    if (within_limit(net, what, state + numel, GF_NET_MAX_STATE_FLOATS) != GF_OK) return GF_ERR;
    if (net->slice_count == net->slice_capacity) {
        int capacity = net->slice_capacity ? net->slice_capacity * 2 : 32;
        gf_slice *slices = realloc(net->slices, (size_t)capacity * sizeof *slices);
        if (!slices) {
            gf_fail("layer '%s': out of memory growing the slice table", node->name);
            return abandon_node(net);
        }
        net->slices = slices;
        net->slice_capacity = capacity;
    }
    gf_slice *s = &net->slices[net->slice_count];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%.75s%s", node->name,
             suffix); /* begin_node checked the length */
    s->kind = kind;
    s->ndim = ndim;
    s->numel = numel;
    for (int d = 0; d < ndim; d++) s->shape[d] = shape[d];
    switch (kind) {
    case GF_SLICE_PARAM:
        s->offset = net->param_count;
        net->param_count += (size_t)s->numel;
        break;
    case GF_SLICE_STAT:
        s->offset = net->stat_count;
        net->stat_count += (size_t)s->numel;
        break;
    case GF_SLICE_COUNT:
        s->offset = net->counter_count;
        net->counter_count += 1;
        break;
    }
    return net->slice_count++;
}

/* Checks the new node's output shape against the limits and counts the node. */
static int commit_node(gf_net *net) {
    const gf_node *n = &net->nodes[net->node_count];
    if (within_limit(net, "output channels", n->channels, GF_NET_MAX_CHANNELS) != GF_OK ||
        within_limit(net, "output height", n->height, GF_NET_MAX_IMAGE) != GF_OK ||
        within_limit(net, "output width", n->width, GF_NET_MAX_IMAGE) != GF_OK ||
        within_limit(net, "output size per sample", gf_node_numel(n), GF_NET_MAX_SAMPLE_FLOATS) !=
            GF_OK)
        return GF_ERR;
    return net->node_count++;
}

/* kernel, stride and padding of a window (convolution, pooling) */
static int window_within_limits(gf_net *net, int kernel, int stride, int padding) {
    if (within_limit(net, "kernel", kernel, GF_NET_MAX_WINDOW) != GF_OK ||
        within_limit(net, "stride", stride, GF_NET_MAX_WINDOW) != GF_OK ||
        within_limit(net, "padding", padding, GF_NET_MAX_WINDOW) != GF_OK)
        return GF_ERR;
    return GF_OK;
}

int gf_net_conv2d(gf_net *net, const char *name, int input, int out_channels, int kernel,
                  int stride, int padding, int groups, bool bias) {
    gf_node *n = NULL;
    if (begin_node(net, GF_OP_CONV2D, name, input, "gf_net_conv2d", &n) != GF_OK) return GF_ERR;
    const gf_node *in = &net->nodes[input];
    if (out_channels <= 0 || kernel <= 0 || stride <= 0 || padding < 0 || groups <= 0)
        return gf_fail(
            "conv2d '%s': out_channels %d, kernel %d, stride %d, padding %d, groups %d "
            "must be positive (padding >= 0)",
            name, out_channels, kernel, stride, padding, groups);
    if (within_limit(net, "out_channels", out_channels, GF_NET_MAX_CHANNELS) != GF_OK ||
        window_within_limits(net, kernel, stride, padding) != GF_OK)
        return GF_ERR;
    if (in->channels % groups || out_channels % groups)
        return gf_fail("conv2d '%s': groups %d must divide in_channels %d and out_channels %d",
                       name, groups, in->channels, out_channels);
    int out_h = (in->height + 2 * padding - kernel) / stride + 1;
    int out_w = (in->width + 2 * padding - kernel) / stride + 1;
    if (in->height + 2 * padding < kernel || in->width + 2 * padding < kernel)
        return gf_fail("conv2d '%s': kernel %d does not fit the input %dx%d with padding %d", name,
                       kernel, in->height, in->width, padding);
    n->channels = out_channels;
    n->height = out_h;
    n->width = out_w;
    n->kernel = kernel;
    n->stride = stride;
    n->padding = padding;
    n->groups = groups;
    n->has_bias = bias;
    int64_t wshape[4] = {out_channels, in->channels / groups, kernel, kernel};
    int64_t bshape[1] = {out_channels};
    if ((n->weight = add_slice(net, n, ".weight", GF_SLICE_PARAM, 4, wshape)) < 0) return GF_ERR;
    if (bias && (n->bias = add_slice(net, n, ".bias", GF_SLICE_PARAM, 1, bshape)) < 0)
        return GF_ERR;
    return commit_node(net);
}

int gf_net_batchnorm(gf_net *net, const char *name, int input) {
    gf_node *n = NULL;
    if (begin_node(net, GF_OP_BATCHNORM, name, input, "gf_net_batchnorm", &n) != GF_OK)
        return GF_ERR;
    const gf_node *in = &net->nodes[input];
    n->channels = in->channels;
    n->height = in->height;
    n->width = in->width;
    int64_t shape[1] = {in->channels};
    /* PyTorch's state_dict order for BatchNorm2d */
    if ((n->weight = add_slice(net, n, ".weight", GF_SLICE_PARAM, 1, shape)) < 0 ||
        (n->bias = add_slice(net, n, ".bias", GF_SLICE_PARAM, 1, shape)) < 0 ||
        (n->running_mean = add_slice(net, n, ".running_mean", GF_SLICE_STAT, 1, shape)) < 0 ||
        (n->running_var = add_slice(net, n, ".running_var", GF_SLICE_STAT, 1, shape)) < 0 ||
        (n->batches_tracked = add_slice(net, n, ".num_batches_tracked", GF_SLICE_COUNT, 0, NULL)) <
            0)
        return GF_ERR;
    return commit_node(net);
}

int gf_net_activation(gf_net *net, int input, gf_activation_kind kind, float slope) {
    gf_node *n = NULL;
    if (begin_node(net, GF_OP_ACTIVATION, NULL, input, "gf_net_activation", &n) != GF_OK)
        return GF_ERR;
    if (kind != GF_ACT_RELU && kind != GF_ACT_LEAKY_RELU && kind != GF_ACT_RELU6)
        return gf_fail("gf_net_activation: unknown activation kind %d after node %d", (int)kind,
                       input);
    if (kind == GF_ACT_LEAKY_RELU && !isfinite(slope))
        return gf_fail("gf_net_activation: leaky ReLU slope %g after node %d is not finite",
                       (double)slope, input);
    const gf_node *in = &net->nodes[input];
    n->channels = in->channels;
    n->height = in->height;
    n->width = in->width;
    n->activation = kind;
    n->slope = kind == GF_ACT_LEAKY_RELU ? slope : 0.0f;
    return commit_node(net);
}

static int pool_node(gf_net *net, gf_op op, int input, int kernel, int stride, int padding,
                     const char *what) {
    gf_node *n = NULL;
    if (begin_node(net, op, NULL, input, what, &n) != GF_OK) return GF_ERR;
    const gf_node *in = &net->nodes[input];
    if (kernel <= 0 || stride <= 0 || padding < 0 || padding > kernel / 2)
        return gf_fail(
            "%s after node %d: kernel %d, stride %d, padding %d (need kernel, stride > 0 "
            "and 0 <= padding <= kernel / 2)",
            what, input, kernel, stride, padding);
    if (window_within_limits(net, kernel, stride, padding) != GF_OK) return GF_ERR;
    if (in->height + 2 * padding < kernel || in->width + 2 * padding < kernel)
        return gf_fail("%s after node %d: kernel %d does not fit the input %dx%d with padding %d",
                       what, input, kernel, in->height, in->width, padding);
    n->channels = in->channels;
    n->height = (in->height + 2 * padding - kernel) / stride + 1;
    n->width = (in->width + 2 * padding - kernel) / stride + 1;
    n->kernel = kernel;
    n->stride = stride;
    n->padding = padding;
    return commit_node(net);
}

int gf_net_maxpool(gf_net *net, int input, int kernel, int stride, int padding) {
    return pool_node(net, GF_OP_MAXPOOL, input, kernel, stride, padding, "gf_net_maxpool");
}

int gf_net_avgpool(gf_net *net, int input, int kernel, int stride, int padding) {
    return pool_node(net, GF_OP_AVGPOOL, input, kernel, stride, padding, "gf_net_avgpool");
}

int gf_net_global_avgpool(gf_net *net, int input) {
    gf_node *n = NULL;
    if (begin_node(net, GF_OP_GLOBAL_AVGPOOL, NULL, input, "gf_net_global_avgpool", &n) != GF_OK)
        return GF_ERR;
    n->channels = net->nodes[input].channels;
    n->height = n->width = 1;
    return commit_node(net);
}

int gf_net_linear(gf_net *net, const char *name, int input, int out_features, bool bias) {
    gf_node *n = NULL;
    if (begin_node(net, GF_OP_LINEAR, name, input, "gf_net_linear", &n) != GF_OK) return GF_ERR;
    if (out_features <= 0)
        return gf_fail("linear '%s': out_features %d must be positive", name, out_features);
    if (within_limit(net, "out_features", out_features, GF_NET_MAX_CHANNELS) != GF_OK)
        return GF_ERR;
    int64_t in_features = gf_node_numel(&net->nodes[input]);
    n->channels = out_features;
    n->height = n->width = 1;
    n->out_features = out_features;
    n->has_bias = bias;
    int64_t wshape[2] = {out_features, in_features};
    int64_t bshape[1] = {out_features};
    if ((n->weight = add_slice(net, n, ".weight", GF_SLICE_PARAM, 2, wshape)) < 0) return GF_ERR;
    if (bias && (n->bias = add_slice(net, n, ".bias", GF_SLICE_PARAM, 1, bshape)) < 0)
        return GF_ERR;
    return commit_node(net);
}

int gf_net_shortcut_a(gf_net *net, int input, int out_channels, int stride) {
    gf_node *n = NULL;
    if (begin_node(net, GF_OP_SHORTCUT_A, NULL, input, "gf_net_shortcut_a", &n) != GF_OK)
        return GF_ERR;
    const gf_node *in = &net->nodes[input];
    int extra = out_channels - in->channels;
    if (stride <= 0 || extra < 0 || extra % 2)
        return gf_fail(
            "gf_net_shortcut_a after node %d: %d -> %d channels with stride %d (need "
            "stride > 0 and an even, non-negative channel increase)",
            input, in->channels, out_channels, stride);
    if (within_limit(net, "out_channels", out_channels, GF_NET_MAX_CHANNELS) != GF_OK ||
        within_limit(net, "stride", stride, GF_NET_MAX_WINDOW) != GF_OK)
        return GF_ERR;
    n->channels = out_channels;
    n->height = (in->height + stride - 1) / stride; /* x[:, :, ::stride, ::stride] */
    n->width = (in->width + stride - 1) / stride;
    n->stride = stride;
    n->pad_channels = extra / 2;
    return commit_node(net);
}

int gf_net_add(gf_net *net, int a, int b) {
    gf_node *n = NULL;
    if (begin_node(net, GF_OP_ADD, NULL, a, "gf_net_add", &n) != GF_OK) return GF_ERR;
    if (b < 0 || b >= net->node_count)
        return gf_fail("gf_net_add: input node %d does not exist (the network has %d nodes)", b,
                       net->node_count);
    const gf_node *na = &net->nodes[a], *nb = &net->nodes[b];
    if (na->channels != nb->channels || na->height != nb->height || na->width != nb->width) {
        char la[128], lb[128];
        return gf_fail("gf_net_add: %s gives [%d, %d, %d] but %s gives [%d, %d, %d]",
                       node_label(net, a, la, sizeof la), na->channels, na->height, na->width,
                       node_label(net, b, lb, sizeof lb), nb->channels, nb->height, nb->width);
    }
    n->inputs[1] = b;
    n->channels = na->channels;
    n->height = na->height;
    n->width = na->width;
    return commit_node(net);
}

/* ---- finalising and initialising ---------------------------------------- */

/* Undoes a failed gf_net_finalize, so that the network can be freed or finalised again. */
static int release_buffers(gf_net *net) {
    gf_plan_free(&net->plan);
    gf_free(net->params);
    gf_free(net->grads);
    gf_free(net->stats);
    gf_free(net->counters);
    net->params = net->grads = net->stats = NULL;
    net->counters = NULL;
    return GF_ERR;
}

int gf_net_finalize(gf_net *net, uint64_t seed) {
    if (net->finalized) return gf_fail("gf_net_finalize: the network is already finalised");
    net->params = gf_alloc(net->param_count * sizeof(float), "the parameter buffer");
    net->grads = gf_alloc(net->param_count * sizeof(float), "the gradient buffer");
    net->stats = gf_alloc(net->stat_count * sizeof(float), "the BatchNorm statistics");
    net->counters = gf_alloc(net->counter_count * sizeof(int64_t), "the BatchNorm counters");
    if (!net->params || !net->grads || !net->stats || !net->counters) {
        release_buffers(net);
        return gf_fail("gf_net_finalize: out of memory for %zu parameters", net->param_count);
    }
    if (gf_plan_create(&net->plan, net->nodes, net->node_count, net->fold_batchnorms) != GF_OK)
        return release_buffers(net);
    net->finalized = true;
    gf_net_initialise(net, seed);
    return GF_OK;
}

static const char *const init_rules[] = {"kaiming", "pytorch", "wrn"};

const char *gf_init_rule_name(gf_init_rule rule) {
    return (unsigned)rule < 3 ? init_rules[rule] : NULL;
}

int gf_init_rule_parse(const char *name, gf_init_rule *rule) {
    for (int i = 0; i < 3; i++)
        if (name && strcmp(name, init_rules[i]) == 0) {
            *rule = (gf_init_rule)i;
            return GF_OK;
        }
    return gf_fail("initialisation must be 'kaiming', 'pytorch' or 'wrn', got '%s'",
                   name ? name : "(null)");
}

void gf_net_set_init(gf_net *net, gf_init_rule rule) { net->init = rule; }

gf_init_rule gf_net_init(const gf_net *net) { return net->init; }

void gf_net_initialise(gf_net *net, uint64_t seed) {
    if (!net->finalized) return;
    gf_rng rng;
    gf_rng_seed(&rng, seed, INIT_STREAM);
    for (int i = 0; i < net->node_count; i++) {
        const gf_node *n = &net->nodes[i];
        if (n->op == GF_OP_CONV2D || n->op == GF_OP_LINEAR) {
            const gf_slice *w = &net->slices[n->weight];
            int64_t fan_in = w->numel / w->shape[0];
            float bound = 1.0f / sqrtf((float)fan_in);
            bool uniform = net->init == GF_INIT_PYTORCH ||
                           (net->init == GF_INIT_WRN && n->op == GF_OP_LINEAR);
            if (uniform)
                gf_rng_fill_uniform(&rng, net->params + w->offset, (size_t)w->numel, -bound, bound);
            else /* Kaiming normal, fan_in, gain sqrt 2 */
                gf_rng_fill_normal(&rng, net->params + w->offset, (size_t)w->numel, 0.0f,
                                   sqrtf(2.0f / (float)fan_in));
            if (n->bias >= 0) {
                const gf_slice *b = &net->slices[n->bias];
                if ((n->op != GF_OP_LINEAR && net->init == GF_INIT_KAIMING) ||
                    net->init == GF_INIT_WRN)
                    bound = 0.0f;
                if (bound > 0.0f)
                    gf_rng_fill_uniform(&rng, net->params + b->offset, (size_t)b->numel, -bound,
                                        bound);
                else
                    memset(net->params + b->offset, 0, (size_t)b->numel * sizeof(float));
            }
        } else if (n->op == GF_OP_BATCHNORM) {
            const gf_slice *w = &net->slices[n->weight], *b = &net->slices[n->bias];
            const gf_slice *mean = &net->slices[n->running_mean];
            const gf_slice *var = &net->slices[n->running_var];
            for (int64_t c = 0; c < w->numel; c++) {
                net->params[w->offset + (size_t)c] = 1.0f;
                net->params[b->offset + (size_t)c] = 0.0f;
                net->stats[mean->offset + (size_t)c] = 0.0f;
                net->stats[var->offset + (size_t)c] = 1.0f;
            }
            if (net->init == GF_INIT_WRN)
                gf_rng_fill_uniform(&rng, net->params + w->offset, (size_t)w->numel, 0.0f, 1.0f);
            net->counters[net->slices[n->batches_tracked].offset] = 0;
        }
    }
    memset(net->grads, 0, net->param_count * sizeof(float));
    net->forward_batch = 0;
}

void gf_net_set_training(gf_net *net, bool training) { net->training = training; }
bool gf_net_is_training(const gf_net *net) { return net->training; }

int gf_net_fold_batchnorms(gf_net *net, bool fold) {
    if (net->finalized)
        return gf_fail("gf_net_fold_batchnorms: the network is already finalised");
    net->fold_batchnorms = fold;
    return GF_OK;
}

/* ---- forward and backward ----------------------------------------------- */

static float *param(gf_net *net, int slice) {
    return slice >= 0 ? net->params + net->slices[slice].offset : NULL;
}
static float *grad(gf_net *net, int slice) {
    return slice >= 0 ? net->grads + net->slices[slice].offset : NULL;
}
static float *stat(gf_net *net, int slice) { return net->stats + net->slices[slice].offset; }

/* Where node j's output is in this forward's arena. */
static float *output_of(const gf_net *net, int j) {
    const gf_node_plan *st = &net->plan.nodes[j];
    return net->training ? st->out : st->inference_out;
}

/* Convolution i in evaluation. When it folds the BatchNorm after it (nn/plan.h), that
 * BatchNorm's affine map goes into its weights and bias, from the parameters and
 * running statistics as they are now (the caller may have changed them since the last
 * forward), and the BatchNorm's fused activation into its output stage. */
static int forward_conv_inference(gf_net *net, int i, const float *in, float *workspace) {
    const gf_node *n = &net->nodes[i];
    const gf_node_plan *st = &net->plan.nodes[i];
    float *out = output_of(net, gf_plan_inference_written(&net->plan, i));
    if (!st->folds_next)
        return gf_conv2d_forward_inference(out, in, param(net, n->weight), param(net, n->bias),
                                           NULL, &st->shape.conv, workspace);
    const gf_node *bn = &net->nodes[i + 1];
    const gf_batchnorm_shape *bs = &net->plan.nodes[i + 1].shape.bn;
    const gf_slice *weight = &net->slices[n->weight];
    const size_t per_channel = (size_t)(weight->numel / n->channels);
    float *folded_weight = net->plan.folded_weights;
    float *folded_bias = folded_weight + (size_t)weight->numel;
    gf_batchnorm_fold(folded_weight, folded_bias, param(net, n->weight), param(net, n->bias),
                      n->channels, per_channel, param(net, bn->weight), param(net, bn->bias),
                      stat(net, bn->running_mean), stat(net, bn->running_var), bs->eps);
    const gf_conv2d_activation activation = {.kind = bs->activation, .slope = bs->slope};
    return gf_conv2d_forward_inference(out, in, folded_weight, folded_bias,
                                       bs->activated ? &activation : NULL, &st->shape.conv,
                                       workspace);
}

/* For convolution or add i in training: where it applies a BatchNorm's map
 * (nn/plan.h), that map in *map and the BatchNorm's input, which node i then reads in
 * place of the BatchNorm's output; else NULL. */
static const float *mapped_input(gf_net *net, int i, gf_channel_map *map) {
    const int b = net->plan.nodes[i].input_map_from;
    if (b < 0 || !net->plan.nodes[b].mapped) return NULL;
    const gf_node *bn = &net->nodes[b];
    const gf_node_plan *st = &net->plan.nodes[b];
    gf_batchnorm_training_map(net->plan.input_affine, param(net, bn->weight), param(net, bn->bias),
                              st->saved_mean, st->saved_invstd, bn->channels);
    *map = (gf_channel_map){.affine = net->plan.input_affine,
                            .activated = st->shape.bn.activated,
                            .activation = st->shape.bn.activation,
                            .slope = st->shape.bn.slope};
    return net->plan.nodes[bn->inputs[0]].out;
}

static int forward_node(gf_net *net, int i, int batch) {
    const gf_node *n = &net->nodes[i];
    gf_node_plan *st = &net->plan.nodes[i];
    const gf_node *in_node = &net->nodes[n->inputs[0]];
    const float *in = output_of(net, n->inputs[0]);
    size_t count = (size_t)gf_node_numel(n) * (size_t)batch;
    /* a BatchNorm or an add fused with its activation writes the activation's output */
    float *out = output_of(net, st->fused_activation >= 0 ? st->fused_activation : i);
    float *workspace = net->training ? net->plan.training.workspace : net->plan.inference.workspace;
    if (gf_plan_is_fused_activation(&net->plan, i)) return GF_OK;
    if (!net->training && gf_plan_is_folded_batchnorm(&net->plan, i)) return GF_OK; /* ran */
    switch (n->op) {
    case GF_OP_INPUT: return GF_OK;
    case GF_OP_CONV2D: {
        if (!net->training) return forward_conv_inference(net, i, in, workspace);
        gf_channel_map map;
        const float *mapped = mapped_input(net, i, &map);
        return gf_conv2d_forward_mapped(out, st->moments_to_next ? net->plan.moments : NULL,
                                        mapped ? mapped : in, mapped ? &map : NULL,
                                        param(net, n->weight), param(net, n->bias),
                                        &st->shape.conv, workspace);
    }
    case GF_OP_BATCHNORM:
        if (net->training) {
            net->counters[net->slices[n->batches_tracked].offset]++;
            /* the convolution just before gave its output's moments */
            const bool given = net->plan.nodes[i - 1].moments_to_next;
            /* a mapped BatchNorm's output is the convolution's to apply */
            return gf_batchnorm_forward_train_moments(
                st->mapped ? NULL : out, st->saved_mean, st->saved_invstd, stat(net, n->running_mean),
                stat(net, n->running_var), in, param(net, n->weight), param(net, n->bias),
                given ? net->plan.moments : NULL, &st->shape.bn);
        }
        return gf_batchnorm_forward_eval(out, in, param(net, n->weight), param(net, n->bias),
                                         stat(net, n->running_mean), stat(net, n->running_var),
                                         &st->shape.bn);
    case GF_OP_ACTIVATION:
        gf_activation_forward(out, in, count, n->activation, n->slope);
        return GF_OK;
    case GF_OP_MAXPOOL:
        /* evaluation keeps no winners for backward: all poolings share one scratch */
        return gf_maxpool_forward(out, net->training ? st->argmax : net->plan.inference_argmax,
                                  in, &st->shape.pool);
    case GF_OP_AVGPOOL: return gf_avgpool_forward(out, in, &st->shape.pool);
    case GF_OP_GLOBAL_AVGPOOL:
        gf_global_avgpool_forward(out, in, batch, in_node->channels,
                                  in_node->height * in_node->width);
        return GF_OK;
    case GF_OP_LINEAR:
        gf_linear_forward(out, in, param(net, n->weight), param(net, n->bias), batch,
                          (int)gf_node_numel(in_node), n->out_features);
        return GF_OK;
    case GF_OP_SHORTCUT_A: gf_shortcut_forward(out, in, &st->shape.shortcut); return GF_OK;
    case GF_OP_ADD: {
        const gf_node *act = st->fused_activation >= 0 ? &net->nodes[st->fused_activation] : NULL;
        gf_channel_map map;
        const float *mapped = net->training ? mapped_input(net, i, &map) : NULL;
        if (mapped) { /* one input is a BatchNorm's output, read through its map */
            const int k = n->inputs[0] == net->plan.nodes[i].input_map_from ? 0 : 1;
            const gf_node *bn = &net->nodes[n->inputs[k]];
            gf_add_mapped_forward(out, mapped, &map, bn->channels,
                                  (size_t)bn->height * (size_t)bn->width,
                                  output_of(net, n->inputs[1 - k]), count, act != NULL,
                                  act ? act->activation : GF_ACT_RELU, act ? act->slope : 0.0f);
        } else if (act) {
            gf_add_activation_forward(out, in, output_of(net, n->inputs[1]), count,
                                      act->activation, act->slope);
        } else {
            gf_add_forward(out, in, output_of(net, n->inputs[1]), count);
        }
        return GF_OK;
    }
    }
    return gf_fail("unknown operation %d", (int)n->op);
}

int gf_net_forward(gf_net *net, const float *input, int batch, const float **output) {
    if (!net->finalized) return gf_fail("gf_net_forward: the network is not finalised");
    if (batch <= 0 || !input)
        return gf_fail("gf_net_forward: need an input and a positive batch (got batch %d)", batch);
    /* backward reads the activations of the last forward, which must be a training one */
    net->forward_batch = 0;
    if (gf_plan_prepare(&net->plan, net->nodes, net->node_count, batch, net->training) != GF_OK)
        return gf_fail_context("gf_net_forward with batch %d", batch);
    memcpy(output_of(net, 0), input,
           (size_t)gf_node_numel(&net->nodes[0]) * (size_t)batch * sizeof(float));
    for (int i = 1; i < net->node_count; i++) {
        if (forward_node(net, i, batch) != GF_OK) {
            char label[128];
            return gf_fail_context("forward of %s", node_label(net, i, label, sizeof label));
        }
    }
    if (net->training) net->forward_batch = batch;
    *output = output_of(net, net->node_count - 1);
    return GF_OK;
}

/* write[k]: how node i's backward writes the gradient of its input k */
static int backward_node(gf_net *net, int i, int batch, const gf_grad_write write[2]) {
    const gf_node *n = &net->nodes[i];
    gf_node_plan *st = &net->plan.nodes[i];
    int input = n->inputs[0];
    const gf_node *in_node = &net->nodes[input];
    const float *in = net->plan.nodes[input].out;
    float *grad_in = net->plan.nodes[input].grad;
    size_t count = (size_t)gf_node_numel(n) * (size_t)batch;
    switch (n->op) {
    case GF_OP_INPUT: return GF_OK;
    case GF_OP_CONV2D: {
        gf_channel_map map;
        const float *mapped = mapped_input(net, i, &map);
        /* nobody asks for the gradient of the network's input */
        return gf_conv2d_backward_mapped(input == 0 ? NULL : grad_in, grad(net, n->weight),
                                         grad(net, n->bias), st->grad, mapped ? mapped : in,
                                         mapped ? &map : NULL, param(net, n->weight),
                                         &st->shape.conv, net->plan.training.workspace,
                                         write[0]);
    }
    case GF_OP_BATCHNORM: {
        const gf_node_plan *read = &net->plan.nodes[gf_plan_gradient_read_by(&net->plan, i)];
        return gf_batchnorm_backward(grad_in, grad(net, n->weight), grad(net, n->bias), read->grad,
                                     in, st->saved_mean, st->saved_invstd, param(net, n->weight),
                                     param(net, n->bias), &st->shape.bn, write[0]);
    }
    case GF_OP_ACTIVATION:
        gf_activation_backward(grad_in, st->grad, in, count, n->activation, n->slope, write[0]);
        return GF_OK;
    case GF_OP_MAXPOOL:
        gf_maxpool_backward(grad_in, st->grad, st->argmax, &st->shape.pool);
        return GF_OK;
    case GF_OP_AVGPOOL: gf_avgpool_backward(grad_in, st->grad, &st->shape.pool); return GF_OK;
    case GF_OP_GLOBAL_AVGPOOL:
        gf_global_avgpool_backward(grad_in, st->grad, batch, in_node->channels,
                                   in_node->height * in_node->width);
        return GF_OK;
    case GF_OP_LINEAR:
        gf_linear_backward(input == 0 ? NULL : grad_in, grad(net, n->weight), grad(net, n->bias),
                           st->grad, in, param(net, n->weight), batch, (int)gf_node_numel(in_node),
                           n->out_features);
        return GF_OK;
    case GF_OP_SHORTCUT_A:
        gf_shortcut_backward(grad_in, st->grad, &st->shape.shortcut);
        return GF_OK;
    case GF_OP_ADD: {
        float *grad_second = net->plan.nodes[n->inputs[1]].grad;
        if (st->fused_activation >= 0) {
            const gf_node *act = &net->nodes[st->fused_activation];
            const gf_node_plan *read = &net->plan.nodes[st->fused_activation];
            if (grad_in == read->grad && grad_second == read->grad) {
                /* both inputs hold the activation's gradient (plan.c): masked in place,
                 * its sign read from the activation's output */
                gf_activation_backward(read->grad, read->grad, read->out, count,
                                       act->activation, act->slope, GF_GRAD_STORE);
                return GF_OK;
            }
            gf_add_activation_backward(grad_in, grad_second, read->grad, read->out, count,
                                       act->activation, act->slope, write);
            return GF_OK;
        }
        if (grad_in != st->grad) /* else the first input's gradient is the add's (plan.c) */
            gf_add_backward(grad_in, st->grad, count, write[0]);
        gf_add_backward(grad_second, st->grad, count, write[1]);
        return GF_OK;
    }
    }
    return gf_fail("unknown operation %d", (int)n->op);
}

/* the operations whose backward kernels can store their input's gradient */
static bool can_store_grad(gf_op op) {
    return op == GF_OP_CONV2D || op == GF_OP_BATCHNORM || op == GF_OP_ACTIVATION ||
           op == GF_OP_ADD;
}

int gf_net_backward(gf_net *net, const float *grad_output) {
    int batch = net->forward_batch;
    if (!net->finalized || batch == 0)
        return gf_fail(
            "gf_net_backward: needs a forward in training mode first (net:train(), "
            "then forward)");
    if (!grad_output) return gf_fail("gf_net_backward: grad_output is NULL");
    memset(net->grads, 0, net->param_count * sizeof(float));
    int last = net->node_count - 1;
    if (last == 0) return GF_OK; /* the input alone: nothing to propagate */
    memcpy(net->plan.nodes[last].grad, grad_output,
           (size_t)gf_node_numel(&net->nodes[last]) * (size_t)batch * sizeof(float));
    for (int i = last; i > 0; i--) {
        gf_node_plan *st = &net->plan.nodes[i];
        /* a fused activation's backward is its BatchNorm's or its add's */
        if (!st->contributes || gf_plan_is_fused_activation(&net->plan, i)) continue;
        /* kernels add into their input's gradient; the input's latest reader, which
         * backward reaches first, stores into it when its kernel can, else clears it */
        gf_grad_write write[2] = {GF_GRAD_ADD, GF_GRAD_ADD};
        for (int k = 0; k < 2; k++) {
            int j = net->nodes[i].inputs[k];
            const bool repeated = k == 1 && j == net->nodes[i].inputs[0]; /* x + x */
            if (j < 0 || net->plan.nodes[j].last_consumer != i || repeated) continue;
            if (can_store_grad(net->nodes[i].op))
                write[k] = GF_GRAD_STORE;
            else
                memset(net->plan.nodes[j].grad, 0,
                       (size_t)gf_node_numel(&net->nodes[j]) * (size_t)batch * sizeof(float));
        }
        if (backward_node(net, i, batch, write) != GF_OK) {
            char label[128];
            return gf_fail_context("backward of %s", node_label(net, i, label, sizeof label));
        }
    }
    return GF_OK;
}

/* ---- access ------------------------------------------------------------- */

float *gf_net_params(gf_net *net) { return net->params; }
float *gf_net_grads(gf_net *net) { return net->grads; }
size_t gf_net_param_count(const gf_net *net) { return net->param_count; }
float *gf_net_stats(gf_net *net) { return net->stats; }
size_t gf_net_stat_count(const gf_net *net) { return net->stat_count; }
int64_t *gf_net_counters(gf_net *net) { return net->counters; }
size_t gf_net_counter_count(const gf_net *net) { return net->counter_count; }

void gf_net_release_activations(gf_net *net) {
    gf_plan_release_arena(&net->plan, net->node_count);
    net->forward_batch = 0;
}

size_t gf_net_arena_bytes(const gf_net *net) {
    return gf_net_mode_arena_bytes(net, true) + gf_net_mode_arena_bytes(net, false);
}

size_t gf_net_mode_arena_bytes(const gf_net *net, bool training) {
    return (training ? net->plan.training.floats : net->plan.inference.floats) * sizeof(float);
}

int gf_net_node_count(const gf_net *net) { return net->node_count; }
const gf_node *gf_net_node(const gf_net *net, int index) {
    return index >= 0 && index < net->node_count ? &net->nodes[index] : NULL;
}
int gf_net_slice_count(const gf_net *net) { return net->slice_count; }
const gf_slice *gf_net_slice(const gf_net *net, int index) {
    return index >= 0 && index < net->slice_count ? &net->slices[index] : NULL;
}

int gf_net_find_slice(const gf_net *net, const char *name) {
    for (int i = 0; i < net->slice_count; i++)
        if (strcmp(net->slices[i].name, name) == 0) return i;
    return -1;
}

float *gf_net_slice_data(gf_net *net, const gf_slice *slice) {
    if (!net->finalized) return NULL;
    switch (slice->kind) {
    case GF_SLICE_PARAM: return net->params + slice->offset;
    case GF_SLICE_STAT: return net->stats + slice->offset;
    case GF_SLICE_COUNT: return NULL;
    }
    return NULL;
}

float *gf_net_slice_grad(gf_net *net, const gf_slice *slice) {
    return net->finalized && slice->kind == GF_SLICE_PARAM ? net->grads + slice->offset : NULL;
}

int gf_net_input_shape(const gf_net *net, int *channels, int *height, int *width) {
    *channels = net->nodes[0].channels;
    *height = net->nodes[0].height;
    *width = net->nodes[0].width;
    return GF_OK;
}

int gf_net_output_size(const gf_net *net) {
    return (int)gf_node_numel(&net->nodes[net->node_count - 1]);
}

int gf_net_copy_state(gf_net *dst, const gf_net *src) {
    if (!dst->finalized || !src->finalized)
        return gf_fail("gf_net_copy_state: both networks must be finalised");
    if (dst->slice_count != src->slice_count || dst->param_count != src->param_count ||
        dst->stat_count != src->stat_count || dst->counter_count != src->counter_count)
        return gf_fail(
            "gf_net_copy_state: different architectures (%d tensors, %zu parameters "
            "vs %d tensors, %zu parameters)",
            src->slice_count, src->param_count, dst->slice_count, dst->param_count);
    for (int i = 0; i < src->slice_count; i++) {
        const gf_slice *a = &src->slices[i], *b = &dst->slices[i];
        bool same = strcmp(a->name, b->name) == 0 && a->kind == b->kind && a->ndim == b->ndim &&
                    a->offset == b->offset;
        for (int d = 0; same && d < a->ndim; d++) same = a->shape[d] == b->shape[d];
        if (!same)
            return gf_fail(
                "gf_net_copy_state: tensor %d differs: '%s' in the source, '%s' in the "
                "destination (or its shape)",
                i, a->name, b->name);
    }
    memcpy(dst->params, src->params, src->param_count * sizeof(float));
    memcpy(dst->stats, src->stats, src->stat_count * sizeof(float));
    memcpy(dst->counters, src->counters, src->counter_count * sizeof(int64_t));
    return GF_OK;
}

int gf_net_set_model(gf_net *net, const char *model) {
    if (!model || !model[0] || strlen(model) >= sizeof net->model)
        return gf_fail("gf_net_set_model: model name '%s' must have 1 to %zu characters",
                       model ? model : "(null)", sizeof net->model - 1);
    snprintf(net->model, sizeof net->model, "%s", model);
    return GF_OK;
}

const char *gf_net_model(const gf_net *net) { return net->model; }
