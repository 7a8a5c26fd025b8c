#include "fuzz_idx.h"

#include <stdlib.h>

#include "core/error.h"
#include "data/idx.h"
#include "fuzz_input.h"

static const char *write_file(int slot, fuzz_cursor piece, int level) {
    return level < 0 ? fuzz_file(slot, piece.data, piece.size)
                     : fuzz_gzip_file(slot, piece.data, piece.size, level);
}

void fuzz_idx_run(const uint8_t *data, size_t size, int level) {
    static const int classes[4] = {10, 1, 2, 256};
    fuzz_cursor input = {data, size};
    uint8_t settings = fuzz_byte(&input);
    fuzz_cursor images = fuzz_piece(&input);
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
