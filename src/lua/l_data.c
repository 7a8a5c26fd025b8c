/* Data sets and batch loaders in Lua (graft.core.data_idx, data_cifar, loader).
 * Labels are 0-based class numbers, as in the files; Lua-side indices are 1-based. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/cifar.h"
#include "data/idx.h"
#include "data/loader.h"
#include "lua/binding.h"
#include "lua/options.h"

typedef struct lua_dataset {
    gf_dataset *ds; /* NULL once closed */
    int loaders;    /* open loaders reading it: it cannot close before them */
} lua_dataset;

typedef struct lua_loader {
    gf_loader *loader;    /* NULL once closed */
    lua_dataset *dataset; /* kept alive through user value 1 */
} lua_loader;

gf_dataset *gf_lua_check_dataset(lua_State *L, int index) {
    lua_dataset *u = luaL_checkudata(L, index, GF_LUA_DATASET);
    if (!u->ds) luaL_error(L, "dataset was closed");
    return u->ds;
}

gf_loader *gf_lua_check_loader(lua_State *L, int index) {
    lua_loader *u = luaL_checkudata(L, index, GF_LUA_LOADER);
    if (!u->loader) luaL_error(L, "loader was closed");
    return u->loader;
}

static void push_dataset(lua_State *L, gf_dataset *ds, const char *operation) {
    if (!ds) gf_lua_raise(L, operation);
    lua_dataset *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->ds = ds;
    u->loaders = 0;
    luaL_setmetatable(L, GF_LUA_DATASET);
}

/* graft.core.data_idx(images_path, labels_path, classes [, limit]) */
static int l_data_idx(lua_State *L) {
    const char *images = luaL_checkstring(L, 1), *labels = luaL_checkstring(L, 2);
    int classes = gf_lua_check_int(L, 3);
    lua_Integer limit = luaL_optinteger(L, 4, 0);
    push_dataset(L, gf_idx_load(images, labels, classes, limit), "graft.core.data_idx");
    return 1;
}

/* graft.core.data_cifar({paths...}, 'cifar10' | 'fine' | 'coarse' [, limit]) */
static int l_data_cifar(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const kinds[] = {"cifar10", "fine", "coarse", NULL};
    static const gf_cifar_labels labels[] = {GF_CIFAR10, GF_CIFAR100_FINE, GF_CIFAR100_COARSE};
    int kind = luaL_checkoption(L, 2, NULL, kinds);
    lua_Integer limit = luaL_optinteger(L, 3, 0);
    const char *paths[16];
    int n = (int)luaL_len(L, 1);
    if (n < 1 || n > 16) return luaL_error(L, "graft.core.data_cifar: 1 to 16 files, got %d", n);
    for (int i = 0; i < n; i++) {
        lua_geti(L, 1, i + 1);
        paths[i] = luaL_checkstring(L, -1); /* kept alive by the table */
        lua_pop(L, 1);
    }
    push_dataset(L, gf_cifar_load(paths, n, labels[kind], limit), "graft.core.data_cifar");
    return 1;
}

static int ds_size(lua_State *L) {
    lua_pushinteger(L, gf_lua_check_dataset(L, 1)->count);
    return 1;
}

