/* Filter grafting in Lua: criteria, adaptive alpha, scions, the ring of K networks
 * and the invalid-filter analysis (src/graft). Scratch memory lives in Lua userdata
 * so that a Lua error cannot leak it. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "graft/analysis.h"
#include "graft/criteria.h"
#include "graft/ring.h"
#include "graft/scions.h"
#include "graft/weighting.h"
#include "lua/binding.h"

static int check_bins(lua_State *L, int index) {
    lua_Integer bins = luaL_optinteger(L, index, GF_DEFAULT_BINS);
    if (bins < 1 || bins > 1000000)
        return luaL_argerror(L, index, lua_pushfstring(L, "bins must be 1..1000000, got %I", bins));
    return (int)bins;
}

/* A tensor seen as [filters, per_filter] (first dimension = filters; a 1-D
 * tensor is one filter). */
static void filter_view(const gf_tensor *t, int64_t *filters, int64_t *per_filter) {
    *filters = t->ndim > 1 ? t->shape[0] : 1;
    *per_filter = t->numel / *filters;
}

static int l_l1(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    int64_t filters, per_filter;
    filter_view(t, &filters, &per_filter);
    double *l1 = lua_newuserdatauv(L, (size_t)filters * sizeof *l1, 0);
    gf_filter_l1(t->data, filters, per_filter, l1);
    gf_tensor *out = gf_lua_new_tensor(L, 1, &filters);
    for (int64_t f = 0; f < filters; f++) out->data[f] = (float)l1[f];
    return 1;
}

static int l_entropy(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    int bins = check_bins(L, 2);
    double h;
    if (gf_entropy(t->data, (size_t)t->numel, bins, &h) != GF_OK) return gf_lua_raise(L, "graft.entropy");
    lua_pushnumber(L, h);
    return 1;
}

static int l_filter_entropy(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    int bins = check_bins(L, 2);
    int64_t filters, per_filter;
    filter_view(t, &filters, &per_filter);
    double *h = lua_newuserdatauv(L, (size_t)filters * sizeof *h, 0);
    if (gf_filter_entropy(t->data, filters, per_filter, bins, h) != GF_OK)
        return gf_lua_raise(L, "graft.filter_entropy");
    gf_tensor *out = gf_lua_new_tensor(L, 1, &filters);
    for (int64_t f = 0; f < filters; f++) out->data[f] = (float)h[f];
    return 1;
}

static gf_criterion check_criterion(lua_State *L, int index, const char *default_name) {
    const char *name = luaL_optstring(L, index, default_name);
    gf_criterion criterion;
    if (gf_criterion_parse(name, &criterion) != GF_OK)
        luaL_argerror(L, index, gf_error_message());
    return criterion;
}

/* layer_information(t, criterion, bins): eq. 5, eq. 6 or the l1 norm of a layer */
static int l_layer_information(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    gf_criterion criterion = check_criterion(L, 2, "entropy");
    int bins = check_bins(L, 3);
    int64_t filters, per_filter;
    filter_view(t, &filters, &per_filter);
    double info;
    if (gf_layer_information(t->data, filters, per_filter, criterion, bins, &info) != GF_OK)
        return gf_lua_raise(L, "graft.layer_information");
    lua_pushnumber(L, info);
    return 1;
}

static int l_alpha(lua_State *L) {
    double values[4] = {luaL_checknumber(L, 1), luaL_checknumber(L, 2),
                        luaL_optnumber(L, 3, GF_DEFAULT_A), luaL_optnumber(L, 4, GF_DEFAULT_C)};
    static const char *const names[4] = {"h_self", "h_other", "A", "c"};
    /* a NaN or infinite input would make alpha NaN, and a grafted layer with it */
    for (int i = 0; i < 4; i++)
        if (!isfinite(values[i]))
            return luaL_error(L, "graft.alpha: argument %d (%s) is %f; it must be a finite number",
                              i + 1, names[i], values[i]);
    double self = values[0], other = values[1], A = values[2], c = values[3];
    bool round_it = lua_toboolean(L, 5);
    lua_pushnumber(L, gf_adaptive_alpha(self, other, A, c, round_it));
    return 1;
}

