#include "result.h"

#include "binrow.h"
#include "conn_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char no_info[] = "";

static void free_rows(myl_result *r);

void myl_result_free(myl_result *r)
{
    while (r) {
        myl_result *next = r->next;
        myl_columns_free(r->cols);
        free_rows(r);
        if (r->status.info != no_info) free((char *)r->status.info);
        free(r);
        r = next;
    }
}

/* Grows *p (of *cap elements) to hold at least `need`. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem) return -1;
        n *= 2;
    }
    void *q = realloc(*p, n * elem);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* Gives back what the doubling left unused, so a result holds about the
 * bytes it received. */
static void *shrink(void *p, size_t size, size_t cap)
{
    /* a few hundred bytes of slack are cheaper than a realloc for each of
     * many small results */
    if (!p || size == 0 || cap - size < 1024) return p;
    void *q = realloc(p, size);
    return q ? q : p;
}

static int too_big(myl_conn *c, size_t limit)
{
    char msg[160];
    snprintf(msg, sizeof msg, "Result bigger than 'max_result_bytes' (%zu bytes); the "
             "connection was closed", limit);
    myl_conn_fail(c, MYL_CR_NET_PACKET_TOO_LARGE, msg);
    return -1;
}

static void free_chunk(myl_row_chunk *ch)
{
    myl_bigmem_free(ch->p, ch->mapped); /* free() for malloc's */
    ch->p = NULL;
}

static void free_rows(myl_result *r)
{
    for (size_t k = 0; k < r->nchunks; k++) free_chunk(&r->chunks[k]);
    free(r->chunks);
    free(r->offs);
    r->chunks = NULL;
    r->offs = NULL;
    r->nchunks = 0;
    r->dropped = r->nrows;
}

void myl_result_drop_rows(myl_result *r, size_t row)
{
    if (row >= r->nrows) {
        free_rows(r);
        return;
    }
    if (row <= r->dropped) return;
    r->dropped = row;
    /* chunk k is free to go when the next one starts at or before row */
    for (size_t k = 0; k + 1 < r->nchunks && r->chunks[k + 1].first <= row; k++)
        free_chunk(&r->chunks[k]);
}

size_t myl_result_chunk_of(const myl_result *r, size_t i)
{
    size_t lo = 0, hi = r->nchunks; /* chunks[lo].first <= i < chunks[hi].first */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->chunks[mid].first <= i) lo = mid;
        else hi = mid;
    }
    return lo;
}

/* Gives back the room the last chunk (`used` bytes of it filled) will not
 * use: the first chunk's doubling slack, a block's unused pages. */
static uint8_t *fit_chunk(myl_result *r, uint8_t *chunk, size_t used, size_t cap, int in_block)
{
    if (!in_block) return r->nchunks == 1 ? shrink(chunk, used, cap) : chunk;
    return myl_bigmem_trim(chunk, used, &r->chunks[r->nchunks - 1].mapped);
}

/* Reads the rows of the current result set into r.  Rows go into the first
 * chunk while it holds under MYL_RESULT_CHUNK bytes (growing by doubling,
 * so a small result stays small); then into new chunks of that size, on
 * huge pages where there are any (bigmem.h), or of one row, if bigger.
 * Only the first chunk ever grows; each gives back what it leaves unused
 * once the next one starts. */