static int ds_shape(lua_State *L) {
    gf_dataset *ds = gf_lua_check_dataset(L, 1);
    lua_createtable(L, 3, 0);
    int sizes[3] = {ds->channels, ds->height, ds->width};
    for (int i = 0; i < 3; i++) {
        lua_pushinteger(L, sizes[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int ds_classes(lua_State *L) {
    lua_pushinteger(L, gf_lua_check_dataset(L, 1)->classes);
    return 1;
}

static void push_floats(lua_State *L, const float *values, int n) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushnumber(L, values[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

static void read_floats(lua_State *L, int index, float *values, int n, const char *what) {
    luaL_checktype(L, index, LUA_TTABLE);
    if (luaL_len(L, index) != n)
        luaL_error(L, "dataset:set_normalisation: %s needs %d values (one per channel), got %d",
                   what, n, (int)luaL_len(L, index));
    for (int i = 0; i < n; i++) {
        lua_geti(L, index, i + 1);
        values[i] = (float)luaL_checknumber(L, -1);
        lua_pop(L, 1);
    }
}

/* ds:normalisation() -> mean, std (tables, one value per channel) */
static int ds_normalisation(lua_State *L) {
    gf_dataset *ds = gf_lua_check_dataset(L, 1);
    push_floats(L, ds->mean, ds->channels);
    push_floats(L, ds->std, ds->channels);
    return 2;
}

static int ds_set_normalisation(lua_State *L) {
    gf_dataset *ds = gf_lua_check_dataset(L, 1);
    float mean[GF_DATASET_MAX_CHANNELS], std[GF_DATASET_MAX_CHANNELS];
    read_floats(L, 2, mean, ds->channels, "mean");
    read_floats(L, 3, std, ds->channels, "std");
    for (int c = 0; c < ds->channels; c++) {
        if (!(std[c] > 0))
            return luaL_error(L, "dataset:set_normalisation: std of channel %d is %f (must be > 0)",
                              c + 1, (double)std[c]);
        ds->mean[c] = mean[c];
        ds->std[c] = std[c];
    }
    return 0;
}

/* ds:compute_stats() -> mean, std measured over the images (pixels scaled to [0, 1]) */
static int ds_compute_stats(lua_State *L) {
    gf_dataset *ds = gf_lua_check_dataset(L, 1);
    float mean[GF_DATASET_MAX_CHANNELS], std[GF_DATASET_MAX_CHANNELS];
    gf_dataset_compute_stats(ds, mean, std);
    push_floats(L, mean, ds->channels);
    push_floats(L, std, ds->channels);
    return 2;
}

static int64_t check_index(lua_State *L, const gf_dataset *ds, int arg) {
    lua_Integer i = luaL_checkinteger(L, arg);
    if (i < 1 || i > ds->count)
        luaL_error(L, "dataset: image %d does not exist (1..%d)", (int)i, (int)ds->count);
    return i - 1;
}

/* ds:image(i) -> tensor [C, H, W] of raw pixels scaled to [0, 1], label */
static int ds_image(lua_State *L) {
    gf_dataset *ds = gf_lua_check_dataset(L, 1);
    int64_t i = check_index(L, ds, 2);
    int64_t shape[3] = {ds->channels, ds->height, ds->width};
    gf_tensor *t = gf_lua_new_tensor(L, 3, shape);
    const uint8_t *src = ds->images + i * gf_dataset_image_bytes(ds);
    for (int64_t k = 0; k < t->numel; k++) t->data[k] = (float)src[k] / 255.0f;
    lua_pushinteger(L, ds->labels[i]);
    return 2;
}

/* ds:label(i) -> class number (0-based) */
static int ds_label(lua_State *L) {
    gf_dataset *ds = gf_lua_check_dataset(L, 1);
    lua_pushinteger(L, ds->labels[check_index(L, ds, 2)]);
    return 1;
}

/* ds:keep_first(n): drops every image after the first n */
static int ds_keep_first(lua_State *L) {
    gf_dataset *ds = gf_lua_check_dataset(L, 1);
    if (gf_dataset_keep_first(ds, luaL_checkinteger(L, 2)) != GF_OK)
        return gf_lua_raise(L, "dataset:keep_first");
    return 0;
}

static int ds_close(lua_State *L) {
    lua_dataset *u = luaL_checkudata(L, 1, GF_LUA_DATASET);
    if (u->loaders > 0)
        return luaL_error(L, "dataset:close: %d loader(s) still read this dataset; close them "
                             "first", u->loaders);
    gf_dataset_free(u->ds);
    u->ds = NULL;
    return 0;
}

static int ds_tostring(lua_State *L) {
    lua_dataset *u = luaL_checkudata(L, 1, GF_LUA_DATASET);
    if (!u->ds) {
        lua_pushstring(L, "graft dataset (closed)");
        return 1;
    }
    lua_pushfstring(L, "graft dataset: %d images of %dx%dx%d, %d classes", (int)u->ds->count,
                    u->ds->channels, u->ds->height, u->ds->width, u->ds->classes);
    return 1;
}

/* ---- loaders ---- */

/* graft.core.loader(dataset, {batch=, shuffle=false, pad=0, flip=false, seed=0,
 * stream=0 (data order), augment_stream=stream (crops and flips)}); batch is
 * required (graft.train declares its default) */
static int l_loader(lua_State *L) {
    gf_dataset *ds = gf_lua_check_dataset(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    static const char *const allowed[] = {"batch", "shuffle", "pad", "flip", "seed", "stream",
                                          "augment_stream", NULL};
    gf_lua_check_options(L, 2, "graft.core.loader", allowed);
    gf_loader_options o = {
        .batch = gf_lua_need_int(L, 2, "batch", 1),
        .shuffle = gf_lua_opt_boolean(L, 2, "shuffle", false),
        .pad = gf_lua_opt_int(L, 2, "pad", 0, 0),
        .flip = gf_lua_opt_boolean(L, 2, "flip", false),
        .seed = (uint64_t)gf_lua_opt_integer(L, 2, "seed", 0),
        .order_stream = (uint64_t)gf_lua_opt_integer(L, 2, "stream", 0),
    };
    o.augment_stream = (uint64_t)gf_lua_opt_integer(L, 2, "augment_stream", (lua_Integer)o.order_stream);
    lua_loader *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->loader = NULL;
    u->dataset = NULL;
    luaL_setmetatable(L, GF_LUA_LOADER);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1); /* the dataset lives as long as its loader */
    u->loader = gf_loader_create(ds, &o);
    if (!u->loader) return gf_lua_raise(L, "graft.core.loader");
    u->dataset = luaL_checkudata(L, 1, GF_LUA_DATASET);
    u->dataset->loaders++;
    return 1;
}

static int ld_batches(lua_State *L) {
    lua_pushinteger(L, gf_loader_batches_per_epoch(gf_lua_check_loader(L, 1)));
    return 1;
}

static int ld_start_epoch(lua_State *L) {
    gf_loader_start_epoch(gf_lua_check_loader(L, 1));
    return 0;
}

/* loader:next() -> images (a tensor [n, C, H, W], a copy), labels (table of 0-based
 * classes), n; nil at the end of the epoch */
static int ld_next(lua_State *L) {
    gf_loader *ld = gf_lua_check_loader(L, 1);
    gf_dataset *ds = ((lua_loader *)lua_touserdata(L, 1))->dataset->ds;
    const float *images;
    const int32_t *labels;
    int n = gf_loader_next(ld, &images, &labels);
    if (n == 0) {
        lua_pushnil(L);
        return 1;
    }
    int64_t shape[4] = {n, ds->channels, ds->height, ds->width};
    gf_tensor *t = gf_lua_new_tensor(L, 4, shape);
    memcpy(t->data, images, (size_t)t->numel * sizeof(float));
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_pushinteger(L, labels[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushinteger(L, n);
    return 3;
}

/* for images, labels, n in loader:epoch() do ... end */
static int ld_epoch(lua_State *L) {
    gf_loader_start_epoch(gf_lua_check_loader(L, 1));
    lua_pushcfunction(L, ld_next);
    lua_pushvalue(L, 1);
    return 2;
}

/* loader:rng_state() -> order state, order increment, augmentation state, augmentation
 * increment (the two generators' 64-bit words) */
static int ld_rng_state(lua_State *L) {
    gf_loader_rngs rngs;
    gf_loader_get_rngs(gf_lua_check_loader(L, 1), &rngs);
    lua_pushinteger(L, (lua_Integer)rngs.order.state);
    lua_pushinteger(L, (lua_Integer)rngs.order.increment);
    lua_pushinteger(L, (lua_Integer)rngs.augment.state);
    lua_pushinteger(L, (lua_Integer)rngs.augment.increment);
    return 4;
}

/* loader:set_rng_state(the four words of rng_state) */
static int ld_set_rng_state(lua_State *L) {
    gf_loader *ld = gf_lua_check_loader(L, 1);
    gf_loader_rngs rngs;
    gf_rng *generators[2] = {&rngs.order, &rngs.augment};
    for (int g = 0; g < 2; g++) {
        gf_rng_seed(generators[g], 0, 0);
        generators[g]->state = (uint64_t)luaL_checkinteger(L, 2 + 2 * g);
        generators[g]->increment = (uint64_t)luaL_checkinteger(L, 3 + 2 * g);
    }
    if (gf_loader_set_rngs(ld, &rngs) != GF_OK) return gf_lua_raise(L, "loader:set_rng_state");
    return 0;
}

/* loader:timing() -> {prepare_seconds, wait_seconds, batches} */
static int ld_timing(lua_State *L) {
    gf_loader_timing t = gf_loader_get_timing(gf_lua_check_loader(L, 1));
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, t.prepare_seconds);
    lua_setfield(L, -2, "prepare_seconds");
    lua_pushnumber(L, t.wait_seconds);
    lua_setfield(L, -2, "wait_seconds");
    lua_pushinteger(L, t.batches);
    lua_setfield(L, -2, "batches");
    return 1;
}

static int ld_close(lua_State *L) {
    lua_loader *u = luaL_checkudata(L, 1, GF_LUA_LOADER);
    gf_loader_free(u->loader);
    u->loader = NULL;
    if (u->dataset) u->dataset->loaders--;
    u->dataset = NULL;
    return 0;
}

static void new_class(lua_State *L, const char *name, const luaL_Reg *methods,
                      lua_CFunction close, lua_CFunction tostring) {
    luaL_newmetatable(L, name);
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, close);
    lua_setfield(L, -2, "__close");
    if (tostring) {
        lua_pushcfunction(L, tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
}

void gf_lua_register_data(lua_State *L, int module) {
    static const luaL_Reg dataset_methods[] = {
        {"size", ds_size},
        {"shape", ds_shape},
        {"classes", ds_classes},
        {"normalisation", ds_normalisation},
        {"set_normalisation", ds_set_normalisation},
        {"compute_stats", ds_compute_stats},
        {"image", ds_image},
        {"label", ds_label},
        {"keep_first", ds_keep_first},
        {"close", ds_close},
        {NULL, NULL}};
    static const luaL_Reg loader_methods[] = {
        {"batches", ld_batches},     {"start_epoch", ld_start_epoch},
        {"next", ld_next},           {"epoch", ld_epoch},
        {"rng_state", ld_rng_state}, {"set_rng_state", ld_set_rng_state},
        {"timing", ld_timing},       {"close", ld_close},
        {NULL, NULL}};
    new_class(L, GF_LUA_DATASET, dataset_methods, ds_close, ds_tostring);
    new_class(L, GF_LUA_LOADER, loader_methods, ld_close, NULL);
    static const luaL_Reg functions[] = {
        {"data_idx", l_data_idx}, {"data_cifar", l_data_cifar}, {"loader", l_loader}, {NULL, NULL}};
    lua_pushvalue(L, module);
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
}
