#include "cli/kernel.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <lauxlib.h>

#include "cli/interrupt.h"
#include "cli/kernel_json.h"
#include "cli/kernel_wire.h"
#include "cli/run.h"
#include "cli/statement.h"

enum { POLL_MS = 1000 };

typedef struct kernel {
    lua_State *L;
    gf_kernel_wire *wire;
    int module;            /* registry reference of graft.jupyter */
    const json_t *parent;  /* the header of the request being answered */
    int execution_count;
    char **history;        /* the code of each stored execution, in order */
    size_t history_count, history_capacity;
    bool stopping;
} kernel;

static kernel *serving; /* the one kernel of this process, while it runs */

/* ---- publishing and replying ---- */

static void publish(kernel *k, const char *msg_type, json_t *content) {
    if (gf_kernel_wire_publish(k->wire, k->parent, msg_type, content) != 0)
        fprintf(stderr, "graft kernel: could not publish %s\n", msg_type);
}

static void publish_status(kernel *k, const char *state) {
    publish(k, "status", json_pack("{s:s}", "execution_state", state));
}

/* "execute_request" -> "execute_reply" */
static void reply(kernel *k, const gf_kernel_message *request, json_t *content) {
    char msg_type[128];
    size_t length = strlen(request->msg_type);
    static const char suffix[] = "_request";
    if (length > sizeof suffix - 1 && strcmp(request->msg_type + length - (sizeof suffix - 1), suffix) == 0)
        length -= sizeof suffix - 1;
    snprintf(msg_type, sizeof msg_type, "%.*s_reply", (int)length, request->msg_type);
    if (gf_kernel_wire_reply(k->wire, request, msg_type, content) != 0)
        fprintf(stderr, "graft kernel: could not send %s\n", msg_type);
}

static json_t *error_content(const char *message) {
    return json_pack("{s:s, s:s, s:s, s:[s]}", "status", "error", "ename", "LuaError",
                     "evalue", message, "traceback", message);
}

/* ---- calling graft.jupyter ---- */

static void push_function(kernel *k, const char *name) {
    lua_rawgeti(k->L, LUA_REGISTRYINDEX, k->module);
    lua_getfield(k->L, -1, name);
    lua_remove(k->L, -2);
}

/* Calls the function pushed with its nargs arguments; its result (a table) as
 * JSON, or an error content with the message (*failed set, when not NULL). */
static json_t *call(kernel *k, int nargs, bool *failed) {
    lua_State *L = k->L;
    int status = gf_cli_call(L, nargs, 1);
    json_t *content;
    if (failed) *failed = status != LUA_OK;
    if (status != LUA_OK) {
        const char *message = lua_tostring(L, -1);
        content = error_content(message ? message : "(error without a message)");
    } else {
        char error[512];
        content = gf_kernel_json_from_lua(L, -1, error, sizeof error);
        if (content == NULL || !json_is_object(content)) {
            json_decref(content);
            content = error_content(error);
        }
    }
    lua_pop(L, 1);
    return content;
}

/* ---- the requests ---- */

static void remember(kernel *k, const char *code) {
    if (k->history_count == k->history_capacity) {
        size_t capacity = k->history_capacity ? 2 * k->history_capacity : 64;
        char **grown = realloc(k->history, capacity * sizeof *grown);
        if (grown == NULL) return;
        k->history = grown;
        k->history_capacity = capacity;
    }
    char *copy = strdup(code);
    if (copy) k->history[k->history_count++] = copy;
}

