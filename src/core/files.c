/* nftw is an X/Open extension */
#define _XOPEN_SOURCE 700

#include "core/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

static char *copy_text(const char *text) {
    size_t n = strlen(text) + 1;
    char *copy = malloc(n);
    if (copy) memcpy(copy, text, n);
    return copy;
}

int gf_make_dirs(const char *path) {
    if (!path || !*path) return gf_fail("make folder: the name is empty");
    char *p = copy_text(path);
    if (!p) return gf_fail("make folder %s: out of memory", path);
    int status = GF_OK;
    /* each prefix ending before a '/', then the whole path */
    for (char *end = p + 1;; end++) {
        if (*end != '/' && *end != '\0') continue;
        char saved = *end;
        *end = '\0';
        if (mkdir(p, 0777) != 0) {
            int error = errno;
            struct stat st;
            if (error != EEXIST) {
                status = gf_fail("make folder %s: cannot create %s: %s", path, p, strerror(error));
            } else if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
                status = gf_fail("make folder %s: %s exists and is not a folder", path, p);
            }
        }
        *end = saved;
        if (status != GF_OK || saved == '\0') break;
    }
    free(p);
    return status;
}

/* nftw's callback has no argument for us: the first entry that could not be
 * removed, for the message. */
static _Thread_local char failed_entry[512];
static _Thread_local int failed_errno;

static int remove_entry(const char *path, const struct stat *st, int kind, struct FTW *where) {
    (void)st;
    (void)where;
    /* a folder that could not be read still holds what we could not see */
    if (kind == FTW_DNR || remove(path) != 0) {
        failed_errno = kind == FTW_DNR ? EACCES : errno;
        snprintf(failed_entry, sizeof failed_entry, "%s", path);
        return 1;
    }
    return 0;
}

/* The last part of path, without trailing slashes: "a/b/" -> "b"; "" for "/". */
static bool last_part_is(const char *path, const char *name) {
    size_t end = strlen(path);
    while (end > 0 && path[end - 1] == '/') end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/') start--;
    return end - start == strlen(name) && strncmp(path + start, name, end - start) == 0;
}

int gf_remove_tree(const char *path) {
    if (!path || !*path) return gf_fail("remove: the name is empty");
    if (strspn(path, "/") == strlen(path)) return gf_fail("remove %s: refusing the root folder", path);
    if (last_part_is(path, ".") || last_part_is(path, ".."))
        return gf_fail("remove %s: refusing a name that ends in . or ..", path);
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return GF_OK;
        return gf_fail("remove %s: %s", path, strerror(errno));
    }
    failed_entry[0] = '\0';
    /* children before their folder; symbolic links removed, never followed; at most
     * 64 folders open at once (deeper trees are walked all the same) */
    int result = nftw(path, remove_entry, 64, FTW_DEPTH | FTW_PHYS);
    if (result == 0) return GF_OK;
    if (failed_entry[0])
        return gf_fail("remove %s: cannot remove %s: %s", path, failed_entry,
                       strerror(failed_errno));
    return gf_fail("remove %s: %s", path, strerror(errno));
}

int gf_atomic_open(gf_atomic_file *f, const char *path) {
    f->fd = -1;
    f->path = f->temporary = NULL;
    if (!path || !*path) return gf_fail("write: the file name is empty");
    size_t size = strlen(path) + 32;
    f->path = copy_text(path);
    f->temporary = malloc(size);
    if (!f->path || !f->temporary) {
        gf_atomic_abort(f);
        return gf_fail("write %s: out of memory", path);
    }
    snprintf(f->temporary, size, "%s.tmp-%ld", path, (long)getpid());
    f->fd = open(f->temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        int error = errno;
        free(f->path);
        free(f->temporary);
        f->path = f->temporary = NULL;
        return gf_fail("write %s: cannot create it: %s", path, strerror(error));
    }
    return GF_OK;
}

void gf_atomic_abort(gf_atomic_file *f) {
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->temporary) unlink(f->temporary);
    free(f->path);
    free(f->temporary);
    f->path = f->temporary = NULL;
}

int gf_atomic_write(gf_atomic_file *f, const void *bytes, size_t count) {
    if (f->fd < 0) return gf_fail("write: the file is not open");
    const char *p = bytes;
    while (count > 0) {
        ssize_t n = write(f->fd, p, count);
        if (n < 0) {
            if (errno == EINTR) continue;
            int error = errno;
            gf_fail("write %s: %s", f->path, strerror(error));
            gf_atomic_abort(f);
            return GF_ERR;
        }
        p += n;
        count -= (size_t)n;
    }
    return GF_OK;
}

/* fsync of the folder holding path, so that a rename into it lasts */
static void sync_parent(const char *path) {
    const char *slash = strrchr(path, '/');
    char *parent = slash ? malloc((size_t)(slash - path) + 2) : NULL;
    if (slash && !parent) return;
    if (parent) {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(parent, path, n);
        parent[n] = '\0';
    }
    int fd = open(parent ? parent : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(parent);
}

/* Removes the temporaries of path ("<name>.tmp-<pid>") whose writer no longer
 * exists: a writer killed mid-write leaves one, and the next write of the same
 * file clears it. A live writer's temporary is left alone. */
static void remove_killed_writers_temporaries(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t folder_length = slash ? (size_t)(slash - path) + 1 : 0, name_length = strlen(name);
    char *folder = malloc(folder_length + 2), *entry_path = NULL;
    if (!folder) return;
    memcpy(folder, path, folder_length);
    strcpy(folder + folder_length, folder_length ? "" : ".");
    DIR *d = opendir(folder);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        const char *rest = e->d_name + name_length;
        if (strncmp(e->d_name, name, name_length) != 0 || strncmp(rest, ".tmp-", 5) != 0) continue;
        char *end;
        long pid = strtol(rest + 5, &end, 10);
        if (*end || end == rest + 5 || pid <= 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        char *joined = realloc(entry_path, folder_length + strlen(e->d_name) + 1);
        if (!joined) break;
        entry_path = joined;
        memcpy(entry_path, path, folder_length);
        strcpy(entry_path + folder_length, e->d_name);
        unlink(entry_path);
    }
    if (d) closedir(d);
    free(entry_path);
    free(folder);
}

int gf_atomic_commit(gf_atomic_file *f) {
    if (f->fd < 0) return gf_fail("write: the file is not open");
    const char *step = "flushing";
    bool ok = fsync(f->fd) == 0;
    if (ok) {
        step = "closing";
        ok = close(f->fd) == 0;
        f->fd = -1;
    }
    if (ok) {
        step = "renaming";
        ok = rename(f->temporary, f->path) == 0;
    }
    if (!ok) {
        int error = errno;
        gf_fail("write %s: %s %s failed: %s", f->path, step, f->temporary, strerror(error));
        gf_atomic_abort(f);
        return GF_ERR;
    }
    sync_parent(f->path);
    remove_killed_writers_temporaries(f->path);
    free(f->path);
    free(f->temporary);
    f->path = f->temporary = NULL;
    return GF_OK;
}

int gf_write_file(const char *path, const void *bytes, size_t count) {
    gf_atomic_file f;
    if (gf_atomic_open(&f, path) != GF_OK) return GF_ERR;
    if (gf_atomic_write(&f, bytes, count) != GF_OK) return GF_ERR;
    return gf_atomic_commit(&f);
}
