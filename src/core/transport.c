/* Plain socket transport: TCP (IPv4/IPv6, names resolved, optionally from
 * a chosen local address) and Unix sockets.
 * The descriptor stays non-blocking; every wait goes through poll() bounded
 * by the caller's deadline, so no single slow peer can hold a call past it. */
#define _DEFAULT_SOURCE /* TCP_KEEPIDLE & co. on glibc */

#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Once connected the socket blocks, with the kernel's SO_RCVTIMEO and
 * SO_SNDTIMEO keeping the deadlines: a reply costs one recv() instead of a
 * recv() that fails with EAGAIN, a poll() and a recv() again.  The
 * timeouts are set only when the deadline asks for less than the one in
 * force (the syscall is as dear as the recv it saves), so each is set a
 * little short of what is left, and a recv that times out early loops
 * with what remains. */
typedef struct sock_transport {
    myl_transport base;
    int fd;
    double rcv_timeout, snd_timeout; /* seconds in force; 0: none */
    char err[160]; /* the last failure, for errmsg */
} sock_transport;

myl_io_status myl_transport_pass_flush(myl_transport *t, double deadline)
{
    return t->below && t->below->flush ? t->below->flush(t->below, deadline) : MYL_IO_DONE;
}

void myl_transport_pass_on_command(myl_transport *t)
{
    if (t->below && t->below->on_command) t->below->on_command(t->below);
}

double myl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, double deadline)
{
    for (;;) {
        int ms = -1;
        if (deadline > 0) {
            double left = deadline - myl_now();
            if (left <= 0) return 0;
            /* poll() takes an int of milliseconds: clamp far deadlines */
            ms = left >= INT_MAX / 1000.0 ? INT_MAX : (int)(left * 1000.0) + 1;
        }
        struct pollfd pfd = {.fd = fd, .events = events, .revents = 0};
        int rc = poll(&pfd, 1, ms);
        if (rc > 0) return 1;
        if (rc == 0) {
            if (deadline > 0 && myl_now() >= deadline) return 0;
            continue;
        }
        if (errno != EINTR) return -1;
    }
}

/* Keeps the text of a failed call: strerror of errno, or `why`. */
static myl_io_status sock_failed(sock_transport *s, myl_io_status st, int e, const char *why)
{
    if (why) {
        snprintf(s->err, sizeof s->err, "%s", why);
    } else {
        char text[120];
        if (strerror_r(e, text, sizeof text) != 0) snprintf(text, sizeof text, "error");
        snprintf(s->err, sizeof s->err, "%s (errno %d)", text, e);
    }
    return st;
}

/* Makes the socket timeout `opt` (in force: *cur) end no later than the
 * deadline.  1, 0 when the deadline has passed, -1 on error. */
static int arm_timeout(sock_transport *s, int opt, double *cur, double deadline)
{
    double want = 0;
    if (deadline > 0) {
        want = deadline - myl_now();
        if (want <= 0) return 0;
        if (*cur > 0 && *cur <= want) return 1;
        double slack = want / 8 < 0.01 ? want / 8 : 0.01;
        want -= slack;
    } else if (*cur == 0) {
        return 1;
    }
    struct timeval tv;
    tv.tv_sec = (time_t)want;
    tv.tv_usec = (suseconds_t)((want - (double)tv.tv_sec) * 1e6);
    if (want > 0 && tv.tv_sec == 0 && tv.tv_usec == 0) tv.tv_usec = 1; /* 0 would mean never */
    if (setsockopt(s->fd, SOL_SOCKET, opt, &tv, sizeof tv) < 0) return -1;
    *cur = want;
    return 1;
}

/* At least one byte unless the deadline passes first. */
static myl_io_status sock_read(myl_transport *t, void *buf, size_t n, size_t *got,
                               double deadline)
{
    sock_transport *s = (sock_transport *)t;
    for (;;) {
        int a = arm_timeout(s, SO_RCVTIMEO, &s->rcv_timeout, deadline);
        if (a == 0) return sock_failed(s, MYL_IO_TIMEOUT, 0, "timed out");
        if (a < 0) return sock_failed(s, MYL_IO_ERROR, errno, NULL);
        ssize_t r = recv(s->fd, buf, n, 0);
        if (r > 0) {
            *got = (size_t)r;
            return MYL_IO_DONE;
        }
        if (r == 0) return sock_failed(s, MYL_IO_CLOSED, 0, "connection closed by the peer");
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue; /* timed out early */
        if (errno == ECONNRESET) return sock_failed(s, MYL_IO_CLOSED, errno, NULL);
        return sock_failed(s, MYL_IO_ERROR, errno, NULL);
    }
}

