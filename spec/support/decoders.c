/* Decoder cases from byte literals: the reader (rd.h), the packet decoders
 * (proto.h), the native password token, the charset-aware escaping and
 * quoting and the text checks (charset.h).  No server, no socket.
 *
 * Prints one line per case, "ok NAME" or "not ok NAME: what differed", and
 * exits 0 only when every case is ok.  spec/01-decoders_spec.lua runs it and
 * turns each line into a busted test.
 *
 * Every decoder reads from an exact-size heap copy of its input (see
 * bytes()), so that under AddressSanitizer a read one byte past the end is a
 * report, not luck.  The greeting, column definitions, rows, OK and ERR
 * packets marked "captured" are what a MariaDB 10.11 server sent. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/auth.h"
#include "../../src/core/charset.h"
#include "../../src/core/classify.h"
#include "../../src/core/proto.h"
#include "../../src/core/rd.h"
#include "../../src/core/row.h"
#include "captured_packets.h"
#include "server_lexer.h"

/* ---- harness ----------------------------------------------------------- */

static char why[1024];
static int ncases, nfailed;

/* Records why the current case failed; returns 0 so cases can
 * `return fail(...)`. */
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return 0;
}

/* Heap copies handed out during one case, freed after it. */
static uint8_t *owned[256];
static size_t nowned;

static void free_owned(void)
{
    while (nowned) free(owned[--nowned]);
}

/* An exact-size heap copy of p[0..n): nothing readable follows it. */
static const uint8_t *bytes(const void *p, size_t n)
{
    if (nowned == sizeof owned / sizeof owned[0]) free_owned();
    uint8_t *b = malloc(n);
    if (!b) b = malloc(1); /* malloc(0) may return NULL */
    if (!b) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    if (n) memcpy(b, p, n);
    owned[nowned++] = b;
    return b;
}

/* Hex of p[0..n) for messages; four rotating buffers so that one message
 * can show several byte strings. */
static const char *hex(const void *p, size_t n)
{
    static char bufs[4][400];
    static int next;
    char *out = bufs[next++ & 3];
    const uint8_t *b = p;
    size_t o = 0;
    for (size_t i = 0; i < n && o + 4 < sizeof bufs[0]; i++)
        o += (size_t)snprintf(out + o, sizeof bufs[0] - o, "%s%02X", i ? " " : "", b[i]);
    if (n == 0) strcpy(out, "(empty)");
    return out;
}

static void run(const char *name, int (*fn)(void))
{
    why[0] = '\0';
    ncases++;
    int ok = fn();
    free_owned();
    if (ok) {
        printf("ok %s\n", name);
    } else {
        nfailed++;
        printf("not ok %s: %s\n", name, why[0] ? why : "failed");
    }
    fflush(stdout);
}

#define B(...) ((const uint8_t[]){__VA_ARGS__})

/* Equal to the string s (length and bytes)? */
static int same(const void *p, size_t n, const char *s)
{
    return p && n == strlen(s) && memcmp(p, s, n) == 0;
}

/* ---- captured packets -------------------------------------------------- */

/* Offsets into the captured greeting. */
enum {
    GR_THREAD_ID = 34,  /* 4 bytes */
    GR_CAPS_LOW = 47,   /* 2 bytes */
    GR_AUTH_LEN = 54,   /* 1 byte */
    GR_EXT_CAPS = 61,   /* 4 bytes (MariaDB capabilities) */
    GR_SCRAMBLE2 = 65,  /* 13 bytes, last one NUL */
    GR_PLUGIN = 78,     /* "mysql_native_password\0" */
};

/* Column definition of `SELECT 1 AS a` (client capabilities as the driver
 * sends them): catalog "def", name "a", charset 63, length 1, LONG,
 * flags NOT_NULL|BINARY, decimals 0. */
static const uint8_t coldef_a[] = {
    0x03, 0x64, 0x65, 0x66, 0x00, 0x00, 0x00, 0x01, 0x61, 0x00, 0x0C,
    0x3F, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x81, 0x00, 0x00, 0x00, 0x00,
};
enum { COLDEF_A_FIXED_LEN = 10 };

/* The two rows of coldef_id/coldef_name: (7, NULL) and (4294967295, ''). */
static const uint8_t row_7_null[] = {0x01, 0x37, 0xFB};
static const uint8_t row_max_empty[] = {0x0A, 0x34, 0x32, 0x39, 0x34, 0x39, 0x36, 0x37,
                                        0x32, 0x39, 0x35, 0x00};



/* ---- rd.h: length-encoded integers ------------------------------------- */

/* Reads one lenenc from an exact copy of p[0..n); checks value, consumed
 * bytes and that the cursor is not bad. */
static int lenenc_is(const uint8_t *in, size_t n, uint64_t want)
{
    const uint8_t *p = bytes(in, n);
    myl_rd r = myl_rd_init(p, n);
    int is_null = -1;
    uint64_t v = myl_rd_lenenc(&r, &is_null);
    if (r.bad) return fail("%s: reader went bad", hex(in, n));
    if (is_null) return fail("%s: is_null = %d", hex(in, n), is_null);
    if (v != want)
        return fail("%s: got %llu, want %llu", hex(in, n), (unsigned long long)v,
                    (unsigned long long)want);
    if (myl_rd_left(&r) != 0) return fail("%s: %zu bytes left unread", hex(in, n), myl_rd_left(&r));
    return 1;
}

/* The same bytes cut by one must leave the reader bad (and not read on). */
static int lenenc_short_is_bad(const uint8_t *in, size_t n)
{
    const uint8_t *p = bytes(in, n - 1);
    myl_rd r = myl_rd_init(p, n - 1);
    int is_null = 0;
    uint64_t v = myl_rd_lenenc(&r, &is_null);
    if (!r.bad) return fail("%s: accepted as %llu", hex(in, n - 1), (unsigned long long)v);
    if (v != 0) return fail("%s: bad but returned %llu", hex(in, n - 1), (unsigned long long)v);
    return 1;
}

static int case_lenenc_1byte(void)
{
    return lenenc_is(B(0x00), 1, 0) && lenenc_is(B(0x2A), 1, 42) && lenenc_is(B(0xFA), 1, 250);
}

static int case_lenenc_1byte_truncated(void) { return lenenc_short_is_bad(B(0x2A), 1); }

static int case_lenenc_2byte(void)
{
    return lenenc_is(B(0xFC, 0x34, 0x12), 3, 0x1234) && lenenc_is(B(0xFC, 0xFB, 0x00), 3, 251) &&
           lenenc_is(B(0xFC, 0xFF, 0xFF), 3, 0xFFFF);
}

static int case_lenenc_2byte_truncated(void) { return lenenc_short_is_bad(B(0xFC, 0x34, 0x12), 3); }

static int case_lenenc_3byte(void)
{
    return lenenc_is(B(0xFD, 0x56, 0x34, 0x12), 4, 0x123456) &&
           lenenc_is(B(0xFD, 0xFF, 0xFF, 0xFF), 4, 0xFFFFFF);
}

static int case_lenenc_3byte_truncated(void)
{
    return lenenc_short_is_bad(B(0xFD, 0x56, 0x34, 0x12), 4);
}

static int case_lenenc_8byte(void)
{
    return lenenc_is(B(0xFE, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01), 9,
                     0x0102030405060708ull) &&
           lenenc_is(B(0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF), 9, UINT64_MAX);
}

static int case_lenenc_8byte_truncated(void)
{
    return lenenc_short_is_bad(B(0xFE, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01), 9);
}

static int case_lenenc_null_marker(void)
{
    const uint8_t *p = bytes(B(0xFB, 0x07), 2);
    myl_rd r = myl_rd_init(p, 2);
    int is_null = 0;
    uint64_t v = myl_rd_lenenc(&r, &is_null);
    if (r.bad) return fail("FB with is_null: reader went bad");
    if (is_null != 1 || v != 0) return fail("FB: is_null %d, value %llu", is_null, (unsigned long long)v);
    if (myl_rd_left(&r) != 1) return fail("FB consumed %zu bytes, want 1", 2 - myl_rd_left(&r));
    /* Where NULL is not allowed (is_null NULL), 0xFB is malformed. */
    r = myl_rd_init(p, 2);
    (void)myl_rd_lenenc(&r, NULL);
    if (!r.bad) return fail("FB without is_null was accepted");
    return 1;
}

static int case_lenenc_ff_rejected(void)
{
    const uint8_t *p = bytes(B(0xFF, 0x01, 0x02), 3);
    myl_rd r = myl_rd_init(p, 3);
    int is_null = 0;
    uint64_t v = myl_rd_lenenc(&r, &is_null);
    if (!r.bad) return fail("FF accepted as %llu (is_null %d)", (unsigned long long)v, is_null);
    return 1;
}

