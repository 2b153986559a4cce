/* Inside a prepared statement: what stmt.c (one statement's commands) and
 * stmt_many.c (many executions) share.  Not part of the public API. */
#ifndef MYL_STMT_INTERNAL_H
#define MYL_STMT_INTERNAL_H

#include <string.h>

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
 * reserved), and whether it goes as long data instead.  Inline: they run
 * for every value of execute_many. */
static inline unsigned myl_param_type(const myl_param *p)
{
    switch (p->kind) {
    case MYL_PARAM_NULL: return MYL_TYPE_NULL;
    case MYL_PARAM_INT:
    case MYL_PARAM_UINT: return MYL_TYPE_LONGLONG;
    case MYL_PARAM_DOUBLE: return MYL_TYPE_DOUBLE;
    case MYL_PARAM_BOOL: return MYL_TYPE_TINY;
    case MYL_PARAM_STRING: return MYL_TYPE_VAR_STRING;
    case MYL_PARAM_BLOB: return MYL_TYPE_BLOB;
    case MYL_PARAM_DECIMAL: return MYL_TYPE_NEWDECIMAL;
    case MYL_PARAM_DATE: return MYL_TYPE_DATE;
    case MYL_PARAM_DATETIME: return MYL_TYPE_DATETIME;
    case MYL_PARAM_TIME: return MYL_TYPE_TIME;
    }
    return MYL_TYPE_NULL;
}

/* Bytes the value takes in a packet (an upper bound). */
static inline size_t myl_param_size(const myl_param *p)
{
    switch (p->kind) {
    case MYL_PARAM_NULL: return 0;
    case MYL_PARAM_BOOL: return 1;
    case MYL_PARAM_INT:
    case MYL_PARAM_UINT:
    case MYL_PARAM_DOUBLE: return 8;
    case MYL_PARAM_DATE:
    case MYL_PARAM_DATETIME:
    case MYL_PARAM_TIME: return 13;
    default: return 9 + p->len;
    }
}

void myl_param_put_rest(myl_buf *b, const myl_param *p);
int myl_param_is_long(const myl_param *p);

/* Appends the value; room was reserved.  Integers, doubles and strings
 * under 251 bytes (a one-byte length) are written here, inline, as they
 * are most values of execute_many; the rest by myl_param_put_rest. */
static inline void myl_param_put(myl_buf *b, const myl_param *p)
{
    uint8_t *d = b->data + b->len; /* a local pointer: stores through it cannot change b->len */
    uint64_t u;
    switch (p->kind) {
    case MYL_PARAM_INT:
    case MYL_PARAM_UINT:
    case MYL_PARAM_DOUBLE:
        if (p->kind == MYL_PARAM_DOUBLE) memcpy(&u, &p->d, 8);
        else u = (uint64_t)p->i;
        myl_put_le64(d, u);
        b->len += 8;
        return;
    case MYL_PARAM_STRING:
    case MYL_PARAM_BLOB:
    case MYL_PARAM_DECIMAL:
        if (p->len < 251) {
            d[0] = (uint8_t)p->len;
            if (p->len) memcpy(d + 1, p->s, p->len);
            b->len += 1 + p->len;
            return;
        }
        break;
    default: break;
    }
    myl_param_put_rest(b, p);
}

/* Sends one execute (its long data first) on a command already begun:
 * nothing is read. */
int myl_stmt_send_execute(myl_stmt *s, const myl_param *p, size_t n, unsigned flags);
/* The connection now waits for that execute's response, read by owner. */
void myl_stmt_expect(myl_stmt *s, unsigned flags, const void *owner);

#endif
