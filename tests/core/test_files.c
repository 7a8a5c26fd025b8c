/* Files without a shell: folders made and removed (odd names taken as names, odd
 * paths refused, symbolic links never followed), files written whole or not at all. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "scratch_folder.h"
#include "core/error.h"
#include "core/files.h"

static void test_make_dirs(void) {
    CHECK(gf_make_dirs(at("a/b/c")) == GF_OK);
    CHECK(is_dir(at("a/b/c")));
    CHECK(gf_make_dirs(at("a/b/c")) == GF_OK); /* exists: fine */
    CHECK(gf_make_dirs(at("a/b/c/")) == GF_OK);
    /* a name that looks like an option is a name */
    CHECK(gf_make_dirs(at("--help")) == GF_OK);
    CHECK(is_dir(at("--help")));
    CHECK(gf_write_file(at("plain"), "x", 1) == GF_OK);
    CHECK(gf_make_dirs(at("plain")) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "is not a folder");
    CHECK(gf_make_dirs(at("plain/below")) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "plain/below");
    CHECK(gf_make_dirs("") == GF_ERR);
}

static void test_remove_tree(void) {
    /* a tree with files, an empty folder and a link to a folder outside it */
    CHECK(gf_make_dirs(at("tree/x/y")) == GF_OK);
    CHECK(gf_make_dirs(at("tree/empty")) == GF_OK);
    CHECK(gf_make_dirs(at("outside")) == GF_OK);
    CHECK(gf_write_file(at("tree/x/y/f"), "1", 1) == GF_OK);
    CHECK(gf_write_file(at("tree/x/g"), "2", 1) == GF_OK);
    CHECK(gf_write_file(at("outside/kept"), "3", 1) == GF_OK);
    CHECK(symlink(at("outside"), at("tree/x/link")) == 0);
    CHECK(gf_remove_tree(at("tree")) == GF_OK);
    CHECK(!exists(at("tree")));
    CHECK(exists(at("outside/kept"))); /* the link went, not what it pointed to */
    /* a link given itself: only the link goes */
    CHECK(symlink(at("outside"), at("alias")) == 0);
    CHECK(gf_remove_tree(at("alias")) == GF_OK);
    CHECK(!exists(at("alias")) && exists(at("outside/kept")));
    /* a missing path is no error; a file is removed */
    CHECK(gf_remove_tree(at("never-there")) == GF_OK);
    CHECK(gf_remove_tree(at("plain")) == GF_OK);
    CHECK(!exists(at("plain")));
    CHECK(gf_remove_tree(at("--help")) == GF_OK);
    CHECK(!exists(at("--help")));
    /* odd paths refused, nothing touched */
    const char *refused[] = {"", "/", "//", ".", "..", "a/..", "a/.", "a/b/../", "./"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s", refused[i]);
        if (refused[i][0] == 'a') snprintf(path, sizeof path, "%s", at(refused[i]));
        CHECK(gf_remove_tree(path) == GF_ERR);
    }
    CHECK(is_dir(at("a/b/c")));
    CHECK(gf_remove_tree(at("a")) == GF_OK && !exists(at("a")));
}

static void test_atomic_write(void) {
    CHECK(gf_write_file(at("f.txt"), "first", 5) == GF_OK);
    CHECK(strcmp(read_all(at("f.txt")), "first") == 0);
    CHECK(gf_write_file(at("f.txt"), "second", 6) == GF_OK);
    CHECK(strcmp(read_all(at("f.txt")), "second") == 0);
    CHECK(gf_write_file(at("f.txt"), "", 0) == GF_OK);
    CHECK(strcmp(read_all(at("f.txt")), "") == 0);
    /* an abandoned write leaves the old file and no temporary */
    gf_atomic_file f;
    CHECK(gf_atomic_open(&f, at("f.txt")) == GF_OK);
    CHECK(gf_atomic_write(&f, "partial", 7) == GF_OK);
    CHECK(strcmp(read_all(at("f.txt")), "") == 0);
    gf_atomic_abort(&f);
    gf_atomic_abort(&f);
    CHECK(entries(scratch_root) == 2); /* f.txt and outside */
    /* a missing folder: an error naming the file, nothing written */
    CHECK(gf_write_file(at("no/such/folder/f"), "x", 1) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "no/such/folder/f");
    CHECK(gf_write_file("", "x", 1) == GF_ERR);
    /* the rename fails onto a folder: the folder stays, no temporary is left */
    CHECK(gf_make_dirs(at("folder/inside")) == GF_OK);
    CHECK(gf_write_file(at("folder"), "x", 1) == GF_ERR);
    CHECK(is_dir(at("folder/inside")));
    CHECK(entries(scratch_root) == 3);
}

/* A writer killed mid-write leaves "<name>.tmp-<pid>"; the next write of the name
 * removes it, and leaves a live writer's temporary alone. */
static void test_killed_writer_leftovers(void) {
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    CHECK(dead > 0 && waitpid(dead, NULL, 0) == dead);
    char name[256];
    snprintf(name, sizeof name, "run/net1.safetensors.tmp-%ld", (long)dead);
    CHECK(gf_make_dirs(at("run")) == GF_OK);
    CHECK(gf_write_file(at(name), "killed", 6) == GF_OK);
    char live[256]; /* the parent process (the test runner) is alive */
    snprintf(live, sizeof live, "run/net1.safetensors.tmp-%ld", (long)getppid());
    CHECK(gf_write_file(at(live), "writing", 7) == GF_OK);
    char other[256]; /* another file's temporary is not this one's to remove */
    snprintf(other, sizeof other, "run/net2.safetensors.tmp-%ld", (long)dead);
    CHECK(gf_write_file(at(other), "other", 5) == GF_OK);
    CHECK(gf_write_file(at("run/net1.safetensors"), "whole", 5) == GF_OK);
    CHECK(strcmp(read_all(at("run/net1.safetensors")), "whole") == 0);
    CHECK(!exists(at(name)));
    CHECK(exists(at(live)) && exists(at(other)));
    CHECK(entries(at("run")) == 3);
    CHECK(gf_remove_tree(at("run")) == GF_OK);
}

int main(void) {
    scratch_name("test-files");
    CHECK(gf_make_dirs(scratch_root) == GF_OK);
    test_make_dirs();
    test_remove_tree();
    test_atomic_write();
    test_killed_writer_leftovers();
    CHECK(gf_remove_tree(scratch_root) == GF_OK);
    CHECK(!exists(scratch_root));
    return CHECK_DONE();
}