static myl_io_status sock_write(myl_transport *t, const void *buf, size_t n, double deadline)
{
    sock_transport *s = (sock_transport *)t;
    const char *p = buf;
    while (n > 0) {
        if (deadline > 0 && myl_now() >= deadline)
            return sock_failed(s, MYL_IO_TIMEOUT, 0, "timed out");
        ssize_t r = -1;
        errno = EAGAIN;
#ifdef MSG_DONTWAIT
        /* A command nearly always fits the socket's send buffer: tried
         * without waiting first, it needs no send timeout armed (a
         * syscall); only a send that would block arms one and waits. */
        r = send(s->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
#endif
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int a = arm_timeout(s, SO_SNDTIMEO, &s->snd_timeout, deadline);
            if (a == 0) return sock_failed(s, MYL_IO_TIMEOUT, 0, "timed out");
            if (a < 0) return sock_failed(s, MYL_IO_ERROR, errno, NULL);
            r = send(s->fd, p, n, MSG_NOSIGNAL);
        }
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        return sock_failed(s, r < 0 && (errno == EPIPE || errno == ECONNRESET) ? MYL_IO_CLOSED
                                                                                : MYL_IO_ERROR,
                           r < 0 ? errno : EIO, NULL);
    }
    return MYL_IO_DONE;
}

/* Nothing is held back and no sequence is kept at this layer. */
static myl_io_status sock_flush(myl_transport *t, double deadline)
{
    (void)t;
    (void)deadline;
    return MYL_IO_DONE;
}

static void sock_on_command(myl_transport *t) { (void)t; }

static const char *sock_errmsg(const myl_transport *t)
{
    const sock_transport *s = (const sock_transport *)t;
    return s->err[0] ? s->err : "no error";
}

static void sock_close(myl_transport *t)
{
    sock_transport *s = (sock_transport *)t;
    if (s->fd >= 0) close(s->fd);
    free(s);
}

/* A socket that is non-blocking (for a connect bounded by the deadline)
 * and closed on exec: made so in the one call where the system can. */
static int open_socket(int family, int type, int protocol)
{
    int fd;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd >= 0 || errno != EINVAL) return fd;
#endif
    fd = socket(family, type, protocol);
    if (fd < 0) return -1;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Non-blocking connect bounded by the deadline; returns 0 or an errno. */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len, double deadline)
{
    if (connect(fd, sa, len) == 0) return 0;
    if (errno != EINPROGRESS && errno != EINTR) return errno;
    int w = wait_fd(fd, POLLOUT, deadline);
    if (w == 0) return ETIMEDOUT;
    if (w < 0) return errno;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) return errno;
    return soerr;
}

/* Keepalive and the user timeout together notice a server that vanished
 * without a FIN or RST (power loss, a cable, a dropped NAT entry) within
 * about two minutes, even when no read timeout is set:
 * - idle connection: the first probe after 60 s, then one every 10 s; with
 *   TCP_USER_TIMEOUT set, Linux drops the connection once nothing was heard
 *   for 120 s and a probe went unanswered;
 * - written data left unacknowledged for 120 s also drops it (keepalive
 *   alone never fires while data is in flight: retransmissions would go on
 *   for about 15 minutes).
 * A live server's kernel answers probes and acknowledges data even while
 * the query runs for hours, so none of this limits a long query. */
#define KEEPALIVE_IDLE_S 60
#define KEEPALIVE_INTERVAL_S 10
#define KEEPALIVE_COUNT 6
#define USER_TIMEOUT_MS 120000

static void tune_tcp(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
#if defined(TCP_KEEPIDLE) && defined(TCP_KEEPINTVL) && defined(TCP_KEEPCNT)
    int idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_INTERVAL_S, cnt = KEEPALIVE_COUNT;
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
#endif
#ifdef TCP_USER_TIMEOUT
    unsigned int user_timeout = USER_TIMEOUT_MS;
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
#endif
}

static int open_unix(const myl_connect_spec *spec, myl_error *err)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (strlen(spec->socket_path) >= sizeof sa.sun_path) {
        myl_error_set(err, MYL_CR_CONNECTION_ERROR,
                      "Can't connect to local server through socket '%s' (path too long)",
                      spec->socket_path);
        return -1;
    }
    strcpy(sa.sun_path, spec->socket_path);
    int fd = open_socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) {
        int e = errno;
        myl_error_set(err, MYL_CR_SOCKET_CREATE_ERROR, "Can't create UNIX socket (%d)", e);
        return -1;
    }
    int e = connect_fd(fd, (struct sockaddr *)&sa, sizeof sa, spec->deadline);
    if (e) {
        close(fd);
        myl_error_set(err, MYL_CR_CONNECTION_ERROR,
                      "Can't connect to local server through socket '%s' (%d)",
                      spec->socket_path, e);
        return -1;
    }
    return fd;
}

