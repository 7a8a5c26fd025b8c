/* The reference models in Lua (nn/models.h): graft.core.resnet_cifar and
 * graft.core.mobilenetv2_cifar, which lua/graft/models/ wraps. */
#include "core/error.h"
#include "lua/binding.h"
#include "lua/options.h"
#include "nn/models.h"

static void read_model_options(lua_State *L, gf_model_options *o, const char *fname) {
    o->classes = (int)gf_lua_opt_integer(L, 1, "classes", 10);
    o->in_channels = (int)gf_lua_opt_integer(L, 1, "in_channels", 3);
    o->image_size = (int)gf_lua_opt_integer(L, 1, "image_size", 32);
    o->leaky_slope = (float)gf_lua_opt_number(L, 1, "leaky_slope", 0.0);
    o->seed = (uint64_t)gf_lua_opt_integer(L, 1, "seed", 0);
    lua_getfield(L, 1, "init");
    o->init_given = !lua_isnil(L, -1);
    o->init = GF_INIT_KAIMING;
    if (o->init_given && gf_init_rule_parse(luaL_checkstring(L, -1), &o->init) != GF_OK)
        gf_lua_raise(L, fname);
    lua_pop(L, 1);
}

static int l_resnet_cifar(lua_State *L) {
    static const char *const allowed[] = {"depth", "classes", "in_channels", "image_size",
                                          "leaky_slope", "seed", "init", NULL};
    gf_lua_check_options(L, 1, "graft.core.resnet_cifar", allowed);
    gf_model_options o;
    read_model_options(L, &o, "graft.core.resnet_cifar");
    int depth = (int)gf_lua_opt_integer(L, 1, "depth", 20);
    gf_net *net = gf_model_resnet_cifar(depth, &o);
    if (net == NULL) return gf_lua_raise(L, "graft.core.resnet_cifar");
    gf_lua_push_net(L, net);
    return 1;
}

static int l_mobilenetv2_cifar(lua_State *L) {
    static const char *const allowed[] = {"classes", "in_channels", "image_size", "seed", "init",
                                          NULL};
    gf_lua_check_options(L, 1, "graft.core.mobilenetv2_cifar", allowed);
    gf_model_options o;
    read_model_options(L, &o, "graft.core.mobilenetv2_cifar");
    gf_net *net = gf_model_mobilenetv2_cifar(&o);
    if (net == NULL) return gf_lua_raise(L, "graft.core.mobilenetv2_cifar");
    gf_lua_push_net(L, net);
    return 1;
}

void gf_lua_register_models(lua_State *L, int module) {
    static const luaL_Reg functions[] = {{"resnet_cifar", l_resnet_cifar},
                                         {"mobilenetv2_cifar", l_mobilenetv2_cifar},
                                         {NULL, NULL}};
    lua_pushvalue(L, module);
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
}
