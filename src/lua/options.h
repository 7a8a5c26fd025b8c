/* Option tables of the binding's functions (`graft.core.sgd{momentum = 0.9}`):
 * unknown keys are refused by name, absent keys take their fallback. */
#ifndef GRAFT_LUA_OPTIONS_H
#define GRAFT_LUA_OPTIONS_H

#include <stdbool.h>

#include <lua.h>

/* Raises "<operation>: unknown option '<key>'" for a key not in `allowed`
 * (NULL-terminated). A nil or absent table has no options. */
void gf_lua_check_options(lua_State *L, int index, const char *operation,
                          const char *const *allowed);
/* The field `key` of the table at `index` (which may be nil or absent). */
lua_Integer gf_lua_opt_integer(lua_State *L, int index, const char *key, lua_Integer fallback);
lua_Number gf_lua_opt_number(lua_State *L, int index, const char *key, lua_Number fallback);
bool gf_lua_opt_boolean(lua_State *L, int index, const char *key, bool fallback);

#endif
