/* Networks in Lua: building node by node (the builders of nn/network.h),
 * forward/backward, parameter views, and checkpoints that remember their
 * architecture. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "io/checkpoint.h"
#include "lua/binding.h"
#include "lua/options.h"
#include "lua/owner.h"
#include "nn/architecture.h"

typedef struct lua_net {
    gf_lua_owner owner; /* first member: parameter views count here */
    gf_net *net;        /* NULL once released */
    bool finalized;     /* false while nodes are being added */
    int last_batch;     /* batch size of the last forward; 0 before the first */
} lua_net;

/* ---- userdata plumbing ---- */

static lua_net *check_userdata(lua_State *L, int index) {
    lua_net *u = luaL_checkudata(L, index, GF_LUA_NET);
    if (u->owner.closed) luaL_error(L, "network was closed");
    return u;
}

/* A finalised network. */
static lua_net *check_ready(lua_State *L, int index) {
    lua_net *u = check_userdata(L, index);
    if (!u->finalized)
        luaL_error(L, "network is still being built: call graft.core.net_finalize(net, seed)");
    return u;
}

/* A network still being built. */
static lua_net *check_building(lua_State *L, int index) {
    lua_net *u = check_userdata(L, index);
    if (u->finalized) luaL_error(L, "network is finalised: no more nodes can be added");
    return u;
}

gf_net *gf_lua_check_net(lua_State *L, int index) { return check_ready(L, index)->net; }

static lua_net *push_net(lua_State *L, gf_net *net, bool finalized) {
    if (net == NULL) gf_lua_raise(L, "network");
    lua_net *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->owner.views = 0;
    u->owner.closed = false;
    u->net = net;
    u->finalized = finalized;
    u->last_batch = 0;
    luaL_setmetatable(L, GF_LUA_NET);
    return u;
}

void gf_lua_push_net(lua_State *L, gf_net *net) { push_net(L, net, true); }

static void release(lua_net *u) {
    if (u->net) gf_net_free(u->net);
    u->net = NULL;
}

static int net_gc(lua_State *L) {
    release(luaL_checkudata(L, 1, GF_LUA_NET));
    return 0;
}

static int net_close(lua_State *L) {
    lua_net *u = luaL_checkudata(L, 1, GF_LUA_NET);
    u->owner.closed = true;
    if (u->owner.views == 0) release(u); /* else parameter views still point into it */
    return 0;
}

/* ---- building node by node ---- */

static int l_net_create(lua_State *L) {
    int c = gf_lua_check_int(L, 1), h = gf_lua_check_int(L, 2), w = gf_lua_check_int(L, 3);
    gf_net *net = gf_net_create(c, h, w);
    if (net == NULL) return gf_lua_raise(L, "graft.core.net_create");
    push_net(L, net, false);
    return 1;
}

/* A module name: PyTorch-style, no spaces or ';' (the architecture text uses them). */
static const char *check_name(lua_State *L, int index) {
    const char *name = luaL_checkstring(L, index);
    if (name[0] == '\0' || strpbrk(name, " ;\t\n") || strlen(name) >= sizeof(((gf_node *)0)->name))
        luaL_error(L, "module name \"%s\" must be 1 to %d characters without spaces or ';'", name,
                   (int)sizeof(((gf_node *)0)->name) - 1);
    return name;
}

static int push_node(lua_State *L, int node, const char *operation) {
    if (node == GF_ERR) return gf_lua_raise(L, operation);
    lua_pushinteger(L, node);
    return 1;
}

static int l_net_conv2d(lua_State *L) {
    gf_net *net = check_building(L, 1)->net;
    const char *name = check_name(L, 2);
    int node = gf_net_conv2d(net, name, gf_lua_check_int(L, 3), gf_lua_check_int(L, 4), gf_lua_check_int(L, 5),
                             gf_lua_check_int(L, 6), gf_lua_check_int(L, 7), gf_lua_check_int(L, 8), lua_toboolean(L, 9));
    return push_node(L, node, "graft.core.net_conv2d");
}

static int l_net_batchnorm(lua_State *L) {
    gf_net *net = check_building(L, 1)->net;
    const char *name = check_name(L, 2);
    return push_node(L, gf_net_batchnorm(net, name, gf_lua_check_int(L, 3)), "graft.core.net_batchnorm");
}

