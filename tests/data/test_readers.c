/* IDX and CIFAR readers on small files written in the exact formats, including
 * gzip, truncated, corrupt, wrong-magic and out-of-range files. */
#include <sys/resource.h>
#include <sys/stat.h>

#include "check.h"
#include "core/error.h"
#include "data/cifar.h"
#include "data/idx.h"
#include "fixtures.h"

static int same_pixels(const gf_dataset *ds, int64_t first_index) {
    for (int64_t i = 0; i < ds->count; i++)
        for (int c = 0; c < ds->channels; c++)
            for (int y = 0; y < ds->height; y++)
                for (int x = 0; x < ds->width; x++) {
                    int64_t at = ((i * ds->channels + c) * ds->height + y) * ds->width + x;
                    if (ds->images[at] != fixture_pixel(i + first_index, c, y, x)) return 0;
                }
    return 1;
}

static void test_idx_plain_and_gzip(void) {
    for (int gz = 0; gz <= 1; gz++) {
        const char *images = fixture_path(gz ? "img.gz" : "img");
        const char *labels = fixture_path(gz ? "lab.gz" : "lab");
        fixture_idx_images(images, 7, 5, 6, gz);
        fixture_idx_labels(labels, 7, 10, gz);
        gf_dataset *ds = gf_idx_load(images, labels, 10, 0);
        CHECK(ds != NULL);
        if (!ds) continue;
        CHECK(ds->count == 7 && ds->channels == 1 && ds->height == 5 && ds->width == 6);
        CHECK(ds->classes == 10);
        CHECK(same_pixels(ds, 0));
        for (int i = 0; i < 7; i++) CHECK(ds->labels[i] == fixture_label(i, 10));
        gf_dataset_free(ds);

        /* the first n only */
        ds = gf_idx_load(images, labels, 10, 3);
        CHECK(ds && ds->count == 3 && same_pixels(ds, 0) && ds->labels[2] == fixture_label(2, 10));
        gf_dataset_free(ds);
    }
}

static void test_idx_errors(void) {
    const char *images = fixture_path("img"), *labels = fixture_path("lab");
    size_t image_bytes = fixture_idx_images(images, 4, 3, 3, 0);
    fixture_idx_labels(labels, 4, 10, 0);

    /* wrong magic: labels given as images */
    CHECK(gf_idx_load(labels, images, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "wrong magic number 0x00000801 at byte offset 0");
    CHECK_CONTAINS(gf_error_message(), labels);

    /* label out of range: label of image 2 sits at byte 8 + 2 */
    fixture_poke(labels, 10, 10);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "label 10 at byte offset 10 is out of range [0, 10)");
    fixture_idx_labels(labels, 4, 10, 0);

    /* count mismatch */
    fixture_idx_labels(labels, 5, 10, 0);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "declares 5 labels");
    CHECK_CONTAINS(gf_error_message(), "declares 4 images");
    fixture_idx_labels(labels, 4, 10, 0);

    /* truncated pixels: 5 bytes missing */
    fixture_truncate(images, (long)image_bytes - 5);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "truncated at byte offset 47 (the end of the file)");
    CHECK_CONTAINS(gf_error_message(), "declares 4 images of 3x3, 36 bytes of pixels (5 more "
                                       "bytes needed)");
    CHECK_CONTAINS(gf_error_message(), images);

    /* truncated header */
    fixture_truncate(images, 6);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "truncated at byte offset 6 while reading the IDX dimensions");

    /* trailing bytes */
    fixture_idx_images(images, 4, 3, 3, 0);
    FILE *f = fopen(images, "ab");
    fputc(0, f);
    fclose(f);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "unexpected data after the end at byte offset 52");

    /* missing file */
    CHECK(gf_idx_load(fixture_path("nothing"), labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "cannot open");
    CHECK_CONTAINS(gf_error_message(), "nothing");
}

