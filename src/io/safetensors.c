/* safetensors reading and writing. The layout follows the reference implementation
 * (huggingface/safetensors): little-endian u64 header size, a JSON header padded
 * with spaces to a multiple of 8 bytes, then the tensors back to back with no gaps.
 * The data of 8-byte types is placed first so that every tensor stays aligned. */
#include "io/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "core/memory.h"
#include "io/json_header.h"
#include "io/sorted_index.h"

#define METADATA_KEY "__metadata__"

static size_t dtype_size(gf_dtype dtype) { return dtype == GF_DTYPE_I64 ? 8 : 4; }
static const char *dtype_name(gf_dtype dtype) { return dtype == GF_DTYPE_I64 ? "I64" : "F32"; }

/* product of the dims, or -1 on overflow */
static int64_t shape_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] != 0 && n > INT64_MAX / 8 / shape[d]) return -1;
        n *= shape[d];
    }
    return n;
}

/* ---- writing ------------------------------------------------------------ */

typedef struct text_buffer {
    char *data;
    size_t length, capacity;
    bool failed;
} text_buffer;

static void put_bytes(text_buffer *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->length + n + 1 > b->capacity) {
        size_t capacity = b->capacity ? b->capacity : 256;
        while (b->length + n + 1 > capacity) capacity *= 2;
        char *data = realloc(b->data, capacity);
        if (!data) {
            b->failed = true;
            return;
        }
        b->data = data;
        b->capacity = capacity;
    }
    memcpy(b->data + b->length, s, n);
    b->length += n;
    b->data[b->length] = '\0';
}

static void put_text(text_buffer *b, const char *s) { put_bytes(b, s, strlen(s)); }

static void put_json_string(text_buffer *b, const char *s) {
    put_text(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            put_bytes(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            put_text(b, esc);
        } else {
            put_bytes(b, (const char *)p, 1);
        }
    }
    put_text(b, "\"");
}

static int compare_entry_names(const void *entries, size_t a, size_t b) {
    const gf_st_entry *e = entries;
    return strcmp(e[a].name, e[b].name);
}

static int compare_meta_keys(const void *meta, size_t a, size_t b) {
    const gf_st_meta *m = meta;
    return strcmp(m[a].key, m[b].key);
}

/* Sorts 0..count-1 into *order by `compare` and gives in *repeated the index of an
 * item that equals another (count when none): O(n log n) where comparing every pair
 * made 80,000 tensors take seconds. *order (malloc'd) may be NULL. */
static int sort_and_find_repeat(const void *items, size_t count, gf_index_compare compare,
                                size_t **order, size_t *repeated) {
    size_t *sorted = malloc((count ? count : 1) * sizeof *sorted);
    if (!sorted) return gf_fail("out of memory for the index of %zu names", count);
    for (size_t i = 0; i < count; i++) sorted[i] = i;
    if (gf_sort_indices(sorted, count, compare, items) != GF_OK) {
        free(sorted);
        return GF_ERR;
    }
    size_t at = gf_first_duplicate(sorted, count, compare, items);
    /* stable: the later of two equal names is the one that repeats */
    *repeated = at < count ? sorted[at] : count;
    if (order)
        *order = sorted;
    else
        free(sorted);
    return GF_OK;
}

