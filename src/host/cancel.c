/* Signals, the run's deadline and the canceller thread (cancel.h). */
#include "cancel.h"

#include <errno.h>
#include <lauxlib.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "../lua/live.h"
#include "exit_codes.h"

/* stop_sig's value for a lost --lock: no signal has it */
#define STOP_LOCK_LOST (-1)

static lua_State *run_state;            /* the state the hook goes on */
static volatile sig_atomic_t stop_sig;  /* SIGINT, SIGTERM, SIGALRM (the deadline),
                                           STOP_LOCK_LOST or 0 */
static char lock_lost_reason[600];      /* written before stop_sig says STOP_LOCK_LOST */
static volatile sig_atomic_t quiet;     /* the script's part is over: no hook */
static volatile sig_atomic_t interactive; /* the prompt runs: SIGINT stops one line */
static volatile sig_atomic_t deferring; /* mylua.defer_stop(true): a stop only recorded */
static volatile sig_atomic_t acted;     /* the stop's hook and cancel were started */
static int worded;                      /* an error message gave the reason */
static char raised[400];                /* what the hook raised, the first time */
static double run_timeout;
static int wake[2] = {-1, -1};          /* the handler's pipe to the canceller */
static pthread_t canceller;
static int canceller_running;

static const int handled[] = {SIGINT, SIGTERM, SIGALRM};
enum { NHANDLED = sizeof handled / sizeof handled[0] };
static struct sigaction old_actions[NHANDLED];
static int installed[NHANDLED];

const char *host_cancel_reason(void)
{
    static char timed_out[64];
    switch (stop_sig) {
    case 0: return NULL;
    case SIGINT: return "interrupted by SIGINT";
    case SIGTERM: return "interrupted by SIGTERM";
    case STOP_LOCK_LOST: return lock_lost_reason;
    default:
        snprintf(timed_out, sizeof timed_out, "run timed out after %g s", run_timeout);
        return timed_out;
    }
}

static int stop_status(void)
{
    if (stop_sig == STOP_LOCK_LOST) return HOST_EXIT_LOCKED;
    return stop_sig == SIGALRM ? HOST_EXIT_TIMEOUT : HOST_EXIT_SIGNAL_BASE + stop_sig;
}

/* Raises the reason, placed where the script was.  Only Lua instructions
 * count: a hook on calls would also fire as the message handler (a C
 * function) is called for this very error.  The first message is kept:
 * the same one every time, and recognised when it comes back wrapped. */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (quiet) {
        lua_sethook(L, NULL, 0, 0);
        return;
    }
    if (!raised[0]) {
        lua_Debug here;
        const char *reason = host_cancel_reason();
        if (lua_getstack(L, 0, &here) && lua_getinfo(L, "Sl", &here) && here.currentline > 0)
            snprintf(raised, sizeof raised, "%s (at %s:%d)", reason, here.short_src,
                     here.currentline);
        else
            snprintf(raised, sizeof raised, "%s", reason);
    }
    lua_pushstring(L, raised);
    lua_error(L);
}

/* At the prompt, a SIGINT stops the line that runs, once: the prompt
 * catches the error and goes on. */
static void line_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    lua_pushliteral(L, "interrupted!"); /* as lua's prompt says it */
    lua_error(L);
}

/* Ends the process by the stop's signal itself, default action, so that a
 * calling shell sees the program was interrupted (and a shell loop stops,
 * as it would for any program killed by ^C); 128 + the number when the
 * signal does not kill it.  The timeout exits with its own status. */
static void die_of_stop(int sig)
{
    if (sig == SIGINT || sig == SIGTERM) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        sigaction(sig, &dfl, NULL);
        kill(getpid(), sig); /* to whichever thread takes it: the main one */
        sigset_t only;
        sigemptyset(&only);
        sigaddset(&only, sig);
        pthread_sigmask(SIG_UNBLOCK, &only, NULL);
    }
    _exit(sig == STOP_LOCK_LOST ? HOST_EXIT_LOCKED
          : sig == SIGALRM    ? HOST_EXIT_TIMEOUT
                              : HOST_EXIT_SIGNAL_BASE + sig);
}

