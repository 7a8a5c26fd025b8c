/* Files and folders without a shell: folders made (mkdir -p) and removed (rm -r,
 * never following a symbolic link), files written whole through a temporary name
 * and a rename, so that a reader sees the old file or the new one and never a
 * partial one. Every name is taken as it is: "--help" is a folder like any other. */
#ifndef GRAFT_CORE_FILES_H
#define GRAFT_CORE_FILES_H

#include <stddef.h>

/* Makes path and every missing folder above it; an existing folder is fine, an
 * existing file of that name is an error. */
int gf_make_dirs(const char *path);

/* Removes path: a file, a symbolic link (not what it points to) or a folder with
 * everything in it. A missing path is not an error. Refuses "", a path whose last
 * part is "." or "..", and the root folder. Stops at the first entry it cannot
 * remove, naming it. */
int gf_remove_tree(const char *path);

/* A file being written under a temporary name beside its final one. */
typedef struct gf_atomic_file {
    int fd;     /* -1 once committed or aborted */
    char *path; /* the final name */
    char *temporary;
} gf_atomic_file;

/* Creates path's temporary file. On error nothing is left behind. */
int gf_atomic_open(gf_atomic_file *f, const char *path);
/* Appends bytes; on error the file is aborted (gf_atomic_abort). */
int gf_atomic_write(gf_atomic_file *f, const void *bytes, size_t count);
/* Flushes the bytes to disk and renames the file into place (replacing an older
 * one), then flushes the folder so that the rename lasts; aborts on error. Then
 * removes the file's temporaries left by writers that were killed (whose process
 * is gone), so that a killed and repeated write leaves nothing behind. */
int gf_atomic_commit(gf_atomic_file *f);
/* Removes the temporary file; safe to call twice. */
void gf_atomic_abort(gf_atomic_file *f);

/* Writes count bytes to path whole (the four calls above). */
int gf_write_file(const char *path, const void *bytes, size_t count);

#endif
