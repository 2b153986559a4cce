/* Inside the connection: its state and the helpers the core's files share.
 * Calls go one way: conn.c (lifecycle, commands, results) -> handshake.c
 * (login: greeting, negotiation, the auth loop over auth.h's plugins) ->
 * conn_io.c (packets in and out through the framer, packet.h, under the
 * connection's deadlines) -> conn_state.c (failures, OK/ERR packets, who
 * owns the response), which calls none of them.  Not part of the public
 * API. */
#ifndef MYL_CONN_INTERNAL_H
#define MYL_CONN_INTERNAL_H

#include "auth.h"
#include "charset.h"
#include "conn.h"
#include "infile.h"
#include "packet.h"
#include "transport.h"

#define MAX_PACKET (1024u * 1024u * 1024u) /* the server's max_allowed_packet ceiling */
#define HANDSHAKE_MAX_PACKET (64u * 1024u) /* ceiling on packets until logged in */

struct myl_conn {
    myl_state state;
    myl_transport *t; /* owned by the connection; the framer uses it */
    myl_error err;

    myl_framer fr;     /* packets in and out; fr.out holds the payload being built */
    size_t max_packet; /* the framer's ceiling once logged in */

    double read_timeout, write_timeout;
    double op_deadline;       /* while connecting: one deadline for everything */
    double response_deadline; /* while a whole response is bounded (myl_bound_response) */
    double deadline_cap;      /* no wait of this connection lasts past it; 0: none */

    uint64_t caps; /* negotiated capabilities */
    const char *compression; /* "zlib", "zstd", or NULL: the compressed protocol in use */
    const myl_charset *charset;
    myl_status last;
    char last_info[256]; /* last.info points here */
    unsigned status; /* server status flags, kept current */
    size_t ncols;    /* columns of the result being read */
    myl_buf col_text; /* scratch for the names in column definitions (conn.c) */
    /* The last text result's column definitions as read, and the columns
     * made of them (one reference): the next result of the same bytes
     * shares them (conn.c); coldef_seen is the scratch of the one read now. */
    myl_buf coldef_last, coldef_seen;
    myl_columns *coldef_cols;
    unsigned result_no; /* results of the current response read so far */
    uint64_t bytes_read; /* every packet read, headers included (a budget's measure) */

    /* Who holds the pending response (state HEAD or ROWS): the token the
     * command was started with, or NULL when its owner went away and the
     * response waits to be discarded before the next command. */
    const void *owner;
    size_t max_result_bytes; /* buffered results: 0 = no limit */

    const char *phase; /* while connecting: what is being read, for messages */

    char server_version[64];
    unsigned long version_number;
    uint32_t thread_id;
    char host_info[300];
    char broken_cause[200]; /* why the connection broke, for later 2006 errors */
    /* The database the session uses, as the server last reported it
     * (session tracking of the schema) or as the connect selected it;
     * schema_known 0: neither. */
    char schema[257];
    int schema_known;

    int tls_on;        /* the session runs over TLS; tls describes it */
    myl_tls_info tls;

    /* What COM_CHANGE_USER logs in with again: the newest scramble the
     * server gave, the greeting's plugin, whether the channel is secure, and
     * the connect's authentication options (strings owned here). */
    uint8_t scramble[20];
    size_t scramble_len;
    char server_plugin[65];
    int secure;
    double connect_timeout;
    char *auth_plugins;
    char *server_public_key;
    int allow_cleartext, get_server_public_key;

    /* A side connection's copy of the login options (side.c), and whether
     * the login ran a front end's prompt or plugin (which a side
     * connection in another thread cannot run). */
    struct myl_side *side;
    int frontend_auth;