static void say_now(const char *msg)
{
    ssize_t w = write(STDERR_FILENO, msg, strlen(msg));
    (void)w; /* nothing better to do when stderr is gone */
}

/* The stop takes effect: the hook on the script, the canceller woken.
 * Async-signal-safe; runs once per run. */
static void act_on_stop(void)
{
    acted = 1;
    if (!quiet && run_state) lua_sethook(run_state, stop_hook, LUA_MASKCOUNT, 1);
    char b = 1;
    ssize_t w = write(wake[1], &b, 1);
    (void)w; /* the pipe cannot be full: one byte per run */
}

/* Async-signal-safe: records, hooks, wakes the canceller. */
static void on_signal(int sig)
{
    int saved_errno = errno;
    if (interactive && sig == SIGINT && !stop_sig) {
        /* the prompt's line: cancel its statement, stop its Lua, go on */
        if (run_state) lua_sethook(run_state, line_hook, LUA_MASKCOUNT, 1);
        char b = 1;
        ssize_t w = write(wake[1], &b, 1);
        (void)w; /* a full pipe holds cancels enough */
        errno = saved_errno;
        return;
    }
    if (stop_sig && sig != SIGALRM) {
        say_now(sig == SIGINT ? "mylua: interrupted again by SIGINT, exiting now\n"
                              : "mylua: interrupted again by SIGTERM, exiting now\n");
        die_of_stop(sig);
    }
    if (!stop_sig || (sig == SIGALRM && !acted)) {
        /* the deadline is never deferred: it overrides a recorded stop */
        stop_sig = sig;
        if (deferring && sig != SIGALRM) {
            errno = saved_errno; /* recorded: the script stops itself, between its steps */
            return;
        }
        act_on_stop();
    }
    errno = saved_errno;
}

int host_cancel_lock_lost(const char *reason)
{
    int stops = 0;
    sigset_t handled_set, old;
    sigemptyset(&handled_set);
    for (int i = 0; i < NHANDLED; i++) sigaddset(&handled_set, handled[i]);
    /* no handler runs on this thread meanwhile; the main thread's may,
     * and then its stop came first */
    pthread_sigmask(SIG_BLOCK, &handled_set, &old);
    if ((!stop_sig || !acted) && wake[1] >= 0 && !quiet) {
        snprintf(lock_lost_reason, sizeof lock_lost_reason, "%s", reason);
        stop_sig = STOP_LOCK_LOST;
        act_on_stop();
        stops = 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return stops;
}

static void report_not_cancelled(void *ud, uint32_t thread_id, const myl_error *e)
{
    (void)ud;
    fprintf(stderr, "mylua: could not cancel the statement of connection %u: %s\n",
            (unsigned)thread_id, e->message);
    fflush(stderr);
}

/* Waits for the pipe: the handler's byte (cancel, then give the run its
 * grace) or the end of the run (the write end closed). */
static void *cancel_main(void *arg)
{
    (void)arg;
    for (;;) {
        char b;
        ssize_t n = read(wake[0], &b, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return NULL;
        myl_lua_live_kill_queries(report_not_cancelled, NULL);
        if (!stop_sig) continue; /* a line at the prompt was interrupted, not the run */
        struct pollfd p = {wake[0], POLLIN, 0};
        int r;
        do r = poll(&p, 1, HOST_CANCEL_GRACE * 1000);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            fprintf(stderr, "mylua: %s, and the script did not stop within %d s: exiting\n",
                    host_cancel_reason(), HOST_CANCEL_GRACE);
            fflush(NULL);
            die_of_stop(stop_sig);
        }
        /* the run ended: the next read sees it */
    }
}

int host_cancel_start(lua_State *L, double timeout)
{
    run_state = L;
    run_timeout = timeout;
    if (pipe(wake) < 0) {
        fprintf(stderr, "mylua: cannot watch for signals: %s\n", strerror(errno));
        return -1;
    }
    /* The canceller takes no signal: every one goes to the main thread,
     * whose Lua state the hook is set on. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&canceller, NULL, cancel_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(wake[0]);
        close(wake[1]);
        wake[0] = wake[1] = -1;
        fprintf(stderr, "mylua: cannot start the canceller: %s\n", strerror(rc));
        return -1;
    }
    canceller_running = 1;
    for (int i = 0; i < NHANDLED; i++) {
        if (handled[i] == SIGALRM && timeout <= 0) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        for (int j = 0; j < NHANDLED; j++) sigaddset(&sa.sa_mask, handled[j]);
        sa.sa_flags = 0; /* no SA_RESTART: a sleep or a wait returns at once */
        installed[i] = sigaction(handled[i], &sa, &old_actions[i]) == 0;
    }
    if (timeout > 0) {
        struct itimerval it;
        memset(&it, 0, sizeof it);
        it.it_value.tv_sec = (time_t)timeout;
        it.it_value.tv_usec = (suseconds_t)((timeout - (double)(time_t)timeout) * 1e6);
        if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0) it.it_value.tv_usec = 1;
        setitimer(ITIMER_REAL, &it, NULL);
    }
    return 0;
}

