/* The reference's CIFAR models, node for node and name for name, so that their
 * state_dicts load into PyTorch and back (../shared/reference-notes.md). */
#include "nn/models.h"

#include <stdio.h>

#include "core/error.h"

typedef struct resolved_options {
    int classes, in_channels, image_size;
    gf_activation_kind activation;
    float slope;
    uint64_t seed;
    gf_init_rule init;
} resolved_options;

/* reference_init: the rule the reference's code initialises this model with */
static int resolve(const gf_model_options *o, const char *model, gf_init_rule reference_init,
                   resolved_options *r) {
    if (o && (o->classes < 0 || o->in_channels < 0 || o->image_size < 0))
        return gf_fail("%s: classes %d, in_channels %d, image_size %d: sizes must be > 0 (0: the "
                       "defaults 10, 3, 32)",
                       model, o->classes, o->in_channels, o->image_size);
    r->classes = o && o->classes > 0 ? o->classes : 10;
    r->in_channels = o && o->in_channels > 0 ? o->in_channels : 3;
    r->image_size = o && o->image_size > 0 ? o->image_size : 32;
    r->slope = o ? o->leaky_slope : 0.0f;
    r->activation = r->slope > 0.0f ? GF_ACT_LEAKY_RELU : GF_ACT_RELU;
    r->seed = o ? o->seed : 0;
    r->init = o && o->init_given ? o->init : reference_init;
    if (!gf_init_rule_name(r->init))
        return gf_fail("%s: unknown initialisation rule %d", model, (int)r->init);
    if (r->slope < 0.0f)
        return gf_fail("%s: leaky_slope %g must be >= 0 (0 means ReLU)", model, (double)r->slope);
    return GF_OK;
}

/* conv -> bn, and the activation when `activate`; returns the last node */
static int conv_bn(gf_net *net, const char *conv, const char *bn, int input, int out_channels,
                   int kernel, int stride, int groups, bool activate, const resolved_options *r) {
    int x =
        gf_net_conv2d(net, conv, input, out_channels, kernel, stride, kernel / 2, groups, false);
    if (x < 0) return GF_ERR;
    x = gf_net_batchnorm(net, bn, x);
    if (x < 0 || !activate) return x;
    return gf_net_activation(net, x, r->activation, r->slope);
}

/* BasicBlock "<prefix>": conv1 bn1 act conv2 bn2, + shortcut (option A), act */
static int basic_block(gf_net *net, const char *prefix, int x, int in_planes, int planes,
                       int stride, const resolved_options *r) {
    char conv1[64], bn1[64], conv2[64], bn2[64];
    snprintf(conv1, sizeof conv1, "%s.conv1", prefix);
    snprintf(bn1, sizeof bn1, "%s.bn1", prefix);
    snprintf(conv2, sizeof conv2, "%s.conv2", prefix);
    snprintf(bn2, sizeof bn2, "%s.bn2", prefix);
    int out = conv_bn(net, conv1, bn1, x, planes, 3, stride, 1, true, r);
    if (out < 0) return GF_ERR;
    out = conv_bn(net, conv2, bn2, out, planes, 3, 1, 1, false, r);
    if (out < 0) return GF_ERR;
    int shortcut = x;
    if (stride != 1 || in_planes != planes) {
        shortcut = gf_net_shortcut_a(net, x, planes, stride);
        if (shortcut < 0) return GF_ERR;
    }
    out = gf_net_add(net, out, shortcut);
    if (out < 0) return GF_ERR;
    return gf_net_activation(net, out, r->activation, r->slope);
}

static gf_net *fail_build(gf_net *net, const char *model) {
    gf_fail_context("%s", model);
    gf_net_free(net);
    return NULL;
}

const char *gf_model_resnet_depth_expected(int depth) {
    if (depth < 8 || (depth - 2) % 6 != 0) return "6n + 2 (8, 14, 20, 32, 44, 56, 110, ...)";
    if (depth > GF_MODEL_MAX_RESNET_DEPTH)
        return "a depth <= 1202 (the deepest CIFAR ResNet of He et al. 2016)";
    return NULL;
}

