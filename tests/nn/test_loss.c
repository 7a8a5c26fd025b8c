/* Softmax cross-entropy and the soft-target loss of distillation and mutual
 * learning: values against direct formulas, gradients against finite differences,
 * stability with huge logits, and errors. */
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

typedef struct {
    float *logits, *targets;
    int32_t labels[BATCH];
    gf_soft_targets soft;
} soft_case;

static double soft_loss(void *ctx) {
    soft_case *c = ctx;
    float loss = 0;
    CHECK(gf_soft_target_loss(&loss, NULL, NULL, c->logits, c->labels, BATCH, CLASSES,
                              &c->soft) == GF_OK);
    return loss;
}

/* softmax(z / T) of one row, directly */
static void softmax_row(const float *z, double T, double *p) {
    double sum = 0;
    for (int k = 0; k < CLASSES; k++) sum += exp(z[k] / T);
    for (int k = 0; k < CLASSES; k++) p[k] = exp(z[k] / T) / sum;
}

/* Distillation (one teacher, T = 4, weight 0.7) and mutual learning (two peers,
 * T = 1, weight 1): the value against the KL divergence written out, the gradient
 * against finite differences, weight 0 against plain cross-entropy. */
static void test_soft_targets(int count, double temperature, double weight, uint64_t seed) {
    soft_case c = {.logits = gradcheck_random(BATCH * CLASSES, seed, 2.0f),
                   .targets = gradcheck_random((size_t)count * BATCH * CLASSES, seed + 1, 3.0f)};
    c.soft = (gf_soft_targets){c.targets, count, temperature, weight};
    for (int n = 0; n < BATCH; n++) c.labels[n] = (n * 2 + 1) % CLASSES;
    float hard = 0, loss = 0, soft = 0, grad[BATCH * CLASSES];
    CHECK(gf_cross_entropy(&hard, NULL, c.logits, c.labels, BATCH, CLASSES) == GF_OK);
    double kl = 0;
    for (int j = 0; j < count; j++)
        for (int n = 0; n < BATCH; n++) {
            double p[CLASSES], q[CLASSES];
            softmax_row(c.targets + (j * BATCH + n) * CLASSES, temperature, p);
            softmax_row(c.logits + n * CLASSES, temperature, q);
            for (int k = 0; k < CLASSES; k++) kl += p[k] * log(p[k] / q[k]);
        }
    double expected_soft = weight * temperature * temperature * kl / count / BATCH;
    CHECK(gf_soft_target_loss(&loss, &soft, grad, c.logits, c.labels, BATCH, CLASSES, &c.soft) ==
          GF_OK);
    CHECK(expected_soft > 1e-3);
    CHECK_NEAR(soft, expected_soft, 1e-5 * (1 + expected_soft));
    CHECK_NEAR(loss, hard + expected_soft, 1e-5 * (1 + loss));
    check_gradient(count == 1 ? "distillation loss" : "mutual learning loss", c.logits,
                   BATCH * CLASSES, grad, soft_loss, &c, 1e-2f, 5e-3, 1e-5, 100, seed);

    c.soft.weight = 0;
    float ce_grad[BATCH * CLASSES];
    CHECK(gf_soft_target_loss(&loss, &soft, grad, c.logits, c.labels, BATCH, CLASSES, &c.soft) ==
          GF_OK);
    CHECK(gf_cross_entropy(&hard, ce_grad, c.logits, c.labels, BATCH, CLASSES) == GF_OK);
    CHECK(soft == 0 && loss == hard);
    CHECK(check_worst_relative(grad, ce_grad, BATCH * CLASSES) == 0);
    free(c.logits);
    free(c.targets);
}

static void test_soft_target_errors(void) {
    float logits[2 * 3] = {0}, targets[2 * 3] = {0}, loss;
    int32_t labels[2] = {0, 2};
    gf_soft_targets bad = {targets, 1, 0.0, 1.0};
    CHECK(gf_soft_target_loss(&loss, NULL, NULL, logits, labels, 2, 3, &bad) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "soft target loss: temperature 0 must be positive");
    bad = (gf_soft_targets){targets, 1, 2.0, -1.0};
    CHECK(gf_soft_target_loss(&loss, NULL, NULL, logits, labels, 2, 3, &bad) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "weight -1 must be >= 0");
    bad = (gf_soft_targets){targets, 0, 2.0, 1.0};
    CHECK(gf_soft_target_loss(&loss, NULL, NULL, logits, labels, 2, 3, &bad) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "at least one set of target logits, got 0");
    labels[1] = 3;
    bad = (gf_soft_targets){targets, 1, 2.0, 1.0};
    CHECK(gf_soft_target_loss(&loss, NULL, NULL, logits, labels, 2, 3, &bad) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "soft target loss: sample 1 has label 3, outside [0, 3)");
}

int main(void) {
    test_soft_targets(1, 4.0, 0.7, 21);
    test_soft_targets(2, 1.0, 1.0, 31);
    test_soft_target_errors();
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