static json_t *execute(kernel *k, const gf_kernel_message *request) {
    lua_State *L = k->L;
    const char *code = json_string_value(json_object_get(request->content, "code"));
    if (code == NULL) return error_content("execute_request: content.code is not a string");
    bool silent = json_is_true(json_object_get(request->content, "silent"));
    json_t *store_history = json_object_get(request->content, "store_history");
    if (!silent && (store_history == NULL || json_is_true(store_history))) {
        k->execution_count++;
        remember(k, code);
    }
    if (!silent)
        publish(k, "execute_input",
                json_pack("{s:s, s:i}", "code", code, "execution_count", k->execution_count));
    char chunk_name[64];
    snprintf(chunk_name, sizeof chunk_name, "=cell %d", k->execution_count);
    char *expanded = gf_statement_expand(code);
    if (expanded == NULL) return error_content("out of memory");
    /* graft.jupyter.execute(chunk or nil, compile error or nil, count, silent) */
    push_function(k, "execute");
    int status = gf_statement_compile_cell(L, expanded, chunk_name);
    free(expanded);
    if (status == LUA_OK) {
        lua_pushnil(L);
    } else {
        lua_pushnil(L);
        lua_insert(L, -2);
    }
    lua_pushinteger(L, k->execution_count);
    lua_pushboolean(L, silent);
    gf_interrupt_take_pending(); /* an interrupt sent while idle is for no cell */
    bool failed;
    json_t *content = call(k, 4, &failed);
    if (failed && !silent) /* graft.jupyter.execute itself failed: say so in the cell too */
        publish(k, "error", json_deep_copy(content));
    json_object_set_new(content, "execution_count", json_integer(k->execution_count));
    const char *status_text = json_string_value(json_object_get(content, "status"));
    if (status_text && strcmp(status_text, "ok") == 0) {
        json_object_set_new(content, "user_expressions", json_object());
        json_object_set_new(content, "payload", json_array());
    }
    return content;
}

static json_t *is_complete(kernel *k, const gf_kernel_message *request) {
    const char *code = json_string_value(json_object_get(request->content, "code"));
    if (code == NULL) return error_content("is_complete_request: content.code is not a string");
    char *expanded = gf_statement_expand(code);
    if (expanded == NULL) return error_content("out of memory");
    int status = gf_statement_compile(k->L, expanded, "=cell");
    free(expanded);
    const char *verdict = status == LUA_OK ? "complete"
                          : gf_statement_incomplete(k->L, status) ? "incomplete" : "invalid";
    lua_pop(k->L, 1);
    if (strcmp(verdict, "incomplete") == 0)
        return json_pack("{s:s, s:s}", "status", verdict, "indent", "");
    return json_pack("{s:s}", "status", verdict);
}

/* [session, line, input] (or [..., [input, null]] with output) */
static json_t *history_entry(const kernel *k, size_t i, bool output) {
    if (output) return json_pack("[i, i, [s, n]]", 1, (int)i + 1, k->history[i]);
    return json_pack("[i, i, s]", 1, (int)i + 1, k->history[i]);
}

/* hist_access_type "tail" (n), "range" (start, stop of this session) or "search"
 * (a glob pattern, n, unique); the history is this kernel's stored executions. */
static json_t *history(kernel *k, const gf_kernel_message *request) {
    json_t *content = request->content, *entries = json_array();
    const char *access = json_string_value(json_object_get(content, "hist_access_type"));
    bool output = json_is_true(json_object_get(content, "output"));
    json_t *n_value = json_object_get(content, "n");
    size_t n = json_is_integer(n_value) && json_integer_value(n_value) >= 0
                   ? (size_t)json_integer_value(n_value) : k->history_count;
    if (access && strcmp(access, "tail") == 0) {
        size_t first = k->history_count > n ? k->history_count - n : 0;
        for (size_t i = first; i < k->history_count; i++)
            json_array_append_new(entries, history_entry(k, i, output));
    } else if (access && strcmp(access, "range") == 0) {
        json_int_t start = json_integer_value(json_object_get(content, "start"));
        json_t *stop_value = json_object_get(content, "stop");
        json_int_t stop = json_is_integer(stop_value) ? json_integer_value(stop_value)
                                                       : (json_int_t)k->history_count + 1;
        for (json_int_t line = start < 1 ? 1 : start; line < stop && line <= (json_int_t)k->history_count; line++)
            json_array_append_new(entries, history_entry(k, (size_t)line - 1, output));
    } else if (access && strcmp(access, "search") == 0) {
        const char *pattern = json_string_value(json_object_get(content, "pattern"));
        bool unique = json_is_true(json_object_get(content, "unique"));
        json_t *found = json_array();
        for (size_t i = k->history_count; i-- > 0 && json_array_size(found) < n;) {
            if (pattern && fnmatch(pattern, k->history[i], 0) != 0) continue;
            bool seen = false;
            for (size_t j = i + 1; unique && !seen && j < k->history_count; j++)
                seen = strcmp(k->history[i], k->history[j]) == 0;
            if (!seen) json_array_insert_new(found, 0, history_entry(k, i, output));
        }
        json_array_extend(entries, found);
        json_decref(found);
    } else {
        json_decref(entries);
        return error_content("history_request: hist_access_type is not tail, range or search");
    }
    return json_pack("{s:s, s:o}", "status", "ok", "history", entries);
}

