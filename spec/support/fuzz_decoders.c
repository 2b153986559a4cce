/* libFuzzer target for the pure decoders: the packet parsers (proto.h), the
 * text-row check, the binary-row walker (binrow.h), the charset-aware
 * escaping (charset.h) and the length-encoded readers (rd.h).  `make fuzz` builds and runs it.
 *
 * The first input byte chooses the decoder; the rest is copied into an
 * exact-size heap buffer, so that under AddressSanitizer a read one byte
 * past the end is a report.  Whenever a decoder succeeds, every pointer it
 * returns is checked to lie inside the input and its bytes are read.
 * Properties checked beyond "no crash" abort() with a message:
 *   - every returned string lies inside the packet;
 *   - myl_check_text_row, myl_check_bin_row and the rd.h readers agree
 *     with independent reference decoders written here, and walking a
 *     binary row value by value ends where the check says;
 *   - myl_escape writes at most 2n bytes, and reading its output the way
 *     the server reads a quoted literal (same charset, same backslash mode)
 *     gives back the input exactly and does not end the literal early.
 *
 * With FUZZ_WRITE_SEEDS=DIR in the environment it writes its seed inputs
 * (packets a MariaDB server sent) into DIR and exits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/binrow.h"
#include "../../src/core/charset.h"
#include "../../src/core/proto.h"
#include "../../src/core/rd.h"
#include "captured_packets.h"
#include "server_lexer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

enum {
    SEL_HANDSHAKE,
    SEL_OK,
    SEL_OK_SESSION_TRACK,
    SEL_ERR,
    SEL_EOF,
    SEL_COLDEF,
    SEL_TEXT_ROW,
    SEL_ESCAPE,
    SEL_READER,
    SEL_BIN_ROW,
    SEL_COUNT
};

static volatile unsigned sink;

static void violated(const char *what)
{
    fprintf(stderr, "fuzz_decoders: property violated: %s\n", what);
    abort();
}

/* Checks that s[0..len) lies inside buf[0..n) and reads every byte. */
static void touch(const uint8_t *buf, size_t n, const void *s, size_t len, const char *what)
{
    const uint8_t *b = s;
    if (!b) {
        if (len) violated(what);
        return;
    }
    if (b < buf || b > buf + n || len > (size_t)(buf + n - b)) violated(what);
    unsigned sum = 0;
    for (size_t i = 0; i < len; i++) sum += b[i];
    sink += sum;
}

/* ---- decoders ---------------------------------------------------------- */

static void fuzz_handshake(const uint8_t *p, size_t n)
{
    myl_handshake hs;
    if (myl_parse_handshake(p, n, &hs) != 0) return;
    touch(p, n, hs.server_version, hs.server_version_len + 1, "handshake: server_version");
    if (hs.server_version[hs.server_version_len] != 0) violated("handshake: server_version not NUL-terminated");
    if (hs.scramble_len < 8 || hs.scramble_len > sizeof hs.scramble) violated("handshake: scramble_len");
    touch(hs.scramble, sizeof hs.scramble, hs.scramble, hs.scramble_len, "handshake: scramble");
    if (hs.auth_plugin) {
        if (hs.auth_plugin_len == 0) violated("handshake: empty auth_plugin not NULL");
        touch(p, n, hs.auth_plugin, hs.auth_plugin_len, "handshake: auth_plugin");
        if (memchr(hs.auth_plugin, 0, hs.auth_plugin_len)) violated("handshake: NUL inside auth_plugin");
    }
    sink += hs.protocol_version + hs.thread_id + (unsigned)hs.capabilities + hs.charset + hs.status;
}

static void fuzz_ok(const uint8_t *p, size_t n, uint64_t caps)
{
    myl_ok ok;
    if (myl_parse_ok(p, n, caps, &ok) != 0) return;
    touch(p, n, ok.info, ok.info_len, "ok: info");
    sink += (unsigned)ok.affected_rows + (unsigned)ok.insert_id + ok.status + ok.warnings;
}

