/* Training in Lua (graft.core.sgd, schedule, diff_lr, train_step, evaluate,
 * checkpoint_save/load): the pieces the Lua trainer (lua/graft/train/)
 * drives once per batch and once per epoch. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "lua/binding.h"
#include "lua/options.h"
#include "train/checkpoint_dir.h"
#include "train/ensemble.h"
#include "train/schedule.h"
#include "train/sgd.h"
#include "train/step.h"

typedef struct lua_sgd {
    gf_sgd *sgd; /* NULL once closed */
} lua_sgd;

static gf_sgd *check_sgd(lua_State *L, int index) {
    lua_sgd *u = luaL_checkudata(L, index, GF_LUA_SGD);
    if (!u->sgd) luaL_error(L, "optimizer was closed");
    return u->sgd;
}

/* graft.core.sgd{count = n or net = net, momentum = 0, dampening = 0,
 * weight_decay = 0, nesterov = false} */
static int l_sgd(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const allowed[] = {"count", "net", "momentum", "dampening",
                                          "weight_decay", "nesterov", NULL};
    gf_lua_check_options(L, 1, "graft.core.sgd", allowed);
    lua_getfield(L, 1, "net");
    lua_Integer count;
    if (!lua_isnil(L, -1))
        count = (lua_Integer)gf_net_param_count(gf_lua_check_net(L, -1));
    else
        count = gf_lua_opt_integer(L, 1, "count", -1);
    lua_pop(L, 1);
    if (count < 0) return luaL_error(L, "graft.core.sgd: give net= or count= (parameters)");
    lua_getfield(L, 1, "nesterov");
    bool nesterov = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_sgd *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->sgd = NULL;
    luaL_setmetatable(L, GF_LUA_SGD);
    u->sgd = gf_sgd_create((size_t)count, (float)gf_lua_opt_number(L, 1, "momentum", 0),
                           (float)gf_lua_opt_number(L, 1, "dampening", 0),
                           (float)gf_lua_opt_number(L, 1, "weight_decay", 0), nesterov);
    if (!u->sgd) return gf_lua_raise(L, "graft.core.sgd");
    return 1;
}

/* sgd:step(net, lr): one update from the gradients of the network's last backward */
static int sgd_step_net(lua_State *L) {
    gf_sgd *sgd = check_sgd(L, 1);
    gf_net *net = gf_lua_check_net(L, 2);
    float lr = (float)luaL_checknumber(L, 3);
    if (gf_sgd_step(sgd, gf_net_params(net), gf_net_grads(net), gf_net_param_count(net), lr) !=
        GF_OK)
        return gf_lua_raise(L, "sgd:step");
    return 0;
}

/* sgd:step_tensors(params, grads, lr): the same on plain tensors (updates params) */
static int sgd_step_tensors(lua_State *L) {
    gf_sgd *sgd = check_sgd(L, 1);
    gf_tensor *p = gf_lua_check_tensor(L, 2), *g = gf_lua_check_tensor(L, 3);
    float lr = (float)luaL_checknumber(L, 4);
    if (p->numel != g->numel)
        return luaL_error(L, "sgd:step_tensors: %d parameters but %d gradients", (int)p->numel,
                          (int)g->numel);
    if (gf_sgd_step(sgd, p->data, g->data, (size_t)p->numel, lr) != GF_OK)
        return gf_lua_raise(L, "sgd:step_tensors");
    return 0;
}

/* sgd:momentum_buffer() -> a copy of the buffer as a tensor, or nil before the first step */
static int sgd_buffer(lua_State *L) {
    gf_sgd *sgd = check_sgd(L, 1);
    if (!sgd->buffer || !sgd->buffer_filled) {
        lua_pushnil(L);
        return 1;
    }
    int64_t shape[1] = {(int64_t)sgd->count};
    gf_tensor *t = gf_lua_new_tensor(L, 1, shape);
    memcpy(t->data, sgd->buffer, sgd->count * sizeof(float));
    return 1;
}

static int sgd_close(lua_State *L) {
    lua_sgd *u = luaL_checkudata(L, 1, GF_LUA_SGD);
    gf_sgd_free(u->sgd);
    u->sgd = NULL;
    return 0;
}

/* ---- schedules ---- */

static const gf_schedule *check_schedule(lua_State *L, int index) {
    return luaL_checkudata(L, index, GF_LUA_SCHEDULE);
}

