#include "fuzz_net.h"

#include <stdlib.h>

static const double BUDGET_FLOATS = 1 << 20;

static double node_floats(const gf_node *n) { return (double)n->channels * n->height * n->width; }

int fuzz_net_within_budget(const gf_net *net) {
    double activations = 0, parameters = 0;
    for (int i = 0; i < gf_net_node_count(net); i++) {
        const gf_node *n = gf_net_node(net, i);
        activations += node_floats(n);
        if (n->op == GF_OP_CONV2D) {
            const gf_node *in = gf_net_node(net, n->inputs[0]);
            double patch = (double)in->channels / n->groups * n->kernel * n->kernel;
            if (patch * n->height * n->width > BUDGET_FLOATS) return 0;
            parameters += patch * n->channels;
        } else if (n->op == GF_OP_LINEAR) {
            parameters += node_floats(gf_net_node(net, n->inputs[0])) * n->channels;
        }
    }
    return activations <= BUDGET_FLOATS && parameters <= BUDGET_FLOATS;
}

void fuzz_net_run(gf_net *net) {
    int c, h, w;
    gf_net_input_shape(net, &c, &h, &w);
    size_t in_floats = (size_t)c * h * w, out_floats = (size_t)gf_net_output_size(net);
    float *input = malloc(in_floats * sizeof *input);
    float *grad = malloc(out_floats * sizeof *grad);
    if (!input || !grad) abort();
    for (size_t i = 0; i < in_floats; i++) input[i] = (float)(i % 7) - 3.0f;
    for (size_t i = 0; i < out_floats; i++) grad[i] = 1.0f / (float)out_floats;
    const float *output;
    gf_net_set_training(net, true);
    if (gf_net_forward(net, input, 1, &output) == 0) {
        gf_net_backward(net, grad);
        gf_net_set_training(net, false);
        gf_net_forward(net, input, 1, &output);
    }
    free(input);
    free(grad);
}
