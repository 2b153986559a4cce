/* The binary protocol's row walker, and the text a temporal or FLOAT value
 * has in the text protocol (so that a prepared statement's row reads as the
 * same query's text row would).  See binrow.h for the layout. */
#include "binrow.h"

#include <float.h>
#include <math.h> /* isfinite, a macro */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "rd.h"

/* ------------------------------------------------------------------ */
/* The walk */

int myl_bin_row_begin(myl_bin_row_iter *it, const uint8_t *p, size_t n, const myl_columns *cols)
{
    size_t bitmap = (cols->n + 7 + 2) / 8;
    if (n < 1 + bitmap || p[0] != 0x00) return -1;
    it->nulls = p + 1;
    it->p = p + 1 + bitmap;
    it->end = p + n;
    it->cols = cols;
    it->i = 0;
    return 0;
}

/* The w-byte (1, 2, 4 or 8) little-endian value at p. */
static inline uint64_t le(const uint8_t *p, unsigned w)
{
    switch (w) {
    case 1: return p[0];
    case 2: return (uint64_t)p[0] | ((uint64_t)p[1] << 8);
    case 4: return myl_le32(p);
    default: return myl_le64(p);
    }
}

/* The w-byte two's complement value u as a signed number (no
 * implementation-defined conversions). */
static inline int64_t sign_extend(uint64_t u, unsigned w)
{
    if (w == 8) return u <= (uint64_t)INT64_MAX ? (int64_t)u : -(int64_t)(~u) - 1;
    uint64_t m = (uint64_t)1 << (8 * w - 1);
    return (int64_t)(u ^ m) - (int64_t)m;
}

/* A fixed-width integer of w bytes: signed unless the column says UNSIGNED. */
static int take_int(myl_bin_row_iter *it, myl_bin_value *v, unsigned w, unsigned flags)
{
    if ((size_t)(it->end - it->p) < w) return MYL_ROW_BAD;
    uint64_t u = le(it->p, w);
    it->p += w;
    if (flags & MYL_FLAG_UNSIGNED) {
        v->kind = MYL_BIN_UINT;
        v->v.u = u;
    } else {
        v->kind = MYL_BIN_INT;
        v->v.i = sign_extend(u, w);
    }
    return MYL_ROW_VALUE;
}

/* DATE, DATETIME, TIMESTAMP: a length byte, then nothing (the zero date),
 * y(2) m d, then h m s, then microseconds(4).  Zero months and days are
 * values (the server's zero dates); anything past a calendar's fields is
 * not. */
static int take_date(myl_bin_row_iter *it, myl_bin_value *v, myl_bin_kind kind)
{
    size_t left = (size_t)(it->end - it->p);
    if (left < 1) return MYL_ROW_BAD;
    const uint8_t *q = it->p;
    unsigned len = q[0];
    if (len != 0 && len != 4 && len != 7 && len != 11) return MYL_ROW_BAD;
    if (left - 1 < len) return MYL_ROW_BAD;
    myl_datetime *t = &v->v.t;
    memset(t, 0, sizeof *t);
    if (len >= 4) {
        t->year = (unsigned)le(q + 1, 2);
        t->month = q[3];
        t->day = q[4];
    }
    if (len >= 7) {
        t->hour = q[5];
        t->minute = q[6];
        t->second = q[7];
    }
    if (len == 11) t->microsecond = (uint32_t)le(q + 8, 4);
    if (t->year > 9999 || t->month > 12 || t->day > 31 || t->hour > 23 || t->minute > 59 ||
        t->second > 59 || t->microsecond > 999999)
        return MYL_ROW_BAD;
    it->p += 1 + len;
    v->kind = kind;
    return MYL_ROW_VALUE;
}

/* TIME: a length byte, then nothing (00:00:00), or negative(1) days(4) h m
 * s, then microseconds(4).  The server's range is +-838:59:59.999999, so
 * days stop at 34. */
