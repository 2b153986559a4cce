/* A client connection: handshake, authentication, commands and the reading
 * of responses.  No Lua here: usable from C alone.
 *
 * Functions return 0 (or a positive count) on success and -1 on failure;
 * the failure is kept in the connection's sticky error (myl_conn_error).
 * A lost connection or a protocol violation marks the connection broken:
 * every later command fails with 2006 until it is closed. */
#ifndef MYL_CONN_H
#define MYL_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "charset.h"
#include "error.h"
#include "proto.h"
#include "transport.h"

typedef enum {
    MYL_PROTOCOL_AUTO = 0,
    MYL_PROTOCOL_TCP,
    MYL_PROTOCOL_SOCKET,
} myl_protocol;

/* How TLS is used (the mysql client's --ssl-mode). */
typedef enum {
    MYL_SSL_PREFERRED = 0, /* TLS when the server offers it (not over a Unix socket); the default */
    MYL_SSL_DISABLED,
    MYL_SSL_REQUIRED,        /* TLS or fail; the certificate is not checked against a CA */
    MYL_SSL_VERIFY_CA,       /* and the certificate chains to a trusted CA */
    MYL_SSL_VERIFY_IDENTITY, /* and names the host connected to */
} myl_ssl_mode;

/* Connection options.  myl_options_init (options.h) fills every default;
 * the comments say what the core does with a zero or NULL left in a field
 * by a caller that did not start from it. */
typedef struct myl_options {
    const char *host;        /* NULL or "localhost": Unix socket unless protocol is TCP */
    unsigned port;           /* 0: 3306 */
    const char *socket_path; /* NULL: /run/mysqld/mysqld.sock */
    myl_protocol protocol;
    const char *user;        /* NULL: the login name (myl_login_name) */
    const char *password;
    const char *database;
    const char *charset;     /* NULL: utf8mb4 */
    const char *collation;   /* NULL: the charset's default */
    double connect_timeout;  /* seconds; 0: none */
    double read_timeout;     /* seconds per packet; 0: none */
    double write_timeout;    /* seconds per packet; 0: none */
    int multi_statements;
    size_t max_result_bytes; /* largest buffered result (rows and their index); 0: no limit */
    const char *const *attrs; /* connection attributes: key, value, key, value, ... */
    size_t nattrs;            /* number of pairs */
    /* Longest packet received or sent once logged in (a larger one is error
     * 2020; received, it also closes the connection).  0: 16 MiB, as the
     * mariadb client's max_allowed_packet; at most 1 GiB. */
    size_t max_packet;
    /* SQL run right after the login, before connect returns (as
     * Connector/C's MYSQL_INIT_COMMAND): every result read and discarded,
     * several statements allowed when multi_statements is on.  When it
     * fails, connect fails with the server's error and the connection is
     * closed.  Not run again by change_user or reset_connection.  NULL or
     * "": none. */
    const char *init_command;
    /* TCP: the local address to bind the socket to before connecting (the
     * mariadb client's --bind-address); ignored for a Unix socket.  NULL:
     * the kernel chooses. */
    const char *bind_address;
    /* Opens the transport in place of the plain socket (NULL: the socket),
     * e.g. to stack a layer over it; called with open_ud.  Same contract as
     * myl_socket_open (transport.h). */
    myl_transport *(*open_transport)(void *ud, const myl_connect_spec *spec, char *info,
                                     size_t infolen, myl_error *err);
    void *open_ud;
    /* TLS (tls.h).  Files are PEM; NULL: not given. */
    myl_ssl_mode ssl_mode;
    const char *ssl_ca, *ssl_capath;   /* trusted CAs; neither: the system store */
    const char *ssl_cert, *ssl_key;    /* client certificate and its key */
    const char *ssl_cipher;            /* TLS 1.2 and older: OpenSSL cipher list */
    const char *ssl_ciphersuites;      /* TLS 1.3 */
    const char *tls_version;           /* e.g. "TLSv1.2,TLSv1.3" */
    const char *ssl_crl, *ssl_crlpath; /* revocation lists */
    const char *ssl_fingerprint;       /* pinned certificate, SHA-256 (or SHA-1) hex */
    const char *ssl_fingerprint_list;  /* file of pinned fingerprints, one per line */
    /* Protocol compression (compress.h). */
    int compress;                       /* ask for it */
    const char *compression_algorithms; /* "zlib", "zstd", "uncompressed", comma-separated; NULL: zlib */
    int compression_level;              /* zlib 1..9; 0: zlib's default */
    int zstd_compression_level;         /* 1..22; 0: 3 */
    /* Authentication (auth.h). */
    int allow_cleartext;           /* plugins may send the password in clear on an insecure channel */
    const char *server_public_key; /* PEM file of the server's RSA key (SHA-256 plugins) */
    int get_server_public_key;     /* may ask the server for its RSA key over an insecure channel */
    const char *auth_plugins;      /* the only plugins allowed, comma-separated; NULL: any */
    const struct myl_auth_hooks *auth_hooks; /* prompts and front-end plugins; NULL: none */
    /* LOAD DATA LOCAL INFILE (infile.h).  Off unless one of these is set:
     * only then is CLIENT_LOCAL_FILES advertised. */
    int local_infile;              /* serve files: under local_infile_dir, or the one named */
    const char *local_infile_dir;  /* serve only files under it (implies local_infile) */
    const struct myl_infile_hooks *local_infile_hooks; /* a front end's source instead of
                                      files; copied, its ud must live as long as the connection */
} myl_options;

