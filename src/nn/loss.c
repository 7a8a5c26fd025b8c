#include "nn/loss.h"

#include <math.h>
#include <stddef.h>

#include "core/error.h"

static int check_sizes(const char *operation, const int32_t *labels, int batch, int classes) {
    if (batch < 1 || classes < 1)
        return gf_fail("%s: invalid sizes (batch %d, classes %d)", operation, batch, classes);
    for (int n = 0; n < batch; n++)
        if (labels[n] < 0 || labels[n] >= classes)
            return gf_fail("%s: sample %d has label %d, outside [0, %d)", operation, n,
                           (int)labels[n], classes);
    return GF_OK;
}

/* log sum_k exp(z[k] / T) through the max-shifted sum, in double, so large logits
 * neither overflow nor lose the small probabilities. */
static double log_sum_exp(const float *z, int classes, double temperature) {
    double top = z[0] / temperature;
    for (int k = 1; k < classes; k++)
        if (z[k] / temperature > top) top = z[k] / temperature;
    double sum = 0.0;
    for (int k = 0; k < classes; k++) sum += exp(z[k] / temperature - top);
    return top + log(sum);
}

int gf_cross_entropy(float *loss, float *grad_logits, const float *logits,
                     const int32_t *labels, int batch, int classes) {
    if (check_sizes("cross_entropy", labels, batch, classes) != GF_OK) return GF_ERR;
    double total = 0.0;
    for (int n = 0; n < batch; n++) {
        const float *z = logits + (size_t)n * classes;
        const double log_sum = log_sum_exp(z, classes, 1.0);
        total += log_sum - z[labels[n]];
        if (!grad_logits) continue;
        float *g = grad_logits + (size_t)n * classes;
        for (int k = 0; k < classes; k++) {
            double p = exp(z[k] - log_sum);
            g[k] = (float)((p - (k == labels[n] ? 1.0 : 0.0)) / batch);
        }
    }
    *loss = (float)(total / batch);
    return GF_OK;
}

int gf_soft_target_loss(float *loss, float *soft_part, float *grad_logits, const float *logits,
                        const int32_t *labels, int batch, int classes,
                        const gf_soft_targets *targets) {
    const char *operation = "soft target loss";
    if (check_sizes(operation, labels, batch, classes) != GF_OK) return GF_ERR;
    const double T = targets->temperature, w = targets->weight;
    if (targets->count < 1 || !targets->logits)
        return gf_fail("%s: needs at least one set of target logits, got %d", operation,
                       targets->count);
    if (!(T > 0.0) || !isfinite(T))
        return gf_fail("%s: temperature %g must be positive and finite", operation, T);
    if (!(w >= 0.0) || !isfinite(w))
        return gf_fail("%s: weight %g must be >= 0 and finite", operation, w);
    float hard = 0.0f;
    if (gf_cross_entropy(&hard, grad_logits, logits, labels, batch, classes) != GF_OK)
        return gf_fail_context("%s", operation);
    const size_t set = (size_t)batch * (size_t)classes;
    double kl_total = 0.0;
    for (int n = 0; n < batch; n++) {
        const float *z = logits + (size_t)n * classes;
        const double log_q_sum = log_sum_exp(z, classes, T);
        float *g = grad_logits ? grad_logits + (size_t)n * classes : NULL;
        /* the gradient's target side, -w T mean_j p_j, is added set by set */
        for (int j = 0; j < targets->count; j++) {
            const float *t = targets->logits + (size_t)j * set + (size_t)n * classes;
            const double log_p_sum = log_sum_exp(t, classes, T);
            for (int k = 0; k < classes; k++) {
                const double log_p = t[k] / T - log_p_sum, p = exp(log_p);
                if (p > 0.0) kl_total += p * (log_p - (z[k] / T - log_q_sum));
                if (g) g[k] -= (float)(w * T * p / targets->count / batch);
            }
        }
        if (g)
            for (int k = 0; k < classes; k++)
                g[k] += (float)(w * T * exp(z[k] / T - log_q_sum) / batch);
    }
    const double soft = w * T * T * kl_total / targets->count / batch;
    if (soft_part) *soft_part = (float)soft;
    *loss = (float)(hard + soft);
    return GF_OK;
}
