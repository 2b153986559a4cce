/* libFuzzer target for binary-protocol rows in the Lua binding:
 * myl_lua_push_row on columns marked binary (src/lua/convert_bin.c), on a
 * real lua_State.  `make fuzz` builds and runs it.
 *
 * Input: one byte for the column count (1..8), three bytes per column
 * (type; flags: bit 0 UNSIGNED, bit 1 ZEROFILL, the rest times 4 the
 * display width; decimals), then one binary row payload,
 * copied into an exact-size heap buffer.  The row is pushed in every shape:
 * keyed, array, values, and refilling a table keyed and as an array.
 * Checked, with abort() on a violation:
 *   - the call returns -1 exactly when myl_check_bin_row rejects the row,
 *     and then leaves the stack as it was;
 *   - otherwise it returns 1 (one table, the refilled one when asked) or,
 *     for values, ncols with exactly ncols values pushed;
 *   - every value is the very Lua value the text protocol gives for the
 *     same data: the row is rewritten as a text row (integers in decimal,
 *     FLOAT, DOUBLE and temporal values as binrow.h formats them, ZEROFILL
 *     numbers padded to the display width, bytes as they are, NULL as
 *     0xFB) and pushed through the text path of the same
 *     columns; the two must agree in type, integer-ness and value, floats
 *     bit for bit.
 *
 * With FUZZ_WRITE_SEEDS=DIR in the environment it writes its seed inputs
 * into DIR and exits. */
#include <inttypes.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/binrow.h"
#include "../../src/core/proto.h"
#include "../../src/lua/binding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_COLS 8

static const char *const names[MAX_COLS] = {"c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8"};

/* Column types by the input's type byte; a byte past the table is the type
 * itself (unknown types are length-encoded). */
static const unsigned types[] = {
    MYL_TYPE_TINY,       MYL_TYPE_SHORT,     MYL_TYPE_INT24,    MYL_TYPE_LONG,      MYL_TYPE_LONGLONG,
    MYL_TYPE_YEAR,       MYL_TYPE_FLOAT,     MYL_TYPE_DOUBLE,   MYL_TYPE_DATE,      MYL_TYPE_DATETIME,
    MYL_TYPE_TIMESTAMP,  MYL_TYPE_TIME,      MYL_TYPE_NEWDECIMAL, MYL_TYPE_VAR_STRING, MYL_TYPE_BLOB,
    MYL_TYPE_BIT,        MYL_TYPE_NULL,      MYL_TYPE_ENUM,     MYL_TYPE_JSON,      MYL_TYPE_NEWDATE,
};
#define NTYPES (sizeof types / sizeof types[0])

static lua_State *L;
static const char *shape = "";

static void violated(const char *what, size_t col)
{
    fprintf(stderr, "fuzz_binrows: property violated in the %s shape: %s (column %zu)\n", shape, what, col + 1);
    abort();
}

/* ---- the same row in the text protocol ---------------------------------- */

static void put_lenenc_str(myl_buf *b, const void *s, size_t n)
{
    if (myl_buf_reserve(b, 9 + n) != 0) abort();
    myl_buf_put_lenenc(b, n);
    myl_buf_put(b, s, n);
}

/* Rewrites an accepted binary row as the text row the server would send. */
static void text_row(const myl_columns *cols, const uint8_t *p, size_t n, myl_buf *out)
{
    myl_bin_row_iter it;
    if (myl_bin_row_begin(&it, p, n, cols) != 0) violated("begin refused an accepted row", 0);
    out->len = 0;
    for (size_t i = 0; i < cols->n; i++) {
        myl_bin_value v;
        int k = myl_bin_row_next(&it, &v);
        if (k == MYL_ROW_BAD) violated("an accepted row walks bad", i);
        if (k == MYL_ROW_NULL) {
            if (myl_buf_reserve(out, 1) != 0) abort();
            myl_buf_put_u8(out, 0xFB);
            continue;
        }
        const myl_column *c = &cols->col[i];
        char buf[MYL_DOUBLE_TEXT_MAX + 256];
        size_t len = 0;
        switch (v.kind) {
        case MYL_BIN_INT: len = (size_t)snprintf(buf, sizeof buf, "%" PRId64, v.v.i); break;
        case MYL_BIN_UINT: len = (size_t)snprintf(buf, sizeof buf, "%" PRIu64, v.v.u); break;
        case MYL_BIN_FLOAT: len = myl_format_float(buf, v.v.f, c->decimals); break;
        case MYL_BIN_DOUBLE: len = myl_format_double(buf, v.v.d, c->decimals); break;
        case MYL_BIN_DATE:
        case MYL_BIN_DATETIME:
        case MYL_BIN_TIME: len = myl_format_datetime(buf, c->type, c->decimals, &v.v.t); break;
        case MYL_BIN_BYTES: put_lenenc_str(out, v.v.s.p, v.v.s.len); continue;
        }
        if (len != strlen(buf)) violated("formatted length is not the text's", i);
        size_t width = c->length < 255 ? c->length : 255;
        if ((c->flags & MYL_FLAG_ZEROFILL) && v.kind <= MYL_BIN_DOUBLE && buf[0] != '-' && len < width) {
            /* the server pads a ZEROFILL number to the display width */
            memmove(buf + (width - len), buf, len);
            memset(buf, '0', width - len);
            len = width;
        }
        put_lenenc_str(out, buf, len);
    }
    if (!myl_bin_row_done(&it)) violated("an accepted row has bytes left", 0);
}