static int take_time(myl_bin_row_iter *it, myl_bin_value *v)
{
    size_t left = (size_t)(it->end - it->p);
    if (left < 1) return MYL_ROW_BAD;
    const uint8_t *q = it->p;
    unsigned len = q[0];
    if (len != 0 && len != 8 && len != 12) return MYL_ROW_BAD;
    if (left - 1 < len) return MYL_ROW_BAD;
    myl_datetime *t = &v->v.t;
    memset(t, 0, sizeof *t);
    if (len >= 8) {
        if (q[1] > 1) return MYL_ROW_BAD;
        t->negative = q[1];
        uint32_t days = (uint32_t)le(q + 2, 4);
        if (days > 34) return MYL_ROW_BAD;
        t->day = days;
        t->hour = q[6];
        t->minute = q[7];
        t->second = q[8];
    }
    if (len == 12) t->microsecond = (uint32_t)le(q + 9, 4);
    if (t->hour > 23 || t->minute > 59 || t->second > 59 || t->microsecond > 999999) return MYL_ROW_BAD;
    it->p += 1 + len;
    v->kind = MYL_BIN_TIME;
    return MYL_ROW_VALUE;
}

/* A length-encoded string; 0xFB (the text protocol's NULL) is no length
 * here: NULL lives in the bitmap. */
static int take_bytes(myl_bin_row_iter *it, myl_bin_value *v)
{
    myl_row_iter r = {it->p, it->end};
    const uint8_t *s;
    size_t len;
    if (myl_row_next(&r, &s, &len) != MYL_ROW_VALUE) return MYL_ROW_BAD;
    it->p = r.p;
    v->kind = MYL_BIN_BYTES;
    v->v.s.p = s;
    v->v.s.len = len;
    return MYL_ROW_VALUE;
}

int myl_bin_row_next(myl_bin_row_iter *it, myl_bin_value *v)
{
    if (it->i >= it->cols->n) return MYL_ROW_BAD;
    size_t bit = it->i + 2;
    const myl_column *c = &it->cols->col[it->i++];
    if (it->nulls[bit >> 3] & (1u << (bit & 7))) return MYL_ROW_NULL;
    switch (c->type) {
    case MYL_TYPE_TINY: return take_int(it, v, 1, c->flags);
    case MYL_TYPE_SHORT:
    case MYL_TYPE_YEAR: return take_int(it, v, 2, c->flags);
    case MYL_TYPE_INT24: /* sent in 4 bytes, sign-extended */
    case MYL_TYPE_LONG: return take_int(it, v, 4, c->flags);
    case MYL_TYPE_LONGLONG: return take_int(it, v, 8, c->flags);
    case MYL_TYPE_FLOAT: {
        if (it->end - it->p < 4) return MYL_ROW_BAD;
        uint32_t u = (uint32_t)le(it->p, 4);
        it->p += 4;
        v->kind = MYL_BIN_FLOAT;
        memcpy(&v->v.f, &u, 4);
        return MYL_ROW_VALUE;
    }
    case MYL_TYPE_DOUBLE: {
        if (it->end - it->p < 8) return MYL_ROW_BAD;
        uint64_t u = le(it->p, 8);
        it->p += 8;
        v->kind = MYL_BIN_DOUBLE;
        memcpy(&v->v.d, &u, 8);
        return MYL_ROW_VALUE;
    }
    case MYL_TYPE_DATE:
    case MYL_TYPE_NEWDATE: return take_date(it, v, MYL_BIN_DATE);
    case MYL_TYPE_DATETIME:
    case MYL_TYPE_TIMESTAMP:
    case MYL_TYPE_DATETIME2:
    case MYL_TYPE_TIMESTAMP2: return take_date(it, v, MYL_BIN_DATETIME);
    case MYL_TYPE_TIME:
    case MYL_TYPE_TIME2: return take_time(it, v);
    case MYL_TYPE_NULL: return MYL_ROW_BAD; /* its values are NULL, in the bitmap */
    default: return take_bytes(it, v);
    }
}

int myl_check_bin_row(const uint8_t *p, size_t n, const myl_columns *cols)
{
    myl_bin_row_iter it;
    if (myl_bin_row_begin(&it, p, n, cols) != 0) return -1;
    myl_bin_value v;
    for (size_t i = 0; i < cols->n; i++)
        if (myl_bin_row_next(&it, &v) == MYL_ROW_BAD) return -1;
    return myl_bin_row_done(&it) ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Temporal text */

/* v in exactly `width` digits (the caller knows it fits). */
static char *put_digits(char *o, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

/* v in at least `min` digits. */
static char *put_uint(char *o, unsigned long v, int min)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < min) tmp[n++] = '0';
    while (n) *o++ = tmp[--n];
    return o;
}

