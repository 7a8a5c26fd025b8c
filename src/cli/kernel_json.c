#include "cli/kernel_json.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

enum { MAX_DEPTH = 32 };

typedef struct converter {
    lua_State *L;
    char *error;
    size_t size;
    char path[256]; /* where the conversion is, for the error message */
} converter;

static json_t *convert(converter *c, int index, int depth);

static json_t *fail(converter *c, const char *what) {
    snprintf(c->error, c->size, "%s%s%s", c->path, c->path[0] ? ": " : "", what);
    return NULL;
}

/* Appends ".key" or "[i]" to the path while a child is converted. */
static size_t path_push(converter *c, const char *key, lua_Integer i) {
    size_t length = strlen(c->path);
    if (key) snprintf(c->path + length, sizeof c->path - length, "%s%s", length ? "." : "", key);
    else snprintf(c->path + length, sizeof c->path - length, "[%lld]", (long long)i);
    return length;
}

static bool marked_array(lua_State *L, int index) {
    if (!lua_getmetatable(L, index)) return false;
    lua_getfield(L, -1, "__jsontype");
    bool array = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "array") == 0;
    lua_pop(L, 2);
    return array;
}

/* n when the table's keys are exactly 1..n (n > 0), else 0. */
static lua_Integer sequence_length(lua_State *L, int index) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, index), count = 0;
    lua_pushnil(L);
    while (lua_next(L, index)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
        lua_Integer k = lua_tointeger(L, -1);
        if (k < 1 || k > n) {
            lua_pop(L, 1);
            return 0;
        }
        count++;
    }
    return count == n ? n : 0;
}

static json_t *convert_array(converter *c, int index, lua_Integer n, int depth) {
    json_t *array = json_array();
    if (array == NULL) return fail(c, "out of memory");
    for (lua_Integer i = 1; i <= n; i++) {
        size_t saved = path_push(c, NULL, i);
        lua_rawgeti(c->L, index, i);
        json_t *item = convert(c, lua_gettop(c->L), depth + 1);
        lua_pop(c->L, 1);
        c->path[saved] = '\0';
        if (item == NULL || json_array_append_new(array, item) != 0) {
            json_decref(array);
            return item ? fail(c, "out of memory") : NULL;
        }
    }
    return array;
}

static json_t *convert_object(converter *c, int index, int depth) {
    json_t *object = json_object();
    if (object == NULL) return fail(c, "out of memory");
    lua_pushnil(c->L);
    while (lua_next(c->L, index)) {
        if (lua_type(c->L, -2) != LUA_TSTRING) {
            lua_pop(c->L, 2);
            json_decref(object);
            return fail(c, "a table with keys that are not strings (nor a sequence 1..n)");
        }
        const char *key = lua_tostring(c->L, -2);
        size_t saved = path_push(c, key, 0);
        json_t *item = convert(c, lua_gettop(c->L), depth + 1);
        lua_pop(c->L, 1);
        if (item == NULL) {
            lua_pop(c->L, 1);
            json_decref(object);
            return NULL;
        }
        c->path[saved] = '\0';
        if (json_object_set_new(object, key, item) != 0) {
            lua_pop(c->L, 1);
            json_decref(object);
            return fail(c, "a key that is not UTF-8");
        }
    }
    return object;
}

static json_t *convert(converter *c, int index, int depth) {
    lua_State *L = c->L;
    if (depth > MAX_DEPTH) return fail(c, "tables nested too deep (a cycle?)");
    switch (lua_type(L, index)) {
    case LUA_TSTRING: {
        size_t length;
        const char *s = lua_tolstring(L, index, &length);
        json_t *string = json_stringn(s, length);
        return string ? string : fail(c, "a string that is not UTF-8");
    }
    case LUA_TNUMBER:
        if (lua_isinteger(L, index)) return json_integer((json_int_t)lua_tointeger(L, index));
        if (!isfinite(lua_tonumber(L, index))) return fail(c, "NaN or infinity has no JSON form");
        return json_real(lua_tonumber(L, index));
    case LUA_TBOOLEAN:
        return lua_toboolean(L, index) ? json_true() : json_false();
    case LUA_TNIL:
        return json_null();
    case LUA_TTABLE: {
        luaL_checkstack(L, 4, "converting a table to JSON");
        if (marked_array(L, index)) return convert_array(c, index, (lua_Integer)lua_rawlen(L, index), depth);
        lua_Integer n = sequence_length(L, index);
        return n > 0 ? convert_array(c, index, n, depth) : convert_object(c, index, depth);
    }
    default: {
        char what[64];
        snprintf(what, sizeof what, "a %s value has no JSON form", luaL_typename(L, index));
        return fail(c, what);
    }
    }
}

json_t *gf_kernel_json_from_lua(lua_State *L, int index, char *error, size_t size) {
    converter c = {.L = L, .error = error, .size = size, .path = ""};
    return convert(&c, lua_absindex(L, index), 0);
}