/* graft.core.schedule{kind = 'constant', lr =, iterations_per_epoch =, epochs =
 * (cosine), step = (step), gamma = (step, multistep), milestones = {...},
 * warmup_iterations = 0}: the values a kind uses are required (graft.train
 * declares their defaults) */
static int l_schedule(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    static const char *const allowed[] = {"kind", "lr", "iterations_per_epoch", "epochs", "step",
                                          "gamma", "milestones", "warmup_iterations", NULL};
    gf_lua_check_options(L, 1, "graft.core.schedule", allowed);
    gf_schedule s = {0};
    lua_getfield(L, 1, "kind");
    const char *kind = luaL_optstring(L, -1, "constant");
    if (gf_schedule_kind_parse(kind, &s.kind) != GF_OK) return gf_lua_raise(L, "graft.core.schedule");
    lua_pop(L, 1);
    s.lr = gf_lua_need_number(L, 1, "lr");
    s.iterations_per_epoch = gf_lua_need_integer(L, 1, "iterations_per_epoch");
    bool cosine = s.kind == GF_SCHEDULE_COSINE, step = s.kind == GF_SCHEDULE_STEP;
    s.epochs = cosine ? gf_lua_need_int(L, 1, "epochs", 1) : gf_lua_opt_int(L, 1, "epochs", 0, 0);
    s.step_epochs = step ? gf_lua_need_int(L, 1, "step", 1) : gf_lua_opt_int(L, 1, "step", 0, 0);
    s.gamma = step || s.kind == GF_SCHEDULE_MULTISTEP ? gf_lua_need_number(L, 1, "gamma")
                                                      : gf_lua_opt_number(L, 1, "gamma", 0);
    s.warmup_iterations = gf_lua_opt_integer(L, 1, "warmup_iterations", 0);
    lua_getfield(L, 1, "milestones");
    if (!lua_isnil(L, -1)) {
        luaL_checktype(L, -1, LUA_TTABLE);
        lua_Integer n = luaL_len(L, -1);
        if (n > GF_SCHEDULE_MAX_MILESTONES)
            return luaL_error(L, "graft.core.schedule: %d milestones (at most %d)", (int)n,
                              GF_SCHEDULE_MAX_MILESTONES);
        for (int i = 0; i < n; i++) {
            lua_geti(L, -1, i + 1);
            lua_Integer epoch = luaL_checkinteger(L, -1);
            if (epoch < 1 || epoch > INT_MAX)
                return luaL_error(L, "graft.core.schedule: milestone %d is %I (an epoch in [1, %d] expected)",
                                  i + 1, epoch, INT_MAX);
            s.milestones[i] = (int)epoch;
            lua_pop(L, 1);
        }
        s.milestone_count = (int)n;
    }
    lua_pop(L, 1);
    if (gf_schedule_check(&s) != GF_OK) return gf_lua_raise(L, "graft.core.schedule");
    gf_schedule *u = lua_newuserdatauv(L, sizeof *u, 0);
    *u = s;
    luaL_setmetatable(L, GF_LUA_SCHEDULE);
    return 1;
}

/* schedule:lr(t) or schedule(t): the learning rate at global iteration t (0-based) */
static int schedule_lr(lua_State *L) {
    const gf_schedule *s = check_schedule(L, 1);
    lua_Integer t = luaL_checkinteger(L, 2);
    if (t < 0) return luaL_error(L, "schedule:lr: iteration %d is negative", (int)t);
    lua_pushnumber(L, gf_schedule_lr(s, t));
    return 1;
}

/* graft.core.diff_lr(lr, i, K): initial rate of network i of K (1-based) */
static int l_diff_lr(lua_State *L) {
    lua_Number lr = luaL_checknumber(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2), k = luaL_checkinteger(L, 3);
    if (k < 1 || i < 1 || i > k)
        return luaL_error(L, "graft.core.diff_lr: network %d of %d (need 1 <= i <= K)", (int)i,
                          (int)k);
    lua_pushnumber(L, gf_diff_lr(lr, (int)i, (int)k));
    return 1;
}

/* ---- steps ---- */

