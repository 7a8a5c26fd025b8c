#include "train/step.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/loss.h"

void gf_count_hits(const float *logits, const int32_t *labels, int batch, int classes,
                   int64_t *top1, int64_t *top5) {
    for (int i = 0; i < batch; i++) {
        const float *row = logits + (int64_t)i * classes;
        float target = row[labels[i]];
        int higher = 0;
        for (int c = 0; c < classes; c++) higher += row[c] > target;
        /* a NaN logit for the label scores no hit */
        if (target != target) continue;
        *top1 += higher == 0;
        *top5 += higher < 5;
    }
}

/* Images of channels x height x width fit the network's input, or an error naming
 * both shapes. */
int gf_check_input_shape(const gf_net *net, int channels, int height, int width) {
    int c, h, w;
    gf_net_input_shape(net, &c, &h, &w);
    if (c != channels || h != height || w != width)
        return gf_fail("the images are %dx%dx%d but the network takes %dx%dx%d", channels,
                       height, width, c, h, w);
    return GF_OK;
}

/* The loss of logits [batch, classes] (with soft targets when soft is not NULL),
 * its gradient into grad (may be NULL), and the hits, into result. */
static int score(const float *logits, const int32_t *labels, int batch, int classes,
                 const gf_soft_targets *soft, float *grad, float *loss, gf_step_result *result) {
    int status = soft ? gf_soft_target_loss(loss, NULL, grad, logits, labels, batch, classes, soft)
                      : gf_cross_entropy(loss, grad, logits, labels, batch, classes);
    if (status != GF_OK) return GF_ERR;
    gf_count_hits(logits, labels, batch, classes, &result->top1, &result->top5);
    result->loss_sum += (double)*loss * batch;
    result->count += batch;
    return GF_OK;
}

/* Forward in the current mode and the loss; grad (may be NULL) receives d loss/d logits. */
static int forward_loss(gf_net *net, const float *images, const int32_t *labels, int batch,
                        const gf_soft_targets *soft, float *grad, float *loss,
                        gf_step_result *result) {
    const float *logits = NULL;
    if (gf_net_forward(net, images, batch, &logits) != GF_OK) return GF_ERR;
    return score(logits, labels, batch, gf_net_output_size(net), soft, grad, loss, result);
}

/* A network's BatchNorm running statistics and counters as they were before a
 * forward pass in training mode updated them, to put back if the step is dropped. */
typedef struct saved_statistics {
    float *stats;
    int64_t *counters;
} saved_statistics;

static int save_statistics(gf_net *net, saved_statistics *saved, const char *operation) {
    size_t stats = gf_net_stat_count(net), counters = gf_net_counter_count(net);
    saved->stats = malloc((stats ? stats : 1) * sizeof(float));
    saved->counters = malloc((counters ? counters : 1) * sizeof(int64_t));
    if (!saved->stats || !saved->counters) {
        free(saved->stats);
        free(saved->counters);
        *saved = (saved_statistics){0};
        return gf_fail("%s: out of memory saving %zu running statistics", operation, stats);
    }
    memcpy(saved->stats, gf_net_stats(net), stats * sizeof(float));
    memcpy(saved->counters, gf_net_counters(net), counters * sizeof(int64_t));
    return GF_OK;
}

static void restore_statistics(gf_net *net, const saved_statistics *saved) {
    memcpy(gf_net_stats(net), saved->stats, gf_net_stat_count(net) * sizeof(float));
    memcpy(gf_net_counters(net), saved->counters, gf_net_counter_count(net) * sizeof(int64_t));
}

static void free_statistics(saved_statistics *saved) {
    free(saved->stats);
    free(saved->counters);
}

/* Marks the result non-finite when a running statistic is NaN or infinite (a NaN
 * pixel, or activations whose variance overflows a float, while the loss can stay
 * finite); names the first such statistic. */
static void check_statistics(gf_net *net, gf_step_result *result) {
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *slice = gf_net_slice(net, i);
        if (slice->kind != GF_SLICE_STAT) continue;
        const float *values = gf_net_slice_data(net, slice);
        for (int64_t k = 0; k < slice->numel; k++)
            if (!isfinite(values[k])) {
                result->finite = false;
                result->bad_statistic = slice->name;
                result->bad_value = values[k];
                return;
            }
    }
}