static int l_histogram(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    int bins = check_bins(L, 2);
    if (t->numel == 0) return luaL_argerror(L, 1, "empty tensor");
    double lo = luaL_optnumber(L, 3, gf_tensor_min(t)), hi = luaL_optnumber(L, 4, gf_tensor_max(t));
    int64_t *counts = lua_newuserdatauv(L, (size_t)bins * sizeof *counts, 0);
    if (gf_histogram(t->data, (size_t)t->numel, bins, lo, hi, counts) != GF_OK)
        return gf_lua_raise(L, "graft.histogram");
    lua_createtable(L, bins, 0);
    for (int k = 0; k < bins; k++) {
        lua_pushinteger(L, counts[k]);
        lua_rawseti(L, -2, k + 1);
    }
    lua_createtable(L, bins + 1, 0);
    for (int k = 0; k <= bins; k++) {
        lua_pushnumber(L, lo + (hi - lo) * k / bins);
        lua_rawseti(L, -2, k + 1);
    }
    return 2;
}

/* histogram_values(t [, log10]) -> tensor of the values a histogram shows (nil when
 * none), how many were left out */
static int l_histogram_values(lua_State *L) {
    gf_tensor *t = gf_lua_check_tensor(L, 1);
    bool logarithmic = lua_toboolean(L, 2);
    float *kept = lua_newuserdatauv(L, (size_t)(t->numel ? t->numel : 1) * sizeof *kept, 0);
    int64_t count = (int64_t)gf_histogram_values(t->data, (size_t)t->numel, logarithmic, kept);
    if (count > 0)
        memcpy(gf_lua_new_tensor(L, 1, &count)->data, kept, (size_t)count * sizeof *kept);
    else
        lua_pushnil(L);
    lua_pushinteger(L, t->numel - count);
    return 2;
}

static void set_number(lua_State *L, const char *key, double value) {
    lua_pushnumber(L, value);
    lua_setfield(L, -2, key);
}

static void set_integer(lua_State *L, const char *key, lua_Integer value) {
    lua_pushinteger(L, value);
    lua_setfield(L, -2, key);
}

/* invalid_filters(net, threshold [, rule = 'conv_keys']) -> {filters, invalid, ratio,
 * threshold, rule, layers = {...}} */
static int l_invalid_filters(lua_State *L) {
    gf_net *net = gf_lua_check_net(L, 1);
    double threshold = luaL_checknumber(L, 2);
    gf_conv_rule rule = GF_CONV_KEYS;
    if (!lua_isnoneornil(L, 3) && gf_conv_rule_parse(luaL_checkstring(L, 3), "rule", &rule) != GF_OK)
        return gf_lua_raise(L, "graft.invalid_filters");
    int capacity = gf_conv_layer_count(net), count = 0;
    gf_invalid_layer *layers =
        lua_newuserdatauv(L, (size_t)(capacity ? capacity : 1) * sizeof *layers, 0);
    int64_t filters = 0, invalid = 0;
    if (gf_invalid_filters(net, threshold, rule, layers, capacity, &count, &filters, &invalid) !=
        GF_OK)
        return gf_lua_raise(L, "graft.invalid_filters");
    lua_createtable(L, 0, 5);
    set_integer(L, "filters", filters);
    set_integer(L, "invalid", invalid);
    set_number(L, "ratio", filters ? (double)invalid / (double)filters : 0.0);
    set_number(L, "threshold", threshold);
    lua_pushstring(L, gf_conv_rule_name(rule));
    lua_setfield(L, -2, "rule");
    lua_createtable(L, count, 0);
    for (int l = 0; l < count; l++) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, layers[l].layer);
        lua_setfield(L, -2, "name");
        set_integer(L, "filters", layers[l].filters);
        set_integer(L, "invalid", layers[l].invalid);
        set_number(L, "ratio", (double)layers[l].invalid / (double)layers[l].filters);
        lua_rawseti(L, -2, l + 1);
    }
    lua_setfield(L, -2, "layers");
    return 1;
}

/* invalid_ratios(net or tensor of filter l1 norms, {thresholds} [, rule = 'conv_keys'])
 * -> {ratios}, filters (the rule chooses a network's counted convs, as invalid_filters) */
