/* The network part of a cursor's calls, as one job (cursor_job.h). */
#include "cursor_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A batch takes rows that have arrived up to these bounds, then hands
 * them over: memory stays bounded, and the rows reach the script in steps
 * about as large as the socket's reads. */
#define BATCH_BYTES (256u * 1024u)
#define BATCH_ROWS 4096u

static void keep_status(const myl_conn *c, myl_status *st, char *info, size_t cap)
{
    *st = *myl_last_status(c);
    snprintf(info, cap, "%s", st->info ? st->info : "");
    st->info = info;
}

static int fail(myl_cursor_job *j)
{
    j->err = *myl_conn_error(j->c);
    j->rc = -1;
    return -1;
}

/* Appends one row (its length, then its bytes) to the batch. */
static int batch_add(myl_row_batch *b, const uint8_t *p, size_t n)
{
    size_t need = sizeof n + n;
    if (need < n || b->len > SIZE_MAX - need) return -1;
    if (b->cap - b->len < need) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap - b->len < need) {
            if (cap > SIZE_MAX / 2) return -1;
            cap *= 2;
        }
        uint8_t *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, &n, sizeof n);
    if (n) memcpy(b->data + b->len + sizeof n, p, n);
    b->len += need;
    b->rows++;
    return 0;
}

/* At least one row, then those already arrived, within the bounds. */
static void read_rows(myl_cursor_job *j)
{
    myl_row_batch *b = &j->batch;
    myl_row_batch_clear(b);
    for (;;) {
        const uint8_t *p;
        size_t n;
        int rc = myl_read_row(j->c, j->owner, &p, &n);
        if (rc < 0) {
            b->err = *myl_conn_error(j->c);
            b->end = -1;
            return;
        }
        if (rc == 0) {
            keep_status(j->c, &b->status, b->info, sizeof b->info);
            b->end = 1;
            return;
        }
        if (batch_add(b, p, n) < 0) {
            /* the row is read and cannot be kept: the stream is lost */
            myl_conn_fail(j->c, MYL_CR_OUT_OF_MEMORY, "out of memory keeping a batch of rows");
            b->err = *myl_conn_error(j->c);
            b->end = -1;
            return;
        }
        if (b->len >= BATCH_BYTES || b->rows >= BATCH_ROWS || !myl_conn_packet_buffered(j->c))
            return;
    }
}

static int skip_rest(myl_cursor_job *j)
{
    while (myl_response_owner(j->c) == j->owner && myl_conn_state(j->c) == MYL_STATE_ROWS) {
        const uint8_t *p;
        size_t n;
        int rc = myl_read_row(j->c, j->owner, &p, &n);
        if (rc < 0) return fail(j);
        if (rc == 0) {
            keep_status(j->c, &j->skipped_status, j->skipped_info, sizeof j->skipped_info);
            j->skipped_end = 1;
        }
    }
    return 0;
}

void myl_cursor_job_run(void *arg)
{
    myl_cursor_job *j = arg;
    j->rc = 0;
    if (j->discard && myl_discard(j->c, j->owner) < 0 &&
        myl_conn_state(j->c) == MYL_STATE_BROKEN) {
        fail(j);
        return;
    }
    if (j->sql && myl_send_query(j->c, j->sql, j->sql_len, j->owner) < 0) {
        fail(j);
        return;
    }
    if (j->execute &&
        (myl_stmt_usable(j->stmt) < 0 ||
         myl_stmt_execute(j->stmt, j->params, j->nparams, j->exec_flags, j->owner) < 0)) {
        fail(j);
        return;
    }
    if (j->skip_rest && skip_rest(j) < 0) return;
    if (j->head) {
        j->head_rc = myl_read_head(j->c, j->owner, &j->cols);
        if (j->head_rc < 0) {
            fail(j);
            return;
        }
    }
    if (j->fetch) {
        int rc = myl_stmt_cursor_open(j->stmt) ? myl_stmt_fetch(j->stmt, j->fetch_size, j->owner) : 0;
        if (rc < 0) {
            fail(j);
            return;
        }
        j->fetched = rc;
        if (rc == 0) return;
    }
    if (j->rows) read_rows(j);
}

void myl_cursor_job_reset(myl_cursor_job *j)
{
    myl_columns_free(j->cols);
    myl_param *store = j->param_store;
    size_t cap = j->param_cap;
    myl_row_batch batch = j->batch;
    memset(j, 0, sizeof *j);
    j->param_store = store;
    j->param_cap = cap;
    j->batch = batch;
}

int myl_cursor_job_keep_params(myl_cursor_job *j, const myl_param *p, size_t n)
{
    if (n > j->param_cap) {
        myl_param *s = realloc(j->param_store, n * sizeof *s);
        if (!s) return -1;
        j->param_store = s;
        j->param_cap = n;
    }
    if (n) memcpy(j->param_store, p, n * sizeof *p);
    j->params = j->param_store;
    j->nparams = n;
    return 0;
}

int myl_row_batch_next(myl_row_batch *b, const uint8_t **p, size_t *n)
{
    if (b->pos >= b->len) return 0;
    memcpy(n, b->data + b->pos, sizeof *n);
    *p = b->data + b->pos + sizeof *n;
    b->pos += sizeof *n + *n;
    return 1;
}

void myl_row_batch_clear(myl_row_batch *b)
{
    b->len = b->pos = b->rows = 0;
    b->end = 0;
}

void myl_cursor_job_free(myl_cursor_job *j)
{
    myl_columns_free(j->cols);
    j->cols = NULL;
    free(j->param_store);
    free(j->batch.data);
    memset(j, 0, sizeof *j);
}