static int case_rd_sticky_bad(void)
{
    /* After an overrun every later read fails too, even one that would fit. */
    const uint8_t *p = bytes(B(0x01, 0x02, 0x03), 3);
    myl_rd r = myl_rd_init(p, 3);
    (void)myl_rd_u32(&r);
    if (!r.bad) return fail("u32 over 3 bytes did not go bad");
    uint8_t b = myl_rd_u8(&r);
    if (!r.bad || b != 0) return fail("u8 after bad returned %u", b);
    if (myl_rd_bytes(&r, 1) != NULL) return fail("bytes after bad returned a pointer");
    return 1;
}

static int case_rd_fixed_ints_le(void)
{
    const uint8_t in[] = {0x01, 0x34, 0x12, 0x56, 0x34, 0x12, 0x78, 0x56, 0x34, 0x12,
                          0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x81};
    const uint8_t *p = bytes(in, sizeof in);
    myl_rd r = myl_rd_init(p, sizeof in);
    unsigned a = myl_rd_u8(&r), b = myl_rd_u16(&r);
    uint32_t c = myl_rd_u24(&r), d = myl_rd_u32(&r);
    uint64_t e = myl_rd_u64(&r);
    if (r.bad) return fail("reader went bad");
    if (a != 1 || b != 0x1234 || c != 0x123456 || d != 0x12345678 || e != 0x8102030405060708ull)
        return fail("got %x %x %x %x %llx", a, b, (unsigned)c, (unsigned)d, (unsigned long long)e);
    if (myl_rd_left(&r) != 0) return fail("%zu bytes left", myl_rd_left(&r));
    return 1;
}

/* ---- rd.h: strings ----------------------------------------------------- */

static int case_lenenc_str(void)
{
    const uint8_t *p = bytes(B(0x03, 'a', 'b', 'c', 0x00, 0x01, 'z'), 7);
    myl_rd r = myl_rd_init(p, 7);
    size_t len = 99;
    const uint8_t *s = myl_rd_lenenc_str(&r, &len);
    if (r.bad || !same(s, len, "abc")) return fail("first string: bad %d len %zu", r.bad, len);
    s = myl_rd_lenenc_str(&r, &len);
    if (r.bad || !s || len != 0) return fail("empty string: bad %d len %zu", r.bad, len);
    s = myl_rd_lenenc_str(&r, &len);
    if (r.bad || !same(s, len, "z")) return fail("third string: bad %d len %zu", r.bad, len);
    if (myl_rd_left(&r) != 0) return fail("%zu bytes left", myl_rd_left(&r));
    return 1;
}

static int case_lenenc_str_past_end(void)
{
    struct { const uint8_t *in; size_t n; } cases[] = {
        {B(0x04, 'a', 'b', 'c'), 4},                          /* one byte short */
        {B(0xFC, 0x00, 0x01, 'a'), 4},                        /* 256 declared */
        {B(0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 'a'), 10}, /* 2^64-1 */
        {B(0xFB, 'a'), 2},                                    /* NULL is no string */
        {B(0x01), 1},                                         /* length, no body */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *p = bytes(cases[i].in, cases[i].n);
        myl_rd r = myl_rd_init(p, cases[i].n);
        size_t len = 99;
        const uint8_t *s = myl_rd_lenenc_str(&r, &len);
        if (!r.bad || s != NULL || len != 0)
            return fail("%s: bad %d, %s, len %zu", hex(cases[i].in, cases[i].n), r.bad,
                        s ? "pointer" : "NULL", len);
    }
    return 1;
}

static int case_nulstr(void)
{
    const uint8_t *p = bytes("abc\0de", 6);
    myl_rd r = myl_rd_init(p, 6);
    size_t len = 99;
    const char *s = myl_rd_nulstr(&r, &len);
    if (r.bad || !same(s, len, "abc")) return fail("got bad %d len %zu", r.bad, len);
    if (myl_rd_left(&r) != 2 || r.p[0] != 'd') return fail("cursor not after the NUL");
    return 1;
}

static int case_nulstr_without_nul(void)
{
    const uint8_t *p = bytes("abc", 3);
    myl_rd r = myl_rd_init(p, 3);
    size_t len = 0;
    const char *s = myl_rd_nulstr(&r, &len);
    if (!r.bad || s != NULL) return fail("\"abc\" without NUL accepted");
    p = bytes("", 0);
    r = myl_rd_init(p, 0);
    s = myl_rd_nulstr(&r, &len);
    if (!r.bad || s != NULL) return fail("empty input accepted");
    return 1;
}

/* ---- handshake --------------------------------------------------------- */

static int case_handshake_mariadb(void)
{
    const uint8_t *p = bytes(greeting, sizeof greeting);
    myl_handshake hs;
    if (myl_parse_handshake(p, sizeof greeting, &hs) != 0) return fail("returned -1");
    if (hs.protocol_version != 10) return fail("protocol %u", hs.protocol_version);
    if (!same(hs.server_version, hs.server_version_len, "5.5.5-10.11.19-MariaDB-0+deb12u1"))
        return fail("version %s", hex(hs.server_version, hs.server_version_len));
    if (hs.thread_id != 9) return fail("thread id %u", (unsigned)hs.thread_id);
    if (!same(hs.scramble, hs.scramble_len, "Nd/XRnS5Md1d(4oT6Qrj"))
        return fail("scramble (%zu bytes) %s", hs.scramble_len, hex(hs.scramble, hs.scramble_len));
    if (hs.charset != 45 || hs.status != 0x0002)
        return fail("charset %u status 0x%04X", hs.charset, hs.status);
    if (!same(hs.auth_plugin, hs.auth_plugin_len, "mysql_native_password"))
        return fail("plugin %s", hs.auth_plugin ? hex(hs.auth_plugin, hs.auth_plugin_len) : "NULL");
    return 1;
}

static int case_handshake_capabilities(void)
{
    const uint8_t *p = bytes(greeting, sizeof greeting);
    myl_handshake hs;
    if (myl_parse_handshake(p, sizeof greeting, &hs) != 0) return fail("returned -1");
    uint64_t want = 0x0000001D81FFF7FEull;
    if (hs.capabilities != want)
        return fail("capabilities 0x%016llX, want 0x%016llX", (unsigned long long)hs.capabilities,
                    (unsigned long long)want);
    uint64_t must = MYL_CLIENT_PROTOCOL_41 | MYL_CLIENT_SECURE_CONNECTION | MYL_CLIENT_PLUGIN_AUTH |
                    MYL_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA | MYL_CLIENT_CONNECT_ATTRS |
                    MYL_CLIENT_DEPRECATE_EOF | MYL_CLIENT_MULTI_RESULTS | MYL_CLIENT_TRANSACTIONS;
    if ((hs.capabilities & must) != must)
        return fail("missing standard capabilities 0x%llX", (unsigned long long)(must & ~hs.capabilities));
    if (hs.capabilities & MYL_CLIENT_LONG_PASSWORD) return fail("CLIENT_MYSQL set for MariaDB");
    /* MariaDB: PROGRESS (32), COM_MULTI (34), STMT_BULK_OPERATIONS (35),
     * EXTENDED_TYPE_INFO (36). */
    uint64_t ext = (1ull << 32) | (1ull << 34) | (1ull << 35) | (1ull << 36);
    if ((hs.capabilities >> 32) != 0x1D || (hs.capabilities & ext) != ext)
        return fail("MariaDB capabilities 0x%llX", (unsigned long long)(hs.capabilities >> 32));
    return 1;
}

static int case_handshake_thread_id_le(void)
{
    uint8_t g[sizeof greeting];
    memcpy(g, greeting, sizeof g);
    memcpy(g + GR_THREAD_ID, "\x78\x56\x34\x12", 4);
    myl_handshake hs;
    if (myl_parse_handshake(bytes(g, sizeof g), sizeof g, &hs) != 0) return fail("returned -1");
    if (hs.thread_id != 0x12345678u) return fail("thread id 0x%08X", (unsigned)hs.thread_id);
    return 1;
}

static int case_handshake_mysql_ignores_filler(void)
{
    /* With CLIENT_MYSQL (bit 0) set the server is MySQL: the last four
     * filler bytes are not MariaDB capabilities. */
    uint8_t g[sizeof greeting];
    memcpy(g, greeting, sizeof g);
    g[GR_CAPS_LOW] |= 0x01;
    myl_handshake hs;
    if (myl_parse_handshake(bytes(g, sizeof g), sizeof g, &hs) != 0) return fail("returned -1");
    if (hs.capabilities >> 32) return fail("high capabilities 0x%llX", (unsigned long long)(hs.capabilities >> 32));
    if (hs.capabilities != 0x81FFF7FFull) return fail("capabilities 0x%llX", (unsigned long long)hs.capabilities);
    return 1;
}

static int case_handshake_plugin_without_nul(void)
{
    myl_handshake hs;
    size_t n = sizeof greeting - 1;
    const uint8_t *p = bytes(greeting, n);
    if (myl_parse_handshake(p, n, &hs) != 0) return fail("returned -1");
    if (!same(hs.auth_plugin, hs.auth_plugin_len, "mysql_native_password"))
        return fail("plugin %s", hs.auth_plugin ? hex(hs.auth_plugin, hs.auth_plugin_len) : "NULL");
    return 1;
}