static int l_invalid_ratios(lua_State *L) {
    gf_net *net = luaL_testudata(L, 1, GF_LUA_NET) ? gf_lua_check_net(L, 1) : NULL;
    gf_tensor *given = net ? NULL : gf_lua_test_tensor(L, 1);
    if (!net && !given) return luaL_argerror(L, 1, "a network or a tensor of filter l1 norms");
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer count = luaL_len(L, 2);
    luaL_argcheck(L, count >= 1 && count <= 1000000, 2, "1 to 1000000 thresholds");
    gf_conv_rule rule = GF_CONV_KEYS;
    if (!lua_isnoneornil(L, 3) && gf_conv_rule_parse(luaL_checkstring(L, 3), "rule", &rule) != GF_OK)
        return gf_lua_raise(L, "graft.invalid_ratios");
    double *thresholds = lua_newuserdatauv(L, (size_t)count * sizeof *thresholds, 0);
    double *ratios = lua_newuserdatauv(L, (size_t)count * sizeof *ratios, 0);
    for (lua_Integer t = 0; t < count; t++) {
        if (lua_geti(L, 2, t + 1) != LUA_TNUMBER)
            return luaL_error(L, "graft.invalid_ratios: threshold %d is not a number", (int)t + 1);
        thresholds[t] = lua_tonumber(L, -1);
        lua_pop(L, 1);
    }
    int64_t filters = given ? given->numel : 0;
    int status;
    if (net) {
        status = gf_net_invalid_ratios(net, rule, thresholds, (int)count, ratios, &filters);
    } else {
        double *l1 = lua_newuserdatauv(L, (size_t)(filters ? filters : 1) * sizeof *l1, 0);
        for (int64_t f = 0; f < filters; f++) l1[f] = given->data[f];
        status = gf_invalid_ratios(l1, filters, thresholds, (int)count, ratios);
    }
    if (status != GF_OK) return gf_lua_raise(L, "graft.invalid_ratios");
    lua_createtable(L, (int)count, 0);
    for (lua_Integer t = 0; t < count; t++) {
        lua_pushnumber(L, ratios[t]);
        lua_rawseti(L, -2, t + 1);
    }
    lua_pushinteger(L, filters);
    return 2;
}

static int l_information(lua_State *L) {
    gf_net *net = gf_lua_check_net(L, 1);
    int bins = check_bins(L, 2);
    double information;
    if (gf_network_information(net, bins, &information) != GF_OK)
        return gf_lua_raise(L, "graft.information");
    lua_pushnumber(L, information);
    return 1;
}

/* conv_filter_l1(net [, rule = 'conv_keys']) -> tensor of the l1 norms of the conv
 * filters the rule takes (those invalid_filters counts) */
static int l_conv_filter_l1(lua_State *L) {
    gf_net *net = gf_lua_check_net(L, 1);
    gf_conv_rule rule = GF_CONV_KEYS;
    if (!lua_isnoneornil(L, 2) && gf_conv_rule_parse(luaL_checkstring(L, 2), "rule", &rule) != GF_OK)
        return gf_lua_raise(L, "graft.filter_l1");
    int64_t count;
    if (gf_conv_filter_count(net, rule, &count) != GF_OK) return gf_lua_raise(L, "graft.filter_l1");
    double *l1 = lua_newuserdatauv(L, (size_t)(count ? count : 1) * sizeof *l1, 0);
    if (gf_conv_filter_l1(net, rule, l1, count) != GF_OK) return gf_lua_raise(L, "graft.filter_l1");
    gf_tensor *out = gf_lua_new_tensor(L, 1, &count);
    for (int64_t f = 0; f < count; f++) out->data[f] = (float)l1[f];
    return 1;
}

/* scion_noise(net, gamma, sigma, seed [, stream]) -> filters grafted */
static int l_scion_noise(lua_State *L) {
    gf_net *net = gf_lua_check_net(L, 1);
    double gamma = luaL_checknumber(L, 2), sigma = luaL_checknumber(L, 3);
    lua_Integer seed = luaL_checkinteger(L, 4), stream = luaL_optinteger(L, 5, 0);
    gf_rng rng;
    gf_rng_seed(&rng, (uint64_t)seed, (uint64_t)stream);
    int64_t grafted;
    if (gf_scion_noise(net, gamma, sigma, &rng, &grafted) != GF_OK)
        return gf_lua_raise(L, "graft.scion_noise");
    lua_pushinteger(L, grafted);
    return 1;
}

static int l_scion_internal(lua_State *L) {
    gf_net *net = gf_lua_check_net(L, 1);
    double gamma = luaL_checknumber(L, 2);
    int64_t grafted;
    if (gf_scion_internal(net, gamma, &grafted) != GF_OK)
        return gf_lua_raise(L, "graft.scion_internal");
    lua_pushinteger(L, grafted);
    return 1;
}

