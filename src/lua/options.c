#include "lua/options.h"

#include <limits.h>
#include <string.h>

#include <lauxlib.h>

void gf_lua_check_options(lua_State *L, int index, const char *operation,
                          const char *const *allowed) {
    if (lua_isnoneornil(L, index)) return;
    index = lua_absindex(L, index);
    luaL_checktype(L, index, LUA_TTABLE);
    for (lua_pushnil(L); lua_next(L, index); lua_pop(L, 1)) {
        bool known = false;
        if (lua_type(L, -2) == LUA_TSTRING)
            for (int i = 0; allowed[i] && !known; i++) known = strcmp(allowed[i], lua_tostring(L, -2)) == 0;
        if (!known) {
            lua_pushvalue(L, -2); /* luaL_tolstring on a copy leaves the key as it is */
            luaL_error(L, "%s: unknown option '%s'", operation, luaL_tolstring(L, -1, NULL));
        }
    }
}

/* Raises "<function>: option '<key>': <expected> expected, got <type>", naming the
 * binding function that was called, as luaL_argerror does. */
static const char *calling_function(lua_State *L) {
    lua_Debug ar;
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name) return ar.name;
    return "?";
}

static int option_type_error(lua_State *L, const char *key, const char *expected) {
    return luaL_error(L, "%s: option '%s': %s expected, got %s", calling_function(L), key,
                      expected, luaL_typename(L, -1));
}

/* Pushes the field (nil when the table itself is absent); returns whether it is set. */
static bool push_field(lua_State *L, int index, const char *key) {
    if (lua_isnoneornil(L, index)) {
        lua_pushnil(L);
        return false;
    }
    return lua_getfield(L, index, key) != LUA_TNIL;
}

lua_Integer gf_lua_opt_integer(lua_State *L, int index, const char *key, lua_Integer off) {
    lua_Integer v = off;
    if (push_field(L, index, key)) {
        int exact = 0;
        v = lua_tointegerx(L, -1, &exact);
        if (!exact) option_type_error(L, key, "integer");
    }
    lua_pop(L, 1);
    return v;
}

lua_Number gf_lua_opt_number(lua_State *L, int index, const char *key, lua_Number off) {
    lua_Number v = off;
    if (push_field(L, index, key)) {
        int is_number = 0;
        v = lua_tonumberx(L, -1, &is_number);
        if (!is_number) option_type_error(L, key, "number");
    }
    lua_pop(L, 1);
    return v;
}

bool gf_lua_opt_boolean(lua_State *L, int index, const char *key, bool off) {
    bool v = push_field(L, index, key) ? lua_toboolean(L, -1) : off;
    lua_pop(L, 1);
    return v;
}

lua_Integer gf_lua_need_integer(lua_State *L, int index, const char *key) {
    if (!push_field(L, index, key)) option_type_error(L, key, "integer");
    lua_pop(L, 1);
    return gf_lua_opt_integer(L, index, key, 0);
}

lua_Number gf_lua_need_number(lua_State *L, int index, const char *key) {
    if (!push_field(L, index, key)) option_type_error(L, key, "number");
    lua_pop(L, 1);
    return gf_lua_opt_number(L, index, key, 0);
}

/* v when it lies in [min, INT_MAX]; else the error, with the given value */
static int int_in_range(lua_State *L, const char *key, lua_Integer v, int min) {
    if (v >= min && v <= INT_MAX) return (int)v;
    return luaL_error(L, "%s: option '%s': an integer in [%d, %d] expected, got %I",
                      calling_function(L), key, min, INT_MAX, v);
}

int gf_lua_need_int(lua_State *L, int index, const char *key, int min) {
    return int_in_range(L, key, gf_lua_need_integer(L, index, key), min);
}

int gf_lua_opt_int(lua_State *L, int index, const char *key, int off, int min) {
    return int_in_range(L, key, gf_lua_opt_integer(L, index, key, off), min);
}

int gf_lua_check_int(lua_State *L, int arg) {
    lua_Integer v = luaL_checkinteger(L, arg);
    if (v < INT_MIN || v > INT_MAX)
        luaL_argerror(L, arg,
                      lua_pushfstring(L, "integer in [%d, %d] expected, got %I", INT_MIN, INT_MAX, v));
    return (int)v;
}
