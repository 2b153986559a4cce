/* Errors of the core: a sticky (code, sqlstate, message) triple.
 *
 * Server errors keep the server's code and SQLSTATE; failures detected by the
 * client use the client error codes of the MySQL/MariaDB C API, so scripts and
 * operators see the numbers they already know. */
#ifndef MYL_ERROR_H
#define MYL_ERROR_H

#include <stddef.h>

enum {
    MYL_CR_UNKNOWN_ERROR = 2000,
    MYL_CR_SOCKET_CREATE_ERROR = 2001,
    MYL_CR_CONNECTION_ERROR = 2002,   /* Unix socket connect failed */
    MYL_CR_CONN_HOST_ERROR = 2003,    /* TCP connect failed */
    MYL_CR_UNKNOWN_HOST = 2005,
    MYL_CR_SERVER_GONE_ERROR = 2006,  /* connection already broken */
    MYL_CR_VERSION_ERROR = 2007,
    MYL_CR_OUT_OF_MEMORY = 2008,
    MYL_CR_SERVER_HANDSHAKE_ERR = 2012,
    MYL_CR_SERVER_LOST = 2013,        /* lost during a command, timeouts */
    MYL_CR_COMMANDS_OUT_OF_SYNC = 2014,
    MYL_CR_NET_PACKET_TOO_LARGE = 2020,
    MYL_CR_MALFORMED_PACKET = 2027,
    MYL_CR_AUTH_PLUGIN_CANNOT_LOAD = 2059,
    MYL_CR_AUTH_PLUGIN_ERR = 2061,    /* a plugin refused to go on (insecure channel, no key) */
    MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED = 2068,
    MYL_CR_FILE_NOT_FOUND = 5004,     /* LOCAL INFILE: the file cannot be opened */
    MYL_CR_FILE_READ = 5005,          /* LOCAL INFILE: reading it failed */
    MYL_CR_PLUGIN_NOT_ALLOWED = 5010, /* not among the auth_plugins the user allows */
};

#define MYL_ERRMSG_SIZE 512

typedef struct myl_error {
    int code;          /* 0 when there is no error */
    char sqlstate[6];
    char message[MYL_ERRMSG_SIZE];
    unsigned statement; /* 1-based number of the failing statement of a
                           multi-statement query; 0 when unknown.  The
                           setters below reset it: set it after them. */
} myl_error;

/* Sets a client error with SQLSTATE HY000; printf-style message. */
void myl_error_set(myl_error *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Sets a server error from its parts (message not NUL-terminated). */
void myl_error_set_server(myl_error *e, int code, const char *sqlstate,
                          const char *msg, size_t msglen);
void myl_error_clear(myl_error *e);

#endif
