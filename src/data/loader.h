/* Batches for training and evaluation, prepared by a background thread while the
 * network works on the previous one (two buffers: the caller reads one while the
 * thread fills the other).
 *
 * Each loader has its own PCG32 generator (seed, stream): at the start of every
 * epoch it shuffles the image order (Fisher-Yates over 0..N-1), then draws each
 * image's augmentation in batch order. Everything is drawn in one fixed order, so a
 * (seed, stream) pair gives the same batches on every run, and different streams
 * (one per network of a ring) give independent orders. The generator's state
 * between epochs is all a checkpoint needs to continue the sequence. */
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
    uint64_t seed, stream;
} gf_loader_options;

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

/* Generator state, read or set between epochs (setting abandons a running one). A
 * state gf_rng_check refuses is an error and changes nothing. */
void gf_loader_get_rng(gf_loader *loader, gf_rng *rng);
int gf_loader_set_rng(gf_loader *loader, const gf_rng *rng);

/* Seconds spent since creation: by the thread preparing batches, and by callers of
 * gf_loader_next waiting for a batch that was not ready yet. */
typedef struct gf_loader_timing {
    double prepare_seconds, wait_seconds;
    int64_t batches;
} gf_loader_timing;
gf_loader_timing gf_loader_get_timing(gf_loader *loader);

#endif
