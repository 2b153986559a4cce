/* The byte transport under the protocol: a vtable {read, write, close} and a
 * context, so TLS and compression can later stack on the plain socket without
 * anything above knowing.  Every call takes an absolute deadline on the
 * monotonic clock (myl_now()); a deadline <= 0 means "no deadline". */
#ifndef MYL_TRANSPORT_H
#define MYL_TRANSPORT_H

#include <stddef.h>

#include "error.h"

typedef enum {
    MYL_IO_DONE = 0,
    MYL_IO_TIMEOUT = -1,
    MYL_IO_CLOSED = -2,  /* orderly shutdown by the peer */
    MYL_IO_ERROR = -3,   /* errno-style failure; see the transport's last_errno */
} myl_io_status;

typedef struct myl_transport {
    /* Reads at least 1 and at most n bytes into buf. */
    myl_io_status (*read)(struct myl_transport *t, void *buf, size_t n, size_t *got,
                          double deadline);
    /* Writes all n bytes. */
    myl_io_status (*write)(struct myl_transport *t, const void *buf, size_t n,
                           double deadline);
    void (*close)(struct myl_transport *t);
    int last_errno;
} myl_transport;

/* Seconds on the monotonic clock. */
double myl_now(void);

typedef struct myl_connect_spec {
    const char *host;        /* TCP host name or address */
    unsigned port;
    const char *socket_path; /* when set, a Unix socket is used */
    double deadline;
} myl_connect_spec;

/* Opens a plain socket transport.  On failure returns NULL and fills err with
 * 2002 (socket), 2003 (TCP), 2005 (unknown host) or 2008.  `info` receives a
 * description such as "127.0.0.1 via TCP/IP". */
myl_transport *myl_socket_open(const myl_connect_spec *spec, char *info, size_t infolen,
                               myl_error *err);

#endif
