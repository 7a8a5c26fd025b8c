/* IDX files, the format of MNIST and Fashion-MNIST (gzip-compressed or plain):
 * a 4-byte big-endian magic number (0x00000803 for unsigned-byte images with three
 * dimensions, 0x00000801 for unsigned-byte labels with one), the dimensions as
 * big-endian int32, then the bytes. */
#ifndef GRAFT_DATA_IDX_H
#define GRAFT_DATA_IDX_H

#include <stdint.h>

#include "data/dataset.h"

#define GF_IDX_IMAGES_MAGIC 0x00000803u
#define GF_IDX_LABELS_MAGIC 0x00000801u

/* Reads an image file and its label file into a one-channel dataset. `limit` > 0
 * keeps only the first `limit` images (and reads no further); 0 reads all, and then
 * data after the declared end is an error too. Wrong magic numbers, truncated or
 * corrupt files, mismatched counts and labels outside [0, classes) are refused
 * with the file name and byte offset. */
gf_dataset *gf_idx_load(const char *images_path, const char *labels_path, int classes,
                        int64_t limit);

#endif
