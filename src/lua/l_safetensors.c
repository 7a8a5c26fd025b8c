/* safetensors files in Lua: graft.save_tensors and graft.load_tensors, for any
 * tensors (networks have their own checkpoints, l_net.c). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "io/safetensors.h"
#include "lua/binding.h"

static int compare_names(const void *a, const void *b) {
    return strcmp(((const gf_st_entry *)a)->name, ((const gf_st_entry *)b)->name);
}

size_t gf_lua_read_metadata(lua_State *L, int index, gf_st_meta **meta, const char *operation) {
    *meta = NULL;
    lua_newtable(L); /* key -> value as a string */
    int strings = lua_gettop(L);
    if (lua_isnoneornil(L, index)) return 0;
    luaL_checktype(L, index, LUA_TTABLE);
    size_t count = 0;
    for (lua_pushnil(L); lua_next(L, index); lua_pop(L, 1)) {
        int value_type = lua_type(L, -1);
        if (lua_type(L, -2) != LUA_TSTRING ||
            (value_type != LUA_TSTRING && value_type != LUA_TNUMBER))
            luaL_error(L, "%s: metadata must map strings to strings or numbers", operation);
        lua_pushvalue(L, -2);
        luaL_tolstring(L, -2, NULL);
        lua_rawset(L, strings);
        count++;
    }
    *meta = lua_newuserdatauv(L, (count ? count : 1) * sizeof **meta, 0);
    lua_insert(L, strings); /* below the strings table, kept alive with it */
    strings++;
    size_t i = 0;
    for (lua_pushnil(L); lua_next(L, strings); lua_pop(L, 1)) {
        (*meta)[i].key = lua_tostring(L, -2);
        (*meta)[i].value = lua_tostring(L, -1);
        i++;
    }
    return count;
}

static int l_save_tensors(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 3); /* metadata (or nil) stays at 3 */
    size_t count = 0;
    for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) count++;
    if (count == 0) return luaL_error(L, "graft.save_tensors: no tensors to write to %s", path);
    gf_st_entry *entries = lua_newuserdatauv(L, count * sizeof *entries, 0);
    int64_t *integers = lua_newuserdatauv(L, count * sizeof *integers, 0);
    size_t i = 0;
    for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "graft.save_tensors: key %s is not a string",
                              luaL_tolstring(L, -2, NULL));
        gf_st_entry *e = &entries[i];
        e->name = lua_tostring(L, -2);
        gf_tensor *t = gf_lua_test_tensor(L, -1);
        if (t) {
            e->dtype = GF_DTYPE_F32;
            e->ndim = t->ndim;
            memcpy(e->shape, t->shape, sizeof e->shape);
            e->data = t->data;
        } else if (lua_isinteger(L, -1)) { /* a counter, as PyTorch's num_batches_tracked */
            integers[i] = lua_tointeger(L, -1);
            e->dtype = GF_DTYPE_I64;
            e->ndim = 0;
            e->data = &integers[i];
        } else {
            return luaL_error(L, "graft.save_tensors: %s is a %s, not a tensor or an integer",
                              e->name, luaL_typename(L, -1));
        }
        i++;
    }
    qsort(entries, count, sizeof *entries, compare_names); /* a stable file layout */
    gf_st_meta *meta = NULL;
    size_t meta_count = gf_lua_read_metadata(L, 3, &meta, "graft.save_tensors");
    int status = gf_safetensors_write(path, entries, count, meta, meta_count);
    if (status != GF_OK) return gf_lua_raise(L, "graft.save_tensors");
    return 0;
}

static void push_entry(lua_State *L, const gf_st_entry *e) {
    if (e->dtype == GF_DTYPE_I64) {
        int64_t numel = gf_shape_numel(e->ndim, e->shape);
        if (e->ndim == 0) {
            int64_t v;
            memcpy(&v, e->data, sizeof v);
            lua_pushinteger(L, v);
            return;
        }
        lua_createtable(L, (int)numel, 0);
        for (int64_t i = 0; i < numel; i++) {
            int64_t v;
            memcpy(&v, (const char *)e->data + i * (int64_t)sizeof v, sizeof v);
            lua_pushinteger(L, v);
            lua_rawseti(L, -2, i + 1);
        }
        return;
    }
    int64_t scalar_shape[1] = {1};
    int ndim = e->ndim == 0 ? 1 : e->ndim;
    const int64_t *shape = e->ndim == 0 ? scalar_shape : e->shape;
    gf_tensor *t = gf_lua_new_tensor(L, ndim, shape);
    memcpy(t->data, e->data, (size_t)t->numel * sizeof(float));
}

static int guard_gc(lua_State *L) {
    gf_st_file **guard = lua_touserdata(L, 1);
    if (*guard) gf_safetensors_close(*guard);
    *guard = NULL;
    return 0;
}

/* The file held open while Lua values are built from it: a userdata on the stack
 * that closes it when collected, so a Lua error in between leaks nothing. Set
 * *guard = NULL after closing the file yourself. */
static gf_st_file **guard_file(lua_State *L, gf_st_file *f) {
    gf_st_file **guard = lua_newuserdatauv(L, sizeof *guard, 0);
    *guard = f;
    if (luaL_newmetatable(L, "graft.SafetensorsGuard")) {
        lua_pushcfunction(L, guard_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return guard;
}

static int l_load_tensors(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    gf_st_file *f = gf_safetensors_read(path);
    if (f == NULL) return gf_lua_raise(L, "graft.load_tensors");
    gf_st_file **guard = guard_file(L, f);
    size_t count = gf_safetensors_count(f);
    lua_createtable(L, 0, (int)count);
    for (size_t i = 0; i < count; i++) {
        const gf_st_entry *e = gf_safetensors_entry(f, i);
        if (e->dtype != GF_DTYPE_I64 && e->ndim > 0 && gf_shape_numel(e->ndim, e->shape) == 0) {
            char shape[128];
            return luaL_error(L, "graft.load_tensors: '%s': tensor '%s' has shape %s, with no "
                              "elements (graft's tensors have sizes >= 1)", path, e->name,
                              gf_shape_format(shape, sizeof shape, e->ndim, e->shape));
        }
        push_entry(L, e);
        lua_setfield(L, -2, e->name);
    }
    lua_newtable(L);
    for (size_t i = 0; i < gf_safetensors_meta_count(f); i++) {
        const gf_st_meta *m = gf_safetensors_meta(f, i);
        lua_pushstring(L, m->value);
        lua_setfield(L, -2, m->key);
    }
    gf_safetensors_close(f);
    *guard = NULL;
    return 2;
}

void gf_lua_register_safetensors(lua_State *L, int module) {
    static const luaL_Reg functions[] = {
        {"save_tensors", l_save_tensors}, {"load_tensors", l_load_tensors}, {NULL, NULL}};
    lua_pushvalue(L, module);
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
}
