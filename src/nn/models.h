/* Builders for the reference's CIFAR models (see ../shared/reference-notes.md), named
 * as their PyTorch definitions name their modules, so that state_dicts move both ways;
 * the returned network is finalised with `seed`, initialised as the reference
 * initialises that model (ResNets Kaiming normal, MobileNetV2 and VGG16 PyTorch's
 * defaults, WRN its wrn.py's rule) unless init_given asks for another rule. */
#ifndef GRAFT_NN_MODELS_H
#define GRAFT_NN_MODELS_H

#include <stdbool.h>
#include <stdint.h>

#include "nn/network.h"

typedef struct gf_model_options {
    int classes;     /* 0: 10 */
    int in_channels; /* 0: 3 */
    int image_size;  /* 0: 32 */
    float leaky_slope; /* 0: ReLU; > 0: leaky ReLU with this slope (ResNets only) */
    uint64_t seed;
    bool init_given;   /* false: the reference's rule for the model */
    gf_init_rule init;
} gf_model_options;

/* The deepest CIFAR ResNet of He et al. (2016), ResNet-1202. */
#define GF_MODEL_MAX_RESNET_DEPTH 1202

/* The rules of the builders' sizes, the one place they are written: NULL when the
 * value builds a model, else what it must be ("6n + 2 (8, 14, 20, ...)"), as the
 * builders' errors and graft.models' option checks say it. */
const char *gf_model_resnet_depth_expected(int depth);
const char *gf_model_wrn_depth_expected(int depth);
const char *gf_model_vgg16_size_expected(int image_size);

/* depth 6n + 2 (20, 32, 44, 56, 110, ...), at most GF_MODEL_MAX_RESNET_DEPTH */
gf_net *gf_model_resnet_cifar(int depth, const gf_model_options *options);
gf_net *gf_model_mobilenetv2_cifar(const gf_model_options *options);
/* VGG16 with BatchNorm, CIFAR variant: 13 3x3 convolutions with bias ("features.N",
 * each followed by BatchNorm and ReLU), five 2x2 max poolings, a global average
 * pooling when the images are 64x64 or larger, and "classifier", a linear layer.
 * Images of at least 32x32. */
gf_net *gf_model_vgg16_cifar(const gf_model_options *options);
/* Wide ResNet-depth-widen with pre-activation blocks (depth 6n + 4, widen >= 1), named
 * as the reference's wrn.py: "conv" (3x3, 16), stages "stage1..3.block1..n" (bn1,
 * relu, conv1, bn2, relu, conv2, and "shortcut.conv", a 1x1 conv of the activated
 * input, where the width changes), then "bn", ReLU, global average pooling and
 * "fc". */
gf_net *gf_model_wrn_cifar(int depth, int widen, const gf_model_options *options);

/* One MobileNetV2 inverted-residual block named "layers.<index>" (ReLU), reading
 * node `input` with in_planes channels: 1x1 expand (x expansion), 3x3 depthwise with
 * `stride`, 1x1 project to out_planes; at stride 1 plus a shortcut (identity, or
 * "shortcut.0" 1x1 conv + "shortcut.1" BatchNorm when the widths differ). Returns
 * the block's output node or GF_ERR. For custom networks and the parity test. */
int gf_model_mobilenetv2_block(gf_net *net, int index, int input, int in_planes, int out_planes,
                               int expansion, int stride);

#endif
