/* What the libFuzzer harnesses share: the readers take file paths, so a harness
 * writes the bytes it was given into in-memory files (memfd, one per slot, reused
 * between inputs) and passes their /proc/self/fd paths; and a cursor that splits
 * one input into settings and several files. */
#ifndef GRAFT_TESTS_FUZZ_INPUT_H
#define GRAFT_TESTS_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

enum { FUZZ_FILE_SLOTS = 4 };

/* Replaces the contents of in-memory file `slot` by bytes[0, n); returns its path
 * (valid until the next call for the same slot). Aborts if the system refuses. */
const char *fuzz_file(int slot, const uint8_t *bytes, size_t n);

/* The same, gzip-compressed (deflate level `level`, 0..9). */
const char *fuzz_gzip_file(int slot, const uint8_t *bytes, size_t n, int level);

/* A private scratch folder for the harnesses that write files (the writers rename
 * into place, so it is a folder of its own): under /dev/shm, in memory, when the
 * system has it; removed at exit. The same folder on every call. */
const char *fuzz_scratch_dir(void);
/* fuzz_scratch_dir()/name (valid until the next call). */
const char *fuzz_scratch_path(const char *name);

/* A reader refused the input: the error message must say why (abort otherwise);
 * printed when GRAFT_FUZZ_VERBOSE is set, to see what a seed or crash input hits. */
void fuzz_refused(void);

/* Reads every byte of [p, p + n), so that the sanitizer sees any overrun. */
void fuzz_touch(const void *p, size_t n);

/* The unread rest of an input. */
typedef struct fuzz_cursor {
    const uint8_t *data;
    size_t size;
} fuzz_cursor;

/* The next byte, 0 when none are left. */
uint8_t fuzz_byte(fuzz_cursor *c);
/* The next piece: its length is a 2-byte little-endian prefix, cut to what is left. */
fuzz_cursor fuzz_piece(fuzz_cursor *c);

#endif
