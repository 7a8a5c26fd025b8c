/* gf_alloc: small blocks 64-byte aligned, large ones on a huge-page boundary, both
 * zero-filled whatever the memory held before; and, where the kernel offers
 * transparent huge pages, a large block actually backed by them; the errors for sizes
 * that overflow or cannot be had. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/error.h"
#include "core/memory.h"

static bool all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* allocated, dirtied and freed many times over, so that later blocks reuse memory
 * whose old contents a missing clear would show */
static void blocks_aligned_and_zeroed(void) {
    const size_t sizes[] = {1, 63, 64, 1000, GF_HUGE_PAGE - 64, GF_HUGE_PAGE, GF_HUGE_PAGE + 1,
                            3 * GF_HUGE_PAGE + 12345};
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            unsigned char *p = gf_alloc(sizes[i], "test block");
            CHECK(p != NULL);
            if (!p) continue;
            const size_t alignment = sizes[i] >= GF_HUGE_PAGE ? GF_HUGE_PAGE : GF_ALIGNMENT;
            CHECK((uintptr_t)p % alignment == 0);
            CHECK(all_zero(p, sizes[i]));
            memset(p, 0xA5, sizes[i]);
            gf_free(p);
        }
}

/* the kernel's setting, e.g. "always [madvise] never": true unless "[never]" */
static bool transparent_huge_pages_on(void) {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return false;
    char line[128] = {0};
    const bool read = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    return read && !strstr(line, "[never]");
}

/* kB of huge pages in the mapping of /proc/self/smaps that holds p, or -1 */
static long huge_kib_of_mapping(const void *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    bool inside = false;
    long kib = -1;
    while (fgets(line, sizeof line, f)) {
        uintptr_t start, end;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) == 2) {
            if (inside) break;
            inside = (uintptr_t)p >= start && (uintptr_t)p < end;
        } else if (inside && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1) {
            break;
        }
    }
    fclose(f);
    return kib;
}

static void large_blocks_in_huge_pages(void) {
    if (!transparent_huge_pages_on()) {
        printf("transparent huge pages are off here: backing not checked\n");
        return;
    }
    const size_t bytes = 16 * GF_HUGE_PAGE;
    unsigned char *p = gf_alloc(bytes, "test arena");
    CHECK(p != NULL);
    if (!p) return;
    const long kib = huge_kib_of_mapping(p);
    printf("a %zu MiB block: %ld KiB in huge pages\n", bytes >> 20, kib);
    /* most of it: the kernel may fall short where memory is fragmented, not to zero */
    CHECK(kib >= (long)(bytes >> 10) / 2);
    gf_free(p);
}

static void impossible_sizes_refused(void) {
    CHECK(gf_alloc(SIZE_MAX - 10, "an impossible block") == NULL);
    CHECK_CONTAINS(gf_error_message(), "an impossible block");
    CHECK_CONTAINS(gf_error_message(), "overflows");
    CHECK(gf_alloc(SIZE_MAX / 2, "a block of half the address space") == NULL);
    CHECK_CONTAINS(gf_error_message(), "out of memory");
    CHECK_CONTAINS(gf_error_message(), "a block of half the address space");
}

int main(void) {
    blocks_aligned_and_zeroed();
    large_blocks_in_huge_pages();
    impossible_sizes_refused();
    return CHECK_DONE();
}
