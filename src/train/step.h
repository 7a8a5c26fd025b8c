/* One training step in C, fused so that Lua is not in the per-layer path: forward
 * (training mode), softmax cross-entropy, backward, SGD; the steps of the methods
 * Table 5 compares grafting with (knowledge distillation, deep mutual learning),
 * which add soft targets to the loss; and the evaluation pass over a loader. All
 * count top-1 and top-5 hits: a sample is a top-k hit when fewer than k classes
 * score strictly higher than its label. */
#ifndef GRAFT_TRAIN_STEP_H
#define GRAFT_TRAIN_STEP_H

#include <stdbool.h>
#include <stdint.h>

#include "data/loader.h"
#include "nn/loss.h"
#include "nn/network.h"
#include "train/sgd.h"

typedef struct gf_step_result {
    double loss_sum;    /* sum over samples of the per-sample loss */
    int64_t top1, top5; /* hits */
    int64_t count;      /* samples */
    /* false: the loss, or a BatchNorm running statistic the forward pass updated,
     * became NaN or infinite; the step then made no update and put the running
     * statistics and counters back as they were before it */
    bool finite;
    const char *bad_statistic; /* NULL, or that statistic's name (the network's) */
    float bad_value;           /* its first non-finite value */
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

/* GF_OK when images of channels x height x width are net's input, else an error
 * naming both shapes. */
int gf_check_input_shape(const gf_net *net, int channels, int height, int width);

/* Forward, loss, backward and, when the loss and the running statistics are finite,
 * the SGD step with `lr`. A non-finite loss or statistic is not an error here: the
 * result says so and the parameters, statistics and counters are as before the step,
 * so the caller can stop with the epoch and batch in the message. Images of another
 * shape than the network's input are an error naming both shapes. */
int gf_train_step(gf_net *net, gf_sgd *sgd, const gf_batch *batch, float lr,
                  gf_step_result *result);

/* gf_train_step with soft targets (nn/loss.h) in the loss; soft->logits must not
 * live in this network's activations. result->loss_sum counts the whole loss. */
int gf_train_step_soft(gf_net *net, gf_sgd *sgd, const gf_batch *batch, float lr,
                       const gf_soft_targets *soft, gf_step_result *result);

/* Knowledge distillation: the teacher (same input and classes; left in the mode it
 * was in, unchanged) scores the batch in evaluation mode, then the student takes a
 * step on the labels and the teacher's logits at `temperature`, with `weight`. */
int gf_distill_step(gf_net *student, gf_sgd *sgd, gf_net *teacher, const gf_batch *batch,
                    float lr, double temperature, double weight, gf_step_result *result);

/* Deep mutual learning over `count` >= 2 networks: all score the same batch in
 * training mode, then each takes a step (its own sgd and lrs[k]) on the labels and
 * the other networks' logits from this same forward pass (T = temperature, usually
 * 1). results[count]. A non-finite loss or running statistic in any network updates
 * none, and puts every network's statistics back. */
int gf_mutual_step(gf_net *const *nets, gf_sgd *const *sgds, int count, const gf_batch *batch,
                   const float *lrs, double temperature, double weight,
                   gf_step_result *results);

/* One pass over the loader's epoch in evaluation mode (running BatchNorm
 * statistics); the network's mode is restored afterwards. Sums into *result. The
 * loader's images must have the network's input shape. */
int gf_evaluate(gf_net *net, gf_loader *loader, gf_step_result *result);

#endif
