/* Inside a prepared statement: what stmt.c (one statement's commands) and
 * stmt_many.c (many executions) share.  Not part of the public API. */
#ifndef MYL_STMT_INTERNAL_H
#define MYL_STMT_INTERNAL_H

#include "stmt.h"

struct myl_stmt {
    myl_conn *c; /* NULL once the connection was freed */
    struct myl_stmt *prev, *next; /* the connection's list */
    uint32_t id;
    unsigned session; /* the connection's session it was prepared in */
    size_t nparams;
    myl_columns *params, *cols;
    int cursor_open;
    /* An INSERT or REPLACE: the server runs a bulk batch of it as one
     * statement (undone as a whole on a transactional table, its failing
     * row numbered in the diagnostics area), where other statements run
     * once per row and an error says neither which row nor what the rows
     * before it changed. */
    int bulk_safe;
};

/* A value's wire type, an upper bound of its size, its bytes (room
 * reserved), and whether it goes as long data instead. */
unsigned myl_param_type(const myl_param *p);
size_t myl_param_size(const myl_param *p);
void myl_param_put(myl_buf *b, const myl_param *p);
int myl_param_is_long(const myl_param *p);

/* Sends one execute (its long data first) on a command already begun:
 * nothing is read. */
int myl_stmt_send_execute(myl_stmt *s, const myl_param *p, size_t n, unsigned flags);
/* The connection now waits for that execute's response, read by owner. */
void myl_stmt_expect(myl_stmt *s, unsigned flags, const void *owner);

#endif
