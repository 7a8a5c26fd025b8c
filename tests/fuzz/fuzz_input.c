#define _GNU_SOURCE /* memfd_create */
#include "fuzz_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "core/files.h"

static int slot_fd[FUZZ_FILE_SLOTS] = {-1, -1, -1, -1};
static char slot_path[FUZZ_FILE_SLOTS][64];

const char *fuzz_file(int slot, const uint8_t *bytes, size_t n) {
    if (slot < 0 || slot >= FUZZ_FILE_SLOTS) abort();
    if (slot_fd[slot] < 0) {
        slot_fd[slot] = memfd_create("graft-fuzz", 0);
        if (slot_fd[slot] < 0) {
            perror("fuzz_file: memfd_create");
            abort();
        }
        snprintf(slot_path[slot], sizeof slot_path[slot], "/proc/self/fd/%d", slot_fd[slot]);
    }
    int fd = slot_fd[slot];
    if (ftruncate(fd, 0) != 0 || (n > 0 && pwrite(fd, bytes, n, 0) != (ssize_t)n)) {
        perror("fuzz_file: writing the in-memory file");
        abort();
    }
    return slot_path[slot];
}

const char *fuzz_gzip_file(int slot, const uint8_t *bytes, size_t n, int level) {
    /* one compressor per level, reset between inputs (its state is 256 KB) */
    static z_stream streams[10];
    static int ready[10];
    if (level < 0 || level > 9) abort();
    z_stream *z = &streams[level];
    /* window bits 15 + 16: a gzip wrapper, as gzip(1) writes */
    if (!ready[level] && deflateInit2(z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    ready[level] = 1;
    if (deflateReset(z) != Z_OK) abort();
    size_t capacity = deflateBound(z, (uLong)n);
    uint8_t *out = malloc(capacity);
    if (!out) abort();
    z->next_in = (Bytef *)bytes;
    z->avail_in = (uInt)n;
    z->next_out = out;
    z->avail_out = (uInt)capacity;
    if (deflate(z, Z_FINISH) != Z_STREAM_END) abort();
    const char *path = fuzz_file(slot, out, z->total_out);
    free(out);
    return path;
}

static char scratch[128];

static void remove_scratch(void) { gf_remove_tree(scratch); }

const char *fuzz_scratch_dir(void) {
    if (scratch[0]) return scratch;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(scratch, sizeof scratch, "%s/graft-fuzz-XXXXXX", base);
    if (!mkdtemp(scratch)) {
        perror("fuzz_scratch_dir: mkdtemp");
        abort();
    }
    atexit(remove_scratch);
    return scratch;
}

const char *fuzz_scratch_path(const char *name) {
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", fuzz_scratch_dir(), name);
    return path;
}

void fuzz_refused(void) {
    static int verbose = -1;
    if (verbose < 0) verbose = getenv("GRAFT_FUZZ_VERBOSE") != NULL;
    const char *message = gf_error_message();
    if (message[0] == '\0') {
        fprintf(stderr, "a reader refused the input without a message\n");
        abort();
    }
    if (verbose) fprintf(stderr, "refused: %s\n", message);
}

/* where fuzz_touch's sums go; external, so the compiler keeps the reads */
volatile uint8_t fuzz_touch_sink;

void fuzz_touch(const void *p, size_t n) {
    const uint8_t *bytes = p;
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += bytes[i];
    fuzz_touch_sink = sum;
}

uint8_t fuzz_byte(fuzz_cursor *c) {
    if (c->size == 0) return 0;
    c->size--;
    return *c->data++;
}

fuzz_cursor fuzz_piece(fuzz_cursor *c) {
    size_t length = fuzz_byte(c);
    length |= (size_t)fuzz_byte(c) << 8;
    if (length > c->size) length = c->size;
    fuzz_cursor piece = {c->data, length};
    c->data += length;
    c->size -= length;
    return piece;
}
