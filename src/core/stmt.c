/* Prepared statements: the COM_STMT_* commands over the connection's
 * response machinery (conn.c reads execute responses as it reads a
 * query's, with binary rows), statement lifetimes across sessions, and
 * the deferred COM_STMT_CLOSE. */
#include "stmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "conn_internal.h"
#include "infile.h"
#include "rd.h"
#include "stmt_internal.h"

/* ------------------------------------------------------------------ */
/* Lifetimes */

static void unlink_stmt(myl_stmt *s)
{
    if (!s->c) return;
    if (s->prev) s->prev->next = s->next;
    else s->c->stmts = s->next;
    if (s->next) s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

void myl_stmt_detach_all(myl_conn *c)
{
    myl_stmt *s = c->stmts;
    while (s) {
        myl_stmt *next = s->next;
        s->prev = s->next = NULL;
        s->c = NULL;
        s = next;
    }
    c->stmts = NULL;
    free(c->stmt_close);
    c->stmt_close = NULL;
    c->nstmt_close = c->stmt_close_cap = 0;
}

void myl_stmt_new_session(myl_conn *c, const char *why)
{
    c->session++;
    c->session_ended = why;
    c->nstmt_close = 0; /* the server forgot them: their ids may come back */
    c->fetching = NULL;
}

int myl_stmt_flush_closes(myl_conn *c)
{
    /* Taken from the list first: a failed send must not leave them to be
     * sent again on a connection that no longer knows them. */
    size_t n = c->nstmt_close;
    c->nstmt_close = 0;
    for (size_t i = 0; i < n; i++) {
        myl_conn_new_command(c);
        if (myl_out_begin(c, 5)) return -1;
        myl_buf_put_u8(&c->fr.out, MYL_COM_STMT_CLOSE);
        myl_buf_put_u32(&c->fr.out, c->stmt_close[i]);
        if (myl_send_out(c)) return -1; /* no reply comes */
    }
    return 0;
}

/* 1 when the server still knows the statement. */
static int live(const myl_stmt *s)
{
    return s->c && s->session == s->c->session && s->c->state != MYL_STATE_BROKEN &&
           s->c->state != MYL_STATE_CLOSED;
}

void myl_stmt_free(myl_stmt *s)
{
    if (!s) return;
    myl_conn *c = s->c;
    if (c && c->fetching == s) c->fetching = NULL;
    if (c && c->exec_stmt == s) c->exec_stmt = NULL;
    if (c && live(s)) {
        if (c->nstmt_close == c->stmt_close_cap) {
            size_t cap = c->stmt_close_cap ? c->stmt_close_cap * 2 : 16;
            uint32_t *q = realloc(c->stmt_close, cap * sizeof *q);
            if (q) {
                c->stmt_close = q;
                c->stmt_close_cap = cap;
            }
        }
        /* Out of memory, the server keeps it until the session ends. */
        if (c->nstmt_close < c->stmt_close_cap) c->stmt_close[c->nstmt_close++] = s->id;
    }
    unlink_stmt(s);
    myl_columns_free(s->params);
    myl_columns_free(s->cols);
    free(s);
}

size_t myl_stmt_param_count(const myl_stmt *s) { return s->nparams; }
const myl_columns *myl_stmt_params(const myl_stmt *s) { return s->params; }
const myl_columns *myl_stmt_columns(const myl_stmt *s) { return s->cols; }
uint32_t myl_stmt_id(const myl_stmt *s) { return s->id; }
myl_conn *myl_stmt_conn(const myl_stmt *s) { return s->c; }
int myl_stmt_cursor_open(const myl_stmt *s) { return s->cursor_open && live(s); }
int myl_conn_has_bulk(const myl_conn *c)
{
    return (c->caps & MYL_MARIADB_CLIENT_STMT_BULK_OPERATIONS) != 0;
}

int myl_stmt_usable(myl_stmt *s)
{
    myl_conn *c = s->c;
    if (!c) return -1;
    if (c->state == MYL_STATE_BROKEN || c->state == MYL_STATE_CLOSED) return myl_conn_usable(c);
    if (s->session != c->session) {
        myl_error_set(&c->err, MYL_CR_STMT_CLOSED,
                      "Statement is no longer prepared on the server: %s since it was prepared "
                      "(prepare it again)", c->session_ended ? c->session_ended : "the session ended");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Prepare */

myl_stmt *myl_stmt_prepare(myl_conn *c, const char *sql, size_t len)
{
    if (myl_conn_begin(c) || myl_out_begin(c, 1 + len)) return NULL;
    myl_buf_put_u8(&c->fr.out, MYL_COM_STMT_PREPARE);
    if (len) myl_buf_put(&c->fr.out, sql, len);
    c->result_no = 0;
    if (myl_send_out(c)) return NULL;
    myl_bound_response(c, 1); /* one deadline for the reply and its definitions */
    const uint8_t *p;
    size_t n;
    myl_stmt *s = NULL;
    if (myl_read_packet(c, &p, &n)) goto out;
    switch (myl_classify(MYL_WAIT_PREPARE, p, n, c->caps)) {
    case MYL_PKT_ERR: myl_conn_server_error(c, p, n); goto out;
    case MYL_PKT_PREPARE_OK: break;
    default: myl_conn_malformed(c, "reply to a prepare"); goto out;
    }
    myl_rd r = myl_rd_init(p, n);
    myl_rd_skip(&r, 1);
    uint32_t id = myl_rd_u32(&r);
    unsigned ncols = myl_rd_u16(&r);
    unsigned nparams = myl_rd_u16(&r);
    myl_rd_skip(&r, 1);
    unsigned warnings = myl_rd_u16(&r);
    s = calloc(1, sizeof *s);
    if (!s) {
        myl_conn_oom(c);
        goto out;
    }
    s->id = id;
    s->nparams = nparams;
    s->bulk_safe = myl_sql_first_keyword(sql, len, "INSERT") ||
                   myl_sql_first_keyword(sql, len, "REPLACE");
    s->session = c->session;
    s->c = c;
    s->next = c->stmts;
    if (c->stmts) c->stmts->prev = s;
    c->stmts = s;
    /* Parameter definitions, then column definitions, each list ended by
     * an EOF without DEPRECATE_EOF. */
    if ((nparams && myl_conn_read_columns(c, nparams, &s->params, NULL)) ||
        (ncols && myl_conn_read_columns(c, ncols, &s->cols, NULL))) {
        if (c->state != MYL_STATE_BROKEN) myl_conn_broken(c, c->err.code, c->err.message);
        myl_stmt_free(s);
        s = NULL;
        goto out;
    }
    if (s->cols) s->cols->binary = 1; /* they describe the executes' rows */
    myl_conn_clear_last(c);
    c->last.warnings = warnings;
    myl_conn_set_response_state(c, MYL_STATE_READY);
out:
    myl_bound_response(c, 0);
    return s;
}

/* ------------------------------------------------------------------ */
/* Values */

int myl_param_is_long(const myl_param *p)
{
    return (p->kind == MYL_PARAM_STRING || p->kind == MYL_PARAM_BLOB) &&
           p->len >= MYL_LONG_DATA_THRESHOLD;
}

static myl_bin_kind temporal_kind(myl_param_kind k)
{
    return k == MYL_PARAM_DATE ? MYL_BIN_DATE : k == MYL_PARAM_TIME ? MYL_BIN_TIME : MYL_BIN_DATETIME;
}

/* The kinds myl_param_put does not write itself: NULL (nothing), BOOL,
 * the temporal ones, and strings of 251 bytes or more (a longer length
 * prefix).  Room was reserved. */
void myl_param_put_rest(myl_buf *b, const myl_param *p)
{
    switch (p->kind) {
    case MYL_PARAM_NULL: break;
    case MYL_PARAM_BOOL: myl_buf_put_u8(b, (uint8_t)(p->i != 0)); break;
    case MYL_PARAM_DATE:
    case MYL_PARAM_DATETIME:
    case MYL_PARAM_TIME: myl_put_datetime(b, temporal_kind(p->kind), &p->t); break;
    default:
        myl_buf_put_lenenc(b, p->len);
        if (p->len) myl_buf_put(b, p->s, p->len);
    }
}

static int wrong_count(myl_conn *c, size_t want, size_t got)
{
    myl_error_set(&c->err, MYL_CR_PARAMS_NOT_BOUND,
                  "Statement takes %zu parameter%s, %zu given", want, want == 1 ? "" : "s", got);
    return -1;
}

/* COM_STMT_SEND_LONG_DATA for parameter i, in chunks that fit a packet;
 * the server answers none of them. */
static int send_long(myl_stmt *s, size_t i, const myl_param *p)
{
    myl_conn *c = s->c;
    size_t chunk = (size_t)1 << 20;
    if (c->max_packet && c->max_packet > 7 && c->max_packet - 7 < chunk) chunk = c->max_packet - 7;
    size_t off = 0;
    do {
        size_t n = p->len - off < chunk ? p->len - off : chunk;
        myl_conn_new_command(c);
        if (myl_out_begin(c, 7 + n)) return -1;
        myl_buf_put_u8(&c->fr.out, MYL_COM_STMT_SEND_LONG_DATA);
        myl_buf_put_u32(&c->fr.out, s->id);
        myl_buf_put_u16(&c->fr.out, (uint16_t)i);
        if (n) myl_buf_put(&c->fr.out, p->s + off, n);
        if (myl_send_out(c)) return -1;
        off += n;
    } while (off < p->len);
    return 0;
}

/* Builds and sends one COM_STMT_EXECUTE (after its long data); the
 * command was begun. */
int myl_stmt_send_execute(myl_stmt *s, const myl_param *p, size_t n, unsigned flags)
{
    myl_conn *c = s->c;
    size_t size = 10;
    if (n) size += (n + 7) / 8 + 1 + 2 * n;
    for (size_t i = 0; i < n; i++) {
        if (myl_param_is_long(&p[i])) {
            if (send_long(s, i, &p[i])) return -1;
        } else {
            size += myl_param_size(&p[i]);
        }
    }
    myl_conn_new_command(c);
    if (myl_out_begin(c, size)) return -1;
    myl_buf *b = &c->fr.out;
    myl_buf_put_u8(b, MYL_COM_STMT_EXECUTE);
    myl_buf_put_u32(b, s->id);
    myl_buf_put_u8(b, flags & MYL_EXEC_CURSOR ? 1 : 0); /* CURSOR_TYPE_READ_ONLY */
    myl_buf_put_u32(b, 1);                               /* iteration count */
    if (n) {
        size_t nulls = b->len;
        memset(b->data + nulls, 0, (n + 7) / 8);
        b->len += (n + 7) / 8;
        for (size_t i = 0; i < n; i++)
            if (p[i].kind == MYL_PARAM_NULL) b->data[nulls + i / 8] |= (uint8_t)(1u << (i % 8));
        myl_buf_put_u8(b, 1); /* types follow: they may differ from the last execute's */
        for (size_t i = 0; i < n; i++) {
            myl_buf_put_u8(b, (uint8_t)myl_param_type(&p[i]));
            myl_buf_put_u8(b, p[i].kind == MYL_PARAM_UINT ? 0x80 : 0);
        }
        for (size_t i = 0; i < n; i++)
            if (!myl_param_is_long(&p[i])) myl_param_put(b, &p[i]);
    }
    return myl_send_out(c);
}

/* Starts the response of a sent execute (or fetch) for owner. */
void myl_stmt_expect(myl_stmt *s, unsigned flags, const void *owner)
{
    myl_conn *c = s->c;
    c->state = MYL_STATE_HEAD;
    c->owner = owner;
    c->cmd_binary = 1;
    c->cmd_cursor = (flags & MYL_EXEC_CURSOR) != 0;
    c->fetching = c->cmd_cursor ? s : NULL;
    c->exec_stmt = s;
}

int myl_stmt_known_columns(myl_conn *c, size_t ncols, myl_columns **cols, unsigned *eof_status)
{
    myl_stmt *s = c->exec_stmt;
    if (!s || !s->cols || s->cols->n != ncols || c->result_no != 1)
        return myl_conn_malformed(c, "no column definitions, and none known for this result");
    if (myl_conn_read_columns_end(c, eof_status)) return -1;
    *cols = myl_columns_ref(s->cols);
    return 0;
}

void myl_stmt_learn_columns(myl_conn *c, myl_columns *cols)
{
    myl_stmt *s = c->exec_stmt;
    if (!s || s->cols == cols) return;
    myl_columns_free(s->cols);
    s->cols = myl_columns_ref(cols);
}

int myl_stmt_execute(myl_stmt *s, const myl_param *p, size_t n, unsigned flags,
                     const void *owner)
{
    if (myl_stmt_usable(s)) return -1;
    myl_conn *c = s->c;
    if (n != s->nparams) return wrong_count(c, s->nparams, n);
    if (myl_conn_begin(c)) return -1;
    s->cursor_open = 0; /* a new execute closes the server's cursor */
    c->result_no = 0;
    if (myl_stmt_send_execute(s, p, n, flags)) return -1;
    myl_stmt_expect(s, flags, owner);
    return 0;
}

int myl_stmt_cursor_head(myl_conn *c, unsigned eof_status)
{
    myl_stmt *s = c->fetching;
    unsigned status = eof_status;
    if (c->caps & MYL_CLIENT_DEPRECATE_EOF) {
        /* No EOF after the columns: the next packet says, either the end
         * of the (empty or cursor-kept) rows or the first row. */
        const uint8_t *p;
        size_t n;
        if (myl_read_packet(c, &p, &n)) return -1;
        switch (myl_classify(MYL_WAIT_ROW, p, n, c->caps)) {
        case MYL_PKT_ROW:
            c->row_held = 1;
            c->held_row = p;
            c->held_len = n;
            c->fetching = NULL;
            return 0;
        case MYL_PKT_ERR: return myl_conn_server_error(c, p, n);
        case MYL_PKT_EOF: {
            myl_ok ok;
            if (myl_parse_ok(p, n, c->caps, &ok)) return myl_conn_malformed(c, "end of the rows");
            if (!(ok.status & MYL_STATUS_CURSOR_EXISTS)) {
                /* no rows at all: the result ends here */
                c->fetching = NULL;
                return myl_conn_handle_ok(c, p, n);
            }
            status = ok.status;
            myl_conn_clear_last(c);
            c->last.warnings = ok.warnings;
            break;
        }
        default: return myl_conn_malformed(c, "a binary row or the end of the rows");
        }
    } else if (!(status & MYL_STATUS_CURSOR_EXISTS)) {
        c->fetching = NULL; /* the rows follow as without a cursor */
        return 0;
    }
    /* The server keeps the rows: the connection is free until a fetch. */
    myl_conn_keep_status(c, status);
    myl_conn_set_response_state(c, MYL_STATE_READY);
    if (s) s->cursor_open = 1;
    c->fetching = NULL;
    return 0;
}

void myl_stmt_rows_ended(myl_conn *c, unsigned flags)
{
    myl_stmt *s = c->fetching;
    c->fetching = NULL;
    if (s && ((flags & MYL_STATUS_LAST_ROW_SENT) || !(flags & MYL_STATUS_CURSOR_EXISTS)))
        s->cursor_open = 0;
}

int myl_stmt_fetch(myl_stmt *s, uint32_t rows, const void *owner)
{
    if (myl_stmt_usable(s)) return -1;
    if (!s->cursor_open) return 0;
    myl_conn *c = s->c;
    if (myl_conn_begin(c) || myl_out_begin(c, 9)) return -1;
    myl_buf_put_u8(&c->fr.out, MYL_COM_STMT_FETCH);
    myl_buf_put_u32(&c->fr.out, s->id);
    myl_buf_put_u32(&c->fr.out, rows ? rows : 1);
    c->result_no = 0;
    if (myl_send_out(c)) return -1;
    /* Rows straight away: no head, the columns are the execute's. */
    c->state = MYL_STATE_ROWS;
    c->owner = owner;
    c->cmd_binary = 1;
    c->ncols = s->cols ? s->cols->n : 0;
    c->fetching = s;
    return 1;
}

int myl_stmt_reset(myl_stmt *s)
{
    if (myl_stmt_usable(s)) return -1;
    myl_conn *c = s->c;
    if (myl_conn_begin(c) || myl_out_begin(c, 5)) return -1;
    myl_buf_put_u8(&c->fr.out, MYL_COM_STMT_RESET);
    myl_buf_put_u32(&c->fr.out, s->id);
    c->result_no = 0;
    if (myl_send_out(c)) return -1;
    s->cursor_open = 0;
    return myl_conn_read_ok(c);
}

myl_result *myl_stmt_query(myl_stmt *s, const myl_param *p, size_t n)
{
    const void *owner = &owner;
    if (myl_stmt_execute(s, p, n, 0, owner)) return NULL;
    return myl_read_results(s->c, owner);
}
