#include "core/memory.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/error.h"
#include "core/size.h"

void *gf_alloc(size_t bytes, const char *what) {
    size_t rounded = gf_size_round_up(bytes, GF_ALIGNMENT);
    if (rounded == GF_SIZE_OVERFLOW) {
        gf_fail("cannot allocate %s: its size overflows the address space", what);
        return NULL;
    }
    if (rounded == 0) rounded = GF_ALIGNMENT;
    const bool large = rounded >= GF_HUGE_PAGE;
    /* posix_memalign: aligned_alloc wants the size a multiple of the alignment, which
     * a large block's is not (AddressSanitizer refuses it) */
    void *p = NULL;
    if (posix_memalign(&p, large ? GF_HUGE_PAGE : GF_ALIGNMENT, rounded) != 0) p = NULL;
    if (!p) {
        gf_fail("out of memory allocating %zu bytes for %s", bytes, what);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    /* before the first touch below, so that the pages come in huge. Only the block's
     * own pages: a last part short of a huge page stays in small pages rather than
     * taking a whole one. Where the kernel has transparent huge pages off this fails,
     * and small pages serve as before. */
    if (large) (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    memset(p, 0, rounded);
    return p;
}

void gf_free(void *p) { free(p); }
