#include "cli/repl.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <readline/history.h>
#include <readline/readline.h>

#include "cli/interrupt.h"
#include "cli/run.h"
#include "cli/statement.h"

enum { HISTORY_LIMIT = 1000, MAX_CANDIDATES = 4096 };
static const char primary_prompt[] = "graft> ";
static const char continuation_prompt[] = "  ...> ";

/* The Lua state and the graft.repl module (pretty-printer, completion), which the
 * readline callbacks reach through these. */
static lua_State *repl_state;
static int repl_module = LUA_NOREF;

/* ---- history ---- */

static char *history_file;

/* "a FIFO", "a directory", ...: what a path that is not a regular file is. */
static const char *file_kind(mode_t mode) {
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

/* Whether history can live in path: a regular file, or none yet. Anything else
 * (a FIFO would block the prompt before it opens) is reported and not used. */
static bool history_usable(const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) return errno == ENOENT;
    if (S_ISREG(st.st_mode)) return true;
    fprintf(stderr, "graft: the history file %s is %s; history is not kept in this session\n",
            path, file_kind(st.st_mode));
    return false;
}

static void history_open(void) {
    const char *env = getenv("GRAFT_HISTORY"), *home = getenv("HOME");
    if (env && env[0]) {
        history_file = strdup(env);
    } else if (home && home[0]) {
        size_t size = strlen(home) + sizeof "/.graft_history";
        history_file = malloc(size);
        if (history_file) snprintf(history_file, size, "%s/.graft_history", home);
    }
    if (history_file && !history_usable(history_file)) {
        free(history_file);
        history_file = NULL;
    }
    using_history();
    stifle_history(HISTORY_LIMIT);
    /* Timestamp lines ("#1700000000") mark where an entry starts, so multi-line
     * statements come back whole; readline writes them only with a comment char. */
    history_comment_char = '#';
    history_write_timestamps = 1;
    history_multiline_entries = 1;
    if (history_file) read_history(history_file);
}

static void history_remember(const char *statement) {
    add_history(statement);
    if (history_file == NULL) return;
    /* append_history needs an existing file; the first entry creates it */
    if (append_history(1, history_file) != 0) write_history(history_file);
}

static void history_close(void) {
    if (history_file) history_truncate_file(history_file, HISTORY_LIMIT);
    free(history_file);
    history_file = NULL;
    rl_clear_history();
}

/* ---- reading a line: readline's callback interface, so that Ctrl-C at the
 * prompt can clear the line instead of ending the program ---- */

typedef enum read_result { READ_LINE, READ_EOF, READ_INTERRUPTED } read_result;

static char *received_line;
static bool line_complete;

static void on_line(char *line) {
    received_line = line;
    line_complete = true;
    rl_callback_handler_remove(); /* the terminal goes back to normal for the code */
}

static read_result read_line(const char *prompt, char **line) {
    sigset_t blocked, waiting;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGINT);
    /* SIGINT only arrives inside pselect, so none is lost between the check and the wait */
    sigprocmask(SIG_BLOCK, &blocked, &waiting);
    sigdelset(&waiting, SIGINT);
    gf_interrupt_take_pending();
    line_complete = false;
    received_line = NULL;
    rl_callback_handler_install(prompt, on_line);
    read_result result = READ_LINE;
    int fd = fileno(rl_instream ? rl_instream : stdin);
    while (!line_complete) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fd, &fds);
        int ready = pselect(fd + 1, &fds, NULL, NULL, NULL, &waiting);
        if (gf_interrupt_take_pending()) {
            /* "^C" after the abandoned text, then readline is told the cursor is on
             * a new line, so that clearing its state erases nothing on screen. */
            FILE *out = rl_outstream ? rl_outstream : stdout;
            fputs("^C", out);
            rl_crlf();
            fflush(out);
            rl_on_new_line();
            rl_replace_line("", 0);
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_callback_handler_remove();
            result = READ_INTERRUPTED;
            break;
        }
        if (ready < 0) {
            if (errno == EINTR) continue;
            rl_callback_handler_remove();
            result = READ_EOF;
            break;
        }
        rl_callback_read_char();
    }
    sigprocmask(SIG_UNBLOCK, &blocked, NULL);
    if (result != READ_LINE) return result;
    *line = received_line;
    return received_line ? READ_LINE : READ_EOF;
}

/* ---- completion, computed by graft.repl.complete(word) ---- */

static char *candidates[MAX_CANDIDATES];
static int candidate_count;

static void clear_candidates(void) {
    for (int i = 0; i < candidate_count; i++) free(candidates[i]);
    candidate_count = 0;
}

static char *next_candidate(const char *text, int state) {
    static int next;
    (void)text; /* the candidates were chosen for this text already */
    if (state == 0) next = 0;
    return next < candidate_count ? strdup(candidates[next++]) : NULL;
}

/* graft.repl.complete sees the line up to the cursor and returns replacements of the
 * expression before it (which may start before readline's word, as in "x[1].fo"),
 * and where that expression starts; readline gets them cut to its word. */