size_t myl_format_datetime(char *buf, unsigned type, unsigned decimals, const myl_datetime *t)
{
    char *o = buf;
    int is_time = type == MYL_TYPE_TIME || type == MYL_TYPE_TIME2;
    int is_date = type == MYL_TYPE_DATE || type == MYL_TYPE_NEWDATE;
    if (is_time) {
        if (t->negative) *o++ = '-';
        o = put_uint(o, (unsigned long)t->day * 24 + t->hour % 100, 2);
    } else {
        o = put_uint(o, t->year % 100000, 4);
        *o++ = '-';
        o = put_digits(o, t->month % 100, 2);
        *o++ = '-';
        o = put_digits(o, t->day % 100, 2);
        if (is_date) goto done;
        *o++ = ' ';
        o = put_digits(o, t->hour % 100, 2);
    }
    *o++ = ':';
    o = put_digits(o, t->minute % 100, 2);
    *o++ = ':';
    o = put_digits(o, t->second % 100, 2);
    if (decimals >= 1 && decimals <= 6) {
        /* The server has already rounded the value to its scale. */
        char frac[6];
        put_digits(frac, t->microsecond % 1000000, 6);
        *o++ = '.';
        memcpy(o, frac, decimals);
        o += decimals;
    }
done:
    *o = '\0';
    return (size_t)(o - buf);
}

/* ------------------------------------------------------------------ */
/* Floating-point text as the server's dtoa prints it */

/* The server (strings/dtoa.c) prints through David Gay's dtoa: my_fcvt is
 * dtoa mode 5 (digits up to `decimals` places, or fewer when a shorter
 * string reads back as the same double) and my_gcvt is mode 4 (up to
 * FLT_DIG = 6 significant digits for a FLOAT, the shortest round trip for
 * a DOUBLE).  The C library's correctly rounded %e/%f give the same digits
 * except where mode 4/5 stop early, which is handled below.  Digits come
 * as a string without leading or trailing zeros and the position of the
 * decimal point (x = 0.DIGITS * 10^decpt); zero is "0" with decpt 1. */
typedef struct {
    char d[400];
    int len, decpt, neg;
} digits;

/* The digits of a C library conversion in buf: every digit before the
 * exponent, whatever the locale's radix character is. */
static void collect(digits *g, const char *buf, const char **exp)
{
    g->len = 0;
    g->neg = buf[0] == '-';
    const char *s = buf + g->neg;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && g->len < (int)sizeof g->d) g->d[g->len++] = *s;
    if (exp) *exp = *s == 'e' ? s + 1 : NULL;
}

static void strip_trailing_zeros(digits *g)
{
    while (g->len > 0 && g->d[g->len - 1] == '0') g->len--;
}

/* The first `n` significant digits of x, correctly rounded (dtoa mode 2);
 * `buf` keeps the %e text. */
static void sig_digits(digits *g, double x, int n, char *buf, size_t cap)
{
    snprintf(buf, cap, "%.*e", n - 1, x);
    const char *e;
    collect(g, buf, &e);
    g->decpt = (e ? atoi(e) : 0) + 1;
    strip_trailing_zeros(g);
    if (g->len == 0) { /* zero */
        g->d[0] = '0';
        g->len = 1;
        g->decpt = 1;
    }
}

/* g's digits one unit up in the last place (999 -> 1000), trailing zeros
 * then dropped. */
static void bump_last_digit(digits *g)
{
    int i = g->len - 1;
    while (i >= 0 && g->d[i] == '9') g->d[i--] = '0';
    if (i >= 0) {
        g->d[i]++;
    } else {
        memmove(g->d + 1, g->d, (size_t)g->len);
        g->d[0] = '1';
        g->len++;
        g->decpt++;
    }
    strip_trailing_zeros(g);
}

/* No fraction bits and a normal exponent: the gap above x is twice the gap
 * below (subnormals have even gaps). */
