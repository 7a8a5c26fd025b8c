/* One training step in C, fused so that Lua is not in the per-layer path: forward
 * (training mode), softmax cross-entropy, backward, SGD; and the evaluation pass
 * over a loader. Both count top-1 and top-5 hits: a sample is a top-k hit when fewer
 * than k classes score strictly higher than its label. */
#ifndef GRAFT_TRAIN_STEP_H
#define GRAFT_TRAIN_STEP_H

#include <stdbool.h>
#include <stdint.h>

#include "data/loader.h"
#include "nn/network.h"
#include "train/sgd.h"

typedef struct gf_step_result {
    double loss_sum;    /* sum over samples of the per-sample loss */
    int64_t top1, top5; /* hits */
    int64_t count;      /* samples */
    bool finite;        /* false: the loss was NaN or infinite and no update was made */
} gf_step_result;

/* Counts top-1 and top-5 hits of logits [batch, classes]. */
void gf_count_hits(const float *logits, const int32_t *labels, int batch, int classes,
                   int64_t *top1, int64_t *top5);

/* A batch of `count` images [count, channels, height, width] and their labels. The
 * shape travels with the pointer so that a step can refuse images that are not the
 * network's input (reading them would run past the buffer). */
typedef struct gf_batch {
    const float *images;
    const int32_t *labels;
    int count, channels, height, width;
} gf_batch;

/* Forward, loss, backward and, when the loss is finite, the SGD step with `lr`.
 * A non-finite loss is not an error here: the result says so and the parameters are
 * untouched, so the caller can stop with the epoch and batch in the message. Images
 * of another shape than the network's input are an error naming both shapes. */
int gf_train_step(gf_net *net, gf_sgd *sgd, const gf_batch *batch, float lr,
                  gf_step_result *result);

/* One pass over the loader's epoch in evaluation mode (running BatchNorm
 * statistics); the network's mode is restored afterwards. Sums into *result. The
 * loader's images must have the network's input shape. */
int gf_evaluate(gf_net *net, gf_loader *loader, gf_step_result *result);

#endif