const char *gf_model_wrn_depth_expected(int depth) {
    return depth < 10 || (depth - 4) % 6 != 0 ? "6n + 4 (10, 16, 22, 28, 40, ...)" : NULL;
}

const char *gf_model_vgg16_size_expected(int image_size) {
    return image_size < 32 ? "images of at least 32x32 (five 2x2 poolings)" : NULL;
}

gf_net *gf_model_resnet_cifar(int depth, const gf_model_options *options) {
    char model[48];
    snprintf(model, sizeof model, "resnet%d", depth);
    resolved_options r;
    if (resolve(options, model, GF_INIT_KAIMING, &r) != GF_OK) return NULL;
    const char *expected = gf_model_resnet_depth_expected(depth);
    if (expected) {
        gf_fail("resnet: depth %d: %s expected", depth, expected);
        return NULL;
    }
    int blocks = (depth - 2) / 6;
    gf_net *net = gf_net_create(r.in_channels, r.image_size, r.image_size);
    if (!net) return NULL;
    int x = conv_bn(net, "conv1", "bn1", 0, 16, 3, 1, 1, true, &r);
    if (x < 0) return fail_build(net, model);
    int in_planes = 16;
    static const int planes[3] = {16, 32, 64};
    for (int layer = 0; layer < 3; layer++) {
        for (int b = 0; b < blocks; b++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d", layer + 1, b);
            int stride = layer > 0 && b == 0 ? 2 : 1;
            x = basic_block(net, prefix, x, in_planes, planes[layer], stride, &r);
            if (x < 0) return fail_build(net, model);
            in_planes = planes[layer];
        }
    }
    gf_net_set_init(net, r.init);
    if ((x = gf_net_global_avgpool(net, x)) < 0 ||
        gf_net_linear(net, "linear", x, r.classes, true) < 0 ||
        gf_net_set_model(net, model) != GF_OK || gf_net_finalize(net, r.seed) != GF_OK)
        return fail_build(net, model);
    return net;
}

/* MobileNetV2 inverted residual "layers.<index>": 1x1 expand, 3x3 depthwise, 1x1
 * project; at stride 1 a shortcut (identity, or 1x1 conv + bn when widths differ). */
static int inverted_residual(gf_net *net, int index, int x, int in_planes, int out_planes,
                             int expansion, int stride, const resolved_options *r) {
    char names[8][48];
    static const char *parts[8] = {"conv1", "bn1", "conv2",      "bn2",
                                   "conv3", "bn3", "shortcut.0", "shortcut.1"};
    for (int i = 0; i < 8; i++)
        snprintf(names[i], sizeof names[i], "layers.%d.%s", index, parts[i]);
    int planes = expansion * in_planes;
    int out = conv_bn(net, names[0], names[1], x, planes, 1, 1, 1, true, r);
    if (out < 0) return GF_ERR;
    out = conv_bn(net, names[2], names[3], out, planes, 3, stride, planes, true, r);
    if (out < 0) return GF_ERR;
    out = conv_bn(net, names[4], names[5], out, out_planes, 1, 1, 1, false, r);
    if (out < 0 || stride != 1) return out;
    int shortcut = x;
    if (in_planes != out_planes) {
        shortcut = conv_bn(net, names[6], names[7], x, out_planes, 1, 1, 1, false, r);
        if (shortcut < 0) return GF_ERR;
    }
    return gf_net_add(net, out, shortcut);
}

int gf_model_mobilenetv2_block(gf_net *net, int index, int input, int in_planes, int out_planes,
                               int expansion, int stride) {
    resolved_options r;
    if (resolve(NULL, "mobilenetv2 block", GF_INIT_PYTORCH, &r) != GF_OK) return GF_ERR;
    if (in_planes <= 0 || out_planes <= 0 || expansion <= 0 || stride <= 0)
        return gf_fail(
            "mobilenetv2 block layers.%d: in_planes %d, out_planes %d, expansion %d, "
            "stride %d must be positive",
            index, in_planes, out_planes, expansion, stride);
    const gf_node *in = gf_net_node(net, input);
    if (!in || in->channels != in_planes)
        return gf_fail(
            "mobilenetv2 block layers.%d: input node %d has %d channels, not in_planes %d", index,
            input, in ? in->channels : 0, in_planes);
    return inverted_residual(net, index, input, in_planes, out_planes, expansion, stride, &r);
}

