/* A network: a list of nodes in execution order (a small DAG: a node reads the
 * outputs of earlier nodes, so residual blocks are an `add` of two earlier nodes),
 * over one flat parameter buffer, one matching gradient buffer, and one buffer of
 * BatchNorm running statistics. Every tensor is a named slice whose name follows
 * the reference's PyTorch state_dict keys ("layer1.0.conv1.weight").
 *
 * Build: gf_net_create, then gf_net_* node calls (each returns the new node's index,
 * or GF_ERR), then gf_net_finalize (allocates the buffers and initialises the
 * weights from a seed). Activations, their gradients and scratch memory live in an
 * arena sized for the largest batch seen, one for training and a smaller one for
 * evaluation, so steps after the first of each mode allocate nothing. */
#ifndef GRAFT_NN_NETWORK_H
#define GRAFT_NN_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "nn/node.h"

/* Where a named tensor lives. */
typedef enum gf_slice_kind {
    GF_SLICE_PARAM, /* in the parameter buffer (and its gradient buffer) */
    GF_SLICE_STAT,  /* in the BatchNorm running-statistics buffer */
    GF_SLICE_COUNT  /* a BatchNorm num_batches_tracked counter (int64, one element) */
} gf_slice_kind;

typedef struct gf_slice {
    char name[96];
    gf_slice_kind kind;
    size_t offset; /* in floats into its buffer; for COUNT, index into the counters */
    int ndim;
    int64_t shape[GF_MAX_DIMS];
    int64_t numel;
} gf_slice;

typedef struct gf_net gf_net;

/* Limits on an architecture, enforced by every builder below (and so by every
 * checkpoint read): far beyond the reference's models, yet small enough that every
 * per-sample size fits in int and no size of the buffers can overflow. A builder
 * that meets a larger value fails naming the layer and the value (docs/limits.md). */
#define GF_NET_MAX_NODES 10000
#define GF_NET_MAX_CHANNELS 65536           /* channels of any node, linear out_features */
#define GF_NET_MAX_IMAGE 8192               /* height and width of any node */
#define GF_NET_MAX_WINDOW 64                /* kernel, stride, padding (conv2d, pooling) */
#define GF_NET_MAX_SAMPLE_FLOATS (1 << 28)  /* one sample's output of one node (1 GiB) */
#define GF_NET_MAX_STATE_FLOATS (1 << 30)   /* parameters and statistics together (4 GiB) */

gf_net *gf_net_create(int in_channels, int in_h, int in_w);
void gf_net_free(gf_net *net);

/* The input is node 0. Each builder validates its sizes against the input node. */
int gf_net_conv2d(gf_net *net, const char *name, int input, int out_channels, int kernel,
                  int stride, int padding, int groups, bool bias);
int gf_net_batchnorm(gf_net *net, const char *name, int input);
int gf_net_activation(gf_net *net, int input, gf_activation_kind kind, float slope);
int gf_net_maxpool(gf_net *net, int input, int kernel, int stride, int padding);
int gf_net_avgpool(gf_net *net, int input, int kernel, int stride, int padding);
int gf_net_global_avgpool(gf_net *net, int input);
int gf_net_linear(gf_net *net, const char *name, int input, int out_features, bool bias);
int gf_net_shortcut_a(gf_net *net, int input, int out_channels, int stride);
int gf_net_add(gf_net *net, int a, int b);

/* How the weights are drawn (fan_in = the values of one filter):
 *   GF_INIT_KAIMING  conv and linear weights N(0, sqrt(2 / fan_in)) (Kaiming normal,
 *                    fan_in, gain sqrt 2: the reference's ResNets), linear bias
 *                    U(+-1/sqrt(fan_in)), conv bias 0;
 *   GF_INIT_PYTORCH  PyTorch's defaults, conv and linear weights and biases
 *                    U(+-1/sqrt(fan_in)) (kaiming_uniform_ with a = sqrt 5; std
 *                    1/sqrt(3 fan_in), 2.45 times smaller: the reference's
 *                    MobileNetV2 and VGG16);
 *   GF_INIT_WRN      the reference's wrn.py: conv weights Kaiming normal, linear
 *                    weights PyTorch's U(+-1/sqrt(fan_in)), biases 0, BatchNorm
 *                    weight U(0, 1).
 * All: BatchNorm weight 1 (GF_INIT_WRN: U(0, 1)), bias 0, running mean 0, var 1. */