static void fuzz_err(const uint8_t *p, size_t n)
{
    myl_err e;
    if (myl_parse_err(p, n, &e) != 0) return;
    if (e.sqlstate[5] != 0) violated("err: sqlstate not NUL-terminated");
    touch(p, n, e.message, e.message_len, "err: message");
    sink += e.code + (unsigned)strlen(e.sqlstate);
}

static void fuzz_eof(const uint8_t *p, size_t n)
{
    unsigned w = 0, s = 0;
    if (myl_parse_eof(p, n, &w, &s) != 0) return;
    if (w > 0xFFFF || s > 0xFFFF) violated("eof: field wider than 16 bits");
    sink += w + s + (unsigned)myl_is_eof_packet(p, n);
}

static void fuzz_coldef(const uint8_t *p, size_t n)
{
    myl_coldef c;
    if (myl_parse_coldef(p, n, &c) != 0) return;
    touch(p, n, c.catalog, c.catalog_len, "coldef: catalog");
    touch(p, n, c.db, c.db_len, "coldef: db");
    touch(p, n, c.table, c.table_len, "coldef: table");
    touch(p, n, c.org_table, c.org_table_len, "coldef: org_table");
    touch(p, n, c.name, c.name_len, "coldef: name");
    touch(p, n, c.org_name, c.org_name_len, "coldef: org_name");
    sink += c.charset + c.length + c.type + c.flags + c.decimals + (unsigned)myl_type_name(c.type)[0];
}

/* ---- reference readers ------------------------------------------------- */

/* A length-encoded integer at q[0..m), decoded with indexes only.
 * Returns 1 (value), 2 (the NULL marker 0xFB), 0 (malformed or short);
 * *used is the header length. */
static int ref_lenenc(const uint8_t *q, size_t m, uint64_t *v, size_t *used)
{
    *v = 0;
    *used = 0;
    if (m < 1) return 0;
    size_t w;
    switch (q[0]) {
    case 0xFB: *used = 1; return 2;
    case 0xFC: w = 2; break;
    case 0xFD: w = 3; break;
    case 0xFE: w = 8; break;
    case 0xFF: return 0;
    default: *v = q[0]; *used = 1; return 1;
    }
    if (m < 1 + w) return 0;
    for (size_t i = 0; i < w; i++) *v |= (uint64_t)q[1 + i] << (8 * i);
    *used = 1 + w;
    return 1;
}

static int ref_text_row(const uint8_t *q, size_t m, size_t ncols)
{
    size_t at = 0;
    for (size_t i = 0; i < ncols; i++) {
        uint64_t v;
        size_t used;
        int k = ref_lenenc(q + at, m - at, &v, &used);
        if (k == 0) return -1;
        at += used;
        if (k == 2) continue;
        if (v > m - at) return -1;
        at += (size_t)v;
    }
    return at == m ? 0 : -1;
}

static void fuzz_text_row(const uint8_t *p, size_t n, size_t ncols)
{
    int rc = myl_check_text_row(p, n, ncols);
    if (rc != ref_text_row(p, n, ncols)) violated("myl_check_text_row disagrees with the reference");
    if (rc != 0) return;
    /* Accepted: walk the values and read them. */
    myl_rd r = myl_rd_init(p, n);
    for (size_t i = 0; i < ncols; i++) {
        int is_null;
        uint64_t len = myl_rd_lenenc(&r, &is_null);
        if (is_null) continue;
        const uint8_t *s = myl_rd_bytes(&r, (size_t)len);
        if (r.bad) violated("text row: accepted row does not read back");
        touch(p, n, s, (size_t)len, "text row: value");
    }
}

/* ---- binary rows ---------------------------------------------------------- */

/* Column types a binary-row input picks from by index (then raw type
 * codes, see fuzz_bin_row). */
static const unsigned bin_types[] = {
    MYL_TYPE_TINY,  MYL_TYPE_SHORT, MYL_TYPE_INT24,     MYL_TYPE_LONG, MYL_TYPE_LONGLONG,
    MYL_TYPE_YEAR,  MYL_TYPE_FLOAT, MYL_TYPE_DOUBLE,    MYL_TYPE_DATE, MYL_TYPE_DATETIME,
    MYL_TYPE_TIMESTAMP, MYL_TYPE_TIME, MYL_TYPE_NEWDECIMAL, MYL_TYPE_BLOB, MYL_TYPE_BIT,
    MYL_TYPE_NULL,
};

