/* graft kernel -f CONNECTION_FILE: a Jupyter kernel (messaging protocol 5.3) around
 * the program's one Lua state. kernel.c answers the requests; the wire (ZeroMQ,
 * signatures) is kernel_wire.c; what a cell does, completion and help are the Lua
 * module graft.jupyter (lua/graft/jupyter.lua). */
#ifndef GRAFT_CLI_KERNEL_H
#define GRAFT_CLI_KERNEL_H

#include <lua.h>

/* The module graft.jupyter.server: serve(connection_file) runs the kernel until a
 * shutdown request; publish(msg_type, content) sends an IOPub message about the
 * request being answered; serving(); executable(). */
int luaopen_graft_jupyter_server(lua_State *L);

#endif
