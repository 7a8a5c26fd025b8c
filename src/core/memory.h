/* 64-byte aligned, zero-filled allocations for tensors and flat buffers. */
#ifndef GRAFT_CORE_MEMORY_H
#define GRAFT_CORE_MEMORY_H

#include <stddef.h>

#define GF_ALIGNMENT 64

/* Returns NULL and sets the error message (naming `what`) when out of memory. */
void *gf_alloc(size_t bytes, const char *what);
void gf_free(void *p);

#endif
