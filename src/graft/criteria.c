#include "graft/criteria.h"

#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/memory.h"

static const char *const criterion_names[] = {"entropy", "entropy_sum", "l1"};

const char *gf_criterion_name(gf_criterion criterion) {
    if ((int)criterion < 0 || (int)criterion >= 3) return NULL;
    return criterion_names[criterion];
}

int gf_criterion_parse(const char *name, gf_criterion *criterion) {
    for (int i = 0; i < 3; i++) {
        if (name && strcmp(name, criterion_names[i]) == 0) {
            *criterion = (gf_criterion)i;
            return GF_OK;
        }
    }
    return gf_fail("grafting criterion: unknown criterion '%s' (expected entropy, "
                   "entropy_sum or l1)", name ? name : "(null)");
}

int gf_histogram(const float *values, size_t n, int bins, double lo, double hi,
                 int64_t *counts) {
    if (bins < 1) return gf_fail("histogram: bins must be at least 1, got %d", bins);
    if (isnan(lo) || isnan(hi) || lo > hi)
        return gf_fail("histogram: invalid range [%g, %g]", lo, hi);
    memset(counts, 0, (size_t)bins * sizeof *counts);
    double width = hi - lo;
    for (size_t i = 0; i < n; i++) {
        double v = values[i];
        if (!(v >= lo && v <= hi)) continue;
        int bin = 0;
        if (width > 0) {
            double position = (v - lo) / width * bins;
            bin = position >= bins ? bins - 1 : (int)position;
        }
        counts[bin]++;
    }
    return GF_OK;
}

size_t gf_histogram_values(const float *values, size_t n, bool logarithmic, float *out) {
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        float v = values[i];
        if (!isfinite(v) || (logarithmic && !(v > 0))) continue;
        out[kept++] = logarithmic ? log10f(v) : v;
    }
    return kept;
}

int gf_entropy(const float *values, size_t n, int bins, double *entropy) {
    if (n == 0) return gf_fail("entropy: no values");
    if (bins < 1) return gf_fail("entropy: bins must be at least 1, got %d", bins);
    float lo = values[0], hi = values[0];
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(values[i]))
            return gf_fail("entropy: value %g at index %zu of %zu is not finite",
                           (double)values[i], i, n);
        if (values[i] < lo) lo = values[i];
        if (values[i] > hi) hi = values[i];
    }
    if (lo == hi) {
        *entropy = 0.0;
        return GF_OK;
    }
    int64_t stack_counts[64];
    int64_t *counts = stack_counts;
    if (bins > 64) {
        counts = gf_alloc((size_t)bins * sizeof *counts, "entropy bins");
        if (!counts) return gf_fail_context("entropy");
    }
    gf_histogram(values, n, bins, lo, hi, counts);
    double h = 0.0;
    for (int k = 0; k < bins; k++) {
        if (counts[k] == 0) continue;
        double p = (double)counts[k] / (double)n;
        h -= p * log(p);
    }
    if (counts != stack_counts) gf_free(counts);
    *entropy = h;
    return GF_OK;
}

double gf_l1(const float *values, size_t n) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += fabs((double)values[i]);
    return sum;
}

void gf_filter_l1(const float *weight, int64_t filters, int64_t per_filter, double *l1) {
    for (int64_t f = 0; f < filters; f++)
        l1[f] = gf_l1(weight + f * per_filter, (size_t)per_filter);
}

int gf_filter_entropy(const float *weight, int64_t filters, int64_t per_filter, int bins,
                      double *entropy) {
    for (int64_t f = 0; f < filters; f++) {
        if (gf_entropy(weight + f * per_filter, (size_t)per_filter, bins, &entropy[f]) != GF_OK)
            return gf_fail_context("filter %lld of %lld", (long long)f, (long long)filters);
    }
    return GF_OK;
}

int gf_filter_information(const float *filter, int64_t per_filter, gf_criterion criterion,
                          int bins, double *information) {
    if (criterion == GF_CRITERION_L1) {
        *information = gf_l1(filter, (size_t)per_filter);
        return GF_OK;
    }
    return gf_entropy(filter, (size_t)per_filter, bins, information);
}

int gf_layer_information(const float *weight, int64_t filters, int64_t per_filter,
                         gf_criterion criterion, int bins, double *information) {
    size_t n = (size_t)(filters * per_filter);
    switch (criterion) {
    case GF_CRITERION_ENTROPY:
        return gf_entropy(weight, n, bins, information);
    case GF_CRITERION_L1:
        *information = gf_l1(weight, n);
        return GF_OK;
    case GF_CRITERION_ENTROPY_SUM: {
        double sum = 0.0;
        for (int64_t f = 0; f < filters; f++) {
            double h;
            if (gf_entropy(weight + f * per_filter, (size_t)per_filter, bins, &h) != GF_OK)
                return gf_fail_context("filter %lld of %lld", (long long)f, (long long)filters);
            sum += h;
        }
        *information = sum;
        return GF_OK;
    }
    }
    return gf_fail("layer information: unknown criterion %d", (int)criterion);
}
