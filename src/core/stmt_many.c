/* One statement, many rows of values: MariaDB's COM_STMT_BULK_EXECUTE in
 * batches, or executes pipelined a window at a time where the server has
 * no bulk command.  Rows come from a callback one at a time, so memory
 * stays at one batch whatever the number of rows. */
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "stmt_internal.h"

/* A batch is sent once it holds this many bytes: large enough that the
 * round trips vanish, small enough to stay far below any server's
 * max_allowed_packet. */
#define BATCH_BYTES ((size_t)1 << 20)
/* Executes in flight at once without bulk: their replies (an OK each)
 * must fit the socket buffers while the client is still sending. */
#define PIPELINE_WINDOW 64

#define BULK_SEND_TYPES 128 /* STMT_BULK_FLAG_CLIENT_SEND_TYPES */
enum { IND_NONE = 0, IND_NULL = 1 };

typedef struct many {
    myl_stmt *s;
    myl_stmt_next_row next;
    void *ud;
    myl_param *params;
    int have;          /* params holds a row not sent yet (1), none left (0), the caller failed (-1) */
    uint64_t index;    /* the 0-based index of the row asked for last */
    uint64_t affected;
    uint64_t failed_row, batch_rows;
} many;

static void advance(many *m)
{
    m->index++;
    m->have = m->next(m->ud, m->params, m->s->nparams);
}

/* Reads the reply to one command: adds its affected rows; a result set
 * (INSERT ... RETURNING) is read away.  0, or -1 with the error set. */
static int read_reply(myl_conn *c, many *m, const void *owner)
{
    do {
        myl_columns *cols = NULL;
        int rc = myl_read_head(c, owner, &cols);
        myl_columns_free(cols);
        if (rc < 0) return -1;
        if (rc == 1) {
            const uint8_t *p;
            size_t n;
            while ((rc = myl_read_row(c, owner, &p, &n)) == 1) continue;
            if (rc < 0) return -1;
        } else {
            m->affected += myl_last_status(c)->affected_rows;
        }
    } while (myl_more_results(c));
    return 0;
}

static int row_too_large(myl_conn *c, many *m)
{
    myl_error_set(&c->err, MYL_CR_NET_PACKET_TOO_LARGE,
                  "Row %llu is bigger than 'max_packet' (%zu bytes) in one bulk execution",
                  (unsigned long long)m->index + 1, c->max_packet);
    m->failed_row = m->index;
    m->batch_rows = 1;
    return -1;
}

/* The bytes the row takes in a batch whose types are `types`, or 0 when
 * it cannot join it: each value must have the batch's type, be NULL, or
 * be in a column that has been NULL so far. */
static size_t row_size(const many *m, const uint8_t *types)
{
    size_t size = 0;
    for (size_t j = 0; j < m->s->nparams; j++) {
        const myl_param *p = &m->params[j];
        size += 1;
        if (p->kind == MYL_PARAM_NULL) continue;
        size += myl_param_size(p);
        if (types[2 * j] != MYL_TYPE_NULL &&
            (types[2 * j] != myl_param_type(p) ||
             types[2 * j + 1] != (p->kind == MYL_PARAM_UINT ? 0x80 : 0)))
            return 0;
    }
    return size;
}

/* After a bulk batch failed with a server error: the row the server
 * stopped at, 1-based within the batch, from the diagnostics area
 * (MariaDB 10.7 and later number the rows of a statement); 0 when the
 * server cannot say.  The connection's error is kept. */
static uint64_t failing_row_in_batch(myl_conn *c)
{
    static const char get[] = "GET DIAGNOSTICS CONDITION 1 @mylua_failed_row = ROW_NUMBER";
    static const char read[] = "SELECT @mylua_failed_row, @mylua_failed_row := NULL";
    if (c->state != MYL_STATE_READY) return 0;
    myl_error saved = c->err;
    uint64_t row = 0;
    myl_result *r = myl_query(c, get, sizeof get - 1);
    if (r) {
        myl_result_free(r);
        r = myl_query(c, read, sizeof read - 1);
    }
    if (r && r->nrows == 1) {
        size_t n;
        const uint8_t *p = myl_result_row(r, 0, &n);
        /* one length byte, then the decimal digits */
        if (n > 1 && p[0] < 0xFB && (size_t)p[0] + 1 <= n)
            for (size_t i = 1; i <= p[0] && p[i] >= '0' && p[i] <= '9' && row < UINT32_MAX; i++)
                row = row * 10 + (uint64_t)(p[i] - '0');
    }
    myl_result_free(r);
    c->err = saved;
    return row;
}

