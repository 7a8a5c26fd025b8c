/* The background batch loader: every image once per epoch, batches equal to the
 * augmentation done by hand in the documented order of draws, determinism per
 * (seed, streams), order and augmentation from separate streams, generator states
 * carried between loaders, abandoned epochs. */
#include "check.h"
#include "core/error.h"
#include "data/augment.h"
#include "data/loader.h"

enum { N = 23, C = 1, H = 6, W = 5, BATCH = 4 };

static gf_dataset *make_dataset(void) {
    /* label = index, so a batch's labels show the order */
    gf_dataset *ds = gf_dataset_create(N, C, H, W, N);
    for (int i = 0; i < N * C * H * W; i++) ds->images[i] = (uint8_t)((i * 7919) % 251);
    for (int i = 0; i < N; i++) ds->labels[i] = i;
    ds->mean[0] = 0.3f;
    ds->std[0] = 0.2f;
    return ds;
}

static const gf_loader_options TRAIN = {.batch = BATCH, .shuffle = true, .pad = 2,
                                        .flip = true, .seed = 11, .order_stream = 0,
                                        .augment_stream = 3};

/* One epoch as documented: shuffle with the order generator, then augment in order
 * with the augmentation generator. */
static void expected_epoch(const gf_dataset *ds, gf_loader_rngs *rngs, float *images,
                           int32_t *order) {
    gf_augment a;
    gf_augment_init(&a, ds, TRAIN.pad, TRAIN.flip);
    for (int i = 0; i < N; i++) order[i] = i;
    gf_rng_shuffle(&rngs->order, order, N);
    for (int i = 0; i < N; i++)
        gf_augment_image(&a, images + i * C * H * W, ds->images + order[i] * C * H * W, C, H, W,
                         &rngs->augment);
}

/* Reads a whole epoch; returns the number of batches. */
static int read_epoch(gf_loader *ld, float *images, int32_t *labels, int *sizes) {
    gf_loader_start_epoch(ld);
    const float *x;
    const int32_t *y;
    int n, batches = 0, done = 0;
    while ((n = gf_loader_next(ld, &x, &y)) > 0) {
        memcpy(images + done * C * H * W, x, sizeof(float) * (size_t)n * C * H * W);
        memcpy(labels + done, y, sizeof(int32_t) * (size_t)n);
        sizes[batches++] = n;
        done += n;
    }
    return batches;
}

static void test_epochs_match_hand_augmentation(void) {
    gf_dataset *ds = make_dataset();
    gf_loader *ld = gf_loader_create(ds, &TRAIN);
    CHECK(ld != NULL && gf_loader_batches_per_epoch(ld) == 6);
    gf_loader_rngs rng;
    gf_rng_seed(&rng.order, TRAIN.seed, TRAIN.order_stream);
    gf_rng_seed(&rng.augment, TRAIN.seed, TRAIN.augment_stream + GF_LOADER_AUGMENT_STREAMS);
    static float got[N * C * H * W], want[N * C * H * W];
    int32_t labels[N], order[N], previous[N];
    int sizes[8];
    for (int epoch = 0; epoch < 3; epoch++) {
        CHECK(read_epoch(ld, got, labels, sizes) == 6);
        CHECK(sizes[0] == 4 && sizes[4] == 4 && sizes[5] == 3);
        expected_epoch(ds, &rng, want, order);
        CHECK(memcmp(labels, order, sizeof order) == 0);
        CHECK(memcmp(got, want, sizeof got) == 0);
        int seen[N] = {0};
        for (int i = 0; i < N; i++) seen[labels[i]]++;
        for (int i = 0; i < N; i++) CHECK(seen[i] == 1);
        if (epoch > 0) CHECK(memcmp(labels, previous, sizeof labels) != 0);
        memcpy(previous, labels, sizeof labels);
    }
    /* past the end stays at the end */
    const float *x;
    const int32_t *y;
    CHECK(gf_loader_next(ld, &x, &y) == 0);
    gf_loader_timing t = gf_loader_get_timing(ld);
    CHECK(t.batches == 18 && t.prepare_seconds > 0 && t.wait_seconds >= 0);
    gf_loader_free(ld);
    gf_dataset_free(ds);
}

