/* Buffered results: every row of a result set read off the connection and
 * kept as raw protocol payloads in a few large chunks, with an offset per row.
 * Keeping packets instead of decoded values is compact (about the wire
 * size) and lets the Lua layer decode a row straight into Lua values.
 *
 * Memory follows the bytes received: a result costs one small struct plus
 * its rows, so a response of many tiny results (OK packets) stays close to
 * its wire size; a response holds at most MYL_MAX_RESULTS results, and the
 * rows of one result at most the connection's max_result_bytes. */
#ifndef MYL_RESULT_H
#define MYL_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "bigmem.h"
#include "conn.h"

/* A run of whole rows, back to back.  A big result is kept in chunks of
 * about MYL_RESULT_CHUNK bytes, so a reader that takes every row once
 * (res:fetch_all) can give their memory back as it goes. */
typedef struct myl_row_chunk {
    uint8_t *p;
    size_t first; /* the index of its first row */
    size_t mapped; /* bytes of p mapped as a bigmem block, 0 for malloc's */
} myl_row_chunk;

#define MYL_RESULT_CHUNK MYL_BIGMEM_SIZE

typedef struct myl_result {
    myl_columns *cols; /* NULL for a statement without a result set */
    myl_row_chunk *chunks; /* NULL without rows; every row checked */
    size_t nchunks;
    /* Row i is offs[i] .. offs[i + 1] of all the rows back to back: in its
     * chunk k, at chunks[k].p + offs[i] - offs[chunks[k].first].  NULL
     * without rows. */
    size_t *offs;
    size_t nrows;
    size_t dropped;    /* rows [0, dropped) may be freed: never read them */
    myl_status status; /* the OK/EOF that ended this result; info owned here */
    struct myl_result *next;
} myl_result;

/* Reads the next result of the current response in full, for `owner`.
 * Returns the result, or NULL with the connection's error set.  Rows are
 * checked to be well-formed for the column count before they are kept. */
myl_result *myl_store_result(myl_conn *c, const void *owner);

/* Runs a query and reads every result of it; a failing statement anywhere
 * makes the whole call fail (and the rest of the response is discarded).
 * The read timeout bounds the whole response. */
myl_result *myl_query(myl_conn *c, const char *sql, size_t len);

/* Reads every result of the owner's pending response, as myl_query does
 * after sending (a prepared statement's execute, too). */
myl_result *myl_read_results(myl_conn *c, const void *owner);

/* The chunk holding row i of a result of more than one chunk. */
size_t myl_result_chunk_of(const myl_result *r, size_t i);

/* Row i (below nrows, not dropped): its payload and length. */
static inline const uint8_t *myl_result_row(const myl_result *r, size_t i, size_t *len)
{
    size_t k = r->nchunks == 1 ? 0 : myl_result_chunk_of(r, i);
    *len = r->offs[i + 1] - r->offs[i];
    return r->chunks[k].p + (r->offs[i] - r->offs[r->chunks[k].first]);
}

/* Gives up rows [0, row): frees every chunk that holds only such rows
 * (all of them, and the offsets, when row is nrows).  Those rows must not
 * be read again. */
void myl_result_drop_rows(myl_result *r, size_t row);

/* Frees a result and every result chained after it. */
void myl_result_free(myl_result *r);

#endif
