/* Child processes with pipes both ways, for programs that graft talks to over a
 * conversation (gnuplot): Lua's io.popen is one-way.
 *
 *   local p = graft.core.spawn{"gnuplot"}          -- argv; PATH is searched
 *   p:write("print 'x'\n")
 *   local text, other, state = p:read_until("MARK", 5000, "stderr")
 *   p:close()
 *
 * The child runs in its own process group, so Ctrl-C at the prompt interrupts
 * graft but not its helper. Output of both streams is drained while writing, so
 * a child that answers a lot while still reading its input cannot deadlock us. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "lua/binding.h"

extern char **environ;

#define GF_LUA_PROCESS "graft.Process"

/* Bytes read from one of the child's output streams, not yet handed to Lua. */
typedef struct {
    char *data;
    size_t length, capacity;
    int fd; /* -1 once the child closed it */
} pending_output;

typedef struct {
    pid_t pid;        /* 0 once reaped */
    int stdin_fd;     /* -1 once closed */
    pending_output out, err;
    int exit_status;  /* as from waitpid, valid once reaped */
    char name[64];    /* argv[0], for messages */
} child_process;

static child_process *check_process(lua_State *L, int index) {
    return luaL_checkudata(L, index, GF_LUA_PROCESS);
}

static long long now_ms(void) { return (long long)(gf_clock_nanoseconds() / 1000000); }

static int set_flags(int fd, int fd_flags, int status_flags) {
    if (fd_flags && fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | fd_flags) < 0) return -1;
    if (status_flags && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | status_flags) < 0) return -1;
    return 0;
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

/* Reads what is available on one stream; returns 0, or -1 on a read error. */
static int drain(pending_output *p) {
    for (;;) {
        if (p->capacity - p->length < 4096) {
            size_t capacity = p->capacity ? p->capacity * 2 : 8192;
            char *grown = realloc(p->data, capacity);
            if (!grown) return -1;
            p->data = grown;
            p->capacity = capacity;
        }
        ssize_t n = read(p->fd, p->data + p->length, p->capacity - p->length - 1);
        if (n > 0) {
            p->length += (size_t)n;
            p->data[p->length] = '\0';
        } else if (n == 0) {
            close_fd(&p->fd);
            return 0;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        } else {
            return -1;
        }
    }
}

/* Waits up to timeout_ms (negative: forever) for the child's output, and, when
 * want_write is set, for room in its input pipe. Returns poll's result. */
static int wait_for_child(child_process *c, int want_write, int timeout_ms) {
    struct pollfd fds[3];
    pending_output *streams[2] = {&c->out, &c->err};
    int n = 0;
    for (int i = 0; i < 2; i++)
        if (streams[i]->fd >= 0) fds[n++] = (struct pollfd){.fd = streams[i]->fd, .events = POLLIN};
    if (want_write) fds[n++] = (struct pollfd){.fd = c->stdin_fd, .events = POLLOUT};
    if (n == 0) return 0;
    int ready = poll(fds, (nfds_t)n, timeout_ms);
    if (ready <= 0) return ready;
    for (int i = 0; i < 2; i++)
        if (streams[i]->fd >= 0 && drain(streams[i]) < 0) return -1;
    return ready;
}

static void reap(child_process *c, int options) {
    if (c->pid <= 0) return;
    int status;
    pid_t r;
    do r = waitpid(c->pid, &status, options);
    while (r < 0 && errno == EINTR);
    if (r == c->pid || (r < 0 && errno == ECHILD)) {
        c->exit_status = r == c->pid ? status : 0;
        c->pid = 0;
    }
}

/* Pushes "exited with status N" / "killed by signal N" / "running". */
static void push_state(lua_State *L, child_process *c) {
    reap(c, WNOHANG);
    if (c->pid > 0)
        lua_pushstring(L, "running");
    else if (WIFSIGNALED(c->exit_status))
        lua_pushfstring(L, "killed by signal %d", WTERMSIG(c->exit_status));
    else
        lua_pushfstring(L, "exited with status %d", WEXITSTATUS(c->exit_status));
}

