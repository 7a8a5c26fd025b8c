/* Convolutions that apply the input gradient of the BatchNorm after them (nn/plan.h,
 * nn/gradient_map.h) against the same networks with gradient maps switched off
 * (BatchNorm writes that gradient and the convolution reads it): ResNets with ReLU and
 * leaky ReLU, a pre-activation Wide ResNet, MobileNetV2 (whose 1x1 and depthwise
 * convolutions cannot apply them) and a network of odd readers, at random batch sizes
 * and images, give the same outputs, parameter gradients and running statistics, bit
 * for bit, over two training steps; and the plan marks exactly the BatchNorms right
 * after a convolution of Winograd's kind without bias that only they read, and keeps
 * the gradient such a BatchNorm reads apart from those its convolution writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/rng.h"
#include "nn/conv2d.h"
#include "nn/models.h"
#include "nn/network.h"
#include "nn/plan.h"

/* The gradient a marked BatchNorm reads lives until its convolution's backward has
 * read it: it never shares a buffer with the gradients that convolution writes. */
static void check_slots(const gf_net *net, const char *what) {
    const int count = gf_net_node_count(net);
    gf_plan plan;
    CHECK(gf_plan_create(&plan, gf_net_node(net, 0), count, true) == GF_OK);
    for (int i = 0; i < count; i++) {
        const int conv = plan.nodes[i].gradient_mapped_by;
        if (conv < 0) continue;
        const int read_slot = plan.nodes[gf_plan_gradient_read_by(&plan, i)].grad_slot;
        const int input = gf_net_node(net, conv)->inputs[0];
        if (input > 0 && plan.nodes[input].grad_slot == read_slot)
            fprintf(stderr, "%s: node %d's gradient shares a buffer with node %d's\n", what,
                    input, gf_plan_gradient_read_by(&plan, i));
        CHECK(input == 0 || plan.nodes[input].grad_slot != read_slot);
    }
    gf_plan_free(&plan);
}

/* How many BatchNorms the plan of `net` marks. */
static int marks_of(const gf_net *net) {
    const int count = gf_net_node_count(net);
    gf_plan plan;
    CHECK(gf_plan_create(&plan, gf_net_node(net, 0), count, true) == GF_OK);
    int marks = 0;
    for (int i = 0; i < count; i++) marks += plan.nodes[i].gradient_mapped_by >= 0;
    gf_plan_free(&plan);
    return marks;
}

/* Two training steps of two copies of one network, the first with gradient maps, the
 * second without: the same bits throughout. */
static void same_steps(gf_net *nets[2], int batch, uint64_t seed, const char *what) {
    int c, h, w;
    CHECK(gf_net_input_shape(nets[0], &c, &h, &w) == GF_OK);
    const size_t in_n = (size_t)batch * c * h * w;
    const size_t out_n = (size_t)batch * gf_net_output_size(nets[0]);
    const size_t params = gf_net_param_count(nets[0]);
    float *input = malloc(in_n * sizeof *input), *grad_output = malloc(out_n * sizeof *grad_output);
    check_slots(nets[0], what);
    gf_rng rng;
    gf_rng_seed(&rng, seed, 5);
    bool same = true;
    for (int step = 0; step < 2; step++) {
        gf_rng_fill_normal(&rng, input, in_n, 0.0f, 1.0f);
        gf_rng_fill_normal(&rng, grad_output, out_n, 0.0f, 1.0f);
        const float *out[2];
        for (int k = 0; k < 2; k++) {
            gf_net_set_training(nets[k], true);
            gf_conv2d_use_gradient_maps(k == 0);
            CHECK(gf_net_forward(nets[k], input, batch, &out[k]) == GF_OK);
            CHECK(gf_net_backward(nets[k], grad_output) == GF_OK);
        }
        gf_conv2d_use_gradient_maps(true);
        same = same && memcmp(out[0], out[1], out_n * sizeof(float)) == 0 &&
               memcmp(gf_net_grads(nets[0]), gf_net_grads(nets[1]), params * sizeof(float)) == 0 &&
               memcmp(gf_net_stats(nets[0]), gf_net_stats(nets[1]),
                      gf_net_stat_count(nets[0]) * sizeof(float)) == 0;
        /* a step of plain descent, so that the second step starts elsewhere */
        for (int k = 0; k < 2; k++)
            for (size_t p = 0; p < params; p++)
                gf_net_params(nets[k])[p] -= 0.05f * gf_net_grads(nets[k])[p];
    }
    if (!same) fprintf(stderr, "%s, batch %d: the gradient maps change the bits\n", what, batch);
    CHECK(same);
    free(input);
    free(grad_output);
}

