#include "data/idx.h"

#include "core/error.h"
#include "data/file_reader.h"

/* A compressed file's pixels are read into a data set that starts at this many
 * bytes and doubles as data arrives, so that a header claiming more images than the
 * file holds costs at most twice the data present. */
static const int64_t FIRST_GROWTH_BYTES = 1 << 20;

static uint32_t big_endian_u32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads the magic number and `ndim` dimensions; checks the magic. */
static int read_header(gf_file_reader *r, uint32_t expected_magic, const char *kind,
                       uint32_t *dims, int ndim) {
    unsigned char header[16];
    if (gf_file_reader_read(r, header, 4, "the IDX magic number") != GF_OK) return GF_ERR;
    uint32_t magic = big_endian_u32(header);
    if (magic != expected_magic)
        return gf_fail("%s: wrong magic number 0x%08x at byte offset 0 (expected 0x%08x, "
                       "IDX %s)%s", r->path, magic, expected_magic, kind,
                       magic == GF_IDX_IMAGES_MAGIC || magic == GF_IDX_LABELS_MAGIC
                           ? "; images and labels swapped?" : "");
    if (gf_file_reader_read(r, header + 4, 4 * (size_t)ndim, "the IDX dimensions") != GF_OK)
        return GF_ERR;
    for (int d = 0; d < ndim; d++) dims[d] = big_endian_u32(header + 4 + 4 * d);
    return GF_OK;
}

/* Pixels of images [0, count) of ds->count, growing ds as the data arrives. */
static int read_pixels_growing(gf_file_reader *r, gf_dataset *ds, int64_t count) {
    int64_t image = gf_dataset_image_bytes(ds), end = r->offset + count * image;
    for (int64_t done = 0; done < count;) {
        if (done == ds->count &&
            gf_dataset_resize(ds, ds->count * 2 < count ? ds->count * 2 : count) != GF_OK)
            return gf_fail_context("%s", r->path);
        int64_t n = ds->count - done;
        if (gf_file_reader_read_toward(r, ds->images + done * image, (size_t)(n * image), end,
                                       "image pixels") != GF_OK)
            return GF_ERR;
        done += n;
    }
    return GF_OK;
}

static int read_images(gf_file_reader *r, int64_t limit, gf_dataset **out,
                       int64_t *declared) {
    uint32_t dims[3] = {0};
    if (read_header(r, GF_IDX_IMAGES_MAGIC, "unsigned-byte images, 3 dimensions", dims, 3) !=
        GF_OK)
        return GF_ERR;
    if (dims[0] > GF_DATASET_MAX_COUNT || dims[1] < 1 || dims[1] > GF_DATASET_MAX_SIDE ||
        dims[2] < 1 || dims[2] > GF_DATASET_MAX_SIDE)
        return gf_fail("%s: implausible image dimensions %u x %u x %u at byte offset 4 (at most "
                       "%d images of sides 1 to %d)", r->path, dims[0], dims[1], dims[2],
                       GF_DATASET_MAX_COUNT, GF_DATASET_MAX_SIDE);
    int64_t count = dims[0];
    if (limit > 0 && limit < count) count = limit;
    int64_t image = (int64_t)dims[1] * dims[2], bytes = count * image;
    if (bytes > GF_DATASET_MAX_BYTES)
        return gf_fail("%s: %lld images of %ux%u at byte offset 4 are %lld bytes, above the "
                       "limit of %lld", r->path, (long long)count, dims[1], dims[2],
                       (long long)bytes, (long long)GF_DATASET_MAX_BYTES);
    /* a plain file's size is known: a claim beyond it is refused before allocating */
    int64_t remaining = gf_file_reader_remaining(r);
    if (remaining >= 0 && bytes > remaining)
        return gf_fail("%s: truncated at byte offset %lld (the end of the file): the header at "
                       "byte offset 4 declares %lld images of %ux%u, %lld bytes of pixels (%lld "
                       "more bytes needed)", r->path, (long long)r->file_size, (long long)count,
                       dims[1], dims[2], (long long)bytes, (long long)(bytes - remaining));
    int64_t first = count;
    if (remaining < 0 && bytes > FIRST_GROWTH_BYTES) first = FIRST_GROWTH_BYTES / image + 1;
    /* classes are set by the caller once the labels are known to fit */
    gf_dataset *ds = gf_dataset_create(first, 1, (int)dims[1], (int)dims[2], 1);
    if (!ds) return gf_fail_context("%s", r->path);
    if (read_pixels_growing(r, ds, count) != GF_OK ||
        (count == (int64_t)dims[0] && gf_file_reader_expect_end(r) != GF_OK)) {
        gf_dataset_free(ds);
        return GF_ERR;
    }
    *out = ds;
    *declared = dims[0];
    return GF_OK;
}

static int read_labels(gf_file_reader *r, gf_dataset *ds, int64_t declared_images,
                       const char *images_path, int classes) {
    uint32_t dims[1] = {0};
    if (read_header(r, GF_IDX_LABELS_MAGIC, "unsigned-byte labels, 1 dimension", dims, 1) !=
        GF_OK)
        return GF_ERR;
    if ((int64_t)dims[0] != declared_images)
        return gf_fail("%s declares %u labels at byte offset 4, but %s declares %lld images",
                       r->path, dims[0], images_path, (long long)declared_images);
    unsigned char block[4096];
    for (int64_t done = 0; done < ds->count;) {
        int64_t n = ds->count - done < (int64_t)sizeof block ? ds->count - done
                                                             : (int64_t)sizeof block;
        int64_t start = r->offset;
        if (gf_file_reader_read(r, block, (size_t)n, "labels") != GF_OK) return GF_ERR;
        for (int64_t i = 0; i < n; i++) {
            if (block[i] >= classes)
                return gf_fail("%s: label %u at byte offset %lld is out of range [0, %d)",
                               r->path, block[i], (long long)(start + i), classes);
            ds->labels[done + i] = block[i];
        }
        done += n;
    }
    if (ds->count == declared_images) return gf_file_reader_expect_end(r);
    return GF_OK;
}

gf_dataset *gf_idx_load(const char *images_path, const char *labels_path, int classes,
                        int64_t limit) {
    if (classes < 1 || classes > 256) {
        gf_fail("IDX: %d classes requested (1..256 fit in a label byte)", classes);
        return NULL;
    }
    gf_file_reader images = {0}, labels = {0};
    gf_dataset *ds = NULL;
    if (gf_file_reader_open(&images, images_path) != GF_OK) return NULL;
    /* the label file must match the declared count, even when only the first
     * `limit` images are kept */
    int64_t declared = 0;
    int status = read_images(&images, limit, &ds, &declared);
    gf_file_reader_close(&images);
    if (status != GF_OK) return NULL;
    if (gf_file_reader_open(&labels, labels_path) != GF_OK) {
        gf_dataset_free(ds);
        return NULL;
    }
    status = read_labels(&labels, ds, declared, images_path, classes);
    gf_file_reader_close(&labels);
    if (status != GF_OK) {
        gf_dataset_free(ds);
        return NULL;
    }
    ds->classes = classes;
    return ds;
}
