#include "data/loader.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/memory.h"
#include "data/augment.h"

enum { SLOTS = 2 };

typedef enum slot_state { SLOT_FREE, SLOT_READY, SLOT_IN_USE } slot_state;

typedef struct slot {
    float *images;
    int32_t *labels;
    int count;
    slot_state state;
} slot;

struct gf_loader {
    const gf_dataset *ds;
    gf_loader_options options;
    gf_augment augment;
    gf_loader_rngs rngs; /* augment: touched by the thread during an epoch, by callers between */
    int32_t *order; /* this epoch's image order */
    slot slots[SLOTS];
    int64_t batches;

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool stop, epoch_running, thread_busy;
    int64_t next_to_prepare, next_to_hand_out;
    int in_use; /* slot handed to the caller, -1 when none */

    double prepare_seconds, wait_seconds;
    int64_t prepared;
};

static void prepare(gf_loader *ld, int64_t batch, slot *s) {
    const gf_dataset *ds = ld->ds;
    int64_t first = batch * ld->options.batch;
    int64_t n = ds->count - first < ld->options.batch ? ds->count - first : ld->options.batch;
    int64_t bytes = gf_dataset_image_bytes(ds);
    for (int64_t i = 0; i < n; i++) {
        int32_t index = ld->order[first + i];
        gf_augment_image(&ld->augment, s->images + i * bytes, ds->images + index * bytes,
                         ds->channels, ds->height, ds->width, &ld->rngs.augment);
        s->labels[i] = ds->labels[index];
    }
    s->count = (int)n;
}

static bool work_available(const gf_loader *ld) {
    return ld->epoch_running && ld->next_to_prepare < ld->batches &&
           ld->slots[ld->next_to_prepare % SLOTS].state == SLOT_FREE;
}

static void *worker(void *arg) {
    gf_loader *ld = arg;
    pthread_mutex_lock(&ld->lock);
    for (;;) {
        while (!ld->stop && !work_available(ld)) pthread_cond_wait(&ld->changed, &ld->lock);
        if (ld->stop) break;
        int64_t batch = ld->next_to_prepare;
        slot *s = &ld->slots[batch % SLOTS];
        ld->thread_busy = true;
        pthread_mutex_unlock(&ld->lock);

        double start = gf_clock_seconds();
        prepare(ld, batch, s);
        double spent = gf_clock_seconds() - start;

        pthread_mutex_lock(&ld->lock);
        ld->thread_busy = false;
        ld->prepare_seconds += spent;
        ld->prepared++;
        s->state = SLOT_READY;
        ld->next_to_prepare++;
        pthread_cond_broadcast(&ld->changed);
    }
    pthread_mutex_unlock(&ld->lock);
    return NULL;
}

gf_loader *gf_loader_create(const gf_dataset *ds, const gf_loader_options *options) {
    if (options->batch < 1) {
        gf_fail("loader: batch size %d must be positive", options->batch);
        return NULL;
    }
    if (ds->count < 1 || ds->count > INT32_MAX) {
        gf_fail("loader: dataset has %lld images (1..%d)", (long long)ds->count, INT32_MAX);
        return NULL;
    }
    gf_loader *ld = calloc(1, sizeof *ld);
    if (!ld) {
        gf_fail("out of memory allocating a loader");
        return NULL;
    }
    ld->ds = ds;
    ld->options = *options;
    ld->in_use = -1;
    ld->batches = (ds->count + options->batch - 1) / options->batch;
    gf_rng_seed(&ld->rngs.order, options->seed, options->order_stream);
    gf_rng_seed(&ld->rngs.augment, options->seed,
                options->augment_stream + GF_LOADER_AUGMENT_STREAMS);
    if (gf_augment_init(&ld->augment, ds, options->pad, options->flip) != GF_OK) {
        free(ld);
        return NULL;
    }
    size_t image_floats = (size_t)gf_dataset_image_bytes(ds);
    ld->order = gf_alloc((size_t)ds->count * sizeof(int32_t), "loader order");
    bool ok = ld->order != NULL;
    for (int i = 0; i < SLOTS && ok; i++) {
        ld->slots[i].images =
            gf_alloc((size_t)options->batch * image_floats * sizeof(float), "loader batch");
        ld->slots[i].labels = gf_alloc((size_t)options->batch * sizeof(int32_t), "loader labels");
        ok = ld->slots[i].images && ld->slots[i].labels;
    }
    if (ok && pthread_mutex_init(&ld->lock, NULL) != 0) ok = !gf_fail("loader: mutex init failed");
    if (ok && pthread_cond_init(&ld->changed, NULL) != 0) {
        pthread_mutex_destroy(&ld->lock);
        ok = !gf_fail("loader: condition variable init failed");
    }
    if (ok && pthread_create(&ld->thread, NULL, worker, ld) != 0) {
        pthread_cond_destroy(&ld->changed);
        pthread_mutex_destroy(&ld->lock);
        ok = !gf_fail("loader: cannot start the background thread");
    }
    if (!ok) {
        for (int i = 0; i < SLOTS; i++) {
            gf_free(ld->slots[i].images);
            gf_free(ld->slots[i].labels);
        }
        gf_free(ld->order);
        free(ld);
        return NULL;
    }
    return ld;
}