/* graft.core.spawn{argv...} -> process */
static int l_spawn(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    int argc = (int)luaL_len(L, 1);
    if (argc < 1) return luaL_argerror(L, 1, "spawn: argv must name a program");
    const char **argv = lua_newuserdatauv(L, sizeof(char *) * ((size_t)argc + 1), 0);
    for (int i = 0; i < argc; i++) {
        lua_geti(L, 1, i + 1);
        argv[i] = lua_tostring(L, -1);
        if (!argv[i]) return luaL_error(L, "spawn: argv[%d] is not a string", i + 1);
        lua_pop(L, 1); /* the string stays alive: it is in the argv table */
    }
    argv[argc] = NULL;

    child_process *c = lua_newuserdatauv(L, sizeof *c, 0);
    *c = (child_process){.stdin_fd = -1, .out = {.fd = -1}, .err = {.fd = -1}};
    snprintf(c->name, sizeof c->name, "%s", argv[0]);
    luaL_setmetatable(L, GF_LUA_PROCESS);

    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int failure = 0;
    const char *step = "pipe";
    if (pipe(in) < 0 || pipe(out) < 0 || pipe(err) < 0) failure = errno;
    for (int i = 0; i < 2 && !failure; i++)
        if (set_flags(in[i], FD_CLOEXEC, 0) < 0 || set_flags(out[i], FD_CLOEXEC, 0) < 0 ||
            set_flags(err[i], FD_CLOEXEC, 0) < 0)
            failure = errno;

    if (!failure) {
        posix_spawn_file_actions_t actions;
        posix_spawnattr_t attributes;
        sigset_t no_signals, default_signals;
        sigemptyset(&no_signals);
        sigemptyset(&default_signals);
        sigaddset(&default_signals, SIGINT);
        sigaddset(&default_signals, SIGPIPE);
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
        posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
        posix_spawnattr_init(&attributes);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                  POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attributes, 0);
        posix_spawnattr_setsigmask(&attributes, &no_signals);
        posix_spawnattr_setsigdefault(&attributes, &default_signals);
        step = "exec";
        failure = posix_spawnp(&c->pid, argv[0], &actions, &attributes, (char *const *)argv,
                               environ);
        if (failure) c->pid = 0;
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    close_fd(&in[0]);
    close_fd(&out[1]);
    close_fd(&err[1]);
    c->stdin_fd = in[1];
    c->out.fd = out[0];
    c->err.fd = err[0];
    if (!failure && (set_flags(c->stdin_fd, 0, O_NONBLOCK) < 0 ||
                     set_flags(c->out.fd, 0, O_NONBLOCK) < 0 ||
                     set_flags(c->err.fd, 0, O_NONBLOCK) < 0)) {
        step = "fcntl";
        failure = errno;
    }
    if (failure) /* the process object is collected and closes what is open */
        return luaL_error(L, "spawn %s: %s failed: %s", argv[0], step, strerror(failure));
    return 1;
}

