#include "cli/run.h"

#include <stdio.h>

#include <lauxlib.h>

#include "cli/interrupt.h"

/* Adds the traceback of the user's own code to the message (graft.options.
 * user_traceback: graft's Lua files left out), or Lua's whole traceback when graft's
 * Lua files cannot be loaded; describes a non-string error value. */
static int traceback(lua_State *L) {
    const char *message = lua_tostring(L, 1);
    if (message == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    int top = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "graft.options");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
        lua_getfield(L, -1, "user_traceback");
        lua_pushstring(L, message);
        if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) return 1;
    }
    lua_settop(L, top);
    luaL_traceback(L, L, message, 1);
    return 1;
}

int gf_cli_call(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    gf_interrupt_begin_lua();
    int status = lua_pcall(L, nargs, nresults, base);
    gf_interrupt_end_lua();
    lua_remove(L, base);
    return status;
}

int gf_cli_report(lua_State *L, int status) {
    if (status != LUA_OK) {
        const char *message = lua_tostring(L, -1);
        fprintf(stderr, "graft: %s\n", message ? message : "(error without a message)");
        fflush(stderr);
        lua_pop(L, 1);
    }
    return status;
}
