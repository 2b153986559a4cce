/* The connection's state as packets and failures change it: what breaks
 * a connection and what it then says, ERR and OK packets, who owns the
 * response once it ended.  conn.c (commands, results), conn_io.c (packets)
 * and handshake.c (login) all report through here; this file calls none of
 * them. */
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"
#include "rd.h"

/* ------------------------------------------------------------------ */
/* Errors and state */

void myl_conn_close_transport(myl_conn *c)
{
    if (c->t) {
        c->t->close(c->t);
        c->t = NULL;
    }
}

/* Remembers why the connection broke (truncated), for later 2006 errors. */
void myl_conn_keep_cause(myl_conn *c, const char *msg)
{
    size_t n = strlen(msg);
    if (n >= sizeof c->broken_cause) n = sizeof c->broken_cause - 1;
    memcpy(c->broken_cause, msg, n);
    c->broken_cause[n] = '\0';
}

/* A failure after which the connection cannot be trusted to be in sync. */
int myl_conn_broken(myl_conn *c, int code, const char *msg)
{
    myl_error_set(&c->err, code, "%s", msg);
    if (c->state != MYL_STATE_BROKEN) myl_conn_keep_cause(c, msg);
    myl_conn_close_transport(c);
    c->state = MYL_STATE_BROKEN;
    return -1;
}

void myl_conn_fail(myl_conn *c, int code, const char *msg) { myl_conn_broken(c, code, msg); }

int myl_conn_close_on_error(myl_conn *c)
{
    if (c->state != MYL_STATE_BROKEN) myl_conn_keep_cause(c, c->err.message);
    myl_conn_close_transport(c);
    c->state = MYL_STATE_BROKEN;
    return -1;
}

int myl_conn_io_failed(myl_conn *c, myl_io_status st, const char *what)
{
    char msg[200];
    if (c->phase) { /* connecting: no query is running, say what was being read */
        snprintf(msg, sizeof msg, "Lost connection to server at '%s' (%s)", c->phase,
                 st == MYL_IO_TIMEOUT ? "timed out"
                 : st == MYL_IO_CLOSED ? "connection closed by the server"
                                       : "system error");
        return myl_conn_broken(c, MYL_CR_SERVER_LOST, msg);
    }
    switch (st) {
    case MYL_IO_TIMEOUT:
        snprintf(msg, sizeof msg, "Lost connection to server (%s timed out)", what);
        break;
    case MYL_IO_CLOSED:
        snprintf(msg, sizeof msg, "Lost connection to server during query (%s: connection closed)",
                 what);
        break;
    default:
        snprintf(msg, sizeof msg, "Lost connection to server during query (%s: %s)", what,
                 c->t ? c->t->errmsg(c->t) : "no transport");
    }
    return myl_conn_broken(c, MYL_CR_SERVER_LOST, msg);
}

int myl_conn_malformed(myl_conn *c, const char *what)
{
    char msg[160];
    snprintf(msg, sizeof msg, "Malformed packet (%s)", what);
    return myl_conn_broken(c, MYL_CR_MALFORMED_PACKET, msg);
}

int myl_conn_oom(myl_conn *c) { return myl_conn_broken(c, MYL_CR_OUT_OF_MEMORY, "Client run out of memory"); }

/* ------------------------------------------------------------------ */
/* Response packets */

/* The end of a response gives the connection back: nobody owns it. */
void myl_conn_set_response_state(myl_conn *c, myl_state st)
{
    c->state = st;
    if (st == MYL_STATE_READY) c->owner = NULL;
}

void myl_conn_clear_last(myl_conn *c)
{
    memset(&c->last, 0, sizeof c->last);
    c->last_info[0] = '\0';
    c->last.info = c->last_info;
}


int myl_conn_server_error(myl_conn *c, const uint8_t *p, size_t n)
{
    myl_err e;
    if (myl_parse_err(p, n, &e)) return myl_conn_malformed(c, "error packet");
    myl_error_set_server(&c->err, (int)e.code, e.sqlstate, e.message, e.message_len);
    /* Which statement of a multi-statement query failed: the results
     * before it were read, so it is the next one. */
    if (c->result_no > 1) c->err.statement = c->result_no;
    /* The server closes the connection after these; do not wait to find out. */
    if (e.code == 1927 /* ER_CONNECTION_KILLED */ || e.code == 1053 /* ER_SERVER_SHUTDOWN */ ||
        e.code == 1153 /* ER_NET_PACKET_TOO_LARGE: over the server's max_allowed_packet */) {
        myl_conn_keep_cause(c, c->err.message);
        myl_conn_close_transport(c);
        c->state = MYL_STATE_BROKEN;
    } else if (c->state != MYL_STATE_BROKEN) {
        myl_conn_set_response_state(c, MYL_STATE_READY); /* an error ends the response */
    }
    return -1;
}

void myl_conn_keep_status(myl_conn *c, unsigned flags)
{
    c->status = flags;
    c->last.flags = flags;
}

/* Session state changes of an OK packet: the schema entry is kept (a
 * reconnect selects it again); the others are not used.  They are
 * advisory: a malformed list is ignored, not an error. */
#define SESSION_TRACK_SCHEMA 1
static void keep_session_state(myl_conn *c, const uint8_t *p, size_t n)
{
    myl_rd r = myl_rd_init(p, n);
    while (myl_rd_left(&r) > 0) {
        uint8_t type = myl_rd_u8(&r);
        size_t len;
        const uint8_t *data = myl_rd_lenenc_str(&r, &len);
        if (r.bad) return;
        if (type != SESSION_TRACK_SCHEMA) continue;
        myl_rd d = myl_rd_init(data, len);
        size_t nlen;
        const uint8_t *name = myl_rd_lenenc_str(&d, &nlen);
        if (d.bad || nlen >= sizeof c->schema) continue;
        memcpy(c->schema, name, nlen);
        c->schema[nlen] = '\0';
        c->schema_known = 1;
    }
}

int myl_conn_handle_ok(myl_conn *c, const uint8_t *p, size_t n)
{
    myl_ok ok;
    if (myl_parse_ok(p, n, c->caps, &ok)) return myl_conn_malformed(c, "OK packet");
    c->last.affected_rows = ok.affected_rows;
    c->last.insert_id = ok.insert_id;
    c->last.warnings = ok.warnings;
    size_t il = ok.info_len < sizeof c->last_info ? ok.info_len : sizeof c->last_info - 1;
    if (il) memcpy(c->last_info, ok.info, il);
    c->last_info[il] = '\0';
    c->last.info = c->last_info;
    if (ok.state) keep_session_state(c, ok.state, ok.state_len);
    myl_conn_keep_status(c, ok.status);
    myl_conn_set_response_state(c, ok.status & MYL_STATUS_MORE_RESULTS_EXISTS ? MYL_STATE_HEAD
                                                                    : MYL_STATE_READY);
    return 0;
}
