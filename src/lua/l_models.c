/* The reference models in Lua (nn/models.h): graft.core.resnet_cifar,
 * mobilenetv2_cifar, vgg16_cifar and wrn_cifar, which lua/graft/models/ wraps. */
#include <limits.h>

#include "core/error.h"
#include "lua/binding.h"
#include "lua/options.h"
#include "nn/models.h"

/* The options table at 1, checked against `allowed` (the common options and the
 * model's own). Sizes and seed are required: their defaults are declared once, by
 * graft.models (lua/graft/models/); leaky_slope 0 is no leak, an absent init the
 * reference's rule. */
static gf_model_options read_options(lua_State *L, const char *operation,
                                     const char *const *allowed) {
    gf_lua_check_options(L, 1, operation, allowed);
    gf_model_options o = {
        .classes = gf_lua_need_int(L, 1, "classes", 1),
        .in_channels = gf_lua_need_int(L, 1, "in_channels", 1),
        .image_size = gf_lua_need_int(L, 1, "image_size", 1),
        .leaky_slope = (float)gf_lua_opt_number(L, 1, "leaky_slope", 0.0),
        .seed = (uint64_t)gf_lua_need_integer(L, 1, "seed"),
        .init = GF_INIT_KAIMING};
    lua_getfield(L, 1, "init");
    o.init_given = !lua_isnil(L, -1);
    if (o.init_given && gf_init_rule_parse(luaL_checkstring(L, -1), &o.init) != GF_OK)
        gf_lua_raise(L, operation);
    lua_pop(L, 1);
    return o;
}

static int push_model(lua_State *L, gf_net *net, const char *operation) {
    if (net == NULL) return gf_lua_raise(L, operation);
    gf_lua_push_net(L, net);
    return 1;
}

#define COMMON_OPTIONS "classes", "in_channels", "image_size", "seed", "init"

static int l_resnet_cifar(lua_State *L) {
    static const char *const allowed[] = {"depth", "leaky_slope", COMMON_OPTIONS, NULL};
    const char *operation = "graft.core.resnet_cifar";
    gf_model_options o = read_options(L, operation, allowed);
    int depth = gf_lua_need_int(L, 1, "depth", 1);
    return push_model(L, gf_model_resnet_cifar(depth, &o), operation);
}

static int l_mobilenetv2_cifar(lua_State *L) {
    static const char *const allowed[] = {COMMON_OPTIONS, NULL};
    const char *operation = "graft.core.mobilenetv2_cifar";
    gf_model_options o = read_options(L, operation, allowed);
    return push_model(L, gf_model_mobilenetv2_cifar(&o), operation);
}

static int l_vgg16_cifar(lua_State *L) {
    static const char *const allowed[] = {COMMON_OPTIONS, NULL};
    const char *operation = "graft.core.vgg16_cifar";
    gf_model_options o = read_options(L, operation, allowed);
    return push_model(L, gf_model_vgg16_cifar(&o), operation);
}

static int l_wrn_cifar(lua_State *L) {
    static const char *const allowed[] = {"depth", "widen", COMMON_OPTIONS, NULL};
    const char *operation = "graft.core.wrn_cifar";
    gf_model_options o = read_options(L, operation, allowed);
    int depth = gf_lua_need_int(L, 1, "depth", 1);
    int widen = gf_lua_need_int(L, 1, "widen", 1);
    return push_model(L, gf_model_wrn_cifar(depth, widen, &o), operation);
}

/* The rules of a model's size as nn/models.c writes them: nil when the value
 * builds the model, else what it must be (graft.models' option checks). */
static int push_expected(lua_State *L, const char *expected) {
    if (expected) lua_pushstring(L, expected);
    else lua_pushnil(L);
    return 1;
}

/* an integer argument as an int, values beyond int's range at its ends */
static int check_int(lua_State *L, int index) {
    lua_Integer v = luaL_checkinteger(L, index);
    return v > INT_MAX ? INT_MAX : v < INT_MIN ? INT_MIN : (int)v;
}

static int l_resnet_depth_expected(lua_State *L) {
    return push_expected(L, gf_model_resnet_depth_expected(check_int(L, 1)));
}

static int l_wrn_depth_expected(lua_State *L) {
    return push_expected(L, gf_model_wrn_depth_expected(check_int(L, 1)));
}

static int l_vgg16_size_expected(lua_State *L) {
    return push_expected(L, gf_model_vgg16_size_expected(check_int(L, 1)));
}

void gf_lua_register_models(lua_State *L, int module) {
    static const luaL_Reg functions[] = {{"resnet_cifar", l_resnet_cifar},
                                         {"mobilenetv2_cifar", l_mobilenetv2_cifar},
                                         {"vgg16_cifar", l_vgg16_cifar},
                                         {"wrn_cifar", l_wrn_cifar},
                                         {"resnet_depth_expected", l_resnet_depth_expected},
                                         {"wrn_depth_expected", l_wrn_depth_expected},
                                         {"vgg16_size_expected", l_vgg16_size_expected},
                                         {NULL, NULL}};
    lua_pushvalue(L, module);
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
}
