/* Shared pieces of the Lua binding (the C module graft.core). Each C area has one
 * binding file (l_tensor.c, l_net.c, l_data.c, ...) with a register function that
 * adds its functions to the module table at stack index `module`. */
#ifndef GRAFT_LUA_BINDING_H
#define GRAFT_LUA_BINDING_H

#include <lauxlib.h>
#include <lua.h>

#include "core/tensor.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "io/safetensors.h"
#include "nn/network.h"

#define GF_LUA_TENSOR "graft.Tensor"
#define GF_LUA_NET "graft.Net"
#define GF_LUA_DATASET "graft.Dataset"
#define GF_LUA_LOADER "graft.Loader"
#define GF_LUA_SGD "graft.SGD"
#define GF_LUA_SCHEDULE "graft.Schedule"

/* Raises a Lua error carrying the C core's current message (core/error.h),
 * prefixed with `operation` (e.g. "net:forward"). Never returns. */
int gf_lua_raise(lua_State *L, const char *operation);

/* Tensors: full userdata owning a gf_tensor*. A view keeps its owner (the
 * value at `owner_index`, e.g. the network) alive through a user value. */
gf_tensor *gf_lua_check_tensor(lua_State *L, int index);
gf_tensor *gf_lua_test_tensor(lua_State *L, int index); /* NULL if not a tensor */
/* Takes ownership of t; owner_index 0 means no owner. Raises on t == NULL. */
void gf_lua_push_tensor(lua_State *L, gf_tensor *t, int owner_index);
/* A fresh owned tensor of the given shape, pushed; returns it. */
gf_tensor *gf_lua_new_tensor(lua_State *L, int ndim, const int64_t *shape);
/* Reads a shape from a Lua table of positive integers; raises naming `what`. */
int gf_lua_check_shape(lua_State *L, int index, int64_t *shape, const char *what);

/* Networks: full userdata holding a gf_net*. */
gf_net *gf_lua_check_net(lua_State *L, int index);
/* Takes ownership of net (freed on collection); raises on net == NULL. */
void gf_lua_push_net(lua_State *L, gf_net *net);

/* Reads an optional {key = string or number} table at `index` into meta entries
 * (l_safetensors.c). The strings live in a table pushed on the stack, which the
 * caller keeps there until the entries are no longer needed. */
size_t gf_lua_read_metadata(lua_State *L, int index, gf_st_meta **meta, const char *operation);

/* Data sets and loaders (l_data.c): userdata holding a gf_dataset* / gf_loader*. */
gf_dataset *gf_lua_check_dataset(lua_State *L, int index);
gf_loader *gf_lua_check_loader(lua_State *L, int index);

/* Register functions of each area (module table at `module`). */
void gf_lua_register_tensor(lua_State *L, int module);
void gf_lua_register_safetensors(lua_State *L, int module);
void gf_lua_register_net(lua_State *L, int module);
void gf_lua_register_models(lua_State *L, int module);
void gf_lua_register_loss(lua_State *L, int module);
void gf_lua_register_data(lua_State *L, int module);
void gf_lua_register_train(lua_State *L, int module);
void gf_lua_register_graft(lua_State *L, int module);
/* child processes with pipes both ways (l_process.c) */
void gf_lua_register_process(lua_State *L, int module);
/* files, folders, checkpoint folders and the terminal, without a shell (l_system.c) */
void gf_lua_register_system(lua_State *L, int module);
/* the processes of an MPI run (l_mpi.c) */
void gf_lua_register_mpi(lua_State *L, int module);

#endif
