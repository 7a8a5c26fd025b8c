/* A new folder for a C test's files, under $TMPDIR (/tmp without it). */
#ifndef GRAFT_TESTS_SCRATCH_H
#define GRAFT_TESTS_SCRATCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/* Makes the folder <tmp>/<prefix>-XXXXXX and writes its path into dir (of `size`
 * bytes); false, having said why on stderr, when it cannot be made. */
static inline bool scratch_dir(char *dir, size_t size, const char *prefix) {
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, size, "%s/%s-XXXXXX", tmp, prefix);
    if (mkdtemp(dir)) return true;
    perror("mkdtemp");
    return false;
}

#endif
