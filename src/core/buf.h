/* A growable byte buffer, reused across calls: ensure room once, then append
 * without checks in hot loops. */
#ifndef MYL_BUF_H
#define MYL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct myl_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} myl_buf;

void myl_buf_free(myl_buf *b);
/* Make room for `extra` more bytes; returns 0, or -1 when out of memory
 * (the buffer is left as it was). */
int myl_buf_reserve(myl_buf *b, size_t extra);
int myl_buf_append(myl_buf *b, const void *p, size_t n);

static inline void myl_buf_put(myl_buf *b, const void *p, size_t n)
{
    memcpy(b->data + b->len, p, n);
    b->len += n;
}
static inline void myl_buf_put_u8(myl_buf *b, uint8_t v) { b->data[b->len++] = v; }
static inline void myl_buf_put_u16(myl_buf *b, uint16_t v)
{
    b->data[b->len++] = (uint8_t)v;
    b->data[b->len++] = (uint8_t)(v >> 8);
}
static inline void myl_buf_put_u32(myl_buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) b->data[b->len++] = (uint8_t)(v >> (8 * i));
}
/* Appends a length-encoded integer (at most 9 bytes). */
void myl_buf_put_lenenc(myl_buf *b, uint64_t v);

#endif
