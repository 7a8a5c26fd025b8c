/* Files, folders and the terminal for Lua, without a shell (Lua's standard
 * library has no folders, and os.execute would read a name such as "--help" as an
 * option):
 *   graft.core.make_dirs(path)             mkdir -p
 *   graft.core.remove_tree(path)           rm -r, never following a symbolic link
 *   graft.core.is_file(path)               whether path names a regular file (links followed)
 *   graft.core.write_file(path, text)      whole or not at all (temporary name, rename)
 *   graft.core.epoch_save(dir, epoch, {{name, text | function(path)}, ...})
 *                                          one checkpoint folder (io/epoch_dir.h)
 *   graft.core.epoch_write(dir, epoch, tag, members), epoch_commit(dir, epoch, tag),
 *   epoch_discard(dir, epoch, tag)         the same folder filled by several processes
 *   graft.core.checkpoint_last(dir)        its last complete epoch folder, or nil
 *   graft.core.terminal_size()             columns, rows of the terminal, or nil
 *   graft.core.stdout_is_terminal()        whether standard output is a terminal
 *   graft.core.process_id()                this process's id */
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/files.h"
#include "io/epoch_dir.h"
#include "lua/binding.h"

static int l_make_dirs(lua_State *L) {
    if (gf_make_dirs(luaL_checkstring(L, 1)) != GF_OK)
        return gf_lua_raise(L, "graft.core.make_dirs");
    return 0;
}

static int l_remove_tree(lua_State *L) {
    if (gf_remove_tree(luaL_checkstring(L, 1)) != GF_OK)
        return gf_lua_raise(L, "graft.core.remove_tree");
    return 0;
}

/* Lua's io.open also opens a folder, and a failed open does not say whether the
 * file is missing or unreadable: a stat answers the question the callers ask. */
static int l_is_file(lua_State *L) {
    struct stat status;
    lua_pushboolean(L, stat(luaL_checkstring(L, 1), &status) == 0 && S_ISREG(status.st_mode));
    return 1;
}

static int l_write_file(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    size_t length;
    const char *text = luaL_checklstring(L, 2, &length);
    if (gf_write_file(path, text, length) != GF_OK) return gf_lua_raise(L, "graft.core.write_file");
    return 0;
}

/* A member written by a Lua function, called with the member's path. */
typedef struct {
    lua_State *L;
    int function; /* stack index */
} lua_writer;

static int call_writer(const char *path, void *context) {
    lua_writer *w = context;
    lua_pushvalue(w->L, w->function);
    lua_pushstring(w->L, path);
    if (lua_pcall(w->L, 1, 0, 0) == LUA_OK) return GF_OK;
    gf_fail("%s", luaL_tolstring(w->L, -1, NULL));
    lua_pop(w->L, 2);
    return GF_ERR;
}

/* The members at stack index `index` ({{name, text | function(path)}, ...}); they
 * and their names stay referenced there while they are used. */
static gf_epoch_member *check_members(lua_State *L, int index, size_t *count, const char *operation) {
    luaL_checktype(L, index, LUA_TTABLE);
    *count = (size_t)luaL_len(L, index);
    /* userdata, so that an error below frees them with the rest */
    gf_epoch_member *members = lua_newuserdatauv(L, (*count ? *count : 1) * sizeof *members, 0);
    lua_writer *writers = lua_newuserdatauv(L, (*count ? *count : 1) * sizeof *writers, 0);
    for (size_t i = 0; i < *count; i++) {
        /* each member's name and value stay on the stack while they are used */
        luaL_checkstack(L, 3, "too many checkpoint members");
        if (lua_geti(L, index, (lua_Integer)i + 1) != LUA_TTABLE)
            luaL_error(L, "%s: member %d must be {name, text or function(path)}", operation, (int)i + 1);
        int entry = lua_gettop(L);
        lua_geti(L, entry, 1);
        lua_geti(L, entry, 2);
        if (lua_type(L, entry + 1) != LUA_TSTRING)
            luaL_error(L, "%s: member %d has no name", operation, (int)i + 1);
        members[i] = (gf_epoch_member){.name = lua_tostring(L, entry + 1)};
        if (lua_type(L, entry + 2) == LUA_TSTRING) {
            members[i].text = lua_tolstring(L, entry + 2, &members[i].length);
        } else if (lua_type(L, entry + 2) == LUA_TFUNCTION) {
            writers[i] = (lua_writer){L, entry + 2};
            members[i].write = call_writer;
            members[i].context = &writers[i];
        } else {
            luaL_error(L, "%s: member %d (%s) must be a text or a function(path), got %s", operation,
                       (int)i + 1, members[i].name, luaL_typename(L, entry + 2));
        }
    }
    return members;
}

