/* Reads a data file front to back and keeps the byte offset, so that every error
 * can say where a file is short or wrong. A file starting with the gzip magic bytes
 * (1f 8b) is decompressed with zlib's inflate, member after member (RFC 1952 allows
 * several); anything after the last member that is not another member is an error,
 * as is a cut-off or corrupt stream (zlib checks each member's CRC and length). Any
 * other file is passed through unchanged, so "train-images-idx3-ubyte" and
 * "train-images-idx3-ubyte.gz" read alike. Offsets are positions in the
 * (decompressed) data, which is what the format documents describe. Only regular
 * files are read: a FIFO would block, a directory has no data. */
#ifndef GRAFT_DATA_FILE_READER_H
#define GRAFT_DATA_FILE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct gf_inflate gf_inflate;

typedef struct gf_file_reader {
    FILE *file;          /* NULL when closed; buffered: small reads are cheap */
    const char *path;    /* borrowed; must outlive the reader */
    int64_t offset;      /* bytes of data read so far */
    int64_t file_size;   /* bytes in the file (compressed when gzip) */
    gf_inflate *inflate; /* NULL for a plain file */
} gf_file_reader;

int gf_file_reader_open(gf_file_reader *r, const char *path);
/* Reads exactly n bytes; a short read is an error naming the file, the offset,
 * `what` was being read, and how many bytes were missing. */
int gf_file_reader_read(gf_file_reader *r, void *buffer, size_t n, const char *what);
/* The same, for n bytes of a region that should go on to offset `end` (>= offset +
 * n): a short read counts the missing bytes up to `end`. For reading a large region
 * in pieces. */
int gf_file_reader_read_toward(gf_file_reader *r, void *buffer, size_t n, int64_t end,
                               const char *what);
/* Fails if the file has data after the current offset. */
int gf_file_reader_expect_end(gf_file_reader *r);
/* True when the file is gzip-compressed. */
bool gf_file_reader_compressed(const gf_file_reader *r);
/* Bytes of data after the current offset, or -1 when the file is compressed (its
 * data size is known only once it is read). */
int64_t gf_file_reader_remaining(const gf_file_reader *r);
void gf_file_reader_close(gf_file_reader *r);

#endif
