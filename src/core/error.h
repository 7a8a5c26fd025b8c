/* One error path for the C core: functions return GF_OK or GF_ERR and leave a
 * message in a thread-local buffer; callers add context as the error travels up. */
#ifndef GRAFT_CORE_ERROR_H
#define GRAFT_CORE_ERROR_H

#define GF_OK 0
#define GF_ERR (-1)

#if defined(__GNUC__)
#define GF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GF_PRINTF(a, b)
#endif

/* Sets the message and returns GF_ERR, so `return gf_fail(...)` reads naturally. */
int gf_fail(const char *fmt, ...) GF_PRINTF(1, 2);
/* Puts "context: " in front of the current message; returns GF_ERR. */
int gf_fail_context(const char *fmt, ...) GF_PRINTF(1, 2);
const char *gf_error_message(void);
void gf_error_clear(void);

#endif