void host_cancel_interactive(int on)
{
    interactive = on;
}

void host_cancel_quiet(lua_State *L)
{
    quiet = 1;
    lua_sethook(L, NULL, 0, 0);
}

void host_cancel_word_error(lua_State *L)
{
    host_cancel_quiet(L);
    const char *reason = host_cancel_reason();
    if (!reason) return;
    worded = 1;
    const char *msg = lua_tostring(L, -1);
    if (msg && raised[0] && strstr(msg, raised)) {
        /* the hook's own, perhaps with a place put before it on its way
         * out of a coroutine: where the script was stopped is in it */
        lua_pushstring(L, raised);
    } else {
        lua_pushfstring(L, "%s (%s)", reason, msg ? msg : "?");
    }
    lua_remove(L, -2);
}

/* stop_requested(): the reason of a stop recorded (or acted on), or nil. */
static int stop_requested(lua_State *L)
{
    const char *reason = host_cancel_reason();
    if (reason) lua_pushstring(L, reason);
    else lua_pushnil(L);
    return 1;
}

/* defer_stop(on): returns whether stops were deferred before.  Turned
 * off with a stop recorded meanwhile, the stop takes effect now: the
 * script stops at its next instruction. */
static int defer_stop(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TBOOLEAN);
    lua_pushboolean(L, deferring);
    sigset_t handled_set, old;
    sigemptyset(&handled_set);
    for (int i = 0; i < NHANDLED; i++) sigaddset(&handled_set, handled[i]);
    pthread_sigmask(SIG_BLOCK, &handled_set, &old); /* no handler between the two */
    deferring = lua_toboolean(L, 1);
    int now = !deferring && stop_sig && !acted && wake[1] >= 0 && !interactive;
    if (now) act_on_stop();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 1;
}

static int open_host_stop(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"stop_requested", stop_requested},
        {"defer_stop", defer_stop},
        {NULL, NULL},
    };
    luaL_newlib(L, functions);
    return 1;
}

void host_cancel_register(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, open_host_stop);
    lua_setfield(L, -2, "mylua.host_stop");
    lua_pop(L, 1);
}

int host_cancel_finish(int status)
{
    struct itimerval off;
    memset(&off, 0, sizeof off);
    if (run_timeout > 0) setitimer(ITIMER_REAL, &off, NULL);
    for (int i = 0; i < NHANDLED; i++)
        if (installed[i]) sigaction(handled[i], &old_actions[i], NULL);
    if (canceller_running) {
        close(wake[1]); /* the canceller reads the end of the pipe */
        pthread_join(canceller, NULL);
        canceller_running = 0;
    }
    if (wake[0] >= 0) close(wake[0]);
    wake[0] = wake[1] = -1;
    run_state = NULL;
    if (!stop_sig) return status;
    if (!worded) fprintf(stderr, "mylua: %s\n", host_cancel_reason());
    fflush(NULL);
    if (stop_sig == SIGINT || stop_sig == SIGTERM) die_of_stop(stop_sig);
    return stop_status();
}
