/* Ctrl-C while Lua code runs: the SIGINT handler sets a Lua hook (as lua.c does)
 * and the hook raises "interrupted!" at the next Lua instruction, so the running
 * chunk stops with an ordinary error and every global stays as it was. While the
 * prompt waits for input, the handler only records that Ctrl-C was pressed. */
#ifndef GRAFT_CLI_INTERRUPT_H
#define GRAFT_CLI_INTERRUPT_H

#include <lua.h>
#include <signal.h>
#include <stdbool.h>

/* Installs the handler (without SA_RESTART, so a waiting select() returns). */
void gf_interrupt_install(lua_State *L);
/* Brackets Lua execution: between them, Ctrl-C interrupts the Lua code. */
void gf_interrupt_begin_lua(void);
void gf_interrupt_end_lua(void);
/* True (once) if Ctrl-C came while no Lua code was running. */
bool gf_interrupt_take_pending(void);

#endif
