/* libFuzzer harness: one to three CIFAR batch files. Input layout:
 *   byte 0      settings: bits 0-1 the labels (CIFAR-10, CIFAR-100 fine, CIFAR-100
 *               coarse, CIFAR-10), bits 2-3 the file count - 1 (3 means 1),
 *               bits 4-5 the record limit (0 = all, 1, 2, 3)
 *   2 + n bytes each file but the last (n a 2-byte little-endian prefix)
 *   the rest    the last file */
#include <stdint.h>
#include <stdlib.h>

#include "core/error.h"
#include "data/cifar.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const gf_cifar_labels labels[4] = {GF_CIFAR10, GF_CIFAR100_FINE, GF_CIFAR100_COARSE,
                                              GF_CIFAR10};
    fuzz_cursor input = {data, size};
    uint8_t settings = fuzz_byte(&input);
    int files = (settings >> 2 & 3) % 3 + 1;
    const char *paths[3];
    for (int f = 0; f < files - 1; f++) {
        fuzz_cursor piece = fuzz_piece(&input);
        paths[f] = fuzz_file(f, piece.data, piece.size);
    }
    paths[files - 1] = fuzz_file(files - 1, input.data, input.size);
    gf_error_clear();
    gf_dataset *ds = gf_cifar_load(paths, files, labels[settings & 3], settings >> 4 & 3);
    if (ds == NULL) {
        fuzz_refused();
        return 0;
    }
    if (ds->channels != 3 || ds->height != 32 || ds->width != 32 || ds->count < 0) abort();
    fuzz_touch(ds->images, (size_t)(ds->count * gf_dataset_image_bytes(ds)));
    for (int64_t i = 0; i < ds->count; i++)
        if (ds->labels[i] < 0 || ds->labels[i] >= ds->classes) abort();
    gf_dataset_free(ds);
    return 0;
}
