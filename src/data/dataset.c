#include "data/dataset.h"

#include <math.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/memory.h"

gf_dataset *gf_dataset_create(int64_t count, int channels, int height, int width, int classes) {
    if (count < 0 || channels < 1 || channels > GF_DATASET_MAX_CHANNELS || height < 1 ||
        width < 1 || classes < 1) {
        gf_fail("dataset: invalid shape %lld x %d x %d x %d with %d classes (channels 1..%d)",
                (long long)count, channels, height, width, classes, GF_DATASET_MAX_CHANNELS);
        return NULL;
    }
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
    ds->images = gf_alloc((size_t)(count * gf_dataset_image_bytes(ds)), "dataset images");
    ds->labels = gf_alloc((size_t)count * sizeof(int32_t), "dataset labels");
    if (!ds->images || !ds->labels) {
        gf_dataset_free(ds);
        return NULL;
    }
    return ds;
}

void gf_dataset_free(gf_dataset *ds) {
    if (!ds) return;
    gf_free(ds->images);
    gf_free(ds->labels);
    free(ds);
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
