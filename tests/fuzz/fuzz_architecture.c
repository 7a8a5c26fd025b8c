/* libFuzzer harness: the input is the architecture text a checkpoint stores
 * ("graft.architecture" metadata). A text that builds must describe itself back
 * to a text that builds the same network; a network small enough for the fuzzing
 * budget is finalised and run forward and backward on one sample. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz_input.h"
#include "lua/architecture.h"
#include "nn/network.h"

/* Networks above this many floats (activations, parameters, or one convolution's
 * unfolded input) are only built, not run: each input should take milliseconds. */
static const double BUDGET_FLOATS = 1 << 20;

static double node_floats(const gf_node *n) { return (double)n->channels * n->height * n->width; }

static int within_budget(const gf_net *net) {
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

static void run_once(gf_net *net) {
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
    if (gf_net_forward(net, input, 1, &output) == GF_OK) {
        gf_net_backward(net, grad);
        gf_net_set_training(net, false);
        gf_net_forward(net, input, 1, &output);
    }
    free(input);
    free(grad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) abort();
    memcpy(text, data, size);
    text[size] = '\0';
    gf_error_clear();
    gf_net *net = gf_architecture_build(text);
    free(text);
    if (net == NULL) {
        fuzz_refused();
        return 0;
    }
    char *described = gf_architecture_describe(net);
    if (described) {
        gf_net *again = gf_architecture_build(described);
        char *twice = again ? gf_architecture_describe(again) : NULL;
        if (!twice || strcmp(twice, described) != 0) {
            fprintf(stderr, "architecture does not describe itself back:\n%s\n%s\n%s\n", described,
                    twice ? twice : "(not built)", gf_error_message());
            abort();
        }
        free(twice);
        gf_net_free(again);
        free(described);
    }
    if (within_budget(net) && gf_net_finalize(net, 0) == GF_OK) run_once(net);
    gf_net_free(net);
    return 0;
}
