#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { MESSAGE_CAPACITY = 1024 };
static _Thread_local char message[MESSAGE_CAPACITY];

int gf_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return GF_ERR;
}

int gf_fail_context(const char *fmt, ...) {
    char previous[MESSAGE_CAPACITY];
    memcpy(previous, message, sizeof previous);
    va_list ap;
    va_start(ap, fmt);
    int used = vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    if (used < 0) used = 0;
    if ((size_t)used < sizeof message)
        snprintf(message + used, sizeof message - (size_t)used, ": %s", previous);
    return GF_ERR;
}

const char *gf_error_message(void) { return message[0] ? message : "unknown error"; }

void gf_error_clear(void) { message[0] = '\0'; }
