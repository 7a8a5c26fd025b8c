/* Checkpoints as one folder per completed epoch:
 *   DIR/epoch-0003/<member>...   files or folders, and metadata written as text
 * The members are written in order into a temporary folder (".epoch-0003.tmp-<pid>")
 * that is renamed to epoch-NNNN once all of them are complete, so a folder named
 * epoch-NNNN is always whole. Older epoch folders and the temporary folders of
 * killed writers are removed afterwards. Resuming takes the highest-numbered one.
 * A trainer's checkpoint (train/checkpoint_dir.c) and a whole grafting run's
 * (lua/graft/run/checkpoints.lua, one trainer's checkpoint folder per network) are
 * both such folders. */
#ifndef GRAFT_IO_EPOCH_DIR_H
#define GRAFT_IO_EPOCH_DIR_H

#include <stddef.h>

/* Epoch numbers above this are refused: folders named so are not epochs. */
#define GF_EPOCH_DIR_MAX_EPOCH 1000000

/* One member: written by write(path, context) when write is set (path is the
 * member's name inside the temporary folder; it returns GF_OK or GF_ERR with a
 * message), otherwise `length` bytes of `text` written as a file. */
typedef struct gf_epoch_member {
    const char *name;
    int (*write)(const char *path, void *context);
    void *context;
    const char *text;
    size_t length;
} gf_epoch_member;

/* Makes dir if needed and saves epoch `epoch` (0 to GF_EPOCH_DIR_MAX_EPOCH) with its
 * members, whose
 * names must be plain file names (no '/', not "." or ".."). On error no epoch
 * folder changes and the temporary folder is removed. */
int gf_epoch_dir_save(const char *dir, int epoch, const gf_epoch_member *members, size_t count);

/* Several writers fill one epoch's folder, as the processes of a ring spread over
 * MPI do: each writes its own members into the temporary folder of a tag they share
 * (".epoch-0003.tmp-<tag>", made when missing; members as above), and once all
 * have, one renames it into place (commit; on error the folder is discarded).
 * gf_epoch_dir_save is the three in one process, with its process id as the tag. */
int gf_epoch_dir_write(const char *dir, int epoch, long tag, const gf_epoch_member *members,
                       size_t count);
int gf_epoch_dir_commit(const char *dir, int epoch, long tag);
/* Removes the temporary folder of tag (after a failed write). */
void gf_epoch_dir_discard(const char *dir, int epoch, long tag);

/* Path of the last complete epoch folder of dir into buf (size bytes), and its epoch
 * into *epoch (may be NULL); *found = 0 when there is none or dir does not exist
 * (not an error). */
int gf_epoch_dir_last(const char *dir, char *buf, size_t size, int *found, int *epoch);

#endif