static int is_power_of_two(double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return (bits & 0xFFFFFFFFFFFFFu) == 0 && ((bits >> 52) & 0x7FF) > 1;
}

/* The shortest digits that read back as x (dtoa mode 0): the first length
 * whose correctly rounded digits do.  A power of two has a gap twice as
 * wide above it as below, so there the digits one unit up may read back
 * when the nearest ones, below it, do not: dtoa takes those
 * (POW(2, 89) prints as 6.189700196426902e26, not ...901). */
static void shortest_digits(digits *g, double x)
{
    char buf[64];
    int power_of_two = is_power_of_two(x);
    for (int n = 1; n < 17; n++) {
        sig_digits(g, x, n, buf, sizeof buf);
        if (strtod(buf, NULL) == x) return;
        if (power_of_two) {
            digits up = *g;
            while (up.len < n) up.d[up.len++] = '0'; /* the n-th digit is the one to bump */
            bump_last_digit(&up);
            /* DIGITSeN needs no radix character, whatever the locale */
            snprintf(buf, sizeof buf, "%s%.*se%d", up.neg ? "-" : "", up.len, up.d, up.decpt - up.len);
            if (strtod(buf, NULL) == x) {
                *g = up;
                return;
            }
        }
    }
    sig_digits(g, x, 17, buf, sizeof buf);
}

/* my_fcvt's digits: x to `decimals` places (dtoa mode 5). */
static void fixed_digits(digits *g, double x, int decimals)
{
    char buf[400];
    snprintf(buf, sizeof buf, "%.*f", decimals, x);
    collect(g, buf, NULL);
    int lead = 0;
    while (lead < g->len && g->d[lead] == '0') lead++;
    g->decpt = g->len - decimals - lead;
    memmove(g->d, g->d + lead, (size_t)(g->len - lead));
    g->len -= lead;
    strip_trailing_zeros(g);
    if (x == 0) {
        g->d[0] = '0';
        g->len = 1;
        g->decpt = 1;
    } else if (g->len == 0) {
        g->decpt = -decimals; /* rounds to nothing: dtoa's "no digits" */
    } else if (g->len >= 15) {
        /* Mode 5 stops as soon as the digits read back as x: with this many
         * digits a shorter string within the places may exist. */
        digits s;
        shortest_digits(&s, x);
        if (s.len - s.decpt <= decimals) {
            memcpy(g->d, s.d, (size_t)s.len);
            g->len = s.len;
            g->decpt = s.decpt;
        }
    }
}

/* my_fcvt's layout of g with `decimals` places. */
static size_t layout_fixed(char *buf, const digits *g, int decimals)
{
    char *o = buf;
    int i;
    if (g->neg) *o++ = '-';
    if (g->decpt <= 0) {
        *o++ = '0';
        *o++ = '.'; /* even with no places: the server prints "0." then */
        for (i = g->decpt; i < 0; i++) *o++ = '0';
    }
    for (i = 1; i <= g->len; i++) {
        *o++ = g->d[i - 1];
        if (i == g->decpt && i < g->len) *o++ = '.';
    }
    while (i++ <= g->decpt) *o++ = '0';
    if (decimals > 0) {
        if (g->len <= g->decpt) *o++ = '.';
        int tail = g->len - g->decpt > 0 ? g->len - g->decpt : 0;
        for (i = decimals - tail; i > 0; i--) *o++ = '0';
    }
    *o = '\0';
    return (size_t)(o - buf);
}

/* my_gcvt's layout of g with room to spare (the server gives it 69 or
 * more characters, always enough for every digit): plain digits while the
 * point stays within DBL_DIG places of them, else "d.ddde[-]x". */