static int case_handshake_truncated_everywhere(void)
{
    /* Every proper prefix: -1, or success with every pointer inside the
     * prefix.  Before the end of the scramble's second part nothing is a
     * valid greeting except the pre-4.1 form that ends after the lower
     * capability flags (49 bytes). */
    for (size_t n = 0; n < sizeof greeting; n++) {
        uint8_t *p = malloc(n ? n : 1);
        if (!p) return fail("out of memory");
        memcpy(p, greeting, n);
        myl_handshake hs;
        int rc = myl_parse_handshake(p, n, &hs);
        const char *bad = NULL;
        if (rc != 0 && rc != -1) {
            bad = "returned neither 0 nor -1";
        } else if (rc == 0) {
            const uint8_t *v = (const uint8_t *)hs.server_version;
            const uint8_t *a = (const uint8_t *)hs.auth_plugin;
            if (n < GR_SCRAMBLE2 + 13 && n != GR_CAPS_LOW + 2)
                bad = "accepted a greeting cut inside its fixed part";
            else if (!v || v < p || v + hs.server_version_len >= p + n)
                bad = "server version outside the input";
            else if (a && (a < p || a + hs.auth_plugin_len > p + n))
                bad = "plugin name outside the input";
            else if (hs.scramble_len > 20)
                bad = "scramble longer than 20 bytes";
        }
        free(p);
        if (bad) return fail("cut at %zu of %zu bytes: %s", n, sizeof greeting, bad);
    }
    return 1;
}

static int case_handshake_not_v10(void)
{
    uint8_t g[sizeof greeting];
    myl_handshake hs;
    const unsigned versions[] = {9, 11, 0};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        memcpy(g, greeting, sizeof g);
        g[0] = (uint8_t)versions[i];
        if (myl_parse_handshake(bytes(g, sizeof g), sizeof g, &hs) != -1)
            return fail("protocol version %u accepted", versions[i]);
    }
    /* An ERR packet in place of the greeting ("Host ... is not allowed"). */
    static const char host_err[] = "\xFF\x6A\x04Host '10.0.0.9' is not allowed to connect";
    if (myl_parse_handshake(bytes(host_err, sizeof host_err - 1), sizeof host_err - 1, &hs) != -1)
        return fail("ERR packet parsed as a greeting");
    return 1;
}

static int case_handshake_auth_len_too_large(void)
{
    /* An auth-data length that would overflow the 64-byte scramble. */
    uint8_t g[sizeof greeting];
    memcpy(g, greeting, sizeof g);
    g[GR_AUTH_LEN] = 0xFF;
    myl_handshake hs;
    if (myl_parse_handshake(bytes(g, sizeof g), sizeof g, &hs) != -1)
        return fail("auth data length 255 accepted (scramble_len %zu)", hs.scramble_len);
    return 1;
}

/* ---- OK / ERR / EOF ---------------------------------------------------- */

static const uint8_t ok_wide[] = {
    0x00,
    0xFE, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* affected rows */
    0xFE, 0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, /* insert id */
    0x03, 0x40,                                           /* status */
    0x07, 0x00,                                           /* warnings */
    0x05, 'h', 'e', 'l', 'l', 'o',                        /* info */
};
enum { OK_WIDE_FIXED = 23 };

static int case_ok_wide_with_info(void)
{
    myl_ok ok;
    if (myl_parse_ok(bytes(ok_wide, sizeof ok_wide), sizeof ok_wide, 0, &ok) != 0) return fail("returned -1");
    if (ok.affected_rows != 0x0102030405060708ull) return fail("affected rows 0x%llX", (unsigned long long)ok.affected_rows);
    if (ok.insert_id != 0xFFFFFFFFFFFFFFFEull) return fail("insert id 0x%llX", (unsigned long long)ok.insert_id);
    if (ok.status != 0x4003 || ok.warnings != 7) return fail("status 0x%X warnings %u", ok.status, ok.warnings);
    if (!same(ok.info, ok.info_len, "hello")) return fail("info %s", ok.info ? hex(ok.info, ok.info_len) : "NULL");
    /* The same with session tracking negotiated. */
    if (myl_parse_ok(bytes(ok_wide, sizeof ok_wide), sizeof ok_wide, MYL_CLIENT_SESSION_TRACK, &ok) != 0 ||
        !same(ok.info, ok.info_len, "hello"))
        return fail("with SESSION_TRACK: not parsed the same");
    return 1;
}

static int case_ok_captured_update(void)
{
    myl_ok ok;
    if (myl_parse_ok(bytes(ok_update, sizeof ok_update), sizeof ok_update, 0, &ok) != 0) return fail("returned -1");
    if (ok.affected_rows != 1 || ok.insert_id != 0 || ok.status != 2 || ok.warnings != 0)
        return fail("rows %llu id %llu status %u warnings %u", (unsigned long long)ok.affected_rows,
                    (unsigned long long)ok.insert_id, ok.status, ok.warnings);
    if (!same(ok.info, ok.info_len, "Rows matched: 1  Changed: 1  Warnings: 0"))
        return fail("info %s", ok.info ? hex(ok.info, ok.info_len) : "NULL");
    return 1;
}

static int case_ok_without_info(void)
{
    myl_ok ok;
    memset(&ok, 0xAA, sizeof ok);
    const uint8_t in[] = {0x00, 0x01, 0x02, 0x02, 0x00, 0x00, 0x00};
    if (myl_parse_ok(bytes(in, sizeof in), sizeof in, 0, &ok) != 0) return fail("returned -1");
    if (ok.affected_rows != 1 || ok.insert_id != 2 || ok.status != 2 || ok.warnings != 0)
        return fail("wrong fields");
    if (ok.info != NULL || ok.info_len != 0) return fail("info set without one in the packet");
    /* An OK ending a result set under DEPRECATE_EOF has header 0xFE. */
    const uint8_t eofok[] = {0xFE, 0x00, 0x00, 0x22, 0x00, 0x01, 0x00};
    if (myl_parse_ok(bytes(eofok, sizeof eofok), sizeof eofok, MYL_CLIENT_DEPRECATE_EOF, &ok) != 0)
        return fail("0xFE OK returned -1");
    if (ok.status != 0x22 || ok.warnings != 1) return fail("0xFE OK: status 0x%X warnings %u", ok.status, ok.warnings);
    /* Any other header is not an OK. */
    const uint8_t notok[] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00};
    if (myl_parse_ok(bytes(notok, sizeof notok), sizeof notok, 0, &ok) != -1) return fail("header 0x01 accepted");
    return 1;
}

static int case_ok_truncated(void)
{
    /* Cut anywhere in the header, the two lenencs, status or warnings. */
    for (size_t n = 0; n < OK_WIDE_FIXED; n++) {
        myl_ok ok;
        if (myl_parse_ok(bytes(ok_wide, n), n, 0, &ok) != -1) return fail("cut at %zu accepted", n);
        free_owned();
    }
    return 1;
}

static int case_ok_info_past_end(void)
{
    /* Info declared longer than the packet.  With session tracking the info
     * must be a lenenc string: malformed.  Without it the rest of the packet
     * is taken as the text, which must stay inside the packet. */
    size_t n = sizeof ok_wide - 1;
    myl_ok ok;
    const uint8_t *p = bytes(ok_wide, n);
    if (myl_parse_ok(p, n, MYL_CLIENT_SESSION_TRACK, &ok) != -1)
        return fail("SESSION_TRACK: info past the end accepted");
    if (myl_parse_ok(p, n, 0, &ok) == 0 &&
        (ok.info != (const char *)p + OK_WIDE_FIXED || ok.info_len != n - OK_WIDE_FIXED))
        return fail("without SESSION_TRACK: info is not the rest of the packet");
    return 1;
}

static int case_err_with_sqlstate(void)
{
    myl_err e;
    if (myl_parse_err(bytes(err_nope, sizeof err_nope), sizeof err_nope, &e) != 0) return fail("returned -1");
    if (e.code != 1146) return fail("code %u", e.code);
    if (strcmp(e.sqlstate, "42S02") != 0) return fail("sqlstate '%s'", e.sqlstate);
    if (!same(e.message, e.message_len, "Table 'mylua_test.nope' doesn't exist"))
        return fail("message %s", hex(e.message, e.message_len));
    return 1;
}

static int case_err_without_sqlstate(void)
{
    static const char in[] = "\xFF\x10\x04Too many connections";
    myl_err e;
    if (myl_parse_err(bytes(in, sizeof in - 1), sizeof in - 1, &e) != 0) return fail("returned -1");
    if (e.code != 1040) return fail("code %u", e.code);
    if (strcmp(e.sqlstate, "HY000") != 0) return fail("sqlstate '%s'", e.sqlstate);
    if (!same(e.message, e.message_len, "Too many connections")) return fail("message %s", hex(e.message, e.message_len));
    /* A '#' with fewer than five characters after it is message text. */
    static const char shorty[] = "\xFF\x10\x04#42";
    if (myl_parse_err(bytes(shorty, 6), 6, &e) != 0) return fail("short '#' returned -1");
    if (strcmp(e.sqlstate, "HY000") != 0 || !same(e.message, e.message_len, "#42"))
        return fail("short '#': sqlstate '%s' message %s", e.sqlstate, hex(e.message, e.message_len));
    return 1;
}