typedef enum gf_init_rule { GF_INIT_KAIMING, GF_INIT_PYTORCH, GF_INIT_WRN } gf_init_rule;

/* "kaiming", "pytorch", "wrn"; NULL for an unknown value. */
const char *gf_init_rule_name(gf_init_rule rule);
/* Parses a name; GF_ERR with a message listing the valid names. */
int gf_init_rule_parse(const char *name, gf_init_rule *rule);

/* The rule gf_net_finalize and gf_net_initialise draw with (default Kaiming). */
void gf_net_set_init(gf_net *net, gf_init_rule rule);
gf_init_rule gf_net_init(const gf_net *net);

/* Allocates the flat buffers and initialises the weights from seed with the
 * network's rule. The last node is the output. */
int gf_net_finalize(gf_net *net, uint64_t seed);
/* Re-initialises the weights (same rule) with another seed. */
void gf_net_initialise(gf_net *net, uint64_t seed);

void gf_net_set_training(gf_net *net, bool training);
bool gf_net_is_training(const gf_net *net);
/* Whether evaluation folds each BatchNorm that alone reads a convolution into that
 * convolution's weights and bias (default yes: one pass instead of two, rounded
 * slightly differently; tests and benchmarks compare the two). Before gf_net_finalize. */
int gf_net_fold_batchnorms(gf_net *net, bool fold);

/* input [batch, C, H, W]; *output points into the arena ([batch, classes]) and stays
 * valid until the next forward. */
int gf_net_forward(gf_net *net, const float *input, int batch, const float **output);
/* Backward of the last forward (training mode only): zeroes the gradient buffer,
 * then accumulates. grad_output is [batch, classes]. */
int gf_net_backward(gf_net *net, const float *grad_output);

/* Flat buffers */
float *gf_net_params(gf_net *net);
float *gf_net_grads(gf_net *net);
size_t gf_net_param_count(const gf_net *net);
float *gf_net_stats(gf_net *net);
size_t gf_net_stat_count(const gf_net *net);
int64_t *gf_net_counters(gf_net *net);
size_t gf_net_counter_count(const gf_net *net);

/* Introspection */
int gf_net_node_count(const gf_net *net);
const gf_node *gf_net_node(const gf_net *net, int index);
int gf_net_slice_count(const gf_net *net);
const gf_slice *gf_net_slice(const gf_net *net, int index);
int gf_net_find_slice(const gf_net *net, const char *name); /* -1 when absent */
/* Pointer to a slice's floats (PARAM or STAT); NULL for COUNT. */
float *gf_net_slice_data(gf_net *net, const gf_slice *slice);
float *gf_net_slice_grad(gf_net *net, const gf_slice *slice); /* PARAM only */
int gf_net_input_shape(const gf_net *net, int *channels, int *height, int *width);
int gf_net_output_size(const gf_net *net);
/* Frees both activation arenas (a trained network kept for later holds no batch's
 * activations); the next forward lays it out again, and backward needs that forward. */
void gf_net_release_activations(gf_net *net);

/* Bytes held by the activation arenas (for the benchmark's memory figures): the
 * training arena, which keeps every activation for backward and the gradients, and
 * the inference arena, which keeps only what an evaluation forward has yet to read.
 * Each is laid out by the first forward of its mode; gf_net_mode_arena_bytes gives one. */
size_t gf_net_arena_bytes(const gf_net *net);
size_t gf_net_mode_arena_bytes(const gf_net *net, bool training);

/* Copies parameters, statistics and counters from src (same architecture). */
int gf_net_copy_state(gf_net *dst, const gf_net *src);

/* The model's name ("resnet20", "mobilenetv2"; "custom" until set), which checkpoints
 * record. At most 63 characters. */
int gf_net_set_model(gf_net *net, const char *model);
const char *gf_net_model(const gf_net *net);

#endif
