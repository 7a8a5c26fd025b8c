/* Minimal assertions for the C tests: a failed check prints file, line and the
 * values, and the test's main returns check_failures != 0. */
#ifndef GRAFT_TESTS_CHECK_H
#define GRAFT_TESTS_CHECK_H

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int check_failures = 0;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures++;                                                        \
        }                                                                            \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
    do {                                                                                 \
        double check_a_ = (double)(a), check_b_ = (double)(b);                           \
        if (!(fabs(check_a_ - check_b_) <= (tol))) {                                     \
            fprintf(stderr, "%s:%d: %s = %.9g, %s = %.9g, differ by more than %g\n",     \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_, (double)(tol));      \
            check_failures++;                                                            \
        }                                                                                \
    } while (0)

/* the message contains the expected fragment */
#define CHECK_CONTAINS(message, fragment)                                                \
    do {                                                                                 \
        const char *check_m_ = (message);                                                \
        if (!check_m_ || !strstr(check_m_, (fragment))) {                                \
            fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__,   \
                    check_m_ ? check_m_ : "(null)", (fragment));                         \
            check_failures++;                                                            \
        }                                                                                \
    } while (0)

#define CHECK_DONE() (check_failures == 0 ? 0 : 1)

/* The largest |a[i] - b[i]| / max(1, |b[i]|); a NaN makes it NaN (no check passes). */
static inline double check_worst_relative(const float *a, const float *b, size_t n) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / fmax(1.0, fabs((double)b[i]));
        if (!(d <= worst)) worst = d;
    }
    return worst;
}

#endif