static void handle(kernel *k, const gf_kernel_message *request);

/* "Run all" queues every cell; after a failure the rest would fail on what the
 * failed cell did not make. So the execute requests already queued are answered
 * "aborted" (stop_on_error, as other kernels do), other requests as usual. This
 * runs before the failed cell's idle status: a client that waits for it before
 * sending its next cell is never aborted. */
static void abort_queued(kernel *k) {
    const json_t *parent = k->parent;
    char error[512];
    gf_kernel_message queued;
    while (!k->stopping && gf_kernel_wire_receive(k->wire, &queued, 0, error, sizeof error) == GF_RECEIVED) {
        if (strcmp(queued.msg_type, "execute_request") == 0) {
            k->parent = queued.header;
            publish_status(k, "busy");
            reply(k, &queued, json_pack("{s:s}", "status", "aborted"));
            publish_status(k, "idle");
        } else {
            handle(k, &queued);
        }
        gf_kernel_message_clear(&queued);
    }
    k->parent = parent;
}

static void handle(kernel *k, const gf_kernel_message *request) {
    lua_State *L = k->L;
    const char *type = request->msg_type;
    const json_t *content = request->content;
    k->parent = request->header;
    publish_status(k, "busy");
    if (strcmp(type, "kernel_info_request") == 0) {
        push_function(k, "kernel_info");
        reply(k, request, call(k, 0, NULL));
    } else if (strcmp(type, "execute_request") == 0) {
        json_t *content = execute(k, request);
        const char *status = json_string_value(json_object_get(content, "status"));
        bool abort = status && strcmp(status, "error") == 0 &&
                     !json_is_false(json_object_get(request->content, "stop_on_error"));
        reply(k, request, content);
        if (abort) abort_queued(k);
    } else if (strcmp(type, "complete_request") == 0 || strcmp(type, "inspect_request") == 0) {
        const char *code = json_string_value(json_object_get(content, "code"));
        push_function(k, type[0] == 'c' ? "complete" : "inspect");
        lua_pushstring(L, code ? code : "");
        lua_pushinteger(L, (lua_Integer)json_integer_value(json_object_get(content, "cursor_pos")));
        reply(k, request, call(k, 2, NULL));
    } else if (strcmp(type, "is_complete_request") == 0) {
        reply(k, request, is_complete(k, request));
    } else if (strcmp(type, "history_request") == 0) {
        reply(k, request, history(k, request));
    } else if (strcmp(type, "comm_info_request") == 0) {
        reply(k, request, json_pack("{s:s, s:{}}", "status", "ok", "comms"));
    } else if (strcmp(type, "interrupt_request") == 0) {
        /* a request is answered between cells: nothing runs to be interrupted
         * (a running cell is interrupted by SIGINT: interrupt_mode "signal") */
        reply(k, request, json_pack("{s:s}", "status", "ok"));
    } else if (strcmp(type, "shutdown_request") == 0) {
        bool restart = json_is_true(json_object_get(content, "restart"));
        reply(k, request, json_pack("{s:s, s:b}", "status", "ok", "restart", restart));
        publish(k, "shutdown_reply", json_pack("{s:s, s:b}", "status", "ok", "restart", restart));
        k->stopping = true;
    } else {
        fprintf(stderr, "graft kernel: ignored a %s (not a request this kernel knows)\n", type);
    }
    publish_status(k, "idle");
    k->parent = NULL;
}

