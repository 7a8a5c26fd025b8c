/* Tensors in Lua: full userdata around a gf_tensor, with 1-based indexing,
 * arithmetic metamethods, reductions and a short printed form. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "lua/binding.h"
#include "lua/owner.h"
#include "lua/tensor_text.h"

typedef struct lua_tensor {
    gf_lua_owner owner; /* first member: views of this tensor count here */
    gf_tensor *tensor;  /* NULL once released */
    gf_lua_owner *parent; /* for views: the owner whose memory this points into */
} lua_tensor;

static char *format_shape(char *buf, size_t size, const gf_tensor *t) {
    return gf_shape_format(buf, size, t->ndim, t->shape);
}

/* ---- userdata plumbing ---- */

static lua_tensor *check_userdata(lua_State *L, int index) {
    return luaL_checkudata(L, index, GF_LUA_TENSOR);
}

gf_tensor *gf_lua_test_tensor(lua_State *L, int index) {
    lua_tensor *u = luaL_testudata(L, index, GF_LUA_TENSOR);
    if (u == NULL) return NULL;
    if (u->owner.closed) luaL_error(L, "tensor was closed");
    return u->tensor;
}

gf_tensor *gf_lua_check_tensor(lua_State *L, int index) {
    lua_tensor *u = check_userdata(L, index);
    if (u->owner.closed) luaL_error(L, "tensor was closed");
    return u->tensor;
}

/* The counter of views of the value at `index`, when it is a tensor or a net. */
static gf_lua_owner *owner_of(lua_State *L, int index) {
    void *p = luaL_testudata(L, index, GF_LUA_TENSOR);
    if (p == NULL) p = luaL_testudata(L, index, GF_LUA_NET);
    return p; /* both userdata start with a gf_lua_owner */
}

void gf_lua_push_tensor(lua_State *L, gf_tensor *t, int owner_index) {
    if (t == NULL) gf_lua_raise(L, "tensor");
    if (owner_index != 0) owner_index = lua_absindex(L, owner_index);
    lua_tensor *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->owner.views = 0;
    u->owner.closed = false;
    u->tensor = t;
    u->parent = NULL;
    luaL_setmetatable(L, GF_LUA_TENSOR);
    if (owner_index != 0) {
        lua_pushvalue(L, owner_index);
        lua_setiuservalue(L, -2, 1);
        u->parent = owner_of(L, owner_index);
        if (u->parent) u->parent->views++;
    }
}

gf_tensor *gf_lua_new_tensor(lua_State *L, int ndim, const int64_t *shape) {
    gf_tensor *t = gf_tensor_create(ndim, shape);
    gf_lua_push_tensor(L, t, 0);
    return t;
}

int gf_lua_check_shape(lua_State *L, int index, int64_t *shape, const char *what) {
    if (!lua_istable(L, index))
        return luaL_error(L, "%s: the shape must be a table of 1 to %d positive integers, got %s",
                          what, GF_MAX_DIMS, luaL_typename(L, index));
    lua_Integer ndim = luaL_len(L, index);
    if (ndim < 1 || ndim > GF_MAX_DIMS)
        return luaL_error(L, "%s: the shape must have 1 to %d sizes, got %d", what, GF_MAX_DIMS,
                          (int)ndim);
    for (int i = 0; i < ndim; i++) {
        lua_geti(L, index, i + 1);
        int ok = 0;
        lua_Integer size = lua_tointegerx(L, -1, &ok);
        if (!ok || size < 1)
            return luaL_error(L, "%s: size %d of the shape must be a positive integer, got %s",
                              what, i + 1, luaL_tolstring(L, -1, NULL));
        shape[i] = size;
        lua_pop(L, 1);
    }
    return (int)ndim;
}

/* Frees the C side; the parent's view count drops because we no longer point into it. */
static void release(lua_tensor *u) {
    if (u->tensor) {
        gf_tensor_free(u->tensor);
        u->tensor = NULL;
    }
    if (u->parent) {
        u->parent->views--;
        u->parent = NULL;
    }
}

