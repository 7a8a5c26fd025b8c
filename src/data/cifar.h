/* The binary versions of CIFAR-10 and CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html):
 * records of label byte(s) then 3072 pixel bytes, the 32x32 red plane, then green,
 * then blue. CIFAR-10 records have one label byte (10 classes; files
 * data_batch_1..5.bin and test_batch.bin); CIFAR-100 records have a coarse label
 * byte (20 superclasses) then a fine one (100 classes; files train.bin and test.bin). */
#ifndef GRAFT_DATA_CIFAR_H
#define GRAFT_DATA_CIFAR_H

#include <stdint.h>

#include "data/dataset.h"

typedef enum gf_cifar_labels {
    GF_CIFAR10,
    GF_CIFAR100_FINE,
    GF_CIFAR100_COARSE
} gf_cifar_labels;

/* Reads the files in order into one 3 x 32 x 32 dataset. `limit` > 0 keeps only the
 * first `limit` records. A file whose size is not a whole number of records, or a
 * label out of range, is refused with the file name and byte offset; so are an
 * empty file and a gzip-compressed one (the sizes are checked before allocating). */
gf_dataset *gf_cifar_load(const char *const *paths, int path_count, gf_cifar_labels labels,
                          int64_t limit);

#endif
