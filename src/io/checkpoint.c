/* A network's state_dict as a safetensors file, in state_dict order, with its
 * architecture in the metadata. */
#include "io/checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "nn/architecture.h"

/* meta with the architecture and model name in front; *text is to be freed */
static gf_st_meta *with_description(gf_net *net, const char *path, const gf_st_meta *meta,
                                    size_t meta_count, char **text) {
    for (size_t i = 0; i < meta_count; i++)
        if (strcmp(meta[i].key, GF_CHECKPOINT_ARCHITECTURE_KEY) == 0 ||
            strcmp(meta[i].key, GF_CHECKPOINT_MODEL_KEY) == 0) {
            gf_fail("saving to '%s': metadata key '%s' is graft's own", path, meta[i].key);
            return NULL;
        }
    gf_st_meta *all = calloc(meta_count + 2, sizeof *all);
    *text = gf_architecture_describe(net);
    if (!all || !*text) {
        free(all);
        free(*text);
        gf_fail_context("saving to '%s'", path);
        return NULL;
    }
    all[0] = (gf_st_meta){GF_CHECKPOINT_ARCHITECTURE_KEY, *text};
    all[1] = (gf_st_meta){GF_CHECKPOINT_MODEL_KEY, gf_net_model(net)};
    if (meta_count > 0) memcpy(all + 2, meta, meta_count * sizeof *meta);
    return all;
}

int gf_net_save(gf_net *net, const char *path, const gf_st_meta *meta, size_t meta_count) {
    if (!gf_net_params(net)) return gf_fail("saving to '%s': the network is not finalised", path);
    char *text = NULL;
    gf_st_meta *all = with_description(net, path, meta, meta_count, &text);
    if (!all) return GF_ERR;
    int count = gf_net_slice_count(net);
    gf_st_entry *entries = calloc(count > 0 ? (size_t)count : 1, sizeof *entries);
    if (!entries) {
        free(all);
        free(text);
        return gf_fail("saving the network to '%s': out of memory", path);
    }
    for (int i = 0; i < count; i++) {
        const gf_slice *s = gf_net_slice(net, i);
        gf_st_entry *e = &entries[i];
        e->name = s->name;
        e->ndim = s->ndim;
        memcpy(e->shape, s->shape, sizeof e->shape);
        if (s->kind == GF_SLICE_COUNT) {
            e->dtype = GF_DTYPE_I64;
            e->data = gf_net_counters(net) + s->offset;
        } else {
            e->dtype = GF_DTYPE_F32;
            e->data = gf_net_slice_data(net, s);
        }
    }
    int status = gf_safetensors_write(path, entries, (size_t)count, all, meta_count + 2);
    free(entries);
    free(all);
    free(text);
    return status;
}

static bool same_shape(const gf_slice *s, const gf_st_entry *e) {
    if (s->ndim != e->ndim) return false;
    for (int d = 0; d < s->ndim; d++)
        if (s->shape[d] != e->shape[d]) return false;
    return true;
}

/* a file's tensor and its position in the file */
typedef struct indexed_entry {
    const gf_st_entry *entry;
    size_t index;
} indexed_entry;

static int compare_entries(const void *a, const void *b) {
    return strcmp(((const indexed_entry *)a)->entry->name, ((const indexed_entry *)b)->entry->name);
}

/* The file's tensor for every slice of the network, checked (dtype, shape), and no
 * other tensor in the file; on success matched[i] is slice i's (the caller frees
 * matched). The file's names are sorted once for binary search, so a file of many
 * tensors costs O((slices + tensors) log tensors), not their product. */
