/* A scratch folder for the C tests of files and checkpoint folders: paths in it,
 * and what is there. */
#ifndef GRAFT_TESTS_SCRATCH_FOLDER_H
#define GRAFT_TESTS_SCRATCH_FOLDER_H

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch_root[256];

/* Names the folder after the test and the process (made by the test itself). */
static inline void scratch_name(const char *test) {
    snprintf(scratch_root, sizeof scratch_root, "/tmp/graft-%s-%ld", test, (long)getpid());
}

/* scratch_root/name; the last four results stay valid */
static inline const char *at(const char *name) {
    static char path[4][512];
    static int next = 0;
    next = (next + 1) % 4;
    snprintf(path[next], sizeof path[next], "%s/%s", scratch_root, name);
    return path[next];
}

static inline bool exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static inline bool is_dir(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* the first 255 bytes of a file, or "(missing)" */
static inline const char *read_all(const char *path) {
    static char text[256];
    FILE *f = fopen(path, "rb");
    if (!f) return "(missing)";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

/* names in a folder other than . and .. */
static inline int entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

#endif
