/* The interactive prompt: GNU Readline with history across sessions, completion,
 * multi-line statements, printed results, ?name for help, Ctrl-C that interrupts
 * the running code (or clears the line) and keeps the session. */
#ifndef GRAFT_CLI_REPL_H
#define GRAFT_CLI_REPL_H

#include <lua.h>

/* Runs until Ctrl-D; returns the exit status (0). */
int gf_repl_run(lua_State *L);

#endif