typedef enum {
    MYL_STATE_CLOSED = 0,
    MYL_STATE_READY,   /* no command in progress */
    MYL_STATE_HEAD,    /* the next result's head is pending (after a command or MORE_RESULTS) */
    MYL_STATE_ROWS,    /* rows of a result set are pending */
    MYL_STATE_BROKEN,
} myl_state;

/* What the server reported in the OK or EOF packet ending a result. */
typedef struct myl_status {
    uint64_t affected_rows;
    uint64_t insert_id;
    unsigned warnings;
    unsigned flags; /* server status flags */
    const char *info; /* the OK packet's message, "" when none; never NULL */
} myl_status;

/* Column metadata of a result set; one allocation, freed by myl_columns_free. */
/* How a column's text-protocol values read as numbers. */
typedef enum {
    MYL_VALUE_STRING = 0, /* bytes as they are: strings, DECIMAL, temporal types */
    MYL_VALUE_INT,        /* decimal signed integer */
    MYL_VALUE_UINT,       /* decimal unsigned integer, may exceed INT64_MAX */
    MYL_VALUE_FLOAT,      /* decimal floating point */
    MYL_VALUE_BIT,        /* big-endian bytes of a BIT(n) value */
    MYL_VALUE_NULL,       /* the NULL type: every value is NULL */
} myl_value_class;

/* The value class of a column of `type` with `flags`. */
myl_value_class myl_value_class_of(unsigned type, unsigned flags);

typedef struct myl_column {
    const char *catalog, *db, *table, *org_table, *name, *org_name; /* NUL-terminated */
    size_t name_len;
    unsigned charset;
    uint32_t length;
    unsigned type;
    unsigned flags;
    unsigned decimals;
    myl_value_class vclass;
} myl_column;

typedef struct myl_columns {
    size_t n;
    myl_column *col; /* n entries, strings stored after them */
    int binary;      /* rows come in the binary protocol (binrow.h): a prepared
                        statement's result; else text rows (row.h) */
    unsigned refs;   /* holders (a statement shares its columns with its results) */
} myl_columns;

/* Drops one holder; the last frees them. */
void myl_columns_free(myl_columns *cols);
/* One more holder of the same columns; returns cols. */
myl_columns *myl_columns_ref(myl_columns *cols);

/* How the server's TLS certificate came to be trusted. */
typedef enum {
    MYL_TLS_NOT_VERIFIED = 0, /* encrypted, but nothing vouches for the server */
    MYL_TLS_BY_CA,            /* the chain verified against the trusted CAs */
    MYL_TLS_BY_FINGERPRINT,   /* it matched a pinned fingerprint */
    MYL_TLS_BY_PROOF,         /* the server proved it knows the password's hash (MDEV-31855) */
} myl_tls_verified;

/* An encrypted session: what was negotiated and whom it is with. */
typedef struct myl_tls_info {
    char version[16];      /* "TLSv1.3" */
    char cipher[64];
    char subject[256];     /* "/CN=..." as OpenSSL's one-line form */
    char issuer[256];
    char fingerprint[100]; /* SHA-256 of the certificate, "AA:BB:...:FF" */
    uint8_t cert_sha256[32];
    myl_tls_verified verified;
} myl_tls_info;

typedef struct myl_conn myl_conn;

myl_conn *myl_conn_new(void);
/* Sends COM_QUIT when the connection is usable, closes and frees. */
void myl_conn_free(myl_conn *c);
/* Closes the connection (COM_QUIT first when usable); idempotent. */
void myl_close(myl_conn *c);

int myl_connect(myl_conn *c, const myl_options *opt);

/* A time (absolute, on the monotonic clock of myl_now(); 0: none) by which
 * every wait of the connection ends, connecting included, whatever its own
 * timeouts say: a wait cut by it fails as a timeout does (2013, and the
 * connection is broken).  A scheduler sets it to a task's deadline so a
 * server that stops answering cannot hold the task past it.  Only the
 * thread using the connection may set it. */
void myl_conn_set_deadline_cap(myl_conn *c, double at);

const myl_error *myl_conn_error(const myl_conn *c);
myl_state myl_conn_state(const myl_conn *c);

const char *myl_server_version(const myl_conn *c);
unsigned long myl_server_version_number(const myl_conn *c);
uint32_t myl_thread_id(const myl_conn *c);
const char *myl_host_info(const myl_conn *c);
/* The database the session uses: as the server last reported it (session
 * tracking, which the server sends for USE and select_db alike), else as
 * the connect selected it; "" for none; NULL when not known (no database
 * at connect and no report since). */
const char *myl_conn_schema(const myl_conn *c);
const char *myl_charset_name(const myl_conn *c);
/* The TLS session of an open connection, or NULL when it is not encrypted. */
const myl_tls_info *myl_conn_tls(const myl_conn *c);
/* The compressed protocol the connection speaks: "zlib", "zstd", or NULL
 * when uncompressed (or not connected). */