static int tensor_gc(lua_State *L) {
    release(check_userdata(L, 1));
    return 0;
}

static int tensor_close(lua_State *L) {
    lua_tensor *u = check_userdata(L, 1);
    u->owner.closed = true;
    if (u->owner.views == 0) release(u); /* else the collector frees it after its views */
    return 0;
}

/* ---- construction ---- */

static int l_zeros(lua_State *L) {
    int64_t shape[GF_MAX_DIMS];
    int ndim = gf_lua_check_shape(L, 1, shape, "graft.zeros");
    gf_lua_new_tensor(L, ndim, shape);
    return 1;
}

static int l_ones(lua_State *L) {
    int64_t shape[GF_MAX_DIMS];
    int ndim = gf_lua_check_shape(L, 1, shape, "graft.ones");
    gf_tensor_fill(gf_lua_new_tensor(L, ndim, shape), 1.0f);
    return 1;
}

static int l_randn(lua_State *L) {
    int64_t shape[GF_MAX_DIMS];
    int ndim = gf_lua_check_shape(L, 1, shape, "graft.randn");
    lua_Integer seed = luaL_optinteger(L, 2, 0);
    gf_rng rng;
    gf_rng_seed(&rng, (uint64_t)seed, 0);
    gf_tensor_fill_normal(gf_lua_new_tensor(L, ndim, shape), &rng, 0.0f, 1.0f);
    return 1;
}

static int l_rand(lua_State *L) {
    int64_t shape[GF_MAX_DIMS];
    int ndim = gf_lua_check_shape(L, 1, shape, "graft.rand");
    lua_Integer seed = luaL_optinteger(L, 2, 0);
    gf_rng rng;
    gf_rng_seed(&rng, (uint64_t)seed, 0);
    gf_tensor_fill_uniform(gf_lua_new_tensor(L, ndim, shape), &rng, 0.0f, 1.0f);
    return 1;
}

/* Appends "[i][j]..." of the first `depth` indices to the buffer on the stack. */
static void push_path(lua_State *L, const int64_t *path, int depth) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (depth == 0) luaL_addstring(&b, "the outer table");
    for (int i = 0; i < depth; i++) {
        char item[32];
        snprintf(item, sizeof item, "[%lld]", (long long)path[i]);
        luaL_addstring(&b, item);
    }
    luaL_pushresult(&b);
}

/* Copies the nested table at stack top into data; shape was read from the first
 * elements, and every row must agree with it. */
static void fill_from_table(lua_State *L, float *data, int64_t *offset, int depth, int ndim,
                            const int64_t *shape, int64_t *path) {
    int64_t count = (int64_t)luaL_len(L, -1);
    if (count != shape[depth]) {
        push_path(L, path, depth);
        luaL_error(L, "graft.tensor: %s has %d entries, expected %d", lua_tostring(L, -1),
                   (int)count, (int)shape[depth]);
    }
    for (int64_t i = 1; i <= count; i++) {
        path[depth] = i;
        lua_geti(L, -1, i);
        if (depth + 1 < ndim) {
            if (!lua_istable(L, -1)) {
                push_path(L, path, depth + 1);
                luaL_error(L, "graft.tensor: %s should be a table (the shape has %d dimensions)",
                           lua_tostring(L, -1), ndim);
            }
            fill_from_table(L, data, offset, depth + 1, ndim, shape, path);
        } else {
            int ok = 0;
            lua_Number v = lua_tonumberx(L, -1, &ok);
            if (!ok) {
                const char *type = luaL_typename(L, -1);
                push_path(L, path, depth + 1);
                luaL_error(L, "graft.tensor: %s should be a number, got %s", lua_tostring(L, -1),
                           type);
            }
            data[(*offset)++] = (float)v;
        }
        lua_pop(L, 1);
    }
}

