/* Softmax cross-entropy: value against a direct formula, gradient against finite
 * differences, stability with huge logits, and label errors. */
#include "core/error.h"
#include "gradcheck.h"
#include "nn/loss.h"

enum { BATCH = 6, CLASSES = 5 };

typedef struct { float *logits; int32_t labels[BATCH]; } ce_case;

static double ce_loss(void *ctx) {
    ce_case *c = ctx;
    float loss = 0;
    CHECK(gf_cross_entropy(&loss, NULL, c->logits, c->labels, BATCH, CLASSES) == GF_OK);
    return loss;
}

int main(void) {
    ce_case c = {.logits = gradcheck_random(BATCH * CLASSES, 5, 2.0f)};
    for (int n = 0; n < BATCH; n++) c.labels[n] = (n * 3) % CLASSES;

    double ref = 0;
    for (int n = 0; n < BATCH; n++) {
        double z = 0;
        for (int k = 0; k < CLASSES; k++) z += exp(c.logits[n * CLASSES + k]);
        ref += -log(exp(c.logits[n * CLASSES + c.labels[n]]) / z);
    }
    float loss = 0, grad[BATCH * CLASSES];
    CHECK(gf_cross_entropy(&loss, grad, c.logits, c.labels, BATCH, CLASSES) == GF_OK);
    CHECK_NEAR(loss, ref / BATCH, 1e-6);
    check_gradient("cross entropy", c.logits, BATCH * CLASSES, grad, ce_loss, &c, 1e-2f, 5e-3,
                   1e-5, 100, 1);
    /* each row of the gradient sums to 0 (softmax minus one-hot) */
    for (int n = 0; n < BATCH; n++) {
        double s = 0;
        for (int k = 0; k < CLASSES; k++) s += grad[n * CLASSES + k];
        CHECK_NEAR(s, 0.0, 1e-7);
    }

    /* huge logits: no overflow; the loss is the margin to the winner */
    float big[2 * 3] = {1000.0f, 0.0f, -1000.0f, 5000.0f, 4990.0f, 0.0f};
    int32_t big_labels[2] = {1, 1};
    CHECK(gf_cross_entropy(&loss, grad, big, big_labels, 2, 3) == GF_OK);
    CHECK(isfinite(loss));
    CHECK_NEAR(loss, (1000.0 + (10.0 + log1p(exp(-10.0)))) / 2, 1e-3);
    CHECK_NEAR(grad[0], 0.5, 1e-6);
    CHECK_NEAR(grad[1], -0.5, 1e-6);

    int32_t bad[BATCH] = {0, 1, 2, 7, 0, 0};
    CHECK(gf_cross_entropy(&loss, grad, c.logits, bad, BATCH, CLASSES) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "cross_entropy: sample 3 has label 7, outside [0, 5)");
    free(c.logits);
    return CHECK_DONE();
}