/* p:write(text) -> p. Drains the child's output meanwhile. */
static int l_write(lua_State *L) {
    child_process *c = check_process(L, 1);
    size_t length;
    const char *text = luaL_checklstring(L, 2, &length);
    if (c->stdin_fd < 0) return luaL_error(L, "%s: write after close", c->name);
    /* A dead child must give an error here, not a SIGPIPE that ends graft. */
    sigset_t pipe_signal, previous;
    sigemptyset(&pipe_signal);
    sigaddset(&pipe_signal, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
    int failure = 0;
    size_t written = 0;
    while (written < length && !failure) {
        ssize_t n = write(c->stdin_fd, text + written, length - written);
        if (n >= 0) {
            written += (size_t)n;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_for_child(c, 1, -1) < 0 && errno != EINTR) failure = errno;
        } else if (errno != EINTR) {
            failure = errno;
        }
    }
    if (failure == EPIPE) { /* consume the pending SIGPIPE before unblocking */
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_signal, NULL, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (failure) {
        reap(c, 0);
        push_state(L, c);
        return luaL_error(L, "%s: write of %d bytes failed: %s (%s)", c->name, (int)length,
                          strerror(failure), lua_tostring(L, -1));
    }
    lua_settop(L, 1);
    return 1;
}

static void push_taken(lua_State *L, pending_output *p, size_t count, size_t skip) {
    lua_pushlstring(L, p->data ? p->data : "", count);
    memmove(p->data, p->data + count + skip, p->length - count - skip);
    p->length -= count + skip;
    if (p->data) p->data[p->length] = '\0';
}

/* p:read_until(marker, timeout_ms [, "stdout"|"stderr"]) -> text, other, state
 * Reads until a line holding `marker` appears on the chosen stream (stdout by
 * default). text is that stream's output before the marker line; other is all
 * output of the other stream so far. state is "marker", "timeout", "interrupted"
 * (a signal such as Ctrl-C) or "exited" (the child closed the stream); text then
 * holds all that stream's output. */
static int l_read_until(lua_State *L) {
    child_process *c = check_process(L, 1);
    size_t marker_length;
    const char *marker = luaL_checklstring(L, 2, &marker_length);
    lua_Integer timeout_ms = luaL_checkinteger(L, 3);
    static const char *const streams[] = {"stdout", "stderr", NULL};
    int which = luaL_checkoption(L, 4, "stdout", streams);
    pending_output *p = which == 0 ? &c->out : &c->err;
    pending_output *other = which == 0 ? &c->err : &c->out;
    if (marker_length == 0) return luaL_argerror(L, 2, "read_until: empty marker");

    long long deadline = now_ms() + timeout_ms;
    const char *state = NULL;
    char *found = NULL;
    for (;;) {
        found = p->data ? strstr(p->data, marker) : NULL;
        if (found) {
            state = "marker";
            break;
        }
        if (p->fd < 0) {
            state = "exited";
            break;
        }
        long long left = deadline - now_ms();
        if (left <= 0) {
            state = "timeout";
            break;
        }
        if (wait_for_child(c, 0, left > 1000000 ? 1000000 : (int)left) < 0) {
            if (errno != EINTR) return luaL_error(L, "%s: read failed: %s", c->name, strerror(errno));
            state = "interrupted";
            break;
        }
    }
    if (found) {
        size_t before = (size_t)(found - p->data), skip = marker_length;
        if (before + skip < p->length && p->data[before + skip] == '\n') skip++;
        push_taken(L, p, before, skip);
    } else {
        push_taken(L, p, p->length, 0);
    }
    push_taken(L, other, other->length, 0);
    lua_pushstring(L, state);
    return 3;
}

/* p:close([timeout_ms]) -> "exited with status N" | "killed by signal N".
 * Closes the child's input, waits for it to end (default 2000 ms), then sends
 * SIGTERM and, if that is not enough, SIGKILL. */
static int l_close(lua_State *L) {
    child_process *c = check_process(L, 1);
    lua_Integer timeout_ms = luaL_optinteger(L, 2, 2000);
    close_fd(&c->stdin_fd);
    long long deadline = now_ms() + timeout_ms;
    int signals[] = {0, SIGTERM, SIGKILL};
    for (int step = 0; step < 3 && c->pid > 0; step++) {
        if (signals[step]) {
            kill(c->pid, signals[step]);
            deadline = now_ms() + 1000;
        }
        while (c->pid > 0 && now_ms() < deadline) {
            /* keep reading so a child blocked on a full pipe can finish */
            if (c->out.fd >= 0 || c->err.fd >= 0)
                wait_for_child(c, 0, 10);
            else
                poll(NULL, 0, 10);
            reap(c, WNOHANG);
        }
    }
    reap(c, 0);
    close_fd(&c->out.fd);
    close_fd(&c->err.fd);
    push_state(L, c);
    return 1;
}

static int l_pid(lua_State *L) {
    child_process *c = check_process(L, 1);
    reap(c, WNOHANG);
    if (c->pid > 0)
        lua_pushinteger(L, c->pid);
    else
        lua_pushnil(L);
    return 1;
}

/* p:state() -> "running" | "exited with status N" | "killed by signal N" */
static int l_state(lua_State *L) {
    push_state(L, check_process(L, 1));
    return 1;
}

static int l_gc(lua_State *L) {
    child_process *c = check_process(L, 1);
    if (c->pid > 0 || c->stdin_fd >= 0) {
        lua_settop(L, 1);
        lua_pushinteger(L, 500);
        l_close(L);
    }
    free(c->out.data);
    free(c->err.data);
    c->out.data = c->err.data = NULL;
    return 0;
}

static int l_tostring(lua_State *L) {
    child_process *c = check_process(L, 1);
    push_state(L, c);
    lua_pushfstring(L, "process %s (%s)", c->name, lua_tostring(L, -1));
    return 1;
}

void gf_lua_register_process(lua_State *L, int module) {
    static const luaL_Reg methods[] = {
        {"write", l_write}, {"read_until", l_read_until}, {"close", l_close},
        {"pid", l_pid},     {"state", l_state},           {NULL, NULL},
    };
    module = lua_absindex(L, module);
    if (luaL_newmetatable(L, GF_LUA_PROCESS)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_gc);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, l_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_pushcfunction(L, l_spawn);
    lua_setfield(L, module, "spawn");
}