/* Name resolution bounded by the connect deadline.  getaddrinfo() cannot be
 * interrupted, so it runs in a thread of its own; when the deadline passes
 * first, the caller gives up and the thread frees the job when it ends. */
typedef struct resolve_job {
    pthread_mutex_t lock;
    pthread_cond_t done_cond;
    int done;
    int abandoned;
    int rc;
    char host[256];
    char port[16];
    struct addrinfo *res;
} resolve_job;

static void resolve_job_free(resolve_job *job)
{
    if (job->res) freeaddrinfo(job->res);
    pthread_cond_destroy(&job->done_cond);
    pthread_mutex_destroy(&job->lock);
    free(job);
}

static void *resolve_thread(void *arg)
{
    resolve_job *job = arg;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(job->host, job->port, &hints, &res);
    pthread_mutex_lock(&job->lock);
    job->rc = rc;
    job->res = rc == 0 ? res : NULL;
    job->done = 1;
    int abandoned = job->abandoned;
    pthread_cond_signal(&job->done_cond);
    pthread_mutex_unlock(&job->lock);
    if (abandoned) resolve_job_free(job);
    return NULL;
}

/* Returns getaddrinfo's code, or EAI_AGAIN when the deadline passed. */
static int resolve(const char *host, const char *port, double deadline, struct addrinfo **out)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    /* No AI_ADDRCONFIG: it hides ::1 on hosts whose only IPv6 address is
     * the loopback, and every address returned is tried in turn anyway. */
    /* A DNS name has at most 253 characters: a longer one is no host, and
     * is refused here rather than looked up without the deadline. */
    if (strlen(host) >= sizeof ((resolve_job *)0)->host) return EAI_NONAME;
    /* A numeric address is parsed, never looked up: it cannot block, so it
     * needs no thread (starting one cost each connect a clone and 17 system
     * calls more). */
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, out) == 0) return 0;
    hints.ai_flags = 0;
    if (deadline <= 0) return getaddrinfo(host, port, &hints, out);

    resolve_job *job = calloc(1, sizeof *job);
    if (!job) return EAI_MEMORY;
    strcpy(job->host, host);
    snprintf(job->port, sizeof job->port, "%s", port);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&job->lock, NULL);
    pthread_cond_init(&job->done_cond, &ca);
    pthread_condattr_destroy(&ca);

    pthread_t tid;
    pthread_attr_t ta;
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    /* The resolver takes no signal: a program's handlers run in its own
     * threads (the host's stop hook goes on the Lua state of the thread
     * the signal lands in). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int started = pthread_create(&tid, &ta, resolve_thread, job) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&ta);
    if (!started) {
        resolve_job_free(job);
        return getaddrinfo(host, port, &hints, out);
    }

    struct timespec until;
    until.tv_sec = (time_t)deadline;
    until.tv_nsec = (long)((deadline - (double)until.tv_sec) * 1e9);
    pthread_mutex_lock(&job->lock);
    while (!job->done) {
        if (pthread_cond_timedwait(&job->done_cond, &job->lock, &until) == ETIMEDOUT) break;
    }
    int rc;
    if (job->done) {
        rc = job->rc;
        *out = job->res;
        job->res = NULL;
        pthread_mutex_unlock(&job->lock);
        resolve_job_free(job);
    } else {
        job->abandoned = 1; /* the thread frees the job */
        pthread_mutex_unlock(&job->lock);
        rc = EAI_AGAIN;
    }
    return rc;
}

/* Resolves host for a TCP connect, err set on failure; `what` names it in
 * the message ("server host", "bind address"). */
static int resolve_for(const char *host, const char *port, double deadline, const char *what,
                       struct addrinfo **res, myl_error *err)
{
    int gai = resolve(host, port, deadline, res);
    if (gai == 0) return 0;
    if (gai == EAI_AGAIN && deadline > 0 && myl_now() >= deadline)
        myl_error_set(err, MYL_CR_UNKNOWN_HOST, "Unknown %s '%s' (name resolution timed out)",
                      what, host);
    else
        myl_error_set(err, MYL_CR_UNKNOWN_HOST, "Unknown %s '%s' (%d: %s)", what, host, gai,
                      gai_strerror(gai));
    return -1;
}

