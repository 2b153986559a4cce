/* The binary protocol's rows without a server: the walker over byte
 * literals (every type, signed and unsigned edges, NULL bitmaps, every
 * kind of damage), the text of temporal, FLOAT and DOUBLE values as the
 * server prints them, and temporal parameters parsed and packed
 * (spec/03-binrow_spec.lua runs it).
 *
 * Prints one line per case, "ok NAME" or "not ok NAME: what differed", and
 * exits 0 only when every case is ok.
 *
 * `test-binrow --compare` instead reads lines the server printed, tab
 * separated: "f DECIMALS TEXT EXACT" (a FLOAT column's text, and the
 * float's exact value as a DOUBLE's text), "d DECIMALS TEXT EXACT" (the
 * same for DOUBLE), "t TYPE DECIMALS TEXT" (a temporal column's text,
 * parsed and formatted again); prints the first mismatches and a count
 * line "compared N, mismatched M", exiting 0 only when M is 0. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "../../src/core/binrow.h"
#include "../../src/core/proto.h"
#include "../../src/lua/binding.h"
#include "captured_binrows.h"

#include "cases.h"

/* ---- building rows --------------------------------------------------------- */

#define MAXCOLS 70

static myl_column colv[MAXCOLS];
static myl_columns cols;

/* Columns of the given types and flags (a 0 flags list: all 0). */
static void set_cols(size_t n, const unsigned *types, const unsigned *flags)
{
    memset(colv, 0, sizeof colv);
    for (size_t i = 0; i < n; i++) {
        colv[i].type = types[i];
        colv[i].flags = flags ? flags[i] : 0;
        colv[i].name = "c";
        colv[i].name_len = 1;
    }
    cols.n = n;
    cols.col = colv;
    cols.binary = 1;
}

static void set_same_cols(size_t n, unsigned type, unsigned flags)
{
    unsigned t[MAXCOLS], f[MAXCOLS];
    for (size_t i = 0; i < n; i++) {
        t[i] = type;
        f[i] = flags;
    }
    set_cols(n, t, f);
}

/* A row under construction: header, bitmap, values. */
static uint8_t row[4096];
static size_t rowlen;

static void row_begin(void)
{
    size_t bitmap = (cols.n + 9) / 8;
    memset(row, 0, 1 + bitmap);
    rowlen = 1 + bitmap;
}

static void row_null(size_t col)
{
    row[1 + (col + 2) / 8] |= (uint8_t)(1u << ((col + 2) % 8));
}

static void row_bytes(const void *p, size_t n)
{
    memcpy(row + rowlen, p, n);
    rowlen += n;
}

static void row_le(uint64_t v, unsigned w)
{
    for (unsigned i = 0; i < w; i++) row[rowlen++] = (uint8_t)(v >> (8 * i));
}

static void row_lenenc_str(const char *s, size_t n)
{
    if (n < 251) {
        row[rowlen++] = (uint8_t)n;
    } else {
        row[rowlen++] = 0xFC;
        row_le(n, 2);
    }
    row_bytes(s, n);
}

/* The walk over an exact-size heap copy of (p, n), so that under
 * AddressSanitizer a read past the end is a report.  Fills vals/kinds for
 * every column; returns 0 when every value read and the payload
 * was consumed exactly, -1 at the first bad value or leftover bytes (with
 * *at the column), -2 when begin refused. */
static myl_bin_value vals[MAXCOLS];
static int kinds[MAXCOLS];

static uint8_t *copy; /* the walked row, kept for the values pointing into it */

static int walk(const uint8_t *p, size_t n, size_t *at)
{
    free(copy);
    copy = malloc(n ? n : 1);
    if (!copy) exit(2);
    memcpy(copy, p, n);
    myl_bin_row_iter it;
    int rc = 0;
    *at = 0;
    if (myl_bin_row_begin(&it, copy, n, &cols) != 0) {
        rc = -2;
    } else {
        for (size_t i = 0; i < cols.n; i++) {
            kinds[i] = myl_bin_row_next(&it, &vals[i]);
            if (kinds[i] == MYL_ROW_BAD) {
                *at = i;
                rc = -1;
                break;
            }
        }
        if (rc == 0 && !myl_bin_row_done(&it)) {
            *at = cols.n;
            rc = -1;
        }
    }
    int checked = myl_check_bin_row(copy, n, &cols);
    if ((rc == 0) != (checked == 0)) {
        fail("myl_check_bin_row says %d where the walk says %d", checked, rc);
        return -3;
    }
    return rc;
}

static int walk_ok(void)
{
    size_t at;
    int rc = walk(row, rowlen, &at);
    if (rc == -3) return 0;
    if (rc != 0) return fail("well-formed row rejected (%d at column %zu)", rc, at + 1);
    return 1;
}

/* Every proper prefix of the row is rejected, by the walk and the check. */
static int prefixes_rejected(void)
{
    for (size_t n = 0; n < rowlen; n++) {
        size_t at;
        int rc = walk(row, n, &at);
        if (rc == -3) return 0;
        if (rc == 0) return fail("the first %zu of %zu bytes accepted", n, rowlen);
    }
    return 1;
}

static int expect_int(size_t i, int64_t want)
{
    if (kinds[i] != MYL_ROW_VALUE || vals[i].kind != MYL_BIN_INT || vals[i].v.i != want)
        return fail("column %zu: expected signed %lld, got kind %d/%d value %lld", i + 1, (long long)want,
                    kinds[i], vals[i].kind, (long long)vals[i].v.i);
    return 1;
}

static int expect_uint(size_t i, uint64_t want)
{
    if (kinds[i] != MYL_ROW_VALUE || vals[i].kind != MYL_BIN_UINT || vals[i].v.u != want)
        return fail("column %zu: expected unsigned %llu, got kind %d/%d value %llu", i + 1,
                    (unsigned long long)want, kinds[i], vals[i].kind, (unsigned long long)vals[i].v.u);
    return 1;
}

static int expect_bytes(size_t i, const char *want, size_t n)
{
    if (kinds[i] != MYL_ROW_VALUE || vals[i].kind != MYL_BIN_BYTES || vals[i].v.s.len != n ||
        memcmp(vals[i].v.s.p, want, n) != 0)
        return fail("column %zu: expected %zu bytes, got kind %d/%d of %zu", i + 1, n, kinds[i], vals[i].kind,
                    vals[i].v.s.len);
    return 1;
}

/* The value of column i formatted as its column's text. */
static int expect_text(size_t i, myl_bin_kind kind, const char *want)
{
    if (kinds[i] != MYL_ROW_VALUE || vals[i].kind != kind)
        return fail("column %zu: expected kind %d, got %d/%d", i + 1, kind, kinds[i], vals[i].kind);
    char buf[MYL_DOUBLE_TEXT_MAX];
    if (kind == MYL_BIN_FLOAT) myl_format_float(buf, vals[i].v.f, colv[i].decimals);
    else if (kind == MYL_BIN_DOUBLE) myl_format_double(buf, vals[i].v.d, colv[i].decimals);
    else myl_format_datetime(buf, colv[i].type, colv[i].decimals, &vals[i].v.t);
    if (strcmp(buf, want) != 0) return fail("column %zu: expected \"%s\", got \"%s\"", i + 1, want, buf);
    return 1;
}

/* ---- integers ---------------------------------------------------------- */

static int t_signed_edges(void)
{
    static const unsigned types[] = {MYL_TYPE_TINY, MYL_TYPE_TINY, MYL_TYPE_SHORT, MYL_TYPE_SHORT,
                                     MYL_TYPE_INT24, MYL_TYPE_INT24, MYL_TYPE_LONG, MYL_TYPE_LONG,
                                     MYL_TYPE_LONGLONG, MYL_TYPE_LONGLONG, MYL_TYPE_TINY};
    set_cols(11, types, NULL);
    row_begin();
    row_le(0x80, 1);
    row_le(0x7F, 1);
    row_le(0x8000, 2);
    row_le(0x7FFF, 2);
    row_le(0xFF800000u, 4); /* INT24 travels sign-extended in 4 bytes */
    row_le(0x007FFFFFu, 4);
    row_le(0x80000000u, 4);
    row_le(0xFFFFFFFFu, 4);
    row_le(0x8000000000000000u, 8);
    row_le(0x7FFFFFFFFFFFFFFFu, 8);
    row_le(0xFF, 1);
    if (!walk_ok()) return 0;
    return expect_int(0, -128) && expect_int(1, 127) && expect_int(2, -32768) && expect_int(3, 32767) &&
           expect_int(4, -8388608) && expect_int(5, 8388607) && expect_int(6, INT32_MIN) && expect_int(7, -1) &&
           expect_int(8, INT64_MIN) && expect_int(9, INT64_MAX) && expect_int(10, -1) && prefixes_rejected();
}

