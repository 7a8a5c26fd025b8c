/* libFuzzer harness: the input is a notebook file. One Lua state with the graft
 * modules (graft.core linked in, the Lua files from the source tree) calls the
 * check in fuzz_notebook.lua on each input; an error that escapes the check is a
 * broken invariant, and aborts.
 *
 * The Lua interpreter is not instrumented, so libFuzzer would see no coverage of
 * the Lua code: a line hook counts each step from one line of a Lua file to the
 * next in libFuzzer's extra counters, as its own instrumentation counts edges
 * between basic blocks. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int luaopen_graft_core(lua_State *L);

static lua_State *state;
static int check_ref;

enum { EDGE_COUNTERS = 1 << 16 };
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t lua_edges[EDGE_COUNTERS];
static uintptr_t previous_line;

static void count_line(lua_State *L, lua_Debug *ar) {
    /* lines of Lua files (graft's modules and dkjson), not of the cells */
    if (!lua_getinfo(L, "S", ar) || ar->source[0] != '@') return;
    /* the source string of a loaded function stays where it is */
    uintptr_t line = (uintptr_t)ar->source * 2654435761u + (uintptr_t)ar->currentline;
    lua_edges[(line ^ previous_line >> 1) % EDGE_COUNTERS]++;
    previous_line = line;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    state = luaL_newstate();
    if (!state) abort();
    luaL_openlibs(state);
    luaL_getsubtable(state, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(state, luaopen_graft_core);
    lua_setfield(state, -2, "graft.core");
    lua_pop(state, 1);
    lua_getglobal(state, "package");
    lua_getfield(state, -1, "path");
    lua_pushfstring(state, "%s/?.lua;%s/?/init.lua;%s", GRAFT_SOURCE_LUA_DIR,
                    GRAFT_SOURCE_LUA_DIR, lua_tostring(state, -1));
    lua_setfield(state, -3, "path");
    lua_pop(state, 2);
    if (luaL_dofile(state, FUZZ_NOTEBOOK_CHECK) != LUA_OK || !lua_isfunction(state, -1)) {
        fprintf(stderr, "fuzz_notebook: %s\n", lua_tostring(state, -1));
        abort();
    }
    check_ref = luaL_ref(state, LUA_REGISTRYINDEX);
    lua_sethook(state, count_line, LUA_MASKLINE, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lua_rawgeti(state, LUA_REGISTRYINDEX, check_ref);
    lua_pushlstring(state, (const char *)data, size);
    if (lua_pcall(state, 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "fuzz_notebook: %s\n", lua_tostring(state, -1));
        abort();
    }
    return 0;
}
