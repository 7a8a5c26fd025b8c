/* The processes of an MPI run from Lua (src/mpi), for graft.run's ring spread over
 * them (lua/graft/run/ranks.lua) and for scripts started by mpirun:
 *   graft.core.mpi_built()                  whether graft was built with MPI
 *   graft.core.mpi_launched()               processes mpirun started (0: not started by it)
 *   graft.core.mpi_init()                   -> rank (0-based), size; joins the job once,
 *                                              which is left when the Lua state closes
 *   graft.core.mpi_rank(), mpi_size()       0 and 1 before mpi_init
 *   graft.core.mpi_timeout([seconds])       -> the bound of every wait (sets it)
 *   graft.core.mpi_exchange_net(mine, to, theirs, from, what)
 *   graft.core.mpi_allgather(text)          -> {text of rank 0, of rank 1, ...}
 *   graft.core.mpi_ensemble_evaluate({net...}, loader) -> top1, count */
#include <stdlib.h>

#include "core/error.h"
#include "lua/binding.h"
#include "mpi/ensemble.h"
#include "mpi/exchange.h"
#include "mpi/ranks.h"

#define JOB_KEY "graft.mpi.job"

static int l_mpi_built(lua_State *L) {
    lua_pushboolean(L, gf_mpi_built());
    return 1;
}

static int l_mpi_launched(lua_State *L) {
    lua_pushinteger(L, gf_mpi_launched_size());
    return 1;
}

static int leave_job(lua_State *L) {
    (void)L;
    gf_mpi_finalize();
    return 0;
}

static int l_mpi_init(lua_State *L) {
    if (!gf_mpi_active()) {
        if (gf_mpi_init() != GF_OK) return gf_lua_raise(L, "graft.core.mpi_init");
        /* the job is left in order when this state closes (lua_close collects it) */
        lua_newuserdatauv(L, 1, 0);
        lua_createtable(L, 0, 1);
        lua_pushcfunction(L, leave_job);
        lua_setfield(L, -2, "__gc");
        lua_setmetatable(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, JOB_KEY);
    }
    lua_pushinteger(L, gf_mpi_rank());
    lua_pushinteger(L, gf_mpi_size());
    return 2;
}

static int l_mpi_rank(lua_State *L) {
    lua_pushinteger(L, gf_mpi_rank());
    return 1;
}

static int l_mpi_size(lua_State *L) {
    lua_pushinteger(L, gf_mpi_size());
    return 1;
}

static int l_mpi_timeout(lua_State *L) {
    if (!lua_isnoneornil(L, 1) && gf_mpi_set_timeout(luaL_checknumber(L, 1)) != GF_OK)
        return gf_lua_raise(L, "graft.core.mpi_timeout");
    lua_pushnumber(L, gf_mpi_timeout());
    return 1;
}

static int check_rank(lua_State *L, int index) {
    lua_Integer rank = luaL_checkinteger(L, index);
    luaL_argcheck(L, rank >= 0 && rank < gf_mpi_size(), index, "not a rank of this job");
    return (int)rank;
}

static int l_mpi_exchange_net(lua_State *L) {
    gf_net *mine = gf_lua_check_net(L, 1);
    int to = check_rank(L, 2);
    gf_net *theirs = gf_lua_check_net(L, 3);
    int from = check_rank(L, 4);
    const char *what = luaL_optstring(L, 5, "a network's state");
    if (gf_mpi_exchange_net(mine, to, theirs, from, what) != GF_OK)
        return gf_lua_raise(L, "graft.core.mpi_exchange_net");
    return 0;
}

static int l_mpi_allgather(lua_State *L) {
    size_t length;
    const char *text = luaL_checklstring(L, 1, &length);
    int size = gf_mpi_size();
    size_t *lengths = lua_newuserdatauv(L, (size_t)size * sizeof *lengths, 0);
    char *all;
    if (gf_mpi_allgather(text, length, &all, lengths) != GF_OK)
        return gf_lua_raise(L, "graft.core.mpi_allgather");
    lua_createtable(L, size, 0);
    size_t at = 0;
    for (int r = 0; r < size; r++) {
        lua_pushlstring(L, all + at, lengths[r]);
        lua_rawseti(L, -2, r + 1);
        at += lengths[r];
    }
    free(all);
    return 1;
}

static int l_mpi_ensemble_evaluate(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    gf_loader *loader = gf_lua_check_loader(L, 2);
    lua_Integer count = luaL_len(L, 1);
    luaL_argcheck(L, count >= 1 && count <= 4096, 1, "1 to 4096 networks");
    /* the networks stay referenced by argument 1 while they are used */
    gf_net **nets = lua_newuserdatauv(L, (size_t)count * sizeof *nets, 0);
    for (lua_Integer k = 0; k < count; k++) {
        lua_geti(L, 1, k + 1);
        nets[k] = gf_lua_check_net(L, lua_gettop(L));
        lua_pop(L, 1);
    }
    gf_ensemble_result r;
    if (gf_mpi_ensemble_evaluate(nets, (int)count, loader, &r) != GF_OK)
        return gf_lua_raise(L, "graft.core.mpi_ensemble_evaluate");
    lua_pushinteger(L, r.top1);
    lua_pushinteger(L, r.count);
    return 2;
}

void gf_lua_register_mpi(lua_State *L, int module) {
    static const luaL_Reg functions[] = {
        {"mpi_built", l_mpi_built},
        {"mpi_launched", l_mpi_launched},
        {"mpi_init", l_mpi_init},
        {"mpi_rank", l_mpi_rank},
        {"mpi_size", l_mpi_size},
        {"mpi_timeout", l_mpi_timeout},
        {"mpi_exchange_net", l_mpi_exchange_net},
        {"mpi_allgather", l_mpi_allgather},
        {"mpi_ensemble_evaluate", l_mpi_ensemble_evaluate},
        {NULL, NULL},
    };
    lua_pushvalue(L, module);
    luaL_setfuncs(L, functions, 0);
    lua_pop(L, 1);
}
