#include "core/clock.h"

#include <time.h>

int64_t gf_clock_nanoseconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double gf_clock_seconds(void) { return 1e-9 * (double)gf_clock_nanoseconds(); }