/* The loader's next batch with its image shape; 0 at the end of the epoch. */
static int next_batch(gf_loader *loader, gf_batch *batch) {
    gf_loader_image_shape(loader, &batch->channels, &batch->height, &batch->width);
    return batch->count = gf_loader_next(loader, &batch->images, &batch->labels);
}

/* The soft-target settings {temperature = T, weight = w} at index: the temperature
 * is required (graft.run declares each method's), the weight 1 when absent. */
static void check_soft_options(lua_State *L, int index, const char *fname,
                               const char *const *allowed, double *temperature, double *weight) {
    luaL_checktype(L, index, LUA_TTABLE);
    gf_lua_check_options(L, index, fname, allowed);
    *temperature = gf_lua_need_number(L, index, "temperature");
    *weight = gf_lua_opt_number(L, index, "weight", 1.0);
}

/* graft.core.train_step(net, sgd, loader, lr [, {teacher = net, temperature =,
 * weight = 1}]) -> n, mean loss, top1 hits, top5 hits, finite [, statistic, value];
 * nil at the end of the epoch. With a teacher, a step of knowledge distillation. A
 * non-finite loss or BatchNorm running statistic leaves the weights and statistics
 * as they were (finite = false); the statistic's name and value follow when it was
 * one. */
static int l_train_step(lua_State *L) {
    gf_net *net = gf_lua_check_net(L, 1);
    gf_sgd *sgd = check_sgd(L, 2);
    gf_loader *loader = gf_lua_check_loader(L, 3);
    float lr = (float)luaL_checknumber(L, 4);
    gf_net *teacher = NULL;
    double temperature = 0, weight = 0;
    if (!lua_isnoneornil(L, 5)) {
        static const char *const allowed[] = {"teacher", "temperature", "weight", NULL};
        check_soft_options(L, 5, "graft.core.train_step", allowed, &temperature, &weight);
        lua_getfield(L, 5, "teacher");
        teacher = gf_lua_check_net(L, -1);
        lua_pop(L, 1);
    }
    gf_batch batch;
    int n = next_batch(loader, &batch);
    if (n == 0) {
        lua_pushnil(L);
        return 1;
    }
    gf_step_result r;
    int status = teacher ? gf_distill_step(net, sgd, teacher, &batch, lr, temperature, weight, &r)
                         : gf_train_step(net, sgd, &batch, lr, &r);
    if (status != GF_OK) return gf_lua_raise(L, "graft.core.train_step");
    lua_pushinteger(L, n);
    lua_pushnumber(L, r.loss_sum / n);
    lua_pushinteger(L, r.top1);
    lua_pushinteger(L, r.top5);
    lua_pushboolean(L, r.finite);
    if (!r.bad_statistic) return 5;
    lua_pushstring(L, r.bad_statistic);
    lua_pushnumber(L, r.bad_value);
    return 7;
}

/* graft.core.mutual_step({net, ...}, {sgd, ...}, loader, {lr, ...}, {temperature =,
 * weight = 1}) -> n, {{loss =, top1 =, top5 = [, bad_statistic =, bad_value =]}, ...},
 * finite; nil at the end of the epoch. One step of deep mutual learning: every network
 * on the same batch. */
