#include "cli/statement.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

bool gf_statement_incomplete(lua_State *L, int status) {
    static const char mark[] = "<eof>";
    size_t length;
    const char *message = lua_tolstring(L, -1, &length);
    return status == LUA_ERRSYNTAX && message && length >= sizeof mark - 1 &&
           strcmp(message + length - (sizeof mark - 1), mark) == 0;
}

/* "return <code>;" compiled, or its error, on the stack. */
static int load_expression(lua_State *L, const char *code, const char *chunk_name) {
    lua_pushfstring(L, "return %s;", code);
    int status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), chunk_name);
    lua_remove(L, -2);
    return status;
}

int gf_statement_compile(lua_State *L, const char *code, const char *chunk_name) {
    int status = load_expression(L, code, chunk_name);
    if (status == LUA_OK) return status;
    lua_pop(L, 1);
    return luaL_loadbuffer(L, code, strlen(code), chunk_name);
}

/* A line that cannot continue the expression before it: one starting with a name
 * (not the operators "and", "or") or a number. One starting with "(", "{", a
 * string or an operator could (`f\n(x)` is a call). */
static bool starts_anew(const char *line) {
    const char *s = line + strspn(line, " \t");
    if (!(isalnum((unsigned char)s[0]) || s[0] == '_')) return false;
    size_t word = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    return !((word == 3 && strncmp(s, "and", 3) == 0) || (word == 2 && strncmp(s, "or", 2) == 0));
}

/* Lines from `at` on form an expression and the lines before it a chunk of their
 * own: then "<head>\nreturn <tail>;" is compiled onto the stack. */
static bool load_with_last_expression(lua_State *L, const char *code, size_t at,
                                      const char *chunk_name) {
    if (!starts_anew(code + at)) return false;
    if (load_expression(L, code + at, chunk_name) != LUA_OK) {
        lua_pop(L, 1);
        return false;
    }
    lua_pop(L, 1);
    int status = luaL_loadbuffer(L, code, at - 1, chunk_name);
    lua_pop(L, 1);
    if (status != LUA_OK) return false;
    lua_pushfstring(L, "%s\nreturn %s;", lua_pushlstring(L, code, at - 1), code + at);
    lua_remove(L, -2);
    status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), chunk_name);
    lua_remove(L, -2);
    if (status != LUA_OK) lua_pop(L, 1);
    return status == LUA_OK;
}

int gf_statement_compile_cell(lua_State *L, const char *code, const char *chunk_name) {
    int status = load_expression(L, code, chunk_name);
    if (status == LUA_OK) return status;
    lua_pop(L, 1);
    for (size_t at = strlen(code); at > 0; at--) {
        if (code[at - 1] == '\n' && load_with_last_expression(L, code, at, chunk_name))
            return LUA_OK;
    }
    return luaL_loadbuffer(L, code, strlen(code), chunk_name);
}

char *gf_statement_expand(const char *statement) {
    const char *s = statement + strspn(statement, " \t");
    if (s[0] == '?') {
        const char *name = s + 1 + strspn(s + 1, " \t");
        size_t length = strcspn(name, " \t\n");
        size_t size = length + sizeof "help(\"\")";
        char *code = malloc(size);
        if (code == NULL) return NULL;
        if (length == 0) snprintf(code, size, "help()");
        else snprintf(code, size, "help(\"%.*s\")", (int)length, name);
        return code;
    }
    if (s[0] == '=') {
        size_t size = strlen(s) + sizeof "return ";
        char *code = malloc(size);
        if (code) snprintf(code, size, "return %s", s + 1);
        return code;
    }
    return strdup(statement);
}
