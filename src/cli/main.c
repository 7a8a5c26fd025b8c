/* The graft program: runs Lua scripts, -e code, subcommands (lua/graft/commands/),
 * and the interactive prompt, in a Lua state where `require "graft"` works and
 * graft.core is built in. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "cli/interrupt.h"
#include "cli/repl.h"
#include "cli/run.h"
#include "mpi/ranks.h"

#ifndef GRAFT_VERSION
#define GRAFT_VERSION "unknown"
#endif
/* Set by the build: the source tree's lua/ and the installed Lua directory. */
#ifndef GRAFT_SOURCE_LUA_DIR
#define GRAFT_SOURCE_LUA_DIR ""
#endif
#ifndef GRAFT_INSTALL_LUA_DIR
#define GRAFT_INSTALL_LUA_DIR ""
#endif

int luaopen_graft_core(lua_State *L);
#ifdef GRAFT_JUPYTER_KERNEL
int luaopen_graft_jupyter_server(lua_State *L);
#endif

static const char usage[] =
    "usage: graft [options] [script.lua [args...]]\n"
    "       graft <command> [args...]\n"
    "\n"
    "With no script, graft opens the interactive prompt (or runs standard input when\n"
    "it is not a terminal). The global `graft` holds require \"graft\".\n"
    "\n"
    "options:\n"
    "  -e code      run code (may be given several times)\n"
    "  -i           open the prompt after running the script or code\n"
    "  -            run standard input as a script\n"
    "  --           stop reading options\n"
    "  -v, --version  print the version\n"
    "  -h, --help   print this help\n"
    "\n"
    "commands: graft <command> runs lua/graft/commands/<command>.lua\n"
    "environment: GRAFT_LUA_DIR (where graft/init.lua is found),\n"
    "             GRAFT_HISTORY (the prompt's history file, default ~/.graft_history)\n";

typedef struct options {
    int code_first, code_count; /* -e chunks are argv[code_first..] pairs, see run_code */
    bool interactive;
    int script;                  /* index of the script in argv, 0 if none */
    bool version, help;
    const char *unknown;         /* an option graft does not know, said with its usage */
} options;

static bool is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* GRAFT_LUA_DIR, else the source tree's lua/ when it holds graft, else the install. */
static const char *lua_directory(void) {
    const char *env = getenv("GRAFT_LUA_DIR");
    if (env && env[0]) return env;
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/graft/init.lua", GRAFT_SOURCE_LUA_DIR);
    if (GRAFT_SOURCE_LUA_DIR[0] && is_file(probe)) return GRAFT_SOURCE_LUA_DIR;
    return GRAFT_INSTALL_LUA_DIR;
}

static void setup_paths(lua_State *L, const char *dir) {
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_graft_core);
    lua_setfield(L, -2, "graft.core");
#ifdef GRAFT_JUPYTER_KERNEL /* graft kernel (lua/graft/commands/kernel.lua) */
    lua_pushcfunction(L, luaopen_graft_jupyter_server);
    lua_setfield(L, -2, "graft.jupyter.server");
#endif
    lua_pop(L, 1);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
    lua_setfield(L, -3, "path");
    lua_pop(L, 2);
}

/* graft = require "graft"; help = graft.help. A failure is reported, not fatal,
 * so that a broken submodule still leaves a usable prompt. */
static void load_graft(lua_State *L) {
    lua_getglobal(L, "require");
    lua_pushstring(L, "graft");
    if (gf_cli_call(L, 1, 1) != LUA_OK) {
        const char *message = lua_tostring(L, -1);
        fprintf(stderr, "graft: warning: require \"graft\" failed: %s\n",
                message ? message : "?");
        lua_pop(L, 1);
        return;
    }
    lua_getfield(L, -1, "help");
    lua_setglobal(L, "help");
    lua_setglobal(L, "graft");
}