static int l_mutual_step(lua_State *L) {
    const char *fname = "graft.core.mutual_step";
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    gf_loader *loader = gf_lua_check_loader(L, 3);
    luaL_checktype(L, 4, LUA_TTABLE);
    double temperature, weight;
    static const char *const allowed[] = {"temperature", "weight", NULL};
    check_soft_options(L, 5, fname, allowed, &temperature, &weight);
    int count = (int)luaL_len(L, 1);
    if (count < 2 || luaL_len(L, 2) != count || luaL_len(L, 4) != count)
        return luaL_error(L, "%s: needs at least 2 networks and one sgd and lr each, got %d "
                          "networks, %d sgds, %d rates", fname, count, (int)luaL_len(L, 2),
                          (int)luaL_len(L, 4));
    /* scratch in userdata, so that an error below cannot leak it */
    gf_net **nets = lua_newuserdatauv(L, (size_t)count * sizeof *nets, 0);
    gf_sgd **sgds = lua_newuserdatauv(L, (size_t)count * sizeof *sgds, 0);
    float *lrs = lua_newuserdatauv(L, (size_t)count * sizeof *lrs, 0);
    gf_step_result *results = lua_newuserdatauv(L, (size_t)count * sizeof *results, 0);
    for (int k = 0; k < count; k++) {
        lua_geti(L, 1, k + 1);
        nets[k] = gf_lua_check_net(L, -1);
        lua_geti(L, 2, k + 1);
        sgds[k] = check_sgd(L, -1);
        lua_geti(L, 4, k + 1);
        lrs[k] = (float)luaL_checknumber(L, -1);
        lua_pop(L, 3);
    }
    gf_batch batch;
    int n = next_batch(loader, &batch);
    if (n == 0) {
        lua_pushnil(L);
        return 1;
    }
    if (gf_mutual_step(nets, sgds, count, &batch, lrs, temperature, weight, results) != GF_OK)
        return gf_lua_raise(L, fname);
    lua_pushinteger(L, n);
    lua_createtable(L, count, 0);
    bool finite = true;
    for (int k = 0; k < count; k++) {
        lua_createtable(L, 0, 3);
        lua_pushnumber(L, results[k].loss_sum / n);
        lua_setfield(L, -2, "loss");
        lua_pushinteger(L, results[k].top1);
        lua_setfield(L, -2, "top1");
        lua_pushinteger(L, results[k].top5);
        lua_setfield(L, -2, "top5");
        if (results[k].bad_statistic) {
            lua_pushstring(L, results[k].bad_statistic);
            lua_setfield(L, -2, "bad_statistic");
            lua_pushnumber(L, results[k].bad_value);
            lua_setfield(L, -2, "bad_value");
        }
        lua_rawseti(L, -2, k + 1);
        finite = finite && results[k].finite;
    }
    lua_pushboolean(L, finite);
    return 3;
}

/* graft.core.evaluate(net, loader) -> n, mean loss, top1 hits, top5 hits */
static int l_evaluate(lua_State *L) {
    gf_net *net = gf_lua_check_net(L, 1);
    gf_loader *loader = gf_lua_check_loader(L, 2);
    gf_step_result r = {0};
    if (gf_evaluate(net, loader, &r) != GF_OK) return gf_lua_raise(L, "graft.core.evaluate");
    lua_pushinteger(L, r.count);
    lua_pushnumber(L, r.count > 0 ? r.loss_sum / (double)r.count : 0.0);
    lua_pushinteger(L, r.top1);
    lua_pushinteger(L, r.top5);
    return 4;
}

/* graft.core.ensemble_evaluate({net, ...}, loader [, keep_sums]) -> top1, count [, sums]:
 * the ensemble's hits (argmax of the summed softmax) and, with keep_sums, the summed
 * softmax outputs [count, classes] */
static int l_ensemble_evaluate(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    gf_loader *loader = gf_lua_check_loader(L, 2);
    bool keep_sums = lua_toboolean(L, 3);
    lua_Integer count = luaL_len(L, 1);
    luaL_argcheck(L, count >= 1 && count <= 4096, 1, "1 to 4096 networks");
    /* the networks stay referenced by argument 1 while they are used */
    gf_net **nets = lua_newuserdatauv(L, (size_t)count * sizeof *nets, 0);
    for (lua_Integer k = 0; k < count; k++) {
        lua_geti(L, 1, k + 1);
        if (!luaL_testudata(L, -1, GF_LUA_NET))
            return luaL_error(L, "graft.core.ensemble_evaluate: entry %d of the networks is a %s, "
                                 "not a network", (int)k + 1, luaL_typename(L, -1));
        nets[k] = gf_lua_check_net(L, lua_gettop(L));
        lua_pop(L, 1);
    }
    gf_ensemble_result r;
    gf_tensor *sums = NULL;
    if (gf_ensemble_evaluate(nets, (int)count, loader, &r, keep_sums ? &sums : NULL) != GF_OK)
        return gf_lua_raise(L, "graft.core.ensemble_evaluate");
    lua_pushinteger(L, r.top1);
    lua_pushinteger(L, r.count);
    if (!keep_sums) return 2;
    gf_lua_push_tensor(L, sums, 0);
    return 3;
}

/* ---- checkpoints ---- */

