/* IDX and CIFAR readers on small files written in the exact formats, including
 * gzip, truncated, corrupt, wrong-magic and out-of-range files. */
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
    CHECK_CONTAINS(gf_error_message(), "truncated at byte offset 47");
    CHECK_CONTAINS(gf_error_message(), "5 more bytes needed");
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
    test_cifar10();
    test_cifar100();
    test_stats();
    test_fashion_mnist_stats();
    fixture_end();
    return CHECK_DONE();
}
