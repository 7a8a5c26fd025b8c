#include "data/file_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"

enum { INPUT_BYTES = 1 << 16, MAX_PIECE = 1 << 30 };

struct gf_inflate {
    z_stream z;
    unsigned char input[INPUT_BYTES];
    int64_t raw_read; /* bytes of the file read into `input` so far */
    bool eof;         /* the file has no more bytes */
    bool finished;    /* the last member has ended and nothing follows it */
};

/* Position in the file of the next compressed byte inflate will take. */
static int64_t raw_position(const gf_inflate *inf) {
    return inf->raw_read - (int64_t)inf->z.avail_in;
}

/* Up to n bytes of the file; fewer only at its end. */
static int read_some(gf_file_reader *r, unsigned char *out, size_t n, size_t *got) {
    *got = fread(out, 1, n, r->file);
    if (*got < n && ferror(r->file))
        return gf_fail("%s: read failed: %s", r->path, strerror(errno));
    return GF_OK;
}

/* At least `want` (<= INPUT_BYTES) unread compressed bytes in the buffer, unless the
 * file ends first. */
static int ensure_input(gf_file_reader *r, size_t want) {
    gf_inflate *inf = r->inflate;
    if (inf->z.avail_in >= want || inf->eof) return GF_OK;
    memmove(inf->input, inf->z.next_in, inf->z.avail_in);
    inf->z.next_in = inf->input;
    while (inf->z.avail_in < want && !inf->eof) {
        size_t got = 0;
        if (read_some(r, inf->input + inf->z.avail_in, INPUT_BYTES - inf->z.avail_in, &got) !=
            GF_OK)
            return GF_ERR;
        inf->eof = got == 0;
        inf->z.avail_in += (uInt)got;
        inf->raw_read += (int64_t)got;
    }
    return GF_OK;
}

/* After a member's end: another member follows (reset for it), the file ends
 * (finished), or anything else is an error. */
static int next_member(gf_file_reader *r) {
    gf_inflate *inf = r->inflate;
    if (ensure_input(r, 2) != GF_OK) return GF_ERR;
    if (inf->z.avail_in == 0) {
        inf->finished = true;
        return GF_OK;
    }
    const unsigned char *next = inf->z.next_in;
    if (inf->z.avail_in >= 2 && next[0] == 0x1f && next[1] == 0x8b) {
        if (inflateReset(&inf->z) != Z_OK) return gf_fail("%s: zlib reset failed", r->path);
        return GF_OK;
    }
    int64_t at = raw_position(inf);
    return gf_fail("%s: %lld bytes after the end of the gzip data (at byte %lld of the file) are "
                   "not a gzip member (trailing garbage)", r->path,
                   (long long)(r->file_size - at), (long long)at);
}

/* Up to n bytes of decompressed data into out; *got < n only at the end of the
 * data. A cut-off, corrupt or garbage-followed stream is an error. */
static int inflate_some(gf_file_reader *r, unsigned char *out, size_t n, size_t *got,
                        const char *what) {
    gf_inflate *inf = r->inflate;
    *got = 0;
    while (*got < n && !inf->finished) {
        if (ensure_input(r, 1) != GF_OK) return GF_ERR;
        if (inf->z.avail_in == 0)
            return gf_fail("%s: the gzip data is cut off (the file ends after %lld bytes) while "
                           "reading %s, at byte offset %lld of the decompressed data", r->path,
                           (long long)r->file_size, what, (long long)(r->offset + (int64_t)*got));
        size_t piece = n - *got < MAX_PIECE ? n - *got : MAX_PIECE;
        inf->z.next_out = out + *got;
        inf->z.avail_out = (uInt)piece;
        int status = inflate(&inf->z, Z_NO_FLUSH);
        *got += piece - inf->z.avail_out;
        if (status == Z_STREAM_END) {
            if (next_member(r) != GF_OK) return GF_ERR;
        } else if (status != Z_OK && status != Z_BUF_ERROR) {
            return gf_fail("%s: corrupt gzip data while reading %s, at byte offset %lld of the "
                           "decompressed data (byte %lld of the file; zlib: %s)", r->path, what,
                           (long long)(r->offset + (int64_t)*got),
                           (long long)raw_position(inf), inf->z.msg ? inf->z.msg : "error");
        }
    }
    return GF_OK;
}

/* Up to n bytes of data; *got < n only at the end of the data. */
static int read_data(gf_file_reader *r, unsigned char *out, size_t n, size_t *got,
                     const char *what) {
    if (r->inflate) return inflate_some(r, out, n, got, what);
    return read_some(r, out, n, got);
}

int gf_file_reader_open(gf_file_reader *r, const char *path) {
    *r = (gf_file_reader){.path = path};
    /* O_NONBLOCK: a FIFO must not block the open; it is refused below */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int saved = errno;
        if (fd >= 0) close(fd);
        return gf_fail("cannot open %s: %s", path, strerror(saved));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return gf_fail("cannot read %s: not a regular file (%s)", path,
                       S_ISDIR(st.st_mode) ? "a directory" : "a FIFO, device or socket");
    }
    unsigned char magic[2];
    bool gzip = pread(fd, magic, 2, 0) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    r->file = fdopen(fd, "rb");
    if (!r->file) {
        int saved = errno;
        close(fd);
        return gf_fail("cannot read %s: %s", path, strerror(saved));
    }
    r->file_size = (int64_t)st.st_size;
    if (!gzip) return GF_OK;
    r->inflate = calloc(1, sizeof *r->inflate);
    /* 15 + 16: a 32 KiB window, gzip wrapping only (no raw or zlib streams) */
    if (!r->inflate || inflateInit2(&r->inflate->z, 15 + 16) != Z_OK) {
        free(r->inflate);
        r->inflate = NULL;
        gf_file_reader_close(r);
        return gf_fail("cannot read %s: out of memory for zlib", path);
    }
    r->inflate->z.next_in = r->inflate->input;
    return GF_OK;
}

bool gf_file_reader_compressed(const gf_file_reader *r) { return r->inflate != NULL; }

int64_t gf_file_reader_remaining(const gf_file_reader *r) {
    return r->inflate ? -1 : r->file_size - r->offset;
}

int gf_file_reader_read_toward(gf_file_reader *r, void *buffer, size_t n, int64_t end,
                               const char *what) {
    size_t got = 0;
    int status = read_data(r, buffer, n, &got, what);
    int64_t at = r->offset + (int64_t)got;
    r->offset = at;
    if (status != GF_OK) return GF_ERR;
    if (got < n)
        return gf_fail("%s: truncated at byte offset %lld while reading %s (%lld more bytes "
                       "needed)", r->path, (long long)at, what, (long long)(end - at));
    return GF_OK;
}

int gf_file_reader_read(gf_file_reader *r, void *buffer, size_t n, const char *what) {
    return gf_file_reader_read_toward(r, buffer, n, r->offset + (int64_t)n, what);
}

int gf_file_reader_expect_end(gf_file_reader *r) {
    unsigned char extra;
    size_t got = 0;
    if (read_data(r, &extra, 1, &got, "the end of the file") != GF_OK) return GF_ERR;
    if (got == 1)
        return gf_fail("%s: unexpected data after the end at byte offset %lld (file longer "
                       "than its header says)", r->path, (long long)r->offset);
    return GF_OK;
}

void gf_file_reader_close(gf_file_reader *r) {
    if (r->inflate) {
        inflateEnd(&r->inflate->z);
        free(r->inflate);
        r->inflate = NULL;
    }
    if (r->file) fclose(r->file);
    r->file = NULL;
}