/* graft.core.checkpoint_save(dir, net, sgd, loader, epoch, history_text) */
static int l_checkpoint_save(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1);
    gf_net *net = gf_lua_check_net(L, 2);
    gf_sgd *sgd = check_sgd(L, 3);
    gf_loader *loader = gf_lua_check_loader(L, 4);
    gf_train_state state = {.epoch = gf_lua_check_int(L, 5),
                            .history = (char *)luaL_optstring(L, 6, "")};
    gf_loader_get_rngs(loader, &state.loader_rngs);
    if (gf_train_checkpoint_save(dir, net, sgd, &state) != GF_OK)
        return gf_lua_raise(L, "graft.core.checkpoint_save");
    return 0;
}

/* A Lua function on the stack that checks a checkpoint's history. */
typedef struct history_check {
    lua_State *L;
    int function; /* stack index */
} history_check;

/* Calls the check with epoch, history text and path; a string it returns, or an
 * error it raises, refuses the checkpoint. */
static int call_history_check(void *context, int epoch, const char *history, const char *path) {
    const history_check *c = context;
    lua_State *L = c->L;
    lua_pushvalue(L, c->function);
    lua_pushinteger(L, epoch);
    lua_pushstring(L, history);
    lua_pushstring(L, path);
    int status = GF_OK;
    if (lua_pcall(L, 3, 1, 0) != LUA_OK || lua_isstring(L, -1))
        status = gf_fail("%s", lua_tostring(L, -1));
    lua_pop(L, 1);
    return status;
}

/* graft.core.checkpoint_load(dir, net, sgd, loader [, check]) -> epoch, history_text,
 * or nil when dir holds no complete epoch. check(epoch, history_text, path), called
 * before anything changes, returns nil to accept or a message to refuse. */
static int l_checkpoint_load(lua_State *L) {
    const char *dir = luaL_checkstring(L, 1);
    gf_net *net = gf_lua_check_net(L, 2);
    gf_sgd *sgd = check_sgd(L, 3);
    gf_loader *loader = gf_lua_check_loader(L, 4);
    bool has_check = !lua_isnoneornil(L, 5);
    if (has_check) luaL_checktype(L, 5, LUA_TFUNCTION);
    history_check check = {L, 5};
    gf_train_state state = {0};
    int found = 0;
    if (gf_train_checkpoint_load(dir, net, sgd, &state, &found,
                                 has_check ? call_history_check : NULL, &check) != GF_OK)
        return gf_lua_raise(L, "graft.core.checkpoint_load");
    if (!found) {
        lua_pushnil(L);
        return 1;
    }
    if (gf_loader_set_rngs(loader, &state.loader_rngs) != GF_OK) {
        free(state.history);
        return gf_lua_raise(L, "graft.core.checkpoint_load");
    }
    lua_pushinteger(L, state.epoch);
    lua_pushstring(L, state.history);
    free(state.history);
    return 2;
}

/* ---- for progress reports ---- */

/* graft.core.monotonic_seconds() -> seconds of a clock that never jumps (wall time) */
static int l_monotonic_seconds(lua_State *L) {
    lua_pushnumber(L, gf_clock_seconds());
    return 1;
}

void gf_lua_register_train(lua_State *L, int module) {
    static const luaL_Reg sgd_methods[] = {{"step", sgd_step_net},
                                           {"step_tensors", sgd_step_tensors},
                                           {"momentum_buffer", sgd_buffer},
                                           {"close", sgd_close},
                                           {NULL, NULL}};
    luaL_newmetatable(L, GF_LUA_SGD);
    luaL_newlib(L, sgd_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, sgd_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, sgd_close);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);

    static const luaL_Reg schedule_methods[] = {{"lr", schedule_lr}, {NULL, NULL}};
    luaL_newmetatable(L, GF_LUA_SCHEDULE);
    luaL_newlib(L, schedule_methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, schedule_lr);
    lua_setfield(L, -2, "__call");
    lua_pop(L, 1);

    static const luaL_Reg functions[] = {{"sgd", l_sgd},
                                         {"schedule", l_schedule},
                                         {"diff_lr", l_diff_lr},
                                         {"train_step", l_train_step},
                                         {"mutual_step", l_mutual_step},
                                         {"evaluate", l_evaluate},
                                         {"ensemble_evaluate", l_ensemble_evaluate},
                                         {"checkpoint_save", l_checkpoint_save},
                                         {"checkpoint_load", l_checkpoint_load},
                                         {"monotonic_seconds", l_monotonic_seconds},
                                         {NULL, NULL}};
    lua_pushvalue(L, module);
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
}