static int t_unsigned_edges(void)
{
    static const unsigned types[] = {MYL_TYPE_TINY, MYL_TYPE_SHORT, MYL_TYPE_INT24, MYL_TYPE_LONG,
                                     MYL_TYPE_LONGLONG, MYL_TYPE_LONGLONG, MYL_TYPE_YEAR};
    unsigned flags[7];
    for (int i = 0; i < 7; i++) flags[i] = MYL_FLAG_UNSIGNED;
    set_cols(7, types, flags);
    row_begin();
    row_le(0xFF, 1);
    row_le(0xFFFF, 2);
    row_le(0x00FFFFFF, 4);
    row_le(0xFFFFFFFFu, 4);
    row_le(0xFFFFFFFFFFFFFFFFu, 8);
    row_le(0x8000000000000000u, 8);
    row_le(2155, 2);
    if (!walk_ok()) return 0;
    return expect_uint(0, 255) && expect_uint(1, 65535) && expect_uint(2, 16777215) &&
           expect_uint(3, 4294967295u) && expect_uint(4, UINT64_MAX) && expect_uint(5, 0x8000000000000000u) &&
           expect_uint(6, 2155) && prefixes_rejected();
}

static int t_year_signed(void)
{
    static const unsigned types[] = {MYL_TYPE_YEAR, MYL_TYPE_YEAR};
    set_cols(2, types, NULL);
    row_begin();
    row_le(2024, 2);
    row_le(0, 2);
    return walk_ok() && expect_int(0, 2024) && expect_int(1, 0);
}

/* ---- floating point ------------------------------------------------------ */

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static int t_float_double_values(void)
{
    static const unsigned types[] = {MYL_TYPE_FLOAT, MYL_TYPE_FLOAT, MYL_TYPE_DOUBLE, MYL_TYPE_DOUBLE};
    set_cols(4, types, NULL);
    colv[0].decimals = 31;
    colv[1].decimals = 2;
    colv[2].decimals = 31;
    colv[3].decimals = 6;
    row_begin();
    row_le(float_bits(3.14f), 4);
    row_le(float_bits(-1.005f), 4);
    row_le(double_bits(0.1 + 0.2), 8);
    row_le(double_bits(3.14159265358979), 8);
    if (!walk_ok()) return 0;
    if (vals[0].v.f != 3.14f || vals[2].v.d != 0.1 + 0.2) return fail("float or double bits misread");
    return expect_text(0, MYL_BIN_FLOAT, "3.14") && expect_text(1, MYL_BIN_FLOAT, "-1.00") &&
           expect_text(2, MYL_BIN_DOUBLE, "0.30000000000000004") && expect_text(3, MYL_BIN_DOUBLE, "3.141593") &&
           prefixes_rejected();
}

typedef struct {
    float f;
    unsigned decimals;
    const char *text;
} float_case;

/* What MariaDB 10.11 printed for these FLOAT values (CAST(x AS FLOAT) and
 * FLOAT(M,D) columns). */
static const float_case float_cases[] = {
    {3.14f, 31, "3.14"},
    {1.2345678f, 31, "1.23457"},
    {1e20f, 31, "1e20"},
    {0.000001f, 31, "0.000001"},
    {16777217.0f, 31, "16777200"},
    {1e-10f, 31, "0.0000000001"},
    {123456789.0f, 31, "123457000"},
    {0.1f, 31, "0.1"},
    {-1.5e-7f, 31, "-0.00000015"},
    {1e15f, 31, "1e15"},
    {3.4e38f, 31, "3.4e38"},
    {1e-45f, 31, "1.4013e-45"},
    {1e-14f, 31, "0.00000000000001"},
    {1e-15f, 31, "0.000000000000001"},
    {1e-16f, 31, "1e-16"},
    {1.5e15f, 31, "1.5e15"},
    {999999e9f, 31, "999999000000000"},
    {1234565.0f, 31, "1234560"}, /* a tie: half to even */
    {1234575.0f, 31, "1234580"},
    {0.5f, 31, "0.5"},
    {-1e-20f, 31, "-1e-20"},
    {1.17549435e-38f, 31, "1.17549e-38"},
    {0.0f, 31, "0"},
    {-3.0f, 31, "-3"},
    {0.1f, 20, "0.10000000149011612000"},
    {1.0000001f, 20, "1.00000011920928960000"},
    {123456.7f, 20, "123456.70312500000000000000"},
    {1.234f, 3, "1.234"},
    {1.2345f, 3, "1.235"}, /* the float is above the tie */
    {-1.0005f, 3, "-1.000"},
    {12345.6f, 0, "12346"},
    {0.0f, 3, "0.000"},
    {0.0f, 0, "0"},
    {2.5f, 0, "2"},
    {3.5f, 0, "4"},
    {0.0004f, 3, "0.000"},
    {-0.0004f, 3, "-0.000"},
    /* Not seen from a server (its values are rounded to the scale before
     * they are printed), but what its my_fcvt does when no digit is left. */
    {0.3f, 0, "0."},
    {3.4e38f, 30, "339999995214436420000000000000000000000.000000000000000000000000000000"},
};

static int t_float_text(void)
{
    char buf[MYL_FLOAT_TEXT_MAX];
    for (size_t i = 0; i < sizeof float_cases / sizeof float_cases[0]; i++) {
        const float_case *c = &float_cases[i];
        size_t n = myl_format_float(buf, c->f, c->decimals);
        if (n != strlen(buf) || strcmp(buf, c->text) != 0)
            return fail("%.9g with %u decimals: expected \"%s\", got \"%s\"", (double)c->f, c->decimals,
                        c->text, buf);
    }
    return 1;
}

typedef struct {
    double d;
    unsigned decimals;
    const char *text;
} double_case;

/* What MariaDB 10.11 printed for these DOUBLE values. */
static const double_case double_cases[] = {
    {0.1 + 0.2, 31, "0.30000000000000004"},
    {1e15, 31, "1e15"},
    {999e12, 31, "999000000000000"},
    {1.5e300, 31, "1.5e300"},
    {1e-300, 31, "1e-300"},
    {123456789012345678.0, 31, "1.2345678901234568e17"},
    {1e-14, 31, "0.00000000000001"},
    {1e-15, 31, "0.000000000000001"},
    {1.0 / 3, 31, "0.3333333333333333"},
    {1.0 / 7, 31, "0.14285714285714285"},
    {0.0, 31, "0"},
    {1e20, 31, "1e20"},
    {1.7976931348623157e308, 31, "1.7976931348623157e308"},
    {5e-324, 31, "5e-324"},
    {3.141592653589793, 6, "3.141593"},
    {0x1p89, 31, "6.189700196426902e26"}, /* powers of two: the digits above, */
    {0x1p863, 31, "6.150157786156811e259"}, /* whose gap is wider, read back */
    {0x1p-489, 31, "6.256509672447191e-148"},
    {3.1415926535897936, 20, "3.14159265358979360000"}, /* ROUND(PI(), 20) */
    {3.141592653589793, 20, "3.14159265358979300000"},
    {1.0 / 3, 25, "0.3333333333333333000000000"},
    {0.1, 30, "0.100000000000000000000000000000"},
    {1e15 / 7, 30, "142857142857142.840000000000000000000000000000"},
    {-0.00005, 4, "-0.0001"},
    {1.23456, 4, "1.2346"},
    {2.5, 0, "2"},
    {1e22, 2, "10000000000000000000000.00"},
};