/* The width of a fixed-size type's value, 0 for the others. */
static size_t ref_fixed_width(unsigned t)
{
    switch (t) {
    case MYL_TYPE_TINY: return 1;
    case MYL_TYPE_SHORT:
    case MYL_TYPE_YEAR: return 2;
    case MYL_TYPE_INT24:
    case MYL_TYPE_LONG:
    case MYL_TYPE_FLOAT: return 4;
    case MYL_TYPE_LONGLONG:
    case MYL_TYPE_DOUBLE: return 8;
    default: return 0;
    }
}

/* The binary row checked with indexes only: 0 when well-formed. */
static int ref_bin_row(const uint8_t *q, size_t m, const myl_columns *cols)
{
    size_t ncols = cols->n, bitmap = (ncols + 9) / 8;
    if (m < 1 + bitmap || q[0] != 0) return -1;
    size_t at = 1 + bitmap;
    for (size_t i = 0; i < ncols; i++) {
        if (q[1 + (i + 2) / 8] & (1u << ((i + 2) % 8))) continue;
        unsigned t = cols->col[i].type;
        size_t w = ref_fixed_width(t);
        if (t == MYL_TYPE_NULL) return -1;
        if (w) {
            if (m - at < w) return -1;
            at += w;
            continue;
        }
        int is_date = t == MYL_TYPE_DATE || t == MYL_TYPE_NEWDATE || t == MYL_TYPE_DATETIME ||
                      t == MYL_TYPE_TIMESTAMP || t == MYL_TYPE_DATETIME2 || t == MYL_TYPE_TIMESTAMP2;
        int is_time = t == MYL_TYPE_TIME || t == MYL_TYPE_TIME2;
        if (is_date || is_time) {
            if (m - at < 1) return -1;
            size_t len = q[at];
            const uint8_t *v = q + at + 1;
            if (m - at - 1 < len) return -1;
            if (is_date) {
                if (len != 0 && len != 4 && len != 7 && len != 11) return -1;
                if (len >= 4 && ((unsigned)v[0] + 256u * v[1] > 9999 || v[2] > 12 || v[3] > 31)) return -1;
                if (len >= 7 && (v[4] > 23 || v[5] > 59 || v[6] > 59)) return -1;
                if (len == 11 && (uint32_t)(v[7] | v[8] << 8 | v[9] << 16 | (uint32_t)v[10] << 24) > 999999)
                    return -1;
            } else {
                if (len != 0 && len != 8 && len != 12) return -1;
                if (len >= 8 && (v[0] > 1 || v[2] || v[3] || v[4] || v[1] > 34 || v[5] > 23 || v[6] > 59 ||
                                 v[7] > 59))
                    return -1;
                if (len == 12 && (uint32_t)(v[8] | v[9] << 8 | v[10] << 16 | (uint32_t)v[11] << 24) > 999999)
                    return -1;
            }
            at += 1 + len;
            continue;
        }
        uint64_t len;
        size_t used;
        if (ref_lenenc(q + at, m - at, &len, &used) != 1) return -1; /* 0xFB is no length here */
        at += used;
        if (len > m - at) return -1;
        at += (size_t)len;
    }
    return at == m ? 0 : -1;
}

/* Input: the column count, one type byte per column (bit 7: UNSIGNED),
 * then the row. */
