/* Running Lua code from the command line and the prompt: a protected call with a
 * traceback, interruptible with Ctrl-C, and errors reported on stderr. */
#ifndef GRAFT_CLI_RUN_H
#define GRAFT_CLI_RUN_H

#include <lua.h>

/* Calls the function below its nargs arguments; on error leaves the message with
 * its traceback on the stack. Returns the lua_pcall status. */
int gf_cli_call(lua_State *L, int nargs, int nresults);
/* Prints the error at the top of the stack (if status is not LUA_OK) and pops it. */
int gf_cli_report(lua_State *L, int status);

#endif