static int case_err_malformed(void)
{
    myl_err e;
    if (myl_parse_err(bytes(B(0xFF, 0x7A), 2), 2, &e) != -1) return fail("2-byte ERR accepted");
    if (myl_parse_err(bytes(B(0xFF), 1), 1, &e) != -1) return fail("1-byte ERR accepted");
    if (myl_parse_err(bytes(B(0x00, 0x7A, 0x04), 3), 3, &e) != -1) return fail("header 0x00 accepted");
    return 1;
}

static int case_eof(void)
{
    unsigned w = 99, s = 99;
    if (myl_parse_eof(bytes(B(0xFE, 0x01, 0x00, 0x22, 0x00), 5), 5, &w, &s) != 0) return fail("returned -1");
    if (w != 1 || s != 0x22) return fail("warnings %u status 0x%X", w, s);
    if (!myl_is_eof_packet(B(0xFE, 0x01, 0x00, 0x22, 0x00), 5)) return fail("not recognised as EOF");
    if (myl_is_eof_packet(ok_wide, 9) || myl_is_eof_packet(B(0xFE), 0))
        return fail("a 9-byte or empty packet recognised as EOF");
    w = s = 99;
    if (myl_parse_eof(bytes(B(0xFE), 1), 1, &w, &s) != 0 || w != 0 || s != 0)
        return fail("pre-4.1 EOF: warnings %u status %u", w, s);
    if (myl_parse_eof(bytes(B(0x00, 0x00, 0x00, 0x02, 0x00), 5), 5, &w, &s) != -1)
        return fail("header 0x00 accepted");
    if (myl_parse_eof(bytes("", 0), 0, &w, &s) != -1) return fail("empty packet accepted");
    return 1;
}

/* ---- column definitions ------------------------------------------------ */

static int case_coldef_select_1(void)
{
    myl_coldef c;
    if (myl_parse_coldef(bytes(coldef_a, sizeof coldef_a), sizeof coldef_a, &c) != 0) return fail("returned -1");
    if (!same(c.catalog, c.catalog_len, "def") || c.db_len || c.table_len || c.org_table_len ||
        !same(c.name, c.name_len, "a") || c.org_name_len)
        return fail("names");
    if (c.charset != 63 || c.length != 1 || c.type != MYL_TYPE_LONG ||
        c.flags != (MYL_FLAG_NOT_NULL | MYL_FLAG_BINARY) || c.decimals != 0)
        return fail("charset %u length %u type %u flags 0x%X decimals %u", c.charset,
                    (unsigned)c.length, c.type, c.flags, c.decimals);
    return 1;
}

static int case_coldef_table_columns(void)
{
    myl_coldef c;
    if (myl_parse_coldef(bytes(coldef_id, sizeof coldef_id), sizeof coldef_id, &c) != 0) return fail("id: returned -1");
    if (!same(c.db, c.db_len, "mylua_test") || !same(c.table, c.table_len, "tt") ||
        !same(c.org_table, c.org_table_len, "t") || !same(c.name, c.name_len, "id") ||
        !same(c.org_name, c.org_name_len, "id"))
        return fail("id: names");
    if (c.charset != 63 || c.length != 10 || c.type != MYL_TYPE_LONG || c.decimals != 0 ||
        (c.flags & (MYL_FLAG_NOT_NULL | MYL_FLAG_PRI_KEY | MYL_FLAG_UNSIGNED)) !=
            (MYL_FLAG_NOT_NULL | MYL_FLAG_PRI_KEY | MYL_FLAG_UNSIGNED))
        return fail("id: charset %u length %u type %u flags 0x%X", c.charset, (unsigned)c.length, c.type, c.flags);
    if (myl_parse_coldef(bytes(coldef_name, sizeof coldef_name), sizeof coldef_name, &c) != 0)
        return fail("name: returned -1");
    if (!same(c.name, c.name_len, "name") || c.charset != 45 || c.length != 80 ||
        c.type != MYL_TYPE_VAR_STRING || c.flags != 0)
        return fail("name: charset %u length %u type %u flags 0x%X", c.charset, (unsigned)c.length, c.type, c.flags);
    return 1;
}

static int case_coldef_fixed_len_too_small(void)
{
    uint8_t in[sizeof coldef_a];
    memcpy(in, coldef_a, sizeof in);
    in[COLDEF_A_FIXED_LEN] = 0x0B; /* 11 < 12: the fixed fields do not fit */
    myl_coldef c;
    if (myl_parse_coldef(bytes(in, sizeof in), sizeof in, &c) != -1) return fail("fixed length 11 accepted");
    in[COLDEF_A_FIXED_LEN] = 0x00;
    if (myl_parse_coldef(bytes(in, sizeof in), sizeof in, &c) != -1) return fail("fixed length 0 accepted");
    return 1;
}

static int case_coldef_fixed_len_past_end(void)
{
    uint8_t in[sizeof coldef_a];
    memcpy(in, coldef_a, sizeof in);
    in[COLDEF_A_FIXED_LEN] = 0x0D; /* 13 declared, 12 present */
    myl_coldef c;
    if (myl_parse_coldef(bytes(in, sizeof in), sizeof in, &c) != -1) return fail("fixed length 13 of 12 accepted");
    /* And every proper prefix of the real packet. */
    for (size_t n = 0; n < sizeof coldef_a; n++) {
        if (myl_parse_coldef(bytes(coldef_a, n), n, &c) != -1) return fail("cut at %zu accepted", n);
        free_owned();
    }
    return 1;
}

static int case_coldef_name_past_end(void)
{
    /* catalog "def", then a db name declared 200 bytes long. */
    const uint8_t in[] = {0x03, 'd', 'e', 'f', 0xC8, 'x', 'y'};
    myl_coldef c;
    if (myl_parse_coldef(bytes(in, sizeof in), sizeof in, &c) != -1) return fail("accepted");
    return 1;
}

/* ---- text rows --------------------------------------------------------- */

static int row_is(const uint8_t *in, size_t n, size_t ncols, int want, const char *what)
{
    int rc = myl_check_text_row(bytes(in, n), n, ncols);
    if (rc != want) return fail("%s: %s with %zu columns gave %d, want %d", what, hex(in, n), ncols, rc, want);
    return 1;
}

static int case_row_captured(void)
{
    return row_is(row_7_null, sizeof row_7_null, 2, 0, "(7, NULL)") &&
           row_is(row_max_empty, sizeof row_max_empty, 2, 0, "(4294967295, '')");
}

static int case_row_nulls_and_empty(void)
{
    return row_is(B(0xFB, 0xFB, 0xFB), 3, 3, 0, "three NULLs") &&
           row_is(B(0x00, 0x00), 2, 2, 0, "two empty strings") &&
           row_is(B(0xFB, 0x00, 0x01, 'x'), 4, 3, 0, "NULL, '', 'x'") &&
           row_is(B(0), 0, 0, 0, "no columns, no bytes");
}

static int case_row_exact_fit(void)
{
    uint8_t big[3 + 300];
    big[0] = 0xFC;
    big[1] = 300 & 0xFF;
    big[2] = 300 >> 8;
    memset(big + 3, 'v', 300);
    return row_is(B(0x01, 'a', 0x03, 'b', 'c', 'd'), 6, 2, 0, "'a', 'bcd'") &&
           row_is(big, sizeof big, 1, 0, "a 300-byte value with a 2-byte length");
}

static int case_row_one_byte_short(void)
{
    return row_is(B(0x01, 'a', 0x03, 'b', 'c'), 5, 2, -1, "'a', 'bc' of 3") &&
           row_is(B(0xFC, 0x05), 2, 1, -1, "2-byte length cut");
}

static int case_row_one_byte_extra(void)
{
    return row_is(B(0x01, 'a', 0x03, 'b', 'c', 'd', 'e'), 7, 2, -1, "'a', 'bcd' + 1") &&
           row_is(B(0xFB, 0x00), 2, 1, -1, "NULL + 1");
}

static int case_row_length_past_end(void)
{
    return row_is(B(0xFC, 0xFF, 0x00, 'a'), 4, 1, -1, "255 declared") &&
           row_is(B(0xFE, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 'a'), 10, 1, -1, "2^63-1 declared") &&
           row_is(B(0xFF, 0x00), 2, 1, -1, "0xFF as a length");
}

static int case_row_wrong_column_count(void)
{
    return row_is(B(0x01, 'a', 0x01, 'b'), 4, 3, -1, "2 values, 3 columns") &&
           row_is(B(0x01, 'a', 0x01, 'b'), 4, 1, -1, "2 values, 1 column") &&
           row_is(B(0x01, 'a'), 2, 0, -1, "1 value, 0 columns");
}

/* ---- mysql_native_password --------------------------------------------- */

