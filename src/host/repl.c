/* The interactive prompt (see repl.h).
 *
 * Lines are read with libedit's callback interface, so the wait for a key
 * is our own poll(): a SIGINT there only sets a flag, and the line is
 * cleared without libedit ever seeing a signal (its own handlers are off).
 * The prompt's SIGINT disposition is installed only while a line is read.
 * While a line runs, the host's disposition is back in place (the handler
 * that interrupts a running statement, when the host has one), or, when
 * that is the default (which would end the program) or ignored, lua.c's: a
 * hook that raises "interrupted!" in the running Lua code.  SIGINT is
 * unblocked while a line is read, whatever mask the program inherited.  Either way the error
 * reaches the line's pcall and the prompt goes on. */
#include "repl.h"

#include <editline/readline.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cancel.h"

#define PROMPT "mylua> "
#define PROMPT_MORE "    -> "

static volatile sig_atomic_t interrupted;
/* The reading handler also writes a byte here, which the poll of the line
 * watches: a SIGINT that lands after the flag was looked at and before
 * poll() blocks still wakes it (a flag alone would be seen only at the
 * next key). */
static int sigint_pipe[2] = {-1, -1};
static lua_State *running_state; /* for the hook set by on_sigint_running */

static void on_sigint_reading(int sig)
{
    (void)sig;
    int saved_errno = errno;
    interrupted = 1;
    if (sigint_pipe[1] >= 0) {
        char b = 1;
        ssize_t w = write(sigint_pipe[1], &b, 1);
        (void)w; /* full: a wake-up is pending already */
    }
    errno = saved_errno;
}

/* Empties the wake-up pipe (non-blocking) before a line is read. */
static void drain_sigint_pipe(void)
{
    char buf[64];
    if (sigint_pipe[0] >= 0)
        while (read(sigint_pipe[0], buf, sizeof buf) > 0) {
        }
}

