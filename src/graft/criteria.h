/* Criteria that measure how much information a filter or a layer holds
 * (section 3.2 of the paper): the l1 norm (eq. 3) and the entropy of the weight
 * values (eq. 4 for one filter, eq. 5 and eq. 6 for a layer).
 *
 * A layer's weight is seen as [filters, per_filter]: a conv weight
 * [out, in/groups, k, k] has `out` filters of in/groups*k*k values (PyTorch's
 * layout, one output channel per filter); a linear weight [out, in] has `out`
 * filters (rows) of `in` values.
 *
 * Entropy: the range [min, max] of the values is split into `bins` equal bins,
 * p_k = count_k / n, H = -sum p_k ln p_k (natural log, empty bins skipped). The
 * last bin is closed ([lo, hi]) so every value, the maximum too, is counted; the
 * authors' code uses half-open bins and drops the maximum. A constant tensor
 * (max == min) has entropy 0. */
#ifndef GRAFT_GRAFT_CRITERIA_H
#define GRAFT_GRAFT_CRITERIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GF_DEFAULT_BINS 10

typedef enum gf_criterion {
    GF_CRITERION_ENTROPY,     /* entropy of the whole layer (eq. 6), the paper's choice */
    GF_CRITERION_ENTROPY_SUM, /* sum of the filters' entropies (eq. 5) */
    GF_CRITERION_L1           /* l1 norm of the layer (Table 3) */
} gf_criterion;

/* "entropy", "entropy_sum", "l1"; NULL for an unknown value. */
const char *gf_criterion_name(gf_criterion criterion);
/* Parses a name; GF_ERR with a message listing the valid names. */
int gf_criterion_parse(const char *name, gf_criterion *criterion);

/* Equal-width histogram of n values over [lo, hi], last bin closed; values
 * outside [lo, hi] are not counted. counts[bins] is overwritten. lo == hi puts
 * every value equal to lo into bin 0. Refuses bins < 1, lo > hi, NaN bounds. */
int gf_histogram(const float *values, size_t n, int bins, double lo, double hi,
                 int64_t *counts);

/* The values a histogram shows, packed into out (room for n) in order; returns how
 * many: the finite values, or when logarithmic the log10 of the finite positive ones.
 * The l1 norm of an all-zero filter, 0, has no place on a log axis: it is left out,
 * and callers say how many were (graft's one convention for log-l1 histograms). */
size_t gf_histogram_values(const float *values, size_t n, bool logarithmic, float *out);

/* Entropy of n values (eq. 4/6). Refuses n == 0, bins < 1 and non-finite values
 * (naming the index). */
int gf_entropy(const float *values, size_t n, int bins, double *entropy);

/* Sum of |values| in double. */
double gf_l1(const float *values, size_t n);

/* Per-filter l1 norms (eq. 3): l1[filters]. */
void gf_filter_l1(const float *weight, int64_t filters, int64_t per_filter, double *l1);
/* Per-filter entropies (eq. 4): entropy[filters]. */
int gf_filter_entropy(const float *weight, int64_t filters, int64_t per_filter, int bins,
                      double *entropy);

/* A layer's information by the chosen criterion. */
int gf_layer_information(const float *weight, int64_t filters, int64_t per_filter,
                         gf_criterion criterion, int bins, double *information);
/* One filter's information: entropy (eq. 4) for both entropy criteria, l1 (eq. 3)
 * for the l1 criterion. Used by the filter-level variant of external grafting. */
int gf_filter_information(const float *filter, int64_t per_filter, gf_criterion criterion,
                          int bins, double *information);

#endif