static const uint8_t scramble_1_20[21] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                          11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 0};

static int token_is(const char *pw, const uint8_t *scr, size_t scr_len, const uint8_t want[20])
{
    uint8_t out[20];
    int n = myl_native_password_token(pw, bytes(scr, scr_len), scr_len, out);
    if (n != 20) return fail("'%s': length %d", pw, n);
    if (memcmp(out, want, 20) != 0) return fail("'%s': got %s, want %s", pw, hex(out, 20), hex(want, 20));
    return 1;
}

static int case_native_password_vectors(void)
{
    /* SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))), computed independently. */
    static const uint8_t mylua_pass[20] = {0x64, 0xDC, 0xB4, 0xBD, 0x3A, 0x83, 0xB7, 0x71, 0x59, 0xE6,
                                           0xC4, 0xC8, 0xE1, 0x7C, 0x8D, 0xFD, 0xDF, 0xCA, 0xAD, 0x85};
    static const uint8_t secret[20] = {0xB3, 0x2B, 0xB3, 0xA5, 0x83, 0xE1, 0x34, 0x0C, 0x0A, 0x11,
                                       0x08, 0xD5, 0x8B, 0x1B, 0xE4, 0x97, 0x81, 0xAD, 0x8C, 0x2F};
    return token_is("mylua-pass", scramble_1_20, 20, mylua_pass) &&
           token_is("secret", scramble_1_20, 20, secret) &&
           /* a scramble passed with the handshake's trailing NUL: first 20 count */
           token_is("secret", scramble_1_20, 21, secret);
}

static int case_native_password_empty(void)
{
    uint8_t out[20];
    memset(out, 0x5A, sizeof out);
    int n = myl_native_password_token("", scramble_1_20, 20, out);
    if (n != 0) return fail("empty password: length %d", n);
    n = myl_native_password_token(NULL, scramble_1_20, 20, out);
    if (n != 0) return fail("NULL password: length %d", n);
    return 1;
}


/* ---- the native password plugin ----------------------------------------- */

static int case_native_plugin_answers(void)
{
    myl_error err = {0};
    myl_auth_ctx ctx = {.password = "secret", .err = &err};
    myl_buf out = {0};
    /* the scramble as an auth switch carries it: with its NUL */
    myl_auth_step st = myl_auth_native_password.respond(&ctx, 0, scramble_1_20, 21, &out);
    uint8_t want[20];
    myl_native_password_token("secret", scramble_1_20, 20, want);
    int ok = st == MYL_AUTH_SEND && out.len == 20 && memcmp(out.data, want, 20) == 0;
    myl_buf_free(&out);
    if (!ok) return fail("step %d, %zu bytes", (int)st, out.len);
    if (myl_auth_find("mysql_native_password", 21) != &myl_auth_native_password)
        return fail("not found by name");
    if (myl_auth_find("mysql_native_passwor", 20) || myl_auth_find("mysql_old_password", 18) ||
        myl_auth_find("auth_gssapi_client", 18))
        return fail("found a plugin that is not in the table");
    return 1;
}

/* auth_plugins: names in a comma-separated list, spaces around them
 * ignored, never a prefix or an empty name. */
static int case_auth_allowed_list(void)
{
    const char *list = " caching_sha2_password , client_ed25519,,dialog";
    if (!myl_auth_allowed(NULL, "anything", 8)) return fail("no list refused a plugin");
    if (!myl_auth_allowed(list, "client_ed25519", 14) || !myl_auth_allowed(list, "dialog", 6) ||
        !myl_auth_allowed(list, "caching_sha2_password", 21))
        return fail("a listed plugin was refused");
    if (myl_auth_allowed(list, "client_ed2551", 13) || myl_auth_allowed(list, "sha2_password", 13) ||
        myl_auth_allowed(list, "", 0) || myl_auth_allowed("", "dialog", 6))
        return fail("an unlisted name was allowed");
    return 1;
}

static int case_native_plugin_short_scramble(void)
{
    myl_error err = {0};
    myl_auth_ctx ctx = {.password = "secret", .err = &err};
    myl_buf out = {0};
    myl_auth_step st = myl_auth_native_password.respond(&ctx, 0, scramble_1_20, 12, &out);
    myl_buf_free(&out);
    if (st != MYL_AUTH_FAILED) return fail("answered a 12-byte scramble");
    if (err.code != MYL_CR_SERVER_HANDSHAKE_ERR) return fail("code %d: %s", err.code, err.message);
    st = myl_auth_native_password.respond(&ctx, 1, scramble_1_20, 20, &out);
    myl_buf_free(&out);
    if (st != MYL_AUTH_FAILED) return fail("answered a second round");
    return 1;
}

/* ---- the classifier ------------------------------------------------------ */

static int expect_kind(myl_wait w, const uint8_t *p, size_t n, uint64_t caps, myl_pkt want,
                       const char *what)
{
    myl_pkt got = myl_classify(w, bytes(p, n), n, caps);
    if (got != want) return fail("%s while waiting for %s: got %d, want %d", what,
                                 myl_wait_name(w), (int)got, (int)want);
    return 1;
}

