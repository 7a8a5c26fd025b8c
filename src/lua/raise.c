/* The core's error (core/error.h) as a Lua error, for every binding file. Apart
 * from module.c, which calls each binding file's register function. */
#include <lauxlib.h>
#include <lua.h>

#include "core/error.h"
#include "lua/binding.h"

int gf_lua_raise(lua_State *L, const char *operation) {
    /* Copy the message to the Lua stack before clearing the C-side buffer; the
     * position of the calling Lua code comes first, as luaL_error does. */
    luaL_where(L, 1);
    lua_pushfstring(L, "%s: %s", operation, gf_error_message());
    lua_concat(L, 2);
    gf_error_clear();
    return lua_error(L);
}
