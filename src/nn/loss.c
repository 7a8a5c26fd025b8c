#include "nn/loss.h"

#include <math.h>
#include <stddef.h>

#include "core/error.h"

/* log softmax through the max-shifted log-sum-exp, in double, so large logits
 * neither overflow nor lose the small probabilities. */
int gf_cross_entropy(float *loss, float *grad_logits, const float *logits,
                     const int32_t *labels, int batch, int classes) {
    if (batch < 1 || classes < 1)
        return gf_fail("cross_entropy: invalid sizes (batch %d, classes %d)", batch, classes);
    for (int n = 0; n < batch; n++)
        if (labels[n] < 0 || labels[n] >= classes)
            return gf_fail("cross_entropy: sample %d has label %d, outside [0, %d)", n,
                           (int)labels[n], classes);
    double total = 0.0;
    for (int n = 0; n < batch; n++) {
        const float *z = logits + (size_t)n * classes;
        double top = z[0];
        for (int k = 1; k < classes; k++)
            if (z[k] > top) top = z[k];
        double sum = 0.0;
        for (int k = 0; k < classes; k++) sum += exp(z[k] - top);
        const double log_sum = top + log(sum);
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