    /* LOAD DATA LOCAL INFILE (infile.c).  The connection's source, copied
     * at connect (the file source's directory is owned here); the one-shot
     * source myl_next_infile gave, until the next command takes it; the
     * current command's; and the file name its statement named. */
    int infile_on;
    myl_infile_hooks infile;
    char *infile_dir;
    int infile_pending_on, infile_cmd_on;
    myl_infile_hooks infile_pending, infile_cmd;
    long infile_name_len; /* as myl_sql_infile_name: -1 none, -2 unreadable */
    int infile_asked;     /* the server asked for a file during this command */
    char infile_name[4096];

    /* Prepared statements (stmt.c).  Every statement made on the
     * connection, so freeing it can detach them; the session they belong
     * to (a reset, change_user or new connect starts another, in which the
     * server knows none of them) and why the last one ended; the ids to
     * close before the next command; what the current command's response
     * is (binary rows, a cursor asked for); the statement whose cursor rows
     * are being fetched; and a row read ahead while looking for a cursor. */
    struct myl_stmt *stmts;
    unsigned session;
    const char *session_ended;
    uint32_t *stmt_close;
    size_t nstmt_close, stmt_close_cap;
    int cmd_binary, cmd_cursor;
    struct myl_stmt *fetching;
    struct myl_stmt *exec_stmt; /* the statement whose execute is being answered */
    int row_held;
    const uint8_t *held_row;
    size_t held_len;
};

/* conn_state.c: failures.  Each returns -1 so callers can `return` it. */
void myl_conn_close_transport(myl_conn *c);
/* A failure after which the connection cannot be trusted to be in sync:
 * closes it and marks it broken. */
int myl_conn_broken(myl_conn *c, int code, const char *msg);
int myl_conn_io_failed(myl_conn *c, myl_io_status st, const char *what);
int myl_conn_malformed(myl_conn *c, const char *what);
int myl_conn_oom(myl_conn *c);
/* Keeps the error already set (a server refusal, a plugin's reason) and
 * closes the connection as broken. */
int myl_conn_close_on_error(myl_conn *c);
void myl_conn_keep_cause(myl_conn *c, const char *msg);

/* conn_state.c: an ERR packet (sets the error, returns -1) and an OK packet. */
int myl_conn_server_error(myl_conn *c, const uint8_t *p, size_t n);
int myl_conn_handle_ok(myl_conn *c, const uint8_t *p, size_t n);
/* conn_state.c: the response moves on to `st`; READY gives it back (no owner). */
void myl_conn_set_response_state(myl_conn *c, myl_state st);
/* conn_state.c: forgets the last OK/EOF's fields. */
void myl_conn_clear_last(myl_conn *c);
/* conn_state.c: the server status flags of the last OK/EOF. */
void myl_conn_keep_status(myl_conn *c, unsigned flags);

/* conn_io.c: the earlier of a deadline (0: none) and the connection's
 * deadline cap (myl_conn_set_deadline_cap). */
double myl_capped(const myl_conn *c, double deadline);

/* conn_io.c: one logical packet in (the payload stays valid until the next
 * read) and out (built in c->fr.out after myl_out_begin), under the
 * connection's deadlines; a failure becomes the connection's error (and
 * breaks it unless nothing was sent). */
int myl_read_packet(myl_conn *c, const uint8_t **payload, size_t *len);
int myl_out_begin(myl_conn *c, size_t size_hint);
int myl_send_out(myl_conn *c);
/* conn.c: checks that a command may start now (a response left by an owner
 * that went away is discarded first) and starts it: 0, or -1 with the
 * error set. */
int myl_conn_begin(myl_conn *c);

/* conn_io.c: a new command starts (sequence 0, the transport's hook). */
void myl_conn_new_command(myl_conn *c);

/* infile.c: the connection's source from the options (0, or -1 out of
 * memory) and its release; at each command (`starts` 0 when it was
 * refused), the one-shot source passes to it and the name is forgotten;
 * the name a query's text names; the answer to the server's request
 * (p, n: the 0xFB packet), which reads the server's reply too and returns
 * as read_head does for it (0: an OK, the statement's result). */