static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-") == 0) break;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-e") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "graft: -e needs an argument\n%s", usage);
                return -1;
            }
            if (o->code_count == 0) o->code_first = i;
            o->code_count++;
            i++;
        } else if (strcmp(a, "-i") == 0) {
            o->interactive = true;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) {
            o->version = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            o->help = true;
        } else {
            o->unknown = a;
            return -1;
        }
    }
    o->script = i < argc ? i : 0;
    return 0;
}

/* "graft: unknown option '--verison'", the nearest of graft's options when one is
 * close (graft.options.did_you_mean, as the commands say it), and the usage. */
static void report_unknown_option(lua_State *L, const char *option) {
    static const char *const known[] = {"-e", "-i", "-v", "--version", "-h", "--help"};
    const char *hint = "";
    luaL_openlibs(L);
    setup_paths(L, lua_directory());
    lua_getglobal(L, "require");
    lua_pushliteral(L, "graft.options");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
        lua_getfield(L, -1, "did_you_mean");
        lua_pushstring(L, option);
        lua_createtable(L, (int)(sizeof known / sizeof known[0]), 0);
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            lua_pushstring(L, known[i]);
            lua_rawseti(L, -2, (lua_Integer)i + 1);
        }
        if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_isstring(L, -1)) hint = lua_tostring(L, -1);
    }
    fprintf(stderr, "graft: unknown option '%s'%s\n%s", option, hint, usage);
}

/* Runs every -e chunk in command-line order. */
static int run_code(lua_State *L, int argc, char **argv, const options *o) {
    for (int i = o->code_first; o->code_count > 0 && i < argc; i++) {
        if (strcmp(argv[i], "-e") != 0) continue;
        const char *code = argv[++i];
        int status = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
        if (status == LUA_OK) status = gf_cli_call(L, 0, 0);
        if (gf_cli_report(L, status) != LUA_OK) return 1;
        if (o->script && i >= o->script) break;
    }
    return 0;
}

