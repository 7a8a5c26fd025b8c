/* safetensors: round trip, the exact bytes of a small file, atomic writes, and every
 * kind of corrupt or truncated file refused with a message naming file, tensor and
 * problem. The byte-for-byte comparison with files written by PyTorch's side is in
 * test_parity. */
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "scratch.h"
#include "core/error.h"
#include "io/safetensors.h"

static char dir[256];

static const char *path_in_dir(const char *name) {
    static char buf[4][512];
    static int next = 0;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(*n ? *n : 1);
    if (fread(data, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return data;
}

/* A file with the given header text (length prefix computed) and data bytes. */
static void write_file(const char *path, const char *header, const void *data, size_t n) {
    size_t h = strlen(header);
    unsigned char *bytes = malloc(8 + h + n);
    for (int i = 0; i < 8; i++) bytes[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(bytes + 8, header, h);
    if (n) memcpy(bytes + 8 + h, data, n);
    write_bytes(path, bytes, 8 + h + n);
    free(bytes);
}

static int files_in_dir(void) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static void test_round_trip(void) {
    float weights[2 * 3] = {1.5f, -2.0f, 3.25f, 0.0f, -0.125f, 1e-30f};
    float scalar = 42.0f;
    int64_t counts[3] = {7, -1, INT64_MAX};
    gf_st_entry entries[] = {
        {.name = "layer.weight",
         .dtype = GF_DTYPE_F32,
         .ndim = 2,
         .shape = {2, 3},
         .data = weights},
        {.name = "scalar", .dtype = GF_DTYPE_F32, .ndim = 0, .data = &scalar},
        {.name = "counts \"quoted\" \\ \n",
         .dtype = GF_DTYPE_I64,
         .ndim = 1,
         .shape = {3},
         .data = counts},
        {.name = "empty", .dtype = GF_DTYPE_F32, .ndim = 2, .shape = {0, 4}, .data = NULL},
    };
    gf_st_meta meta[] = {{"format", "pt"}, {"note", "tabs\tand \xc3\xa9 \"quotes\""}};
    const char *path = path_in_dir("round.safetensors");
    CHECK(gf_safetensors_write(path, entries, 4, meta, 2) == GF_OK);
    CHECK(files_in_dir() == 1); /* no temporary file left */
    gf_st_file *f = gf_safetensors_read(path);
    CHECK(f != NULL);
    if (!f) {
        fprintf(stderr, "%s\n", gf_error_message());
        return;
    }
    CHECK(strcmp(gf_safetensors_path(f), path) == 0);
    CHECK(gf_safetensors_count(f) == 4);
    for (size_t i = 0; i < 4; i++) {
        const gf_st_entry *e = gf_safetensors_find(f, entries[i].name);
        CHECK(e != NULL);
        if (!e) continue;
        CHECK(e->dtype == entries[i].dtype && e->ndim == entries[i].ndim);
        int64_t numel = 1;
        for (int d = 0; d < e->ndim; d++) {
            CHECK(e->shape[d] == entries[i].shape[d]);
            numel *= e->shape[d];
        }
        size_t bytes = (size_t)numel * (e->dtype == GF_DTYPE_I64 ? 8 : 4);
        CHECK(bytes == 0 || memcmp(e->data, entries[i].data, bytes) == 0);
        CHECK((uintptr_t)e->data % (e->dtype == GF_DTYPE_I64 ? 8 : 4) == 0);
    }
    /* the 8-byte tensor comes first in the data, so every tensor stays aligned */
    CHECK(strcmp(gf_safetensors_entry(f, 0)->name, entries[2].name) == 0);
    CHECK(gf_safetensors_find(f, "missing") == NULL);
    CHECK(gf_safetensors_meta_count(f) == 2);
    CHECK(strcmp(gf_safetensors_meta(f, 1)->value, meta[1].value) == 0);
    gf_safetensors_close(f);

    /* a file with no tensors and no metadata */
    path = path_in_dir("nothing.safetensors");
    CHECK(gf_safetensors_write(path, NULL, 0, NULL, 0) == GF_OK);
    f = gf_safetensors_read(path);
    CHECK(f != NULL && gf_safetensors_count(f) == 0 && gf_safetensors_meta_count(f) == 0);
    gf_safetensors_close(f);
    unlink(path);
    unlink(path_in_dir("round.safetensors"));
}

static void test_exact_layout(void) {
    float a[2] = {1.0f, 2.0f};
    int64_t n = 5;
    gf_st_entry entries[] = {
        {.name = "a", .dtype = GF_DTYPE_F32, .ndim = 1, .shape = {2}, .data = a},
        {.name = "n", .dtype = GF_DTYPE_I64, .ndim = 0, .data = &n},
    };
    gf_st_meta meta[] = {{"format", "pt"}};
    const char *path = path_in_dir("layout.safetensors");
    CHECK(gf_safetensors_write(path, entries, 2, meta, 1) == GF_OK);
    size_t size = 0;
    unsigned char *bytes = read_bytes(path, &size);
    const char *header =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
    size_t h = strlen(header), padded = (h + 7) / 8 * 8;
    CHECK(size == 8 + padded + 16);
    if (size == 8 + padded + 16) {
        uint64_t length = 0;
        for (int i = 0; i < 8; i++) length |= (uint64_t)bytes[i] << (8 * i);
        CHECK(length == padded);
        CHECK(memcmp(bytes + 8, header, h) == 0);
        int spaces = 1;
        for (size_t i = h; i < padded; i++) spaces &= bytes[8 + i] == ' ';
        CHECK(spaces);
        CHECK(memcmp(bytes + 8 + padded, &n, 8) == 0);
        CHECK(memcmp(bytes + 8 + padded + 8, a, 8) == 0);
    }
    free(bytes);
    unlink(path);
}

static void test_write_errors(void) {
    float a[1] = {1.0f};
    const char *path = path_in_dir("keep.safetensors");
    gf_st_entry good = {.name = "a", .dtype = GF_DTYPE_F32, .ndim = 1, .shape = {1}, .data = a};
    CHECK(gf_safetensors_write(path, &good, 1, NULL, 0) == GF_OK);
    size_t before_size;
    unsigned char *before = read_bytes(path, &before_size);

    gf_st_entry twice[2] = {good, good};
    CHECK(gf_safetensors_write(path, twice, 2, NULL, 0) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), path);
    CHECK_CONTAINS(gf_error_message(), "tensor name 'a' appears twice");
    gf_st_entry bad_shape = good;
    bad_shape.shape[0] = -3;
    CHECK(gf_safetensors_write(path, &bad_shape, 1, NULL, 0) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "tensor 'a' has negative size -3 in dimension 0");
    gf_st_entry reserved = good;
    reserved.name = "__metadata__";
    CHECK(gf_safetensors_write(path, &reserved, 1, NULL, 0) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "reserved");
    /* the existing file is untouched and nothing else is left behind */
    size_t after_size;
    unsigned char *after = read_bytes(path, &after_size);
    CHECK(after_size == before_size && memcmp(before, after, before_size) == 0);
    CHECK(files_in_dir() == 1);
    free(before);
    free(after);
    unlink(path);

    char missing_dir[600];
    snprintf(missing_dir, sizeof missing_dir, "%s/no/such/dir/x.safetensors", dir);
    CHECK(gf_safetensors_write(missing_dir, &good, 1, NULL, 0) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "cannot create");
    CHECK_CONTAINS(gf_error_message(), missing_dir);
}

typedef struct bad_case {
    const char *file, *header;
    size_t data_bytes;
    const char *expect[2];
} bad_case;

static void test_corrupt_files(void) {
    unsigned char zeros[64] = {0};
    const bad_case cases[] = {
        {"json.st", "{\"a\" {\"dtype\":\"F32\"}}", 0, {"bad JSON at byte 5", "expected ':'"}},
        {"json2.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}",
         4,
         {"expected '}'", "the end of the header"}},
        {"nested.st", "[1, 2]", 0, {"expected '{'", "'['"}},
        {"dtype.st",
         "{\"w\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         4,
         {"tensor 'w'", "unknown dtype 'Q7'"}},
        {"f16.st",
         "{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
         4,
         {"tensor 'w'", "dtype F16 is not supported"}},
        {"size.st",
         "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
         20,
         {"tensor 'w'", "shape [2, 3] of F32 needs 24 bytes but data_offsets [0, 20] hold 20"}},
        {"range.st",
         "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
         8,
         {"tensor 'w'", "go beyond the data section (8 bytes)"}},
        {"overlap.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         12,
         {"tensor 'b'", "overlap tensor 'a'"}},
        {"gap.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12,
         {"tensor 'b'", "bytes 4 to 8 of the data section belong to no tensor"}},
        {"twice.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8,
         {"tensor name 'a' appears twice", "twice.st"}},
        {"trailing.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
         12,
         {"8 bytes of trailing data after the last tensor", "trailing.st"}},
        {"junk.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x",
         4,
         {"unexpected 'x' after the header object", "junk.st"}},
        {"missing.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}",
         0,
         {"tensor 'a'", "missing field 'data_offsets'"}},
        {"dims.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
         4,
         {"tensor 'a'", "more than 5 dimensions"}},
        {"field.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}",
         4,
         {"tensor 'a'", "unexpected field 'extra'"}},
        {"negative.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
         4,
         {"tensor 'a': shape", "expected a non-negative integer"}},
        {"meta.st", "{\"__metadata__\":{\"k\":1}}", 0, {"__metadata__", "values must be strings"}},
        {"align.st",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[4,12]}}",
         12,
         {"tensor 'b'", "data offset 4 is not a multiple of the I64 size"}},
        {"escape.st", "{\"a\\q\":{}}", 0, {"bad JSON", "unknown escape"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = path_in_dir(cases[i].file);
        write_file(path, cases[i].header, zeros, cases[i].data_bytes);
        gf_st_file *f = gf_safetensors_read(path);
        CHECK(f == NULL);
        gf_safetensors_close(f);
        CHECK_CONTAINS(gf_error_message(), path);
        CHECK_CONTAINS(gf_error_message(), cases[i].expect[0]);
        CHECK_CONTAINS(gf_error_message(), cases[i].expect[1]);
        unlink(path);
    }

    /* truncations: shorter than the length prefix, and a length beyond the file */
    const char *path = path_in_dir("short.st");
    write_bytes(path, "\x10\x00\x00", 3);
    CHECK(gf_safetensors_read(path) == NULL);
    CHECK_CONTAINS(gf_error_message(), "file is too short (3 bytes)");
    CHECK_CONTAINS(gf_error_message(), path);
    write_file(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 4);
    size_t size;
    unsigned char *bytes = read_bytes(path, &size);
    write_bytes(path, bytes, 30); /* cut inside the header */
    CHECK(gf_safetensors_read(path) == NULL);
    CHECK_CONTAINS(gf_error_message(),
                   "header length 54 goes beyond the end of the file (30 bytes)");
    write_bytes(path, bytes, size - 2); /* cut inside the data */
    CHECK(gf_safetensors_read(path) == NULL);
    CHECK_CONTAINS(gf_error_message(), "tensor 'a'");
    CHECK_CONTAINS(gf_error_message(), "beyond the data section (2 bytes)");
    free(bytes);
    unlink(path);
    CHECK(gf_safetensors_read(path_in_dir("absent.st")) == NULL);
    CHECK_CONTAINS(gf_error_message(), "cannot open");
}

/* A growing text buffer for headers of many entries. */
typedef struct text {
    char *data;
    size_t length, capacity;
} text;

static void append(text *t, const char *fmt, ...) {
    char piece[256];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(piece, sizeof piece, fmt, args);
    va_end(args);
    if (t->length + (size_t)n + 1 > t->capacity) {
        t->capacity = 2 * (t->length + (size_t)n + 1);
        t->data = realloc(t->data, t->capacity);
    }
    memcpy(t->data + t->length, piece, (size_t)n + 1);
    t->length += (size_t)n;
}

/* `count` one-float tensors named t<i>, listed in reverse name order with their data
 * in reverse order too (the worst case for an insertion sort of offsets), plus
 * `metadata` keys; `repeat` >= 0 names tensor `repeat` once more at the end. */
static void write_many(const char *path, int count, int metadata, int repeat) {
    text t = {0};
    append(&t, "{\"__metadata__\":{");
    for (int k = 0; k < metadata; k++) append(&t, "%s\"key%d\":\"%d\"", k ? "," : "", k, k);
    append(&t, "}");
    for (int i = count - 1; i >= 0; i--)
        append(&t, ",\"t%07d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[%d,%d]}", i,
               4 * (count - 1 - i), 4 * (count - i));
    if (repeat >= 0)
        append(&t, ",\"t%07d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[%d,%d]}",
               repeat, 4 * count, 4 * count);
    append(&t, "}");
    float *data = malloc((size_t)count * sizeof *data);
    for (int i = 0; i < count; i++) data[count - 1 - i] = (float)i;
    write_file(path, t.data, data, (size_t)count * sizeof *data);
    free(data);
    free(t.data);
}

/* 200,000 tensors: the checks and the lookup are O(n log n) (tests/io/test_sorted_index.c
 * counts the comparisons); comparing every pair, as the reader did, takes minutes
 * here and runs into the test's timeout. */
static void test_many_tensors(void) {
    enum { COUNT = 200000 };
    const char *path = path_in_dir("many.st");
    write_many(path, COUNT, 1000, -1);
    gf_st_file *f = gf_safetensors_read(path);
    CHECK(f != NULL);
    if (f) {
        CHECK(gf_safetensors_count(f) == COUNT && gf_safetensors_meta_count(f) == 1000);
        int found = 0;
        char name[16];
        for (int i = 0; i < COUNT; i++) {
            snprintf(name, sizeof name, "t%07d", i);
            const gf_st_entry *e = gf_safetensors_find(f, name);
            found += e && strcmp(e->name, name) == 0 && *(const float *)e->data == (float)i;
        }
        CHECK(found == COUNT);
        CHECK(gf_safetensors_find(f, "t9999999") == NULL && gf_safetensors_find(f, "") == NULL);
        gf_safetensors_close(f);
    }
    /* a name given twice, the second time at the very end */
    write_many(path, COUNT, 0, 123);
    CHECK(gf_safetensors_read(path) == NULL);
    CHECK_CONTAINS(gf_error_message(), "tensor name 't0000123' appears twice");
    write_file(path, "{\"__metadata__\":{\"k\":\"1\",\"j\":\"2\",\"k\":\"3\"}}", NULL, 0);
    CHECK(gf_safetensors_read(path) == NULL);
    CHECK_CONTAINS(gf_error_message(), "__metadata__: key 'k' appears twice");
    unlink(path);

    /* writing checks names the same way */
    gf_st_entry *entries = calloc(COUNT, sizeof *entries);
    char (*names)[16] = malloc(COUNT * sizeof *names);
    float zero = 0;
    for (int i = 0; i < COUNT; i++) {
        snprintf(names[i], sizeof names[i], "w%07d", COUNT - i);
        entries[i] = (gf_st_entry){.name = names[i], .ndim = 1, .shape = {1}, .data = &zero};
    }
    snprintf(names[COUNT - 1], sizeof names[0], "w%07d", 77);
    CHECK(gf_safetensors_write(path, entries, COUNT, NULL, 0) == -1);
    CHECK_CONTAINS(gf_error_message(), "tensor name 'w0000077' appears twice");
    gf_st_meta meta[3] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
    CHECK(gf_safetensors_write(path, entries, 1, meta, 3) == -1);
    CHECK_CONTAINS(gf_error_message(), "metadata key 'a' appears twice");
    CHECK(gf_safetensors_write(path, entries, (size_t)GF_ST_MAX_ENTRIES + 1, NULL, 0) == -1);
    CHECK_CONTAINS(gf_error_message(), "the limit is 1048576 of each");
    free(names);
    free(entries);
}

/* Past GF_ST_MAX_ENTRIES tensors the reader stops, naming the limit. */
static void test_entry_limit(void) {
    const char *path = path_in_dir("limit.st");
    text t = {0};
    append(&t, "{");
    for (int i = 0; i <= GF_ST_MAX_ENTRIES; i++)
        append(&t, "%s\"%x\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}",
               i ? "," : "", i);
    append(&t, "}");
    write_file(path, t.data, NULL, 0);
    free(t.data);
    CHECK(gf_safetensors_read(path) == NULL);
    CHECK_CONTAINS(gf_error_message(), "more than 1048576 tensors (the limit)");
    unlink(path);
}

int main(void) {
    if (!scratch_dir(dir, sizeof dir, "graft-st")) return 1;
    test_round_trip();
    test_exact_layout();
    test_write_errors();
    test_corrupt_files();
    test_many_tensors();
    test_entry_limit();
    CHECK(files_in_dir() == 0);
    rmdir(dir);
    return CHECK_DONE();
}
