#include "result.h"

#include <stdlib.h>
#include <string.h>

void myl_result_free(myl_result *r)
{
    while (r) {
        myl_result *next = r->next;
        myl_columns_free(r->cols);
        free(r->data);
        free(r->offs);
        free(r);
        r = next;
    }
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : 64;
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

myl_result *myl_store_result(myl_conn *c)
{
    myl_result *r = calloc(1, sizeof *r);
    if (!r) {
        myl_conn_fail(c, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return NULL;
    }
    int head = myl_read_head(c, &r->cols);
    if (head < 0) goto fail;
    if (grow((void **)&r->offs, &r->offs_cap, 1, sizeof *r->offs)) goto oom;
    r->offs[0] = 0;
    if (head == 1) {
        const uint8_t *p;
        size_t n;
        int rc;
        while ((rc = myl_read_row(c, &p, &n)) == 1) {
            if (myl_check_text_row(p, n, r->cols->n)) {
                myl_conn_fail(c, MYL_CR_MALFORMED_PACKET, "Malformed packet (text row)");
                goto fail;
            }
            if (grow((void **)&r->data, &r->data_cap, r->data_len + n, 1) ||
                grow((void **)&r->offs, &r->offs_cap, r->nrows + 2, sizeof *r->offs))
                goto oom;
            memcpy(r->data + r->data_len, p, n);
            r->data_len += n;
            r->offs[++r->nrows] = r->data_len;
        }
        if (rc < 0) goto fail;
    }
    r->status = *myl_last_status(c);
    if (head == 1) r->status.affected_rows = r->nrows; /* as mysql_affected_rows() after a SELECT */
    return r;
oom:
    myl_conn_fail(c, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
fail:
    myl_result_free(r);
    return NULL;
}

myl_result *myl_query(myl_conn *c, const char *sql, size_t len)
{
    if (myl_send_query(c, sql, len)) return NULL;
    /* The read timeout bounds the whole response, so a server that drips
     * bytes cannot hold the call past it. */
    myl_bound_response(c, 1);
    myl_result *first = NULL, **tail = &first;
    do {
        myl_result *r = myl_store_result(c);
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
