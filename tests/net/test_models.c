/* The model builders (ResNets, MobileNetV2, VGG16, WRN): parameter counts as PyTorch
 * counts them, state_dict names in PyTorch's order, output shapes, options and their
 * errors. The complete key lists
 * are compared with PyTorch's in test_parity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/rng.h"
#include "nn/conv2d.h"
#include "nn/models.h"

static size_t trainable(gf_net *net) { return gf_net_param_count(net); }

static void check_forward_shape(gf_net *net, int batch, int classes) {
    int c, h, w;
    gf_net_input_shape(net, &c, &h, &w);
    size_t n = (size_t)batch * c * h * w;
    float *input = calloc(n, sizeof(float));
    gf_rng rng;
    gf_rng_seed(&rng, 1, 1);
    gf_rng_fill_normal(&rng, input, n, 0.0f, 1.0f);
    const float *out = NULL;
    CHECK(gf_net_forward(net, input, batch, &out) == GF_OK);
    CHECK(gf_net_output_size(net) == classes);
    int finite = 1;
    for (int i = 0; out && i < batch * classes; i++) finite &= isfinite(out[i]);
    CHECK(finite);
    free(input);
}

/* An evaluation forward holds at most four activations at once (a block's input,
 * kept for its residual, a layer's input and output, and a shortcut branch's), each
 * no larger than the largest, besides the convolutions' scratch, one convolution's
 * weights and bias with its BatchNorm folded in, and max pooling's winners; a training
 * forward keeps every convolution's output and more. */
static void check_inference_arena(gf_net *net, int batch) {
    size_t largest = 0, conv_outputs = 0, workspace = 0, folded = 0;
    for (int i = 1; i < gf_net_node_count(net); i++) {
        const gf_node *n = gf_net_node(net, i), *in = gf_net_node(net, n->inputs[0]);
        size_t floats = (size_t)gf_node_numel(n) * (size_t)batch;
        if (floats > largest) largest = floats;
        if (n->op != GF_OP_CONV2D) continue;
        conv_outputs += floats;
        gf_conv2d_shape conv = {.batch = batch, .in_channels = in->channels,
                                .in_h = in->height, .in_w = in->width,
                                .out_channels = n->channels, .kernel = n->kernel,
                                .stride = n->stride, .padding = n->padding, .groups = n->groups};
        CHECK(gf_conv2d_shape_init(&conv) == GF_OK);
        size_t w = gf_conv2d_workspace_floats(&conv);
        if (w > workspace) workspace = w;
        size_t weights = (size_t)n->channels * (size_t)(in->channels / n->groups) *
                             (size_t)(n->kernel * n->kernel) + (size_t)n->channels;
        if (weights > folded) folded = weights;
    }
    gf_net_set_training(net, false);
    check_forward_shape(net, batch, gf_net_output_size(net));
    gf_net_set_training(net, true);
    check_forward_shape(net, batch, gf_net_output_size(net));
    size_t inference = gf_net_mode_arena_bytes(net, false);
    size_t training = gf_net_mode_arena_bytes(net, true);
    /* four activations, the winners and the folded weights, each rounded up to a
     * 64-byte line */
    CHECK(inference <=
          (4 * (largest + 16) + (largest + 16) + workspace + 16 + folded + 16) * sizeof(float));
    CHECK(training >= conv_outputs * sizeof(float));
}