static int check_entries(const char *path, const gf_st_entry *entries, size_t count,
                         const gf_st_meta *meta, size_t meta_count) {
    if (count > GF_ST_MAX_ENTRIES || meta_count > GF_ST_MAX_ENTRIES)
        return gf_fail("safetensors write '%s': %zu tensors and %zu metadata entries (the limit "
                       "is %d of each)", path, count, meta_count, GF_ST_MAX_ENTRIES);
    for (size_t i = 0; i < count; i++) {
        const gf_st_entry *e = &entries[i];
        if (!e->name || !e->name[0])
            return gf_fail("safetensors write '%s': tensor %zu has no name", path, i);
        if (strcmp(e->name, METADATA_KEY) == 0)
            return gf_fail("safetensors write '%s': '%s' is reserved for metadata", path, e->name);
        if (e->dtype != GF_DTYPE_F32 && e->dtype != GF_DTYPE_I64)
            return gf_fail("safetensors write '%s': tensor '%s' has unknown dtype %d", path,
                           e->name, (int)e->dtype);
        if (e->ndim < 0 || e->ndim > GF_MAX_DIMS)
            return gf_fail("safetensors write '%s': tensor '%s' has %d dimensions (0 to %d)", path,
                           e->name, e->ndim, GF_MAX_DIMS);
        for (int d = 0; d < e->ndim; d++)
            if (e->shape[d] < 0)
                return gf_fail(
                    "safetensors write '%s': tensor '%s' has negative size %lld in "
                    "dimension %d",
                    path, e->name, (long long)e->shape[d], d);
        int64_t numel = shape_numel(e->ndim, e->shape);
        if (numel < 0)
            return gf_fail("safetensors write '%s': tensor '%s' is too large", path, e->name);
        if (numel > 0 && !e->data)
            return gf_fail("safetensors write '%s': tensor '%s' has no data", path, e->name);
    }
    for (size_t i = 0; i < meta_count; i++)
        if (!meta[i].key || !meta[i].value)
            return gf_fail("safetensors write '%s': metadata entry %zu lacks a key or value", path,
                           i);
    size_t twice = 0;
    if (sort_and_find_repeat(entries, count, compare_entry_names, NULL, &twice) != GF_OK)
        return gf_fail_context("safetensors write '%s'", path);
    if (twice < count)
        return gf_fail("safetensors write '%s': tensor name '%s' appears twice", path,
                       entries[twice].name);
    /* the reader refuses a repeated key, so the writer does not write one */
    if (sort_and_find_repeat(meta, meta_count, compare_meta_keys, NULL, &twice) != GF_OK)
        return gf_fail_context("safetensors write '%s'", path);
    if (twice < meta_count)
        return gf_fail("safetensors write '%s': metadata key '%s' appears twice", path,
                       meta[twice].key);
    return GF_OK;
}

/* data order: 8-byte types first, then 4-byte ones, each in the given order */
static void data_order(const gf_st_entry *entries, size_t count, size_t *order) {
    size_t n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < count; i++)
            if ((dtype_size(entries[i].dtype) == 8) == (pass == 0)) order[n++] = i;
}

int gf_safetensors_write(const char *path, const gf_st_entry *entries, size_t count,
                         const gf_st_meta *meta, size_t meta_count) {
    if (check_entries(path, entries, count, meta, meta_count) != GF_OK) return GF_ERR;
    size_t *order = malloc((count ? count : 1) * sizeof *order);
    if (!order) return gf_fail("safetensors write '%s': out of memory", path);
    data_order(entries, count, order);

    text_buffer header = {0};
    put_text(&header, "{");
    if (meta_count > 0) {
        put_json_string(&header, METADATA_KEY);
        put_text(&header, ":{");
        for (size_t i = 0; i < meta_count; i++) {
            if (i) put_text(&header, ",");
            put_json_string(&header, meta[i].key);
            put_text(&header, ":");
            put_json_string(&header, meta[i].value);
        }
        put_text(&header, "}");
    }
    uint64_t offset = 0;
    for (size_t k = 0; k < count; k++) {
        const gf_st_entry *e = &entries[order[k]];
        uint64_t bytes = (uint64_t)shape_numel(e->ndim, e->shape) * dtype_size(e->dtype);
        char field[96];
        if (k > 0 || meta_count > 0) put_text(&header, ",");
        put_json_string(&header, e->name);
        snprintf(field, sizeof field, ":{\"dtype\":\"%s\",\"shape\":[", dtype_name(e->dtype));
        put_text(&header, field);
        for (int d = 0; d < e->ndim; d++) {
            snprintf(field, sizeof field, "%s%lld", d ? "," : "", (long long)e->shape[d]);
            put_text(&header, field);
        }
        snprintf(field, sizeof field, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)offset,
                 (unsigned long long)(offset + bytes));
        put_text(&header, field);
        offset += bytes;
    }
    put_text(&header, "}");
    while (header.length % 8) put_text(&header, " ");
    if (header.failed) {
        free(header.data);
        free(order);
        return gf_fail("safetensors write '%s': out of memory building the header", path);
    }

    gf_atomic_file file;
    int status = gf_atomic_open(&file, path);
    unsigned char length_bytes[8];
    for (int i = 0; i < 8; i++)
        length_bytes[i] = (unsigned char)((uint64_t)header.length >> (8 * i));
    if (status == GF_OK) status = gf_atomic_write(&file, length_bytes, 8);
    if (status == GF_OK) status = gf_atomic_write(&file, header.data, header.length);
    for (size_t k = 0; status == GF_OK && k < count; k++) {
        const gf_st_entry *e = &entries[order[k]];
        size_t bytes = (size_t)shape_numel(e->ndim, e->shape) * dtype_size(e->dtype);
        if (bytes > 0) status = gf_atomic_write(&file, e->data, bytes);
    }
    if (status == GF_OK) status = gf_atomic_commit(&file);
    free(header.data);
    free(order);
    return status;
}

