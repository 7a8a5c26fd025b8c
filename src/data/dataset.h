/* A labelled image data set held in memory as it is stored on disk: uint8 pixels,
 * N x C x H x W, and int32 labels in [0, classes). Per-channel mean and std (of
 * pixels scaled to [0, 1]) travel with it for normalisation. */
#ifndef GRAFT_DATA_DATASET_H
#define GRAFT_DATA_DATASET_H

#include <stdint.h>

#define GF_DATASET_MAX_CHANNELS 4
/* Limits of what is read: image sides, images (the loader indexes them with int32)
 * and pixel bytes in all (8 GiB; CIFAR-10 is 150 MB). */
#define GF_DATASET_MAX_SIDE 4096
#define GF_DATASET_MAX_COUNT INT32_MAX
#define GF_DATASET_MAX_BYTES ((int64_t)8 << 30)

typedef struct gf_dataset {
    uint8_t *images;
    int32_t *labels;
    int64_t count;
    int channels, height, width;
    int classes;
    float mean[GF_DATASET_MAX_CHANNELS];
    float std[GF_DATASET_MAX_CHANNELS];
} gf_dataset;

/* Zero-filled; mean 0 and std 1 until set. Shapes beyond the limits above are an
 * error naming the shape and the limit. */
gf_dataset *gf_dataset_create(int64_t count, int channels, int height, int width, int classes);
void gf_dataset_free(gf_dataset *ds);
/* Changes the number of images to `count` (within the limits), keeping the first
 * ones; added images and labels are not initialised (a reader that learns the size
 * of its data while reading grows the data set as the data arrives). On error the
 * data set is unchanged. */
int gf_dataset_resize(gf_dataset *ds, int64_t count);
static inline int64_t gf_dataset_image_bytes(const gf_dataset *ds) {
    return (int64_t)ds->channels * ds->height * ds->width;
}
/* Keeps the first n images (n <= count). */
int gf_dataset_keep_first(gf_dataset *ds, int64_t n);
/* Mean and std per channel over every pixel, scaled to [0, 1] (population std). */
void gf_dataset_compute_stats(const gf_dataset *ds, float *mean, float *std);

#endif