static int match_file(gf_net *net, const gf_st_file *f, const char *path,
                      const gf_st_entry ***matched_out) {
    int count = gf_net_slice_count(net);
    size_t tensors = gf_safetensors_count(f);
    indexed_entry *sorted = calloc(tensors + 1, sizeof *sorted);
    const gf_st_entry **matched = calloc((size_t)count + 1, sizeof *matched);
    bool *used = calloc(tensors + 1, sizeof *used);
    if (!sorted || !matched || !used) {
        free(sorted);
        free(matched);
        free(used);
        return gf_fail("loading '%s': out of memory for %zu tensors", path, tensors);
    }
    for (size_t i = 0; i < tensors; i++) sorted[i] = (indexed_entry){gf_safetensors_entry(f, i), i};
    qsort(sorted, tensors, sizeof *sorted, compare_entries);
    int status = GF_OK;
    for (int i = 0; i < count && status == GF_OK; i++) {
        const gf_slice *s = gf_net_slice(net, i);
        gf_st_entry name = {.name = s->name};
        indexed_entry key = {.entry = &name};
        const indexed_entry *found =
            tensors ? bsearch(&key, sorted, tensors, sizeof *sorted, compare_entries) : NULL;
        const gf_st_entry *e = found ? found->entry : NULL;
        gf_dtype want = s->kind == GF_SLICE_COUNT ? GF_DTYPE_I64 : GF_DTYPE_F32;
        if (!e) {
            status = gf_fail("loading '%s': tensor '%s' of the network is missing", path, s->name);
        } else if (e->dtype != want) {
            status = gf_fail("loading '%s': tensor '%s' is %s, the network needs %s", path, s->name,
                             e->dtype == GF_DTYPE_I64 ? "I64" : "F32",
                             want == GF_DTYPE_I64 ? "I64" : "F32");
        } else if (!same_shape(s, e)) {
            char have[96], need[96];
            gf_shape_format(have, sizeof have, e->ndim, e->shape);
            gf_shape_format(need, sizeof need, s->ndim, s->shape);
            status = gf_fail("loading '%s': tensor '%s' has shape %s, the network needs %s", path,
                             s->name, have, need);
        } else {
            matched[i] = e;
            used[found->index] = true;
        }
    }
    /* slice names and file names are unique, so every slice found means that the
     * file holds no more tensors than the network exactly when the counts agree;
     * otherwise the first unused one in the file's order is named */
    for (size_t i = 0; status == GF_OK && tensors > (size_t)count && i < tensors; i++)
        if (!used[i])
            status = gf_fail("loading '%s': tensor '%s' in the file is not part of the network "
                             "(%d tensors expected, the file has %zu)",
                             path, gf_safetensors_entry(f, i)->name, count, tensors);
    free(sorted);
    free(used);
    if (status != GF_OK) {
        free(matched);
        return GF_ERR;
    }
    *matched_out = matched;
    return GF_OK;
}

/* Copies the matched tensors of a file into the network. */
static void copy_state(gf_net *net, const gf_st_entry **matched) {
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *s = gf_net_slice(net, i);
        if (s->kind == GF_SLICE_COUNT)
            memcpy(gf_net_counters(net) + s->offset, matched[i]->data, sizeof(int64_t));
        else
            memcpy(gf_net_slice_data(net, s), matched[i]->data, (size_t)s->numel * sizeof(float));
    }
}

int gf_net_load_state(gf_net *net, const char *path) {
    if (!gf_net_params(net)) return gf_fail("loading '%s': the network is not finalised", path);
    gf_st_file *f = gf_safetensors_read(path);
    if (!f) return GF_ERR;
    const gf_st_entry **matched = NULL;
    int status = match_file(net, f, path, &matched);
    if (status == GF_OK) copy_state(net, matched);
    free(matched);
    gf_safetensors_close(f);
    return status;
}

static const char *find_meta(const gf_st_file *f, const char *key) {
    for (size_t i = 0; i < gf_safetensors_meta_count(f); i++)
        if (strcmp(gf_safetensors_meta(f, i)->key, key) == 0) return gf_safetensors_meta(f, i)->value;
    return NULL;
}

/* The unfinalised network the file describes, its model name set. */
static gf_net *describe_file(const gf_st_file *f, const char *path) {
    const char *architecture = find_meta(f, GF_CHECKPOINT_ARCHITECTURE_KEY);
    const char *model = find_meta(f, GF_CHECKPOINT_MODEL_KEY);
    if (!architecture) {
        gf_fail("loading '%s': no '" GF_CHECKPOINT_ARCHITECTURE_KEY "' metadata, so the file "
                "does not say which network it holds; build the network and load its state "
                "(net:load, gf_net_load_state) instead", path);
        return NULL;
    }
    gf_net *net = gf_architecture_build(architecture);
    if (net && model && gf_net_set_model(net, model) != GF_OK) {
        gf_net_free(net);
        net = NULL;
    }
    if (!net) gf_fail_context("loading '%s'", path);
    return net;
}

gf_net *gf_net_load(const char *path) {
    gf_st_file *f = gf_safetensors_read(path);
    if (!f) return NULL;
    gf_net *net = describe_file(f, path);
    const gf_st_entry **matched = NULL;
    /* only a network whose every tensor the file holds is given memory */
    if (net && (match_file(net, f, path, &matched) != GF_OK || gf_net_finalize(net, 0) != GF_OK)) {
        gf_net_free(net);
        net = NULL;
    }
    if (net) copy_state(net, matched);
    free(matched);
    gf_safetensors_close(f);
    return net;
}
