/* libFuzzer harness: an IDX image file and label file, gzip-compressed by the
 * harness, so the reader decompresses valid streams of mutated contents; the
 * layout is in fuzz_idx.h. */
#include "fuzz_idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_idx_run(data, size, 6);
    return 0;
}