static gf_graft_options check_ring_options(lua_State *L, int index) {
    gf_graft_options options = gf_graft_options_default();
    if (lua_isnoneornil(L, index)) return options;
    luaL_checktype(L, index, LUA_TTABLE);
    lua_getfield(L, index, "criterion");
    if (!lua_isnil(L, -1)) options.criterion = check_criterion(L, lua_gettop(L), "entropy");
    lua_getfield(L, index, "bins");
    if (!lua_isnil(L, -1)) options.bins = check_bins(L, lua_gettop(L));
    lua_getfield(L, index, "A");
    if (!lua_isnil(L, -1)) options.weighting.A = luaL_checknumber(L, -1);
    lua_getfield(L, index, "c");
    if (!lua_isnil(L, -1)) options.weighting.c = luaL_checknumber(L, -1);
    lua_getfield(L, index, "round");
    if (!lua_isnil(L, -1)) options.weighting.round = lua_toboolean(L, -1);
    lua_getfield(L, index, "alpha");
    if (!lua_isnil(L, -1)) {
        options.weighting.adaptive = false;
        options.weighting.fixed_alpha = luaL_checknumber(L, -1);
    }
    lua_getfield(L, index, "filter_level");
    options.filter_level = lua_toboolean(L, -1);
    lua_getfield(L, index, "alpha_rule");
    if (!lua_isnil(L, -1) &&
        gf_conv_rule_parse(luaL_checkstring(L, -1), "alpha_rule", &options.alpha_rule) != GF_OK)
        gf_lua_raise(L, "graft.graft_ring");
    lua_getfield(L, index, "filter_rule");
    if (!lua_isnil(L, -1) && gf_filter_rule_parse(luaL_checkstring(L, -1), &options.filter_rule) != GF_OK)
        gf_lua_raise(L, "graft.graft_ring");
    lua_pop(L, 9);
    return options;
}

/* One round over a ring (closed) or an open chain of the networks at index 1. */
static int graft_round(lua_State *L, bool closed, const char *operation) {
    luaL_checktype(L, 1, LUA_TTABLE);
    gf_graft_options options = check_ring_options(L, 2);
    int count = (int)luaL_len(L, 1);
    if (count < 1) return luaL_argerror(L, 1, "needs at least one network");
    gf_net **nets = lua_newuserdatauv(L, (size_t)count * sizeof *nets, 0);
    for (int k = 0; k < count; k++) {
        lua_geti(L, 1, k + 1);
        nets[k] = gf_lua_check_net(L, -1);
        lua_pop(L, 1);
    }
    int capacity = closed ? gf_graft_record_count(nets[0], count)
                          : gf_graft_chain_record_count(nets[0], count);
    gf_graft_record *records =
        lua_newuserdatauv(L, (size_t)(capacity ? capacity : 1) * sizeof *records, 0);
    if ((closed ? gf_graft_ring : gf_graft_chain)(nets, count, &options, records, capacity) != GF_OK)
        return gf_lua_raise(L, operation);
    lua_createtable(L, capacity, 0);
    for (int i = 0; i < capacity; i++) {
        const gf_graft_record *r = &records[i];
        lua_createtable(L, 0, 11);
        set_integer(L, "network", r->network + 1);
        set_integer(L, "source", r->source + 1);
        lua_pushstring(L, r->layer);
        lua_setfield(L, -2, "layer");
        set_number(L, "alpha", r->alpha);
        set_number(L, "info_self", r->info_self);
        set_number(L, "info_other", r->info_other);
        set_number(L, "entropy_self", r->entropy_self);
        set_number(L, "entropy_other", r->entropy_other);
        set_number(L, "l1_self", r->l1_self);
        set_number(L, "l1_other", r->l1_other);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

/* graft_ring({net1, ..., netK} [, options]) -> records (1-based network indices) */
static int l_graft_ring(lua_State *L) { return graft_round(L, true, "graft.graft_ring"); }

/* graft_chain({net1, ..., netK} [, options]) -> records: net1 only gives (ring.h) */
static int l_graft_chain(lua_State *L) { return graft_round(L, false, "graft.graft_chain"); }

void gf_lua_register_graft(lua_State *L, int module) {
    static const luaL_Reg functions[] = {
        {"l1", l_l1},
        {"entropy", l_entropy},
        {"filter_entropy", l_filter_entropy},
        {"layer_information", l_layer_information},
        {"alpha", l_alpha},
        {"histogram", l_histogram},
        {"invalid_filters", l_invalid_filters},
        {"invalid_ratios", l_invalid_ratios},
        {"histogram_values", l_histogram_values},
        {"information", l_information},
        {"conv_filter_l1", l_conv_filter_l1},
        {"scion_noise", l_scion_noise},
        {"scion_internal", l_scion_internal},
        {"graft_ring", l_graft_ring},
        {"graft_chain", l_graft_chain},
        {NULL, NULL},
    };
    lua_pushvalue(L, module);
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
}
