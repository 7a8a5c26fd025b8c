#include "train/step.h"

#include <math.h>
#include <stdlib.h>

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
static int check_input_shape(const gf_net *net, int channels, int height, int width) {
    int c, h, w;
    gf_net_input_shape(net, &c, &h, &w);
    if (c != channels || h != height || w != width)
        return gf_fail("the images are %dx%dx%d but the network takes %dx%dx%d", channels,
                       height, width, c, h, w);
    return GF_OK;
}

/* Forward in the current mode and the loss; grad (may be NULL) receives d loss/d logits. */
static int forward_loss(gf_net *net, const float *images, const int32_t *labels, int batch,
                        float *grad, float *loss, gf_step_result *result) {
    const float *logits = NULL;
    if (gf_net_forward(net, images, batch, &logits) != GF_OK) return GF_ERR;
    int classes = gf_net_output_size(net);
    if (gf_cross_entropy(loss, grad, logits, labels, batch, classes) != GF_OK) return GF_ERR;
    gf_count_hits(logits, labels, batch, classes, &result->top1, &result->top5);
    result->loss_sum += (double)*loss * batch;
    result->count += batch;
    return GF_OK;
}

int gf_train_step(gf_net *net, gf_sgd *sgd, const gf_batch *b, float lr,
                  gf_step_result *result) {
    *result = (gf_step_result){0};
    int batch = b->count;
    if (check_input_shape(net, b->channels, b->height, b->width) != GF_OK)
        return gf_fail_context("train step (batch of %d)", batch);
    int classes = gf_net_output_size(net);
    /* batch x classes floats: small next to the step, so a fresh buffer each time
     * keeps this function free of hidden state */
    float *grad = malloc((size_t)batch * (size_t)classes * sizeof(float));
    if (!grad) return gf_fail("train step: out of memory for the logit gradient");
    gf_net_set_training(net, true);
    float loss = 0;
    int status = forward_loss(net, b->images, b->labels, batch, grad, &loss, result);
    result->finite = status == GF_OK && isfinite(loss);
    if (status == GF_OK && result->finite) status = gf_net_backward(net, grad);
    free(grad);
    if (status != GF_OK) return gf_fail_context("train step (batch of %d)", batch);
    if (!result->finite) return GF_OK;
    return gf_sgd_step(sgd, gf_net_params(net), gf_net_grads(net), gf_net_param_count(net), lr);
}

int gf_evaluate(gf_net *net, gf_loader *loader, gf_step_result *result) {
    int channels, height, width;
    gf_loader_image_shape(loader, &channels, &height, &width);
    if (check_input_shape(net, channels, height, width) != GF_OK)
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
        status = forward_loss(net, images, labels, n, NULL, &loss, result);
        if (status != GF_OK) gf_fail_context("evaluation, batch %lld", (long long)batch);
        batch++;
    }
    result->finite = isfinite(result->loss_sum);
    gf_net_set_training(net, was_training);
    return status;
}
