#include "train/checkpoint_dir.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/epoch_dir.h"
#include "io/safetensors.h"

/* /2: the loader's order and augmentation generators (four words; /1 held one) */
static const char *const FORMAT = "graft-trainer/2";
static const char *const FILES[] = {"model.safetensors", "trainer.safetensors", "history.jsonl"};
enum { FILE_COUNT = 3 };

/* dir + "/" + name into out (PATH_MAX bytes) */
static int join(char *out, const char *dir, const char *name) {
    if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
        return gf_fail("checkpoint: path too long: %s/%s", dir, name);
    return GF_OK;
}

/* A decimal number of digits only (no sign, no space) in [0, max]. */
static bool parse_count(const char *text, long long max, long long *value) {
    long long n = 0;
    if (!text[0]) return false;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9') return false;
        n = n * 10 + (*p - '0');
        if (n > max) return false;
    }
    *value = n;
    return true;
}

static int write_trainer(const char *path, const gf_sgd *sgd, const gf_train_state *state) {
    char epoch[32], filled[8], count[32];
    snprintf(epoch, sizeof epoch, "%d", state->epoch);
    snprintf(filled, sizeof filled, "%d", sgd->buffer_filled ? 1 : 0);
    snprintf(count, sizeof count, "%zu", sgd->count);
    gf_st_meta meta[] = {{"format", FORMAT}, {"epoch", epoch}, {"momentum_filled", filled},
                         {"parameters", count}};
    /* the generator's two 64-bit words, stored as their int64 bit patterns */
    int64_t rng[4];
    const gf_rng *generators[2] = {&state->loader_rngs.order, &state->loader_rngs.augment};
    for (int g = 0; g < 2; g++) {
        memcpy(&rng[2 * g], &generators[g]->state, sizeof rng[0]);
        memcpy(&rng[2 * g + 1], &generators[g]->increment, sizeof rng[0]);
    }
    gf_st_entry entries[2] = {{.name = "loader_rng", .dtype = GF_DTYPE_I64, .ndim = 1,
                               .shape = {4}, .data = rng}};
    size_t n = 1;
    if (sgd->buffer && sgd->buffer_filled)
        entries[n++] = (gf_st_entry){.name = "momentum_buffer", .dtype = GF_DTYPE_F32,
                                     .ndim = 1, .shape = {(int64_t)sgd->count},
                                     .data = sgd->buffer};
    return gf_safetensors_write(path, entries, n, meta, sizeof meta / sizeof meta[0]);
}

typedef struct {
    const gf_sgd *sgd;
    const gf_train_state *state;
} trainer_member;

static int write_model(const char *path, void *net) { return gf_net_save(net, path, NULL, 0); }

static int write_trainer_member(const char *path, void *context) {
    const trainer_member *t = context;
    return write_trainer(path, t->sgd, t->state);
}

int gf_train_checkpoint_save(const char *dir, gf_net *net, const gf_sgd *sgd,
                             const gf_train_state *state) {
    trainer_member trainer = {sgd, state};
    const char *history = state->history ? state->history : "";
    gf_epoch_member members[FILE_COUNT] = {
        {.name = FILES[0], .write = write_model, .context = net},
        {.name = FILES[1], .write = write_trainer_member, .context = &trainer},
        {.name = FILES[2], .text = history, .length = strlen(history)},
    };
    return gf_epoch_dir_save(dir, state->epoch, members, FILE_COUNT);
}

static const char *meta_value(const gf_st_file *f, const char *key) {
    for (size_t i = 0; i < gf_safetensors_meta_count(f); i++) {
        const gf_st_meta *m = gf_safetensors_meta(f, i);
        if (strcmp(m->key, key) == 0) return m->value;
    }
    return NULL;
}