static int store_rows(myl_conn *c, const void *owner, myl_result *r, size_t limit)
{
    size_t chunk_cap = 0, chunks_cap = 0, offs_cap = 0, data_len = 0, chunk_start = 0;
    uint8_t *chunk = NULL; /* the last chunk, also r->chunks[r->nchunks - 1].p */
    int in_block = 0;      /* it is a bigmem block */
    const uint8_t *p;
    size_t n;
    int rc;
    if (grow((void **)&r->offs, &offs_cap, 1, sizeof *r->offs)) goto oom;
    r->offs[0] = 0;
    while ((rc = myl_read_row(c, owner, &p, &n)) == 1) {
        if (r->cols->binary ? myl_check_bin_row(p, n, r->cols) : myl_check_text_row(p, n, r->cols->n)) {
            myl_conn_fail(c, MYL_CR_MALFORMED_PACKET,
                          r->cols->binary
                              ? "Malformed packet (binary row: its values do not match the columns)"
                              : "Malformed packet (text row: its values do not match the columns)");
            return -1;
        }
        if (limit && data_len + n + (r->nrows + 2) * sizeof *r->offs > limit)
            return too_big(c, limit);
        size_t used = data_len - chunk_start;
        if (r->nchunks == 0 || (used > 0 && used + n > MYL_RESULT_CHUNK && used + n > chunk_cap)) {
            if (r->nchunks)
                r->chunks[r->nchunks - 1].p = chunk = fit_chunk(r, chunk, used, chunk_cap, in_block);
            if (grow((void **)&r->chunks, &chunks_cap, r->nchunks + 1, sizeof *r->chunks)) goto oom;
            /* a result past its first chunk is big: the next one is full
             * size, and this row fits in it */
            size_t mapped = 0;
            in_block = 0;
            if (r->nchunks == 0) {
                chunk_cap = 0;
                chunk = NULL;
            } else if (n <= MYL_RESULT_CHUNK) {
                chunk_cap = MYL_RESULT_CHUNK;
                if (!(chunk = myl_bigmem_alloc(&mapped))) goto oom;
                in_block = 1;
            } else {
                chunk_cap = n;
                if (!(chunk = malloc(chunk_cap))) goto oom;
            }
            r->chunks[r->nchunks].p = chunk;
            r->chunks[r->nchunks].first = r->nrows;
            r->chunks[r->nchunks].mapped = mapped;
            r->nchunks++;
            chunk_start = data_len;
            used = 0;
        }
        if (used + n > chunk_cap) { /* the first chunk only: the others were made to fit */
            if (in_block || grow((void **)&chunk, &chunk_cap, used + n, 1)) goto oom;
            r->chunks[r->nchunks - 1].p = chunk;
        }
        if (grow((void **)&r->offs, &offs_cap, r->nrows + 2, sizeof *r->offs)) goto oom;
        if (n) memcpy(chunk + used, p, n);
        data_len += n;
        r->offs[++r->nrows] = data_len;
    }
    if (rc < 0) return -1;
    if (r->nchunks)
        r->chunks[r->nchunks - 1].p = fit_chunk(r, chunk, data_len - chunk_start, chunk_cap, in_block);
    r->offs = shrink(r->offs, (r->nrows + 1) * sizeof *r->offs, offs_cap * sizeof *r->offs);
    return 0;
oom:
    myl_conn_fail(c, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
    return -1;
}

myl_result *myl_store_result(myl_conn *c, const void *owner)
{
    myl_result *r = calloc(1, sizeof *r);
    if (!r) {
        myl_conn_fail(c, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return NULL;
    }
    r->status.info = no_info;
    int head = myl_read_head(c, owner, &r->cols);
    if (head < 0 || (head == 1 && store_rows(c, owner, r, c->max_result_bytes))) {
        myl_result_free(r);
        return NULL;
    }
    const myl_status *st = myl_last_status(c);
    r->status = *st;
    r->status.info = no_info;
    if (st->info && st->info[0]) {
        char *info = strdup(st->info);
        if (!info) {
            myl_conn_fail(c, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
            myl_result_free(r);
            return NULL;
        }
        r->status.info = info;
    }
    if (head == 1) r->status.affected_rows = r->nrows; /* as mysql_affected_rows() after a SELECT */
    return r;
}

myl_result *myl_query(myl_conn *c, const char *sql, size_t len)
{
    const void *owner = &owner; /* any address unique to this call */
    if (myl_send_query(c, sql, len, owner)) return NULL;
    return myl_read_results(c, owner);
}

myl_result *myl_read_results(myl_conn *c, const void *owner)
{
    /* The read timeout bounds the whole response, so a server that drips
     * bytes cannot hold the call past it. */
    myl_bound_response(c, 1);
    myl_result *first = NULL, **tail = &first;
    size_t count = 0;
    do {
        if (++count > MYL_MAX_RESULTS) {
            char msg[120];
            snprintf(msg, sizeof msg, "Response holds more than %d results; the connection "
                     "was closed", MYL_MAX_RESULTS);
            myl_conn_fail(c, MYL_CR_NET_PACKET_TOO_LARGE, msg);
        }
        myl_result *r = count > MYL_MAX_RESULTS ? NULL : myl_store_result(c, owner);
        if (!r) {
            myl_result_free(first);
            first = NULL;
            myl_conn_discard_after_error(c);
            break;
        }
        *tail = r;
        tail = &r->next;
    } while (myl_more_results(c));
    myl_bound_response(c, 0);
    return first;
}
