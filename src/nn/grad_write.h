/* How a layer's backward pass writes the gradient of its input. A network clears an
 * input's gradient and lets every layer that reads the input add to it; the layer
 * that reaches it first (the last reader, since backward runs in reverse) may store
 * instead, which saves clearing it and reading it back: two passes over the tensor. */
#ifndef GRAFT_NN_GRAD_WRITE_H
#define GRAFT_NN_GRAD_WRITE_H

typedef enum gf_grad_write {
    GF_GRAD_ADD,  /* grad_in += this layer's contribution */
    GF_GRAD_STORE /* grad_in = this layer's contribution (its old values are ignored) */
} gf_grad_write;

#endif