static void test_idx_gzip_damage(void) {
    const char *images = fixture_path("img.gz"), *labels = fixture_path("lab.gz");
    fixture_idx_images(images, 50, 10, 10, 1);
    fixture_idx_labels(labels, 50, 10, 1);
    FILE *f = fopen(images, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);

    /* cut the compressed stream in half */
    fixture_truncate(images, size / 2);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), images);
    CHECK_CONTAINS(gf_error_message(), "byte offset");

    /* corrupt the deflate data in the middle */
    fixture_idx_images(images, 50, 10, 10, 1);
    for (long o = 20; o < 40; o++) fixture_poke(images, o, 0xff);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), images);
    CHECK_CONTAINS(gf_error_message(), "byte offset");
}

/* Peak resident memory of this process so far, in MiB. */
static double peak_mib(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return (double)usage.ru_maxrss / 1024.0;
}

/* An IDX header claiming 2,000,000 images of 28x28 (1.5 GB) over a few images of
 * data: refused as truncated without allocating the claim, plain or gzip. */
static void test_idx_claims_beyond_the_data(void) {
    const char *labels = fixture_path("bomb-labels");
    for (int gz = 0; gz <= 1; gz++) {
        const char *images = fixture_path(gz ? "bomb.gz" : "bomb");
        size_t size = fixture_idx_images(images, 10, 28, 28, 0);
        unsigned char *bytes = malloc(size);
        FILE *f = fopen(images, "rb");
        CHECK(fread(bytes, 1, size, f) == size);
        fclose(f);
        put_be32(bytes + 4, 2000000);
        fixture_write(images, bytes, size, gz);
        free(bytes);
        fixture_idx_labels(labels, 2000000, 10, 0);
        double before = peak_mib();
        CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
        CHECK(peak_mib() - before < 64);
        CHECK_CONTAINS(gf_error_message(), images);
        /* plain: the file's size is known; gzip: the data ends after 10 images */
        CHECK_CONTAINS(gf_error_message(),
                       gz ? "truncated at byte offset 7856 while reading image pixels "
                            "(1567992160 more bytes needed)"
                          : "declares 2000000 images of 28x28, 1568000000 bytes of pixels");
    }
    /* beyond the stated limits */
    const char *images = fixture_path("huge");
    unsigned char header[16];
    put_be32(header, 0x00000803u);
    put_be32(header + 4, 1000);
    put_be32(header + 8, 4096);
    put_be32(header + 12, 4096);
    fixture_write(images, header, sizeof header, 0);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "1000 images of 4096x4096 at byte offset 4 are "
                                       "16777216000 bytes, above the limit of 8589934592");
    put_be32(header + 8, 4097);
    fixture_write(images, header, sizeof header, 0);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "implausible image dimensions 1000 x 4097 x 4096");
    CHECK(gf_dataset_create(1000, 1, 4096, 4096, 10) == NULL);
    CHECK_CONTAINS(gf_error_message(), "above the limit of 8589934592");
}

/* A compressed file larger than the first allocation: the data set grows as the
 * data arrives and holds every pixel; several gzip members read as one stream. */
static void test_idx_gzip_growth_and_members(void) {
    const char *images = fixture_path("many.gz"), *labels = fixture_path("many-labels.gz");
    fixture_idx_images(images, 3000, 28, 28, 1); /* 2.35 MB of pixels */
    fixture_idx_labels(labels, 3000, 10, 1);
    gf_dataset *ds = gf_idx_load(images, labels, 10, 0);
    CHECK(ds && ds->count == 3000 && same_pixels(ds, 0));
    CHECK(ds && ds->labels[2999] == fixture_label(2999, 10));
    gf_dataset_free(ds);

    /* the labels as two gzip members: the header in one, the labels in the next */
    const char *plain = fixture_path("labels-plain");
    size_t size = fixture_idx_labels(plain, 3000, 10, 0);
    unsigned char *bytes = malloc(size);
    FILE *f = fopen(plain, "rb");
    CHECK(fread(bytes, 1, size, f) == size);
    fclose(f);
    gzFile out = gzopen(labels, "wb");
    CHECK(gzwrite(out, bytes, 8) == 8 && gzclose(out) == Z_OK);
    out = gzopen(labels, "ab");
    CHECK(gzwrite(out, bytes + 8, (unsigned)(size - 8)) == (int)(size - 8) &&
          gzclose(out) == Z_OK);
    free(bytes);
    ds = gf_idx_load(images, labels, 10, 0);
    CHECK(ds && ds->count == 3000 && ds->labels[1234] == fixture_label(1234, 10));
    gf_dataset_free(ds);
}

