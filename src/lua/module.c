/* The C module graft.core: one table filled by each area's register function. */
#include <lua.h>

#include "lua/binding.h"

int luaopen_graft_core(lua_State *L);

int luaopen_graft_core(lua_State *L) {
    lua_newtable(L);
    int module = lua_gettop(L);
    gf_lua_register_tensor(L, module);
    gf_lua_register_safetensors(L, module);
    gf_lua_register_net(L, module);
    gf_lua_register_models(L, module);
    gf_lua_register_loss(L, module);
    gf_lua_register_data(L, module);
    gf_lua_register_train(L, module);
    gf_lua_register_graft(L, module);
    gf_lua_register_process(L, module);
    gf_lua_register_system(L, module);
    gf_lua_register_mpi(L, module);
    lua_settop(L, module);
    return 1;
}
