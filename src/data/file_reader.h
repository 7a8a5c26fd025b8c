/* Reads a data file front to back and keeps the byte offset, so that every error
 * can say where a file is short or wrong. zlib does the reading: it recognises gzip
 * by its magic bytes (1f 8b) and decompresses, and passes any other file through
 * unchanged, so "train-images-idx3-ubyte" and "train-images-idx3-ubyte.gz" read alike.
 * Offsets are positions in the (decompressed) data, which is what the format
 * documents describe. */
#ifndef GRAFT_DATA_FILE_READER_H
#define GRAFT_DATA_FILE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gf_file_reader {
    void *gz;          /* gzFile */
    const char *path;  /* borrowed; must outlive the reader */
    int64_t offset;    /* bytes read so far */
} gf_file_reader;

int gf_file_reader_open(gf_file_reader *r, const char *path);
/* Reads exactly n bytes; a short read is an error naming the file, the offset,
 * `what` was being read, and how many bytes were missing. */
int gf_file_reader_read(gf_file_reader *r, void *buffer, size_t n, const char *what);
/* Fails if the file has data after the current offset. */
int gf_file_reader_expect_end(gf_file_reader *r);
/* True when the file was gzip-compressed (valid after the first read). */
bool gf_file_reader_compressed(const gf_file_reader *r);
void gf_file_reader_close(gf_file_reader *r);

#endif
