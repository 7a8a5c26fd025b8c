/* Softmax cross-entropy, mean over the batch (PyTorch's CrossEntropyLoss). */
#ifndef GRAFT_NN_LOSS_H
#define GRAFT_NN_LOSS_H

#include <stdint.h>

/* Writes the mean loss and, if grad_logits is not NULL, d loss / d logits
 * (overwritten, already divided by batch). Labels outside [0, classes) are an
 * error naming the sample and the label. */
int gf_cross_entropy(float *loss, float *grad_logits, const float *logits,
                     const int32_t *labels, int batch, int classes);

#endif
