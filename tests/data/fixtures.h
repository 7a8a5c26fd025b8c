/* Small data files in the exact on-disk formats, written by the tests themselves
 * (an independent writer: byte by byte from the format descriptions), in a fresh
 * temporary directory that is removed afterwards. */
#ifndef GRAFT_TESTS_DATA_FIXTURES_H
#define GRAFT_TESTS_DATA_FIXTURES_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static char fixture_dir[64];

static const char *fixture_path(const char *name) {
    static char paths[8][sizeof fixture_dir + 256];
    static int next = 0;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%.255s", fixture_dir, name);
    return p;
}

static void fixture_begin(void) {
    snprintf(fixture_dir, sizeof fixture_dir, "/tmp/graft-test-XXXXXX");
    if (!mkdtemp(fixture_dir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void fixture_end(void) {
    DIR *d = opendir(fixture_dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        unlink(fixture_path(e->d_name));
    }
    if (d) closedir(d);
    rmdir(fixture_dir);
}

/* Writes bytes, gzip-compressed when gz is set. */
static void fixture_write(const char *path, const unsigned char *bytes, size_t n, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        if (!f || gzwrite(f, bytes, (unsigned)n) != (int)n || gzclose(f) != Z_OK) exit(1);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, n, f) != n || fclose(f) != 0) exit(1);
}

static size_t put_be32(unsigned char *b, uint32_t v) {
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
    return 4;
}

/* The pixel of image i at (y, x): a pattern that differs per image and position. */
static unsigned char fixture_pixel(int64_t i, int c, int y, int x) {
    return (unsigned char)((i * 37 + c * 101 + y * 13 + x * 7) % 256);
}

/* IDX images: n images of h x w; returns the byte count written. */
static size_t fixture_idx_images(const char *path, uint32_t n, uint32_t h, uint32_t w, int gz) {
    size_t size = 16 + (size_t)n * h * w;
    unsigned char *b = malloc(size);
    size_t o = put_be32(b, 0x00000803u);
    o += put_be32(b + o, n);
    o += put_be32(b + o, h);
    o += put_be32(b + o, w);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t y = 0; y < h; y++)
            for (uint32_t x = 0; x < w; x++) b[o++] = fixture_pixel(i, 0, (int)y, (int)x);
    fixture_write(path, b, size, gz);
    free(b);
    return size;
}

static unsigned char fixture_label(int64_t i, int classes) {
    return (unsigned char)((i * 3 + 1) % classes);
}

static size_t fixture_idx_labels(const char *path, uint32_t n, int classes, int gz) {
    size_t size = 8 + n;
    unsigned char *b = malloc(size);
    size_t o = put_be32(b, 0x00000801u);
    o += put_be32(b + o, n);
    for (uint32_t i = 0; i < n; i++) b[o++] = fixture_label(i, classes);
    fixture_write(path, b, size, gz);
    free(b);
    return size;
}

/* CIFAR: label_bytes 1 (CIFAR-10) or 2 (coarse, fine); image `first + i` for record i. */
static void fixture_cifar(const char *path, int n, int label_bytes, int first) {
    size_t record = (size_t)label_bytes + 3072;
    unsigned char *b = malloc(record * (size_t)n);
    for (int i = 0; i < n; i++) {
        unsigned char *r = b + record * (size_t)i;
        int64_t k = first + i;
        if (label_bytes == 1) {
            r[0] = fixture_label(k, 10);
        } else {
            r[0] = fixture_label(k, 20);  /* coarse */
            r[1] = fixture_label(k, 100); /* fine */
        }
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    r[label_bytes + c * 1024 + y * 32 + x] = fixture_pixel(k, c, y, x);
    }
    fixture_write(path, b, record * (size_t)n, 0);
    free(b);
}

/* Overwrites one byte of a plain file. */
static void fixture_poke(const char *path, long offset, unsigned char value) {
    FILE *f = fopen(path, "r+b");
    if (!f) exit(1);
    fseek(f, offset, SEEK_SET);
    fputc(value, f);
    fclose(f);
}

/* Cuts a file to `size` bytes. */
static void fixture_truncate(const char *path, long size) {
    if (truncate(path, size) != 0) exit(1);
}

#endif