static int l_tensor(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    int64_t shape[GF_MAX_DIMS];
    int ndim = 0;
    lua_pushvalue(L, 1);
    while (lua_istable(L, -1)) { /* the shape from the first element of each level */
        if (ndim == GF_MAX_DIMS)
            return luaL_error(L, "graft.tensor: more than %d nested levels", GF_MAX_DIMS);
        shape[ndim] = (int64_t)luaL_len(L, -1);
        if (shape[ndim] == 0)
            return luaL_error(L, "graft.tensor: empty table at nesting level %d", ndim + 1);
        ndim++;
        lua_geti(L, -1, 1);
    }
    lua_settop(L, 1);
    gf_tensor *t = gf_lua_new_tensor(L, ndim, shape);
    int64_t offset = 0, path[GF_MAX_DIMS];
    lua_pushvalue(L, 1);
    fill_from_table(L, t->data, &offset, 0, ndim, shape, path);
    lua_pop(L, 1);
    return 1;
}

/* ---- inspection ---- */

static int m_shape(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) {
        lua_pushinteger(L, t->shape[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_numel(lua_State *L) {
    lua_pushinteger(L, gf_lua_check_tensor(L, 1)->numel);
    return 1;
}

static int m_dim(lua_State *L) {
    lua_pushinteger(L, gf_lua_check_tensor(L, 1)->ndim);
    return 1;
}

static int t_len(lua_State *L) {
    lua_pushinteger(L, gf_lua_check_tensor(L, 1)->shape[0]);
    return 1;
}

static void push_nested(lua_State *L, const float *data, int ndim, const int64_t *shape) {
    lua_createtable(L, (int)shape[0], 0);
    int64_t stride = gf_shape_numel(ndim - 1, shape + 1);
    for (int64_t i = 0; i < shape[0]; i++) {
        if (ndim == 1)
            lua_pushnumber(L, data[i]);
        else
            push_nested(L, data + i * stride, ndim - 1, shape + 1);
        lua_rawseti(L, -2, i + 1);
    }
}

static int m_totable(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    luaL_checkstack(L, t->ndim + 4, "tensor:totable");
    push_nested(L, t->data, t->ndim, t->shape);
    return 1;
}

static int t_tostring(lua_State *L) {
    lua_tensor *u = check_userdata(L, 1);
    if (u->owner.closed) {
        lua_pushstring(L, GF_LUA_TENSOR " (closed)");
        return 1;
    }
    gf_lua_push_tensor_text(L, u->tensor, GF_LUA_TENSOR);
    return 1;
}

/* ---- indexing ---- */

/* The 0-based position of integer key `key_index` along the first dimension. */
static int64_t check_position(lua_State *L, const gf_tensor *t, int key_index) {
    int ok = 0;
    lua_Integer i = lua_tointegerx(L, key_index, &ok);
    char shape[128];
    if (!ok)
        return luaL_error(L, "tensor[%s]: index must be an integer",
                          luaL_tolstring(L, key_index, NULL));
    if (i < 1 || i > t->shape[0])
        return luaL_error(L, "tensor[%I]: index out of range for shape %s (valid: 1 to %I)",
                          (lua_Integer)i, format_shape(shape, sizeof shape, t),
                          (lua_Integer)t->shape[0]);
    return i - 1;
}

/* A view of row `position` of t (the tensor at stack index 1), pushed. */
static gf_tensor *push_row_view(lua_State *L, const gf_tensor *t, int64_t position) {
    int64_t stride = t->numel / t->shape[0];
    gf_tensor *row = gf_tensor_view(t->data + position * stride, t->ndim - 1, t->shape + 1);
    gf_lua_push_tensor(L, row, 1);
    return row;
}

static int t_index(lua_State *L) {
    if (lua_type(L, 2) != LUA_TNUMBER) { /* a method */
        lua_pushvalue(L, 2);
        lua_gettable(L, lua_upvalueindex(1));
        return 1;
    }
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    int64_t position = check_position(L, t, 2);
    if (t->ndim == 1)
        lua_pushnumber(L, t->data[position]);
    else
        push_row_view(L, t, position);
    return 1;
}

static int t_newindex(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    int64_t position = check_position(L, t, 2);
    if (t->ndim == 1) {
        int ok = 0;
        lua_Number v = lua_tonumberx(L, 3, &ok);
        if (!ok)
            return luaL_error(L, "tensor[%d] = v: v must be a number, got %s", (int)position + 1,
                              luaL_typename(L, 3));
        t->data[position] = (float)v;
        return 0;
    }
    lua_settop(L, 3);
    gf_tensor *row = push_row_view(L, t, position);
    gf_tensor *src = gf_lua_test_tensor(L, 3);
    if (src) {
        char a[128], b[128];
        if (!gf_tensor_same_shape(row, src))
            return luaL_error(L, "tensor[%d] = v: v has shape %s, the row has shape %s",
                              (int)position + 1, format_shape(a, sizeof a, src),
                              format_shape(b, sizeof b, row));
        if (gf_tensor_copy(row, src) != GF_OK) return gf_lua_raise(L, "tensor[i] = v");
    } else if (lua_type(L, 3) == LUA_TNUMBER) {
        gf_tensor_fill(row, (float)lua_tonumber(L, 3));
    } else {
        return luaL_error(L, "tensor[%d] = v: v must be a number or a tensor, got %s",
                          (int)position + 1, luaL_typename(L, 3));
    }
    return 0;
}

/* ---- arithmetic ---- */

typedef enum arith_op { ARITH_ADD, ARITH_SUB, ARITH_MUL, ARITH_DIV } arith_op;
static const char *const arith_names[] = {"+", "-", "*", "/"};

static float apply(arith_op op, float a, float b) {
    switch (op) {
    case ARITH_ADD: return a + b;
    case ARITH_SUB: return a - b;
    case ARITH_MUL: return a * b;
    default: return a / b;
    }
}

static int arith(lua_State *L, arith_op op) {
    gf_tensor *a = gf_lua_test_tensor(L, 1), *b = gf_lua_test_tensor(L, 2);
    char operation[16];
    snprintf(operation, sizeof operation, "tensor %s", arith_names[op]);
    if (a && b) {
        char sa[128], sb[128];
        if (!gf_tensor_same_shape(a, b))
            return luaL_error(L, "%s: shapes %s and %s differ", operation,
                              format_shape(sa, sizeof sa, a), format_shape(sb, sizeof sb, b));
        gf_tensor *out = gf_lua_new_tensor(L, a->ndim, a->shape);
        for (int64_t i = 0; i < out->numel; i++) out->data[i] = apply(op, a->data[i], b->data[i]);
        return 1;
    }
    /* one side is a scalar */
    int tensor_first = a != NULL;
    gf_tensor *t = tensor_first ? a : b;
    int scalar_index = tensor_first ? 2 : 1;
    int ok = 0;
    float s = (float)lua_tonumberx(L, scalar_index, &ok);
    if (!ok)
        return luaL_error(L, "%s: expected a tensor or a number, got %s", operation,
                          luaL_typename(L, scalar_index));
    gf_tensor *out = gf_lua_new_tensor(L, t->ndim, t->shape);
    for (int64_t i = 0; i < out->numel; i++)
        out->data[i] = tensor_first ? apply(op, t->data[i], s) : apply(op, s, t->data[i]);
    return 1;
}

static int t_add(lua_State *L) { return arith(L, ARITH_ADD); }
static int t_sub(lua_State *L) { return arith(L, ARITH_SUB); }
static int t_mul(lua_State *L) { return arith(L, ARITH_MUL); }
static int t_div(lua_State *L) { return arith(L, ARITH_DIV); }

static int t_unm(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    gf_tensor *out = gf_lua_new_tensor(L, t->ndim, t->shape);
    for (int64_t i = 0; i < out->numel; i++) out->data[i] = -t->data[i];
    return 1;
}

/* ---- reductions and in-place operations ---- */

static int m_sum(lua_State *L) {
    lua_pushnumber(L, gf_tensor_sum(gf_lua_check_tensor(L, 1)));
    return 1;
}
static int m_mean(lua_State *L) {
    lua_pushnumber(L, gf_tensor_mean(gf_lua_check_tensor(L, 1)));
    return 1;
}
static int m_max(lua_State *L) {
    lua_pushnumber(L, gf_tensor_max(gf_lua_check_tensor(L, 1)));
    return 1;
}
static int m_min(lua_State *L) {
    lua_pushnumber(L, gf_tensor_min(gf_lua_check_tensor(L, 1)));
    return 1;
}
static int m_abs_sum(lua_State *L) {
    lua_pushnumber(L, gf_tensor_abs_sum(gf_lua_check_tensor(L, 1)));
    return 1;
}

static int m_fill(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    gf_tensor_fill(t, (float)luaL_checknumber(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int m_clone(lua_State *L) {
    gf_lua_push_tensor(L, gf_tensor_clone(gf_lua_check_tensor(L, 1)), 0);
    return 1;
}

static int m_copy(lua_State *L) {
    gf_tensor *dst = gf_lua_check_tensor(L, 1), *src = gf_lua_check_tensor(L, 2);
    char a[128], b[128];
    if (!gf_tensor_same_shape(dst, src))
        return luaL_error(L, "tensor:copy: destination %s and source %s differ in shape",
                          format_shape(a, sizeof a, dst), format_shape(b, sizeof b, src));
    if (gf_tensor_copy(dst, src) != GF_OK) return gf_lua_raise(L, "tensor:copy");
    lua_settop(L, 1);
    return 1;
}

static int m_reshape(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    int64_t shape[GF_MAX_DIMS];
    int ndim = gf_lua_check_shape(L, 2, shape, "tensor:reshape");
    int64_t numel = gf_shape_numel(ndim, shape);
    if (numel != t->numel) {
        char a[128], b[128];
        return luaL_error(L, "tensor:reshape: %s has %d elements, %s has %d",
                          format_shape(a, sizeof a, t), (int)t->numel,
                          gf_shape_format(b, sizeof b, ndim, shape), (int)numel);
    }
    gf_lua_push_tensor(L, gf_tensor_reshape_view(t, ndim, shape), 1);
    return 1;
}

void gf_lua_register_tensor(lua_State *L, int module) {
    static const luaL_Reg methods[] = {
        {"shape", m_shape}, {"numel", m_numel}, {"dim", m_dim},         {"totable", m_totable},
        {"sum", m_sum},     {"mean", m_mean},   {"max", m_max},         {"min", m_min},
        {"abs_sum", m_abs_sum}, {"fill", m_fill}, {"clone", m_clone},   {"copy", m_copy},
        {"reshape", m_reshape}, {"close", tensor_close}, {NULL, NULL}};
    static const luaL_Reg metamethods[] = {
        {"__gc", tensor_gc},   {"__close", tensor_close}, {"__tostring", t_tostring},
        {"__len", t_len},      {"__newindex", t_newindex}, {"__add", t_add},
        {"__sub", t_sub},      {"__mul", t_mul},          {"__div", t_div},
        {"__unm", t_unm},      {NULL, NULL}};
    static const luaL_Reg functions[] = {
        {"tensor", l_tensor},   {"zeros", l_zeros}, {"ones", l_ones},
        {"randn", l_randn},     {"rand", l_rand},   {NULL, NULL}};

    luaL_newmetatable(L, GF_LUA_TENSOR);
    luaL_setfuncs(L, metamethods, 0);
    luaL_newlib(L, methods);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "methods"); /* completion looks here, __index being a function */
    lua_pushvalue(L, -1);
    lua_setfield(L, module, "tensor_methods"); /* for documentation */
    lua_pushcclosure(L, t_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_pushvalue(L, module);
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
}
