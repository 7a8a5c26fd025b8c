/* A network's state_dict as a safetensors file, in state_dict order. */
#include "io/checkpoint.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int gf_net_save(gf_net *net, const char *path, const gf_st_meta *meta, size_t meta_count) {
    if (!gf_net_params(net)) return gf_fail("saving to '%s': the network is not finalised", path);
    int count = gf_net_slice_count(net);
    gf_st_entry *entries = calloc(count > 0 ? (size_t)count : 1, sizeof *entries);
    if (!entries) return gf_fail("saving the network to '%s': out of memory", path);
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
    int status = gf_safetensors_write(path, entries, (size_t)count, meta, meta_count);
    free(entries);
    return status;
}

static bool same_shape(const gf_slice *s, const gf_st_entry *e) {
    if (s->ndim != e->ndim) return false;
    for (int d = 0; d < s->ndim; d++)
        if (s->shape[d] != e->shape[d]) return false;
    return true;
}

/* Every slice has a matching tensor and every tensor a slice. */
static int check_file(gf_net *net, const gf_st_file *f, const char *path) {
    int count = gf_net_slice_count(net);
    for (int i = 0; i < count; i++) {
        const gf_slice *s = gf_net_slice(net, i);
        const gf_st_entry *e = gf_safetensors_find(f, s->name);
        if (!e)
            return gf_fail("loading '%s': tensor '%s' of the network is missing", path, s->name);
        gf_dtype want = s->kind == GF_SLICE_COUNT ? GF_DTYPE_I64 : GF_DTYPE_F32;
        if (e->dtype != want)
            return gf_fail("loading '%s': tensor '%s' is %s, the network needs %s", path, s->name,
                           e->dtype == GF_DTYPE_I64 ? "I64" : "F32",
                           want == GF_DTYPE_I64 ? "I64" : "F32");
        if (!same_shape(s, e)) {
            char have[96], need[96];
            gf_shape_format(have, sizeof have, e->ndim, e->shape);
            gf_shape_format(need, sizeof need, s->ndim, s->shape);
            return gf_fail("loading '%s': tensor '%s' has shape %s, the network needs %s", path,
                           s->name, have, need);
        }
    }
    for (size_t i = 0; i < gf_safetensors_count(f); i++) {
        const gf_st_entry *e = gf_safetensors_entry(f, i);
        if (gf_net_find_slice(net, e->name) < 0)
            return gf_fail(
                "loading '%s': tensor '%s' in the file is not part of the network "
                "(%d tensors expected)",
                path, e->name, count);
    }
    return GF_OK;
}

int gf_net_load(gf_net *net, const char *path) {
    if (!gf_net_params(net)) return gf_fail("loading '%s': the network is not finalised", path);
    gf_st_file *f = gf_safetensors_read(path);
    if (!f) return GF_ERR;
    if (check_file(net, f, path) != GF_OK) {
        gf_safetensors_close(f);
        return GF_ERR;
    }
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *s = gf_net_slice(net, i);
        const gf_st_entry *e = gf_safetensors_find(f, s->name);
        if (s->kind == GF_SLICE_COUNT)
            memcpy(gf_net_counters(net) + s->offset, e->data, sizeof(int64_t));
        else
            memcpy(gf_net_slice_data(net, s), e->data, (size_t)s->numel * sizeof(float));
    }
    gf_safetensors_close(f);
    return GF_OK;
}