static void test_resnets(void) {
    /* ResNet-20 for 10 classes has 269,722 trainable parameters; the others as
     * PyTorch counts them for the reference's model (0.46M, 0.66M, 0.85M, 1.7M) */
    static const struct {
        int depth;
        size_t params;
    } expected[] = {{20, 269722}, {32, 464154}, {44, 658586}, {56, 853018}, {110, 1727962}};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        gf_model_options o = {.classes = 10, .seed = 1};
        gf_net *net = gf_model_resnet_cifar(expected[i].depth, &o);
        CHECK(net != NULL);
        if (!net) continue;
        if (trainable(net) != expected[i].params)
            fprintf(stderr, "resnet%d: %zu parameters\n", expected[i].depth, trainable(net));
        CHECK(trainable(net) == expected[i].params);
        int blocks = (expected[i].depth - 2) / 6;
        /* conv1 + bn1 (5 tensors) + per block 2 x (conv + bn) + linear (2) */
        CHECK(gf_net_slice_count(net) == 1 + 5 + blocks * 3 * 12 + 2);
        gf_net_free(net);
    }

    gf_net *net = gf_model_resnet_cifar(20, NULL);
    CHECK(strcmp(gf_net_slice(net, 0)->name, "conv1.weight") == 0);
    CHECK(strcmp(gf_net_slice(net, 5)->name, "bn1.num_batches_tracked") == 0);
    CHECK(strcmp(gf_net_slice(net, 6)->name, "layer1.0.conv1.weight") == 0);
    CHECK(strcmp(gf_net_slice(net, 7)->name, "layer1.0.bn1.weight") == 0);
    int last = gf_net_slice_count(net) - 1;
    CHECK(strcmp(gf_net_slice(net, last - 1)->name, "linear.weight") == 0);
    CHECK(strcmp(gf_net_slice(net, last)->name, "linear.bias") == 0);
    CHECK(gf_net_find_slice(net, "layer3.2.bn2.running_var") >= 0);
    CHECK(gf_net_find_slice(net, "layer3.3.conv1.weight") < 0);
    const gf_slice *down = gf_net_slice(net, gf_net_find_slice(net, "layer2.0.conv1.weight"));
    CHECK(down->shape[0] == 32 && down->shape[1] == 16 && down->shape[2] == 3);
    /* option A: the first blocks of layer2 and layer3 downsample without parameters */
    int shortcuts = 0, leaky = 0;
    for (int i = 0; i < gf_net_node_count(net); i++) {
        shortcuts += gf_net_node(net, i)->op == GF_OP_SHORTCUT_A;
        leaky += gf_net_node(net, i)->activation == GF_ACT_LEAKY_RELU;
    }
    CHECK(shortcuts == 2 && leaky == 0);
    check_forward_shape(net, 2, 10);
    /* activation gradients share a few buffers: the arena holds the outputs, a
     * little more for gradients and the im2col scratch, not a second copy */
    size_t outputs = 0;
    for (int i = 0; i < gf_net_node_count(net); i++) {
        const gf_node *n = gf_net_node(net, i);
        outputs += (size_t)n->channels * n->height * n->width * 2 * sizeof(float);
    }
    CHECK(gf_net_arena_bytes(net) < outputs * 3 / 2);
    check_inference_arena(net, 4);
    gf_net_free(net);

    gf_model_options o = {.classes = 100, .in_channels = 1, .image_size = 28, .leaky_slope = 0.1f};
    net = gf_model_resnet_cifar(32, &o);
    CHECK(net != NULL);
    int leaky_nodes = 0, activations = 0;
    for (int i = 0; i < gf_net_node_count(net); i++) {
        const gf_node *n = gf_net_node(net, i);
        if (n->op != GF_OP_ACTIVATION) continue;
        activations++;
        leaky_nodes += n->activation == GF_ACT_LEAKY_RELU && n->slope == 0.1f;
    }
    CHECK(activations == 1 + 2 * 15 && leaky_nodes == activations);
    CHECK(gf_net_slice(net, 0)->shape[1] == 1);
    check_forward_shape(net, 3, 100);
    gf_net_free(net);

    CHECK(gf_model_resnet_cifar(21, NULL) == NULL);
    CHECK_CONTAINS(gf_error_message(), "resnet: depth 21: 6n + 2 (8, 14, 20, 32, 44, 56, 110, ...) expected");
    CHECK(gf_model_resnet_cifar(1208, NULL) == NULL);
    CHECK_CONTAINS(gf_error_message(), "resnet: depth 1208: a depth <= 1202");
    o = (gf_model_options){.leaky_slope = -1.0f};
    CHECK(gf_model_resnet_cifar(20, &o) == NULL);
    CHECK_CONTAINS(gf_error_message(), "leaky_slope -1");
    /* a negative size is an error, not the default that 0 asks for */
    o = (gf_model_options){.classes = -3};
    CHECK(gf_model_resnet_cifar(20, &o) == NULL);
    CHECK_CONTAINS(gf_error_message(), "classes -3, in_channels 0, image_size 0: sizes must be > 0");
    o = (gf_model_options){.image_size = -32};
    CHECK(gf_model_mobilenetv2_cifar(&o) == NULL);
    CHECK_CONTAINS(gf_error_message(), "image_size -32");
}

