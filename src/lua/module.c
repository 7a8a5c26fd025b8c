/* The C module graft.core: one table filled by each area's register function. */
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
    lua_settop(L, module);
    return 1;
}