static void test_sequential_and_streams(void) {
    gf_dataset *ds = make_dataset();
    gf_loader_options plain = {.batch = 10, .shuffle = false, .seed = 1};
    gf_loader *ld = gf_loader_create(ds, &plain);
    static float images[N * C * H * W];
    int32_t labels[N], other[N];
    int sizes[8];
    CHECK(read_epoch(ld, images, labels, sizes) == 3 && sizes[2] == 3);
    for (int i = 0; i < N; i++) CHECK(labels[i] == i);
    for (int i = 0; i < N * C * H * W; i++)
        CHECK_NEAR(images[i], ((float)ds->images[i] / 255.0f - 0.3f) / 0.2f, 1e-6);
    gf_loader_free(ld);

    gf_loader_options s1 = TRAIN, s2 = TRAIN;
    s2.order_stream = 1;
    gf_loader *a = gf_loader_create(ds, &s1), *b = gf_loader_create(ds, &s2);
    read_epoch(a, images, labels, sizes);
    read_epoch(b, images, other, sizes);
    CHECK(memcmp(labels, other, sizeof labels) != 0);
    gf_loader_free(a);
    gf_loader_free(b);

    /* "same order" (Table 4): one order stream, own augmentation streams: the same
     * images in the same order, cropped and flipped differently */
    static float mine[N * C * H * W], theirs[N * C * H * W];
    s1 = TRAIN;
    s2 = TRAIN;
    s1.augment_stream = 1;
    s2.augment_stream = 2;
    a = gf_loader_create(ds, &s1);
    b = gf_loader_create(ds, &s2);
    for (int epoch = 0; epoch < 2; epoch++) {
        read_epoch(a, mine, labels, sizes);
        read_epoch(b, theirs, other, sizes);
        CHECK(memcmp(labels, other, sizeof labels) == 0);
        int same = 0;
        for (int i = 0; i < N; i++)
            same += memcmp(mine + i * C * H * W, theirs + i * C * H * W,
                           sizeof(float) * C * H * W) == 0;
        /* 25 crops x 2 flips: a few images may match by chance, not most */
        CHECK(same < N / 3);
    }
    gf_loader_free(a);
    gf_loader_free(b);
    gf_dataset_free(ds);
}

static void test_state_carries_over(void) {
    gf_dataset *ds = make_dataset();
    gf_loader *a = gf_loader_create(ds, &TRAIN);
    static float x1[N * C * H * W], x2[N * C * H * W];
    int32_t y1[N], y2[N];
    int sizes[8];
    read_epoch(a, x1, y1, sizes);
    gf_loader_rngs state;
    gf_loader_get_rngs(a, &state);
    read_epoch(a, x1, y1, sizes);

    /* a fresh loader given the state after epoch 1 produces epoch 2 */
    gf_loader *b = gf_loader_create(ds, &TRAIN);
    gf_loader_set_rngs(b, &state);
    read_epoch(b, x2, y2, sizes);
    CHECK(memcmp(y1, y2, sizeof y1) == 0);
    CHECK(memcmp(x1, x2, sizeof x1) == 0);

    /* abandon an epoch after one batch, start again: the new epoch is whole */
    const float *x;
    const int32_t *y;
    gf_loader_start_epoch(b);
    CHECK(gf_loader_next(b, &x, &y) == BATCH);
    CHECK(read_epoch(b, x2, y2, sizes) == 6);
    int seen[N] = {0};
    for (int i = 0; i < N; i++) seen[y2[i]]++;
    for (int i = 0; i < N; i++) CHECK(seen[i] == 1);
    /* freed in the middle of an epoch: the thread stops cleanly */
    gf_loader_start_epoch(b);
    CHECK(gf_loader_next(b, &x, &y) == BATCH);
    gf_loader_free(b);
    gf_loader_free(a);
    gf_dataset_free(ds);
}

static void test_bad_options(void) {
    gf_dataset *ds = make_dataset();
    gf_loader_options bad = TRAIN;
    bad.batch = 0;
    CHECK(gf_loader_create(ds, &bad) == NULL);
    CHECK_CONTAINS(gf_error_message(), "batch size 0");
    bad = TRAIN;
    bad.pad = 7;
    CHECK(gf_loader_create(ds, &bad) == NULL);
    CHECK_CONTAINS(gf_error_message(), "padding 7");
    gf_dataset_free(ds);
}

int main(void) {
    test_epochs_match_hand_augmentation();
    test_sequential_and_streams();
    test_state_carries_over();
    test_bad_options();
    return CHECK_DONE();
}
