#include "fuzz_idx.h"

#include <stdlib.h>
#include <zlib.h>

#include "core/error.h"
#include "data/idx.h"
#include "fuzz_input.h"

static const char *write_file(int slot, fuzz_cursor piece, int level) {
    return level < 0 ? fuzz_file(slot, piece.data, piece.size)
                     : fuzz_gzip_file(slot, piece.data, piece.size, level);
}

/* Until the reader allocates by the data present rather than by the header's
 * claim (issue 12, item 3), an image file whose header claims more than this is
 * skipped: it would only report the known memory bomb. */
static const double CLAIM_LIMIT_BYTES = 16 << 20;

/* The first n bytes of the file's data (decompressed when it is gzip); the count. */
static size_t peek(fuzz_cursor file, unsigned char *out, size_t n) {
    if (file.size < 2 || file.data[0] != 0x1f || file.data[1] != 0x8b) {
        size_t k = file.size < n ? file.size : n;
        for (size_t i = 0; i < k; i++) out[i] = file.data[i];
        return k;
    }
    z_stream z = {0};
    if (inflateInit2(&z, 15 + 16) != Z_OK) abort();
    z.next_in = (Bytef *)file.data;
    z.avail_in = (uInt)file.size;
    z.next_out = out;
    z.avail_out = (uInt)n;
    while (z.avail_out > 0 && inflate(&z, Z_NO_FLUSH) == Z_OK) {}
    size_t got = n - z.avail_out;
    inflateEnd(&z);
    return got;
}

static int claims_too_much(fuzz_cursor images, int64_t limit) {
    unsigned char h[16];
    if (peek(images, h, sizeof h) < sizeof h) return 0;
    double dims[3];
    for (int d = 0; d < 3; d++)
        dims[d] = (double)((uint32_t)h[4 + 4 * d] << 24 | (uint32_t)h[5 + 4 * d] << 16 |
                           (uint32_t)h[6 + 4 * d] << 8 | h[7 + 4 * d]);
    if (limit > 0 && limit < dims[0]) dims[0] = (double)limit;
    return dims[0] * dims[1] * dims[2] > CLAIM_LIMIT_BYTES;
}

void fuzz_idx_run(const uint8_t *data, size_t size, int level) {
    static const int classes[4] = {10, 1, 2, 256};
    fuzz_cursor input = {data, size};
    uint8_t settings = fuzz_byte(&input);
    fuzz_cursor images = fuzz_piece(&input);
    if (claims_too_much(images, (settings >> 2) & 3)) return;
    const char *images_path = write_file(0, images, level);
    const char *labels_path = write_file(1, input, level);
    gf_error_clear();
    gf_dataset *ds = gf_idx_load(images_path, labels_path, classes[settings & 3],
                                 (settings >> 2) & 3);
    if (ds == NULL) {
        fuzz_refused();
        return;
    }
    if (ds->channels != 1 || ds->count < 0) abort();
    fuzz_touch(ds->images, (size_t)(ds->count * gf_dataset_image_bytes(ds)));
    for (int64_t i = 0; i < ds->count; i++)
        if (ds->labels[i] < 0 || ds->labels[i] >= ds->classes) abort();
    gf_dataset_free(ds);
}