static void fuzz_bin_row(const uint8_t *p, size_t n, const uint8_t *types, size_t ncols)
{
    myl_column colv[256];
    myl_columns cols = {ncols, colv, 1, 1};
    memset(colv, 0, ncols * sizeof colv[0]);
    for (size_t i = 0; i < ncols; i++) {
        unsigned sel = types[i] & 0x7F;
        size_t nt = sizeof bin_types / sizeof bin_types[0];
        /* past the table: every base type 0..47, then 192..255 (JSON ... GEOMETRY) */
        colv[i].type = sel < nt ? bin_types[sel] : sel < nt + 48 ? sel - (unsigned)nt : sel + 128;
        colv[i].flags = types[i] & 0x80 ? MYL_FLAG_UNSIGNED : 0;
    }
    int rc = myl_check_bin_row(p, n, &cols);
    if (rc != ref_bin_row(p, n, &cols)) violated("myl_check_bin_row disagrees with the reference");
    /* Walk it whatever the check said: no value leaves the payload, and the
     * walk gets to the end exactly when the row was accepted. */
    myl_bin_row_iter it;
    if (myl_bin_row_begin(&it, p, n, &cols) != 0) {
        if (rc == 0) violated("bin row: begin refused an accepted row");
        return;
    }
    size_t i = 0;
    for (; i < ncols; i++) {
        myl_bin_value v;
        const uint8_t *before = it.p;
        int k = myl_bin_row_next(&it, &v);
        if (k == MYL_ROW_BAD) {
            if (it.p != before) violated("bin row: a bad value moved the walk");
            break;
        }
        if (it.p < before || it.p > p + n) violated("bin row: the walk left the payload");
        if (k == MYL_ROW_VALUE && v.kind == MYL_BIN_BYTES) touch(p, n, v.v.s.p, v.v.s.len, "bin row: value");
        if (k == MYL_ROW_VALUE && (v.kind == MYL_BIN_DATE || v.kind == MYL_BIN_DATETIME || v.kind == MYL_BIN_TIME)) {
            char buf[MYL_DATETIME_TEXT_MAX];
            size_t len = myl_format_datetime(buf, colv[i].type, colv[i].decimals, &v.v.t);
            if (len >= MYL_DATETIME_TEXT_MAX || strlen(buf) != len) violated("bin row: temporal text overflows");
        }
    }
    int walked = i == ncols && myl_bin_row_done(&it);
    if (walked != (rc == 0)) violated("bin row: the walk and the check disagree");
}

/* One cursor driven by the input itself: each step reads an opcode byte and
 * then one reader call, checked against the reference. */
static void fuzz_reader(const uint8_t *p, size_t n)
{
    myl_rd r = myl_rd_init(p, n);
    while (!r.bad && myl_rd_left(&r) > 0) {
        uint8_t op = myl_rd_u8(&r);
        const uint8_t *at = r.p;
        size_t left = myl_rd_left(&r);
        uint64_t want;
        size_t used;
        int k = ref_lenenc(at, left, &want, &used);
        switch (op & 7) {
        case 0: { /* lenenc with is_null */
            int is_null = -1;
            uint64_t v = myl_rd_lenenc(&r, &is_null);
            if (k == 0) {
                if (!r.bad || v != 0) violated("lenenc: malformed accepted");
            } else if (r.bad || v != want || is_null != (k == 2) || r.p != at + used) {
                violated("lenenc: differs from the reference");
            }
            break;
        }
        case 1: { /* lenenc without is_null: the NULL marker is malformed */
            uint64_t v = myl_rd_lenenc(&r, NULL);
            if (k != 1) {
                if (!r.bad || v != 0) violated("lenenc(NULL): NULL marker or malformed accepted");
            } else if (r.bad || v != want || r.p != at + used) {
                violated("lenenc(NULL): differs from the reference");
            }
            break;
        }
        case 2:
        case 3: { /* length-encoded string */
            size_t len = 7;
            const uint8_t *s = myl_rd_lenenc_str(&r, &len);
            int ok = k == 1 && want <= left - used;
            if (!ok) {
                if (!r.bad || s || len != 0) violated("lenenc_str: malformed accepted");
            } else {
                if (r.bad || s != at + used || len != want || r.p != s + len)
                    violated("lenenc_str: differs from the reference");
                touch(p, n, s, len, "lenenc_str");
            }
            break;
        }
        case 4: { /* NUL-terminated string */
            size_t len = 0;
            const char *s = myl_rd_nulstr(&r, &len);
            const uint8_t *z = memchr(at, 0, left);
            if (!z) {
                if (!r.bad || s) violated("nulstr: unterminated accepted");
            } else {
                if (r.bad || (const uint8_t *)s != at || len != (size_t)(z - at) || r.p != z + 1)
                    violated("nulstr: differs from the reference");
                touch(p, n, s, len + 1, "nulstr");
            }
            break;
        }
        case 5: { /* fixed-width integers */
            static const size_t widths[4] = {2, 3, 4, 8};
            size_t w = widths[(op >> 3) & 3];
            uint64_t v = w == 2 ? myl_rd_u16(&r) : w == 3 ? myl_rd_u24(&r) : w == 4 ? myl_rd_u32(&r) : myl_rd_u64(&r);
            if (left < w) {
                if (!r.bad || v != 0) violated("fixed int: short read accepted");
            } else {
                uint64_t ref = 0;
                for (size_t i = 0; i < w; i++) ref |= (uint64_t)at[i] << (8 * i);
                if (r.bad || v != ref || r.p != at + w) violated("fixed int: differs from the reference");
            }
            break;
        }
        default: { /* raw bytes, length from the opcode */
            size_t w = op >> 3;
            const uint8_t *s = myl_rd_bytes(&r, w);
            if (left < w) {
                if (!r.bad || s) violated("bytes: short read accepted");
            } else {
                if (r.bad || s != at || r.p != at + w) violated("bytes: differs from the reference");
                touch(p, n, s, w, "bytes");
            }
            break;
        }
        }
        if (r.p < p || r.p > p + n) violated("reader left the buffer");
        if (r.bad) {
            /* A bad reader stays bad and yields nothing. */
            const uint8_t *q = r.p;
            if (myl_rd_u8(&r) != 0 || myl_rd_bytes(&r, 0) != NULL || myl_rd_lenenc(&r, NULL) != 0 ||
                myl_rd_nulstr(&r, NULL) != NULL || r.p != q || !r.bad)
                violated("bad reader still reads");
        }
    }
}

