#include "io/epoch_dir.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"

/* dir + "/" + name into out (PATH_MAX bytes) */
static int join(char *out, const char *dir, const char *name) {
    if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
        return gf_fail("path too long: %s/%s", dir, name);
    return GF_OK;
}

/* "epoch-" and decimal digits only, at most GF_EPOCH_DIR_MAX_EPOCH */
static bool parse_epoch_name(const char *name, int *epoch) {
    if (strncmp(name, "epoch-", 6) != 0) return false;
    const char *digits = name + 6;
    size_t length = strspn(digits, "0123456789");
    if (length == 0 || length > 9 || digits[length] != '\0') return false;
    long value = strtol(digits, NULL, 10);
    if (value > GF_EPOCH_DIR_MAX_EPOCH) return false;
    *epoch = (int)value;
    return true;
}

static bool is_temporary_name(const char *name) {
    return strncmp(name, ".epoch-", 7) == 0 && strstr(name, ".tmp-") != NULL;
}

int gf_epoch_dir_last(const char *dir, char *buf, size_t size, int *found, int *epoch) {
    *found = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return GF_OK;
        return gf_fail("cannot read the checkpoint folder %s: %s", dir, strerror(errno));
    }
    int best = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int epoch;
        if (parse_epoch_name(e->d_name, &epoch) && epoch > best) best = epoch;
    }
    closedir(d);
    if (best < 0) return GF_OK;
    if (snprintf(buf, size, "%s/epoch-%04d", dir, best) >= (int)size)
        return gf_fail("path too long in %s", dir);
    *found = 1;
    if (epoch) *epoch = best;
    return GF_OK;
}

static int check_members(const gf_epoch_member *members, size_t count) {
    for (size_t i = 0; i < count; i++) {
        const char *name = members[i].name;
        if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
            strcmp(name, "..") == 0)
            return gf_fail("member %zu: '%s' is not a plain file name", i + 1, name ? name : "");
        for (size_t j = 0; j < i; j++) {
            if (strcmp(members[j].name, name) == 0)
                return gf_fail("member %zu: '%s' is named twice", i + 1, name);
        }
    }
    return GF_OK;
}

static int write_members(const char *tmp, const gf_epoch_member *members, size_t count) {
    char path[PATH_MAX];
    for (size_t i = 0; i < count; i++) {
        const gf_epoch_member *m = &members[i];
        if (join(path, tmp, m->name) != GF_OK) return GF_ERR;
        int status = m->write ? m->write(path, m->context)
                              : gf_write_file(path, m->text ? m->text : "", m->length);
        if (status != GF_OK) return gf_fail_context("writing %s", m->name);
    }
    return GF_OK;
}

/* Removes the epoch folders older than `epoch` and the temporary folders left by
 * killed writers. A folder that cannot be removed only wastes space: not an error. */
static void prune(const char *dir, int epoch) {
    DIR *d = opendir(dir);
    if (!d) return;
    char path[PATH_MAX];
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int other;
        bool old = parse_epoch_name(e->d_name, &other) && other < epoch;
        if ((old || is_temporary_name(e->d_name)) && join(path, dir, e->d_name) == GF_OK)
            gf_remove_tree(path);
    }
    closedir(d);
    gf_error_clear();
}

static int check_epoch(int epoch) {
    if (epoch < 0 || epoch > GF_EPOCH_DIR_MAX_EPOCH)
        return gf_fail("checkpoint of epoch %d: epochs count from 0 to %d", epoch,
                       GF_EPOCH_DIR_MAX_EPOCH);
    return GF_OK;
}

/* dir/.epoch-NNNN.tmp-<tag> into out (PATH_MAX bytes) */
static int temporary_path(char *out, const char *dir, int epoch, long tag) {
    char name[64];
    snprintf(name, sizeof name, ".epoch-%04d.tmp-%ld", epoch, tag);
    return join(out, dir, name);
}

/* Keeps the current message, adds context and removes the temporary folder. */
static int fail_and_discard(const char *dir, int epoch, long tag) {
    gf_fail_context("checkpoint of epoch %d in %s", epoch, dir);
    char message[1024];
    snprintf(message, sizeof message, "%s", gf_error_message());
    gf_epoch_dir_discard(dir, epoch, tag);
    return gf_fail("%s", message);
}

int gf_epoch_dir_write(const char *dir, int epoch, long tag, const gf_epoch_member *members,
                       size_t count) {
    char tmp[PATH_MAX];
    if (check_epoch(epoch) != GF_OK) return GF_ERR;
    if (check_members(members, count) != GF_OK || temporary_path(tmp, dir, epoch, tag) != GF_OK ||
        gf_make_dirs(tmp) != GF_OK)
        return gf_fail_context("checkpoint of epoch %d in %s", epoch, dir);
    if (write_members(tmp, members, count) != GF_OK)
        return gf_fail_context("checkpoint of epoch %d in %s", epoch, dir);
    return GF_OK;
}

int gf_epoch_dir_commit(const char *dir, int epoch, long tag) {
    char final_name[32], tmp[PATH_MAX], final[PATH_MAX];
    if (check_epoch(epoch) != GF_OK) return GF_ERR;
    snprintf(final_name, sizeof final_name, "epoch-%04d", epoch);
    int status = temporary_path(tmp, dir, epoch, tag);
    if (status == GF_OK) status = join(final, dir, final_name);
    /* rename cannot replace a non-empty folder: an epoch written before (a run
     * restarted into the same folder) goes first */
    if (status == GF_OK) status = gf_remove_tree(final);
    if (status == GF_OK && rename(tmp, final) != 0)
        status = gf_fail("cannot rename %s to %s: %s", tmp, final, strerror(errno));
    if (status != GF_OK) return fail_and_discard(dir, epoch, tag);
    prune(dir, epoch);
    return GF_OK;
}

void gf_epoch_dir_discard(const char *dir, int epoch, long tag) {
    char tmp[PATH_MAX];
    if (temporary_path(tmp, dir, epoch, tag) == GF_OK) gf_remove_tree(tmp);
    gf_error_clear();
}

int gf_epoch_dir_save(const char *dir, int epoch, const gf_epoch_member *members, size_t count) {
    long tag = (long)getpid();
    char tmp[PATH_MAX];
    if (check_epoch(epoch) != GF_OK) return GF_ERR;
    if (check_members(members, count) != GF_OK)
        return gf_fail_context("checkpoint of epoch %d in %s", epoch, dir);
    /* a folder of this tag left by an earlier process of the same id goes first */
    if (temporary_path(tmp, dir, epoch, tag) != GF_OK || gf_remove_tree(tmp) != GF_OK)
        return gf_fail_context("checkpoint of epoch %d in %s", epoch, dir);
    if (gf_epoch_dir_write(dir, epoch, tag, members, count) != GF_OK)
        return fail_and_discard(dir, epoch, tag);
    return gf_epoch_dir_commit(dir, epoch, tag);
}
