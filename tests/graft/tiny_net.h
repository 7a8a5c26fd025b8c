/* A tiny network for the grafting tests, with weights set by hand:
 * input [2, 2, 2] -> conv1 (2 filters, 1x1) -> bn1 -> relu -> conv2 (2 filters, 1x1)
 * -> bn2 -> global average pool -> linear (3 outputs, bias). */
#ifndef GRAFT_TESTS_GRAFT_TINY_NET_H
#define GRAFT_TESTS_GRAFT_TINY_NET_H

#include <stddef.h>
#include <string.h>

#include "nn/network.h"

static gf_net *tiny_net(uint64_t seed, int conv1_filters) {
    gf_net *net = gf_net_create(2, 2, 2);
    if (!net) return NULL;
    int c1 = gf_net_conv2d(net, "conv1", 0, conv1_filters, 1, 1, 0, 1, false);
    int b1 = gf_net_batchnorm(net, "bn1", c1);
    int r1 = gf_net_activation(net, b1, GF_ACT_RELU, 0.0f);
    int c2 = gf_net_conv2d(net, "conv2", r1, 2, 1, 1, 0, 1, false);
    int b2 = gf_net_batchnorm(net, "bn2", c2);
    int pool = gf_net_global_avgpool(net, b2);
    int out = gf_net_linear(net, "linear", pool, 3, true);
    if (out < 0 || gf_net_finalize(net, seed) != 0) {
        gf_net_free(net);
        return NULL;
    }
    return net;
}

/* The floats of a named tensor. */
static float *tensor_of(gf_net *net, const char *name) {
    int index = gf_net_find_slice(net, name);
    return index < 0 ? NULL : gf_net_slice_data(net, gf_net_slice(net, index));
}

static void set_tensor(gf_net *net, const char *name, const float *values, size_t n) {
    memcpy(tensor_of(net, name), values, n * sizeof *values);
}

#endif