static size_t layout_general(char *buf, const digits *g)
{
    char *o = buf;
    int i;
    if (g->neg) *o++ = '-';
    if (g->decpt >= -DBL_DIG + 1 && (g->decpt <= DBL_DIG || g->len > g->decpt)) {
        if (g->decpt <= 0) {
            *o++ = '0';
            *o++ = '.';
            for (i = g->decpt; i < 0; i++) *o++ = '0';
        }
        for (i = 1; i <= g->len; i++) {
            *o++ = g->d[i - 1];
            if (i == g->decpt && i < g->len) *o++ = '.';
        }
        while (i++ <= g->decpt) *o++ = '0';
    } else {
        *o++ = g->d[0];
        if (g->len > 1) {
            *o++ = '.';
            memcpy(o, g->d + 1, (size_t)(g->len - 1));
            o += g->len - 1;
        }
        *o++ = 'e';
        int e = g->decpt - 1;
        if (e < 0) {
            *o++ = '-';
            e = -e;
        }
        o = put_uint(o, (unsigned long)e, 1);
    }
    *o = '\0';
    return (size_t)(o - buf);
}

size_t myl_format_float(char *buf, float f, unsigned decimals)
{
    digits g;
    if (decimals < 31) {
        fixed_digits(&g, (double)f, (int)decimals);
        return layout_fixed(buf, &g, (int)decimals);
    }
    char tmp[64];
    sig_digits(&g, (double)f, FLT_DIG, tmp, sizeof tmp);
    return layout_general(buf, &g);
}

size_t myl_format_double(char *buf, double d, unsigned decimals)
{
    digits g;
    if (decimals < 31) {
        fixed_digits(&g, d, (int)decimals);
        return layout_fixed(buf, &g, (int)decimals);
    }
    shortest_digits(&g, d);
    return layout_general(buf, &g);
}

/* The number of the text without the text.  With a scale the server's
 * text is either the shortest digits of x (when they fit the places: it
 * reads back as x) or x rounded to the places, R.  If R reads back as x,
 * both read as x; if not, no shorter digits within the places read back
 * as x either (they would be farther from x than R, and x's rounding
 * interval is symmetric), so the text is R: except at a power of two,
 * whose interval is not.  Without a scale a FLOAT's text is its 6 digits,
 * read back as they are, whatever the layout. */
int myl_real_value(double x, int is_float, unsigned decimals, double *out)
{
    if (x == 0 || !isfinite(x)) return 0;
    if (decimals >= 31 && !is_float) {
        *out = x; /* the shortest digits that read back as x */
        return 1;
    }
    if (!(x < 1e40 && x > -1e40)) return 0; /* long text */
    char buf[96];
    if (decimals >= 31) {
        snprintf(buf, sizeof buf, "%.*e", FLT_DIG - 1, x);
        *out = strtod(buf, NULL);
        return 1;
    }
    if (decimals == 0) return 0; /* integer text, and dtoa's "0." */
    snprintf(buf, sizeof buf, "%.*f", (int)decimals, x);
    double r = strtod(buf, NULL);
    if (r == x) {
        *out = x;
        return 1;
    }
    if (is_power_of_two(x)) return 0;
    *out = r;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Temporal values sent as parameters */

/* Exactly `n` digits at s[*i]: their value, or -1. */
static long fixed_field(const char *s, size_t len, size_t *i, int n)
{
    long v = 0;
    for (int k = 0; k < n; k++, (*i)++) {
        if (*i >= len || s[*i] < '0' || s[*i] > '9') return -1;
        v = v * 10 + (s[*i] - '0');
    }
    return v;
}

/* 1 to `max` digits at s[*i]: their value, or -1. */
static long var_field(const char *s, size_t len, size_t *i, int max)
{
    long v = 0;
    int k = 0;
    for (; k < max && *i < len && s[*i] >= '0' && s[*i] <= '9'; k++, (*i)++) v = v * 10 + (s[*i] - '0');
    return k ? v : -1;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c) return 0;
    (*i)++;
    return 1;
}

/* HH:MM:SS[.ffffff] (hours from the caller) with minutes and seconds in
 * range; the fraction is scaled to microseconds. */
static int parse_clock(const char *s, size_t n, size_t *i, myl_datetime *t)
{
    if (!expect(s, n, i, ':')) return -1;
    long mi = fixed_field(s, n, i, 2);
    if (!expect(s, n, i, ':')) return -1;
    long se = fixed_field(s, n, i, 2);
    if (mi < 0 || mi > 59 || se < 0 || se > 59) return -1;
    t->minute = (unsigned)mi;
    t->second = (unsigned)se;
    if (*i < n && s[*i] == '.') {
        (*i)++;
        size_t start = *i;
        long us = var_field(s, n, i, 6);
        if (us < 0) return -1;
        for (size_t k = *i - start; k < 6; k++) us *= 10;
        t->microsecond = (uint32_t)us;
    }
    return 0;
}