/* ---- escaping ---------------------------------------------------------- */

static void fuzz_escape(const uint8_t *p, size_t n)
{
    static const myl_mb_kind kinds[] = {MYL_MB_NONE, MYL_MB_BIG5, MYL_MB_GBK, MYL_MB_SJIS};
    /* Exact sizes again: dst holds 2n bytes and nothing after them. */
    char *dst = malloc(2 * n + 1);
    uint8_t *back = malloc(2 * n + 1);
    if (!dst || !back) abort();
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        for (int nb = 0; nb <= 1; nb++) {
            size_t m = myl_escape(dst, (const char *)p, n, kinds[k], nb);
            if (m > 2 * n) violated("escape: output longer than 2n");
            if (m < n) violated("escape: output shorter than the input");
            long got = server_read((const uint8_t *)dst, m, kinds[k], nb, back);
            if (got < 0) violated("escape: output ends the quoted literal early");
            if ((size_t)got != n || memcmp(back, p, n) != 0)
                violated("escape: the server would read back different bytes");
        }
    }
    free(dst);
    free(back);
}

/* ---- entry points ------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned sel = data[0] % SEL_COUNT;
    size_t ncols = 0;
    const uint8_t *types = NULL;
    data++;
    size--;
    if (sel == SEL_TEXT_ROW || sel == SEL_BIN_ROW) {
        if (size < 1) return 0;
        ncols = data[0];
        data++;
        size--;
    }
    uint8_t type_copy[256];
    if (sel == SEL_BIN_ROW) {
        if (size < ncols) return 0;
        memcpy(type_copy, data, ncols);
        types = type_copy;
        data += ncols;
        size -= ncols;
    }
    uint8_t *p = malloc(size ? size : 1);
    if (!p) return 0;
    if (size) memcpy(p, data, size);
    switch (sel) {
    case SEL_HANDSHAKE: fuzz_handshake(p, size); break;
    case SEL_OK: fuzz_ok(p, size, MYL_CLIENT_PROTOCOL_41 | MYL_CLIENT_DEPRECATE_EOF); break;
    case SEL_OK_SESSION_TRACK:
        fuzz_ok(p, size, MYL_CLIENT_PROTOCOL_41 | MYL_CLIENT_DEPRECATE_EOF | MYL_CLIENT_SESSION_TRACK);
        break;
    case SEL_ERR: fuzz_err(p, size); break;
    case SEL_EOF: fuzz_eof(p, size); break;
    case SEL_COLDEF: fuzz_coldef(p, size); break;
    case SEL_TEXT_ROW: fuzz_text_row(p, size, ncols); break;
    case SEL_ESCAPE: fuzz_escape(p, size); break;
    case SEL_READER: fuzz_reader(p, size); break;
    case SEL_BIN_ROW: fuzz_bin_row(p, size, types, ncols); break;
    }
    free(p);
    return 0;
}

/* ---- seeds ------------------------------------------------------------- */