gf_net *gf_model_mobilenetv2_cifar(const gf_model_options *options) {
    /* (expansion, out_planes, blocks, stride), with CIFAR's stride 1 in the second stage */
    static const int stages[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 1},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                     {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    const char *model = "mobilenetv2";
    resolved_options r;
    if (resolve(options, model, GF_INIT_PYTORCH, &r) != GF_OK) return NULL;
    gf_net *net = gf_net_create(r.in_channels, r.image_size, r.image_size);
    if (!net) return NULL;
    gf_net_set_init(net, r.init);
    int x = conv_bn(net, "conv1", "bn1", 0, 32, 3, 1, 1, true, &r);
    if (x < 0) return fail_build(net, model);
    int in_planes = 32, index = 0;
    for (int s = 0; s < 7; s++) {
        for (int b = 0; b < stages[s][2]; b++) {
            int stride = b == 0 ? stages[s][3] : 1;
            x = inverted_residual(net, index++, x, in_planes, stages[s][1], stages[s][0], stride,
                                  &r);
            if (x < 0) return fail_build(net, model);
            in_planes = stages[s][1];
        }
    }
    x = conv_bn(net, "conv2", "bn2", x, 1280, 1, 1, 1, true, &r);
    /* the reference's avg_pool2d(out, 4) over the final 4x4 map of a 32x32 input */
    if (x < 0 || (x = gf_net_global_avgpool(net, x)) < 0 ||
        gf_net_linear(net, "linear", x, r.classes, true) < 0 ||
        gf_net_set_model(net, model) != GF_OK || gf_net_finalize(net, r.seed) != GF_OK)
        return fail_build(net, model);
    return net;
}

gf_net *gf_model_vgg16_cifar(const gf_model_options *options) {
    /* channels of each convolution; 0 is a 2x2 max pooling ('M' in PyTorch's cfg) */
    static const int cfg[] = {64,  64,  0,   128, 128, 0,   256, 256, 256,
                              0,   512, 512, 512, 0,   512, 512, 512, 0};
    const char *model = "vgg16";
    resolved_options r;
    /* the reference's models/vgg.py has no init code: PyTorch's defaults */
    if (resolve(options, model, GF_INIT_PYTORCH, &r) != GF_OK) return NULL;
    const char *expected = gf_model_vgg16_size_expected(r.image_size);
    if (expected) {
        gf_fail("vgg16: image_size %d: %s expected", r.image_size, expected);
        return NULL;
    }
    gf_net *net = gf_net_create(r.in_channels, r.image_size, r.image_size);
    if (!net) return NULL;
    int x = 0, index = 0; /* index: PyTorch's position in the features Sequential */
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        if (cfg[i] == 0) {
            x = gf_net_maxpool(net, x, 2, 2, 0);
            index += 1;
        } else {
            char conv[32], bn[32];
            snprintf(conv, sizeof conv, "features.%d", index);
            snprintf(bn, sizeof bn, "features.%d", index + 1);
            x = gf_net_conv2d(net, conv, x, cfg[i], 3, 1, 1, 1, true);
            if (x >= 0) x = gf_net_batchnorm(net, bn, x);
            if (x >= 0) x = gf_net_activation(net, x, GF_ACT_RELU, 0.0f);
            index += 3;
        }
        if (x < 0) return fail_build(net, model);
    }
    /* larger images leave more than 1x1 after the poolings; average what is left */
    if (r.image_size >= 64 && (x = gf_net_global_avgpool(net, x)) < 0)
        return fail_build(net, model);
    gf_net_set_init(net, r.init);
    if (gf_net_linear(net, "classifier", x, r.classes, true) < 0 ||
        gf_net_set_model(net, model) != GF_OK || gf_net_finalize(net, r.seed) != GF_OK)
        return fail_build(net, model);
    return net;
}