static int check_epoch(lua_State *L, int index) {
    lua_Integer epoch = luaL_checkinteger(L, index);
    luaL_argcheck(L, epoch >= 0 && epoch <= GF_EPOCH_DIR_MAX_EPOCH, index, "an epoch number of 0 to 1000000");
    return (int)epoch;
}

static int l_epoch_save(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1);
    int epoch = check_epoch(L, 2);
    size_t count;
    gf_epoch_member *members = check_members(L, 3, &count, "graft.core.epoch_save");
    if (gf_epoch_dir_save(dir, epoch, members, count) != GF_OK)
        return gf_lua_raise(L, "graft.core.epoch_save");
    return 0;
}

static int l_epoch_write(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1);
    int epoch = check_epoch(L, 2);
    long tag = (long)luaL_checkinteger(L, 3);
    size_t count;
    gf_epoch_member *members = check_members(L, 4, &count, "graft.core.epoch_write");
    if (gf_epoch_dir_write(dir, epoch, tag, members, count) != GF_OK)
        return gf_lua_raise(L, "graft.core.epoch_write");
    return 0;
}

static int l_epoch_commit(lua_State *L) {
    if (gf_epoch_dir_commit(luaL_checkstring(L, 1), check_epoch(L, 2), (long)luaL_checkinteger(L, 3)) != GF_OK)
        return gf_lua_raise(L, "graft.core.epoch_commit");
    return 0;
}

static int l_epoch_discard(lua_State *L) {
    gf_epoch_dir_discard(luaL_checkstring(L, 1), check_epoch(L, 2), (long)luaL_checkinteger(L, 3));
    return 0;
}

static int l_checkpoint_last(lua_State *L) {
    char path[PATH_MAX];
    int found = 0;
    if (gf_epoch_dir_last(luaL_checkstring(L, 1), path, sizeof path, &found, NULL) != GF_OK)
        return gf_lua_raise(L, "graft.core.checkpoint_last");
    if (found)
        lua_pushstring(L, path);
    else
        lua_pushnil(L);
    return 1;
}

/* whether a progress line can redraw in place */
static int l_stdout_is_terminal(lua_State *L) {
    lua_pushboolean(L, isatty(STDOUT_FILENO));
    return 1;
}

/* The controlling terminal's size (what `stty size </dev/tty` prints), else that
 * of standard output when it is a terminal. */
static int l_terminal_size(lua_State *L) {
    struct winsize size = {0};
    int fd = open("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
    bool known = fd >= 0 && ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0;
    if (fd >= 0) close(fd);
    if (!known) known = ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0;
    if (!known) return 0;
    lua_pushinteger(L, size.ws_col);
    lua_pushinteger(L, size.ws_row);
    return 2;
}

static int l_process_id(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

void gf_lua_register_system(lua_State *L, int module) {
    static const luaL_Reg functions[] = {
        {"make_dirs", l_make_dirs},
        {"remove_tree", l_remove_tree},
        {"is_file", l_is_file},
        {"write_file", l_write_file},
        {"epoch_save", l_epoch_save},
        {"epoch_write", l_epoch_write},
        {"epoch_commit", l_epoch_commit},
        {"epoch_discard", l_epoch_discard},
        {"process_id", l_process_id},
        {"checkpoint_last", l_checkpoint_last},
        {"terminal_size", l_terminal_size},
        {"stdout_is_terminal", l_stdout_is_terminal},
        {NULL, NULL},
    };
    lua_pushvalue(L, module);
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
}