/* The last day of the month; 31 for month 0 (a zero date's parts may be
 * zero, as the server's zero-date modes allow). */
static long days_in_month(long y, long mo)
{
    static const long days[] = {31, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return days[mo];
}

int myl_parse_datetime(const char *s, size_t n, myl_bin_kind kind, myl_datetime *t)
{
    size_t i = 0;
    memset(t, 0, sizeof *t);
    if (kind == MYL_BIN_TIME) {
        if (expect(s, n, &i, '-')) t->negative = 1;
        /* "D HH:MM:SS" or "HHH:MM:SS" */
        long first = var_field(s, n, &i, 3);
        if (first < 0) return -1;
        long hours = first;
        if (i < n && s[i] == ' ') {
            i++;
            long h = var_field(s, n, &i, 2);
            if (first > 34 || h < 0 || h > 23) return -1;
            hours = first * 24 + h;
        }
        if (parse_clock(s, n, &i, t) != 0 || i != n) return -1;
        if (hours > 838) return -1;
        t->day = (unsigned)(hours / 24);
        t->hour = (unsigned)(hours % 24);
        return 0;
    }
    if (kind != MYL_BIN_DATE && kind != MYL_BIN_DATETIME) return -1;
    long y = fixed_field(s, n, &i, 4);
    if (!expect(s, n, &i, '-')) return -1;
    long mo = fixed_field(s, n, &i, 2);
    if (!expect(s, n, &i, '-')) return -1;
    long d = fixed_field(s, n, &i, 2);
    if (y < 0 || mo < 0 || mo > 12 || d < 0 || d > days_in_month(y, mo)) return -1;
    t->year = (unsigned)y;
    t->month = (unsigned)mo;
    t->day = (unsigned)d;
    if (i == n) return 0; /* a DATETIME at midnight may leave the time out */
    if (kind == MYL_BIN_DATE || (s[i] != ' ' && s[i] != 'T')) return -1;
    i++;
    long h = fixed_field(s, n, &i, 2);
    if (h < 0 || h > 23) return -1;
    t->hour = (unsigned)h;
    if (parse_clock(s, n, &i, t) != 0 || i != n) return -1;
    return 0;
}

void myl_put_datetime(myl_buf *b, myl_bin_kind kind, const myl_datetime *t)
{
    if (kind == MYL_BIN_TIME) {
        int has_clock = t->day || t->hour || t->minute || t->second || t->microsecond;
        if (!has_clock) {
            myl_buf_put_u8(b, 0);
            return;
        }
        myl_buf_put_u8(b, t->microsecond ? 12 : 8);
        myl_buf_put_u8(b, t->negative ? 1 : 0);
        myl_buf_put_u32(b, t->day);
        myl_buf_put_u8(b, (uint8_t)t->hour);
        myl_buf_put_u8(b, (uint8_t)t->minute);
        myl_buf_put_u8(b, (uint8_t)t->second);
        if (t->microsecond) myl_buf_put_u32(b, t->microsecond);
        return;
    }
    int has_date = t->year || t->month || t->day;
    int has_clock = kind != MYL_BIN_DATE && (t->hour || t->minute || t->second || t->microsecond);
    uint8_t len = has_clock ? (t->microsecond ? 11 : 7) : has_date ? 4 : 0;
    myl_buf_put_u8(b, len);
    if (len == 0) return;
    myl_buf_put_u16(b, (uint16_t)t->year);
    myl_buf_put_u8(b, (uint8_t)t->month);
    myl_buf_put_u8(b, (uint8_t)t->day);
    if (len == 4) return;
    myl_buf_put_u8(b, (uint8_t)t->hour);
    myl_buf_put_u8(b, (uint8_t)t->minute);
    myl_buf_put_u8(b, (uint8_t)t->second);
    if (len == 11) myl_buf_put_u32(b, t->microsecond);
}
