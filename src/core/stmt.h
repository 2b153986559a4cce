/* Server-side prepared statements (COM_STMT_*): prepare, execute with
 * values sent in binary, server cursors, long data, reset, close, and
 * MariaDB's bulk execution.
 *
 * A statement belongs to its connection.  It stops being usable when the
 * connection is reset (COM_RESET_CONNECTION), changes user, breaks or
 * closes: the server has forgotten it, and every use then fails with 2056
 * naming why.  Freeing a statement never does I/O: a statement the server
 * still knows is closed there (COM_STMT_CLOSE, which has no reply) before
 * the connection's next command.
 *
 * Errors are the connection's (myl_conn_error), as for every command. */
#ifndef MYL_STMT_H
#define MYL_STMT_H

#include <stddef.h>
#include <stdint.h>

#include "binrow.h"
#include "conn.h"
#include "result.h"

#define MYL_CR_NO_PREPARE_STMT 2030 /* not a usable statement */
#define MYL_CR_PARAMS_NOT_BOUND 2031 /* wrong number of values */
#define MYL_CR_STMT_CLOSED 2056      /* forgotten by the server: reset, change_user, ... */

/* The most parameters a statement may have (the protocol counts them in 16
 * bits). */
#define MYL_MAX_PARAMS 65535

/* One value to bind. */
typedef enum {
    MYL_PARAM_NULL = 0,
    MYL_PARAM_INT,      /* i, sent as LONGLONG */
    MYL_PARAM_UINT,     /* i as uint64_t, sent as unsigned LONGLONG */
    MYL_PARAM_DOUBLE,   /* d, sent as DOUBLE */
    MYL_PARAM_BOOL,     /* i (0 or 1), sent as TINY */
    MYL_PARAM_STRING,   /* s, len: text in the connection's charset (VAR_STRING) */
    MYL_PARAM_BLOB,     /* s, len: bytes (BLOB) */
    MYL_PARAM_DECIMAL,  /* s, len: exact decimal text (NEWDECIMAL) */
    MYL_PARAM_DATE,     /* t (DATE) */
    MYL_PARAM_DATETIME, /* t (DATETIME) */
    MYL_PARAM_TIME,     /* t (TIME) */
} myl_param_kind;

typedef struct myl_param {
    myl_param_kind kind;
    int64_t i;
    double d;
    const char *s;
    size_t len;
    myl_datetime t;
} myl_param;

/* String and blob values at least this long go ahead of the execute with
 * COM_STMT_SEND_LONG_DATA, in chunks, instead of inside it. */
#define MYL_LONG_DATA_THRESHOLD ((size_t)256 * 1024)

typedef struct myl_stmt myl_stmt;

/* COM_STMT_PREPARE.  Returns the statement, or NULL with the connection's
 * error set (the server's for bad SQL). */
myl_stmt *myl_stmt_prepare(myl_conn *c, const char *sql, size_t len);

/* What the server said at prepare time.  columns is NULL for a statement
 * without a result set (it may still return one: a CALL); both stay valid
 * until the statement is freed. */
size_t myl_stmt_param_count(const myl_stmt *s);
const myl_columns *myl_stmt_params(const myl_stmt *s);
const myl_columns *myl_stmt_columns(const myl_stmt *s);
uint32_t myl_stmt_id(const myl_stmt *s);
/* The connection it belongs to; NULL once that was freed. */
myl_conn *myl_stmt_conn(const myl_stmt *s);

/* 0 when the statement can be used; otherwise -1 with the connection's
 * error set (2056 naming why, 2006 when the connection is gone; with no
 * connection left, nothing can be set and -1 is all). */
int myl_stmt_usable(myl_stmt *s);

/* Executes with `n` values (exactly the parameter count, else 2031 and
 * nothing is sent).  Values of MYL_LONG_DATA_THRESHOLD bytes or more go
 * first as long data.  The response is then read as a query's is, by
 * `owner`: myl_read_head, myl_read_row (binary rows: the columns have
 * `binary` set; walk them with binrow.h), myl_more_results, or
 * myl_store_result.
 *
 * With MYL_EXEC_CURSOR the server may keep the rows in a cursor: the head
 * then comes back as a result set (1) with no rows pending
 * (myl_stmt_cursor_open says so) and the connection READY; read the rows
 * with myl_stmt_fetch.  The server decides: a result it sends at once
 * (one row, EXPLAIN, ...) reads as without the flag. */
#define MYL_EXEC_CURSOR 1u
int myl_stmt_execute(myl_stmt *s, const myl_param *p, size_t n, unsigned flags,
                     const void *owner);

/* Executes and reads every result of the response (as myl_query). */
myl_result *myl_stmt_query(myl_stmt *s, const myl_param *p, size_t n);

/* 1 while a server cursor of the last execute has rows left to fetch. */
int myl_stmt_cursor_open(const myl_stmt *s);

/* COM_STMT_FETCH of up to `rows` rows for `owner`: returns 1 with the rows
 * then read by myl_read_row (0 at the end of the batch), 0 when the cursor
 * has no rows left (nothing sent), -1 on error. */
int myl_stmt_fetch(myl_stmt *s, uint32_t rows, const void *owner);

/* COM_STMT_RESET: forgets long data sent and closes the server cursor. */
int myl_stmt_reset(myl_stmt *s);

/* Many executions of the statement, for execute_many.  `next` fills
 * params[0 .. param count) with the next row's values and returns 1, 0
 * when there are no more rows, or -1 to stop (the caller's error: nothing
 * is set on the connection, and the call returns -1 with *failed_row set
 * to that row).  Values stay valid until the next call of `next`.
 *
 * An INSERT or REPLACE on a server with MariaDB's STMT_BULK_OPERATIONS
 * goes in COM_STMT_BULK_EXECUTE batches of about 1 MiB: the server runs
 * each batch as one statement (a failing batch is undone as a whole on a
 * transactional table) and stops at its first error.  Everything else
 * goes as executes pipelined 64 at a time (one at a time over the
 * compressed protocol): each reply is read, but the executes sent after a
 * failing one in the same window have run.
 *
 * Returns 0 with *affected the sum of affected rows, or -1 with
 * *affected what the executes and batches that succeeded changed, and
 * *failed_row the 0-based index of the failing row; when the server
 * cannot say which row of a bulk batch failed (before MariaDB 10.7), the
 * index of the batch's first row with *batch_rows its size (1 when the
 * index is exact). */
typedef int (*myl_stmt_next_row)(void *ud, myl_param *params, size_t n);
#define MYL_MANY_NO_BULK 1u /* pipelined executes even where bulk is offered */
int myl_stmt_execute_many(myl_stmt *s, myl_stmt_next_row next, void *ud, unsigned flags,
                          uint64_t *affected, uint64_t *failed_row, uint64_t *batch_rows);

/* 1 when the server takes COM_STMT_BULK_EXECUTE. */
int myl_conn_has_bulk(const myl_conn *c);

/* Closes the statement and frees it.  No I/O: COM_STMT_CLOSE is sent before
 * the connection's next command (a statement the server forgot already is
 * simply freed).  A response the statement was reading is abandoned
 * (myl_abandon) first. */
void myl_stmt_free(myl_stmt *s);

#endif