/* ---- comparing values --------------------------------------------------- */

static void same_value(int a, int b, size_t col)
{
    int t = lua_type(L, a);
    if (t != lua_type(L, b)) violated("binary and text values differ in type", col);
    switch (t) {
    case LUA_TNUMBER:
        if (lua_isinteger(L, a) != lua_isinteger(L, b)) violated("integer against float", col);
        if (lua_isinteger(L, a)) {
            if (lua_tointeger(L, a) != lua_tointeger(L, b)) violated("integers differ", col);
        } else {
            lua_Number x = lua_tonumber(L, a), y = lua_tonumber(L, b);
            if (memcmp(&x, &y, sizeof x) != 0) violated("floats differ (bits)", col);
        }
        break;
    case LUA_TSTRING: {
        size_t n1, n2;
        const char *s1 = lua_tolstring(L, a, &n1), *s2 = lua_tolstring(L, b, &n2);
        if (n1 != n2 || memcmp(s1, s2, n1) != 0) violated("strings differ", col);
        break;
    }
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, a) != NULL || lua_touserdata(L, b) != NULL) violated("not the null sentinel", col);
        break;
    default: violated("a value of an unexpected type", col);
    }
}

/* Pushes both rows in one shape and compares them. */
static void run_mode(myl_columns *bin, myl_columns *txt, const uint8_t *p, size_t n, const myl_buf *text,
                     int mode, int refill, int names_idx, int accepted)
{
    size_t ncols = bin->n;
    int target = 0;
    shape = mode == ROW_VALUES ? "values" : mode == ROW_ARRAY ? (refill ? "array refill" : "array")
                                                              : (refill ? "keyed refill" : "keyed");
    if (refill) {
        lua_createtable(L, 2, 2);
        lua_pushliteral(L, "stale");
        lua_rawseti(L, -2, 1);
        lua_pushliteral(L, "stale");
        lua_setfield(L, -2, "c1");
        target = lua_gettop(L);
    }
    int top = lua_gettop(L);
    int rc = myl_lua_push_row(L, bin, p, n, mode, names_idx, target, 1);
    if (!accepted) {
        if (rc != -1) violated("malformed row accepted", 0);
        if (lua_gettop(L) != top) violated("failed push left values on the stack", 0);
        lua_settop(L, names_idx);
        return;
    }
    int want = mode == ROW_VALUES ? (int)ncols : 1;
    if (rc != want || lua_gettop(L) != top + want) violated("wrong count pushed", 0);
    if (mode != ROW_VALUES && (!lua_istable(L, -1) || (refill && !lua_rawequal(L, -1, target))))
        violated("not the table asked for", 0);
    int b = top + 1;
    /* The text row into a fresh table (or values) of its own. */
    int text_target = 0;
    if (refill) {
        lua_createtable(L, 2, 2);
        lua_pushliteral(L, "stale");
        lua_rawseti(L, -2, 1);
        lua_pushliteral(L, "stale");
        lua_setfield(L, -2, "c1");
        text_target = lua_gettop(L);
    }
    int t = lua_gettop(L) + (refill ? 0 : 1);
    if (myl_lua_push_row(L, txt, text->data, text->len, mode, names_idx, text_target, 1) != want)
        violated("the text row of an accepted row is refused", 0);
    if (refill) t = lua_gettop(L);
    for (size_t i = 0; i < ncols; i++) {
        if (mode == ROW_VALUES) {
            same_value(b + (int)i, t + (int)i, i);
            continue;
        }
        if (mode == ROW_ARRAY) {
            lua_rawgeti(L, b, (lua_Integer)i + 1);
            lua_rawgeti(L, t, (lua_Integer)i + 1);
        } else {
            lua_getfield(L, b, names[i]);
            lua_getfield(L, t, names[i]);
        }
        same_value(-2, -1, i);
        lua_pop(L, 2);
    }
    lua_settop(L, names_idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t ncols = 1 + (data[0] & 7);
    if (size < 1 + 3 * ncols) return 0;

    myl_column colv[MAX_COLS];
    myl_columns bin = {ncols, colv, 1, 1};
    for (size_t i = 0; i < ncols; i++) {
        const uint8_t *d = data + 1 + 3 * i;
        myl_column *c = &colv[i];
        memset(c, 0, sizeof *c);
        c->catalog = c->db = c->table = c->org_table = "";
        c->name = c->org_name = names[i];
        c->name_len = strlen(c->name);
        c->type = d[0] < NTYPES ? types[d[0]] : d[0];
        c->flags = ((d[1] & 1) ? MYL_FLAG_UNSIGNED : 0) | ((d[1] & 2) ? MYL_FLAG_ZEROFILL : 0);
        c->length = (uint32_t)(d[1] >> 2) * 4; /* the display width, 0 to 252 */
        c->decimals = d[2] % 40;
        c->vclass = myl_value_class_of(c->type, c->flags);
    }
    myl_columns txt = {ncols, colv, 0, 1};
    size_t n = size - (1 + 3 * ncols);
    uint8_t *p = malloc(n ? n : 1);
    if (!p) return 0;
    if (n) memcpy(p, data + 1 + 3 * ncols, n);

    int accepted = myl_check_bin_row(p, n, &bin) == 0;
    myl_buf text = {0};
    if (accepted) text_row(&bin, p, n, &text);

    lua_settop(L, 0);
    myl_lua_push_names(L, &bin);
    int names_idx = lua_gettop(L);
    run_mode(&bin, &txt, p, n, &text, ROW_KEYED, 0, names_idx, accepted);
    run_mode(&bin, &txt, p, n, &text, ROW_ARRAY, 0, names_idx, accepted);
    run_mode(&bin, &txt, p, n, &text, ROW_VALUES, 0, names_idx, accepted);
    run_mode(&bin, &txt, p, n, &text, ROW_KEYED, 1, names_idx, accepted);
    run_mode(&bin, &txt, p, n, &text, ROW_ARRAY, 1, names_idx, accepted);
    lua_settop(L, 0);
    myl_buf_free(&text);
    free(p);
    return 0;
}

/* ---- seeds ------------------------------------------------------------- */

/* LONGLONG UNSIGNED, FLOAT (no scale), DOUBLE (scale 2), DATETIME(6),
 * TIME(3), BLOB: 2^64-1, 3.14f, 0.125, 2024-02-29 12:34:56.5,
 * -838:59:59.000, "ab". */
static const uint8_t seed_every_kind[] = {
    0x05,
    4, 1, 0, 6, 0, 31, 7, 0, 2, 9, 0, 6, 11, 0, 3, 14, 0, 0,
    0x00, 0x00,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xC3, 0xF5, 0x48, 0x40,
    0, 0, 0, 0, 0, 0, 0xC0, 0x3F,
    11, 0xE8, 0x07, 2, 29, 12, 34, 56, 0x20, 0xA1, 0x07, 0x00,
    8, 1, 34, 0, 0, 0, 22, 59, 59,
    2, 'a', 'b',
};
/* TINY, SHORT, INT24, LONG, BIT, DATE, YEAR, NULL type: -1, -2, -3, -4,
 * b'101', the zero date, 2024, NULL. */
static const uint8_t seed_signed_nulls[] = {
    0x07,
    0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 15, 0, 0, 8, 0, 0, 5, 0, 0, 16, 0, 0,
    0x00, 0x00, 0x04,
    0xFF, 0xFE, 0xFF, 0xFD, 0xFF, 0xFF, 0xFF, 0xFC, 0xFF, 0xFF, 0xFF,
    1, 0x05,
    0,
    0xE8, 0x07,
};
/* DOUBLE without a scale: 2^89 (its shortest text is not the nearest
 * 16 digits), -0.0, and a FLOAT of 1e20. */
static const uint8_t seed_doubles[] = {
    0x02,
    7, 0, 31, 7, 0, 31, 6, 0, 39,
    0x00, 0x00,
    0, 0, 0, 0, 0, 0, 0x80, 0x45,
    0, 0, 0, 0, 0, 0, 0, 0x80,
    0x3C, 0x6B, 0x2D, 0x60,
};

static void write_seed(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    if (dir && *dir) {
        write_seed(dir, "every-kind", seed_every_kind, sizeof seed_every_kind);
        write_seed(dir, "signed-nulls", seed_signed_nulls, sizeof seed_signed_nulls);
        write_seed(dir, "doubles", seed_doubles, sizeof seed_doubles);
        exit(0);
    }
    L = luaL_newstate();
    if (!L) abort();
    return 0;
}
