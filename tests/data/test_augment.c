/* Augmentation: normalisation, crops and flips against a direct construction
 * (pad the image, cut the window, mirror it), determinism for a seed, and
 * independent streams. */
#include "check.h"
#include "core/error.h"
#include "data/augment.h"

enum { C = 2, H = 5, W = 6, PAD = 2 };

static gf_dataset *make_dataset(void) {
    gf_dataset *ds = gf_dataset_create(1, C, H, W, 10);
    for (int i = 0; i < C * H * W; i++) ds->images[i] = (uint8_t)(1 + (i * 29) % 254);
    ds->mean[0] = 0.25f;
    ds->std[0] = 0.5f;
    ds->mean[1] = 0.5f;
    ds->std[1] = 0.25f;
    return ds;
}

static float normalise(const gf_dataset *ds, int c, int v) {
    return ((float)v / 255.0f - ds->mean[c]) / ds->std[c];
}

static void test_normalisation_only(void) {
    gf_dataset *ds = make_dataset();
    gf_augment a;
    CHECK(gf_augment_init(&a, ds, 0, false) == GF_OK);
    gf_rng rng, untouched;
    gf_rng_seed(&rng, 1, 0);
    untouched = rng;
    float out[C * H * W];
    gf_augment_image(&a, out, ds->images, C, H, W, &rng);
    for (int i = 0; i < C * H * W; i++)
        CHECK_NEAR(out[i], normalise(ds, i / (H * W), ds->images[i]), 1e-6);
    /* no augmentation draws nothing */
    CHECK(rng.state == untouched.state);
    gf_dataset_free(ds);
}

/* The same draws as the augmentation, then the picture built step by step. */
static void expected_image(const gf_dataset *ds, gf_rng *rng, float *out) {
    int row = (int)gf_rng_below(rng, 2 * PAD + 1), col = (int)gf_rng_below(rng, 2 * PAD + 1);
    int flip = gf_rng_uniform(rng) < 0.5f;
    int padded[C][H + 2 * PAD][W + 2 * PAD];
    memset(padded, 0, sizeof padded);
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) padded[c][y + PAD][x + PAD] = ds->images[(c * H + y) * W + x];
    for (int c = 0; c < C; c++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                int window_x = flip ? W - 1 - x : x;
                out[(c * H + y) * W + x] = normalise(ds, c, padded[c][y + row][window_x + col]);
            }
}

static void test_crop_and_flip(void) {
    gf_dataset *ds = make_dataset();
    gf_augment a;
    CHECK(gf_augment_init(&a, ds, PAD, true) == GF_OK);
    gf_rng rng, mirror;
    gf_rng_seed(&rng, 42, 3);
    gf_rng_seed(&mirror, 42, 3);
    float got[C * H * W], want[C * H * W];
    int zero_pixels = 0;
    for (int trial = 0; trial < 200; trial++) {
        gf_augment_image(&a, got, ds->images, C, H, W, &rng);
        expected_image(ds, &mirror, want);
        int same = 1;
        for (int i = 0; i < C * H * W; i++) same &= fabsf(got[i] - want[i]) < 1e-6f;
        CHECK(same);
        for (int i = 0; i < H * W; i++) zero_pixels += got[i] == normalise(ds, 0, 0);
    }
    /* padding shows up as raw 0, i.e. -mean/std after normalisation */
    CHECK(zero_pixels > 0);
    gf_dataset_free(ds);
}

static void test_draw_statistics(void) {
    /* offsets cover [0, 2 * pad] and flips happen about half the time: the image
     * 0..W-1 in one row tells which crop and flip was taken */
    gf_dataset *ds = gf_dataset_create(1, 1, 1, 8, 2);
    for (int x = 0; x < 8; x++) ds->images[x] = (uint8_t)(10 + x);
    gf_augment a;
    CHECK(gf_augment_init(&a, ds, 0, true) == GF_OK);
    gf_rng rng;
    gf_rng_seed(&rng, 7, 0);
    float out[8];
    int flipped = 0;
    for (int i = 0; i < 2000; i++) {
        gf_augment_image(&a, out, ds->images, 1, 1, 8, &rng);
        flipped += out[0] > out[7];
    }
    CHECK(flipped > 900 && flipped < 1100);
    gf_dataset_free(ds);
}

static void test_determinism_and_streams(void) {
    gf_dataset *ds = make_dataset();
    gf_augment a;
    CHECK(gf_augment_init(&a, ds, PAD, true) == GF_OK);
    float first[50][C * H * W], again[C * H * W], other[C * H * W];
    gf_rng r1, r2, r3;
    gf_rng_seed(&r1, 5, 0);
    gf_rng_seed(&r2, 5, 0);
    gf_rng_seed(&r3, 5, 1);
    int differ = 0;
    for (int i = 0; i < 50; i++) {
        gf_augment_image(&a, first[i], ds->images, C, H, W, &r1);
        gf_augment_image(&a, again, ds->images, C, H, W, &r2);
        gf_augment_image(&a, other, ds->images, C, H, W, &r3);
        CHECK(memcmp(first[i], again, sizeof again) == 0);
        differ += memcmp(first[i], other, sizeof other) != 0;
    }
    /* 50 crops x flips of another stream: nearly all differ (1 in 50 may match) */
    CHECK(differ >= 40);
    gf_dataset_free(ds);
}

static void test_bad_settings(void) {
    gf_dataset *ds = make_dataset();
    gf_augment a;
    CHECK(gf_augment_init(&a, ds, H, false) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "padding 5");
    ds->std[1] = 0;
    CHECK(gf_augment_init(&a, ds, 1, false) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "std of channel 1");
    gf_dataset_free(ds);
}

int main(void) {
    test_normalisation_only();
    test_crop_and_flip();
    test_draw_statistics();
    test_determinism_and_streams();
    test_bad_settings();
    return CHECK_DONE();
}
