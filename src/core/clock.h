/* A clock that never jumps (CLOCK_MONOTONIC: wall time, not set back or forward with
 * the date), for timing steps, waits and deadlines. */
#ifndef GRAFT_CORE_CLOCK_H
#define GRAFT_CORE_CLOCK_H

#include <stdint.h>

/* Nanoseconds since an arbitrary start, the same for every thread of the process. */
int64_t gf_clock_nanoseconds(void);
/* The same in seconds. */
double gf_clock_seconds(void);

#endif
