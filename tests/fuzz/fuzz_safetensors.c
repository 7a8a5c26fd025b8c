/* libFuzzer harness: the input is a safetensors file. A file that reads must hold
 * what its entries promise (every byte of every tensor, every metadata string,
 * each name found again), and must survive a round trip: written back by
 * gf_safetensors_write and read again, it holds the same tensors and metadata. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "fuzz_input.h"
#include "io/safetensors.h"

static size_t element_bytes(gf_dtype dtype) { return dtype == GF_DTYPE_I64 ? 8 : 4; }

static size_t entry_bytes(const gf_st_entry *e) {
    int64_t numel = 1;
    for (int d = 0; d < e->ndim; d++) numel *= e->shape[d];
    return (size_t)numel * element_bytes(e->dtype);
}

static int same_entry(const gf_st_entry *a, const gf_st_entry *b) {
    return strcmp(a->name, b->name) == 0 && a->dtype == b->dtype && a->ndim == b->ndim &&
           memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]) == 0 &&
           memcmp(a->data, b->data, entry_bytes(a)) == 0;
}

static void round_trip(const gf_st_file *f) {
    size_t count = gf_safetensors_count(f), meta_count = gf_safetensors_meta_count(f);
    gf_st_entry *entries = malloc((count ? count : 1) * sizeof *entries);
    gf_st_meta *meta = malloc((meta_count ? meta_count : 1) * sizeof *meta);
    if (!entries || !meta) abort();
    for (size_t i = 0; i < count; i++) entries[i] = *gf_safetensors_entry(f, i);
    for (size_t i = 0; i < meta_count; i++) meta[i] = *gf_safetensors_meta(f, i);
    const char *path = fuzz_scratch_path("written.safetensors");
    if (gf_safetensors_write(path, entries, count, meta, meta_count) != GF_OK) {
        fprintf(stderr, "a file that reads cannot be written back: %s\n", gf_error_message());
        abort();
    }
    gf_st_file *again = gf_safetensors_read(path);
    if (!again) {
        fprintf(stderr, "a written file does not read back: %s\n", gf_error_message());
        abort();
    }
    if (gf_safetensors_count(again) != count || gf_safetensors_meta_count(again) != meta_count)
        abort();
    for (size_t i = 0; i < count; i++) {
        const gf_st_entry *e = gf_safetensors_find(again, entries[i].name);
        if (!e || !same_entry(e, &entries[i])) {
            fprintf(stderr, "tensor '%s' changed in the round trip\n", entries[i].name);
            abort();
        }
    }
    for (size_t i = 0; i < meta_count; i++) {
        const gf_st_meta *m = gf_safetensors_meta(again, i);
        if (strcmp(m->key, meta[i].key) != 0 || strcmp(m->value, meta[i].value) != 0) abort();
    }
    gf_safetensors_close(again);
    free(entries);
    free(meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gf_error_clear();
    gf_st_file *f = gf_safetensors_read(fuzz_file(0, data, size));
    if (f == NULL) {
        fuzz_refused();
        return 0;
    }
    for (size_t i = 0; i < gf_safetensors_count(f); i++) {
        const gf_st_entry *e = gf_safetensors_entry(f, i);
        fuzz_touch(e->data, entry_bytes(e));
        if (gf_safetensors_find(f, e->name) != e) abort();
    }
    for (size_t i = 0; i < gf_safetensors_meta_count(f); i++) {
        const gf_st_meta *m = gf_safetensors_meta(f, i);
        fuzz_touch(m->key, strlen(m->key) + 1);
        fuzz_touch(m->value, strlen(m->value) + 1);
    }
    round_trip(f);
    gf_safetensors_close(f);
    return 0;
}