/* Pre-activation block "<prefix>": bn1 relu conv1 (stride) bn2 relu conv2, plus the
 * input, or where the width changes a 1x1 "shortcut.conv" of the activated input. */
static int wide_block(gf_net *net, const char *prefix, int x, int in_planes, int out_planes,
                      int stride) {
    char bn1[64], conv1[64], bn2[64], conv2[64], shortcut_name[64];
    snprintf(bn1, sizeof bn1, "%s.bn1", prefix);
    snprintf(conv1, sizeof conv1, "%s.conv1", prefix);
    snprintf(bn2, sizeof bn2, "%s.bn2", prefix);
    snprintf(conv2, sizeof conv2, "%s.conv2", prefix);
    snprintf(shortcut_name, sizeof shortcut_name, "%s.shortcut.conv", prefix);
    int activated = gf_net_batchnorm(net, bn1, x);
    if (activated < 0 || (activated = gf_net_activation(net, activated, GF_ACT_RELU, 0.0f)) < 0)
        return GF_ERR;
    int y = gf_net_conv2d(net, conv1, activated, out_planes, 3, stride, 1, 1, false);
    if (y < 0 || (y = gf_net_batchnorm(net, bn2, y)) < 0 ||
        (y = gf_net_activation(net, y, GF_ACT_RELU, 0.0f)) < 0 ||
        (y = gf_net_conv2d(net, conv2, y, out_planes, 3, 1, 1, 1, false)) < 0)
        return GF_ERR;
    int shortcut = x;
    if (in_planes != out_planes &&
        (shortcut = gf_net_conv2d(net, shortcut_name, activated, out_planes, 1, stride, 0, 1,
                                  false)) < 0)
        return GF_ERR;
    return gf_net_add(net, shortcut, y);
}

gf_net *gf_model_wrn_cifar(int depth, int widen, const gf_model_options *options) {
    char model[48];
    snprintf(model, sizeof model, "wrn%d_%d", depth, widen);
    resolved_options r;
    if (resolve(options, model, GF_INIT_WRN, &r) != GF_OK) return NULL;
    const char *expected = gf_model_wrn_depth_expected(depth);
    if (expected) {
        gf_fail("wrn: depth %d: %s expected", depth, expected);
        return NULL;
    }
    if (widen < 1) {
        gf_fail("wrn: widen %d: >= 1 expected", widen);
        return NULL;
    }
    if (widen > GF_NET_MAX_CHANNELS / 64) {
        gf_fail("wrn: widen %d makes %lld channels, beyond the limit %d (docs/limits.md)", widen,
                64LL * widen, GF_NET_MAX_CHANNELS);
        return NULL;
    }
    int blocks = (depth - 4) / 6;
    gf_net *net = gf_net_create(r.in_channels, r.image_size, r.image_size);
    if (!net) return NULL;
    int x = gf_net_conv2d(net, "conv", 0, 16, 3, 1, 1, 1, false);
    if (x < 0) return fail_build(net, model);
    int planes = 16;
    for (int group = 1; group <= 3; group++) {
        int out_planes = (16 << (group - 1)) * widen; /* 16k, 32k, 64k */
        for (int i = 0; i < blocks; i++) {
            char prefix[48];
            snprintf(prefix, sizeof prefix, "stage%d.block%d", group, i + 1);
            int stride = i == 0 && group > 1 ? 2 : 1;
            x = wide_block(net, prefix, x, planes, out_planes, stride);
            if (x < 0) return fail_build(net, model);
            planes = out_planes;
        }
    }
    gf_net_set_init(net, r.init);
    if ((x = gf_net_batchnorm(net, "bn", x)) < 0 ||
        (x = gf_net_activation(net, x, GF_ACT_RELU, 0.0f)) < 0 ||
        (x = gf_net_global_avgpool(net, x)) < 0 || gf_net_linear(net, "fc", x, r.classes, true) < 0 ||
        gf_net_set_model(net, model) != GF_OK || gf_net_finalize(net, r.seed) != GF_OK)
        return fail_build(net, model);
    return net;
}