static int l_net_activation(lua_State *L) {
    gf_net *net = check_building(L, 1)->net;
    int input = gf_lua_check_int(L, 2);
    const char *kind_name = luaL_checkstring(L, 3);
    int kind = gf_activation_parse(kind_name);
    if (kind < 0)
        return luaL_error(L, "graft.core.net_activation: unknown activation '%s' "
                             "(relu, leaky_relu, relu6)", kind_name);
    float slope = (float)luaL_optnumber(L, 4, 0.01);
    return push_node(L, gf_net_activation(net, input, (gf_activation_kind)kind, slope),
                     "graft.core.net_activation");
}

static int l_net_maxpool(lua_State *L) {
    gf_net *net = check_building(L, 1)->net;
    int node = gf_net_maxpool(net, gf_lua_check_int(L, 2), gf_lua_check_int(L, 3), gf_lua_check_int(L, 4), gf_lua_check_int(L, 5));
    return push_node(L, node, "graft.core.net_maxpool");
}

static int l_net_avgpool(lua_State *L) {
    gf_net *net = check_building(L, 1)->net;
    int node = gf_net_avgpool(net, gf_lua_check_int(L, 2), gf_lua_check_int(L, 3), gf_lua_check_int(L, 4), gf_lua_check_int(L, 5));
    return push_node(L, node, "graft.core.net_avgpool");
}

static int l_net_global_avgpool(lua_State *L) {
    gf_net *net = check_building(L, 1)->net;
    return push_node(L, gf_net_global_avgpool(net, gf_lua_check_int(L, 2)), "graft.core.net_global_avgpool");
}

static int l_net_linear(lua_State *L) {
    gf_net *net = check_building(L, 1)->net;
    const char *name = check_name(L, 2);
    int node = gf_net_linear(net, name, gf_lua_check_int(L, 3), gf_lua_check_int(L, 4), lua_toboolean(L, 5));
    return push_node(L, node, "graft.core.net_linear");
}

static int l_net_shortcut_a(lua_State *L) {
    gf_net *net = check_building(L, 1)->net;
    int node = gf_net_shortcut_a(net, gf_lua_check_int(L, 2), gf_lua_check_int(L, 3), gf_lua_check_int(L, 4));
    return push_node(L, node, "graft.core.net_shortcut_a");
}

static int l_net_add(lua_State *L) {
    gf_net *net = check_building(L, 1)->net;
    return push_node(L, gf_net_add(net, gf_lua_check_int(L, 2), gf_lua_check_int(L, 3)), "graft.core.net_add");
}

static int l_net_finalize(lua_State *L) {
    lua_net *u = check_building(L, 1);
    lua_Integer seed = luaL_optinteger(L, 2, 0);
    const char *model = luaL_optstring(L, 3, "custom");
    if (gf_net_set_model(u->net, model) != GF_OK || gf_net_finalize(u->net, (uint64_t)seed) != GF_OK)
        return gf_lua_raise(L, "graft.core.net_finalize");
    u->finalized = true;
    lua_settop(L, 1);
    return 1;
}

/* {op=, name=, inputs={...}, channels=, height=, width=, ...} of node `index`. */
static void push_node_info(lua_State *L, const gf_node *n) {
    lua_createtable(L, 0, 12);
    lua_pushstring(L, gf_op_name(n->op));
    lua_setfield(L, -2, "op");
    lua_pushstring(L, n->name);
    lua_setfield(L, -2, "name");
    lua_newtable(L);
    for (int i = 0; i < 2; i++)
        if (n->inputs[i] >= 0) {
            lua_pushinteger(L, n->inputs[i]);
            lua_rawseti(L, -2, i + 1);
        }
    lua_setfield(L, -2, "inputs");
    const struct { const char *key; int value; } fields[] = {
        {"channels", n->channels}, {"height", n->height}, {"width", n->width},
        {"kernel", n->kernel},     {"stride", n->stride}, {"padding", n->padding},
        {"groups", n->groups}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        lua_pushinteger(L, fields[i].value);
        lua_setfield(L, -2, fields[i].key);
    }
    if (n->op == GF_OP_ACTIVATION) {
        lua_pushstring(L, gf_activation_name(n->activation));
        lua_setfield(L, -2, "activation");
        lua_pushnumber(L, n->slope);
        lua_setfield(L, -2, "slope");
    }
    if (n->op == GF_OP_CONV2D || n->op == GF_OP_LINEAR) {
        lua_pushboolean(L, n->has_bias);
        lua_setfield(L, -2, "bias");
    }
}