/* arg = {[0] = script, args..., negative indices: the program and its options}. */
static void create_arg_table(lua_State *L, int argc, char **argv, int script) {
    lua_createtable(L, argc - script, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static int run_script(lua_State *L, int argc, char **argv, int script) {
    const char *name = strcmp(argv[script], "-") == 0 ? NULL : argv[script];
    int status = luaL_loadfile(L, name);
    if (status == LUA_OK) {
        int nargs = argc - script - 1;
        luaL_checkstack(L, nargs, "too many arguments to the script");
        for (int i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
        status = gf_cli_call(L, nargs, 0);
    }
    return gf_cli_report(L, status) == LUA_OK ? 0 : 1;
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The commands in directory (lua/graft/commands/<name>.lua), sorted, comma-separated
 * into out; *count = how many. */
static void command_list(const char *directory, char *out, size_t size, int *count) {
    char *names[256];
    int n = 0;
    DIR *dir = opendir(directory);
    for (struct dirent *e; dir && (e = readdir(dir)) && n < 256;) {
        size_t length = strlen(e->d_name);
        if (length > 4 && strcmp(e->d_name + length - 4, ".lua") == 0)
            names[n++] = strndup(e->d_name, length - 4);
    }
    if (dir) closedir(dir);
    qsort(names, (size_t)n, sizeof names[0], compare_strings);
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        int written = snprintf(out + used, size - used, "%s%s", i ? ", " : "", names[i]);
        if (written > 0 && (size_t)written < size - used) used += (size_t)written;
        free(names[i]);
    }
    *count = n;
}

/* "graft: unknown command 'x'; available commands: a, b" */
static void report_unknown_command(const char *directory, const char *name) {
    char list[4096];
    int count;
    command_list(directory, list, sizeof list, &count);
    fprintf(stderr, "graft: unknown command '%s'; ", name);
    if (count == 0) fprintf(stderr, "no commands are installed in %s", directory);
    else fprintf(stderr, "available commands: %s", list);
    fprintf(stderr, "\n(a script must be an existing file or end in .lua; see graft --help)\n");
}

static bool is_command_name(const char *s) {
    if (!*s) return false;
    for (; *s; s++)
        if (!(('a' <= *s && *s <= 'z') || ('0' <= *s && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

/* lua/graft/commands/<name>.lua returns function(args) -> exit status. */
static int run_command(lua_State *L, const char *dir, int argc, char **argv, int at) {
    const char *name = argv[at];
    char directory[4096], path[4400];
    snprintf(directory, sizeof directory, "%s/graft/commands", dir);
    snprintf(path, sizeof path, "%s/%s.lua", directory, name);
    if (!is_command_name(name) || !is_file(path)) {
        report_unknown_command(directory, name);
        return 1;
    }
    int status = luaL_loadfile(L, path);
    if (status == LUA_OK) status = gf_cli_call(L, 0, 1);
    if (gf_cli_report(L, status) != LUA_OK) return 1;
    if (!lua_isfunction(L, -1)) {
        fprintf(stderr, "graft: %s must return a function(args), returned a %s\n", path,
                luaL_typename(L, -1));
        return 1;
    }
    lua_createtable(L, argc - at - 1, 0);
    for (int i = at + 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - at);
    }
    status = gf_cli_call(L, 1, 1);
    if (gf_cli_report(L, status) != LUA_OK) return 1;
    if (lua_isnil(L, -1)) return 0;
    if (lua_isboolean(L, -1)) return lua_toboolean(L, -1) ? 0 : 1;
    return (int)lua_tointeger(L, -1);
}

/* Heuristic of the command line: a script is "-", an existing file, or a name
 * with ".lua" or a '/'; anything else in first position is a command. */
static bool looks_like_script(const char *a) {
    size_t length = strlen(a);
    return strcmp(a, "-") == 0 || is_file(a) || strchr(a, '/') ||
           (length > 4 && strcmp(a + length - 4, ".lua") == 0);
}

static int protected_main(lua_State *L) {
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    options o;
    if (parse_options(argc, argv, &o) != 0) {
        if (o.unknown) report_unknown_option(L, o.unknown);
        return lua_pushinteger(L, 1), 1;
    }
    if (o.help) {
        fputs(usage, stdout);
        char directory[4096], list[4096];
        int count;
        snprintf(directory, sizeof directory, "%s/graft/commands", lua_directory());
        command_list(directory, list, sizeof list, &count);
        if (count > 0) printf("available commands: %s (graft <command> --help)\n", list);
        return lua_pushinteger(L, 0), 1;
    }
    if (o.version) {
        printf("graft %s (%s)\n", GRAFT_VERSION, LUA_RELEASE);
        return lua_pushinteger(L, 0), 1;
    }
    luaL_openlibs(L);
    const char *dir = lua_directory();
    setup_paths(L, dir);
    gf_interrupt_install(L);

    if (o.script == 1 && !looks_like_script(argv[1])) {
        load_graft(L);
        lua_pushinteger(L, run_command(L, dir, argc, argv, 1));
        return 1;
    }
    create_arg_table(L, argc, argv, o.script); /* no script: arg[0] is graft */
    load_graft(L);
    int status = run_code(L, argc, argv, &o);
    if (status == 0 && o.script) status = run_script(L, argc, argv, o.script);
    if (status == 0 && (o.interactive || (!o.script && o.code_count == 0))) {
        if (o.interactive || isatty(STDIN_FILENO))
            status = gf_repl_run(L);
        else
            status = run_script(L, 1, (char *[]){"-", NULL}, 0);
    }
    lua_pushinteger(L, status);
    return 1;
}

int main(int argc, char **argv) {
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "graft: cannot create the Lua state (out of memory)\n");
        return 1;
    }
    lua_pushcfunction(L, protected_main);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = lua_pcall(L, 2, 1, 0);
    int exit_status = 1;
    if (status == LUA_OK)
        exit_status = (int)lua_tointeger(L, -1);
    else
        fprintf(stderr, "graft: %s\n", lua_tostring(L, -1));
    /* one process of an MPI job that fails ends the others, which would otherwise
     * wait for it (mpi/ranks.h); alone, it does nothing */
    if (exit_status != 0) {
        fflush(NULL);
        gf_mpi_abort(exit_status);
    }
    lua_close(L);
    return exit_status;
}
