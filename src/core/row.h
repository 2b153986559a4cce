/* Walking a text-protocol row value by value.  Each value is NULL (0xFB) or
 * a length-encoded string.  The checked walk never reads past the payload;
 * the trusted walk is for rows a checked walk (myl_check_text_row) already
 * accepted, such as the rows of a buffered result. */
#ifndef MYL_ROW_H
#define MYL_ROW_H

#include <stddef.h>
#include <stdint.h>

typedef struct myl_row_iter {
    const uint8_t *p, *end;
} myl_row_iter;

enum { MYL_ROW_BAD = -1, MYL_ROW_NULL = 0, MYL_ROW_VALUE = 1 };

static inline void myl_row_begin(myl_row_iter *it, const uint8_t *p, size_t n)
{
    it->p = p;
    it->end = p + n;
}

/* The next value: MYL_ROW_VALUE with (*v, *len), MYL_ROW_NULL, or
 * MYL_ROW_BAD when the row ends early or a length passes its end. */
static inline int myl_row_next(myl_row_iter *it, const uint8_t **v, size_t *len)
{
    if (it->p >= it->end) return MYL_ROW_BAD;
    uint8_t b = *it->p++;
    size_t left = (size_t)(it->end - it->p);
    uint64_t n;
    if (b < 0xFB) {
        n = b;
    } else if (b == 0xFB) {
        return MYL_ROW_NULL;
    } else if (b == 0xFC) {
        if (left < 2) return MYL_ROW_BAD;
        n = (uint64_t)it->p[0] | ((uint64_t)it->p[1] << 8);
        it->p += 2;
        left -= 2;
    } else if (b == 0xFD) {
        if (left < 3) return MYL_ROW_BAD;
        n = (uint64_t)it->p[0] | ((uint64_t)it->p[1] << 8) | ((uint64_t)it->p[2] << 16);
        it->p += 3;
        left -= 3;
    } else if (b == 0xFE) {
        if (left < 8) return MYL_ROW_BAD;
        n = 0;
        for (int i = 7; i >= 0; i--) n = (n << 8) | it->p[i];
        it->p += 8;
        left -= 8;
    } else {
        return MYL_ROW_BAD; /* 0xFF is no length */
    }
    if (n > left) return MYL_ROW_BAD;
    *v = it->p;
    *len = (size_t)n;
    it->p += n;
    return MYL_ROW_VALUE;
}

/* 1 when the walk consumed the payload exactly. */
static inline int myl_row_done(const myl_row_iter *it) { return it->p == it->end; }

/* The same walk without checks, for rows already checked. */
static inline int myl_row_next_trusted(myl_row_iter *it, const uint8_t **v, size_t *len)
{
    uint8_t b = *it->p++;
    size_t n;
    if (b < 0xFB) {
        n = b;
    } else if (b == 0xFB) {
        return MYL_ROW_NULL;
    } else if (b == 0xFC) {
        n = (size_t)it->p[0] | ((size_t)it->p[1] << 8);
        it->p += 2;
    } else if (b == 0xFD) {
        n = (size_t)it->p[0] | ((size_t)it->p[1] << 8) | ((size_t)it->p[2] << 16);
        it->p += 3;
    } else {
        uint64_t w = 0;
        for (int i = 7; i >= 0; i--) w = (w << 8) | it->p[i];
        n = (size_t)w;
        it->p += 8;
    }
    *v = it->p;
    *len = n;
    it->p += n;
    return MYL_ROW_VALUE;
}

#endif