/* Packets from captured_packets.h, and rows of (id, name), each preceded
 * by the column count 2. */
static const uint8_t row_7_null[] = {0x02, 0x01, 0x37, 0xFB};
static const uint8_t row_max_empty[] = {0x02, 0x0A, 0x34, 0x32, 0x39, 0x34, 0x39,
                                        0x36, 0x37, 0x32, 0x39, 0x35, 0x00};
static const uint8_t ok_bare_text[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 'h', 'i'};
static const uint8_t eof_41[] = {0xFE, 0x00, 0x00, 0x22, 0x00};
/* Quotes, backslashes, control bytes and two-byte characters whose trail
 * byte is 0x5C (BIG5 0xA55C, GBK 0x815C, SJIS 0x955C), plus lone leads. */
static const uint8_t escape_mix[] = {'a', '\'', '\\', '"', 0x00, '\n', '\r', 0x1A, 0xA5, 0x5C,
                                     0x81, 0x5C, 0x95, 0x5C, 0xA5, '\'', 0x81, 0x27, 0xE0};
/* Binary rows: 3 columns (LONGLONG UNSIGNED, DATETIME, BLOB), then the
 * row 2^64-1, 2024-02-29 12:34:56.5, NULL; and 2 columns (TIME, FLOAT),
 * -838:59:59 and 3.14. */
static const uint8_t bin_row_3[] = {0x03, 0x84, 0x09, 0x0D, 0x00, 0x10,
                                    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                    11, 0xE8, 0x07, 2, 29, 12, 34, 56, 0x20, 0xA1, 0x07, 0x00};
static const uint8_t bin_row_2[] = {0x02, 0x0B, 0x06, 0x00, 0x00, 8, 1, 34, 0, 0, 0, 22, 59, 59,
                                    0xC3, 0xF5, 0x48, 0x40};
/* Reader opcodes: lenenc, lenenc_str, nulstr, u16..u64, bytes. */
static const uint8_t reader_ops[] = {0x00, 0xFC, 0x34, 0x12, 0x01, 0xFB, 0x02, 0x03, 'a', 'b', 'c',
                                     0x04, 'x', 0x00, 0x05, 0x01, 0x02, 0x1D, 0x01, 0x02, 0x03,
                                     0x08, 0xFE, 1, 2, 3, 4, 5, 6, 7, 8, 0x01, 0xFF};

static void write_seed(const char *dir, const char *name, unsigned sel, const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputc((int)sel, f);
    if (n) fwrite(b, 1, n, f);
    if (fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    if (!dir || !*dir) return 0;
#define SEED(name, sel, arr) write_seed(dir, name, sel, arr, sizeof arr)
    SEED("greeting", SEL_HANDSHAKE, greeting);
    SEED("ok", SEL_OK, ok_update);
    SEED("ok-bare-text", SEL_OK, ok_bare_text);
    SEED("ok-track", SEL_OK_SESSION_TRACK, ok_update);
    SEED("err", SEL_ERR, err_nope);
    SEED("eof", SEL_EOF, eof_41);
    SEED("coldef-id", SEL_COLDEF, coldef_id);
    SEED("coldef-name", SEL_COLDEF, coldef_name);
    SEED("row-7-null", SEL_TEXT_ROW, row_7_null);
    SEED("row-max-empty", SEL_TEXT_ROW, row_max_empty);
    SEED("escape", SEL_ESCAPE, escape_mix);
    SEED("reader", SEL_READER, reader_ops);
    SEED("bin-row-3", SEL_BIN_ROW, bin_row_3);
    SEED("bin-row-2", SEL_BIN_ROW, bin_row_2);
    SEED("reader-coldef", SEL_READER, coldef_name);
#undef SEED
    exit(0);
}