static char **complete(const char *text, int start, int end) {
    rl_attempted_completion_over = 1; /* no file names when Lua has nothing */
    rl_completion_append_character = '\0';
    lua_State *L = repl_state;
    if (repl_module == LUA_NOREF) return NULL;
    int top = lua_gettop(L);
    clear_candidates();
    lua_rawgeti(L, LUA_REGISTRYINDEX, repl_module);
    lua_getfield(L, -1, "complete");
    lua_pushlstring(L, rl_line_buffer, (size_t)end);
    if (lua_pcall(L, 1, 2, 0) == LUA_OK && lua_istable(L, -2)) {
        lua_Integer from = lua_tointeger(L, -1) - 1; /* 0-based, in rl_line_buffer */
        lua_Integer n = luaL_len(L, -2);
        for (lua_Integer i = 1; i <= n && candidate_count < MAX_CANDIDATES; i++) {
            lua_geti(L, -2, i);
            size_t length;
            const char *s = lua_tolstring(L, -1, &length);
            if (s && from <= start && (size_t)(start - from) <= length) {
                candidates[candidate_count++] = strdup(s + (start - from));
            } else if (s && from > start && from <= end) { /* the word starts earlier */
                size_t head = (size_t)(from - start);
                char *joined = malloc(head + length + 1);
                if (joined) {
                    memcpy(joined, rl_line_buffer + start, head);
                    memcpy(joined + head, s, length + 1);
                    candidates[candidate_count++] = joined;
                }
            }
            lua_pop(L, 1);
        }
    }
    lua_settop(L, top);
    if (candidate_count == 0) return NULL;
    char **matches = rl_completion_matches(text, next_candidate);
    clear_candidates();
    return matches;
}

/* The values above `base` are printed by graft.repl.show, or plainly without it. */
static void show_results(lua_State *L, int base) {
    int count = lua_gettop(L) - base;
    if (count == 0) return;
    if (repl_module != LUA_NOREF) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, repl_module);
        lua_getfield(L, -1, "show");
        lua_remove(L, -2);
        lua_insert(L, base + 1);
        gf_cli_report(L, gf_cli_call(L, count, 0));
        return;
    }
    for (int i = base + 1; i <= base + count; i++) {
        fputs(luaL_tolstring(L, i, NULL), stdout);
        fputs(i < base + count ? "\t" : "\n", stdout);
        lua_pop(L, 1);
    }
    lua_settop(L, base);
}

static void load_repl_module(lua_State *L) {
    lua_getglobal(L, "require");
    lua_pushstring(L, "graft.repl");
    if (gf_cli_call(L, 1, 1) == LUA_OK && lua_istable(L, -1)) {
        repl_module = luaL_ref(L, LUA_REGISTRYINDEX);
    } else {
        fprintf(stderr, "graft: warning: graft.repl did not load (plain printing, no "
                        "completion): %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}

static bool blank(const char *s) { return s[strspn(s, " \t\r\n")] == '\0'; }

int gf_repl_run(lua_State *L) {
    repl_state = L;
    load_repl_module(L);
    rl_readline_name = "graft";
    rl_catch_signals = 0; /* SIGINT is ours (cli/interrupt.c) */
    rl_attempted_completion_function = complete;
    rl_completer_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^~#[])}";
    history_open();
    printf("graft %s -- help() for help, Ctrl-D to leave\n", GRAFT_VERSION);

    char *statement = NULL; /* lines of the statement being typed */
    size_t statement_length = 0;
    for (;;) {
        char *line = NULL;
        read_result r = read_line(statement ? continuation_prompt : primary_prompt, &line);
        if (r == READ_INTERRUPTED) {
            free(statement);
            statement = NULL;
            continue;
        }
        if (r == READ_EOF) {
            fputs("\n", stdout);
            break;
        }
        if (statement == NULL && blank(line)) {
            free(line);
            continue;
        }
        size_t line_length = strlen(line);
        char *grown = realloc(statement, statement_length + line_length + 2);
        if (grown == NULL) {
            free(line);
            break;
        }
        if (statement == NULL) statement_length = 0;
        else grown[statement_length++] = '\n';
        statement = grown;
        memcpy(statement + statement_length, line, line_length + 1);
        statement_length += line_length;
        free(line);

        char *code = gf_statement_expand(statement);
        if (code == NULL) break;
        int base = lua_gettop(L);
        int status = gf_statement_compile(L, code, "=input");
        free(code);
        if (gf_statement_incomplete(L, status)) {
            lua_pop(L, 1);
            continue; /* wait for the rest of the statement */
        }
        history_remember(statement);
        free(statement);
        statement = NULL;
        if (status == LUA_OK) status = gf_cli_call(L, 0, LUA_MULTRET);
        if (status == LUA_OK)
            show_results(L, base);
        else
            gf_cli_report(L, status);
        lua_settop(L, base);
        fflush(stdout);
    }
    free(statement);
    history_close();
    if (repl_module != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, repl_module);
    repl_module = LUA_NOREF;
    return 0;
}
