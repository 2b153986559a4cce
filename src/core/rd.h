/* Bounds-checked little-endian reader over a byte buffer.
 *
 * Every protocol decoder reads through an myl_rd: a cursor that never moves
 * past `end`.  A read that would overrun sets `bad` and returns zero values;
 * decoders check `bad` (or the return value) once at the end, which keeps the
 * hot paths free of error plumbing while still rejecting every overrun. */
#ifndef MYL_RD_H
#define MYL_RD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct myl_rd {
    const uint8_t *p;
    const uint8_t *end;
    int bad;
} myl_rd;

static inline myl_rd myl_rd_init(const uint8_t *p, size_t n)
{
    myl_rd r;
    r.p = p;
    r.end = p + n;
    r.bad = 0;
    return r;
}

/* Little-endian loads from p, spelled out byte by byte: compilers turn the
 * spelled-out form into one load, where a loop over the bytes stays a loop
 * (gcc 12 at -O2). */
static inline uint32_t myl_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t myl_le64(const uint8_t *p)
{
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) | ((uint64_t)p[3] << 24) |
           ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) | ((uint64_t)p[6] << 48) |
           ((uint64_t)p[7] << 56);
}

static inline size_t myl_rd_left(const myl_rd *r) { return (size_t)(r->end - r->p); }

static inline int myl_rd_need(myl_rd *r, size_t n)
{
    if (r->bad || myl_rd_left(r) < n) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

static inline uint8_t myl_rd_u8(myl_rd *r)
{
    if (!myl_rd_need(r, 1)) return 0;
    return *r->p++;
}

static inline uint16_t myl_rd_u16(myl_rd *r)
{
    if (!myl_rd_need(r, 2)) return 0;
    uint16_t v = (uint16_t)(r->p[0] | (r->p[1] << 8));
    r->p += 2;
    return v;
}

static inline uint32_t myl_rd_u24(myl_rd *r)
{
    if (!myl_rd_need(r, 3)) return 0;
    uint32_t v = (uint32_t)r->p[0] | ((uint32_t)r->p[1] << 8) | ((uint32_t)r->p[2] << 16);
    r->p += 3;
    return v;
}

static inline uint32_t myl_rd_u32(myl_rd *r)
{
    if (!myl_rd_need(r, 4)) return 0;
    uint32_t v = myl_le32(r->p);
    r->p += 4;
    return v;
}

static inline uint64_t myl_rd_u64(myl_rd *r)
{
    if (!myl_rd_need(r, 8)) return 0;
    uint64_t v = myl_le64(r->p);
    r->p += 8;
    return v;
}

static inline const uint8_t *myl_rd_bytes(myl_rd *r, size_t n)
{
    if (!myl_rd_need(r, n)) return NULL;
    const uint8_t *s = r->p;
    r->p += n;
    return s;
}

static inline void myl_rd_skip(myl_rd *r, size_t n) { (void)myl_rd_bytes(r, n); }

/* Length-encoded integer.  0xFB (NULL marker) and 0xFF (error marker) are not
 * integers: they set `*is_null` (0xFB) or `bad` (0xFF). */
static inline uint64_t myl_rd_lenenc(myl_rd *r, int *is_null)
{
    if (is_null) *is_null = 0;
    uint8_t b = myl_rd_u8(r);
    if (b < 0xFB) return b;
    switch (b) {
    case 0xFB:
        if (is_null) *is_null = 1;
        else r->bad = 1;
        return 0;
    case 0xFC: return myl_rd_u16(r);
    case 0xFD: return myl_rd_u24(r);
    case 0xFE: return myl_rd_u64(r);
    default: r->bad = 1; return 0;
    }
}

/* Length-encoded string: returns a pointer into the buffer and its length,
 * or NULL with bad set when the declared length passes the end. */
static inline const uint8_t *myl_rd_lenenc_str(myl_rd *r, size_t *len)
{
    uint64_t n = myl_rd_lenenc(r, NULL);
    if (r->bad || n > myl_rd_left(r)) {
        r->bad = 1;
        *len = 0;
        return NULL;
    }
    *len = (size_t)n;
    return myl_rd_bytes(r, (size_t)n);
}

/* NUL-terminated string; fails when no NUL is found before the end. */
static inline const char *myl_rd_nulstr(myl_rd *r, size_t *len)
{
    if (r->bad) return NULL;
    const uint8_t *z = memchr(r->p, 0, myl_rd_left(r));
    if (!z) {
        r->bad = 1;
        return NULL;
    }
    const char *s = (const char *)r->p;
    if (len) *len = (size_t)(z - r->p);
    r->p = z + 1;
    return s;
}

#endif
