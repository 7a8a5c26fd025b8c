#include "core/memory.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/size.h"

void *gf_alloc(size_t bytes, const char *what) {
    size_t rounded = gf_size_round_up(bytes, GF_ALIGNMENT);
    if (rounded == GF_SIZE_OVERFLOW) {
        gf_fail("cannot allocate %s: its size overflows the address space", what);
        return NULL;
    }
    if (rounded == 0) rounded = GF_ALIGNMENT;
    void *p = aligned_alloc(GF_ALIGNMENT, rounded);
    if (!p) {
        gf_fail("out of memory allocating %zu bytes for %s", bytes, what);
        return NULL;
    }
    memset(p, 0, rounded);
    return p;
}

void gf_free(void *p) { free(p); }