/* ---- the module graft.jupyter.server ---- */

static void release(kernel *k) {
    gf_kernel_wire_close(k->wire);
    for (size_t i = 0; i < k->history_count; i++) free(k->history[i]);
    free(k->history);
    luaL_unref(k->L, LUA_REGISTRYINDEX, k->module);
}

/* serve(connection_file): answers requests until a shutdown request (true), or
 * until the process that started the kernel is gone. */
static int l_serve(lua_State *L) {
    const char *file = luaL_checkstring(L, 1);
    if (serving) return luaL_error(L, "graft kernel: a kernel is already running in this process");
    lua_getglobal(L, "require");
    lua_pushstring(L, "graft.jupyter");
    lua_call(L, 1, 1);
    kernel k = {.L = L, .module = luaL_ref(L, LUA_REGISTRYINDEX)};
    char error[768];
    k.wire = gf_kernel_wire_open(file, error, sizeof error);
    if (k.wire == NULL) {
        luaL_unref(L, LUA_REGISTRYINDEX, k.module);
        return luaL_error(L, "graft kernel: %s", error);
    }
    /* A cell reading standard input gets end of input, not a wait for ever. */
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
        dup2(null_fd, STDIN_FILENO);
        close(null_fd);
    }
    pid_t parent = getppid();
    serving = &k;
    /* Between requests the kernel waits, as the prompt waits for a line: Ctrl-C
     * (SIGINT) only counts while a cell runs. */
    gf_interrupt_end_lua();
    bool failed = false;
    while (!k.stopping) {
        gf_kernel_message request;
        gf_kernel_receive received = gf_kernel_wire_receive(k.wire, &request, POLL_MS, error, sizeof error);
        if (received == GF_WIRE_FAILED) {
            failed = true;
            break;
        }
        if (received == GF_NOTHING) {
            if (getppid() != parent) break; /* orphaned: the front end is gone */
            continue;
        }
        handle(&k, &request);
        gf_kernel_message_clear(&request);
    }
    gf_interrupt_begin_lua();
    serving = NULL;
    release(&k);
    if (failed) return luaL_error(L, "graft kernel: %s", error);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_serving(lua_State *L) {
    lua_pushboolean(L, serving != NULL);
    return 1;
}

/* publish(msg_type, content): an IOPub message about the request being answered
 * (display_data, update_display_data, stream, ...). */
static int l_publish(lua_State *L) {
    const char *msg_type = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (serving == NULL) return luaL_error(L, "graft.jupyter.publish: no Jupyter kernel is running");
    char error[512];
    json_t *content = gf_kernel_json_from_lua(L, 2, error, sizeof error);
    if (content == NULL) return luaL_error(L, "graft.jupyter.publish(%s): content %s", msg_type, error);
    publish(serving, msg_type, content);
    return 0;
}

/* executable() -> the path of the running graft program */
static int l_executable(lua_State *L) {
    char path[4096];
    ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
    if (length < 0) return luaL_error(L, "executable: cannot read /proc/self/exe: %s", strerror(errno));
    lua_pushlstring(L, path, (size_t)length);
    return 1;
}

int luaopen_graft_jupyter_server(lua_State *L) {
    static const luaL_Reg functions[] = {
        {"serve", l_serve},
        {"serving", l_serving},
        {"publish", l_publish},
        {"executable", l_executable},
        {NULL, NULL},
    };
    luaL_newlib(L, functions);
    return 1;
}
