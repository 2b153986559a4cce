/* LOAD DATA LOCAL INFILE on the connection (infile.h): which source a
 * connection has, the file name each query's statement names, and the
 * answer to the server's request (0xFB + name) in the middle of a response:
 * the file's data, or a refusal.
 *
 * Either way the exchange ends the way the protocol allows: data packets
 * (none when refused or failed), an empty packet, then the server's reply,
 * which is read before anything else happens, so the connection stays in
 * step and usable after a refusal or a failing source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "conn_internal.h"

/* Each data packet carries at most this much (and never more than
 * max_packet), built in place in the framer's buffer: memory stays
 * constant.  Measured on 100 MiB into a BLACKHOLE table over loopback TCP,
 * the server parses at about 100 MB/s whatever the size; the client's CPU
 * time falls from 16 KiB (0.05 s) to 64 KiB (0.03 s) and no further up to
 * 1 MiB.  So 64 KiB: as fast, and far below any max_allowed_packet a
 * server may have. */
#define INFILE_CHUNK ((size_t)64 << 10)

/* Requests answered in one response before the server is deemed broken. */
#define MAX_REQUESTS 16

static void refusal(myl_error *e, const char *asked, const char *why);

/* ---- the source, at connect and per command ---- */

int myl_infile_setup(myl_conn *c, const myl_options *opt)
{
    free(c->infile_dir);
    c->infile_dir = NULL;
    c->infile_on = 0;
    c->infile_pending_on = c->infile_cmd_on = 0;
    if (opt->local_infile_hooks) {
        c->infile = *opt->local_infile_hooks;
        c->infile_on = 1;
    } else if (opt->local_infile || opt->local_infile_dir) {
        if (opt->local_infile_dir && !(c->infile_dir = strdup(opt->local_infile_dir))) return -1;
        myl_infile_files(&c->infile, c->infile_dir);
        c->infile_on = 1;
    }
    return 0;
}

void myl_infile_forget(myl_conn *c)
{
    free(c->infile_dir);
    c->infile_dir = NULL;
    c->infile_on = 0;
}

int myl_infile_enabled(const myl_conn *c)
{
    return c->infile_on && (c->caps & MYL_CLIENT_LOCAL_FILES) != 0;
}

void myl_next_infile(myl_conn *c, const struct myl_infile_hooks *h)
{
    c->infile_pending_on = h != NULL;
    if (h) c->infile_pending = *h;
}

void myl_infile_command(myl_conn *c, int starts)
{
    /* The one-shot source is for the command tried next, whether it starts
     * or not: one refused (out of sync) must not leave it to a later one.
     * A refused command leaves the pending response's state alone. */
    int pending = c->infile_pending_on;
    c->infile_pending_on = 0;
    if (!starts) return;
    c->infile_cmd_on = pending;
    if (pending) c->infile_cmd = c->infile_pending;
    c->infile_name_len = -1;
    c->infile_asked = 0;
}

void myl_infile_statement(myl_conn *c, const char *sql, size_t len)
{
    if (!c->infile_on && !c->infile_cmd_on) return; /* every request is refused anyway */
    int no_backslash = (c->status & MYL_STATUS_NO_BACKSLASH_ESCAPES) != 0;
    c->infile_name_len =
        myl_sql_infile_name(sql, len, no_backslash, c->infile_name, sizeof c->infile_name);
}

/* ---- answering a request ---- */

/* `name` for a message: at most ~120 bytes, bytes that are not printable
 * ASCII as \xNN, so a hostile name cannot write to a terminal. */
static void shown(char *out, size_t cap, const uint8_t *name, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 8 < cap; i++) {
        if (o >= 120) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (name[i] >= 0x20 && name[i] < 0x7F && name[i] != '\\')
            out[o++] = (char)name[i];
        else
            o += (size_t)snprintf(out + o, cap - o, "\\x%02X", name[i]);
    }
    out[o] = '\0';
}

/* The time a source spent does not count against read_timeout: the whole
 * response's deadline moves by it (a per-packet deadline starts at each
 * read anyway). */
static void pause_deadline(myl_conn *c, double since)
{
    if (c->response_deadline > 0) c->response_deadline += myl_now() - since;
}

/* The end of the data (an empty packet), then the server's reply, which
 * ends the exchange: `e` is its error when it failed on the client's side
 * (code 0: it did not), which replaces the server's OK or ERR.  A rogue
 * server may answer with another request: each is refused the same way
 * (a few times, then the connection is closed as out of its mind).
 * Returns 0 for an OK (the statement's result), -1 otherwise. */