static int l_net_node(lua_State *L) {
    gf_net *net = check_userdata(L, 1)->net;
    lua_Integer index = luaL_checkinteger(L, 2);
    if (index < 0 || index >= gf_net_node_count(net))
        return luaL_error(L, "graft.core.net_node: node %d does not exist (the network has %d)",
                          (int)index, gf_net_node_count(net));
    push_node_info(L, gf_net_node(net, (int)index));
    return 1;
}

/* net:nodes(): every node's description, in order (index i+1 holds node i). */
static int m_nodes(lua_State *L) {
    gf_net *net = check_userdata(L, 1)->net;
    int count = gf_net_node_count(net);
    lua_createtable(L, count, 0);
    for (int i = 0; i < count; i++) {
        push_node_info(L, gf_net_node(net, i));
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* ---- shapes ---- */

/* The output shape for `batch` samples: [N, C] for vectors, else [N, C, H, W]. */
static int output_shape(const gf_net *net, int batch, int64_t *shape) {
    const gf_node *last = gf_net_node(net, gf_net_node_count(net) - 1);
    shape[0] = batch;
    shape[1] = last->channels;
    if (last->height == 1 && last->width == 1) return 2;
    shape[2] = last->height;
    shape[3] = last->width;
    return 4;
}

static char *format_input(char *buf, size_t size, const gf_net *net) {
    int c, h, w;
    gf_net_input_shape(net, &c, &h, &w);
    snprintf(buf, size, "[N, %d, %d, %d]", c, h, w);
    return buf;
}

static int m_input_shape(lua_State *L) {
    int c, h, w;
    gf_net_input_shape(check_userdata(L, 1)->net, &c, &h, &w);
    lua_createtable(L, 3, 0);
    int dims[3] = {c, h, w};
    for (int i = 0; i < 3; i++) {
        lua_pushinteger(L, dims[i]);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int m_output_shape(lua_State *L) {
    int64_t shape[4];
    int ndim = output_shape(check_userdata(L, 1)->net, 1, shape);
    lua_createtable(L, ndim - 1, 0);
    for (int i = 1; i < ndim; i++) {
        lua_pushinteger(L, shape[i]);
        lua_rawseti(L, -2, i);
    }
    return 1;
}

/* ---- running ---- */

static int m_forward(lua_State *L) {
    lua_net *u = check_ready(L, 1);
    gf_tensor *x = gf_lua_check_tensor(L, 2);
    int c, h, w;
    gf_net_input_shape(u->net, &c, &h, &w);
    bool fits = x->ndim == 4 && x->shape[1] == c && x->shape[2] == h && x->shape[3] == w;
    /* vectors ([N, features]) feed networks whose input is C x 1 x 1 */
    fits = fits || (x->ndim == 2 && h == 1 && w == 1 && x->shape[1] == c);
    if (!fits) {
        char got[128], want[64];
        return luaL_error(L, "net:forward: input %s does not fit the network input %s",
                          gf_shape_format(got, sizeof got, x->ndim, x->shape),
                          format_input(want, sizeof want, u->net));
    }
    const float *out = NULL;
    if (gf_net_forward(u->net, x->data, (int)x->shape[0], &out) != GF_OK)
        return gf_lua_raise(L, "net:forward");
    u->last_batch = (int)x->shape[0];
    int64_t shape[4];
    int ndim = output_shape(u->net, u->last_batch, shape);
    gf_tensor *y = gf_lua_new_tensor(L, ndim, shape);
    memcpy(y->data, out, (size_t)y->numel * sizeof(float));
    return 1;
}

static int m_backward(lua_State *L) {
    lua_net *u = check_ready(L, 1);
    gf_tensor *grad = gf_lua_check_tensor(L, 2);
    if (u->last_batch == 0) return luaL_error(L, "net:backward: no forward pass to go back through");
    if (!gf_net_is_training(u->net))
        return luaL_error(L, "net:backward: the network is in evaluation mode (call net:train() "
                             "before forward)");
    int64_t shape[4];
    int ndim = output_shape(u->net, u->last_batch, shape);
    if (grad->ndim != ndim || memcmp(grad->shape, shape, (size_t)ndim * sizeof shape[0]) != 0) {
        char got[128], want[128];
        return luaL_error(L, "net:backward: gradient %s does not match the last output %s",
                          gf_shape_format(got, sizeof got, grad->ndim, grad->shape),
                          gf_shape_format(want, sizeof want, ndim, shape));
    }
    if (gf_net_backward(u->net, grad->data) != GF_OK) return gf_lua_raise(L, "net:backward");
    return 0;
}

static int m_train(lua_State *L) {
    gf_net_set_training(check_ready(L, 1)->net, lua_isnone(L, 2) || lua_toboolean(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int m_eval(lua_State *L) {
    gf_net_set_training(check_ready(L, 1)->net, false);
    lua_settop(L, 1);
    return 1;
}

static int m_is_training(lua_State *L) {
    lua_pushboolean(L, gf_net_is_training(check_ready(L, 1)->net));
    return 1;
}

/* ---- tensors of the network ---- */

typedef enum view_kind { VIEW_PARAMS, VIEW_GRADS, VIEW_BUFFERS } view_kind;

/* name -> view (counters as integers), plus the names in network order. */
static int push_views(lua_State *L, view_kind kind) {
    gf_net *net = check_ready(L, 1)->net;
    lua_settop(L, 1);
    lua_newtable(L); /* 2: name -> tensor */
    lua_newtable(L); /* 3: ordered names */
    int count = 0;
    for (int i = 0; i < gf_net_slice_count(net); i++) {
        const gf_slice *s = gf_net_slice(net, i);
        bool wanted = kind == VIEW_BUFFERS ? s->kind != GF_SLICE_PARAM : s->kind == GF_SLICE_PARAM;
        if (!wanted) continue;
        if (s->kind == GF_SLICE_COUNT) {
            lua_pushinteger(L, gf_net_counters(net)[s->offset]);
        } else {
            float *data = kind == VIEW_GRADS ? gf_net_slice_grad(net, s) : gf_net_slice_data(net, s);
            gf_lua_push_tensor(L, gf_tensor_view(data, s->ndim, s->shape), 1);
        }
        lua_setfield(L, 2, s->name);
        lua_pushstring(L, s->name);
        lua_rawseti(L, 3, ++count);
    }
    return 2;
}

static int m_parameters(lua_State *L) { return push_views(L, VIEW_PARAMS); }
static int m_grads(lua_State *L) { return push_views(L, VIEW_GRADS); }
static int m_buffers(lua_State *L) { return push_views(L, VIEW_BUFFERS); }

static int m_param_count(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)gf_net_param_count(check_ready(L, 1)->net));
    return 1;
}

/* net:release_activations(): frees the activation arena, which the next forward
 * lays out again; net:activation_bytes(): what it holds now */
static int m_release_activations(lua_State *L) {
    gf_net_release_activations(check_ready(L, 1)->net);
    return 0;
}

static int m_activation_bytes(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)gf_net_arena_bytes(check_ready(L, 1)->net));
    return 1;
}

static int m_model(lua_State *L) {
    lua_pushstring(L, gf_net_model(check_userdata(L, 1)->net));
    return 1;
}

static int m_initialise(lua_State *L) {
    gf_net_initialise(check_ready(L, 1)->net, (uint64_t)luaL_checkinteger(L, 2));
    lua_settop(L, 1);
    return 1;
}

static int m_copy_state(lua_State *L) {
    gf_net *dst = check_ready(L, 1)->net, *src = check_ready(L, 2)->net;
    if (gf_net_copy_state(dst, src) != GF_OK) return gf_lua_raise(L, "net:copy_state");
    lua_settop(L, 1);
    return 1;
}

static int m_clone(lua_State *L) {
    gf_net *copy = gf_net_clone(check_ready(L, 1)->net);
    if (copy == NULL) return gf_lua_raise(L, "net:clone");
    push_net(L, copy, true);
    return 1;
}

/* ---- checkpoints ---- */

/* net:save(path [, metadata]): the state, the architecture and the model name, plus
 * the given string (or number) metadata. */
static int m_save(lua_State *L) {
    gf_net *net = check_ready(L, 1)->net;
    const char *path = luaL_checkstring(L, 2);
    lua_settop(L, 3);
    gf_st_meta *meta = NULL;
    size_t count = gf_lua_read_metadata(L, 3, &meta, "net:save");
    if (gf_net_save(net, path, meta, count) != GF_OK) return gf_lua_raise(L, "net:save");
    return 0;
}

static int m_load(lua_State *L) {
    gf_net *net = check_ready(L, 1)->net;
    const char *path = luaL_checkstring(L, 2);
    if (gf_net_load_state(net, path) != GF_OK) return gf_lua_raise(L, "net:load");
    lua_settop(L, 1);
    return 1;
}

/* graft.load(path): the network a checkpoint describes, with its state. */
static int l_load(lua_State *L) {
    gf_net *net = gf_net_load(luaL_checkstring(L, 1));
    if (net == NULL) return gf_lua_raise(L, "graft.load");
    push_net(L, net, true);
    return 1;
}

/* ---- printing ---- */

/* 269722 -> "269,722" */
static void format_count(char *buf, size_t size, size_t n) {
    char digits[32];
    int length = snprintf(digits, sizeof digits, "%zu", n);
    size_t used = 0;
    for (int i = 0; i < length && used + 2 < size; i++) {
        if (i > 0 && (length - i) % 3 == 0) buf[used++] = ',';
        buf[used++] = digits[i];
    }
    buf[used] = '\0';
}

static int net_tostring(lua_State *L) {
    lua_net *u = luaL_checkudata(L, 1, GF_LUA_NET);
    if (u->owner.closed) {
        lua_pushstring(L, GF_LUA_NET " (closed)");
        return 1;
    }
    char input[64], output[128], count[32];
    int64_t shape[4];
    int ndim = output_shape(u->net, 1, shape);
    gf_shape_format(output, sizeof output, ndim - 1, shape + 1);
    if (!u->finalized) {
        lua_pushfstring(L, GF_LUA_NET " %s (being built: %d nodes, last output %s)", gf_net_model(u->net),
                        gf_net_node_count(u->net), output);
        return 1;
    }
    format_count(count, sizeof count, gf_net_param_count(u->net));
    format_input(input, sizeof input, u->net);
    lua_pushfstring(L, GF_LUA_NET " %s: %s parameters, input %s -> output [N, %s, %s mode",
                    gf_net_model(u->net), count, input, output + 1,
                    gf_net_is_training(u->net) ? "training" : "evaluation");
    return 1;
}

void gf_lua_register_net(lua_State *L, int module) {
    static const luaL_Reg methods[] = {
        {"forward", m_forward},         {"backward", m_backward},
        {"train", m_train},             {"eval", m_eval},
        {"is_training", m_is_training}, {"parameters", m_parameters},
        {"grads", m_grads},             {"buffers", m_buffers},
        {"param_count", m_param_count}, {"model", m_model},
        {"nodes", m_nodes},             {"input_shape", m_input_shape},
        {"output_shape", m_output_shape}, {"initialise", m_initialise},
        {"copy_state", m_copy_state},   {"clone", m_clone},
        {"save", m_save},               {"load", m_load},
        {"release_activations", m_release_activations},
        {"activation_bytes", m_activation_bytes},
        {"close", net_close},           {NULL, NULL}};
    static const luaL_Reg functions[] = {
        {"net_create", l_net_create},
        {"net_conv2d", l_net_conv2d},
        {"net_batchnorm", l_net_batchnorm},
        {"net_activation", l_net_activation},
        {"net_maxpool", l_net_maxpool},
        {"net_avgpool", l_net_avgpool},
        {"net_global_avgpool", l_net_global_avgpool},
        {"net_linear", l_net_linear},
        {"net_shortcut_a", l_net_shortcut_a},
        {"net_add", l_net_add},
        {"net_finalize", l_net_finalize},
        {"net_node", l_net_node},
        {"load", l_load},
        {NULL, NULL}};

    luaL_newmetatable(L, GF_LUA_NET);
    lua_pushcfunction(L, net_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, net_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, net_tostring);
    lua_setfield(L, -2, "__tostring");
    luaL_newlib(L, methods);
    lua_pushvalue(L, -1);
    lua_setfield(L, module, "net_methods"); /* for documentation */
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_pushvalue(L, module);
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
}
