#include "buf.h"

#include <stdlib.h>

void myl_buf_free(myl_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int myl_buf_reserve(myl_buf *b, size_t extra)
{
    if (extra <= b->cap - b->len) return 0;
    if (extra > SIZE_MAX / 2 - b->len) return -1;
    size_t need = b->len + extra;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int myl_buf_append(myl_buf *b, const void *p, size_t n)
{
    if (myl_buf_reserve(b, n)) return -1;
    if (n) myl_buf_put(b, p, n);
    return 0;
}

void myl_buf_put_lenenc(myl_buf *b, uint64_t v)
{
    if (v < 0xFB) {
        myl_buf_put_u8(b, (uint8_t)v);
    } else if (v <= 0xFFFF) {
        myl_buf_put_u8(b, 0xFC);
        myl_buf_put_u16(b, (uint16_t)v);
    } else if (v <= 0xFFFFFF) {
        myl_buf_put_u8(b, 0xFD);
        for (int i = 0; i < 3; i++) myl_buf_put_u8(b, (uint8_t)(v >> (8 * i)));
    } else {
        myl_buf_put_u8(b, 0xFE);
        myl_put_le64(b->data + b->len, v);
        b->len += 8;
    }
}
