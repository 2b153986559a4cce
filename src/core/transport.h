/* The byte transport under the protocol: a table of functions over a
 * context, so layers stack (socket -> tls -> compress, or a test layer over
 * any of them) without anything above knowing which are present.  Every call
 * takes an absolute deadline on the monotonic clock (myl_now()); a deadline
 * <= 0 means "no deadline".  A layer passes the deadline unchanged to the
 * layer below, so one deadline bounds the whole stack. */
#ifndef MYL_TRANSPORT_H
#define MYL_TRANSPORT_H

#include <stddef.h>

#include "error.h"

typedef enum {
    MYL_IO_DONE = 0,
    MYL_IO_TIMEOUT = -1,
    MYL_IO_CLOSED = -2,  /* the peer closed (orderly shutdown, reset, broken pipe) */
    MYL_IO_ERROR = -3,   /* any other failure; errmsg() says what */
    MYL_IO_PROTOCOL = -4, /* the bytes from below break this layer's protocol (a corrupt
                             compressed frame): the stream cannot be trusted; errmsg()
                             says what was wrong */
} myl_io_status;

typedef struct myl_transport myl_transport;

struct myl_transport {
    /* Reads at least 1 and at most n bytes into buf. */
    myl_io_status (*read)(myl_transport *t, void *buf, size_t n, size_t *got, double deadline);
    /* Writes all n bytes (a layer may hold them until flush). */
    myl_io_status (*write)(myl_transport *t, const void *buf, size_t n, double deadline);
    /* Sends whatever the layer holds back (a compressed frame, a TLS
     * record); the framer calls it after each logical packet. */
    myl_io_status (*flush)(myl_transport *t, double deadline);
    /* A new command starts: a layer with its own sequence numbers (the
     * compressed protocol) resets them.  Passed down to the layer below. */
    void (*on_command)(myl_transport *t);
    /* What the last failed read or write was, in words (a TLS error is not
     * an errno).  Never NULL. */
    const char *(*errmsg)(const myl_transport *t);
    /* Closes this layer and every layer below it, and frees them. */
    void (*close)(myl_transport *t);
    /* 1 when what is written cannot be read or changed on the way (a Unix
     * socket, TLS): auth plugins that send a password in clear ask this. */
    int secure;
    myl_transport *below; /* the layer this one is stacked on, or NULL */
};

/* Defaults a layer can put in its table: flush and on_command that only
 * pass the call to the layer below (nothing below: nothing to do). */
myl_io_status myl_transport_pass_flush(myl_transport *t, double deadline);
void myl_transport_pass_on_command(myl_transport *t);

/* Seconds on the monotonic clock. */
double myl_now(void);

typedef struct myl_connect_spec {
    const char *host;        /* TCP host name or address */
    unsigned port;
    const char *socket_path; /* when set, a Unix socket is used */
    double deadline;
    /* TCP only: the local address (name or IP) the socket is bound to
     * before connecting; of its addresses, the one of the family of the
     * server address being tried.  NULL: the kernel chooses.  Not used for
     * a Unix socket. */
    const char *bind_address;
} myl_connect_spec;

/* Opens a plain socket transport.  On failure returns NULL and fills err with
 * 2002 (socket), 2003 (TCP; also a bind address that cannot be bound, or
 * has no address of the server's family), 2005 (unknown host or bind
 * address) or 2008.  `info` receives a
 * description such as "127.0.0.1 via TCP/IP".  A Unix socket is secure;
 * TCP is not.  TCP connections get keepalive tuned so that a peer that
 * vanished is noticed within about two minutes (see tune_tcp). */
myl_transport *myl_socket_open(const myl_connect_spec *spec, char *info, size_t infolen,
                               myl_error *err);

/* The replaceable "open the transport" step (myl_options.open_transport):
 * same contract as myl_socket_open, with the caller's `ud` first. */
typedef myl_transport *(*myl_open_transport_fn)(void *ud, const myl_connect_spec *spec,
                                                char *info, size_t infolen, myl_error *err);

/* An opener as a value: a binding hands one around (the Lua binding accepts
 * a userdata whose memory starts with this struct, metatable
 * "mylua.transport_opener"). */
typedef struct myl_transport_opener {
    myl_open_transport_fn open;
    void *ud;
} myl_transport_opener;

#define MYL_TRANSPORT_OPENER_MT "mylua.transport_opener"

/* The socket under a stack of layers (the bottom one, when it is this
 * file's plain socket), for a caller that only polls it; -1 otherwise (a
 * test layer's own transport). */
int myl_transport_fd(const myl_transport *t);

#endif