/* sets x batch x classes floats: small next to the step, so a fresh buffer each time
 * keeps these functions free of hidden state */
static float *logit_buffer(int batch, int classes, int sets, const char *operation) {
    float *buffer = malloc((size_t)sets * (size_t)batch * (size_t)classes * sizeof(float));
    if (!buffer) gf_fail("%s: out of memory for %d x %d logits", operation, batch, classes);
    return buffer;
}

int gf_train_step_soft(gf_net *net, gf_sgd *sgd, const gf_batch *b, float lr,
                       const gf_soft_targets *soft, gf_step_result *result) {
    *result = (gf_step_result){0};
    int batch = b->count;
    if (gf_check_input_shape(net, b->channels, b->height, b->width) != GF_OK)
        return gf_fail_context("train step (batch of %d)", batch);
    float *grad = logit_buffer(batch, gf_net_output_size(net), 1, "train step");
    if (!grad) return GF_ERR;
    saved_statistics saved;
    if (save_statistics(net, &saved, "train step") != GF_OK) {
        free(grad);
        return GF_ERR;
    }
    gf_net_set_training(net, true);
    float loss = 0;
    int status = forward_loss(net, b->images, b->labels, batch, soft, grad, &loss, result);
    result->finite = status == GF_OK && isfinite(loss);
    if (status == GF_OK) check_statistics(net, result);
    if (status == GF_OK && result->finite) status = gf_net_backward(net, grad);
    if (status != GF_OK || !result->finite) restore_statistics(net, &saved);
    free_statistics(&saved);
    free(grad);
    if (status != GF_OK) return gf_fail_context("train step (batch of %d)", batch);
    if (!result->finite) return GF_OK;
    return gf_sgd_step(sgd, gf_net_params(net), gf_net_grads(net), gf_net_param_count(net), lr);
}

int gf_train_step(gf_net *net, gf_sgd *sgd, const gf_batch *batch, float lr,
                  gf_step_result *result) {
    return gf_train_step_soft(net, sgd, batch, lr, NULL, result);
}

static int check_same_output(const gf_net *net, const gf_net *other, const char *operation,
                             const char *what) {
    int c, h, w, c2, h2, w2;
    gf_net_input_shape(net, &c, &h, &w);
    gf_net_input_shape(other, &c2, &h2, &w2);
    if (c != c2 || h != h2 || w != w2 || gf_net_output_size(net) != gf_net_output_size(other))
        return gf_fail("%s: the %s takes %dx%dx%d images and gives %d classes, the student "
                       "%dx%dx%d and %d", operation, what, c2, h2, w2, gf_net_output_size(other),
                       c, h, w, gf_net_output_size(net));
    return GF_OK;
}

int gf_distill_step(gf_net *student, gf_sgd *sgd, gf_net *teacher, const gf_batch *batch,
                    float lr, double temperature, double weight, gf_step_result *result) {
    const char *operation = "distillation step";
    *result = (gf_step_result){0};
    if (teacher == student) return gf_fail("%s: the teacher is the student", operation);
    if (check_same_output(student, teacher, operation, "teacher") != GF_OK) return GF_ERR;
    if (gf_check_input_shape(student, batch->channels, batch->height, batch->width) != GF_OK)
        return gf_fail_context("%s (batch of %d)", operation, batch->count);
    bool was_training = gf_net_is_training(teacher);
    gf_net_set_training(teacher, false);
    const float *teacher_logits = NULL;
    int status = gf_net_forward(teacher, batch->images, batch->count, &teacher_logits);
    gf_net_set_training(teacher, was_training);
    if (status != GF_OK) return gf_fail_context("%s, teacher", operation);
    gf_soft_targets soft = {teacher_logits, 1, temperature, weight};
    return gf_train_step_soft(student, sgd, batch, lr, &soft, result);
}