static void open_sigint_pipe(void)
{
    if (sigint_pipe[0] >= 0 || pipe(sigint_pipe) != 0) return;
    for (int i = 0; i < 2; i++) {
        fcntl(sigint_pipe[i], F_SETFL, fcntl(sigint_pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(sigint_pipe[i], F_SETFD, FD_CLOEXEC);
    }
}

static void close_sigint_pipe(void)
{
    for (int i = 0; i < 2; i++) {
        if (sigint_pipe[i] >= 0) close(sigint_pipe[i]);
        sigint_pipe[i] = -1;
    }
}

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    lua_pushliteral(L, "interrupted!"); /* no position: it is wherever Ctrl-C found the code */
    lua_error(L);
}

/* lua_sethook may be called from a signal handler (the Lua manual). */
static void on_sigint_running(int sig)
{
    (void)sig;
    lua_sethook(running_state, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

typedef struct repl_state {
    lua_State *L;
    int session;                   /* stack index of the Lua session */
    int editing;                   /* stdin is a terminal: libedit */
    struct sigaction host_action;  /* SIGINT as the host set it */
    struct sigaction run_action;   /* while a line runs */
    struct sigaction read_action;  /* while a line is read */
    char history[PATH_MAX];        /* "" without a history file */
} repl_state;

static void set_signals(repl_state *r)
{
    sigaction(SIGINT, NULL, &r->host_action);
    r->run_action = r->host_action;
    /* the default would end the program, and an ignored SIGINT (inherited
     * from a background start) would leave a runaway line unstoppable */
    if (!(r->host_action.sa_flags & SA_SIGINFO) &&
        (r->host_action.sa_handler == SIG_DFL || r->host_action.sa_handler == SIG_IGN)) {
        memset(&r->run_action, 0, sizeof r->run_action);
        sigemptyset(&r->run_action.sa_mask);
        r->run_action.sa_handler = on_sigint_running;
    }
    memset(&r->read_action, 0, sizeof r->read_action);
    sigemptyset(&r->read_action.sa_mask);
    r->read_action.sa_handler = on_sigint_reading; /* no SA_RESTART: poll returns */
}

/* ~/.mylua_history, written with mode 0600 (it may hold what was typed
 * about passwords), at most HOST_REPL_HISTORY_LINES lines. */
static void history_open(repl_state *r)
{
    const char *home = getenv("HOME");
    r->history[0] = '\0';
    using_history();
    stifle_history(HOST_REPL_HISTORY_LINES);
    if (!home || !*home) return;
    int n = snprintf(r->history, sizeof r->history, "%s/.mylua_history", home);
    if (n < 0 || (size_t)n >= sizeof r->history) {
        r->history[0] = '\0';
        return;
    }
    read_history(r->history);
}

static void history_add(repl_state *r, const char *line)
{
    if (line[strspn(line, " \t\r\n")] == '\0') return; /* nothing typed */
    add_history(line);
    if (!r->history[0]) return;
    /* libedit creates the file with the umask's mode: make it ours first */
    int fd = open(r->history, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return;
    int ok = fchmod(fd, 0600) == 0;
    close(fd);
    if (ok) write_history(r->history);
}

static char *line_read;
static int line_done;

static void on_line(char *line)
{
    line_read = line;
    line_done = 1;
}

/* Reads a line with libedit; *cancelled when Ctrl-C cleared it, *late
 * when Ctrl-C came after Enter but before the line's disposition was back
 * (it is meant for the line then).  Returns the line (malloc'd) or NULL at
 * the end of input. */
static char *read_edited(repl_state *r, const char *prompt, int *cancelled, int *late)
{
    line_read = NULL;
    line_done = 0;
    interrupted = 0;
    *cancelled = 0;
    *late = 0;
    sigset_t sigint, old_mask;
    sigemptyset(&sigint);
    sigaddset(&sigint, SIGINT);
    sigaction(SIGINT, &r->read_action, NULL);
    pthread_sigmask(SIG_UNBLOCK, &sigint, &old_mask);
    lua_sethook(r->L, NULL, 0, 0); /* an interrupt after the last line's end */
    drain_sigint_pipe();
    rl_callback_handler_install(prompt, on_line);
    while (!line_done) {
        struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
                                {.fd = sigint_pipe[0], .events = POLLIN}};
        struct pollfd *p = &fds[0];
        int n = poll(fds, sigint_pipe[0] >= 0 ? 2 : 1, -1);
        if (interrupted) {
            *cancelled = 1;
            break;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (p->revents & POLLIN) rl_callback_read_char();
        else if (p->revents & (POLLHUP | POLLERR | POLLNVAL)) break; /* the terminal is gone */
    }
    rl_callback_handler_remove();
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGINT, &r->run_action, NULL);
    if (!*cancelled && interrupted && line_read) *late = 1;
    if (*cancelled) {
        free(line_read);
        line_read = NULL;
        fputs("^C\n", stdout);
    } else if (!line_done || !line_read) {
        fputc('\n', stdout); /* Ctrl-D: the shell's prompt on a line of its own */
    }
    fflush(stdout);
    return line_read;
}

/* Without a terminal (mylua -i < file): the prompt, then a plain line. */
static char *read_plain(const char *prompt)
{
    fputs(prompt, stdout);
    fflush(stdout);
    char *line = NULL;
    size_t size = 0;
    ssize_t n = getline(&line, &size, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n') line[n - 1] = '\0';
    return line;
}

static int host_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* The message handler of host.xpcall: the interrupt hook goes first, so
 * the error that ends the line is the one that ended it (a statement's
 * ERROR 1317 after Ctrl-C cancelled it), not the hook's on the handler's
 * first instruction; then the line's own Lua handler. */
static int clear_hook_then_handle(lua_State *L)
{
    lua_sethook(L, NULL, 0, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

/* host.xpcall(f, handler, ...): xpcall, with the hook cleared as above
 * and when f returns. */
static int guarded_xpcall(lua_State *L)
{
    int n = lua_gettop(L);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, clear_hook_then_handle, 1);
    lua_remove(L, 2);
    lua_insert(L, 1); /* handler, f, arguments */
    int status = lua_pcall(L, n - 2, LUA_MULTRET, 1);
    lua_sethook(L, NULL, 0, 0);
    lua_pushboolean(L, status == LUA_OK);
    lua_replace(L, 1);
    return lua_gettop(L);
}

/* session:line(text) under a pcall: "more", "quit" or nothing.  The
 * session prints the errors of the line itself; what reaches here is a
 * failure of the prompt's own code (out of memory). */
static int run_line(repl_state *r, const char *text, int *more)
{
    lua_State *L = r->L;
    int quit = 0;
    lua_getfield(L, r->session, "line");
    lua_pushvalue(L, r->session);
    lua_pushstring(L, text);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "%s\n", msg ? msg : "(error object is not a string)");
        fflush(stderr);
        *more = 0;
    } else {
        const char *what = lua_tostring(L, -1);
        *more = what && strcmp(what, "more") == 0;
        quit = what && strcmp(what, "quit") == 0;
    }
    lua_pop(L, 1);
    fflush(stdout);
    return quit;
}

static void cancel_chunk(repl_state *r)
{
    lua_getfield(r->L, r->session, "cancel");
    lua_pushvalue(r->L, r->session);
    lua_call(r->L, 1, 0);
}

void host_repl_run(lua_State *L, int traceback)
{
    repl_state r;
    memset(&r, 0, sizeof r);
    r.L = L;
    r.editing = isatty(STDIN_FILENO);
    running_state = L; /* before any SIGINT can reach on_sigint_running */

    lua_getglobal(L, "require");
    lua_pushliteral(L, "mylua.repl");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, host_now);
    lua_setfield(L, -2, "now");
    lua_pushcfunction(L, guarded_xpcall);
    lua_setfield(L, -2, "xpcall");
    lua_pushboolean(L, traceback);
    lua_setfield(L, -2, "traceback");
    lua_call(L, 1, 1);
    r.session = lua_gettop(L);

    set_signals(&r);
    if (r.editing) open_sigint_pipe();
    if (r.editing) {
        rl_catch_signals = 0; /* SIGINT is ours (above); libedit keeps out */
        rl_readline_name = "mylua";
        history_open(&r);
    }
    sigaction(SIGINT, &r.run_action, NULL);
    host_cancel_interactive(1);
    int more = 0;
    for (;;) {
        const char *prompt = more ? PROMPT_MORE : PROMPT;
        int cancelled = 0, late = 0;
        if (!r.editing) lua_sethook(L, NULL, 0, 0);
        char *line = r.editing ? read_edited(&r, prompt, &cancelled, &late) : read_plain(prompt);
        if (late) raise(SIGINT); /* to the line's disposition */
        if (cancelled) {
            cancel_chunk(&r);
            more = 0;
            continue;
        }
        if (!line) break;
        if (r.editing) history_add(&r, line);
        int quit = run_line(&r, line, &more);
        free(line);
        if (quit) break;
    }
    host_cancel_interactive(0);
    sigaction(SIGINT, &r.host_action, NULL);
    close_sigint_pipe();
    lua_sethook(L, NULL, 0, 0);
    lua_settop(L, r.session - 2);
}