static void models(void) {
    gf_rng rng;
    gf_rng_seed(&rng, 2051, 3);
    for (int round = 0; round < 4; round++) {
        const int batch = 2 + (int)gf_rng_below(&rng, 7);
        gf_model_options o = {.classes = 5,
                              .in_channels = 1 + (int)gf_rng_below(&rng, 3),
                              .image_size = 8 + (int)gf_rng_below(&rng, 13),
                              .leaky_slope = round % 2 ? 0.1f : 0.0f,
                              .seed = 40 + (uint64_t)round};
        gf_net *resnets[2] = {gf_model_resnet_cifar(8, &o), gf_model_resnet_cifar(8, &o)};
        CHECK(resnets[0] && resnets[1]);
        /* of its 7 BatchNorms, not those after the first convolution (1 to 3 input
         * channels) and the two of stride 2 */
        if (resnets[0]) CHECK(marks_of(resnets[0]) == 4);
        if (resnets[0] && resnets[1]) same_steps(resnets, batch, 60 + (uint64_t)round, "ResNet-8");
        gf_net_free(resnets[0]);
        gf_net_free(resnets[1]);
        gf_net *wrns[2] = {gf_model_wrn_cifar(10, 1, &o), gf_model_wrn_cifar(10, 1, &o)};
        CHECK(wrns[0] && wrns[1]);
        if (wrns[0] && wrns[1]) same_steps(wrns, batch, 70 + (uint64_t)round, "WRN-10-1");
        gf_net_free(wrns[0]);
        gf_net_free(wrns[1]);
    }
    gf_model_options o = {.classes = 4, .image_size = 32, .seed = 9};
    gf_net *mobilenets[2] = {gf_model_mobilenetv2_cifar(&o), gf_model_mobilenetv2_cifar(&o)};
    CHECK(mobilenets[0] && mobilenets[1]);
    if (mobilenets[0]) CHECK(marks_of(mobilenets[0]) == 0);
    if (mobilenets[0] && mobilenets[1]) same_steps(mobilenets, 2, 80, "MobileNetV2");
    gf_net_free(mobilenets[0]);
    gf_net_free(mobilenets[1]);
}

/* A network of odd readers: a convolution with bias before its BatchNorm, one read by
 * its BatchNorm and a pooling, a BatchNorm reading a convolution two nodes back; only
 * the plain pair is marked, and training gives the same bits either way. */
static gf_net *odd_readers(int *marked_bn, int *marked_conv, int unmarked_bn[3]) {
    gf_net *net = gf_net_create(3, 10, 10);
    int with_bias = gf_net_conv2d(net, "a.conv", 0, 8, 3, 1, 1, 1, true);
    unmarked_bn[0] = gf_net_batchnorm(net, "a.bn", with_bias);
    int x = gf_net_activation(net, unmarked_bn[0], GF_ACT_RELU, 0.0f);
    *marked_conv = gf_net_conv2d(net, "b.conv", x, 8, 3, 1, 1, 1, false);
    *marked_bn = gf_net_batchnorm(net, "b.bn", *marked_conv);
    const int b = gf_net_activation(net, *marked_bn, GF_ACT_RELU6, 0.0f);
    const int read_twice = gf_net_conv2d(net, "c.conv", b, 8, 3, 1, 1, 1, false);
    gf_net_global_avgpool(net, read_twice);
    unmarked_bn[1] = gf_net_batchnorm(net, "c.bn", read_twice);
    const int far = gf_net_conv2d(net, "d.conv", b, 8, 3, 1, 1, 1, false);
    const int between = gf_net_activation(net, unmarked_bn[1], GF_ACT_RELU, 0.0f);
    unmarked_bn[2] = gf_net_batchnorm(net, "d.bn", far);
    x = gf_net_add(net, between, unmarked_bn[2]);
    x = gf_net_global_avgpool(net, x);
    x = gf_net_linear(net, "fc", x, 3, true);
    if (x < 0 || gf_net_finalize(net, 17) != GF_OK) {
        fprintf(stderr, "odd readers: %s\n", gf_error_message());
        gf_net_free(net);
        return NULL;
    }
    return net;
}

static void plan_marks(void) {
    int marked_bn, marked_conv, unmarked[3];
    gf_net *nets[2] = {odd_readers(&marked_bn, &marked_conv, unmarked),
                       odd_readers(&marked_bn, &marked_conv, unmarked)};
    CHECK(nets[0] && nets[1]);
    if (!nets[0] || !nets[1]) return;
    const int count = gf_net_node_count(nets[0]);
    gf_plan plan;
    CHECK(gf_plan_create(&plan, gf_net_node(nets[0], 0), count, true) == GF_OK);
    CHECK(marks_of(nets[0]) == 1);
    CHECK(plan.nodes[marked_bn].gradient_mapped_by == marked_conv);
    for (int k = 0; k < 3; k++) CHECK(plan.nodes[unmarked[k]].gradient_mapped_by == -1);
    gf_plan_free(&plan);
    same_steps(nets, 3, 90, "odd readers");
    gf_net_free(nets[0]);
    gf_net_free(nets[1]);
}

int main(void) {
    models();
    plan_marks();
    return CHECK_DONE();
}
