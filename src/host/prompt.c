/* The terminal prompt (see prompt.h).
 *
 * Asking is plain C that holds a file descriptor, the terminal's settings
 * and signal dispositions; it gives all of them back before the Lua
 * function raises, so no error path can leave a terminal without echo. */
#include "prompt.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../lua/binding.h"

/* The most of a question shown, in bytes (a server could send 16 MiB). */
enum { SHOWN_QUESTION = 200 };

/* What asking came to. */
typedef enum {
    ASK_ANSWERED,
    ASK_NO_TERMINAL,  /* /dev/tty cannot be opened: no controlling terminal */
    ASK_TIMED_OUT,
    ASK_END_OF_INPUT, /* end of file typed, or the terminal hung up */
    ASK_TOO_LONG,
    ASK_INTERRUPTED,  /* a signal whose own handler returned */
    ASK_FAILED,       /* the terminal failed: `error` says how */
} ask_status;

/* The signals that would otherwise leave the terminal without echo: they
 * are caught while a question is open, the terminal is restored, and then
 * they take their course.  SIGTSTP (^Z) stops the program with echo back
 * on and asks again once it continues. */
static const int watched[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP};
enum { NWATCHED = sizeof watched / sizeof watched[0] };

static volatile sig_atomic_t caught;

static void on_signal(int sig)
{
    caught = sig;
}

/* One question on the terminal. */
typedef struct ask {
    int fd;
    int echo;
    int timeout;
    const char *question; /* made printable */
    struct timespec deadline;
    struct termios saved; /* the terminal's settings before, when changed */
    int changed;
    struct sigaction old_actions[NWATCHED];
    int installed[NWATCHED];
    sigset_t old_mask, wait_mask;
    int error; /* errno, for ASK_FAILED and ASK_NO_TERMINAL */
    char answer[HOST_PROMPT_MAX_ANSWER + 1];
    size_t len;
} ask;

/* Copies question[0..n) into out (size bytes) as it may be shown on a
 * terminal: control characters (C0, DEL and UTF-8 C1) become '?', so no
 * escape sequence from the server reaches the terminal; a long question is
 * cut at a character boundary and ends in "...". */
static void printable_question(const char *question, size_t n, char *out, size_t size)
{
    size_t keep = n, k = 0;
    int cut = 0;
    if (keep > size - 4) {
        keep = size - 4;
        while (keep > 0 && ((unsigned char)question[keep] & 0xC0) == 0x80) keep--;
        cut = 1;
    }
    for (size_t i = 0; i < keep; i++) {
        unsigned char c = (unsigned char)question[i];
        if (c == 0xC2 && i + 1 < keep && (unsigned char)question[i + 1] >= 0x80 &&
            (unsigned char)question[i + 1] <= 0x9F) {
            out[k++] = '?';
            i++;
        } else {
            out[k++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
        }
    }
    if (cut) memcpy(out + k, "...", 3), k += 3;
    out[k] = '\0';
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Catches the watched signals (unless they are ignored: nohup's SIGHUP
 * stays ignored) and blocks them outside pselect, so one cannot slip in
 * between a check and the wait. */
static void watch_signals(ask *a)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < NWATCHED; i++) sigaddset(&set, watched[i]);
    pthread_sigmask(SIG_BLOCK, &set, &a->old_mask);
    a->wait_mask = a->old_mask;
    caught = 0;
    for (size_t i = 0; i < NWATCHED; i++) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        a->installed[i] = sigaction(watched[i], NULL, &a->old_actions[i]) == 0 &&
                          a->old_actions[i].sa_handler != SIG_IGN &&
                          sigaction(watched[i], &sa, NULL) == 0;
        if (a->installed[i]) sigdelset(&a->wait_mask, watched[i]);
    }
}

/* Gives the signals their old dispositions and mask back; a signal caught
 * meanwhile is raised again first, so it is delivered once the mask is
 * restored, as if we had never caught it. */
static void unwatch_signals(ask *a, int sig)
{
    for (size_t i = 0; i < NWATCHED; i++)
        if (a->installed[i]) sigaction(watched[i], &a->old_actions[i], NULL);
    if (sig) raise(sig);
    pthread_sigmask(SIG_SETMASK, &a->old_mask, NULL);
}

