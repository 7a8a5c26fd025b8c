#include "data/dataset.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"

/* Within the limits of dataset.h, or an error naming the shape and the limit. */
static int check_size(int64_t count, int channels, int height, int width) {
    if (count < 0 || count > GF_DATASET_MAX_COUNT)
        return gf_fail("dataset: %lld images (0 to %d)", (long long)count, GF_DATASET_MAX_COUNT);
    if (height > GF_DATASET_MAX_SIDE || width > GF_DATASET_MAX_SIDE)
        return gf_fail("dataset: images of %dx%d (sides up to %d)", height, width,
                       GF_DATASET_MAX_SIDE);
    int64_t bytes = count * channels * height * width;
    if (bytes > GF_DATASET_MAX_BYTES)
        return gf_fail("dataset: %lld images of %dx%dx%d are %lld bytes, above the limit of "
                       "%lld", (long long)count, channels, height, width, (long long)bytes,
                       (long long)GF_DATASET_MAX_BYTES);
    return GF_OK;
}

gf_dataset *gf_dataset_create(int64_t count, int channels, int height, int width, int classes) {
    if (count < 0 || channels < 1 || channels > GF_DATASET_MAX_CHANNELS || height < 1 ||
        width < 1 || classes < 1) {
        gf_fail("dataset: invalid shape %lld x %d x %d x %d with %d classes (channels 1..%d)",
                (long long)count, channels, height, width, classes, GF_DATASET_MAX_CHANNELS);
        return NULL;
    }
    if (check_size(count, channels, height, width) != GF_OK) return NULL;
    gf_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) {
        gf_fail("out of memory allocating a dataset");
        return NULL;
    }
    ds->count = count;
    ds->channels = channels;
    ds->height = height;
    ds->width = width;
    ds->classes = classes;
    for (int c = 0; c < GF_DATASET_MAX_CHANNELS; c++) ds->std[c] = 1.0f;
    /* calloc: a large block comes zeroed from the system, untouched until written */
    size_t n = count > 0 ? (size_t)count : 1;
    ds->images = calloc(n, (size_t)gf_dataset_image_bytes(ds));
    ds->labels = calloc(n, sizeof(int32_t));
    if (!ds->images || !ds->labels) {
        gf_fail("out of memory allocating a dataset of %lld images of %dx%dx%d",
                (long long)count, channels, height, width);
        gf_dataset_free(ds);
        return NULL;
    }
    return ds;
}

void gf_dataset_free(gf_dataset *ds) {
    if (!ds) return;
    free(ds->images);
    free(ds->labels);
    free(ds);
}

int gf_dataset_resize(gf_dataset *ds, int64_t count) {
    if (check_size(count, ds->channels, ds->height, ds->width) != GF_OK) return GF_ERR;
    size_t n = count > 0 ? (size_t)count : 1;
    uint8_t *images = realloc(ds->images, n * (size_t)gf_dataset_image_bytes(ds));
    if (!images)
        return gf_fail("out of memory growing a dataset to %lld images", (long long)count);
    ds->images = images;
    int32_t *labels = realloc(ds->labels, n * sizeof(int32_t));
    if (!labels)
        return gf_fail("out of memory growing a dataset to %lld images", (long long)count);
    ds->labels = labels;
    ds->count = count;
    return GF_OK;
}

int gf_dataset_keep_first(gf_dataset *ds, int64_t n) {
    if (n < 0 || n > ds->count)
        return gf_fail("dataset subset: %lld images requested, the dataset has %lld",
                       (long long)n, (long long)ds->count);
    ds->count = n; /* the tail stays allocated; it is freed with the dataset */
    return GF_OK;
}
void gf_dataset_compute_stats(const gf_dataset *ds, float *mean, float *std) {
    int64_t plane = (int64_t)ds->height * ds->width;
    for (int c = 0; c < ds->channels; c++) {
        /* exact integer sums: no rounding drift over millions of pixels */
        uint64_t sum = 0, squares = 0;
        for (int64_t i = 0; i < ds->count; i++) {
            const uint8_t *p = ds->images + i * gf_dataset_image_bytes(ds) + c * plane;
            for (int64_t k = 0; k < plane; k++) {
                sum += p[k];
                squares += (uint64_t)p[k] * p[k];
            }
        }
        double n = (double)(ds->count * plane);
        double m = n > 0 ? (double)sum / n : 0.0;
        double var = n > 0 ? (double)squares / n - m * m : 0.0;
        mean[c] = (float)(m / 255.0);
        std[c] = (float)(sqrt(var > 0 ? var : 0) / 255.0);
    }
}
