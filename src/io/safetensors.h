/* safetensors files (the format PyTorch and others read): an 8-byte little-endian
 * header length, a JSON header {"name": {"dtype", "shape", "data_offsets"}, ...,
 * "__metadata__": {string: string}}, then the raw little-endian data.
 * graft reads and writes F32 and I64. Writes go to "<path>.tmp-<pid>" and are
 * renamed into place, so a failed write leaves no partial file. */
#ifndef GRAFT_IO_SAFETENSORS_H
#define GRAFT_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"

typedef enum gf_dtype { GF_DTYPE_F32, GF_DTYPE_I64 } gf_dtype;

/* Tensors, and metadata entries, of one file (read or written): far above any
 * state_dict, and a bound on the memory a header can ask for (about 150 bytes per
 * tensor). The header itself is at most 100 MB (GF_ST_MAX_HEADER_BYTES, as the
 * reference implementation). */
#define GF_ST_MAX_ENTRIES (1 << 20)
#define GF_ST_MAX_HEADER_BYTES (100u * 1000u * 1000u)

typedef struct gf_st_entry {
    const char *name;
    gf_dtype dtype;
    int ndim;
    int64_t shape[GF_MAX_DIMS];
    const void *data; /* numel elements of dtype */
} gf_st_entry;

typedef struct gf_st_meta {
    const char *key, *value;
} gf_st_meta;

int gf_safetensors_write(const char *path, const gf_st_entry *entries, size_t count,
                         const gf_st_meta *meta, size_t meta_count);

/* A file read whole into memory and validated: offsets in range, contiguous, not
 * overlapping, sizes matching dtype and shape, names unique. Errors name the file,
 * the tensor and what was wrong. */
typedef struct gf_st_file gf_st_file;

gf_st_file *gf_safetensors_read(const char *path);
void gf_safetensors_close(gf_st_file *f);
size_t gf_safetensors_count(const gf_st_file *f);
/* entry i (data points into the file's memory) */
const gf_st_entry *gf_safetensors_entry(const gf_st_file *f, size_t i);
const gf_st_entry *gf_safetensors_find(const gf_st_file *f, const char *name);
size_t gf_safetensors_meta_count(const gf_st_file *f);
const gf_st_meta *gf_safetensors_meta(const gf_st_file *f, size_t i);
const char *gf_safetensors_path(const gf_st_file *f);

#endif
