#include "cli/run.h"

#include <stdio.h>

#include <lauxlib.h>

#include "cli/interrupt.h"

/* Adds the traceback to the message (or describes a non-string error value). */
static int traceback(lua_State *L) {
    const char *message = lua_tostring(L, 1);
    if (message == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
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