static int bulk(many *m)
{
    myl_stmt *s = m->s;
    myl_conn *c = s->c;
    size_t n = s->nparams;
    size_t limit = c->max_packet && c->max_packet < BATCH_BYTES ? c->max_packet : BATCH_BYTES;
    while (m->have > 0) {
        if (myl_stmt_usable(s) || myl_conn_begin(c) || myl_out_begin(c, 7 + 2 * n + 64)) return -1;
        myl_buf *b = &c->fr.out;
        myl_buf_put_u8(b, MYL_COM_STMT_BULK_EXECUTE);
        myl_buf_put_u32(b, s->id);
        myl_buf_put_u16(b, BULK_SEND_TYPES);
        size_t types = b->len;
        for (size_t j = 0; j < n; j++) {
            myl_buf_put_u8(b, (uint8_t)myl_param_type(&m->params[j]));
            myl_buf_put_u8(b, m->params[j].kind == MYL_PARAM_UINT ? 0x80 : 0);
        }
        uint64_t first = m->index, rows = 0;
        while (m->have > 0) {
            size_t size = row_size(m, b->data + types);
            if (size == 0) break; /* another type: the next batch says so (rows > 0 here) */
            if (rows && b->len - 4 + size > limit) break;
            if (c->max_packet && b->len - 4 + size > c->max_packet) return row_too_large(c, m);
            if (myl_buf_reserve(b, size)) return myl_conn_oom(c);
            for (size_t j = 0; j < n; j++) {
                const myl_param *p = &m->params[j];
                if (p->kind == MYL_PARAM_NULL) {
                    myl_buf_put_u8(b, IND_NULL);
                    continue;
                }
                if (b->data[types + 2 * j] == MYL_TYPE_NULL) { /* NULL until now: this type */
                    b->data[types + 2 * j] = (uint8_t)myl_param_type(p);
                    b->data[types + 2 * j + 1] = p->kind == MYL_PARAM_UINT ? 0x80 : 0;
                }
                myl_buf_put_u8(b, IND_NONE);
                myl_param_put(b, p);
            }
            rows++;
            advance(m);
        }
        if (m->have < 0) return -1; /* the caller's error: this batch is not sent */
        c->result_no = 0;
        if (myl_send_out(c)) return -1;
        const void *owner = &owner;
        myl_stmt_expect(s, 0, owner);
        if (read_reply(c, m, owner)) {
            m->failed_row = first;
            m->batch_rows = rows;
            myl_conn_discard_after_error(c);
            uint64_t at = c->err.code < 2000 || c->err.code >= 3000 ? failing_row_in_batch(c) : 0;
            if (at >= 1 && at <= rows) {
                m->failed_row = first + at - 1;
                m->batch_rows = 1;
            }
            return -1;
        }
    }
    return m->have < 0 ? -1 : 0;
}

static int pipelined(many *m)
{
    myl_stmt *s = m->s;
    myl_conn *c = s->c;
    /* The compressed protocol numbers its frames per command: one reply
     * at a time there. */
    uint64_t window = c->compression ? 1 : PIPELINE_WINDOW;
    while (m->have > 0) {
        if (myl_stmt_usable(s) || myl_conn_begin(c)) return -1;
        uint64_t first = m->index, sent = 0;
        while (m->have > 0 && sent < window) {
            if (myl_stmt_send_execute(s, m->params, s->nparams, 0)) return -1;
            sent++;
            advance(m);
        }
        /* Every reply is read, so the connection stays in step; the first
         * error is the one reported. */
        int failed = 0;
        myl_error first_error;
        for (uint64_t k = 0; k < sent; k++) {
            const void *owner = &owner;
            if (k > 0) { /* the next reply answers a command of its own */
                myl_conn_new_command(c);
                c->fr.seq = 1;
            }
            c->result_no = 0;
            myl_stmt_expect(s, 0, owner);
            if (read_reply(c, m, owner)) {
                if (c->state == MYL_STATE_BROKEN) return -1;
                if (!failed) {
                    failed = 1;
                    first_error = c->err;
                    m->failed_row = first + k;
                    m->batch_rows = 1;
                }
                myl_conn_discard_after_error(c);
            }
        }
        if (failed) {
            c->err = first_error;
            return -1;
        }
    }
    return m->have < 0 ? -1 : 0;
}

int myl_stmt_execute_many(myl_stmt *s, myl_stmt_next_row next, void *ud, unsigned flags,
                          uint64_t *affected, uint64_t *failed_row, uint64_t *batch_rows)
{
    *affected = *failed_row = *batch_rows = 0;
    if (myl_stmt_usable(s)) return -1;
    many m = {s, next, ud, NULL, 0, 0, 0, 0, 0};
    m.params = calloc(s->nparams ? s->nparams : 1, sizeof *m.params);
    if (!m.params) return myl_conn_oom(s->c);
    m.have = next(ud, m.params, s->nparams);
    int rc = 0;
    if (m.have > 0)
        rc = myl_conn_has_bulk(s->c) && s->nparams && s->bulk_safe && !(flags & MYL_MANY_NO_BULK)
                 ? bulk(&m)
                 : pipelined(&m);
    if (m.have < 0) {
        rc = -1;
        m.failed_row = m.index;
        m.batch_rows = 1;
    }
    free(m.params);
    *affected = m.affected;
    *failed_row = m.failed_row;
    *batch_rows = m.batch_rows;
    return rc;
}