static int finish(myl_conn *c, myl_error *e)
{
    for (int asked = 1;; asked++) {
        if (myl_out_begin(c, 0) || myl_send_out(c)) return -1;
        const uint8_t *p;
        size_t n;
        if (myl_read_packet(c, &p, &n)) return -1;
        switch (myl_classify(MYL_WAIT_RESULT, p, n, c->caps)) {
        case MYL_PKT_LOCAL_INFILE:
            if (asked == MAX_REQUESTS)
                return myl_conn_broken(c, MYL_CR_MALFORMED_PACKET, "Malformed packet (the "
                                       "server asked for LOCAL INFILE data again and again)");
            if (e->code == 0) {
                char a[200];
                shown(a, sizeof a, p + 1, n - 1);
                refusal(e, a, "the statement's file was already asked for in this command");
            }
            continue;
        case MYL_PKT_OK:
            /* more results may follow (multi-statements): state HEAD */
            if (myl_conn_handle_ok(c, p, n)) return -1;
            break;
        case MYL_PKT_ERR:
            if (e->code == 0) return myl_conn_server_error(c, p, n);
            myl_conn_set_response_state(c, MYL_STATE_READY);
            break;
        default: return myl_conn_malformed(c, "reply to LOCAL INFILE data");
        }
        if (e->code == 0) return 0;
        c->err = *e;
        return -1;
    }
}

/* No data: the exchange ends with `why` as the statement's error. */
static int end_with_error(myl_conn *c, const myl_error *why)
{
    myl_error e = *why;
    if (e.code == 0)
        myl_error_set(&e, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                      "LOAD DATA LOCAL INFILE: the source failed without saying why");
    return finish(c, &e);
}

/* "the server asked for 'NAME', but WHY" */
static void refusal(myl_error *e, const char *asked, const char *why)
{
    myl_error_set(e, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                  "LOAD DATA LOCAL INFILE request refused: the server asked for '%s', but %s",
                  asked, why);
}

static int refuse(myl_conn *c, const char *asked, const char *why)
{
    myl_error e;
    refusal(&e, asked, why);
    return finish(c, &e);
}

/* Sends the source's data in packets of at most `chunk` bytes, each built
 * in place in the framer's buffer.  Returns 0 at the end of the data, 1
 * when the source failed (*why set), -1 when the connection did. */
static int send_data(myl_conn *c, const myl_infile_hooks *h, void *src, myl_error *why)
{
    size_t chunk = c->max_packet < INFILE_CHUNK ? c->max_packet : INFILE_CHUNK;
    for (int eof = 0; !eof;) {
        if (myl_out_begin(c, chunk)) return -1;
        size_t have = 0;
        while (have < chunk) {
            size_t got = 0;
            double t0 = myl_now();
            int rc = h->read(h->ud, src, c->fr.out.data + 4 + have, chunk - have, &got, why);
            pause_deadline(c, t0);
            if (rc) return 1;
            if (got > chunk - have) {
                myl_error_set(why, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                              "LOAD DATA LOCAL INFILE: the source gave %zu bytes where at most "
                              "%zu were asked for", got, chunk - have);
                return 1;
            }
            if (got == 0) {
                eof = 1;
                break;
            }
            have += got;
        }
        c->fr.out.len = 4 + have;
        if (have && myl_send_out(c)) return -1;
    }
    return 0;
}

static int transfer(myl_conn *c, const myl_infile_hooks *h)
{
    myl_error why;
    myl_error_clear(&why);
    void *src = NULL;
    double t0 = myl_now();
    int rc = h->open(h->ud, c->infile_name, (size_t)c->infile_name_len, &src, &why);
    pause_deadline(c, t0);
    if (rc) return end_with_error(c, &why);
    rc = send_data(c, h, src, &why);
    h->close(h->ud, src);
    if (rc < 0) return -1;
    if (rc > 0) return end_with_error(c, &why);
    myl_error_clear(&why);
    return finish(c, &why);
}

int myl_infile_request(myl_conn *c, const uint8_t *p, size_t n)
{
    const uint8_t *asked = p + 1; /* after the 0xFB */
    size_t len = n - 1;
    char a[200], named[200];
    shown(a, sizeof a, asked, len);
    int first = !c->infile_asked;
    c->infile_asked = 1; /* one request per command, whatever becomes of this one */
    const myl_infile_hooks *h = c->infile_cmd_on ? &c->infile_cmd : &c->infile;
    if (!myl_infile_enabled(c)) return refuse(c, a, "local_infile is not enabled");
    if (!first)
        return refuse(c, a, "the statement's file was already asked for in this command");
    if (c->infile_name_len == -1)
        return refuse(c, a, "the statement sent is no LOAD DATA LOCAL INFILE");
    if (c->infile_name_len < 0)
        return refuse(c, a, "the statement's file name could not be read (longer than "
                      "4096 bytes, or holding a NUL byte)");
    if (memchr(asked, 0, len)) return refuse(c, a, "that name holds a NUL byte");
    if (len != (size_t)c->infile_name_len || memcmp(asked, c->infile_name, len) != 0) {
        char why[260];
        shown(named, sizeof named, (const uint8_t *)c->infile_name, (size_t)c->infile_name_len);
        snprintf(why, sizeof why, "the statement named '%s'", named);
        return refuse(c, a, why);
    }
    return transfer(c, h);
}
