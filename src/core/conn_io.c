/* The connection's packets: which deadline each read and write gets, and
 * what a framer failure means for the connection (packet.h does the
 * framing and knows nothing of connections). */
#include <stdio.h>

#include "classify.h"
#include "conn_internal.h"

/* How long a write that failed because the server went away may wait for
 * the server's parting words (its ERR packet saying why). */
#define PARTING_WAIT 1.0

/* The connection owns the transport (it is opened, replaced and closed
 * there); the framer works on whatever the connection has now. */
static myl_framer *framer(myl_conn *c)
{
    c->fr.t = c->t;
    return &c->fr;
}

int myl_conn_packet_buffered(const myl_conn *c)
{
    if (c->row_held) return 1;
    return c->t != NULL && myl_framer_packet_buffered(&c->fr);
}

void myl_conn_set_deadline_cap(myl_conn *c, double at)
{
    c->deadline_cap = at > 0 ? at : 0;
}

double myl_capped(const myl_conn *c, double deadline)
{
    if (c->deadline_cap <= 0) return deadline;
    return deadline > 0 && deadline < c->deadline_cap ? deadline : c->deadline_cap;
}

/* Deadlines: while connecting, the connect's for everything; otherwise
 * `timeout` from now for each packet, or, for reads while a response is
 * bounded, the one deadline of the whole response.  None past the cap. */
static double deadline_for(const myl_conn *c, double timeout)
{
    if (c->op_deadline > 0) return myl_capped(c, c->op_deadline);
    return myl_capped(c, timeout > 0 ? myl_now() + timeout : 0);
}

static double read_deadline(const myl_conn *c)
{
    if (c->op_deadline <= 0 && c->response_deadline > 0) return myl_capped(c, c->response_deadline);
    return deadline_for(c, c->read_timeout);
}

void myl_bound_response(myl_conn *c, int on)
{
    c->response_deadline = on && c->read_timeout > 0 ? myl_now() + c->read_timeout : 0;
}

void myl_conn_new_command(myl_conn *c) { myl_framer_new_command(framer(c)); }

/* A framer failure while reading or writing: the connection is broken
 * (the stream is out of sync or gone).  Returns -1. */
static int failed(myl_conn *c, myl_fr_status st, const char *what)
{
    char msg[300];
    switch (st) {
    case MYL_FR_TIMEOUT:
    case MYL_FR_CLOSED:
        return myl_conn_io_failed(c, (myl_io_status)st, what);
    case MYL_FR_IO_ERROR:
        if (c->phase) /* connecting: no query runs yet */
            snprintf(msg, sizeof msg, "Lost connection to server at '%s' (%s)", c->phase,
                     myl_framer_errmsg(&c->fr));
        else
            snprintf(msg, sizeof msg, "Lost connection to server during query (%s)",
                     myl_framer_errmsg(&c->fr));
        return myl_conn_broken(c, MYL_CR_SERVER_LOST, msg);
    case MYL_FR_OUT_OF_ORDER:
    case MYL_FR_MALFORMED: /* the message names what was wrong */
        return myl_conn_broken(c, MYL_CR_MALFORMED_PACKET, myl_framer_errmsg(&c->fr));
    case MYL_FR_TOO_LARGE:
        snprintf(msg, sizeof msg, "Got packet bigger than 'max_packet' (%zu bytes)",
                 c->fr.max_packet);
        return myl_conn_broken(c, MYL_CR_NET_PACKET_TOO_LARGE, msg);
    case MYL_FR_NOMEM: return myl_conn_oom(c);
    case MYL_FR_NO_TRANSPORT:
    default: return myl_conn_broken(c, MYL_CR_SERVER_GONE_ERROR, "Server has gone away");
    }
}

int myl_read_packet(myl_conn *c, const uint8_t **payload, size_t *len)
{
    /* A deadline bounds waiting; a packet already whole in the buffer
     * involves none, and reading the clock for each row of a streamed
     * result cost a few percent of the stream. */
    myl_framer *fr = framer(c);
    double deadline = myl_framer_packet_buffered(fr) ? 0 : read_deadline(c);
    myl_fr_status st = myl_framer_read(fr, deadline, payload, len);
    if (st != MYL_FR_OK) return failed(c, st, "reading from server");
    c->bytes_read += *len + 4;
    return 0;
}

int myl_out_begin(myl_conn *c, size_t size_hint)
{
    myl_fr_status st = myl_framer_begin(framer(c), size_hint);
    if (st == MYL_FR_OK) return 0;
    if (st == MYL_FR_TOO_LARGE) { /* nothing was sent: the connection stays usable */
        myl_error_set(&c->err, MYL_CR_NET_PACKET_TOO_LARGE, "%s", myl_framer_errmsg(&c->fr));
        return -1;
    }
    return myl_conn_oom(c);
}

/* A write failed because the server closed: it usually said why first (an
 * ERR such as 1153 "Got a packet bigger than 'max_allowed_packet'").  Reads
 * that under a short deadline, never past the caller's; on success the
 * server's error is the connection's, and the connection is broken. */
static int parting_error(myl_conn *c, double deadline)
{
    double d = myl_now() + PARTING_WAIT;
    if (deadline > 0 && deadline < d) d = deadline;
    const uint8_t *p;
    size_t n;
    myl_err e;
    if (myl_framer_read_parting(&c->fr, d, &p, &n) != MYL_FR_OK ||
        myl_classify(MYL_WAIT_RESULT, p, n, c->caps) != MYL_PKT_ERR || myl_parse_err(p, n, &e))
        return 0;
    myl_conn_server_error(c, p, n);
    myl_conn_close_on_error(c);
    return 1;
}

int myl_send_out(myl_conn *c)
{
    double deadline = deadline_for(c, c->write_timeout);
    myl_fr_status st = myl_framer_send(framer(c), deadline);
    if (st == MYL_FR_OK) return 0;
    if (st == MYL_FR_TOO_LARGE) { /* refused before any byte was written */
        myl_error_set(&c->err, MYL_CR_NET_PACKET_TOO_LARGE, "%s", myl_framer_errmsg(&c->fr));
        return -1;
    }
    if ((st == MYL_FR_CLOSED || st == MYL_FR_IO_ERROR) && c->t && parting_error(c, deadline))
        return -1;
    return failed(c, st, "writing to server");
}
