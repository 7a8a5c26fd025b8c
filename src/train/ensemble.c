#include "train/ensemble.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "train/step.h"

/* Adds the softmax of each row of logits [batch, classes] into sums. */
static void add_softmax(const float *logits, int batch, int classes, double *sums) {
    for (int i = 0; i < batch; i++) {
        const float *row = logits + (int64_t)i * classes;
        double *sum = sums + (int64_t)i * classes;
        float top = row[0];
        for (int c = 1; c < classes; c++)
            if (row[c] > top) top = row[c];
        double z = 0;
        for (int c = 0; c < classes; c++) z += exp((double)row[c] - top);
        for (int c = 0; c < classes; c++) sum[c] += exp((double)row[c] - top) / z;
    }
}

/* The rows [first, first + batch) of the running sums: all samples when they are
 * kept, else one batch. Grows *sums as needed. */
static double *rows_for(double **sums, int64_t *capacity, int64_t first, int batch, int classes) {
    int64_t needed = (first + batch) * classes;
    if (needed > *capacity) {
        int64_t grown = *capacity ? *capacity : needed;
        while (grown < needed) grown *= 2;
        double *bigger = realloc(*sums, (size_t)grown * sizeof **sums);
        if (!bigger) return NULL;
        *sums = bigger;
        *capacity = grown;
    }
    double *rows = *sums + first * classes;
    memset(rows, 0, (size_t)batch * (size_t)classes * sizeof *rows);
    return rows;
}

int64_t gf_ensemble_hits(const double *sums, const int32_t *labels, int64_t samples, int classes) {
    int64_t hits = 0;
    for (int64_t i = 0; i < samples; i++) {
        const double *sum = sums + i * classes;
        int best = 0;
        for (int c = 1; c < classes; c++)
            if (sum[c] > sum[best]) best = c;
        /* a NaN sum scores no hit, as in gf_count_hits */
        hits += best == labels[i] && !isnan(sum[best]);
    }
    return hits;
}

/* The networks must take the loader's images and give as many classes as the first. */
static int check_networks(gf_net *const *nets, int count, gf_loader *loader) {
    int classes = gf_net_output_size(nets[0]), channels, height, width;
    gf_loader_image_shape(loader, &channels, &height, &width);
    for (int k = 0; k < count; k++) {
        if (gf_net_output_size(nets[k]) != classes)
            return gf_fail("ensemble: network %d gives %d classes, network 1 gives %d", k + 1,
                           gf_net_output_size(nets[k]), classes);
        if (gf_check_input_shape(nets[k], channels, height, width) != GF_OK)
            return gf_fail_context("ensemble: network %d", k + 1);
    }
    return GF_OK;
}

int gf_ensemble_softmax(gf_net *net, gf_loader *loader, double **softmax, int32_t **labels,
                        int64_t *samples) {
    *softmax = NULL;
    *labels = NULL;
    *samples = 0;
    if (check_networks(&net, 1, loader) != GF_OK) return GF_ERR;
    int classes = gf_net_output_size(net), n;
    bool was_training = gf_net_is_training(net);
    gf_net_set_training(net, false);
    int64_t capacity = 0, label_capacity = 0, batch_index = 0;
    int status = GF_OK;
    const float *images;
    const int32_t *batch_labels;
    gf_loader_start_epoch(loader);
    while (status == GF_OK && (n = gf_loader_next(loader, &images, &batch_labels)) > 0) {
        double *rows = rows_for(softmax, &capacity, *samples, n, classes);
        if (*samples + n > label_capacity) {
            int64_t grown = label_capacity ? 2 * label_capacity : *samples + n;
            while (grown < *samples + n) grown *= 2;
            int32_t *bigger = realloc(*labels, (size_t)grown * sizeof **labels);
            if (bigger) *labels = bigger, label_capacity = grown;
            else rows = NULL;
        }
        if (!rows) status = gf_fail("ensemble: out of memory for the softmax outputs");
        const float *logits;
        if (status == GF_OK && gf_net_forward(net, images, n, &logits) != GF_OK)
            status = gf_fail_context("ensemble: batch %lld", (long long)batch_index);
        if (status == GF_OK) {
            add_softmax(logits, n, classes, rows);
            memcpy(*labels + *samples, batch_labels, (size_t)n * sizeof **labels);
            *samples += n;
        }
        batch_index++;
    }
    gf_net_set_training(net, was_training);
    if (status == GF_OK && *samples == 0) status = gf_fail("ensemble: the loader gave no images");
    if (status != GF_OK) {
        free(*softmax);
        free(*labels);
        *softmax = NULL;
        *labels = NULL;
        *samples = 0;
    }
    return status;
}

int gf_ensemble_evaluate(gf_net *const *nets, int count, gf_loader *loader,
                         gf_ensemble_result *result, gf_tensor **softmax_sum) {
    *result = (gf_ensemble_result){0};
    if (softmax_sum) *softmax_sum = NULL;
    if (count < 1) return gf_fail("ensemble: no networks");
    if (check_networks(nets, count, loader) != GF_OK) return GF_ERR;
    int classes = gf_net_output_size(nets[0]);
    bool *was_training = malloc((size_t)count * sizeof *was_training);
    if (!was_training) return gf_fail("ensemble: out of memory");
    for (int k = 0; k < count; k++) {
        was_training[k] = gf_net_is_training(nets[k]);
        gf_net_set_training(nets[k], false);
    }
    double *sums = NULL;
    int64_t capacity = 0, batch_index = 0;
    int status = GF_OK, n;
    const float *images;
    const int32_t *labels;
    gf_loader_start_epoch(loader);
    while (status == GF_OK && (n = gf_loader_next(loader, &images, &labels)) > 0) {
        int64_t first = softmax_sum ? result->count : 0;
        double *rows = rows_for(&sums, &capacity, first, n, classes);
        if (!rows) status = gf_fail("ensemble: out of memory for the softmax sums");
        for (int k = 0; status == GF_OK && k < count; k++) {
            const float *logits;
            status = gf_net_forward(nets[k], images, n, &logits);
            if (status == GF_OK)
                add_softmax(logits, n, classes, rows);
            else
                gf_fail_context("ensemble: network %d, batch %lld", k + 1, (long long)batch_index);
        }
        if (status == GF_OK) {
            result->top1 += gf_ensemble_hits(rows, labels, n, classes);
            result->count += n;
        }
        batch_index++;
    }
    for (int k = 0; k < count; k++) gf_net_set_training(nets[k], was_training[k]);
    free(was_training);
    if (status == GF_OK && result->count == 0) status = gf_fail("ensemble: the loader gave no images");
    if (status == GF_OK && softmax_sum) {
        int64_t shape[2] = {result->count, classes};
        gf_tensor *t = gf_tensor_create(2, shape);
        if (!t) status = gf_fail_context("ensemble: the softmax sums");
        for (int64_t i = 0; t && i < result->count * classes; i++) t->data[i] = (float)sums[i];
        *softmax_sum = t;
    }
    free(sums);
    return status;
}
