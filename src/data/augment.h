/* Turns uint8 images into the normalised float input of a network, with the
 * paper's augmentation: a random crop of the original size from the image padded
 * with `pad` zero pixels on every side (torchvision's RandomCrop(size, padding):
 * padding is black, i.e. raw value 0, before normalisation), then a horizontal
 * flip with probability 1/2, then (x / 255 - mean) / std per channel. The random
 * draws per image, in order: crop row offset, crop column offset (each uniform in
 * [0, 2 * pad]), then the flip; none when pad is 0 and flip is off. */
#ifndef GRAFT_DATA_AUGMENT_H
#define GRAFT_DATA_AUGMENT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/rng.h"
#include "data/dataset.h"

typedef struct gf_augment {
    int pad;   /* 0: no crop */
    bool flip;
    /* pixel value v of channel c becomes table[c][v]: (v / 255 - mean) / std */
    float table[GF_DATASET_MAX_CHANNELS][256];
} gf_augment;

int gf_augment_init(gf_augment *a, const gf_dataset *ds, int pad, bool flip);
/* One image (C x H x W bytes) into out (C x H x W floats). */
void gf_augment_image(const gf_augment *a, float *out, const uint8_t *image, int channels,
                      int height, int width, gf_rng *rng);

#endif
