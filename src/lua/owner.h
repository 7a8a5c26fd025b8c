/* Bookkeeping shared by the userdata that views can point into (tensors and
 * networks): `<close>` frees memory only when no view still points into it,
 * otherwise the memory waits for the garbage collector, which collects the owner
 * only after its views (a view keeps its owner alive through its user value). */
#ifndef GRAFT_LUA_OWNER_H
#define GRAFT_LUA_OWNER_H

#include <stdbool.h>

typedef struct gf_lua_owner {
    int views;   /* live views into this object's memory */
    bool closed; /* closed by `<close>` or :close(); unusable from Lua */
} gf_lua_owner;

#endif
