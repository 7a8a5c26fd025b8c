/* Option tables of the binding's functions (`graft.core.sgd{momentum = 0.9}`):
 * unknown keys are refused by name. The binding declares no defaults of its own:
 * a value with a chosen default (a depth, a batch size, a learning rate) is
 * declared once, in the Lua option layer, and the graft.core function requires it
 * (gf_lua_need_*); only a value whose absence means "off" (0, false) has a
 * fallback (gf_lua_opt_*). */
#ifndef GRAFT_LUA_OPTIONS_H
#define GRAFT_LUA_OPTIONS_H

#include <stdbool.h>

#include <lua.h>

/* Raises "<operation>: unknown option '<key>'" for a key not in `allowed`
 * (NULL-terminated). A nil or absent table has no options. */
void gf_lua_check_options(lua_State *L, int index, const char *operation,
                          const char *const *allowed);
/* The field `key` of the table at `index` (which may be nil or absent); `off`
 * when the field is absent. */
lua_Integer gf_lua_opt_integer(lua_State *L, int index, const char *key, lua_Integer off);
lua_Number gf_lua_opt_number(lua_State *L, int index, const char *key, lua_Number off);
bool gf_lua_opt_boolean(lua_State *L, int index, const char *key, bool off);
/* The field `key`, which must be given: "<function>: option '<key>': integer
 * expected, got nil" when it is not. */
lua_Integer gf_lua_need_integer(lua_State *L, int index, const char *key);
lua_Number gf_lua_need_number(lua_State *L, int index, const char *key);
/* The same for values the C core holds in an int: raises "<function>: option
 * '<key>': an integer in [<min>, 2147483647] expected, got <value>" rather than
 * letting a cast wrap a value such as 2^32 + 20 to 20. */
int gf_lua_need_int(lua_State *L, int index, const char *key, int min);
int gf_lua_opt_int(lua_State *L, int index, const char *key, int off, int min);
/* A positional argument the C core holds in an int (a node index, a size): the
 * argument error "integer in [-2147483648, 2147483647] expected" beyond its range. */
int gf_lua_check_int(lua_State *L, int arg);

#endif
