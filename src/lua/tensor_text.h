/* The printed form of a tensor: one line for a vector, a short matrix (NumPy's
 * elision) for two or more dimensions. */
#ifndef GRAFT_LUA_TENSOR_TEXT_H
#define GRAFT_LUA_TENSOR_TEXT_H

#include <lauxlib.h>
#include <lua.h>

#include "core/tensor.h"

/* Pushes "<type_name> [shape] ..." for t. */
void gf_lua_push_tensor_text(lua_State *L, const gf_tensor *t, const char *type_name);

#endif