static int case_classify(void)
{
    static const uint8_t ok[] = {0x00, 0, 0, 2, 0, 0, 0};
    static const uint8_t err[] = {0xFF, 0x15, 0x04, '#', '2', '8', '0', '0', '0', 'x'};
    static const uint8_t eof[] = {0xFE, 0, 0, 2, 0};
    static const uint8_t eof_ok[] = {0xFE, 0, 0, 2, 0, 0, 0};
    static const uint8_t infile[] = {0xFB, '/', 'e', 't', 'c'};
    static const uint8_t count1[] = {0x03};
    static const uint8_t count2[] = {0xFC, 0x10, 0x00};
    static const uint8_t count_bad[] = {0x03, 0x00};
    static const uint8_t count9_short[] = {0xFE, 1, 0, 0, 0, 0, 0, 0};
    static const uint8_t greet[] = {10, '5', 0};
    static const uint8_t ssh[] = {'S', 'S', 'H', '-'};
    static const uint8_t sw[] = {0xFE, 'm', 'y', 0, 1, 2};
    static const uint8_t old[] = {0xFE};
    static const uint8_t more[] = {0x01, 0x04};
    static const uint8_t row[] = {0x01, 'a'};
    static const uint8_t fe_row_short[] = {0xFE, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    static const uint8_t count2_meta[] = {0xFC, 0x10, 0x00, 0x01};
    /* id 7, 1 column, 2 parameters, filler, no warnings */
    static const uint8_t prep_ok[] = {0x00, 7, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0};
    const uint64_t de = MYL_CLIENT_DEPRECATE_EOF;
    const uint64_t cm = MYL_MARIADB_CLIENT_CACHE_METADATA;
    return expect_kind(MYL_WAIT_GREETING, greet, 3, 0, MYL_PKT_GREETING, "v10 greeting") &&
           expect_kind(MYL_WAIT_GREETING, ssh, 4, 0, MYL_PKT_MALFORMED, "an SSH banner") &&
           expect_kind(MYL_WAIT_GREETING, err, sizeof err, 0, MYL_PKT_ERR, "ERR") &&
           expect_kind(MYL_WAIT_AUTH, ok, sizeof ok, 0, MYL_PKT_OK, "OK") &&
           expect_kind(MYL_WAIT_AUTH, sw, sizeof sw, 0, MYL_PKT_AUTH_SWITCH, "auth switch") &&
           expect_kind(MYL_WAIT_AUTH, old, 1, 0, MYL_PKT_OLD_AUTH, "old auth switch") &&
           expect_kind(MYL_WAIT_AUTH, more, 2, 0, MYL_PKT_AUTH_MORE, "more data") &&
           expect_kind(MYL_WAIT_AUTH, row, 2 - 1, 0, MYL_PKT_AUTH_MORE, "0x01 alone") &&
           expect_kind(MYL_WAIT_AUTH, infile, sizeof infile, 0, MYL_PKT_MALFORMED, "0xFB") &&
           expect_kind(MYL_WAIT_OK, ok, sizeof ok, 0, MYL_PKT_OK, "OK") &&
           expect_kind(MYL_WAIT_OK, eof, sizeof eof, 0, MYL_PKT_EOF, "EOF") &&
           expect_kind(MYL_WAIT_OK, row, 2, 0, MYL_PKT_MALFORMED, "a row") &&
           expect_kind(MYL_WAIT_RESULT, ok, sizeof ok, 0, MYL_PKT_OK, "OK") &&
           expect_kind(MYL_WAIT_RESULT, err, sizeof err, 0, MYL_PKT_ERR, "ERR") &&
           expect_kind(MYL_WAIT_RESULT, infile, sizeof infile, 0, MYL_PKT_LOCAL_INFILE, "0xFB") &&
           expect_kind(MYL_WAIT_RESULT, count1, 1, 0, MYL_PKT_RESULT_SET, "count 3") &&
           expect_kind(MYL_WAIT_RESULT, count2, 3, 0, MYL_PKT_RESULT_SET, "count 16") &&
           expect_kind(MYL_WAIT_RESULT, count_bad, 2, 0, MYL_PKT_MALFORMED, "count + junk") &&
           expect_kind(MYL_WAIT_RESULT, count9_short, 8, 0, MYL_PKT_MALFORMED, "cut 8-byte count") &&
           expect_kind(MYL_WAIT_RESULT, ok, 0, 0, MYL_PKT_MALFORMED, "empty") &&
           expect_kind(MYL_WAIT_COLUMNS_END, eof, sizeof eof, 0, MYL_PKT_EOF, "EOF") &&
           expect_kind(MYL_WAIT_COLUMNS_END, row, 2, 0, MYL_PKT_MALFORMED, "a row") &&
           expect_kind(MYL_WAIT_ROW, row, 2, 0, MYL_PKT_ROW, "a row") &&
           expect_kind(MYL_WAIT_ROW, eof, sizeof eof, 0, MYL_PKT_EOF, "EOF") &&
           expect_kind(MYL_WAIT_ROW, eof_ok, sizeof eof_ok, de, MYL_PKT_EOF, "OK as EOF") &&
           expect_kind(MYL_WAIT_ROW, fe_row_short, sizeof fe_row_short, 0, MYL_PKT_MALFORMED,
                       "0xFE row shorter than 16 MiB") &&
           expect_kind(MYL_WAIT_ROW, err, sizeof err, 0, MYL_PKT_ERR, "ERR") &&
           expect_kind(MYL_WAIT_INFILE_DONE, ok, sizeof ok, 0, MYL_PKT_OK, "OK") &&
           expect_kind(MYL_WAIT_INFILE_DONE, row, 2, 0, MYL_PKT_MALFORMED, "a row") &&
           /* MariaDB's metadata cache: one byte more after the count */
           expect_kind(MYL_WAIT_RESULT, count_bad, 2, cm, MYL_PKT_RESULT_SET, "count + metadata byte") &&
           expect_kind(MYL_WAIT_RESULT, count1, 1, cm, MYL_PKT_MALFORMED, "count without it") &&
           expect_kind(MYL_WAIT_RESULT, count2_meta, 4, cm, MYL_PKT_RESULT_SET, "count 16 + byte") &&
           expect_kind(MYL_WAIT_RESULT, count2_meta, 4, 0, MYL_PKT_MALFORMED, "a byte not negotiated") &&
           expect_kind(MYL_WAIT_PREPARE, prep_ok, sizeof prep_ok, 0, MYL_PKT_PREPARE_OK, "prepare OK") &&
           expect_kind(MYL_WAIT_PREPARE, prep_ok, 11, 0, MYL_PKT_MALFORMED, "prepare OK cut short") &&
           expect_kind(MYL_WAIT_PREPARE, err, sizeof err, 0, MYL_PKT_ERR, "prepare ERR") &&
           expect_kind(MYL_WAIT_PREPARE, eof, sizeof eof, 0, MYL_PKT_MALFORMED, "prepare EOF");
}

/* ---- the row iterator ---------------------------------------------------- */

static int case_row_iterator(void)
{
    /* "ab", NULL, "", 300 bytes of 'x' (0xFC length) */
    uint8_t row[1 + 2 + 1 + 1 + 3 + 300];
    size_t n = 0;
    row[n++] = 2, row[n++] = 'a', row[n++] = 'b';
    row[n++] = 0xFB;
    row[n++] = 0;
    row[n++] = 0xFC, row[n++] = 300 & 0xFF, row[n++] = 300 >> 8;
    memset(row + n, 'x', 300);
    n += 300;
    for (int trusted = 0; trusted <= 1; trusted++) {
        myl_row_iter it;
        myl_row_begin(&it, bytes(row, n), n);
        const uint8_t *v;
        size_t len;
        int k[4];
        size_t l[4];
        for (int i = 0; i < 4; i++) {
            k[i] = trusted ? myl_row_next_trusted(&it, &v, &len) : myl_row_next(&it, &v, &len);
            l[i] = k[i] == MYL_ROW_VALUE ? len : 0;
        }
        if (k[0] != MYL_ROW_VALUE || l[0] != 2 || k[1] != MYL_ROW_NULL || k[2] != MYL_ROW_VALUE ||
            l[2] != 0 || k[3] != MYL_ROW_VALUE || l[3] != 300 || !myl_row_done(&it))
            return fail("trusted=%d: kinds %d %d %d %d", trusted, k[0], k[1], k[2], k[3]);
    }
    /* every cut of the row is refused by the checked walk */
    for (size_t cut = 0; cut < n; cut++) {
        myl_row_iter it;
        myl_row_begin(&it, bytes(row, cut), cut);
        const uint8_t *v;
        size_t len;
        int bad = 0;
        for (int i = 0; i < 4 && !bad; i++) bad = myl_row_next(&it, &v, &len) == MYL_ROW_BAD;
        if (!bad && myl_row_done(&it) && cut != 0) return fail("a row cut at %zu was accepted", cut);
    }
    static const uint8_t ff[] = {0xFF, 1, 2};
    myl_row_iter it;
    myl_row_begin(&it, bytes(ff, 3), 3);
    const uint8_t *v;
    size_t len;
    if (myl_row_next(&it, &v, &len) != MYL_ROW_BAD) return fail("0xFF taken as a length");
    return 1;
}

/* ---- escaping ---------------------------------------------------------- */

static int escape_is(const char *in, size_t n, myl_mb_kind mb, int no_bs, const char *want, size_t want_len)
{
    char *out = malloc(2 * n + 1);
    if (!out) return fail("out of memory");
    const char *src = (const char *)bytes(in, n);
    size_t got = myl_escape(out, src, n, mb, no_bs);
    int ok = got == want_len && memcmp(out, want, want_len) == 0;
    if (!ok) fail("%s -> %s, want %s", hex(in, n), hex(out, got), hex(want, want_len));
    free(out);
    return ok;
}
#define ESC(in, mb, nb, want) escape_is(in, sizeof in - 1, mb, nb, want, sizeof want - 1)

static int case_escape_utf8(void)
{
    return ESC("a\0b\nc\rd\\e'f\"g\x1Ah", MYL_MB_NONE, 0, "a\\0b\\nc\\rd\\\\e\\'f\\\"g\\Zh") &&
           ESC("plain text 123", MYL_MB_NONE, 0, "plain text 123") &&
           /* UTF-8 multibyte characters pass unchanged */
           ESC("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", MYL_MB_NONE, 0, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") &&
           ESC("", MYL_MB_NONE, 0, "");
}

static int case_escape_no_backslash(void)
{
    /* NO_BACKSLASH_ESCAPES: only the quote is doubled; backslash, NUL, CR,
     * LF, " and ^Z are ordinary characters. */
    return ESC("it's a\\b\0c\nd\re\"f\x1A''", MYL_MB_NONE, 1, "it''s a\\b\0c\nd\re\"f\x1A''''");
}

static int case_escape_gbk_trail_5c(void)
{
    /* 0xBF 0x5C is one GBK character: its 0x5C must not be escaped. */
    return ESC("\xBF\x5C", MYL_MB_GBK, 0, "\xBF\x5C") &&
           ESC("a\xBF\x5C'", MYL_MB_GBK, 0, "a\xBF\x5C\\'") &&
           ESC("\xBF\x5C", MYL_MB_GBK, 1, "\xBF\x5C");
}

static int case_escape_gbk_lone_lead(void)
{
    /* A lead byte followed by a quote is no character; the lead byte itself
     * is escaped so it cannot swallow the backslash before the quote. */
    return ESC("\xBF\x27", MYL_MB_GBK, 0, "\x5C\xBF\x5C\x27") &&
           ESC("\xBF", MYL_MB_GBK, 0, "\x5C\xBF") &&
           /* without backslash escapes the quote is doubled */
           ESC("\xBF\x27", MYL_MB_GBK, 1, "\xBF\x27\x27");
}

static int case_escape_sjis_big5_trail_5c(void)
{
    /* 0x95 0x5C (SJIS) and 0xA5 0x5C (Big5) are single characters. */
    return ESC("\x95\x5C", MYL_MB_SJIS, 0, "\x95\x5C") && ESC("\xA5\x5C", MYL_MB_BIG5, 0, "\xA5\x5C");
}

/* Reads escaped text as the server reads the inside of a '...' literal.
 * Returns NULL when the literal ends exactly at the closing quote the client
 * adds after the text, else what goes wrong. */
static const char *server_reads(const uint8_t *s, size_t n, myl_mb_kind mb, int no_backslash)
{
    uint8_t out[16];
    if (n > sizeof out) return "escaped text too long for this check";
    if (server_read(s, n, mb, no_backslash, out) < 0)
        return "a quote ends the literal early, or a backslash escapes the closing quote";
    return NULL;
}

/* For every byte 0x80..0xFF followed by each ASCII byte the server treats
 * specially and a quote (and the byte alone), in both escaping modes, the
 * escaped text must read back as one literal. */
static int escape_survives_server(myl_mb_kind mb)
{
    static const uint8_t specials[] = {'\'', '\\', '"', 0x00, '\n', 0x1A, 'x'};
    for (unsigned a = 0x80; a <= 0xFF; a++) {
        for (size_t k = 0; k <= sizeof specials; k++) {
            uint8_t in[3] = {(uint8_t)a, k < sizeof specials ? specials[k] : 0, '\''};
            size_t n = k < sizeof specials ? 3 : 1;
            for (int nb = 0; nb <= 1; nb++) {
                char out[6];
                size_t m = myl_escape(out, (const char *)bytes(in, n), n, mb, nb);
                const char *problem = server_reads((const uint8_t *)out, m, mb, nb);
                free_owned();
                if (problem)
                    return fail("%s%s -> %s: %s", hex(in, n), nb ? " (no backslash escapes)" : "",
                                hex(out, m), problem);
            }
        }
    }
    return 1;
}

static int case_escape_gbk_server_reads_one_literal(void) { return escape_survives_server(MYL_MB_GBK); }
static int case_escape_big5_server_reads_one_literal(void) { return escape_survives_server(MYL_MB_BIG5); }
static int case_escape_sjis_server_reads_one_literal(void) { return escape_survives_server(MYL_MB_SJIS); }

/* ---- quoting ----------------------------------------------------------- */

static int quote_is(const char *in, size_t n, const char *charset, const char *want, size_t want_len)
{
    const myl_charset *cs = myl_charset_find(charset);
    if (!cs) return fail("no charset %s", charset);
    size_t bound = myl_quote_bound(n);
    char *out = malloc(bound);
    if (!out) return fail("out of memory");
    size_t got = myl_quote(out, (const char *)bytes(in, n), n, cs);
    int ok = got <= bound && got == want_len && memcmp(out, want, want_len) == 0;
    if (!ok) fail("%s in %s -> [%.*s], want [%s]", hex(in, n), charset, (int)got, out, want);
    free(out);
    return ok;
}
#define QUOTE(in, cs, want) quote_is(in, sizeof in - 1, cs, want, sizeof want - 1)

static int case_quote_plain(void)
{
    return QUOTE("", "utf8mb4", "''") && QUOTE("it's", "utf8mb4", "'it''s'") &&
           QUOTE("''", "utf8mb4", "''''''") && QUOTE("\n\r\t\x1A\"%_", "utf8mb4", "'\n\r\t\x1A\"%_'") &&
           QUOTE("\xC3\xA9\xF0\x9F\x98\x80", "utf8mb4", "'\xC3\xA9\xF0\x9F\x98\x80'") &&
           QUOTE("a/b*c", "utf8mb4", "'a/b*c'") && QUOTE("\xFF'", "latin1", "'\xFF'''") &&
           QUOTE("a'b", "binary", "'a''b'");
}

static int case_quote_hex(void)
{
    /* a backslash, a NUL, or a comment mark: hex with the charset's introducer */
    return QUOTE("\\", "utf8mb4", "_utf8mb4 X'5C'") && QUOTE("\\'", "utf8mb4", "_utf8mb4 X'5C27'") &&
           QUOTE("x\0y", "utf8mb4", "_utf8mb4 X'780079'") && QUOTE("/*", "utf8mb4", "_utf8mb4 X'2F2A'") &&
           QUOTE("a*/", "utf8mb4", "_utf8mb4 X'612A2F'") && QUOTE("\\", "latin1", "_latin1 X'5C'") &&
           QUOTE("\xC3\xA9\\", "utf8", "_utf8 X'C3A95C'") && QUOTE("\\", "binary", "_binary X'5C'") &&
           QUOTE("\x01\xAB\xCD\xEF\\", "latin1", "_latin1 X'01ABCDEF5C'");
}

static int case_quote_not_text(void)
{
    /* bytes that are not text in the charset go as a binary string */
    return QUOTE("\xFF'", "utf8mb4", "_binary'\xFF'''") && QUOTE("\xFF\\", "utf8mb4", "_binary X'FF5C'") &&
           QUOTE("\xF0\x9F\x98\x80\\", "utf8mb3", "_binary X'F09F98805C'") &&
           QUOTE("\xF0\x9F\x98\x80", "utf8mb3", "_binary'\xF0\x9F\x98\x80'") &&
           QUOTE("\xBF'", "gbk", "_binary'\xBF'''") && QUOTE("\xBF", "gbk", "_binary'\xBF'");
}

static int case_quote_trail_5c(void)
{
    /* a two-byte character whose trail byte is 0x5C goes in hex, as text */
    return QUOTE("\xBF\x5C", "gbk", "_gbk X'BF5C'") && QUOTE("\xA5\x5C'", "big5", "_big5 X'A55C27'") &&
           QUOTE("\x95\x5C", "sjis", "_sjis X'955C'") && QUOTE("\x95\x5C", "cp932", "_cp932 X'955C'") &&
           /* other two-byte characters stay plain, stepped over whole */
           QUOTE("\xA4\x40'", "big5", "'\xA4\x40'''") && QUOTE("\x81\x40\xA1", "sjis", "'\x81\x40\xA1'");
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Checks that the literal q reads back as exactly in[0..n) in both escaping
 * modes: a plain literal through the server's lexer, a hex one by its
 * digits; neither may hold a backslash, NUL or comment mark. */
static const char *reads_back(const char *q, size_t m, const uint8_t *in, size_t n, myl_mb_kind mb)
{
    for (size_t i = 0; i < m; i++) {
        if (q[i] == '\\' || q[i] == 0) return "a backslash or NUL in the literal";
        if (i + 1 < m && ((q[i] == '/' && q[i + 1] == '*') || (q[i] == '*' && q[i + 1] == '/')))
            return "a comment mark in the literal";
    }
    if (m >= 8 && memcmp(q, "_binary'", 8) == 0) q += 7, m -= 7;
    if (q[0] == '\'') {
        uint8_t out[32];
        if (m < 2 || q[m - 1] != '\'' || m - 2 > sizeof out) return "not a quoted literal";
        for (int nb = 0; nb <= 1; nb++) {
            long got = server_read((const uint8_t *)q + 1, m - 2, mb, nb, out);
            if (got < 0) return "the literal ends early";
            if ((size_t)got != n || memcmp(out, in, n) != 0) return "reads back different bytes";
        }
        return NULL;
    }
    const char *x = memchr(q, 'X', m);
    if (q[0] != '_' || !x || x[1] != '\'' || q[m - 1] != '\'') return "neither plain nor hex";
    const char *h = x + 2;
    if ((size_t)(q + m - 1 - h) != 2 * n) return "wrong number of hex digits";
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(h[2 * i]), lo = hexval(h[2 * i + 1]);
        if (hi < 0 || lo < 0 || (uint8_t)(hi * 16 + lo) != in[i]) return "hex digits differ";
    }
    return NULL;
}

/* Every one- and two-byte value, alone and followed by a quote, a
 * backslash or a NUL, quoted for the charset, reads back exactly in both
 * modes. */
static int quote_reads_back(const char *charset)
{
    const myl_charset *cs = myl_charset_find(charset);
    static const uint8_t tails[] = {'\'', '\\', 0};
    for (unsigned v = 0; v < 0x10000; v++) {
        for (size_t len = 1; len <= 2; len++) {
            if (len == 1 && v > 0xFF) continue;
            for (size_t t = 0; t <= sizeof tails; t++) {
                uint8_t buf[3] = {(uint8_t)(v >> 8), (uint8_t)v, 0};
                if (len == 1) buf[0] = (uint8_t)v;
                size_t n = len;
                if (t < sizeof tails) buf[n++] = tails[t];
                char q[64];
                size_t m = myl_quote(q, (const char *)bytes(buf, n), n, cs);
                const char *problem = reads_back(q, m, buf, n, cs->mb);
                free_owned();
                if (problem) return fail("%s in %s -> [%.*s]: %s", hex(buf, n), charset, (int)m, q, problem);
            }
        }
    }
    return 1;
}

static int case_quote_reads_back_utf8mb4(void) { return quote_reads_back("utf8mb4"); }
static int case_quote_reads_back_gbk(void) { return quote_reads_back("gbk"); }
static int case_quote_reads_back_big5(void) { return quote_reads_back("big5"); }
static int case_quote_reads_back_sjis(void) { return quote_reads_back("sjis"); }

static int case_quote_bound(void)
{
    if (myl_quote_bound(0) < 2 || myl_quote_bound(1) < sizeof "_armscii8 X'00'" - 1)
        return fail("bound too small");
    if (myl_quote_bound((size_t)-1 / 2) != 0) return fail("overflow not reported");
    return 1;
}

static int text_is(const char *in, size_t n, const char *charset, int want)
{
    int got = myl_charset_is_text(myl_charset_find(charset), (const char *)bytes(in, n), n);
    if (got != want)
        return fail("%s in %s: %s, want %s", hex(in, n), charset, got ? "text" : "not text",
                    want ? "text" : "not text");
    return 1;
}
#define TEXT(in, cs, want) text_is(in, sizeof in - 1, cs, want)

static int case_charset_is_text(void)
{
    return TEXT("", "utf8mb4", 1) && TEXT("\xF0\x9F\x98\x80", "utf8mb4", 1) &&
           TEXT("\xF0\x9F\x98\x80", "utf8mb3", 0) && TEXT("\xC0\x80", "utf8mb4", 0) &&
           TEXT("\xE0\x9F\xBF", "utf8mb4", 0) && TEXT("\xED\xA0\x80", "utf8mb4", 1) && /* as the server */
           TEXT("\xF4\x90\x80\x80", "utf8mb4", 0) && TEXT("\xC3", "utf8mb4", 0) &&
           TEXT("\xFF\x80", "latin1", 1) && TEXT("\xFF", "binary", 1) &&
           TEXT("\xA1\x40\xF9\xFE", "big5", 1) && TEXT("\xA1", "big5", 0) && TEXT("\xA1\x80", "big5", 0) &&
           TEXT("\x81\x40\xFE\x80", "gbk", 1) && TEXT("\x80", "gbk", 0) && TEXT("\x81\x7F", "gbk", 0) &&
           TEXT("\xA1\xDF\x81\x40", "sjis", 1) && TEXT("\x81", "sjis", 0) && TEXT("\xFD", "cp932", 0) &&
           TEXT("\x81\x41\x81\x61", "euckr", 1) && TEXT("\x81\x5B", "euckr", 0) &&
           TEXT("\x8F\xA1\xA1\x8E\xA1\xA1\xA1", "ujis", 1) && TEXT("\x8E\xE0", "eucjpms", 0) &&
           TEXT("\x8F\xA1", "ujis", 0);
}

static int case_mb_charlen(void)
{
    if (myl_mb_charlen("\xBF\x5C", 2, MYL_MB_GBK) != 2 || myl_mb_charlen("\xBF\x27", 2, MYL_MB_GBK) != 0 ||
        myl_mb_charlen("\xBF", 1, MYL_MB_GBK) != 0 || myl_mb_charlen("\xA5\x60", 2, MYL_MB_BIG5) != 2 ||
        myl_mb_charlen("\xC3\xA9", 2, MYL_MB_NONE) != 0)
        return fail("wrong length");
    return 1;
}

/* ---- charsets ---------------------------------------------------------- */

static int case_charset_find(void)
{
    struct { const char *name; unsigned id; myl_mb_kind mb; } known[] = {
        {"utf8mb4", 45, MYL_MB_NONE}, {"UTF8", 33, MYL_MB_NONE},  {"utf8mb3", 33, MYL_MB_NONE},
        {"UtF8mB4", 45, MYL_MB_NONE}, {"latin1", 8, MYL_MB_NONE}, {"binary", 63, MYL_MB_NONE},
        {"GBK", 28, MYL_MB_GBK},      {"big5", 1, MYL_MB_BIG5},   {"sjis", 13, MYL_MB_SJIS},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const myl_charset *cs = myl_charset_find(known[i].name);
        if (!cs) return fail("'%s' not found", known[i].name);
        if (cs->collation_id != known[i].id || cs->mb != known[i].mb)
            return fail("'%s': collation %u mb %d", known[i].name, cs->collation_id, (int)cs->mb);
    }
    return 1;
}

static int case_charset_unknown(void)
{
    const char *unknown[] = {"nosuch", "", "utf8mb", "utf8mb44", "utf16", "ucs2"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        if (myl_charset_find(unknown[i])) return fail("'%s' found", unknown[i]);
    return 1;
}

/* ---- main -------------------------------------------------------------- */

int main(void)
{
    static const struct { const char *name; int (*fn)(void); } cases[] = {
        {"rd lenenc 1-byte values", case_lenenc_1byte},
        {"rd lenenc 1-byte truncated is bad", case_lenenc_1byte_truncated},
        {"rd lenenc 0xFC 2-byte", case_lenenc_2byte},
        {"rd lenenc 0xFC truncated is bad", case_lenenc_2byte_truncated},
        {"rd lenenc 0xFD 3-byte", case_lenenc_3byte},
        {"rd lenenc 0xFD truncated is bad", case_lenenc_3byte_truncated},
        {"rd lenenc 0xFE 8-byte", case_lenenc_8byte},
        {"rd lenenc 0xFE truncated is bad", case_lenenc_8byte_truncated},
        {"rd lenenc 0xFB is the NULL marker", case_lenenc_null_marker},
        {"rd lenenc 0xFF is rejected", case_lenenc_ff_rejected},
        {"rd fixed-width integers are little-endian", case_rd_fixed_ints_le},
        {"rd an overrun is sticky", case_rd_sticky_bad},
        {"rd lenenc_str", case_lenenc_str},
        {"rd lenenc_str with a length past the end is bad", case_lenenc_str_past_end},
        {"rd nulstr", case_nulstr},
        {"rd nulstr without NUL is bad", case_nulstr_without_nul},
        {"handshake MariaDB 10.11 greeting", case_handshake_mariadb},
        {"handshake capabilities incl. MariaDB extended bits", case_handshake_capabilities},
        {"handshake thread id is little-endian", case_handshake_thread_id_le},
        {"handshake with CLIENT_MYSQL set ignores the filler", case_handshake_mysql_ignores_filler},
        {"handshake plugin name without NUL", case_handshake_plugin_without_nul},
        {"handshake truncated at every length", case_handshake_truncated_everywhere},
        {"handshake protocol version other than 10 is rejected", case_handshake_not_v10},
        {"handshake auth data length too large is rejected", case_handshake_auth_len_too_large},
        {"ok 8-byte affected rows and insert id, info", case_ok_wide_with_info},
        {"ok captured from UPDATE", case_ok_captured_update},
        {"ok without info; 0xFE header", case_ok_without_info},
        {"ok truncated is rejected", case_ok_truncated},
        {"ok info past the end", case_ok_info_past_end},
        {"err with # sqlstate", case_err_with_sqlstate},
        {"err without sqlstate", case_err_without_sqlstate},
        {"err malformed", case_err_malformed},
        {"eof", case_eof},
        {"coldef SELECT 1 AS a", case_coldef_select_1},
        {"coldef table columns", case_coldef_table_columns},
        {"coldef fixed-length field below 12 is rejected", case_coldef_fixed_len_too_small},
        {"coldef fixed-length field past the end is rejected", case_coldef_fixed_len_past_end},
        {"coldef name past the end is rejected", case_coldef_name_past_end},
        {"text row captured rows", case_row_captured},
        {"text row NULLs and empty strings", case_row_nulls_and_empty},
        {"text row exact fit", case_row_exact_fit},
        {"text row one byte short", case_row_one_byte_short},
        {"text row one byte extra", case_row_one_byte_extra},
        {"text row length past the end", case_row_length_past_end},
        {"text row wrong column count", case_row_wrong_column_count},
        {"native password known vectors", case_native_password_vectors},
        {"native password empty gives length 0", case_native_password_empty},
        {"native password plugin answers a scramble with or without its NUL", case_native_plugin_answers},
        {"auth_plugins lists names, not prefixes", case_auth_allowed_list},
        {"native password plugin refuses a short scramble and a second round", case_native_plugin_short_scramble},
        {"classifier: what each first byte means for what is awaited", case_classify},
        {"row iterator: checked and trusted walks, every cut refused", case_row_iterator},
        {"escape utf8", case_escape_utf8},
        {"escape with no_backslash doubles only the quote", case_escape_no_backslash},
        {"escape gbk 0xBF 0x5C stays one character", case_escape_gbk_trail_5c},
        {"escape gbk lone lead byte before a quote", case_escape_gbk_lone_lead},
        {"escape sjis and big5 trail 0x5C", case_escape_sjis_big5_trail_5c},
        {"escape gbk output reads as one literal on the server", case_escape_gbk_server_reads_one_literal},
        {"escape big5 output reads as one literal on the server", case_escape_big5_server_reads_one_literal},
        {"escape sjis output reads as one literal on the server", case_escape_sjis_server_reads_one_literal},
        {"quote plain values with the quote doubled", case_quote_plain},
        {"quote a backslash, NUL or comment mark in hex", case_quote_hex},
        {"quote bytes that are not text as binary", case_quote_not_text},
        {"quote a 0x5C trail byte in hex as text", case_quote_trail_5c},
        {"quote output reads back in both modes (utf8mb4)", case_quote_reads_back_utf8mb4},
        {"quote output reads back in both modes (gbk)", case_quote_reads_back_gbk},
        {"quote output reads back in both modes (big5)", case_quote_reads_back_big5},
        {"quote output reads back in both modes (sjis)", case_quote_reads_back_sjis},
        {"quote bound", case_quote_bound},
        {"charset text checks follow the server", case_charset_is_text},
        {"mb charlen", case_mb_charlen},
        {"charset find", case_charset_find},
        {"charset unknown is NULL", case_charset_unknown},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run(cases[i].name, cases[i].fn);
    return nfailed == 0 ? 0 : 1;
}
