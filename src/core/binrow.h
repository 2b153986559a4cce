/* The binary protocol's values: the rows prepared statements return, and
 * the temporal values they send.  Pure: no I/O, no state; every length is
 * checked against the payload.
 *
 * A binary row is 0x00, a NULL bitmap of (ncols + 7 + 2) / 8 bytes (bit
 * i + 2 set: column i is NULL), then each non-NULL value in the form its
 * column's type gives it: fixed-width little-endian integers and floats,
 * a length byte then a packed date/time, or a length-encoded string. */
#ifndef MYL_BINROW_H
#define MYL_BINROW_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "row.h" /* MYL_ROW_BAD, MYL_ROW_NULL, MYL_ROW_VALUE */

/* A DATE, DATETIME, TIMESTAMP or TIME.  For TIME, `day` counts whole days
 * (hours = day * 24 + hour) and year/month are 0. */
typedef struct myl_datetime {
    unsigned year, month, day, hour, minute, second;
    uint32_t microsecond; /* 0..999999 */
    int negative;         /* TIME only */
} myl_datetime;

typedef enum {
    MYL_BIN_INT = 1, /* v.i: TINY, SHORT, YEAR, INT24, LONG, LONGLONG (signed) */
    MYL_BIN_UINT,    /* v.u: the same types with the UNSIGNED flag */
    MYL_BIN_FLOAT,   /* v.f: FLOAT */
    MYL_BIN_DOUBLE,  /* v.d: DOUBLE */
    MYL_BIN_DATE,    /* v.t: DATE (and NEWDATE) */
    MYL_BIN_DATETIME,/* v.t: DATETIME, TIMESTAMP */
    MYL_BIN_TIME,    /* v.t: TIME */
    MYL_BIN_BYTES,   /* v.s: every length-encoded type (strings, blobs, DECIMAL,
                        BIT, ENUM, SET, JSON, GEOMETRY, ...) */
} myl_bin_kind;

typedef struct myl_bin_value {
    myl_bin_kind kind;
    union {
        int64_t i;
        uint64_t u;
        float f;
        double d;
        myl_datetime t;
        struct {
            const uint8_t *p;
            size_t len;
        } s;
    } v;
} myl_bin_value;

typedef struct myl_bin_row_iter {
    const uint8_t *p, *end; /* the values not read yet */
    const uint8_t *nulls;   /* the NULL bitmap */
    const myl_columns *cols;
    size_t i;               /* the next column */
} myl_bin_row_iter;

/* Starts a walk over the row (p, n) of a result with columns `cols`:
 * 0, or -1 when the payload cannot be a binary row (no 0x00 header, or
 * shorter than its NULL bitmap). */
int myl_bin_row_begin(myl_bin_row_iter *it, const uint8_t *p, size_t n,
                      const myl_columns *cols);

/* The next column's value: MYL_ROW_VALUE with *v filled, MYL_ROW_NULL, or
 * MYL_ROW_BAD when the value passes the payload's end, a length is
 * impossible for its type (a DATETIME of 5 bytes), or a field is out of
 * range (month 13, minute 60, microsecond 1000000). */
int myl_bin_row_next(myl_bin_row_iter *it, myl_bin_value *v);

/* 1 when the walk consumed the payload exactly. */
static inline int myl_bin_row_done(const myl_bin_row_iter *it) { return it->p == it->end; }

/* 0 when (p, n) is a well-formed binary row for cols, every value checked
 * as myl_bin_row_next does and nothing left over; -1 otherwise. */
int myl_check_bin_row(const uint8_t *p, size_t n, const myl_columns *cols);

/* Formats a temporal value as the text protocol shows a column of `type`
 * with `decimals` fractional digits (0..6; anything larger counts as 0):
 * "2024-01-02", "2024-01-02 03:04:05.120000", "-838:59:59.5", and the
 * zero dates "0000-00-00 00:00:00".  buf holds at least
 * MYL_DATETIME_TEXT_MAX bytes; returns the length (no NUL written past it
 * counts; the text is NUL-terminated). */
#define MYL_DATETIME_TEXT_MAX 40
size_t myl_format_datetime(char *buf, unsigned type, unsigned decimals, const myl_datetime *t);

/* Formats a FLOAT value as the text protocol shows it for a column with
 * `decimals`.  Below 31: that many places ("%.*f", except that digits past
 * the double's own precision are the shortest that read back, then zeros:
 * FLOAT(30,20) 0.1 is "0.10000000149011612000").  From 31 (no fixed
 * scale): at most FLT_DIG = 6 significant digits, rounded half to even,
 * trailing zeros dropped, plain while the decimal point is within 15
 * places of the digits ("3.14", "1.23457", "16777200", "0.000001",
 * "999999000000000"), else "1e20", "1.5e15", "1e-16", "-1.4013e-45".
 * buf holds at least MYL_FLOAT_TEXT_MAX bytes; returns the length. */
#define MYL_FLOAT_TEXT_MAX 80
size_t myl_format_float(char *buf, float f, unsigned decimals);

/* The same for a DOUBLE: below 31 decimals fixed as the FLOAT is; from 31
 * the shortest text that reads back as the same double, in the same
 * layout ("0.30000000000000004", "0.000000000000001", "1e15", "1e-16",
 * "1.2345678901234568e17").  The fixed text of a large double is long:
 * buf holds at least MYL_DOUBLE_TEXT_MAX bytes. */
#define MYL_DOUBLE_TEXT_MAX 360
size_t myl_format_double(char *buf, double d, unsigned decimals);

/* The number that myl_format_float's (is_float: x is the FLOAT's value)
 * or myl_format_double's text of x reads back as (strtod), worked out
 * without making the text where that is quick and certain: 1 with *out
 * set, or 0 when only the text can tell: zero (its sign is in the text),
 * magnitudes of 1e40 and more (long text), no places (integral text),
 * powers of two with places.  The hot path of binary rows. */
int myl_real_value(double x, int is_float, unsigned decimals, double *out);

/* Parses the text of a temporal value for sending as a typed parameter:
 * "YYYY-MM-DD", "YYYY-MM-DD HH:MM:SS[.ffffff]" (also with 'T'), and for
 * TIME "[-][D ]HHH:MM:SS[.ffffff]".  `kind` is MYL_BIN_DATE, _DATETIME or
 * _TIME.  0, or -1 when the text is not such a value (fields out of range,
 * trailing bytes, more than 6 fractional digits).  TIME stops at
 * 838:59:59.999999, as the server's; D is at most 34. */
int myl_parse_datetime(const char *s, size_t n, myl_bin_kind kind, myl_datetime *t);

/* Appends the binary protocol's form of t (a length byte, then 0, 4, 7 or
 * 11 bytes for DATE/DATETIME, 0, 8 or 12 for TIME: the shortest that holds
 * the value) into room the caller reserved: MYL_DATETIME_BIN_MAX bytes. */
#define MYL_DATETIME_BIN_MAX 13
void myl_put_datetime(myl_buf *b, myl_bin_kind kind, const myl_datetime *t);

#endif