int myl_infile_setup(myl_conn *c, const myl_options *opt);
void myl_infile_forget(myl_conn *c);
void myl_infile_command(myl_conn *c, int starts);
void myl_infile_statement(myl_conn *c, const char *sql, size_t len);
int myl_infile_request(myl_conn *c, const uint8_t *p, size_t n);

/* stmt.c: before a command starts, closes the statements freed since the
 * last one (0, or -1 when sending failed: the connection is then broken);
 * a new session begins (`why` the old one ended: its statements are gone
 * on the server); the rows of a fetch ended with status flags `flags`;
 * the connection goes away (its statements are detached). */
int myl_stmt_flush_closes(myl_conn *c);
void myl_stmt_new_session(myl_conn *c, const char *why);
void myl_stmt_rows_ended(myl_conn *c, unsigned flags);
/* stmt.c: after the columns of an execute that asked for a cursor (the
 * connection in state ROWS): finds whether the server opened one, from
 * the status of the EOF after the columns or, under DEPRECATE_EOF, of the
 * packet after them (a row read there is held for myl_read_row).  0, or
 * -1 with the error set. */
int myl_stmt_cursor_head(myl_conn *c, unsigned eof_status);
void myl_stmt_detach_all(myl_conn *c);

/* stmt.c: the columns of the executing statement's first result, which the
 * server did not send again: *cols shares them (0), or -1 when there are
 * none of that count (malformed).  Without DEPRECATE_EOF the EOF after the
 * absent definitions is read here, its status into *eof_status.  And the
 * columns the server did send become the statement's. */
int myl_stmt_known_columns(myl_conn *c, size_t ncols, myl_columns **cols, unsigned *eof_status);
void myl_stmt_learn_columns(myl_conn *c, myl_columns *cols);

/* conn.c: reads the OK (or ERR) answering a simple command: 0, or -1
 * with the error set; the connection is READY after either. */
int myl_conn_read_ok(myl_conn *c);

/* conn.c: reads ncols column definitions (and the EOF after them without
 * DEPRECATE_EOF, its status flags into *eof_status when not NULL) into one
 * allocation. */
int myl_conn_read_columns(myl_conn *c, size_t ncols, myl_columns **out, unsigned *eof_status);
/* conn.c: the EOF after column definitions, read only without
 * DEPRECATE_EOF (its status flags into *eof_status when not NULL). */
int myl_conn_read_columns_end(myl_conn *c, unsigned *eof_status);

/* handshake.c: opens the transport, reads the greeting, authenticates. */
int myl_open_and_authenticate(myl_conn *c, const myl_options *opt);

/* auth_loop.c: one login, by the first handshake or by COM_CHANGE_USER. */
typedef struct myl_login {
    const myl_options *opt; /* password, auth options and hooks */
    const uint8_t *scramble; /* the data for the first plugin */
    size_t scramble_len;
    const char *server_plugin; /* the plugin the server named first, "" if none */
    int secure;                /* TLS with a trusted certificate, or a Unix socket */
    /* Sends the first packet, which carries the first plugin's answer. */
    int (*send_first)(myl_conn *c, void *ud, const char *plugin, const myl_buf *auth);
    /* Called as each plugin starts (NULL: nothing to check); `core` is NULL
     * for a front-end plugin.  -1 refuses it (the error set, the
     * connection closed). */
    int (*on_plugin)(myl_conn *c, void *ud, const char *name, const myl_auth_plugin *core,
                     const uint8_t *data, size_t n);
    void *ud;
    const myl_auth_plugin *plugin; /* out: the table's plugin that logged in, or NULL */
    uint8_t learned_hash[64];      /* out: the hash that plugin learned (auth.h) */
    size_t learned_hash_len;
} myl_login;

/* Runs the login to the server's OK (0, the connection READY) or to a
 * failure (-1, the connection closed). */
int myl_auth_login(myl_conn *c, myl_login *lg);

#endif
