#include "train/sgd.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/memory.h"

gf_sgd *gf_sgd_create(size_t count, float momentum, float dampening, float weight_decay,
                      bool nesterov) {
    if (!(momentum >= 0) || !(weight_decay >= 0) || !(dampening >= 0 && dampening <= 1)) {
        gf_fail("SGD: momentum %g, dampening %g and weight decay %g must be >= 0 (dampening "
                "<= 1)", (double)momentum, (double)dampening, (double)weight_decay);
        return NULL;
    }
    if (nesterov && (momentum <= 0 || dampening != 0)) {
        gf_fail("SGD: Nesterov momentum needs momentum > 0 and dampening 0 (got %g, %g)",
                (double)momentum, (double)dampening);
        return NULL;
    }
    gf_sgd *sgd = calloc(1, sizeof *sgd);
    if (!sgd) {
        gf_fail("out of memory allocating SGD");
        return NULL;
    }
    sgd->momentum = momentum;
    sgd->dampening = dampening;
    sgd->weight_decay = weight_decay;
    sgd->nesterov = nesterov;
    sgd->count = count;
    if (momentum > 0) {
        sgd->buffer = gf_alloc(count * sizeof(float), "SGD momentum buffer");
        if (!sgd->buffer) {
            free(sgd);
            return NULL;
        }
    }
    return sgd;
}

void gf_sgd_free(gf_sgd *sgd) {
    if (!sgd) return;
    gf_free(sgd->buffer);
    free(sgd);
}

int gf_sgd_step(gf_sgd *sgd, float *params, const float *grads, size_t n, float lr) {
    if (n != sgd->count)
        return gf_fail("SGD step: %zu parameters given, the optimizer was made for %zu", n,
                       sgd->count);
    const float wd = sgd->weight_decay, mu = sgd->momentum, keep = 1.0f - sgd->dampening;
    float *buf = sgd->buffer;
    if (!buf) {
        for (size_t i = 0; i < n; i++) params[i] -= lr * (grads[i] + wd * params[i]);
        return GF_OK;
    }
    if (!sgd->buffer_filled) {
        for (size_t i = 0; i < n; i++) {
            float d = grads[i] + wd * params[i];
            buf[i] = d;
            params[i] -= lr * (sgd->nesterov ? d + mu * d : d);
        }
        sgd->buffer_filled = true;
        return GF_OK;
    }
    if (sgd->nesterov) {
        for (size_t i = 0; i < n; i++) {
            float d = grads[i] + wd * params[i];
            buf[i] = mu * buf[i] + keep * d;
            params[i] -= lr * (d + mu * buf[i]);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float d = grads[i] + wd * params[i];
            buf[i] = mu * buf[i] + keep * d;
            params[i] -= lr * buf[i];
        }
    }
    return GF_OK;
}
