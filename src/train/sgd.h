/* Stochastic gradient descent as PyTorch's torch.optim.SGD computes it, over a
 * network's flat parameter and gradient buffers. Per element, in float:
 *   d = g + weight_decay * p                       (weight decay, on every parameter)
 *   b = d on the first step, else momentum * b + (1 - dampening) * d
 *   d = d + momentum * b  (Nesterov)  or  d = b
 *   p = p - lr * d
 * With momentum 0 there is no buffer and d is applied directly. */
#ifndef GRAFT_TRAIN_SGD_H
#define GRAFT_TRAIN_SGD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gf_sgd {
    float momentum, dampening, weight_decay;
    bool nesterov;
    size_t count;
    float *buffer;      /* momentum buffer, count floats (NULL when momentum is 0) */
    bool buffer_filled; /* false until the first step, which copies d into it */
} gf_sgd;

/* Nesterov needs momentum > 0 and dampening 0, as in PyTorch. */
gf_sgd *gf_sgd_create(size_t count, float momentum, float dampening, float weight_decay,
                      bool nesterov);
void gf_sgd_free(gf_sgd *sgd);
/* n must equal the count the optimizer was made for. */
int gf_sgd_step(gf_sgd *sgd, float *params, const float *grads, size_t n, float lr);

#endif
