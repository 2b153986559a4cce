/* Buffered results: every row of a result set read off the connection and
 * kept as raw text-protocol payloads in one arena, with an offset per row.
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

#include "conn.h"

typedef struct myl_result {
    myl_columns *cols; /* NULL for a statement without a result set */
    uint8_t *data;     /* row payloads, back to back; every row checked */
    size_t *offs;      /* row i is data[offs[i] .. offs[i + 1]); NULL without rows */
    size_t nrows;
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

static inline const uint8_t *myl_result_row(const myl_result *r, size_t i, size_t *len)
{
    *len = r->offs[i + 1] - r->offs[i];
    return r->data + r->offs[i];
}

/* Frees a result and every result chained after it. */
void myl_result_free(myl_result *r);

#endif