/* Turns echo off for an answer that must not be shown.  TCSAFLUSH drops
 * what was typed before the question appeared, as getpass does. */
static int echo_off(ask *a)
{
    if (a->echo) return 0;
    if (tcgetattr(a->fd, &a->saved) < 0) return -1; /* cannot hide it: do not ask */
    struct termios quiet = a->saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    if (tcsetattr(a->fd, TCSAFLUSH, &quiet) < 0) return -1;
    a->changed = 1;
    return 0;
}

static void restore_terminal(ask *a)
{
    if (!a->changed) return;
    while (tcsetattr(a->fd, TCSAFLUSH, &a->saved) < 0 && errno == EINTR) {}
    a->changed = 0;
}

/* Milliseconds left until the deadline, 0 when it has passed. */
static long left_ms(const ask *a)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long ms = (long)(a->deadline.tv_sec - now.tv_sec) * 1000 +
              (a->deadline.tv_nsec - now.tv_nsec) / 1000000;
    return ms > 0 ? ms : 0;
}

/* Stops the program for ^Z with the terminal as it was, and prepares to
 * ask again when it continues. */
static void suspend(ask *a)
{
    restore_terminal(a);
    size_t i = 0;
    while (watched[i] != SIGTSTP) i++;
    struct sigaction ours;
    sigaction(SIGTSTP, &a->old_actions[i], &ours);
    sigset_t tstp;
    sigemptyset(&tstp);
    sigaddset(&tstp, SIGTSTP);
    raise(SIGTSTP);
    pthread_sigmask(SIG_UNBLOCK, &tstp, NULL); /* stops here until SIGCONT */
    pthread_sigmask(SIG_BLOCK, &tstp, NULL);
    sigaction(SIGTSTP, &ours, NULL);
    caught = 0;
}

/* Writes the question and reads one line of answer, within the deadline. */
static ask_status converse(ask *a)
{
    /* One write: whoever sees the question sees all of it. */
    char prompt[SHOWN_QUESTION + 2];
    snprintf(prompt, sizeof prompt, "%s ", a->question);
    for (;;) {
        if (echo_off(a) < 0 || write_all(a->fd, prompt, strlen(prompt)) < 0) {
            a->error = errno;
            return ASK_FAILED;
        }
        for (;;) {
            long ms = left_ms(a);
            if (ms == 0) return ASK_TIMED_OUT;
            fd_set readable;
            FD_ZERO(&readable);
            FD_SET(a->fd, &readable);
            struct timespec wait = {ms / 1000, (ms % 1000) * 1000000};
            int r = pselect(a->fd + 1, &readable, NULL, NULL, &wait, &a->wait_mask);
            if (r < 0 && errno != EINTR) {
                a->error = errno;
                return ASK_FAILED;
            }
            if (caught == SIGTSTP) break; /* ask again after the stop */
            if (caught) return ASK_INTERRUPTED;
            if (r <= 0) continue;
            size_t room = sizeof a->answer - a->len;
            ssize_t n = read(a->fd, a->answer + a->len, room);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n < 0 && errno == EIO) return ASK_END_OF_INPUT; /* hung up */
            if (n < 0) {
                a->error = errno;
                return ASK_FAILED;
            }
            if (n == 0) return ASK_END_OF_INPUT;
            char *newline = memchr(a->answer + a->len, '\n', (size_t)n);
            if (newline) {
                a->len = (size_t)(newline - a->answer);
                if (a->len > 0 && a->answer[a->len - 1] == '\r') a->len--;
                return ASK_ANSWERED;
            }
            a->len += (size_t)n;
            if (a->len > HOST_PROMPT_MAX_ANSWER) return ASK_TOO_LONG;
        }
        suspend(a);
    }
}

/* Asks the question on the controlling terminal and leaves everything as
 * it found it: settings, signal dispositions, mask, no descriptor open. */
