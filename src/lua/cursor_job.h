/* The network part of a cursor's calls, as one job (worker.h): under
 * mylua.parallel it runs on the task's worker thread while the coroutine
 * yields; the cursor (cursor.c) does the Lua part around it.
 *
 * A job is a short program of steps, each taken when asked, in this
 * order, stopping at the first failure: discard the owner's unfinished
 * response, send a query or execute a statement, read away the rest of
 * the current result set, read the head of the next result, fetch a
 * server cursor's next batch, read a batch of rows.
 *
 * Rows are read into C memory (the batch), since a row read off the
 * connection lives only until its next read: at least one row, then
 * only those that have already arrived (myl_conn_packet_buffered), up to
 * a budget, so one hand-off takes what the socket has and a server that
 * sends rows slowly is not waited for beyond the first.  The Lua side
 * then decodes them one at a time, as it does rows off the wire. */
#ifndef MYL_LUA_CURSOR_JOB_H
#define MYL_LUA_CURSOR_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "../core/conn.h"
#include "../core/stmt.h"

/* Rows a batch holds, each one's length then its payload. */
typedef struct myl_row_batch {
    uint8_t *data;
    size_t len, cap;
    size_t pos;   /* the next row to hand out */
    size_t rows;  /* rows read into it */
    /* What came after the rows: 0 nothing yet (more may follow on the
     * connection), 1 the end of the result set's rows (status below),
     * -1 an error (err). */
    int end;
    myl_status status;
    char info[256]; /* status.info points here */
    myl_error err;
} myl_row_batch;

typedef struct myl_cursor_job {
    myl_conn *c;
    const void *owner;
    /* the steps */
    int discard;              /* the owner's unfinished response first */
    const char *sql;          /* COM_QUERY of sql (its text on the caller's stack) */
    size_t sql_len;
    int execute;              /* or the execute of stmt, with: */
    myl_stmt *stmt;           /* (also the statement a fetch reads from) */
    const myl_param *params;  /* (in `param_store` or on the caller's stack) */
    size_t nparams;
    unsigned exec_flags;
    int skip_rest;            /* read away the current result set's rows */
    int head;                 /* read the head of the next result */
    int fetch;                /* COM_STMT_FETCH of fetch_size rows from stmt */
    uint32_t fetch_size;
    int rows;                 /* read a batch of rows into `batch` */
    /* out */
    int rc;                   /* -1: a step failed (err) */
    int head_rc;              /* myl_read_head's: 1 a result set, 0 an OK */
    myl_columns *cols;        /* the head's columns, the caller's to take */
    int fetched;              /* the fetch had rows (0: the server cursor is done) */
    int skipped_end;          /* skip_rest reached the end of the rows (status below) */
    myl_status skipped_status;
    char skipped_info[256];
    myl_error err;
    myl_row_batch batch;
    /* the params of an execute, copied off the C stack of the binding */
    myl_param *param_store;
    size_t param_cap;
} myl_cursor_job;

/* Runs the steps asked (arg: a myl_cursor_job).  Pure C. */
void myl_cursor_job_run(void *arg);

/* Clears the steps and results for the next call (keeps the memory;
 * frees columns nobody took). */
void myl_cursor_job_reset(myl_cursor_job *j);

/* Copies n params into the job's own memory: 0, or -1 out of memory. */
int myl_cursor_job_keep_params(myl_cursor_job *j, const myl_param *p, size_t n);

/* The next row of the batch: 1 with (*p, *n) (valid until the batch is
 * filled again or freed), 0 when none is left. */
int myl_row_batch_next(myl_row_batch *b, const uint8_t **p, size_t *n);

/* Forgets the rows and what came after them. */
void myl_row_batch_clear(myl_row_batch *b);

/* Frees everything the job holds. */
void myl_cursor_job_free(myl_cursor_job *j);

#endif