void gf_loader_free(gf_loader *ld) {
    if (!ld) return;
    pthread_mutex_lock(&ld->lock);
    ld->stop = true;
    pthread_cond_broadcast(&ld->changed);
    pthread_mutex_unlock(&ld->lock);
    pthread_join(ld->thread, NULL);
    pthread_cond_destroy(&ld->changed);
    pthread_mutex_destroy(&ld->lock);
    for (int i = 0; i < SLOTS; i++) {
        gf_free(ld->slots[i].images);
        gf_free(ld->slots[i].labels);
    }
    gf_free(ld->order);
    free(ld);
}

int64_t gf_loader_batches_per_epoch(const gf_loader *ld) { return ld->batches; }

void gf_loader_image_shape(const gf_loader *ld, int *channels, int *height, int *width) {
    *channels = ld->ds->channels;
    *height = ld->ds->height;
    *width = ld->ds->width;
}

void gf_loader_start_epoch(gf_loader *ld) {
    pthread_mutex_lock(&ld->lock);
    /* stop handing out work, and let a batch in preparation finish */
    ld->epoch_running = false;
    while (ld->thread_busy) pthread_cond_wait(&ld->changed, &ld->lock);
    for (int i = 0; i < SLOTS; i++) ld->slots[i].state = SLOT_FREE;
    ld->in_use = -1;
    /* the thread is idle, so the generator and the order are ours */
    for (int32_t i = 0; i < (int32_t)ld->ds->count; i++) ld->order[i] = i;
    if (ld->options.shuffle) gf_rng_shuffle(&ld->rngs.order, ld->order, (size_t)ld->ds->count);
    ld->next_to_prepare = 0;
    ld->next_to_hand_out = 0;
    ld->epoch_running = true;
    pthread_cond_broadcast(&ld->changed);
    pthread_mutex_unlock(&ld->lock);
}

int gf_loader_next(gf_loader *ld, const float **images, const int32_t **labels) {
    pthread_mutex_lock(&ld->lock);
    if (ld->in_use >= 0) {
        ld->slots[ld->in_use].state = SLOT_FREE;
        ld->in_use = -1;
        pthread_cond_broadcast(&ld->changed);
    }
    if (!ld->epoch_running || ld->next_to_hand_out >= ld->batches) {
        ld->epoch_running = false;
        pthread_mutex_unlock(&ld->lock);
        return 0;
    }
    int index = (int)(ld->next_to_hand_out % SLOTS);
    slot *s = &ld->slots[index];
    if (s->state != SLOT_READY) {
        double start = gf_clock_seconds();
        while (s->state != SLOT_READY) pthread_cond_wait(&ld->changed, &ld->lock);
        ld->wait_seconds += gf_clock_seconds() - start;
    }
    s->state = SLOT_IN_USE;
    ld->in_use = index;
    ld->next_to_hand_out++;
    pthread_mutex_unlock(&ld->lock);
    *images = s->images;
    *labels = s->labels;
    return s->count;
}

void gf_loader_get_rngs(gf_loader *ld, gf_loader_rngs *rngs) {
    pthread_mutex_lock(&ld->lock);
    while (ld->thread_busy) pthread_cond_wait(&ld->changed, &ld->lock);
    *rngs = ld->rngs;
    pthread_mutex_unlock(&ld->lock);
}

int gf_loader_set_rngs(gf_loader *ld, const gf_loader_rngs *rngs) {
    if (gf_rng_check(&rngs->order) != GF_OK) return gf_fail_context("loader: order generator");
    if (gf_rng_check(&rngs->augment) != GF_OK)
        return gf_fail_context("loader: augmentation generator");
    pthread_mutex_lock(&ld->lock);
    ld->epoch_running = false;
    while (ld->thread_busy) pthread_cond_wait(&ld->changed, &ld->lock);
    ld->rngs = *rngs;
    pthread_mutex_unlock(&ld->lock);
    return GF_OK;
}

gf_loader_timing gf_loader_get_timing(gf_loader *ld) {
    pthread_mutex_lock(&ld->lock);
    gf_loader_timing t = {ld->prepare_seconds, ld->wait_seconds, ld->prepared};
    pthread_mutex_unlock(&ld->lock);
    return t;
}