static ask_status ask_terminal(ask *a)
{
    a->fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (a->fd < 0) {
        a->error = errno;
        return ASK_NO_TERMINAL;
    }
    clock_gettime(CLOCK_MONOTONIC, &a->deadline);
    a->deadline.tv_sec += a->timeout;
    watch_signals(a);
    ask_status status = converse(a);
    /* The answer's newline was not shown with echo off; a question left
     * unanswered leaves the cursor after it: end the line either way. */
    if (!a->echo || status != ASK_ANSWERED) write_all(a->fd, "\n", 1);
    /* What was typed of an answer refused must not reach the shell. */
    if (status == ASK_TOO_LONG || status == ASK_TIMED_OUT) tcflush(a->fd, TCIFLUSH);
    restore_terminal(a);
    close(a->fd);
    a->fd = -1;
    unwatch_signals(a, status == ASK_INTERRUPTED ? (int)caught : 0);
    return status;
}

/* What went wrong with a question, in words, for status (not ANSWERED). */
static void ask_failure(const ask *a, ask_status status, char *why, size_t size)
{
    switch (status) {
    case ASK_NO_TERMINAL:
        snprintf(why, size, "no terminal to ask on");
        break;
    case ASK_TIMED_OUT:
        snprintf(why, size, "no answer within %d s (--prompt-timeout)", a->timeout);
        break;
    case ASK_END_OF_INPUT:
        snprintf(why, size, "end of input on the terminal");
        break;
    case ASK_TOO_LONG:
        snprintf(why, size, "the answer is longer than %d bytes", HOST_PROMPT_MAX_ANSWER);
        break;
    case ASK_INTERRUPTED:
        snprintf(why, size, "interrupted");
        break;
    default:
        snprintf(why, size, "the terminal failed: %s", strerror(a->error));
        break;
    }
}

long host_prompt_ask(const char *question, int echo, int timeout, char *buf, size_t size,
                     char *err, size_t errsz)
{
    ask a;
    memset(&a, 0, sizeof a);
    a.echo = echo;
    a.timeout = timeout;
    a.question = question;
    ask_status status = ask_terminal(&a);
    long n = -1;
    if (status == ASK_ANSWERED && a.len < size) {
        memcpy(buf, a.answer, a.len);
        buf[a.len] = '\0';
        n = (long)a.len;
    } else if (status == ASK_ANSWERED) {
        snprintf(err, errsz, "the answer is longer than %zu bytes", size - 1);
    } else {
        ask_failure(&a, status, err, errsz);
    }
    OPENSSL_cleanse(a.answer, sizeof a.answer);
    return n;
}

/* function(prompt, echo, last) -> answer, or nil and why when there is no
 * terminal to ask on (the login then fails as without any prompt; every
 * other failure raises).  `last` (no question follows)
 * changes nothing on a terminal. */
static int terminal_prompt(lua_State *L)
{
    size_t qlen;
    const char *question = luaL_checklstring(L, 1, &qlen);
    char shown[SHOWN_QUESTION];
    printable_question(question, qlen, shown, sizeof shown);
    ask a;
    memset(&a, 0, sizeof a);
    a.echo = lua_toboolean(L, 2);
    a.timeout = (int)lua_tointeger(L, lua_upvalueindex(1));
    a.question = shown;
    ask_status status = ask_terminal(&a);
    if (status == ASK_ANSWERED) {
        lua_pushlstring(L, a.answer, a.len);
        OPENSSL_cleanse(a.answer, sizeof a.answer);
        return 1;
    }
    OPENSSL_cleanse(a.answer, sizeof a.answer);
    if (status == ASK_NO_TERMINAL) {
        /* nobody to ask: the login fails as it does without a prompt */
        lua_pushnil(L);
        lua_pushliteral(L, "no terminal to ask on; --auth-hook FILE can answer it");
        return 2;
    }
    char why[160];
    ask_failure(&a, status, why, sizeof why);
    return luaL_error(L, "cannot answer the server's question \"%s\" (dialog plugin): %s", shown,
                      why);
}

void host_prompt_register(lua_State *L, int timeout)
{
    lua_pushinteger(L, timeout);
    lua_pushcclosure(L, terminal_prompt, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, MYL_HOST_PROMPT);
}