const char *myl_conn_compression(const myl_conn *c);
/* Server status flags from the last OK/EOF packet. */
unsigned myl_server_status(const myl_conn *c);
/* How strings are escaped on this connection: its charset and whether the
 * current sql_mode has NO_BACKSLASH_ESCAPES. */
typedef struct myl_escape_style {
    const myl_charset *charset;
    int no_backslash;
} myl_escape_style;

myl_escape_style myl_conn_escape_style(const myl_conn *c);

/* Simple commands answered by OK or ERR. */
int myl_ping(myl_conn *c);
int myl_select_db(myl_conn *c, const char *db, size_t len);
int myl_kill(myl_conn *c, uint32_t thread_id);
int myl_reset_connection(myl_conn *c);
/* COM_CHANGE_USER: logs in again as opt->user with opt->password, selecting
 * opt->database and opt->charset, through the same plugins, hooks and rules
 * as the first login (auth switch included); every other field of opt is
 * ignored.  The session's state is reset by the server.  On failure the
 * connection is closed, as the server closes it. */
int myl_change_user(myl_conn *c, const myl_options *opt);

/* 1 when the connection was opened with LOAD DATA LOCAL INFILE enabled
 * (CLIENT_LOCAL_FILES negotiated). */
int myl_infile_enabled(const myl_conn *c);
/* The source for the LOCAL INFILE request of the next command only, in
 * place of the connection's (the bulk loader's rows); NULL: none.  The
 * request is still checked against the statement's file name, and still
 * refused on a connection without myl_infile_enabled.  The next command
 * tried takes it, even one that fails to start; it is never used after
 * that command. */
void myl_next_infile(myl_conn *c, const struct myl_infile_hooks *h);

/* With `on`, the read timeout bounds everything read until it is turned
 * off (a whole buffered response) instead of each packet. */
void myl_bound_response(myl_conn *c, int on);

/* Response ownership.  A command that has a response (a query) is started
 * with an `owner` token (any pointer: a buffered read, a cursor, later a
 * statement); until the response is read to its end, only that owner may
 * read it, and every other read or command fails with 2014.  An owner that
 * goes away unread calls myl_abandon: the next command then discards the
 * response first (within the read timeout and a byte budget; past either,
 * the connection is closed rather than read for ever). */

/* Sends COM_QUERY; the response is then read with myl_read_head. */
int myl_send_query(myl_conn *c, const char *sql, size_t len, const void *owner);

/* The owner of the pending response, NULL when none is pending or its
 * owner abandoned it. */
const void *myl_response_owner(const myl_conn *c);
void myl_abandon(myl_conn *c, const void *owner);

/* Reads the head of the next result of the current response, and its column
 * definitions, under one deadline.  Returns 1 for a result set (*cols
 * receives its columns, owned by the caller), 0 for an OK (myl_last_status
 * has its fields), -1 on error. */
int myl_read_head(myl_conn *c, const void *owner, myl_columns **cols);

/* Reads the next row of the current result set.  Returns 1 with the row's
 * payload in (*p, *n), valid until the next call on the connection; 0 at the
 * end (myl_last_status has the warnings and flags) or when no rows are
 * pending; -1 on error.  The row is not checked: walk it with row.h. */
int myl_read_row(myl_conn *c, const void *owner, const uint8_t **p, size_t *n);

/* 1 when the next packet of the pending response has arrived in full, so
 * that myl_read_row (or myl_read_head) returns without waiting; 0 when
 * reading it may wait.  For a reader that takes what has arrived, in
 * batches, and no more. */
int myl_conn_packet_buffered(const myl_conn *c);

/* 1 when another result follows the one just finished. */
int myl_more_results(const myl_conn *c);
const myl_status *myl_last_status(const myl_conn *c);

/* Reads and discards the rest of the owner's response (unread rows and
 * results) within the read timeout and a byte budget, leaving the
 * connection ready.  Returns 0, or -1 when that fails (the connection is
 * then broken, or the error is a server error). */
int myl_discard(myl_conn *c, const void *owner);

/* After a failed read of a response: discards what is left of it, if
 * anything, keeping the error that stopped the read. */
void myl_conn_discard_after_error(myl_conn *c);

/* 0 when the connection is open and not broken; otherwise -1 with error
 * 2006 set. */
int myl_conn_usable(myl_conn *c);

/* Between commands: 0 when the connection is open and its socket has
 * nothing to read (or a response is still pending: not idle); -1 with
 * error 2006 when it is broken or closed, or when the server has closed it
 * (readable: end of file or unsolicited bytes), which then marks it
 * broken.  Never blocks, never sends (conn_idle.c). */
int myl_conn_check_idle(myl_conn *c);

/* Marks the connection broken with a client error (used by the Lua layer
 * when a row it decodes turns out malformed). */
/* The results a response may hold (each OK or result set counts one). */
#define MYL_MAX_RESULTS 65536

void myl_conn_fail(myl_conn *c, int code, const char *msg);

#endif
