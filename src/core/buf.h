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
/* Little-endian stores at d, spelled out byte by byte: compilers merge the
 * spelled-out stores into one, where a loop over the bytes stays a loop
 * (gcc 12 at -O2). */
static inline void myl_put_le32(uint8_t *d, uint32_t v)
{
    d[0] = (uint8_t)v;
    d[1] = (uint8_t)(v >> 8);
    d[2] = (uint8_t)(v >> 16);
    d[3] = (uint8_t)(v >> 24);
}
static inline void myl_put_le64(uint8_t *d, uint64_t v)
{
    myl_put_le32(d, (uint32_t)v);
    myl_put_le32(d + 4, (uint32_t)(v >> 32));
}
static inline void myl_buf_put_u32(myl_buf *b, uint32_t v)
{
    myl_put_le32(b->data + b->len, v);
    b->len += 4;
}
/* Appends a length-encoded integer (at most 9 bytes). */
void myl_buf_put_lenenc(myl_buf *b, uint64_t v);

#endif