static void test_mobilenetv2(void) {
    gf_net *net = gf_model_mobilenetv2_cifar(NULL);
    CHECK(net != NULL);
    if (!net) return;
    CHECK(trainable(net) == 2296922);
    CHECK(strcmp(gf_net_slice(net, 6)->name, "layers.0.conv1.weight") == 0);
    CHECK(gf_net_find_slice(net, "layers.0.shortcut.0.weight") >= 0);      /* 32 -> 16 */
    CHECK(gf_net_find_slice(net, "layers.1.shortcut.1.running_var") >= 0); /* 16 -> 24 */
    CHECK(gf_net_find_slice(net, "layers.2.shortcut.0.weight") < 0);       /* identity */
    CHECK(gf_net_find_slice(net, "layers.3.shortcut.0.weight") < 0);       /* stride 2 */
    CHECK(gf_net_find_slice(net, "layers.16.conv3.weight") >= 0);
    CHECK(gf_net_find_slice(net, "layers.17.conv1.weight") < 0);
    const gf_slice *dw = gf_net_slice(net, gf_net_find_slice(net, "layers.3.conv2.weight"));
    CHECK(dw->shape[0] == 144 && dw->shape[1] == 1 && dw->shape[2] == 3);
    /* 32x32 stays 32x32 through the first two stages, ends at 4x4 before pooling */
    int last_conv = -1;
    for (int i = 0; i < gf_net_node_count(net); i++)
        if (gf_net_node(net, i)->op == GF_OP_CONV2D) last_conv = i;
    CHECK(gf_net_node(net, last_conv)->height == 4 &&
          gf_net_node(net, last_conv)->channels == 1280);
    check_forward_shape(net, 2, 10);
    check_inference_arena(net, 4);
    gf_net_free(net);

    gf_model_options o = {.classes = 100};
    net = gf_model_mobilenetv2_cifar(&o);
    CHECK(trainable(net) == 2296922 + 90 * 1281);
    gf_net_free(net);

    net = gf_net_create(8, 4, 4);
    CHECK(gf_model_mobilenetv2_block(net, 0, 0, 16, 24, 6, 1) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "input node 0 has 8 channels, not in_planes 16");
    gf_net_free(net);
}

static void test_vgg16_and_wrn(void) {
    gf_net *net = gf_model_vgg16_cifar(NULL);
    CHECK(net && trainable(net) == 14728266 && strcmp(gf_net_model(net), "vgg16") == 0);
    CHECK(net && gf_net_find_slice(net, "features.41.num_batches_tracked") >= 0);
    CHECK(net && gf_net_find_slice(net, "classifier.bias") >= 0);
    if (net) check_inference_arena(net, 2);
    gf_net_free(net);
    gf_model_options o = {.image_size = 16};
    CHECK(gf_model_vgg16_cifar(&o) == NULL);
    CHECK_CONTAINS(gf_error_message(), "vgg16: image_size 16: images of at least 32x32 (five 2x2 poolings) expected");

    o = (gf_model_options){.classes = 7, .in_channels = 1, .image_size = 20};
    net = gf_model_wrn_cifar(16, 2, &o);
    CHECK(net && strcmp(gf_net_model(net), "wrn16_2") == 0);
    CHECK(net && gf_net_find_slice(net, "stage1.block1.shortcut.conv.weight") >= 0);
    CHECK(net && gf_net_find_slice(net, "stage2.block2.shortcut.conv.weight") < 0);
    CHECK(net && strcmp(gf_net_slice(net, 0)->name, "conv.weight") == 0);
    if (net) check_forward_shape(net, 3, 7);
    if (net) check_inference_arena(net, 3);
    gf_net_free(net);
    CHECK(gf_model_wrn_cifar(27, 1, NULL) == NULL);
    CHECK_CONTAINS(gf_error_message(), "wrn: depth 27: 6n + 4 (10, 16, 22, 28, 40, ...) expected");
    CHECK(gf_model_wrn_cifar(10, 0, NULL) == NULL);
    CHECK_CONTAINS(gf_error_message(), "wrn: widen 0: >= 1 expected");
    CHECK(gf_model_wrn_cifar(10, 2000, NULL) == NULL);
    CHECK_CONTAINS(gf_error_message(), "widen 2000 makes 128000 channels, beyond the limit 65536");
}

int main(void) {
    test_resnets();
    test_mobilenetv2();
    test_vgg16_and_wrn();
    return CHECK_DONE();
}
