/* The framer (packet.h): headers, sequence ids, splitting, reassembly and
 * deadlines over a transport, with its own sticky status. */
#include "packet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK 0xFFFFFFu /* largest payload of one physical packet */
#define READ_CHUNK 65536

/* Records a failure: its words always, the sticky status only when `sticky`. */
static myl_fr_status failed(myl_framer *fr, myl_fr_status st, int sticky, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static myl_fr_status failed(myl_framer *fr, myl_fr_status st, int sticky, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fr->errmsg, sizeof fr->errmsg, fmt, ap);
    va_end(ap);
    if (sticky) fr->status = st;
    return st;
}

static myl_fr_status io_failed(myl_framer *fr, myl_io_status st, const char *what)
{
    if (st == MYL_IO_TIMEOUT) return failed(fr, MYL_FR_TIMEOUT, 1, "%s timed out", what);
    const char *why = fr->t && fr->t->errmsg ? fr->t->errmsg(fr->t) : "transport failed";
    if (st == MYL_IO_CLOSED) return failed(fr, MYL_FR_CLOSED, 1, "%s: %s", what, why);
    if (st == MYL_IO_PROTOCOL) return failed(fr, MYL_FR_MALFORMED, 1, "%s", why);
    return failed(fr, MYL_FR_IO_ERROR, 1, "%s: %s", what, why);
}

void myl_framer_reset(myl_framer *fr, myl_transport *t)
{
    fr->t = t;
    fr->in.len = 0;
    fr->in_pos = 0;
    fr->big.len = 0;
    fr->out.len = 0;
    fr->seq = 0;
    fr->seq_checked_below = 0;
    fr->status = MYL_FR_OK;
    fr->errmsg[0] = '\0';
}

void myl_framer_free(myl_framer *fr)
{
    myl_buf_free(&fr->in);
    myl_buf_free(&fr->big);
    myl_buf_free(&fr->out);
    fr->in_pos = 0;
}

void myl_framer_shrink(myl_framer *fr, size_t keep)
{
    if (fr->in.cap > keep && fr->in_pos == fr->in.len) {
        myl_buf_free(&fr->in);
        fr->in_pos = 0;
    }
    if (fr->big.cap > keep) myl_buf_free(&fr->big);
    if (fr->out.cap > keep) myl_buf_free(&fr->out);
}

void myl_framer_new_command(myl_framer *fr)
{
    fr->seq = 0;
    if (fr->t && fr->t->on_command) fr->t->on_command(fr->t);
}

myl_fr_status myl_framer_status(const myl_framer *fr) { return fr->status; }

int myl_framer_packet_buffered(const myl_framer *fr)
{
    size_t avail = fr->in.len - fr->in_pos;
    if (fr->status || avail < 4) return 0;
    const uint8_t *h = fr->in.data + fr->in_pos;
    size_t n = (size_t)h[0] | ((size_t)h[1] << 8) | ((size_t)h[2] << 16);
    return n < CHUNK && avail - 4 >= n;
}

const char *myl_framer_errmsg(const myl_framer *fr)
{
    return fr->errmsg[0] ? fr->errmsg : "no error";
}

/* Makes at least `need` unconsumed bytes available in fr->in. */
static myl_fr_status fill(myl_framer *fr, size_t need, double deadline)
{
    while (fr->in.len - fr->in_pos < need) {
        if (!fr->t) return failed(fr, MYL_FR_NO_TRANSPORT, 1, "no transport");
        /* The transport only looks at the deadline when it has to wait; a
         * peer that keeps the socket full must run out of time as well. */
        if (deadline > 0 && myl_now() >= deadline)
            return failed(fr, MYL_FR_TIMEOUT, 1, "reading timed out");
        if (fr->in_pos > 0) { /* compact lazily: only when we must read more */
            memmove(fr->in.data, fr->in.data + fr->in_pos, fr->in.len - fr->in_pos);
            fr->in.len -= fr->in_pos;
            fr->in_pos = 0;
        }
        size_t want = need - fr->in.len;
        if (want < READ_CHUNK) want = READ_CHUNK;
        if (myl_buf_reserve(&fr->in, want))
            return failed(fr, MYL_FR_NOMEM, 1, "out of memory reading a packet");
        size_t got = 0;
        myl_io_status st = fr->t->read(fr->t, fr->in.data + fr->in.len, fr->in.cap - fr->in.len,
                                       &got, deadline);
        if (st != MYL_IO_DONE) return io_failed(fr, st, "reading");
        fr->in.len += got;
    }
    return MYL_FR_OK;
}

/* Reads one physical header: its length in *len.  With `check_seq`, a
 * sequence id other than the expected one fails; the next expected id
 * follows the one received either way. */
static myl_fr_status read_header(myl_framer *fr, size_t *len, double deadline, int check_seq)
{
    myl_fr_status st = fill(fr, 4, deadline);
    if (st) return st;
    const uint8_t *h = fr->in.data + fr->in_pos;
    *len = (size_t)h[0] | ((size_t)h[1] << 8) | ((size_t)h[2] << 16);
    if (check_seq && !fr->seq_checked_below && h[3] != fr->seq)
        return failed(fr, MYL_FR_OUT_OF_ORDER, 1,
                      "Packets out of order (got sequence id %u, expected %u)", h[3], fr->seq);
    fr->seq = (uint8_t)(h[3] + 1);
    return MYL_FR_OK;
}

