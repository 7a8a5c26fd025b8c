/* Lua values as JSON (jansson) for the Jupyter kernel's messages: strings (UTF-8),
 * numbers, booleans, and tables, which are arrays when they are non-empty
 * sequences or carry a metatable with __jsontype = "array", objects otherwise
 * (string keys). */
#ifndef GRAFT_CLI_KERNEL_JSON_H
#define GRAFT_CLI_KERNEL_JSON_H

#include <jansson.h>
#include <lua.h>
#include <stddef.h>

/* The value at index as a new JSON value, or NULL with a message in error that
 * names the offending place ("data.text/plain: ..."). */
json_t *gf_kernel_json_from_lua(lua_State *L, int index, char *error, size_t size);

#endif
