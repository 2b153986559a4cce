/* How the host program runs a script unattended: --lock NAME (one run at a
 * time, across machines, through a named server-side lock; --lock-method
 * and --lock-stale choose how, lock.h), --timeout SECONDS (a bound on the
 * whole run), --hosts FILE and --parallel N (the script once per host of
 * FILE, N at a time, by lua/mylua/hosts.lua).  The lock is lock.h's, the
 * timeout and the signals cancel.h's. */
#ifndef MYL_HOST_RUN_H
#define MYL_HOST_RUN_H

#include <stddef.h>

/* The longest lock name: MySQL refuses longer ones, and MariaDB's own
 * limit is not lower. */
#define HOST_LOCK_NAME_MAX 64
/* The longest --timeout: a year, as the connection timeouts. */
#define HOST_TIMEOUT_MAX 31536000.0

/* The longest --lock-stale: a day, as mylua.cluster_lock's bound. */
#define HOST_LOCK_STALE_MAX 86400.0

/* --parallel: the default, and the most. */
#define HOST_PARALLEL_DEFAULT 10
#define HOST_PARALLEL_MAX 1000

typedef struct host_run {
    const char *lock;        /* --lock NAME, or NULL */
    const char *lock_method; /* --lock-method auto|get_lock|table, NULL: auto */
    double lock_stale;       /* --lock-stale SECONDS (the table method), 0: its default */
    double timeout;          /* --timeout SECONDS, 0: none */
    const char *hosts;       /* --hosts FILE: the script runs once per host listed, or NULL */
    int parallel;            /* --parallel N: that many hosts at a time; 0: the default */
} host_run;

/* Reads --lock, --lock-method, --lock-stale, --timeout, --hosts and
 * --parallel at argv[*i] (their value from the same
 * argument after '=' or from the next, which moves *i on): 1 when it was
 * one of them, 0 when not, -1 on a bad value, err then saying why. */
int host_run_parse(host_run *r, int argc, char **argv, int *i, char *err, size_t errsz);

/* The help text of these options. */
extern const char host_run_help[];

#endif
