/* Builders for the reference's CIFAR models (see ../shared/reference-notes.md);
 * the returned network is finalised with `seed`. */
#ifndef GRAFT_NN_MODELS_H
#define GRAFT_NN_MODELS_H

#include <stdint.h>

#include "nn/network.h"

typedef struct gf_model_options {
    int classes;     /* default 10 */
    int in_channels; /* default 3 */
    int image_size;  /* default 32 */
    float leaky_slope; /* 0: ReLU; > 0: leaky ReLU with this slope (ResNets only) */
    uint64_t seed;
} gf_model_options;

/* depth in {20, 32, 44, 56, 110}: 6n + 2 */
gf_net *gf_model_resnet_cifar(int depth, const gf_model_options *options);
gf_net *gf_model_mobilenetv2_cifar(const gf_model_options *options);

#endif
