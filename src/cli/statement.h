/* A statement as typed at the prompt or sent by a Jupyter front end: the
 * shorthands ("?name" for help, "= expr" to print), compiled as an expression
 * first so that its value can be shown, and the multi-line rule (a statement whose
 * only fault is that it ends too early waits for more lines). */
#ifndef GRAFT_CLI_STATEMENT_H
#define GRAFT_CLI_STATEMENT_H

#include <lua.h>
#include <stdbool.h>

/* The statement with its shorthands expanded, malloc'd (NULL when out of memory). */
char *gf_statement_expand(const char *statement);
/* Compiles code ("return <code>;" first), leaving the chunk or the error message
 * on the stack; chunk_name as for luaL_loadbuffer ("=input"). Returns the status. */
int gf_statement_compile(lua_State *L, const char *code, const char *chunk_name);
/* As gf_statement_compile for a notebook cell of several statements: when the
 * statements after the last line break that starts one form an expression, the
 * chunk returns its values ("x = 2\nx * 3" gives 6), as IPython shows a cell's
 * last expression. */
int gf_statement_compile_cell(lua_State *L, const char *code, const char *chunk_name);
/* True when the status and the message on the stack say that the statement is
 * only unfinished (a syntax error at <eof>). */
bool gf_statement_incomplete(lua_State *L, int status);

#endif