/* ---- reading ------------------------------------------------------------ */

struct gf_st_file {
    char *path;
    unsigned char *data; /* the data section, 64-byte aligned */
    size_t data_size;
    gf_st_entry *entries;
    size_t count, capacity;
    gf_st_meta *meta;
    size_t meta_count, meta_capacity;
    uint64_t *begin, *end; /* data_offsets per entry */
    size_t *by_name;       /* entry indices in name order, for find */
};

void gf_safetensors_close(gf_st_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->count; i++) free((char *)f->entries[i].name);
    for (size_t i = 0; i < f->meta_count; i++) {
        free((char *)f->meta[i].key);
        free((char *)f->meta[i].value);
    }
    free(f->entries);
    free(f->meta);
    free(f->begin);
    free(f->end);
    free(f->by_name);
    gf_free(f->data);
    free(f->path);
    free(f);
}

size_t gf_safetensors_count(const gf_st_file *f) { return f->count; }
const gf_st_entry *gf_safetensors_entry(const gf_st_file *f, size_t i) {
    return i < f->count ? &f->entries[i] : NULL;
}
/* binary search in name order */
const gf_st_entry *gf_safetensors_find(const gf_st_file *f, const char *name) {
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const gf_st_entry *e = &f->entries[f->by_name[mid]];
        int order = strcmp(e->name, name);
        if (order == 0) return e;
        if (order < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
size_t gf_safetensors_meta_count(const gf_st_file *f) { return f->meta_count; }
const gf_st_meta *gf_safetensors_meta(const gf_st_file *f, size_t i) {
    return i < f->meta_count ? &f->meta[i] : NULL;
}
const char *gf_safetensors_path(const gf_st_file *f) { return f->path; }

static int read_exact(int fd, void *buf, size_t size) {
    char *p = buf;
    while (size > 0) {
        ssize_t n = read(fd, p, size);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return GF_ERR;
        p += n;
        size -= (size_t)n;
    }
    return GF_OK;
}

static int parse_dtype(const char *text, const char *tensor, gf_dtype *dtype) {
    if (strcmp(text, "F32") == 0)
        *dtype = GF_DTYPE_F32;
    else if (strcmp(text, "I64") == 0)
        *dtype = GF_DTYPE_I64;
    else {
        static const char *known[] = {"BOOL", "U8",   "I8",  "F8_E5M2", "F8_E4M3", "I16", "U16",
                                      "F16",  "BF16", "I32", "U32",     "F64",     "U64"};
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strcmp(text, known[i]) == 0)
                return gf_fail("tensor '%s': dtype %s is not supported (graft reads F32 and I64)",
                               tensor, text);
        return gf_fail("tensor '%s': unknown dtype '%s'", tensor, text);
    }
    return GF_OK;
}

static int parse_metadata(gf_json_cursor *c, gf_st_file *f) {
    if (gf_json_expect(c, '{') != GF_OK) return gf_fail_context("%s", METADATA_KEY);
    if (gf_json_accept(c, '}')) return GF_OK;
    do {
        if (f->meta_count == GF_ST_MAX_ENTRIES)
            return gf_fail("%s: more than %d entries (the limit)", METADATA_KEY,
                           GF_ST_MAX_ENTRIES);
        if (f->meta_count == f->meta_capacity) {
            size_t capacity = f->meta_capacity ? 2 * f->meta_capacity : 8;
            gf_st_meta *meta = realloc(f->meta, capacity * sizeof *meta);
            if (!meta) return gf_fail("out of memory");
            f->meta = meta;
            f->meta_capacity = capacity;
        }
        char *key = NULL, *value = NULL;
        if (gf_json_string(c, &key) != GF_OK || gf_json_expect(c, ':') != GF_OK ||
            gf_json_string(c, &value) != GF_OK) {
            free(key);
            return gf_fail_context("%s (values must be strings)", METADATA_KEY);
        }
        f->meta[f->meta_count].key = key;
        f->meta[f->meta_count].value = value;
        f->meta_count++;
    } while (gf_json_accept(c, ','));
    if (gf_json_expect(c, '}') != GF_OK) return GF_ERR;
    size_t twice = 0;
    if (sort_and_find_repeat(f->meta, f->meta_count, compare_meta_keys, NULL, &twice) != GF_OK)
        return GF_ERR;
    if (twice < f->meta_count)
        return gf_fail("%s: key '%s' appears twice", METADATA_KEY, f->meta[twice].key);
    return GF_OK;
}

/* {"dtype": "F32", "shape": [..], "data_offsets": [b, e]} for tensor `name` */
static int parse_tensor_info(gf_json_cursor *c, const char *name, gf_st_entry *e, uint64_t *begin,
                             uint64_t *end) {
    bool have_dtype = false, have_shape = false, have_offsets = false;
    if (gf_json_expect(c, '{') != GF_OK) return gf_fail_context("tensor '%s'", name);
    if (!gf_json_accept(c, '}')) {
        do {
            char *key = NULL;
            if (gf_json_string(c, &key) != GF_OK || gf_json_expect(c, ':') != GF_OK) {
                free(key);
                return gf_fail_context("tensor '%s'", name);
            }
            int status = GF_OK;
            if (strcmp(key, "dtype") == 0 && !have_dtype) {
                char *text = NULL;
                status = gf_json_string(c, &text);
                if (status == GF_OK)
                    status = parse_dtype(text, name, &e->dtype);
                else
                    gf_fail_context("tensor '%s': dtype", name);
                free(text);
                have_dtype = true;
            } else if (strcmp(key, "shape") == 0 && !have_shape) {
                status = gf_json_expect(c, '[');
                e->ndim = 0;
                if (status == GF_OK && !gf_json_accept(c, ']')) {
                    do {
                        uint64_t dim;
                        if (e->ndim == GF_MAX_DIMS) {
                            status = gf_fail("tensor '%s': shape has more than %d dimensions", name,
                                             GF_MAX_DIMS);
                            break;
                        }
                        if ((status = gf_json_uint(c, &dim)) != GF_OK) break;
                        if (dim > (uint64_t)INT64_MAX) {
                            status = gf_fail("tensor '%s': dimension %llu is too large", name,
                                             (unsigned long long)dim);
                            break;
                        }
                        e->shape[e->ndim++] = (int64_t)dim;
                    } while (gf_json_accept(c, ','));
                    if (status == GF_OK) status = gf_json_expect(c, ']');
                }
                if (status != GF_OK) gf_fail_context("tensor '%s': shape", name);
                have_shape = true;
            } else if (strcmp(key, "data_offsets") == 0 && !have_offsets) {
                if (gf_json_expect(c, '[') != GF_OK || gf_json_uint(c, begin) != GF_OK ||
                    gf_json_expect(c, ',') != GF_OK || gf_json_uint(c, end) != GF_OK ||
                    gf_json_expect(c, ']') != GF_OK)
                    status =
                        gf_fail_context("tensor '%s': data_offsets must be [begin, end]", name);
                have_offsets = true;
            } else if (strcmp(key, "dtype") == 0 || strcmp(key, "shape") == 0 ||
                       strcmp(key, "data_offsets") == 0) {
                status = gf_fail("tensor '%s': field '%s' appears twice", name, key);
            } else {
                status = gf_fail("tensor '%s': unexpected field '%s'", name, key);
            }
            free(key);
            if (status != GF_OK) return GF_ERR;
        } while (gf_json_accept(c, ','));
        if (gf_json_expect(c, '}') != GF_OK) return gf_fail_context("tensor '%s'", name);
    }
    if (!have_dtype || !have_shape || !have_offsets)
        return gf_fail("tensor '%s': missing field '%s'", name,
                       !have_dtype   ? "dtype"
                       : !have_shape ? "shape"
                                     : "data_offsets");
    return GF_OK;
}

static int parse_header(gf_st_file *f, const char *text, size_t length) {
    gf_json_cursor c;
    gf_json_init(&c, text, length);
    if (gf_json_expect(&c, '{') != GF_OK) return GF_ERR;
    if (gf_json_accept(&c, '}')) return gf_json_end(&c);
    bool seen_metadata = false;
    do {
        char *name = NULL;
        if (gf_json_string(&c, &name) != GF_OK || gf_json_expect(&c, ':') != GF_OK) {
            free(name);
            return GF_ERR;
        }
        if (strcmp(name, METADATA_KEY) == 0) {
            free(name);
            if (seen_metadata) return gf_fail("'%s' appears twice", METADATA_KEY);
            seen_metadata = true;
            if (parse_metadata(&c, f) != GF_OK) return GF_ERR;
            continue;
        }
        if (f->count == GF_ST_MAX_ENTRIES) {
            free(name);
            return gf_fail("more than %d tensors (the limit)", GF_ST_MAX_ENTRIES);
        }
        if (f->count == f->capacity) {
            size_t capacity = f->capacity ? 2 * f->capacity : 64;
            gf_st_entry *entries = realloc(f->entries, capacity * sizeof *entries);
            if (entries) f->entries = entries;
            uint64_t *begin = realloc(f->begin, capacity * sizeof *begin);
            if (begin) f->begin = begin;
            uint64_t *end = realloc(f->end, capacity * sizeof *end);
            if (end) f->end = end;
            if (!entries || !begin || !end) {
                free(name);
                return gf_fail("out of memory for %zu tensors", capacity);
            }
            f->capacity = capacity;
        }
        gf_st_entry *e = &f->entries[f->count];
        memset(e, 0, sizeof *e);
        e->name = name;
        f->count++; /* owned from here on, freed by close */
        if (parse_tensor_info(&c, name, e, &f->begin[f->count - 1], &f->end[f->count - 1]) != GF_OK)
            return GF_ERR;
    } while (gf_json_accept(&c, ','));
    if (gf_json_expect(&c, '}') != GF_OK || gf_json_end(&c) != GF_OK) return GF_ERR;
    size_t twice = 0;
    if (sort_and_find_repeat(f->entries, f->count, compare_entry_names, &f->by_name, &twice) !=
        GF_OK)
        return GF_ERR;
    if (twice < f->count) return gf_fail("tensor name '%s' appears twice", f->entries[twice].name);
    return GF_OK;
}

/* by data_offsets: begin, then end */
static int compare_offsets(const void *file, size_t a, size_t b) {
    const gf_st_file *f = file;
    if (f->begin[a] != f->begin[b]) return f->begin[a] < f->begin[b] ? -1 : 1;
    if (f->end[a] != f->end[b]) return f->end[a] < f->end[b] ? -1 : 1;
    return 0;
}

/* Sizes match dtype and shape; the tensors tile the data section exactly. */
static int check_layout(gf_st_file *f) {
    size_t *order = malloc((f->count ? f->count : 1) * sizeof *order);
    if (!order) return gf_fail("out of memory");
    for (size_t i = 0; i < f->count; i++) {
        const gf_st_entry *e = &f->entries[i];
        int64_t numel = shape_numel(e->ndim, e->shape);
        if (numel < 0) {
            free(order);
            return gf_fail("tensor '%s': shape is too large", e->name);
        }
        uint64_t need = (uint64_t)numel * dtype_size(e->dtype);
        if (f->begin[i] > f->end[i] || f->end[i] - f->begin[i] != need) {
            char shape[96];
            gf_shape_format(shape, sizeof shape, e->ndim, e->shape);
            gf_fail(
                "tensor '%s': shape %s of %s needs %llu bytes but data_offsets [%llu, %llu] "
                "hold %lld",
                e->name, shape, dtype_name(e->dtype), (unsigned long long)need,
                (unsigned long long)f->begin[i], (unsigned long long)f->end[i],
                (long long)f->end[i] - (long long)f->begin[i]);
            free(order);
            return GF_ERR;
        }
        if (f->end[i] > f->data_size) {
            gf_fail("tensor '%s': data_offsets [%llu, %llu] go beyond the data section (%zu bytes)",
                    e->name, (unsigned long long)f->begin[i], (unsigned long long)f->end[i],
                    f->data_size);
            free(order);
            return GF_ERR;
        }
        if (f->begin[i] % dtype_size(e->dtype)) {
            gf_fail("tensor '%s': data offset %llu is not a multiple of the %s size (%zu)", e->name,
                    (unsigned long long)f->begin[i], dtype_name(e->dtype), dtype_size(e->dtype));
            free(order);
            return GF_ERR;
        }
        order[i] = i;
    }
    if (gf_sort_indices(order, f->count, compare_offsets, f) != GF_OK) {
        free(order);
        return GF_ERR;
    }
    uint64_t covered = 0;
    const char *previous = NULL;
    int status = GF_OK;
    for (size_t j = 0; j < f->count && status == GF_OK; j++) {
        size_t i = order[j];
        if (f->begin[i] < covered)
            status = gf_fail("tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s'",
                             f->entries[i].name, (unsigned long long)f->begin[i],
                             (unsigned long long)f->end[i], previous);
        else if (f->begin[i] > covered)
            status = gf_fail(
                "tensor '%s': bytes %llu to %llu of the data section belong to no "
                "tensor",
                f->entries[i].name, (unsigned long long)covered, (unsigned long long)f->begin[i]);
        covered = f->end[i];
        previous = f->entries[i].name;
    }
    free(order);
    if (status == GF_OK && covered != f->data_size)
        status = gf_fail(
            "%llu bytes of trailing data after the last tensor (data section %zu "
            "bytes, tensors end at %llu)",
            (unsigned long long)(f->data_size - covered), f->data_size,
            (unsigned long long)covered);
    return status;
}

gf_st_file *gf_safetensors_read(const char *path) {
    gf_st_file *f = calloc(1, sizeof *f);
    char *header = NULL;
    int fd = -1;
    if (!f || !(f->path = strdup(path))) {
        free(f);
        gf_fail("safetensors read '%s': out of memory", path);
        return NULL;
    }
    /* O_NONBLOCK: a FIFO must not block the open; it is refused below */
    fd = open(path, O_RDONLY | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        gf_fail("safetensors read '%s': cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        gf_fail("safetensors read '%s': not a regular file (%s)", path,
                S_ISDIR(st.st_mode) ? "a directory" : "a FIFO, device or socket");
        goto fail;
    }
    uint64_t file_size = (uint64_t)st.st_size;
    unsigned char length_bytes[8];
    if (file_size < 8 || read_exact(fd, length_bytes, 8) != GF_OK) {
        gf_fail(
            "safetensors read '%s': file is too short (%llu bytes) for the 8-byte header "
            "length",
            path, (unsigned long long)file_size);
        goto fail;
    }
    uint64_t header_size = 0;
    for (int i = 0; i < 8; i++) header_size |= (uint64_t)length_bytes[i] << (8 * i);
    if (header_size > file_size - 8) {
        gf_fail(
            "safetensors read '%s': header length %llu goes beyond the end of the file (%llu "
            "bytes)",
            path, (unsigned long long)header_size, (unsigned long long)file_size);
        goto fail;
    }
    if (header_size > GF_ST_MAX_HEADER_BYTES) {
        gf_fail("safetensors read '%s': header length %llu is above the limit of %u bytes", path,
                (unsigned long long)header_size, GF_ST_MAX_HEADER_BYTES);
        goto fail;
    }
    /* the header is checked against the file's size before the data is read */
    header = malloc((size_t)header_size + 1);
    if (!header) {
        gf_fail("safetensors read '%s': out of memory for a header of %llu bytes", path,
                (unsigned long long)header_size);
        goto fail;
    }
    if (read_exact(fd, header, (size_t)header_size) != GF_OK) {
        gf_fail("safetensors read '%s': read failed (file changed while reading?)", path);
        goto fail;
    }
    header[header_size] = '\0';
    f->data_size = (size_t)(file_size - 8 - header_size);
    if (parse_header(f, header, (size_t)header_size) != GF_OK || check_layout(f) != GF_OK) {
        gf_fail_context("safetensors read '%s'", path);
        goto fail;
    }
    f->data = gf_alloc(f->data_size, "safetensors data");
    if (!f->data) {
        gf_fail_context("safetensors read '%s'", path);
        goto fail;
    }
    if (read_exact(fd, f->data, f->data_size) != GF_OK) {
        gf_fail("safetensors read '%s': read failed (file changed while reading?)", path);
        goto fail;
    }
    for (size_t i = 0; i < f->count; i++) f->entries[i].data = f->data + f->begin[i];
    free(header);
    close(fd);
    return f;
fail:
    free(header);
    if (fd >= 0) close(fd);
    gf_safetensors_close(f);
    return NULL;
}