int gf_mutual_step(gf_net *const *nets, gf_sgd *const *sgds, int count, const gf_batch *b,
                   const float *lrs, double temperature, double weight,
                   gf_step_result *results) {
    const char *operation = "mutual learning step";
    if (count < 2) return gf_fail("%s: needs at least 2 networks, got %d", operation, count);
    for (int k = 1; k < count; k++)
        if (check_same_output(nets[0], nets[k], operation, "peer") != GF_OK)
            return gf_fail_context("network %d", k);
    if (gf_check_input_shape(nets[0], b->channels, b->height, b->width) != GF_OK)
        return gf_fail_context("%s (batch of %d)", operation, b->count);
    const int batch = b->count, classes = gf_net_output_size(nets[0]);
    const size_t set = (size_t)batch * (size_t)classes;
    float *logits = logit_buffer(batch, classes, count, operation);
    float *others = logit_buffer(batch, classes, count - 1, operation);
    float *grads = logit_buffer(batch, classes, count, operation);
    saved_statistics *saved = calloc((size_t)count, sizeof *saved);
    int status = logits && others && grads ? GF_OK : GF_ERR;
    if (!saved) status = gf_fail("%s: out of memory", operation);
    for (int k = 0; k < count && status == GF_OK; k++)
        status = save_statistics(nets[k], &saved[k], operation);
    for (int k = 0; k < count && status == GF_OK; k++) {
        results[k] = (gf_step_result){0};
        const float *out = NULL;
        gf_net_set_training(nets[k], true);
        status = gf_net_forward(nets[k], b->images, batch, &out);
        if (status == GF_OK)
            memcpy(logits + (size_t)k * set, out, set * sizeof(float));
        else
            gf_fail_context("%s, network %d", operation, k);
    }
    /* every loss and statistic first: a non-finite one stops the step before any update */
    bool finite = true;
    for (int k = 0; k < count && status == GF_OK; k++) {
        for (int j = 0, at = 0; j < count; j++)
            if (j != k)
                memcpy(others + (size_t)at++ * set, logits + (size_t)j * set, set * sizeof(float));
        gf_soft_targets soft = {others, count - 1, temperature, weight};
        float loss = 0;
        status = score(logits + (size_t)k * set, b->labels, batch, classes, &soft,
                       grads + (size_t)k * set, &loss, &results[k]);
        if (status != GF_OK) gf_fail_context("%s, network %d", operation, k);
        results[k].finite = status == GF_OK && isfinite(loss);
        if (status == GF_OK) check_statistics(nets[k], &results[k]);
        finite = finite && results[k].finite;
    }

    for (int k = 0; k < count && status == GF_OK && finite; k++) {
        status = gf_net_backward(nets[k], grads + (size_t)k * set);
        if (status == GF_OK)
            status = gf_sgd_step(sgds[k], gf_net_params(nets[k]), gf_net_grads(nets[k]),
                                 gf_net_param_count(nets[k]), lrs[k]);
        if (status != GF_OK) gf_fail_context("%s, network %d", operation, k);
    }
    /* a dropped or failed step leaves every network's statistics as they were */
    for (int k = 0; saved && k < count; k++) {
        if ((status != GF_OK || !finite) && saved[k].stats) restore_statistics(nets[k], &saved[k]);
        free_statistics(&saved[k]);
    }
    free(saved);
    free(logits);
    free(others);
    free(grads);
    return status;
}

int gf_evaluate(gf_net *net, gf_loader *loader, gf_step_result *result) {
    int channels, height, width;
    gf_loader_image_shape(loader, &channels, &height, &width);
    if (gf_check_input_shape(net, channels, height, width) != GF_OK)
        return gf_fail_context("evaluation");
    bool was_training = gf_net_is_training(net);
    gf_net_set_training(net, false);
    gf_loader_start_epoch(loader);
    const float *images;
    const int32_t *labels;
    int n, status = GF_OK;
    int64_t batch = 0;
    while (status == GF_OK && (n = gf_loader_next(loader, &images, &labels)) > 0) {
        float loss;
        status = forward_loss(net, images, labels, n, NULL, NULL, &loss, result);
        if (status != GF_OK) gf_fail_context("evaluation, batch %lld", (long long)batch);
        batch++;
    }
    result->finite = isfinite(result->loss_sum);
    gf_net_set_training(net, was_training);
    return status;
}
