/* The IDX harnesses (fuzz_idx.c: files as given, plain or gzip; fuzz_idx_gzip.c:
 * files gzip-compressed by the harness) share one input layout:
 *   byte 0      settings: bits 0-1 the class count (10, 1, 2, 256),
 *               bits 2-3 the image limit (0 = all, 1, 2, 3)
 *   2 + n bytes the image file (n a 2-byte little-endian prefix)
 *   the rest    the label file */
#ifndef GRAFT_TESTS_FUZZ_IDX_H
#define GRAFT_TESTS_FUZZ_IDX_H

#include <stddef.h>
#include <stdint.h>

/* level < 0 writes the files as given; 0..9 gzip-compresses them at that level. */
void fuzz_idx_run(const uint8_t *data, size_t size, int level);

#endif
