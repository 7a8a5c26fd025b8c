/* Losses on logits [batch, classes]: softmax cross-entropy (PyTorch's
 * CrossEntropyLoss, mean over the batch), and the same plus a soft-target term for
 * the methods Table 5 compares grafting with. */
#ifndef GRAFT_NN_LOSS_H
#define GRAFT_NN_LOSS_H

#include <stdint.h>

/* Writes the mean loss and, if grad_logits is not NULL, d loss / d logits
 * (overwritten, already divided by batch). Labels outside [0, classes) are an
 * error naming the sample and the label. */
int gf_cross_entropy(float *loss, float *grad_logits, const float *logits,
                     const int32_t *labels, int batch, int classes);

/* Soft targets: `count` sets of target logits [count][batch][classes], a
 * temperature T > 0 and a weight w >= 0. With q = softmax(logits / T) and p_j =
 * softmax(target_j / T), the loss is
 *     cross_entropy(logits, labels) + w * T^2 * mean_j mean_n KL(p_j || q)
 * and the gradient of the second term is w * T * (q - mean_j p_j) / batch (the
 * targets are constants). Knowledge distillation (Hinton et al. 2015): one set, the
 * teacher's logits; deep mutual learning (Zhang et al. 2018): the other networks'
 * logits, T = 1. *soft_part (may be NULL) receives the second term alone. */
typedef struct gf_soft_targets {
    const float *logits; /* [count][batch][classes] */
    int count;
    double temperature, weight;
} gf_soft_targets;

int gf_soft_target_loss(float *loss, float *soft_part, float *grad_logits, const float *logits,
                        const int32_t *labels, int batch, int classes,
                        const gf_soft_targets *targets);

#endif