/* The first of the bind addresses of the given family, or NULL. */
static const struct addrinfo *same_family(const struct addrinfo *local, int family)
{
    for (; local; local = local->ai_next)
        if (local->ai_family == family) return local;
    return NULL;
}

/* Why the last server address was not connected to. */
typedef enum { FAILED_CONNECT, FAILED_BIND, FAILED_FAMILY } tcp_failure;

static int open_tcp(const myl_connect_spec *spec, myl_error *err)
{
    char port[16];
    snprintf(port, sizeof port, "%u", spec->port);
    struct addrinfo *res = NULL, *local = NULL;
    if (resolve_for(spec->host, port, spec->deadline, "server host", &res, err)) return -1;
    if (spec->bind_address &&
        resolve_for(spec->bind_address, "0", spec->deadline, "bind address", &local, err)) {
        freeaddrinfo(res);
        return -1;
    }
    int fd = -1, last = 0;
    tcp_failure why = FAILED_CONNECT;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        /* a local address of the server address's family, or skip it */
        const struct addrinfo *bind_to = local ? same_family(local, ai->ai_family) : NULL;
        if (local && !bind_to) {
            why = FAILED_FAMILY;
            last = EAFNOSUPPORT;
            continue;
        }
        fd = open_socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            why = FAILED_CONNECT;
            continue;
        }
        if (bind_to && bind(fd, bind_to->ai_addr, bind_to->ai_addrlen) != 0) {
            last = errno;
            why = FAILED_BIND;
            close(fd);
            fd = -1;
            continue;
        }
        why = FAILED_CONNECT;
        last = connect_fd(fd, ai->ai_addr, ai->ai_addrlen, spec->deadline);
        if (last == 0) break;
        close(fd);
        fd = -1;
        if (last == ETIMEDOUT) break; /* the deadline is spent for every address */
    }
    freeaddrinfo(res);
    if (local) freeaddrinfo(local);
    if (fd < 0) {
        char text[120];
        if (strerror_r(last, text, sizeof text) != 0) snprintf(text, sizeof text, "error");
        if (why == FAILED_BIND)
            myl_error_set(err, MYL_CR_CONN_HOST_ERROR,
                          "Can't connect to server on '%s': can't bind to local address '%s' "
                          "(%d: %s)",
                          spec->host, spec->bind_address, last, text);
        else if (why == FAILED_FAMILY)
            myl_error_set(err, MYL_CR_CONN_HOST_ERROR,
                          "Can't connect to server on '%s': bind address '%s' has no address "
                          "of the server address's family (IPv4/IPv6)",
                          spec->host, spec->bind_address);
        else
            myl_error_set(err, MYL_CR_CONN_HOST_ERROR, "Can't connect to server on '%s' (%d)",
                          spec->host, last);
        return -1;
    }
    tune_tcp(fd);
    return fd;
}

myl_transport *myl_socket_open(const myl_connect_spec *spec, char *info, size_t infolen,
                               myl_error *err)
{
    sock_transport *s = calloc(1, sizeof *s);
    if (!s) {
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return NULL;
    }
    if (spec->socket_path) {
        s->fd = open_unix(spec, err);
        snprintf(info, infolen, "Localhost via UNIX socket");
    } else {
        s->fd = open_tcp(spec, err);
        snprintf(info, infolen, "%s via TCP/IP", spec->host);
    }
    if (s->fd < 0) {
        free(s);
        return NULL;
    }
    /* Connected: from now on the socket blocks, under its timeouts.
     * O_NONBLOCK is the only file status flag it was given, so clearing
     * them all needs no F_GETFL first. */
    if (fcntl(s->fd, F_SETFL, 0) < 0) {
        myl_error_set(err, MYL_CR_SOCKET_CREATE_ERROR, "Can't make the socket blocking (%d)", errno);
        close(s->fd);
        free(s);
        return NULL;
    }
    s->base.read = sock_read;
    s->base.write = sock_write;
    s->base.flush = sock_flush;
    s->base.on_command = sock_on_command;
    s->base.errmsg = sock_errmsg;
    s->base.close = sock_close;
    /* A Unix socket never leaves the machine; TCP may cross a network. */
    s->base.secure = spec->socket_path != NULL;
    s->base.below = NULL;
    return &s->base;
}

int myl_transport_fd(const myl_transport *t)
{
    while (t && t->below) t = t->below;
    if (!t || t->read != sock_read) return -1;
    return ((const sock_transport *)t)->fd;
}