/* The whole file as a string, refused above GF_TRAIN_MAX_HISTORY_BYTES. */
static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        gf_fail("checkpoint: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t capacity = 4096, n = 0;
    char *text = malloc(capacity);
    size_t got;
    while (text && (got = fread(text + n, 1, capacity - n - 1, f)) > 0) {
        n += got;
        if (n > GF_TRAIN_MAX_HISTORY_BYTES) {
            fclose(f);
            free(text);
            gf_fail("checkpoint: %s is larger than the limit of %d bytes", path,
                    GF_TRAIN_MAX_HISTORY_BYTES);
            return NULL;
        }
        if (n + 1 == capacity) {
            char *bigger = realloc(text, capacity * 2);
            if (!bigger) {
                free(text);
                text = NULL;
                break;
            }
            text = bigger;
            capacity *= 2;
        }
    }
    bool failed = ferror(f);
    fclose(f);
    if (!text || failed) {
        free(text);
        gf_fail("checkpoint: reading %s failed", path);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* Generator g (0 order, 1 augmentation) stored in loader_rng (two int64 bit patterns
 * each). */
static gf_rng stored_rng(const gf_st_entry *e, int g) {
    const int64_t *words = (const int64_t *)e->data + 2 * g;
    gf_rng rng;
    gf_rng_seed(&rng, 0, 0);
    memcpy(&rng.state, &words[0], sizeof words[0]);
    memcpy(&rng.increment, &words[1], sizeof words[1]);
    return rng;
}

/* Every field of trainer.safetensors, checked before anything is changed: a damaged
 * state must not reach the optimizer or the loader (an even generator increment made
 * resuming spin forever). `dir_epoch` is the number in the directory's name. Errors
 * name the file and the field. */
static int check_trainer(const char *file, const gf_st_file *f, const gf_sgd *sgd, int dir_epoch,
                         int *epoch, bool *filled) {
    static const char *const keys[] = {"format", "epoch", "momentum_filled", "parameters"};
    for (size_t i = 0; i < gf_safetensors_meta_count(f); i++) {
        const char *key = gf_safetensors_meta(f, i)->key;
        bool known = false;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) known |= strcmp(key, keys[k]) == 0;
        if (!known) return gf_fail("%s: unexpected metadata field '%s'", file, key);
    }
    const char *format = meta_value(f, "format");
    if (format && strcmp(format, "graft-trainer/1") == 0)
        return gf_fail("%s: a trainer state of an older graft (format graft-trainer/1, one "
                       "loader generator; this graft keeps two): start the run again", file);
    if (!format || strcmp(format, FORMAT) != 0)
        return gf_fail("%s: not a graft trainer state (metadata format '%s', expected '%s')", file,
                       format ? format : "missing", FORMAT);
    const char *text = meta_value(f, "epoch");
    long long n;
    if (!text || !parse_count(text, GF_TRAIN_MAX_EPOCH, &n) || n < 1)
        return gf_fail("%s: metadata epoch '%s' is not a number of epochs (1 to %d)", file,
                       text ? text : "missing", GF_TRAIN_MAX_EPOCH);
    if (n != dir_epoch)
        return gf_fail("%s: metadata epoch %lld, but the directory is that of epoch %d", file, n,
                       dir_epoch);
    *epoch = (int)n;
    text = meta_value(f, "parameters");
    if (!text || !parse_count(text, INT64_MAX / 10, &n) || (unsigned long long)n != sgd->count)
        return gf_fail("%s: metadata parameters '%s', but the network has %zu parameters", file,
                       text ? text : "missing", sgd->count);
    text = meta_value(f, "momentum_filled");
    if (!text || (strcmp(text, "0") != 0 && strcmp(text, "1") != 0))
        return gf_fail("%s: metadata momentum_filled '%s' (expected 0 or 1)", file,
                       text ? text : "missing");
    *filled = text[0] == '1';

    const gf_st_entry *rng = NULL, *buffer = NULL;
    for (size_t i = 0; i < gf_safetensors_count(f); i++) {
        const gf_st_entry *e = gf_safetensors_entry(f, i);
        if (strcmp(e->name, "loader_rng") == 0)
            rng = e;
        else if (strcmp(e->name, "momentum_buffer") == 0)
            buffer = e;
        else
            return gf_fail("%s: unexpected tensor '%s'", file, e->name);
    }
    if (!rng || rng->dtype != GF_DTYPE_I64 || rng->ndim != 1 || rng->shape[0] != 4)
        return gf_fail("%s: tensor loader_rng missing or not I64 [4]", file);
    for (int g = 0; g < 2; g++) {
        gf_rng generator = stored_rng(rng, g);
        if (gf_rng_check(&generator) != GF_OK)
            return gf_fail_context("%s: tensor loader_rng, %s generator", file,
                                   g ? "augmentation" : "order");
    }
    if (!*filled) {
        if (buffer)
            return gf_fail("%s: tensor momentum_buffer present, but metadata momentum_filled is 0",
                           file);
        return GF_OK;
    }
    if (!sgd->buffer)
        return gf_fail("%s: has a momentum buffer, but the optimizer has no momentum", file);
    if (!buffer || buffer->dtype != GF_DTYPE_F32 || buffer->ndim != 1 ||
        buffer->shape[0] != (int64_t)sgd->count)
        return gf_fail("%s: tensor momentum_buffer missing or not F32 [%zu] (the network's "
                       "parameter count)", file, sgd->count);
    const float *values = buffer->data;
    for (size_t i = 0; i < sgd->count; i++)
        if (!isfinite(values[i]))
            return gf_fail("%s: tensor momentum_buffer: element %zu is %g", file, i,
                           (double)values[i]);
    return GF_OK;
}

int gf_train_checkpoint_load(const char *dir, gf_net *net, gf_sgd *sgd, gf_train_state *state,
                             int *found, gf_train_history_check check, void *context) {
    char epoch_dir[PATH_MAX], file[PATH_MAX];
    int dir_epoch = 0;
    if (gf_epoch_dir_last(dir, epoch_dir, sizeof epoch_dir, found, &dir_epoch) != GF_OK)
        return gf_fail_context("checkpoint");
    if (!*found) return GF_OK;

    if (join(file, epoch_dir, FILES[1]) != GF_OK) return GF_ERR;
    gf_st_file *f = gf_safetensors_read(file);
    if (!f) return gf_fail_context("resuming");
    int epoch = 0;
    bool want_buffer = false;
    int status = check_trainer(file, f, sgd, dir_epoch, &epoch, &want_buffer);
    const gf_st_entry *rng = gf_safetensors_find(f, "loader_rng");
    const gf_st_entry *buffer = gf_safetensors_find(f, "momentum_buffer");
    char *history = NULL;
    if (status == GF_OK) status = join(file, epoch_dir, FILES[2]);
    if (status == GF_OK && !(history = read_text(file))) status = GF_ERR;
    if (status == GF_OK && check) status = check(context, epoch, history, file);
    if (status == GF_OK) status = join(file, epoch_dir, FILES[0]);
    if (status == GF_OK) status = gf_net_load_state(net, file);
    if (status != GF_OK) {
        free(history);
        gf_safetensors_close(f);
        return gf_fail_context("resuming");
    }
    /* everything checked: now change the optimizer and fill the state */
    if (want_buffer) memcpy(sgd->buffer, buffer->data, sgd->count * sizeof(float));
    sgd->buffer_filled = want_buffer;
    state->loader_rngs.order = stored_rng(rng, 0);
    state->loader_rngs.augment = stored_rng(rng, 1);
    state->epoch = epoch;
    state->history = history;
    gf_safetensors_close(f);
    return GF_OK;
}
