#include "cli/interrupt.h"

#include <string.h>
#include <unistd.h>

#include <lauxlib.h>

static lua_State *main_state;
static volatile sig_atomic_t running_lua;
static volatile sig_atomic_t pending;      /* Ctrl-C at the prompt */
static volatile sig_atomic_t unanswered;   /* presses the hook has not seen yet */

/* Presses while the code sits in one long C call (the hook runs only between Lua
 * instructions): the third one gives up and ends the program, as a stuck program
 * must still be stoppable. */
enum { PRESSES_TO_QUIT = 3 };

static void stop(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    unanswered = 0;
    luaL_error(L, "interrupted!");
}

static void on_sigint(int signal_number) {
    if (!running_lua) {
        pending = 1;
        return;
    }
    unanswered++;
    if (unanswered == PRESSES_TO_QUIT - 1) {
        static const char note[] = "\ngraft: busy in C code; press Ctrl-C once more to quit\n";
        ssize_t ignored = write(STDERR_FILENO, note, sizeof note - 1);
        (void)ignored;
    } else if (unanswered >= PRESSES_TO_QUIT) {
        signal(signal_number, SIG_DFL);
        raise(signal_number);
        return;
    }
    /* lua_sethook is safe to call from a signal handler (see lua.c). */
    lua_sethook(main_state, stop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT, 1);
}

void gf_interrupt_install(lua_State *L) {
    main_state = L;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_sigint;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGINT, &action, NULL);
}

void gf_interrupt_begin_lua(void) {
    unanswered = 0;
    running_lua = 1;
}

void gf_interrupt_end_lua(void) {
    running_lua = 0;
    /* a press that came too late to matter; a hook of the user's own stays */
    if (lua_gethook(main_state) == stop) lua_sethook(main_state, NULL, 0, 0);
    unanswered = 0;
}

bool gf_interrupt_take_pending(void) {
    bool was = pending != 0;
    pending = 0;
    return was;
}