static int t_double_text(void)
{
    char buf[MYL_DOUBLE_TEXT_MAX];
    for (size_t i = 0; i < sizeof double_cases / sizeof double_cases[0]; i++) {
        const double_case *c = &double_cases[i];
        size_t n = myl_format_double(buf, c->d, c->decimals);
        if (n != strlen(buf) || strcmp(buf, c->text) != 0)
            return fail("%.17g with %u decimals: expected \"%s\", got \"%s\"", c->d, c->decimals, c->text, buf);
    }
    /* The longest fixed text fits. */
    size_t n = myl_format_double(buf, -1.7976931348623157e308, 30);
    if (n + 1 > MYL_DOUBLE_TEXT_MAX || n != 1 + 309 + 1 + 30) return fail("DBL_MAX fixed text is %zu bytes", n);
    n = myl_format_double(buf, -5e-324, 30);
    if (strcmp(buf, "-0.000000000000000000000000000000") != 0) return fail("tiny negative: \"%s\"", buf);
    return 1;
}

/* A small deterministic generator (xorshift64*), so runs are repeatable. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

/* x in the shapes that matter: any bits, decimal-looking values, values
 * next to them, halves, powers of two and their neighbours. */
static double interesting_double(void)
{
    uint64_t r = rng();
    double x;
    static const double scale[] = {1, 10, 100, 1000, 1e4, 1e5, 1e6, 1e7};
    switch (r % 6) {
    case 0: {
        uint64_t bits = rng();
        memcpy(&x, &bits, sizeof x);
        break;
    }
    case 1: x = (double)(int64_t)(rng() % 2000001 - 1000000) / scale[(r >> 8) % 8]; break;
    case 2: {
        x = (double)(int64_t)(rng() % 20001 - 10000) / scale[(r >> 8) % 8];
        uint64_t bits;
        memcpy(&bits, &x, sizeof bits);
        bits += (r >> 16) % 3 - 1; /* one unit in the last place either way */
        memcpy(&x, &bits, sizeof x);
        break;
    }
    case 3: x = (double)(int64_t)(rng() % 100000) + 0.5; break;
    case 4: {
        uint64_t bits = ((rng() % 2046) + 1) << 52 | (r & ((uint64_t)1 << 63));
        if ((r >> 8) & 1) bits += (r >> 9) & 1 ? 1 : (uint64_t)-1;
        memcpy(&x, &bits, sizeof x);
        break;
    }
    default: x = (double)(float)((double)(rng() % 1000000) * 1e-3); break;
    }
    return x;
}

/* myl_real_value, where it answers, is the number the text reads back as. */
static int t_real_value(void)
{
    char buf[MYL_DOUBLE_TEXT_MAX];
    long answered = 0;
    for (int i = 0; i < 300000; i++) {
        double x = interesting_double();
        unsigned decimals = (unsigned)(rng() % 40);
        int is_float = (int)(rng() & 1);
        if (is_float) {
            if (!(x < 3.4e38 && x > -3.4e38)) continue;
            x = (double)(float)x;
        }
        double v;
        if (!myl_real_value(x, is_float, decimals, &v)) continue;
        answered++;
        if (is_float) myl_format_float(buf, (float)x, decimals);
        else myl_format_double(buf, x, decimals);
        double want = strtod(buf, NULL);
        if (memcmp(&v, &want, sizeof v) != 0)
            return fail("%s %.17g with %u decimals: text \"%s\" reads %.17g, not %.17g", is_float ? "FLOAT" : "DOUBLE",
                        x, decimals, buf, want, v);
    }
    if (answered < 100000) return fail("only %ld values answered without the text", answered);
    return 1;
}

/* ---- temporal values ----------------------------------------------------- */

static int t_datetime_lengths(void)
{
    static const unsigned types[] = {MYL_TYPE_DATETIME, MYL_TYPE_DATETIME, MYL_TYPE_DATETIME,
                                     MYL_TYPE_TIMESTAMP, MYL_TYPE_DATE, MYL_TYPE_DATE, MYL_TYPE_DATETIME};
    set_cols(7, types, NULL);
    colv[2].decimals = 6;
    colv[3].decimals = 3;
    colv[6].decimals = 3;
    row_begin();
    static const uint8_t v[] = {
        4, 0xE8, 0x07, 1, 2,                                 /* 2024-01-02 */
        7, 0xE8, 0x07, 1, 2, 3, 4, 5,                        /* 2024-01-02 03:04:05 */
        11, 0xE8, 0x07, 12, 31, 23, 59, 59, 0x3F, 0x42, 0x0F, 0, /* .999999 */
        11, 0xD0, 0x07, 2, 29, 0, 0, 0, 0x20, 0xA1, 0x07, 0, /* 2000-02-29 .500000 */
        4, 0xE8, 0x07, 2, 29,
        0,                                                   /* the zero date */
        0,
    };
    row_bytes(v, sizeof v);
    if (!walk_ok()) return 0;
    return expect_text(0, MYL_BIN_DATETIME, "2024-01-02 00:00:00") &&
           expect_text(1, MYL_BIN_DATETIME, "2024-01-02 03:04:05") &&
           expect_text(2, MYL_BIN_DATETIME, "2024-12-31 23:59:59.999999") &&
           expect_text(3, MYL_BIN_DATETIME, "2000-02-29 00:00:00.500") &&
           expect_text(4, MYL_BIN_DATE, "2024-02-29") && expect_text(5, MYL_BIN_DATE, "0000-00-00") &&
           expect_text(6, MYL_BIN_DATETIME, "0000-00-00 00:00:00.000") && prefixes_rejected();
}

static int t_time_lengths(void)
{
    set_same_cols(5, MYL_TYPE_TIME, 0);
    colv[1].decimals = 2;
    colv[2].decimals = 6;
    colv[4].decimals = 1;
    row_begin();
    static const uint8_t v[] = {
        8, 1, 34, 0, 0, 0, 22, 59, 59,                         /* -838:59:59 */
        8, 0, 1, 0, 0, 0, 10, 5, 6,                            /* 34:05:06 */
        12, 1, 0, 0, 0, 0, 0, 0, 1, 0x10, 0x27, 0, 0,          /* -00:00:01.010000 */
        0,                                                     /* 00:00:00 */
        0,
    };
    row_bytes(v, sizeof v);
    if (!walk_ok()) return 0;
    return expect_text(0, MYL_BIN_TIME, "-838:59:59") && expect_text(1, MYL_BIN_TIME, "34:05:06.00") &&
           expect_text(2, MYL_BIN_TIME, "-00:00:01.010000") && expect_text(3, MYL_BIN_TIME, "00:00:00") &&
           expect_text(4, MYL_BIN_TIME, "00:00:00.0") && prefixes_rejected();
}

static int t_datetime_decimals(void)
{
    myl_datetime t = {2024, 1, 2, 3, 4, 5, 123456, 0};
    static const char *const want[] = {
        "2024-01-02 03:04:05",        "2024-01-02 03:04:05.1",     "2024-01-02 03:04:05.12",
        "2024-01-02 03:04:05.123",    "2024-01-02 03:04:05.1234",  "2024-01-02 03:04:05.12345",
        "2024-01-02 03:04:05.123456", "2024-01-02 03:04:05",
    };
    char buf[MYL_DATETIME_TEXT_MAX];
    for (unsigned d = 0; d <= 7; d++) {
        unsigned dec = d == 7 ? 39 : d; /* beyond 6: no fraction */
        size_t n = myl_format_datetime(buf, MYL_TYPE_DATETIME, dec, &t);
        if (n != strlen(want[d]) || strcmp(buf, want[d]) != 0)
            return fail("decimals %u: expected \"%s\", got \"%s\"", dec, want[d], buf);
    }
    t.microsecond = 50000;
    myl_format_datetime(buf, MYL_TYPE_TIMESTAMP, 2, &t);
    if (strcmp(buf, "2024-01-02 03:04:05.05") != 0) return fail("leading zero of the fraction: %s", buf);
    myl_format_datetime(buf, MYL_TYPE_DATE, 6, &t);
    if (strcmp(buf, "2024-01-02") != 0) return fail("DATE shows no time: %s", buf);
    return 1;
}

