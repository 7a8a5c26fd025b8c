/* 64-byte aligned, zero-filled allocations for tensors and flat buffers. Those of
 * GF_HUGE_PAGE bytes and more (a network's arena, its scratch, a data set) start on a
 * huge-page boundary and are asked of the kernel as transparent huge pages, all but a
 * last part short of one: a training step's passes over whole tensors walk hundreds of
 * megabytes, which in 4 KiB pages miss the TLB at every page (docs/history/kernels.md,
 * step 70). */
#ifndef GRAFT_CORE_MEMORY_H
#define GRAFT_CORE_MEMORY_H

#include <stddef.h>

#define GF_ALIGNMENT 64
#define GF_HUGE_PAGE ((size_t)2 << 20)

/* Returns NULL and sets the error message (naming `what`) when out of memory. */
void *gf_alloc(size_t bytes, const char *what);
void gf_free(void *p);

#endif
