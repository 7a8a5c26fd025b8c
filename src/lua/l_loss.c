/* The loss in Lua (nn/loss.h): graft.cross_entropy. */
#include "core/error.h"
#include "lua/binding.h"
#include "nn/loss.h"

/* graft.cross_entropy(logits [N, C], labels {0-based class per sample}) -> loss, grad */
static int l_cross_entropy(lua_State *L) {
    gf_tensor *logits = gf_lua_check_tensor(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    char shape[128];
    if (logits->ndim != 2)
        return luaL_error(L, "graft.cross_entropy: logits must be [N, classes], got %s",
                          gf_shape_format(shape, sizeof shape, logits->ndim, logits->shape));
    int batch = (int)logits->shape[0], classes = (int)logits->shape[1];
    if (luaL_len(L, 2) != batch)
        return luaL_error(L, "graft.cross_entropy: %d labels for logits %s", (int)luaL_len(L, 2),
                          gf_shape_format(shape, sizeof shape, logits->ndim, logits->shape));
    int32_t *labels = lua_newuserdatauv(L, (size_t)batch * sizeof *labels, 0);
    for (int i = 0; i < batch; i++) {
        lua_geti(L, 2, i + 1);
        int ok = 0;
        lua_Integer label = lua_tointegerx(L, -1, &ok);
        if (!ok) return luaL_error(L, "graft.cross_entropy: label %d is not an integer", i + 1);
        labels[i] = (int32_t)label;
        lua_pop(L, 1);
    }
    gf_tensor *grad = gf_lua_new_tensor(L, 2, logits->shape);
    float loss = 0;
    if (gf_cross_entropy(&loss, grad->data, logits->data, labels, batch, classes) != GF_OK)
        return gf_lua_raise(L, "graft.cross_entropy");
    lua_pushnumber(L, loss);
    lua_insert(L, -2);
    return 2;
}

void gf_lua_register_loss(lua_State *L, int module) {
    lua_pushcfunction(L, l_cross_entropy);
    lua_setfield(L, module, "cross_entropy");
}
