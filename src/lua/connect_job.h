/* The network part of mylua.connect and db:reconnect, as one job: every
 * host of the list tried in turn under one overall connect_timeout, each
 * connected one checked against `require`, the first that passes kept.
 *
 * The job is plain C over plain memory: it touches no Lua state, so it can
 * run on another thread while the calling coroutine waits (the binding
 * holds the job in a userdata and anchors every string it points to on the
 * Lua stack).  The one exception is a Lua auth callback (the `auth`
 * option), which the core calls during the login: a job with such hooks
 * must run on the thread of the Lua state. */
#ifndef MYL_CONNECT_JOB_H
#define MYL_CONNECT_JOB_H

#include <stddef.h>

#include "../core/conn.h"
#include "../core/error.h"

typedef enum {
    MYL_REQUIRE_ANY = 0,  /* any server that logs us in */
    MYL_REQUIRE_WRITABLE, /* not read-only, and a Galera node only when synced */
} myl_require;

typedef struct myl_connect_target {
    const char *host; /* NULL: the options' host (a single host, as given) */
    unsigned port;    /* 0: the options' port */
    myl_error err;    /* why it was not used (code 0: not reached) */
} myl_connect_target;

typedef struct myl_connect_job {
    /* in */
    myl_options opt;             /* every option; host and port per target */
    myl_connect_target *targets; /* in the order given */
    size_t ntargets;
    int is_list;                 /* the hosts came as a list (host:port entries) */
    int random_order;            /* try them in a random order */
    myl_require require;
    myl_conn *conn;              /* NULL: the job makes one; else it is reused */
    /* out */
    int rc;                 /* what myl_connect_job_run returned */
    int conn_made;          /* conn was made by the job (its to free until taken) */
    size_t used;            /* the target that answered */
    char host_info[320];    /* "host:port via TCP/IP" for a list; "" otherwise */
    myl_error err;          /* the failure: the last host's code; message below */
    char *message;          /* every host and its error, one line each (malloc) */
    /* the binding's: handed to a worker thread (worker.h) and not yet
     * finished, so a finalizer must wait for it before freeing */
    int in_flight;
} myl_connect_job;

/* Runs the job: 0 with job->conn connected (and job->used, host_info), or
 * -1 with job->err and job->message.  For a single host that is not a
 * list, the error is the core's own (message NULL).  Blocks for at most
 * opt.connect_timeout in all (plus init_command's own timeouts). */
int myl_connect_job_run(myl_connect_job *job);

/* Frees what the job still holds: the connection it made and did not hand
 * over, and the message.  Idempotent. */
void myl_connect_job_clear(myl_connect_job *job);

/* One entry of a host list: "db1", "db2:3307", "[::1]:3308", "::1" (an
 * IPv6 address without brackets takes no port).  Writes the host name into
 * host (hostcap bytes) and the port into *port (0 when none is given).
 * 0, or -1 for an entry that is empty, too long or has a bad port. */
int myl_host_entry_parse(const char *s, size_t len, char *host, size_t hostcap, unsigned *port);

#endif
