#include "data/file_reader.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "core/error.h"

/* gzread takes an unsigned count; read large blocks in pieces */
enum { READ_CHUNK = 1 << 28 };

int gf_file_reader_open(gf_file_reader *r, const char *path) {
    r->path = path;
    r->offset = 0;
    r->gz = gzopen(path, "rb");
    if (!r->gz)
        return gf_fail("cannot open %s: %s", path, errno ? strerror(errno) : "zlib error");
    return GF_OK;
}

bool gf_file_reader_compressed(const gf_file_reader *r) { return !gzdirect((gzFile)r->gz); }

/* A short read is either the end of the data or a zlib error (corrupt or cut-off
 * gzip stream); say which. */
static int short_read(gf_file_reader *r, size_t wanted, size_t got, const char *what) {
    int code = Z_OK;
    const char *zmessage = gzerror((gzFile)r->gz, &code);
    int64_t at = r->offset + (int64_t)got;
    if (code != Z_OK && code != Z_STREAM_END)
        return gf_fail("%s: corrupt or truncated gzip data while reading %s, at byte offset "
                       "%lld of the decompressed data (zlib had read %lld bytes of the file: "
                       "%s)", r->path, what, (long long)at, (long long)gzoffset((gzFile)r->gz),
                       zmessage);
    return gf_fail("%s: truncated at byte offset %lld while reading %s (%zu more bytes "
                   "needed)", r->path, (long long)at, what, wanted - got);
}

int gf_file_reader_read(gf_file_reader *r, void *buffer, size_t n, const char *what) {
    unsigned char *out = buffer;
    size_t done = 0;
    while (done < n) {
        size_t piece = n - done < READ_CHUNK ? n - done : READ_CHUNK;
        int got = gzread((gzFile)r->gz, out + done, (unsigned)piece);
        if (got <= 0) return short_read(r, n, done, what);
        done += (size_t)got;
        if ((size_t)got < piece) return short_read(r, n, done, what);
    }
    r->offset += (int64_t)n;
    return GF_OK;
}

int gf_file_reader_expect_end(gf_file_reader *r) {
    unsigned char extra;
    int got = gzread((gzFile)r->gz, &extra, 1);
    if (got == 1)
        return gf_fail("%s: unexpected data after the end at byte offset %lld (file longer "
                       "than its header says)", r->path, (long long)r->offset);
    if (got < 0) return short_read(r, 1, 0, "the end of the file");
    int code = Z_OK;
    const char *zmessage = gzerror((gzFile)r->gz, &code);
    if (code != Z_OK && code != Z_STREAM_END)
        return gf_fail("%s: corrupt gzip data after byte offset %lld (zlib: %s)", r->path,
                       (long long)r->offset, zmessage);
    return GF_OK;
}

void gf_file_reader_close(gf_file_reader *r) {
    if (r->gz) gzclose((gzFile)r->gz);
    r->gz = NULL;
}
