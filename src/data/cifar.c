#include "data/cifar.h"

#include "core/error.h"
#include "data/file_reader.h"

enum { SIDE = 32, PIXELS = 3 * SIDE * SIDE };

static int label_bytes(gf_cifar_labels labels) { return labels == GF_CIFAR10 ? 1 : 2; }

static int class_count(gf_cifar_labels labels) {
    switch (labels) {
    case GF_CIFAR10: return 10;
    case GF_CIFAR100_FINE: return 100;
    case GF_CIFAR100_COARSE: return 20;
    }
    return 0;
}

/* Number of whole records in the file: at least one, and no partial last record. */
static int count_records(const char *path, int64_t record, int64_t *count) {
    gf_file_reader r;
    if (gf_file_reader_open(&r, path) != GF_OK) return GF_ERR;
    bool compressed = gf_file_reader_compressed(&r);
    int64_t size = r.file_size;
    gf_file_reader_close(&r);
    if (compressed)
        return gf_fail("%s: gzip-compressed; CIFAR batch files are read as distributed "
                       "(uncompressed, from the binary version's tar.gz)", path);
    if (size == 0) return gf_fail("%s: empty file (no CIFAR records)", path);
    if (size % record != 0) {
        int64_t last = size / record * record;
        return gf_fail("%s: truncated record at byte offset %lld (%lld of %lld bytes; file "
                       "size %lld is not a multiple of the CIFAR record size)", path,
                       (long long)last, (long long)(size - last), (long long)record,
                       (long long)size);
    }
    *count = size / record;
    return GF_OK;
}

static int read_records(const char *path, gf_cifar_labels labels, int64_t first,
                        int64_t count, gf_dataset *ds) {
    gf_file_reader r = {0};
    if (gf_file_reader_open(&r, path) != GF_OK) return GF_ERR;
    int status = GF_OK;
    unsigned char label[2];
    int classes = class_count(labels);
    for (int64_t i = 0; i < count && status == GF_OK; i++) {
        int64_t at = r.offset;
        status = gf_file_reader_read(&r, label, (size_t)label_bytes(labels), "a label");
        if (status == GF_OK)
            status = gf_file_reader_read(&r, ds->images + (first + i) * PIXELS, PIXELS,
                                         "image pixels");
        if (status != GF_OK) break;
        /* CIFAR-100: coarse label first, then fine */
        int value = labels == GF_CIFAR100_FINE ? label[1] : label[0];
        int64_t value_at = labels == GF_CIFAR100_FINE ? at + 1 : at;
        if (labels == GF_CIFAR100_FINE && label[0] >= 20)
            status = gf_fail("%s: coarse label %u at byte offset %lld is out of range [0, 20)",
                             path, label[0], (long long)at);
        else if (value >= classes)
            status = gf_fail("%s: label %d at byte offset %lld is out of range [0, %d)", path,
                             value, (long long)value_at, classes);
        else
            ds->labels[first + i] = value;
    }
    gf_file_reader_close(&r);
    return status;
}

gf_dataset *gf_cifar_load(const char *const *paths, int path_count, gf_cifar_labels labels,
                          int64_t limit) {
    int64_t record = label_bytes(labels) + PIXELS;
    int64_t counts[16];
    if (path_count < 1 || path_count > 16) {
        gf_fail("CIFAR: %d files given (1..16)", path_count);
        return NULL;
    }
    int64_t total = 0;
    for (int f = 0; f < path_count; f++) {
        if (count_records(paths[f], record, &counts[f]) != GF_OK) return NULL;
        total += counts[f];
    }
    if (limit > 0 && limit < total) total = limit;
    gf_dataset *ds = gf_dataset_create(total, 3, SIDE, SIDE, class_count(labels));
    if (!ds) {
        gf_fail_context("CIFAR: %d file(s) from %s", path_count, paths[0]);
        return NULL;
    }
    int64_t done = 0;
    for (int f = 0; f < path_count && done < total; f++) {
        int64_t n = counts[f] < total - done ? counts[f] : total - done;
        if (read_records(paths[f], labels, done, n, ds) != GF_OK) {
            gf_dataset_free(ds);
            return NULL;
        }
        done += n;
    }
    return ds;
}
