/* libFuzzer harness: an IDX image file and label file as given (plain, or gzip
 * streams in the input itself, so corrupt compressed data is tried too); the
 * layout is in fuzz_idx.h. */
#include "fuzz_idx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_idx_run(data, size, -1);
    return 0;
}