static int t_time_text(void)
{
    char buf[MYL_DATETIME_TEXT_MAX];
    static const struct {
        myl_datetime t;
        unsigned decimals;
        const char *text;
    } cases[] = {
        {{0, 0, 0, 0, 0, 0, 0, 0}, 0, "00:00:00"},
        {{0, 0, 0, 0, 0, 1, 0, 1}, 0, "-00:00:01"},
        {{0, 0, 1, 0, 0, 0, 0, 0}, 0, "24:00:00"},
        {{0, 0, 4, 4, 5, 6, 0, 0}, 0, "100:05:06"},
        {{0, 0, 34, 22, 59, 59, 0, 1}, 0, "-838:59:59"},
        {{0, 0, 34, 22, 59, 59, 999999, 0}, 6, "838:59:59.999999"},
        {{0, 0, 0, 9, 8, 7, 500000, 1}, 1, "-09:08:07.5"},
        {{0, 0, 0, 1, 2, 3, 0, 1}, 0, "-01:02:03"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = myl_format_datetime(buf, MYL_TYPE_TIME, cases[i].decimals, &cases[i].t);
        if (n != strlen(buf) || strcmp(buf, cases[i].text) != 0)
            return fail("expected \"%s\", got \"%s\"", cases[i].text, buf);
    }
    return 1;
}

/* ---- strings and the other length-encoded types ------------------------- */

static int t_lenenc_types(void)
{
    static const unsigned types[] = {MYL_TYPE_VAR_STRING, MYL_TYPE_STRING,  MYL_TYPE_BLOB,
                                     MYL_TYPE_NEWDECIMAL, MYL_TYPE_DECIMAL, MYL_TYPE_BIT,
                                     MYL_TYPE_ENUM,       MYL_TYPE_SET,     MYL_TYPE_JSON,
                                     MYL_TYPE_GEOMETRY,   MYL_TYPE_VARCHAR, MYL_TYPE_LONG_BLOB};
    set_cols(12, types, NULL);
    static char big[300];
    memset(big, 'x', sizeof big);
    big[0] = 0;
    big[299] = (char)0xFB;
    row_begin();
    row_lenenc_str("hello", 5);
    row_lenenc_str("", 0);
    row_lenenc_str(big, sizeof big); /* 0xFC length */
    row_lenenc_str("-12.340", 7);
    row_lenenc_str("0.5", 3);
    row_lenenc_str("\x01\x00", 2);
    row_lenenc_str("b", 1);
    row_lenenc_str("a,b", 3);
    row_lenenc_str("{}", 2);
    row_lenenc_str("\0\0\0\0\x01", 5);
    row_lenenc_str("\xC3\xBC", 2);
    row_le(0xFD, 1); /* 0xFD: a 3-byte length */
    row_le(3, 3);
    row_bytes("abc", 3);
    if (!walk_ok()) return 0;
    return expect_bytes(0, "hello", 5) && expect_bytes(1, "", 0) && expect_bytes(2, big, sizeof big) &&
           expect_bytes(3, "-12.340", 7) && expect_bytes(4, "0.5", 3) && expect_bytes(5, "\x01\x00", 2) &&
           expect_bytes(6, "b", 1) && expect_bytes(7, "a,b", 3) && expect_bytes(8, "{}", 2) &&
           expect_bytes(9, "\0\0\0\0\x01", 5) && expect_bytes(10, "\xC3\xBC", 2) && expect_bytes(11, "abc", 3) &&
           prefixes_rejected();
}

static int t_lenenc_8byte(void)
{
    set_same_cols(1, MYL_TYPE_BLOB, 0);
    row_begin();
    row_le(0xFE, 1);
    row_le(4, 8);
    row_bytes("wxyz", 4);
    if (!walk_ok() || !expect_bytes(0, "wxyz", 4)) return 0;
    /* A length past the payload, with its top bytes set. */
    row_begin();
    row_le(0xFE, 1);
    row_le(0xFFFFFFFFFFFFFFFFu, 8);
    row_bytes("wxyz", 4);
    size_t at;
    if (walk(row, rowlen, &at) != -1) return fail("huge length accepted");
    return 1;
}

static int t_lenenc_no_null_marker(void)
{
    static const uint8_t markers[] = {0xFB, 0xFF};
    set_same_cols(1, MYL_TYPE_VAR_STRING, 0);
    for (size_t k = 0; k < 2; k++) {
        row_begin();
        row_le(markers[k], 1);
        row_bytes("abcdefgh", 8);
        size_t at;
        int rc = walk(row, rowlen, &at);
        if (rc != -1 || at != 0) return fail("length byte 0x%02X accepted (%d)", markers[k], rc);
    }
    return 1;
}

/* ---- NULL bitmaps ----------------------------------------------------- */

/* ncols TINY columns; a column is NULL when pattern(i) says so; the
 * others hold i.  Every NULL and value is where the bitmap says. */
static int bitmap_case(size_t ncols, int (*is_null)(size_t))
{
    set_same_cols(ncols, MYL_TYPE_TINY, MYL_FLAG_UNSIGNED);
    row_begin();
    if (rowlen != 1 + (ncols + 9) / 8) return fail("bitmap of %zu bytes for %zu columns", rowlen - 1, ncols);
    for (size_t i = 0; i < ncols; i++) {
        if (is_null(i)) row_null(i);
        else row_le(i, 1);
    }
    if (!walk_ok()) return 0;
    for (size_t i = 0; i < ncols; i++) {
        if (is_null(i)) {
            if (kinds[i] != MYL_ROW_NULL) return fail("column %zu not NULL", i + 1);
        } else if (!expect_uint(i, i)) {
            return 0;
        }
    }
    return prefixes_rejected();
}

static int every_third(size_t i) { return i % 3 == 1; }
static int last_only_8(size_t i) { return i == 7; }
static int last_only_9(size_t i) { return i == 8; }
static int all_nulls(size_t i) { return (void)i, 1; }
static int none_null(size_t i) { return (void)i, 0; }
static int last_only_64(size_t i) { return i == 63; }
static int last_only_65(size_t i) { return i == 64; }
static int first_last(size_t i) { return i == 0 || i == 64; }

static int t_bitmap_8(void) { return bitmap_case(8, every_third) && bitmap_case(8, last_only_8); }
static int t_bitmap_9(void) { return bitmap_case(9, every_third) && bitmap_case(9, last_only_9); }
static int t_bitmap_64(void)
{
    return bitmap_case(64, every_third) && bitmap_case(64, last_only_64) && bitmap_case(64, all_nulls);
}
static int t_bitmap_65(void)
{
    return bitmap_case(65, every_third) && bitmap_case(65, last_only_65) && bitmap_case(65, first_last) &&
           bitmap_case(65, none_null);
}
static int t_bitmap_6(void) { return bitmap_case(6, all_nulls) && bitmap_case(6, none_null); }

static int t_zero_columns(void)
{
    set_same_cols(0, MYL_TYPE_TINY, 0);
    static const uint8_t ok_row[] = {0x00, 0x00};
    size_t at;
    if (walk(ok_row, 2, &at) != 0) return fail("empty row of 0 columns rejected");
    if (walk(ok_row, 1, &at) != -2) return fail("row without its bitmap accepted");
    return 1;
}

/* ---- damage -------------------------------------------------------- */

static int t_header(void)
{
    set_same_cols(1, MYL_TYPE_TINY, 0);
    static const uint8_t bad_headers[][3] = {{0xFE, 0x00, 0x01}, {0xFF, 0x00, 0x01}, {0x01, 0x00, 0x01}};
    size_t at;
    for (size_t k = 0; k < 3; k++)
        if (walk(bad_headers[k], 3, &at) != -2) return fail("header 0x%02X accepted", bad_headers[k][0]);
    if (walk(bad_headers[0], 0, &at) != -2) return fail("empty payload accepted");
    return 1;
}

static int t_trailing(void)
{
    static const unsigned types[] = {MYL_TYPE_LONG, MYL_TYPE_VAR_STRING};
    set_cols(2, types, NULL);
    row_begin();
    row_le(7, 4);
    row_lenenc_str("ab", 2);
    if (!walk_ok()) return 0;
    row_le(0, 1);
    size_t at;
    if (walk(row, rowlen, &at) != -1 || at != 2) return fail("a trailing byte accepted");
    /* A NULL column leaves nothing: the value's bytes are then extra. */
    row_begin();
    row_null(0);
    row_le(7, 4);
    row_lenenc_str("ab", 2);
    if (walk(row, rowlen, &at) != -1) return fail("bytes of a NULL column accepted");
    return 1;
}

/* One value of a column of `type` with `len` bytes after it, expected bad. */
static int bad_value(unsigned type, const uint8_t *v, size_t n, const char *what)
{
    set_same_cols(1, type, 0);
    row_begin();
    row_bytes(v, n);
    size_t at;
    int rc = walk(row, rowlen, &at);
    if (rc == -3) return 0;
    if (rc != -1 || at != 0) return fail("%s accepted", what);
    return 1;
}

static int t_bad_lengths(void)
{
    static const uint8_t dt5[] = {5, 0xE8, 0x07, 1, 2, 3};
    static const uint8_t dt12[] = {12, 0xE8, 0x07, 1, 2, 3, 4, 5, 0, 0, 0, 0, 0};
    static const uint8_t dt1[] = {1, 0};
    static const uint8_t date8[] = {8, 0xE8, 0x07, 1, 2, 3, 4, 5, 6};
    static const uint8_t time7[] = {7, 0, 0, 0, 0, 0, 1, 2};
    static const uint8_t time4[] = {4, 0, 0, 0, 0};
    static const uint8_t time11[] = {11, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0};
    static const uint8_t dt_short[] = {11, 0xE8, 0x07, 1, 2, 3, 4, 5, 0, 0};
    static const uint8_t time_short[] = {12, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0};
    static const uint8_t float3[] = {0, 0, 0x80};
    static const uint8_t double7[] = {0, 0, 0, 0, 0, 0, 0xF0};
    static const uint8_t long3[] = {1, 2, 3};
    static const uint8_t str_past[] = {5, 'a', 'b'};
    static const uint8_t fc_short[] = {0xFC, 0x01};
    static const uint8_t empty[] = {0};
    return bad_value(MYL_TYPE_DATETIME, dt5, sizeof dt5, "DATETIME of 5 bytes") &&
           bad_value(MYL_TYPE_DATETIME, dt12, sizeof dt12, "DATETIME of 12 bytes") &&
           bad_value(MYL_TYPE_TIMESTAMP, dt1, sizeof dt1, "TIMESTAMP of 1 byte") &&
           bad_value(MYL_TYPE_DATE, date8, sizeof date8, "DATE of 8 bytes") &&
           bad_value(MYL_TYPE_TIME, time7, sizeof time7, "TIME of 7 bytes") &&
           bad_value(MYL_TYPE_TIME, time4, sizeof time4, "TIME of 4 bytes") &&
           bad_value(MYL_TYPE_TIME, time11, sizeof time11, "TIME of 11 bytes") &&
           bad_value(MYL_TYPE_DATETIME, dt_short, sizeof dt_short, "DATETIME cut short") &&
           bad_value(MYL_TYPE_TIME, time_short, sizeof time_short, "TIME cut short") &&
           bad_value(MYL_TYPE_FLOAT, float3, sizeof float3, "FLOAT of 3 bytes") &&
           bad_value(MYL_TYPE_DOUBLE, double7, sizeof double7, "DOUBLE of 7 bytes") &&
           bad_value(MYL_TYPE_LONG, long3, sizeof long3, "LONG of 3 bytes") &&
           bad_value(MYL_TYPE_VAR_STRING, str_past, sizeof str_past, "string past the end") &&
           bad_value(MYL_TYPE_BLOB, fc_short, sizeof fc_short, "0xFC without its 2 bytes") &&
           bad_value(MYL_TYPE_LONGLONG, empty, 0, "LONGLONG with no bytes") &&
           bad_value(MYL_TYPE_DATE, empty, 0, "DATE with no length byte");
}

static int t_out_of_range(void)
{
    static const uint8_t month13[] = {4, 0xE8, 0x07, 13, 1};
    static const uint8_t day32[] = {4, 0xE8, 0x07, 1, 32};
    static const uint8_t year10000[] = {4, 0x10, 0x27, 1, 1};
    static const uint8_t hour24[] = {7, 0xE8, 0x07, 1, 1, 24, 0, 0};
    static const uint8_t minute60[] = {7, 0xE8, 0x07, 1, 1, 0, 60, 0};
    static const uint8_t second60[] = {7, 0xE8, 0x07, 1, 1, 0, 0, 60};
    static const uint8_t usec1e6[] = {11, 0xE8, 0x07, 1, 1, 0, 0, 0, 0x40, 0x42, 0x0F, 0};
    static const uint8_t t_days35[] = {8, 0, 35, 0, 0, 0, 0, 0, 0};
    static const uint8_t t_days_huge[] = {8, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0};
    static const uint8_t t_neg2[] = {8, 2, 0, 0, 0, 0, 1, 0, 0};
    static const uint8_t t_hour24[] = {8, 0, 0, 0, 0, 0, 24, 0, 0};
    static const uint8_t t_minute60[] = {8, 0, 0, 0, 0, 0, 0, 60, 0};
    static const uint8_t t_second60[] = {8, 1, 0, 0, 0, 0, 0, 0, 60};
    static const uint8_t t_usec[] = {12, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF};
    return bad_value(MYL_TYPE_DATE, month13, sizeof month13, "month 13") &&
           bad_value(MYL_TYPE_DATE, day32, sizeof day32, "day 32") &&
           bad_value(MYL_TYPE_DATETIME, year10000, sizeof year10000, "year 10000") &&
           bad_value(MYL_TYPE_DATETIME, hour24, sizeof hour24, "hour 24") &&
           bad_value(MYL_TYPE_TIMESTAMP, minute60, sizeof minute60, "minute 60") &&
           bad_value(MYL_TYPE_DATETIME, second60, sizeof second60, "second 60") &&
           bad_value(MYL_TYPE_DATETIME, usec1e6, sizeof usec1e6, "microsecond 1000000") &&
           bad_value(MYL_TYPE_TIME, t_days35, sizeof t_days35, "TIME of 35 days") &&
           bad_value(MYL_TYPE_TIME, t_days_huge, sizeof t_days_huge, "TIME of 2^32-1 days") &&
           bad_value(MYL_TYPE_TIME, t_neg2, sizeof t_neg2, "TIME sign byte 2") &&
           bad_value(MYL_TYPE_TIME, t_hour24, sizeof t_hour24, "TIME hour 24") &&
           bad_value(MYL_TYPE_TIME, t_minute60, sizeof t_minute60, "TIME minute 60") &&
           bad_value(MYL_TYPE_TIME, t_second60, sizeof t_second60, "TIME second 60") &&
           bad_value(MYL_TYPE_TIME, t_usec, sizeof t_usec, "TIME microsecond 2^32-1");
}

static int t_null_type(void)
{
    static const unsigned types[] = {MYL_TYPE_NULL, MYL_TYPE_TINY};
    set_cols(2, types, NULL);
    row_begin();
    row_null(0);
    row_le(5, 1);
    if (!walk_ok() || kinds[0] != MYL_ROW_NULL || !expect_int(1, 5)) return 0;
    static const uint8_t one[] = {0};
    return bad_value(MYL_TYPE_NULL, one, sizeof one, "a value of the NULL type") &&
           bad_value(MYL_TYPE_NULL, one, 0, "a NULL-type column not NULL in the bitmap");
}

static int t_walk_past_last(void)
{
    set_same_cols(1, MYL_TYPE_TINY, 0);
    row_begin();
    row_le(1, 1);
    myl_bin_row_iter it;
    myl_bin_value v;
    if (myl_bin_row_begin(&it, row, rowlen, &cols) != 0) return fail("begin refused");
    if (myl_bin_row_next(&it, &v) != MYL_ROW_VALUE) return fail("first value");
    if (myl_bin_row_next(&it, &v) != MYL_ROW_BAD) return fail("a value past the last column");
    return 1;
}

/* ---- parameters --------------------------------------------------------- */

static int t_parse_accepts(void)
{
    static const struct {
        const char *s;
        myl_bin_kind kind;
        myl_datetime t;
    } cases[] = {
        {"2024-01-02", MYL_BIN_DATE, {2024, 1, 2, 0, 0, 0, 0, 0}},
        {"0000-00-00", MYL_BIN_DATE, {0, 0, 0, 0, 0, 0, 0, 0}},
        {"2000-02-29", MYL_BIN_DATE, {2000, 2, 29, 0, 0, 0, 0, 0}},
        {"2024-00-00", MYL_BIN_DATE, {2024, 0, 0, 0, 0, 0, 0, 0}},
        {"2024-01-02", MYL_BIN_DATETIME, {2024, 1, 2, 0, 0, 0, 0, 0}},
        {"2024-01-02 03:04:05", MYL_BIN_DATETIME, {2024, 1, 2, 3, 4, 5, 0, 0}},
        {"2024-01-02T03:04:05.5", MYL_BIN_DATETIME, {2024, 1, 2, 3, 4, 5, 500000, 0}},
        {"9999-12-31 23:59:59.999999", MYL_BIN_DATETIME, {9999, 12, 31, 23, 59, 59, 999999, 0}},
        {"0000-00-00 00:00:00", MYL_BIN_DATETIME, {0, 0, 0, 0, 0, 0, 0, 0}},
        {"12:34:56", MYL_BIN_TIME, {0, 0, 0, 12, 34, 56, 0, 0}},
        {"-838:59:59", MYL_BIN_TIME, {0, 0, 34, 22, 59, 59, 0, 1}},
        {"838:59:59.999999", MYL_BIN_TIME, {0, 0, 34, 22, 59, 59, 999999, 0}},
        {"1 02:03:04.05", MYL_BIN_TIME, {0, 0, 1, 2, 3, 4, 50000, 0}},
        {"-34 22:59:59", MYL_BIN_TIME, {0, 0, 34, 22, 59, 59, 0, 1}},
        {"0:00:00", MYL_BIN_TIME, {0, 0, 0, 0, 0, 0, 0, 0}},
        {"100:00:00", MYL_BIN_TIME, {0, 0, 4, 4, 0, 0, 0, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        myl_datetime t;
        if (myl_parse_datetime(cases[i].s, strlen(cases[i].s), cases[i].kind, &t) != 0)
            return fail("\"%s\" rejected", cases[i].s);
        const myl_datetime *w = &cases[i].t;
        if (t.year != w->year || t.month != w->month || t.day != w->day || t.hour != w->hour ||
            t.minute != w->minute || t.second != w->second || t.microsecond != w->microsecond ||
            t.negative != w->negative)
            return fail("\"%s\" read as %u-%u-%u %u:%u:%u.%u neg %d", cases[i].s, t.year, t.month, t.day, t.hour,
                        t.minute, t.second, (unsigned)t.microsecond, t.negative);
    }
    return 1;
}

static int t_parse_rejects(void)
{
    static const struct {
        const char *s;
        myl_bin_kind kind;
    } cases[] = {
        {"", MYL_BIN_DATE},
        {"2024-1-02", MYL_BIN_DATE},
        {"2024-13-01", MYL_BIN_DATE},
        {"2024-01-32", MYL_BIN_DATE},
        {"2024-02-30", MYL_BIN_DATE},
        {"2023-02-29", MYL_BIN_DATE},
        {"1900-02-29 00:00:00", MYL_BIN_DATETIME},
        {"2024-04-31", MYL_BIN_DATE},
        {"2024-01-02 03:04:05", MYL_BIN_DATE},
        {"2024-01-02x", MYL_BIN_DATE},
        {"24-01-02", MYL_BIN_DATETIME},
        {"2024-01-02 24:00:00", MYL_BIN_DATETIME},
        {"2024-01-02 03:60:00", MYL_BIN_DATETIME},
        {"2024-01-02 03:04:60", MYL_BIN_DATETIME},
        {"2024-01-02 03:04:05.1234567", MYL_BIN_DATETIME},
        {"2024-01-02 03:04:05.", MYL_BIN_DATETIME},
        {"2024-01-02 03:04:05 ", MYL_BIN_DATETIME},
        {"2024-01-02 03:04", MYL_BIN_DATETIME},
        {"2024-01-02  03:04:05", MYL_BIN_DATETIME},
        {"839:00:00", MYL_BIN_TIME},
        {"-839:00:00", MYL_BIN_TIME},
        {"35 00:00:00", MYL_BIN_TIME},
        {"1 24:00:00", MYL_BIN_TIME},
        {"12:60:00", MYL_BIN_TIME},
        {"12:00:60", MYL_BIN_TIME},
        {"1000:00:00", MYL_BIN_TIME},
        {"--1:00:00", MYL_BIN_TIME},
        {"12:00", MYL_BIN_TIME},
        {"12:00:00.1234567", MYL_BIN_TIME},
        {"12:00:00x", MYL_BIN_TIME},
        {"2024-01-02", MYL_BIN_TIME},
        {"2024-01-02", MYL_BIN_INT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        myl_datetime t;
        if (myl_parse_datetime(cases[i].s, strlen(cases[i].s), cases[i].kind, &t) == 0)
            return fail("\"%s\" accepted as kind %d", cases[i].s, cases[i].kind);
    }
    /* The length is the caller's, not the NUL's. */
    myl_datetime t;
    if (myl_parse_datetime("2024-01-02 03", 10, MYL_BIN_DATE, &t) != 0) return fail("a prefix of 10 bytes rejected");
    return 1;
}

/* Packs t, then walks the packed value as a one-column row of `type`:
 * the same fields come back, in the shortest length. */
static int put_and_walk(myl_bin_kind kind, unsigned type, const myl_datetime *t, unsigned want_len)
{
    myl_buf b = {0};
    if (myl_buf_reserve(&b, MYL_DATETIME_BIN_MAX) != 0) exit(2);
    myl_put_datetime(&b, kind, t);
    set_same_cols(1, type, 0);
    row_begin();
    row_bytes(b.data, b.len);
    size_t len = b.len;
    uint8_t first = b.data[0];
    myl_buf_free(&b);
    if (len != 1 + want_len || first != want_len) return fail("packed in %zu bytes, expected 1 + %u", len, want_len);
    if (!walk_ok()) return 0;
    const myl_datetime *g = &vals[0].v.t;
    if (g->year != t->year || g->month != t->month || g->day != t->day || g->hour != t->hour ||
        g->minute != t->minute || g->second != t->second || g->microsecond != t->microsecond ||
        g->negative != t->negative)
        return fail("packed value does not read back");
    return 1;
}

static int t_put_datetime(void)
{
    myl_datetime zero = {0, 0, 0, 0, 0, 0, 0, 0};
    myl_datetime date = {2024, 2, 29, 0, 0, 0, 0, 0};
    myl_datetime dt = {2024, 2, 29, 13, 14, 15, 0, 0};
    myl_datetime dtu = {2024, 2, 29, 13, 14, 15, 1, 0};
    myl_datetime tm = {0, 0, 34, 22, 59, 59, 0, 1};
    myl_datetime tmu = {0, 0, 0, 0, 0, 0, 999999, 1};
    return put_and_walk(MYL_BIN_DATE, MYL_TYPE_DATE, &zero, 0) &&
           put_and_walk(MYL_BIN_DATE, MYL_TYPE_DATE, &date, 4) &&
           put_and_walk(MYL_BIN_DATETIME, MYL_TYPE_DATETIME, &zero, 0) &&
           put_and_walk(MYL_BIN_DATETIME, MYL_TYPE_DATETIME, &date, 4) &&
           put_and_walk(MYL_BIN_DATETIME, MYL_TYPE_DATETIME, &dt, 7) &&
           put_and_walk(MYL_BIN_DATETIME, MYL_TYPE_DATETIME, &dtu, 11) &&
           put_and_walk(MYL_BIN_TIME, MYL_TYPE_TIME, &zero, 0) &&
           put_and_walk(MYL_BIN_TIME, MYL_TYPE_TIME, &tm, 8) &&
           put_and_walk(MYL_BIN_TIME, MYL_TYPE_TIME, &tmu, 12);
}

static int t_parse_format_round_trip(void)
{
    static const struct {
        unsigned type, decimals;
        myl_bin_kind kind;
        const char *s;
    } cases[] = {
        {MYL_TYPE_DATE, 0, MYL_BIN_DATE, "2024-02-29"},
        {MYL_TYPE_DATETIME, 0, MYL_BIN_DATETIME, "2024-02-29 13:14:15"},
        {MYL_TYPE_DATETIME, 6, MYL_BIN_DATETIME, "2024-02-29 13:14:15.000001"},
        {MYL_TYPE_TIMESTAMP, 2, MYL_BIN_DATETIME, "1970-01-01 00:00:01.50"},
        {MYL_TYPE_TIME, 0, MYL_BIN_TIME, "-838:59:59"},
        {MYL_TYPE_TIME, 3, MYL_BIN_TIME, "100:00:00.120"},
    };
    char buf[MYL_DATETIME_TEXT_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        myl_datetime t;
        if (myl_parse_datetime(cases[i].s, strlen(cases[i].s), cases[i].kind, &t) != 0)
            return fail("\"%s\" rejected", cases[i].s);
        myl_format_datetime(buf, cases[i].type, cases[i].decimals, &t);
        if (strcmp(buf, cases[i].s) != 0) return fail("\"%s\" formatted back as \"%s\"", cases[i].s, buf);
    }
    return 1;
}

/* ---- the same rows through both protocols, in Lua ----------------------- */

static lua_State *L;

typedef struct {
    const uint8_t *text, *bin;
    size_t text_len, bin_len;
} captured_row;

static myl_column cap_colv[64];
static myl_columns cap_text, cap_bin;

static void set_captured_cols(const captured_col *cc, size_t n)
{
    memset(cap_colv, 0, sizeof cap_colv);
    for (size_t i = 0; i < n; i++) {
        myl_column *c = &cap_colv[i];
        c->catalog = c->db = c->table = c->org_table = "";
        c->name = c->org_name = cc[i].name;
        c->name_len = strlen(cc[i].name);
        c->type = cc[i].type;
        c->flags = cc[i].flags;
        c->decimals = cc[i].decimals;
        c->length = cc[i].length;
        c->vclass = myl_value_class_of(c->type, c->flags);
    }
    cap_text = (myl_columns){n, cap_colv, 0, 1};
    cap_bin = (myl_columns){n, cap_colv, 1, 1};
}

/* The values at a and b are the same Lua value: type, integer or float,
 * and value (floats bit for bit, so -0.0 is not 0.0). */
static int same_lua_value(int a, int b, size_t col)
{
    int t = lua_type(L, a);
    if (t != lua_type(L, b))
        return fail("column %zu: text gives a %s, binary a %s", col + 1, lua_typename(L, t),
                    lua_typename(L, lua_type(L, b)));
    if (t == LUA_TNUMBER) {
        if (lua_isinteger(L, a) != lua_isinteger(L, b)) return fail("column %zu: integer against float", col + 1);
        if (lua_isinteger(L, a)) {
            if (lua_tointeger(L, a) != lua_tointeger(L, b))
                return fail("column %zu: %lld against %lld", col + 1, (long long)lua_tointeger(L, a),
                            (long long)lua_tointeger(L, b));
        } else {
            lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
            if (memcmp(&x, &y, sizeof x) != 0) return fail("column %zu: %.17g against %.17g", col + 1, x, y);
        }
    } else if (t == LUA_TSTRING) {
        size_t n1, n2;
        const char *s1 = lua_tolstring(L, a, &n1), *s2 = lua_tolstring(L, b, &n2);
        if (n1 != n2 || memcmp(s1, s2, n1) != 0)
            return fail("column %zu: \"%.*s\" against \"%.*s\"", col + 1, (int)n1, s1, (int)n2, s2);
    } else if (t != LUA_TLIGHTUSERDATA || lua_touserdata(L, a) || lua_touserdata(L, b)) {
        return fail("column %zu: unexpected %s", col + 1, lua_typename(L, t));
    }
    return 1;
}

/* Pushes the text row and the binary row in one mode and compares them
 * value by value: 1, or 0 with the difference recorded. */
static int push_both_compare(const captured_row *r, int mode, int checked)
{
    size_t ncols = cap_bin.n;
    lua_settop(L, 0);
    myl_lua_push_names(L, &cap_bin);
    int names = lua_gettop(L);
    if (myl_lua_push_row(L, &cap_text, r->text, r->text_len, mode, names, 0, 1) < 0)
        return fail("the text row is refused");
    int t = names + 1;
    int b = lua_gettop(L) + 1;
    if (myl_lua_push_row(L, &cap_bin, r->bin, r->bin_len, mode, names, 0, checked) < 0)
        return fail("the binary row is refused");
    for (size_t i = 0; i < ncols; i++) {
        int ok;
        if (mode == ROW_VALUES) {
            ok = same_lua_value(t + (int)i, b + (int)i, i);
        } else {
            if (mode == ROW_ARRAY) {
                lua_rawgeti(L, t, (lua_Integer)i + 1);
                lua_rawgeti(L, b, (lua_Integer)i + 1);
            } else {
                lua_getfield(L, t, cap_colv[i].name);
                lua_getfield(L, b, cap_colv[i].name);
            }
            ok = same_lua_value(-2, -1, i);
            lua_pop(L, 2);
        }
        if (!ok) return 0;
    }
    return 1;
}

static int compare_captured(const captured_col *cc, size_t ncols, const captured_row *rows, size_t nrows)
{
    set_captured_cols(cc, ncols);
    for (size_t r = 0; r < nrows; r++) {
        if (myl_check_bin_row(rows[r].bin, rows[r].bin_len, &cap_bin) != 0)
            return fail("row %zu: the server's binary row is refused", r + 1);
        static const int modes[] = {ROW_ARRAY, ROW_KEYED, ROW_VALUES};
        for (int m = 0; m < 3; m++)
            for (int checked = 0; checked <= 1; checked++)
                if (!push_both_compare(&rows[r], modes[m], checked)) {
                    char inner[sizeof why / 2];
                    size_t k = strlen(why) < sizeof inner ? strlen(why) : sizeof inner - 1;
                    memcpy(inner, why, k);
                    inner[k] = '\0';
                    static const char *const mode_names[] = {"keyed", "array", "values"};
                    snprintf(why, sizeof why, "row %zu, %s, %s: %s", r + 1, mode_names[modes[m]],
                             checked ? "checked" : "trusted", inner);
                    return 0;
                }
        /* Cut short, it is refused and leaves the stack as it was. */
        lua_settop(L, 0);
        myl_lua_push_names(L, &cap_bin);
        for (size_t n = 0; n < rows[r].bin_len; n++) {
            if (myl_lua_push_row(L, &cap_bin, rows[r].bin, n, ROW_ARRAY, 1, 0, 1) != -1 || lua_gettop(L) != 1)
                return fail("row %zu: its first %zu bytes accepted", r + 1, n);
        }
    }
    lua_settop(L, 0);
    return 1;
}

#define ROW(prefix, i) {prefix##_text_##i, prefix##_bin_##i, sizeof prefix##_text_##i, sizeof prefix##_bin_##i}
#define NCOLS(prefix) (sizeof prefix##_cols / sizeof prefix##_cols[0])

static int t_captured_all_types(void)
{
    static const captured_row rows[] = {ROW(allt, 0), ROW(allt, 1), ROW(allt, 2)};
    return compare_captured(allt_cols, NCOLS(allt), rows, 3);
}

static int t_captured_zerofill(void)
{
    static const captured_row rows[] = {ROW(zf, 0), ROW(zf, 1)};
    return compare_captured(zf_cols, NCOLS(zf), rows, 2);
}

static int t_captured_expressions(void)
{
    static const captured_row rows[] = {ROW(expr, 0)};
    return compare_captured(expr_cols, NCOLS(expr), rows, 1);
}

static int t_captured_random_floats(void)
{
    static const captured_row rows[] = {ROW(rnd, 0), ROW(rnd, 1), ROW(rnd, 2), ROW(rnd, 3),
                                        ROW(rnd, 4), ROW(rnd, 5), ROW(rnd, 6), ROW(rnd, 7),
                                        ROW(rnd, 8), ROW(rnd, 9), ROW(rnd, 10), ROW(rnd, 11)};
    return compare_captured(rnd_cols, NCOLS(rnd), rows, 12);
}

/* Column `name` of the binary row, pushed as an array, left on the stack. */
static void push_bin_column(const captured_col *cc, size_t ncols, const uint8_t *p, size_t n, const char *name)
{
    set_captured_cols(cc, ncols);
    lua_settop(L, 0);
    myl_lua_push_names(L, &cap_bin);
    if (myl_lua_push_row(L, &cap_bin, p, n, ROW_KEYED, 1, 0, 1) != 1) {
        lua_pushnil(L);
        return;
    }
    lua_getfield(L, -1, name);
}

static int is_string(const char *want)
{
    size_t n;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    if (!s || n != strlen(want) || memcmp(s, want, n) != 0)
        return fail("expected the string \"%s\", got %s", want, luaL_tolstring(L, -1, NULL));
    return 1;
}

static int is_integer(lua_Integer want)
{
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) != want)
        return fail("expected the integer %lld, got %s", (long long)want, luaL_tolstring(L, -1, NULL));
    return 1;
}

static int is_float(lua_Number want)
{
    if (lua_type(L, -1) != LUA_TNUMBER || lua_isinteger(L, -1) || lua_tonumber(L, -1) != want)
        return fail("expected the float %.17g, got %s", want, luaL_tolstring(L, -1, NULL));
    return 1;
}

static int t_captured_values(void)
{
#define COL(prefix, i, name) push_bin_column(prefix##_cols, NCOLS(prefix), prefix##_bin_##i, sizeof prefix##_bin_##i, name)
    COL(allt, 0, "bu");
    if (!is_string("18446744073709551615")) return 0;
    COL(allt, 0, "bi");
    if (!is_integer(INT64_MIN)) return 0;
    COL(allt, 0, "mi");
    if (!is_integer(-8388608)) return 0;
    COL(allt, 0, "f");
    if (!is_float(3.14)) return 0;
    COL(allt, 0, "bt");
    if (!is_integer(0xAAA)) return 0;
    COL(allt, 0, "y");
    if (!is_integer(2024)) return 0;
    COL(allt, 0, "tm");
    if (!is_string("-838:59:59")) return 0;
    COL(allt, 0, "dt3");
    if (!is_string("0000-00-00 00:00:00.000")) return 0;
    COL(allt, 0, "dz");
    if (!is_string("00000001.50")) return 0;
    COL(allt, 2, "ti");
    if (lua_type(L, -1) != LUA_TLIGHTUSERDATA || lua_touserdata(L, -1) != NULL) return fail("NULL is not mylua.null");
    COL(zf, 0, "a");
    if (!is_string("0000000000000000000000042")) return 0;
    COL(zf, 0, "e");
    if (!is_integer(42)) return 0;
    COL(zf, 0, "f");
    if (!is_float(2.5)) return 0;
    COL(expr, 0, "pi20");
    if (!is_float(3.1415926535897936)) return 0;
    COL(expr, 0, "pi()");
    if (!is_float(3.141593)) return 0;
    COL(expr, 0, "p89");
    if (!is_float(0x1p89)) return 0;
    COL(expr, 0, "f20");
    if (!is_float(1e20)) return 0;
    COL(expr, 0, "t125");
    if (!is_string("00:00:01.25")) return 0;
#undef COL
    lua_settop(L, 0);
    return 1;
}

/* ---- the server's text, from stdin -------------------------------------- */

static int compare_stdin(void)
{
    char line[1024];
    long n = 0, bad = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *field[5];
        int nf = 0;
        for (char *s = line; nf < 5;) {
            field[nf++] = s;
            char *tab = strchr(s, '\t');
            if (!tab) break;
            *tab = '\0';
            s = tab + 1;
        }
        char buf[MYL_DOUBLE_TEXT_MAX];
        const char *text;
        if ((line[0] == 'f' || line[0] == 'd') && nf == 4) {
            unsigned dec = (unsigned)strtoul(field[1], NULL, 10);
            double d = strtod(field[3], NULL);
            text = field[2];
            if (line[0] == 'f') myl_format_float(buf, (float)d, dec);
            else myl_format_double(buf, d, dec);
        } else if (line[0] == 't' && nf == 4) {
            unsigned type = (unsigned)strtoul(field[1], NULL, 10);
            unsigned dec = (unsigned)strtoul(field[2], NULL, 10);
            myl_bin_kind kind = type == MYL_TYPE_TIME ? MYL_BIN_TIME
                                : type == MYL_TYPE_DATE ? MYL_BIN_DATE
                                                        : MYL_BIN_DATETIME;
            myl_datetime t;
            text = field[3];
            if (myl_parse_datetime(text, strlen(text), kind, &t) != 0) snprintf(buf, sizeof buf, "(unparsed)");
            else myl_format_datetime(buf, type, dec, &t);
        } else {
            fprintf(stderr, "unreadable line: %s\n", line);
            return 2;
        }
        n++;
        if (strcmp(buf, text) != 0 && bad++ < 20) printf("mismatch: %s server \"%s\" ours \"%s\"\n", line, text, buf);
    }
    printf("compared %ld, mismatched %ld\n", n, bad);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--compare") == 0) return compare_stdin();
    run("signed integers at their edges, every width", t_signed_edges);
    run("unsigned integers at their edges, every width", t_unsigned_edges);
    run("YEAR without the UNSIGNED flag", t_year_signed);
    run("FLOAT and DOUBLE values and their text", t_float_double_values);
    run("FLOAT text as the server prints it", t_float_text);
    run("DOUBLE text as the server prints it", t_double_text);
    run("the numbers of FLOAT and DOUBLE texts, without the texts", t_real_value);
    run("DATE, DATETIME, TIMESTAMP in lengths 0, 4, 7, 11", t_datetime_lengths);
    run("TIME in lengths 0, 8, 12, negative and over 24 hours", t_time_lengths);
    run("DATETIME text with 0 to 6 decimals", t_datetime_decimals);
    run("TIME text: sign, hours past 24, fraction", t_time_text);
    run("length-encoded types: strings, blobs, DECIMAL, BIT, ENUM, SET, JSON, GEOMETRY", t_lenenc_types);
    run("an 8-byte length, and one past the payload", t_lenenc_8byte);
    run("0xFB and 0xFF are no lengths in a binary row", t_lenenc_no_null_marker);
    run("NULL bitmap of 8 columns", t_bitmap_8);
    run("NULL bitmap of 9 columns", t_bitmap_9);
    run("NULL bitmap of 64 columns", t_bitmap_64);
    run("NULL bitmap of 65 columns", t_bitmap_65);
    run("NULL bitmap of 6 columns: all and none", t_bitmap_6);
    run("a row of no columns", t_zero_columns);
    run("a row must start with 0x00", t_header);
    run("trailing bytes are malformed", t_trailing);
    run("impossible lengths and values cut short are malformed", t_bad_lengths);
    run("out-of-range date and time fields are malformed", t_out_of_range);
    run("the NULL type is NULL only through the bitmap", t_null_type);
    run("no value past the last column", t_walk_past_last);
    run("temporal parameter text accepted", t_parse_accepts);
    run("temporal parameter text rejected", t_parse_rejects);
    run("temporal parameters packed in the shortest form", t_put_datetime);
    run("temporal text parsed and formatted back", t_parse_format_round_trip);
    L = luaL_newstate();
    if (!L) return 2;
    run("a server's rows of every column type read the same in both protocols", t_captured_all_types);
    run("a server's ZEROFILL rows read the same in both protocols", t_captured_zerofill);
    run("a server's expression rows read the same in both protocols", t_captured_expressions);
    run("a server's random FLOAT and DOUBLE rows read the same in both protocols", t_captured_random_floats);
    run("values of a server's binary rows in Lua", t_captured_values);
    lua_close(L);
    free(copy);
    return cases_summary();
}