/* Bytes after the gzip stream that are not another member are refused. */
static void test_gzip_trailing_garbage(void) {
    const char *images = fixture_path("img.gz"), *labels = fixture_path("lab.gz");
    fixture_idx_images(images, 5, 4, 4, 1);
    fixture_idx_labels(labels, 5, 10, 1);
    gf_dataset *ds = gf_idx_load(images, labels, 10, 0);
    CHECK(ds != NULL);
    gf_dataset_free(ds);
    FILE *f = fopen(images, "ab");
    fputs("garbage", f);
    long size = ftell(f);
    fclose(f);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), images);
    CHECK_CONTAINS(gf_error_message(), "7 bytes after the end of the gzip data");
    char where[64];
    snprintf(where, sizeof where, "(at byte %ld of the file)", size - 7);
    CHECK_CONTAINS(gf_error_message(), where);
    CHECK_CONTAINS(gf_error_message(), "trailing garbage");
    /* a single stray byte too */
    fixture_idx_labels(labels, 5, 10, 1);
    f = fopen(labels, "ab");
    fputc(0x1f, f);
    fclose(f);
    fixture_idx_images(images, 5, 4, 4, 1);
    CHECK(gf_idx_load(images, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "1 bytes after the end of the gzip data");
}

/* A directory or a FIFO is refused at once (a FIFO would block the reader). */
static void test_not_regular_files(void) {
    const char *labels = fixture_path("lab");
    fixture_idx_labels(labels, 4, 10, 0);
    CHECK(gf_idx_load(fixture_dir, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "not a regular file (a directory)");
    const char *fifo = fixture_path("fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK(gf_idx_load(fifo, labels, 10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "not a regular file (a FIFO, device or socket)");
    const char *paths[] = {fifo};
    CHECK(gf_cifar_load(paths, 1, GF_CIFAR10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "/fifo: not a regular file");
    unlink(fifo);
}

static void test_cifar10(void) {
    const char *a = fixture_path("data_batch_1.bin"), *b = fixture_path("data_batch_2.bin");
    fixture_cifar(a, 3, 1, 0);
    fixture_cifar(b, 2, 1, 3);
    const char *paths[] = {a, b};
    gf_dataset *ds = gf_cifar_load(paths, 2, GF_CIFAR10, 0);
    CHECK(ds && ds->count == 5 && ds->channels == 3 && ds->height == 32 && ds->classes == 10);
    if (ds) {
        CHECK(same_pixels(ds, 0));
        for (int i = 0; i < 5; i++) CHECK(ds->labels[i] == fixture_label(i, 10));
    }
    gf_dataset_free(ds);
    ds = gf_cifar_load(paths, 2, GF_CIFAR10, 4);
    CHECK(ds && ds->count == 4 && same_pixels(ds, 0));
    gf_dataset_free(ds);

    /* label out of range in record 1 of the second file */
    fixture_poke(b, 3073, 10);
    CHECK(gf_cifar_load(paths, 2, GF_CIFAR10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "label 10 at byte offset 3073 is out of range [0, 10)");
    CHECK_CONTAINS(gf_error_message(), b);

    /* truncated last record */
    fixture_cifar(b, 2, 1, 3);
    fixture_truncate(b, 3073 + 100);
    CHECK(gf_cifar_load(paths, 2, GF_CIFAR10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "truncated record at byte offset 3073");
    CHECK_CONTAINS(gf_error_message(), b);

    /* an empty batch file holds no records */
    fixture_write(b, (const unsigned char *)"", 0, 0);
    CHECK(gf_cifar_load(paths, 2, GF_CIFAR10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), b);
    CHECK_CONTAINS(gf_error_message(), "empty file (no CIFAR records)");

    /* a compressed batch file is named as such */
    unsigned char *record = calloc(1, 3073 * 2);
    fixture_write(b, record, 3073 * 2, 1);
    free(record);
    CHECK(gf_cifar_load(paths, 2, GF_CIFAR10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "gzip-compressed");
}

static void test_cifar100(void) {
    const char *path = fixture_path("train.bin");
    fixture_cifar(path, 4, 2, 0);
    const char *paths[] = {path};
    gf_dataset *fine = gf_cifar_load(paths, 1, GF_CIFAR100_FINE, 0);
    gf_dataset *coarse = gf_cifar_load(paths, 1, GF_CIFAR100_COARSE, 0);
    CHECK(fine && coarse);
    if (fine && coarse) {
        CHECK(fine->classes == 100 && coarse->classes == 20);
        CHECK(same_pixels(fine, 0) && same_pixels(coarse, 0));
        for (int i = 0; i < 4; i++) {
            CHECK(fine->labels[i] == fixture_label(i, 100));
            CHECK(coarse->labels[i] == fixture_label(i, 20));
        }
    }
    gf_dataset_free(fine);
    gf_dataset_free(coarse);

    /* fine label 100 of record 2 (at 2 * 3074 + 1) */
    fixture_poke(path, 2 * 3074 + 1, 100);
    CHECK(gf_cifar_load(paths, 1, GF_CIFAR100_FINE, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "label 100 at byte offset 6149 is out of range [0, 100)");
    /* a CIFAR-100 file read as CIFAR-10 has the wrong record size */
    fixture_cifar(path, 4, 2, 0);
    CHECK(gf_cifar_load(paths, 1, GF_CIFAR10, 0) == NULL);
    CHECK_CONTAINS(gf_error_message(), "not a multiple of the CIFAR record size");
}

static void test_stats(void) {
    gf_dataset *ds = gf_dataset_create(2, 1, 1, 2, 2);
    ds->images[0] = 0;
    ds->images[1] = 255;
    ds->images[2] = 255;
    ds->images[3] = 255;
    float mean, std;
    gf_dataset_compute_stats(ds, &mean, &std);
    CHECK_NEAR(mean, 0.75, 1e-6);
    CHECK_NEAR(std, sqrt(0.75 - 0.5625), 1e-6);
    gf_dataset_free(ds);
}

/* The real Fashion-MNIST training set, when installed: its well-known statistics. */
static void test_fashion_mnist_stats(void) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    char images[256], labels[256];
    snprintf(images, sizeof images, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(labels, sizeof labels, "%s/train-labels-idx1-ubyte.gz", dir);
    if (access(images, R_OK) != 0) {
        printf("skipping Fashion-MNIST statistics: %s not installed\n", images);
        return;
    }
    gf_dataset *ds = gf_idx_load(images, labels, 10, 0);
    CHECK(ds && ds->count == 60000 && ds->height == 28);
    if (!ds) return;
    float mean, std;
    gf_dataset_compute_stats(ds, &mean, &std);
    CHECK_NEAR(mean, 0.2860, 1e-4);
    CHECK_NEAR(std, 0.3530, 1e-4);
    int per_class[10] = {0};
    for (int64_t i = 0; i < ds->count; i++) per_class[ds->labels[i]]++;
    for (int c = 0; c < 10; c++) CHECK(per_class[c] == 6000);
    gf_dataset_free(ds);
}

int main(void) {
    fixture_begin();
    test_idx_plain_and_gzip();
    test_idx_errors();
    test_idx_gzip_damage();
    test_idx_claims_beyond_the_data();
    test_idx_gzip_growth_and_members();
    test_gzip_trailing_garbage();
    test_not_regular_files();
    test_cifar10();
    test_cifar100();
    test_stats();
    test_fashion_mnist_stats();
    fixture_end();
    return CHECK_DONE();
}