static myl_fr_status too_large(myl_framer *fr)
{
    return failed(fr, MYL_FR_TOO_LARGE, 1, "Got packet bigger than 'max_packet' (%zu bytes)",
                  fr->max_packet);
}

static myl_fr_status read_packet(myl_framer *fr, double deadline, const uint8_t **payload,
                                 size_t *len, int check_seq)
{
    size_t n;
    myl_fr_status st = read_header(fr, &n, deadline, check_seq);
    if (st) return st;
    /* the ceiling is checked on the declared length, before the body */
    if (fr->max_packet && n > fr->max_packet) return too_large(fr);
    if ((st = fill(fr, 4 + n, deadline))) return st;
    const uint8_t *p = fr->in.data + fr->in_pos + 4;
    fr->in_pos += 4 + n;
    if (n < CHUNK) {
        *payload = p;
        *len = n;
        return MYL_FR_OK;
    }
    /* A payload of 0xFFFFFF bytes or more arrives in chunks; the last one
     * is shorter than 0xFFFFFF (possibly empty). */
    fr->big.len = 0;
    if (myl_buf_append(&fr->big, p, n))
        return failed(fr, MYL_FR_NOMEM, 1, "out of memory joining a packet");
    do {
        if ((st = read_header(fr, &n, deadline, check_seq))) return st;
        if (fr->max_packet && n > fr->max_packet - fr->big.len) return too_large(fr);
        if ((st = fill(fr, 4 + n, deadline))) return st;
        if (myl_buf_append(&fr->big, fr->in.data + fr->in_pos + 4, n))
            return failed(fr, MYL_FR_NOMEM, 1, "out of memory joining a packet");
        fr->in_pos += 4 + n;
    } while (n == CHUNK);
    *payload = fr->big.data;
    *len = fr->big.len;
    return MYL_FR_OK;
}

myl_fr_status myl_framer_read(myl_framer *fr, double deadline, const uint8_t **payload,
                              size_t *len)
{
    if (fr->status) return fr->status;
    return read_packet(fr, deadline, payload, len, 1);
}

myl_fr_status myl_framer_read_parting(myl_framer *fr, double deadline, const uint8_t **payload,
                                      size_t *len)
{
    myl_fr_status sticky = fr->status;
    char why[MYL_FRAMER_ERRMSG_SIZE];
    memcpy(why, fr->errmsg, sizeof why);
    fr->status = MYL_FR_OK;
    myl_fr_status st = read_packet(fr, deadline, payload, len, 0);
    fr->status = sticky; /* what broke the exchange stays the send's failure */
    memcpy(fr->errmsg, why, sizeof why);
    return st;
}

myl_fr_status myl_framer_begin(myl_framer *fr, size_t size_hint)
{
    fr->out.len = 0;
    if (fr->max_packet && size_hint > fr->max_packet)
        return failed(fr, MYL_FR_TOO_LARGE, 0,
                      "Packet of %zu bytes is bigger than 'max_packet' (%zu bytes); not sent",
                      size_hint, fr->max_packet);
    if (myl_buf_reserve(&fr->out, 4 + size_hint))
        return failed(fr, MYL_FR_NOMEM, 0, "out of memory building a packet");
    fr->out.len = 4;
    return MYL_FR_OK;
}

myl_fr_status myl_framer_send(myl_framer *fr, double deadline)
{
    if (fr->status) return fr->status;
    if (!fr->t) return failed(fr, MYL_FR_NO_TRANSPORT, 1, "no transport");
    if (fr->out.len < 4) return failed(fr, MYL_FR_IO_ERROR, 0, "no packet begun");
    uint8_t *payload = fr->out.data + 4;
    size_t left = fr->out.len - 4;
    if (fr->max_packet && left > fr->max_packet)
        return failed(fr, MYL_FR_TOO_LARGE, 0,
                      "Packet of %zu bytes is bigger than 'max_packet' (%zu bytes); not sent",
                      left, fr->max_packet);
    myl_io_status st;
    for (;;) {
        size_t n = left < CHUNK ? left : CHUNK;
        uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), fr->seq++};
        if (payload == fr->out.data + 4) {
            /* the first chunk's header fits in the reserved bytes: one write */
            memcpy(fr->out.data, h, 4);
            st = fr->t->write(fr->t, fr->out.data, 4 + n, deadline);
        } else {
            st = fr->t->write(fr->t, h, 4, deadline);
            if (st == MYL_IO_DONE && n) st = fr->t->write(fr->t, payload, n, deadline);
        }
        if (st != MYL_IO_DONE) return io_failed(fr, st, "writing");
        payload += n;
        left -= n;
        if (n < CHUNK) break; /* a full chunk is followed by another, maybe empty */
    }
    if (fr->t->flush && (st = fr->t->flush(fr->t, deadline)) != MYL_IO_DONE)
        return io_failed(fr, st, "writing");
    return MYL_FR_OK;
}
