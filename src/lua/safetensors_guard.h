/* A safetensors file held open while Lua values are built from it: the guard is a
 * userdata on the Lua stack that closes the file when collected, so a Lua error in
 * between leaks nothing. Set *guard = NULL after closing the file yourself. */
#ifndef GRAFT_LUA_SAFETENSORS_GUARD_H
#define GRAFT_LUA_SAFETENSORS_GUARD_H

#include <lua.h>

#include "io/safetensors.h"

gf_st_file **gf_lua_guard_file(lua_State *L, gf_st_file *f);

#endif
