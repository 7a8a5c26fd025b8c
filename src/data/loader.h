/* Batches for training and evaluation, prepared by a background thread while the
 * network works on the previous one (two buffers: the caller reads one while the
 * thread fills the other).
 *
 * Each loader has two PCG32 generators of one seed: the order generator (stream
 * order_stream) shuffles the image order at the start of every epoch (Fisher-Yates
 * over 0..N-1), and the augmentation generator (stream augment_stream, in a range
 * of its own) draws each image's crop and flip in batch order. Everything is drawn
 * in one fixed order, so the same options give the same batches on every run.
 * Networks of a ring take one stream of each per network; two networks that share
 * the order stream ("same order", Table 4) read the images in the same order but
 * still crop and flip them independently. The two generators' states between
 * epochs are all a checkpoint needs to continue the sequence. */
#ifndef GRAFT_DATA_LOADER_H
#define GRAFT_DATA_LOADER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/rng.h"
#include "data/dataset.h"

typedef struct gf_loader_options {
    int batch;       /* images per batch; the last batch of an epoch may be smaller */
    bool shuffle;    /* new order every epoch; false: dataset order */
    int pad;         /* random-crop padding; 0: none */
    bool flip;       /* random horizontal flips */
    uint64_t seed;
    uint64_t order_stream, augment_stream;
} gf_loader_options;

/* The augmentation generator's stream is augment_stream + this, so that it never
 * meets an order stream. */
#define GF_LOADER_AUGMENT_STREAMS (UINT64_C(1) << 62)

typedef struct gf_loader_rngs {
    gf_rng order, augment;
} gf_loader_rngs;

typedef struct gf_loader gf_loader;

/* The dataset must outlive the loader. Starts the background thread. */
gf_loader *gf_loader_create(const gf_dataset *ds, const gf_loader_options *options);
/* Stops and joins the thread, frees the buffers. */
void gf_loader_free(gf_loader *loader);

int64_t gf_loader_batches_per_epoch(const gf_loader *loader);
/* The shape of one image of its batches (the dataset's). */
void gf_loader_image_shape(const gf_loader *loader, int *channels, int *height, int *width);
/* Begins an epoch: draws the order and lets the thread prepare batches. Abandons
 * whatever was left of the previous epoch. */
void gf_loader_start_epoch(gf_loader *loader);
/* Waits for the next batch of the epoch; returns its size, or 0 when the epoch is
 * over. images ([n, C, H, W]) and labels stay valid until the next call. */
int gf_loader_next(gf_loader *loader, const float **images, const int32_t **labels);

/* Generator states, read or set between epochs (setting abandons a running one). A
 * state gf_rng_check refuses is an error and changes nothing. */
void gf_loader_get_rngs(gf_loader *loader, gf_loader_rngs *rngs);
int gf_loader_set_rngs(gf_loader *loader, const gf_loader_rngs *rngs);

/* Seconds spent since creation: by the thread preparing batches, and by callers of
 * gf_loader_next waiting for a batch that was not ready yet. */
typedef struct gf_loader_timing {
    double prepare_seconds, wait_seconds;
    int64_t batches;
} gf_loader_timing;
gf_loader_timing gf_loader_get_timing(gf_loader *loader);

#endif
