/* Framing: 3-byte length, 1-byte sequence id, payload.  Only this file
 * knows about splitting, reassembly, sequence ids and I/O deadlines. */
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"

#define READ_CHUNK 65536

/* Deadlines: while connecting, the connect's for everything; otherwise
 * `timeout` from now for each packet, or, for reads while a response is
 * bounded, the one deadline of the whole response. */
static double deadline_for(const myl_conn *c, double timeout)
{
    if (c->op_deadline > 0) return c->op_deadline;
    return timeout > 0 ? myl_now() + timeout : 0;
}

static double read_deadline(const myl_conn *c)
{
    if (c->op_deadline <= 0 && c->response_deadline > 0) return c->response_deadline;
    return deadline_for(c, c->read_timeout);
}

void myl_bound_response(myl_conn *c, int on)
{
    c->response_deadline = on && c->read_timeout > 0 ? myl_now() + c->read_timeout : 0;
}

/* Makes at least `need` unconsumed bytes available in c->in. */
static int fill(myl_conn *c, size_t need, double deadline)
{
    while (c->in.len - c->in_pos < need) {
        if (!c->t) return myl_conn_broken(c, MYL_CR_SERVER_GONE_ERROR, "Server has gone away");
        /* The transport only looks at the deadline when it has to wait; a
         * peer that keeps the socket full must run out of time as well. */
        if (deadline > 0 && myl_now() >= deadline)
            return myl_conn_io_failed(c, MYL_IO_TIMEOUT, "reading from server");
        if (c->in_pos > 0) { /* compact lazily: only when we must read more */
            memmove(c->in.data, c->in.data + c->in_pos, c->in.len - c->in_pos);
            c->in.len -= c->in_pos;
            c->in_pos = 0;
        }
        size_t want = need - c->in.len;
        if (want < READ_CHUNK) want = READ_CHUNK;
        if (myl_buf_reserve(&c->in, want)) return myl_conn_oom(c);
        size_t got = 0;
        myl_io_status st = c->t->read(c->t, c->in.data + c->in.len, c->in.cap - c->in.len, &got,
                                      deadline);
        if (st != MYL_IO_DONE) return myl_conn_io_failed(c, st, "reading from server");
        c->in.len += got;
    }
    return 0;
}

/* Reads one physical packet header and checks its sequence id. */
static int read_header(myl_conn *c, size_t *len, double deadline)
{
    if (fill(c, 4, deadline)) return -1;
    const uint8_t *h = c->in.data + c->in_pos;
    *len = (size_t)h[0] | ((size_t)h[1] << 8) | ((size_t)h[2] << 16);
    if (h[3] != c->seq) {
        char msg[80];
        snprintf(msg, sizeof msg, "Packets out of order (got sequence id %u, expected %u)", h[3],
                 c->seq);
        return myl_conn_broken(c, MYL_CR_MALFORMED_PACKET, msg);
    }
    c->seq++;
    return 0;
}

/* Reads one logical packet.  The payload stays valid until the next read. */
int myl_read_packet(myl_conn *c, const uint8_t **payload, size_t *len)
{
    double deadline = read_deadline(c);
    size_t n;
    if (read_header(c, &n, deadline) || fill(c, 4 + n, deadline)) return -1;
    const uint8_t *p = c->in.data + c->in_pos + 4;
    c->in_pos += 4 + n;
    if (n < MYL_MAX_CHUNK) {
        *payload = p;
        *len = n;
        return 0;
    }
    /* A payload of 16 MiB or more arrives in chunks; the last one is
     * shorter than 0xFFFFFF (possibly empty). */
    c->big.len = 0;
    if (myl_buf_append(&c->big, p, n)) return myl_conn_oom(c);
    do {
        if (read_header(c, &n, deadline)) return -1;
        if (c->big.len + n > MAX_PACKET)
            return myl_conn_broken(c, MYL_CR_NET_PACKET_TOO_LARGE,
                          "Got packet bigger than 'max_allowed_packet' bytes");
        if (fill(c, 4 + n, deadline)) return -1;
        if (myl_buf_append(&c->big, c->in.data + c->in_pos + 4, n)) return myl_conn_oom(c);
        c->in_pos += 4 + n;
    } while (n == MYL_MAX_CHUNK);
    *payload = c->big.data;
    *len = c->big.len;
    return 0;
}

/* Starts an outgoing payload in c->out (header bytes reserved). */
int myl_out_begin(myl_conn *c, size_t size_hint)
{
    c->out.len = 0;
    if (myl_buf_reserve(&c->out, 4 + size_hint)) return myl_conn_oom(c);
    c->out.len = 4;
    return 0;
}

/* Sends c->out's payload as one logical packet, split into 16 MiB chunks. */
int myl_send_out(myl_conn *c)
{
    double deadline = deadline_for(c, c->write_timeout);
    uint8_t *payload = c->out.data + 4;
    size_t left = c->out.len - 4;
    if (!c->t) return myl_conn_broken(c, MYL_CR_SERVER_GONE_ERROR, "Server has gone away");
    for (;;) {
        size_t n = left < MYL_MAX_CHUNK ? left : MYL_MAX_CHUNK;
        uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), c->seq++};
        myl_io_status st;
        if (payload == c->out.data + 4) {
            /* the first chunk's header fits in the reserved bytes: one write */
            memcpy(c->out.data, h, 4);
            st = c->t->write(c->t, c->out.data, 4 + n, deadline);
        } else {
            st = c->t->write(c->t, h, 4, deadline);
            if (st == MYL_IO_DONE && n) st = c->t->write(c->t, payload, n, deadline);
        }
        if (st != MYL_IO_DONE) return myl_conn_io_failed(c, st, "writing to server");
        payload += n;
        left -= n;
        if (n < MYL_MAX_CHUNK) return 0; /* a full chunk is followed by another, maybe empty */
    }
}
