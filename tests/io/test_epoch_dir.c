/* Epoch folders: members written into a temporary folder renamed when whole; a
 * failing member leaves the last complete epoch as it was and no temporary folder;
 * older epochs and killed writers' leftovers are removed; the last one is found. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "scratch_folder.h"
#include "core/error.h"
#include "core/files.h"
#include "io/epoch_dir.h"

/* A member that is itself a folder with a file, as a whole trainer's checkpoint is. */
static int write_folder(const char *path, void *context) {
    char file[600];
    if (gf_make_dirs(path) != GF_OK) return GF_ERR;
    snprintf(file, sizeof file, "%s/inside", path);
    return gf_write_file(file, context, strlen(context));
}

static int write_fails(const char *path, void *context) {
    (void)context;
    return gf_fail("the writer of %s gave up", path);
}

static void test_save_and_last(void) {
    char dir[512], last[600];
    snprintf(dir, sizeof dir, "%s", at("run"));
    int found = 1;
    CHECK(gf_epoch_dir_last(dir, last, sizeof last, &found, NULL) == GF_OK && !found);

    gf_epoch_member members[] = {
        {.name = "net1", .write = write_folder, .context = "weights 1"},
        {.name = "state.json", .text = "{\"epoch\":1}", .length = 11},
    };
    CHECK(gf_epoch_dir_save(dir, 1, members, 2) == GF_OK);
    CHECK(strcmp(read_all(at("run/epoch-0001/net1/inside")), "weights 1") == 0);
    CHECK(strcmp(read_all(at("run/epoch-0001/state.json")), "{\"epoch\":1}") == 0);
    CHECK(gf_epoch_dir_last(dir, last, sizeof last, &found, NULL) == GF_OK && found);
    CHECK(strcmp(last, at("run/epoch-0001")) == 0);

    /* a killed writer's leftover, found and removed by the next save */
    CHECK(gf_make_dirs(at("run/.epoch-0002.tmp-99999/net1")) == GF_OK);
    members[0].context = "weights 2";
    members[1].text = "{\"epoch\":2}";
    CHECK(gf_epoch_dir_save(dir, 2, members, 2) == GF_OK);
    CHECK(!exists(at("run/epoch-0001")));
    CHECK(!exists(at("run/.epoch-0002.tmp-99999")));
    CHECK(strcmp(read_all(at("run/epoch-0002/net1/inside")), "weights 2") == 0);
    CHECK(entries(dir) == 1);

    /* a failing member: epoch 2 stays whole, no epoch 3, no temporary folder */
    gf_epoch_member failing[] = {
        {.name = "net1", .write = write_folder, .context = "weights 3"},
        {.name = "net2", .write = write_fails},
    };
    CHECK(gf_epoch_dir_save(dir, 3, failing, 2) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "epoch 3");
    CHECK_CONTAINS(gf_error_message(), "writing net2");
    CHECK_CONTAINS(gf_error_message(), "gave up");
    CHECK(entries(dir) == 1);
    CHECK(strcmp(read_all(at("run/epoch-0002/net1/inside")), "weights 2") == 0);
    CHECK(gf_epoch_dir_last(dir, last, sizeof last, &found, NULL) == GF_OK && found);
    CHECK(strcmp(last, at("run/epoch-0002")) == 0);

    /* the same epoch saved again (a restarted run) replaces it */
    members[0].context = "weights 2 again";
    CHECK(gf_epoch_dir_save(dir, 2, members, 2) == GF_OK);
    CHECK(strcmp(read_all(at("run/epoch-0002/net1/inside")), "weights 2 again") == 0);
    CHECK(entries(dir) == 1);
}

/* Writers of one tag fill one folder (the processes of an MPI run); nothing counts
 * until the commit; a discarded write leaves the last epoch as it was. */
static void test_several_writers(void) {
    char dir[512], last[600];
    snprintf(dir, sizeof dir, "%s", at("shared"));
    int found = 0, epoch = 0;
    gf_epoch_member rank0[] = {{.name = "net1", .write = write_folder, .context = "one"}};
    gf_epoch_member rank1[] = {{.name = "net2", .write = write_folder, .context = "two"}};
    gf_epoch_member state[] = {{.name = "run_state.json", .text = "{}", .length = 2}};
    for (int e = 1; e <= 2; e++) {
        CHECK(gf_epoch_dir_write(dir, e, 4242, rank1, 1) == GF_OK);
        CHECK(gf_epoch_dir_write(dir, e, 4242, rank0, 1) == GF_OK);
        CHECK(gf_epoch_dir_last(dir, last, sizeof last, &found, &epoch) == GF_OK);
        CHECK(e == 1 ? !found : found && epoch == 1); /* not before the commit */
        CHECK(gf_epoch_dir_write(dir, e, 4242, state, 1) == GF_OK);
        CHECK(gf_epoch_dir_commit(dir, e, 4242) == GF_OK);
    }
    CHECK(gf_epoch_dir_last(dir, last, sizeof last, &found, &epoch) == GF_OK && found && epoch == 2);
    CHECK(strcmp(read_all(at("shared/epoch-0002/net1/inside")), "one") == 0);
    CHECK(strcmp(read_all(at("shared/epoch-0002/net2/inside")), "two") == 0);
    CHECK(exists(at("shared/epoch-0002/run_state.json")));
    CHECK(entries(dir) == 1);

    gf_epoch_member failing[] = {{.name = "net2", .write = write_fails}};
    CHECK(gf_epoch_dir_write(dir, 3, 4242, rank0, 1) == GF_OK);
    CHECK(gf_epoch_dir_write(dir, 3, 4242, failing, 1) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "writing net2");
    gf_epoch_dir_discard(dir, 3, 4242);
    CHECK(entries(dir) == 1 && !exists(at("shared/.epoch-0003.tmp-4242")));
    CHECK(gf_epoch_dir_commit(dir, 3, 4242) == GF_ERR); /* nothing to rename */
    CHECK_CONTAINS(gf_error_message(), "cannot rename");
    CHECK(gf_epoch_dir_last(dir, last, sizeof last, &found, &epoch) == GF_OK && found && epoch == 2);
}

static void test_refusals(void) {
    gf_epoch_member bad[] = {{.name = "../escape", .text = "x", .length = 1}};
    CHECK(gf_epoch_dir_save(at("refused"), 1, bad, 1) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "not a plain file name");
    gf_epoch_member twice[] = {{.name = "a", .text = "x", .length = 1},
                               {.name = "a", .text = "y", .length = 1}};
    CHECK(gf_epoch_dir_save(at("refused"), 1, twice, 2) == GF_ERR);
    CHECK_CONTAINS(gf_error_message(), "named twice");
    CHECK(gf_epoch_dir_save(at("refused"), -1, twice, 1) == GF_ERR);
    CHECK(!exists(at("refused")));
    /* a folder named like an option is a folder */
    gf_epoch_member one[] = {{.name = "state", .text = "x", .length = 1}};
    CHECK(gf_epoch_dir_save(at("--help"), 0, one, 1) == GF_OK);
    CHECK(strcmp(read_all(at("--help/epoch-0000/state")), "x") == 0);
}

int main(void) {
    scratch_name("test-epoch-dir");
    CHECK(gf_make_dirs(scratch_root) == GF_OK);
    test_save_and_last();
    test_several_writers();
    test_refusals();
    CHECK(gf_remove_tree(scratch_root) == GF_OK);
    return CHECK_DONE();
}
