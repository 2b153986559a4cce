/* libFuzzer target for the Lua-side row decoder, myl_lua_push_row
 * (src/lua/convert.c), on a real lua_State.  `make fuzz` builds and runs it.
 *
 * Input: one byte for the column count (1..8), three bytes per column (type,
 * flags, name), then one text-protocol row payload, copied into an
 * exact-size heap buffer.  The row is pushed in every shape: keyed (with a
 * names table), array, values, and refilling an existing table keyed and as
 * an array.  Checked, with abort() on a violation:
 *   - the call returns -1 exactly when myl_check_text_row rejects the row,
 *     and then leaves the stack as it was;
 *   - otherwise it returns 1 (one table, the refilled one when asked) or, for
 *     values, ncols with exactly ncols values pushed;
 *   - each value is what the column's class promises: SQL NULL is the null
 *     sentinel, strings are byte-exact, an integer or BIT value is a Lua
 *     integer equal to the text (or exact text when it does not fit), a
 *     float is a float.
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

#include "../../src/core/rd.h"
#include "../../src/lua/binding.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_COLS 8

static const char *const names[8] = {"id", "name", "a", "b", "", "a b", "\xC3\xBC", "id"};

static lua_State *L;
static const char *shape = "";

static void violated(const char *what, size_t col)
{
    fprintf(stderr, "fuzz_rows: property violated in the %s shape: %s (column %zu)\n", shape, what,
            col + 1);
    abort();
}

/* ---- expected values --------------------------------------------------- */

/* s[0..n) as the decimal text of an integer: "-" then digits.  Returns the
 * digits without leading zeros in (*d, *dn) (one "0" for zero). */
static int plain_int(const uint8_t *s, size_t n, int *neg, const uint8_t **d, size_t *dn)
{
    size_t i = 0;
    *neg = n > 0 && s[0] == '-';
    if (*neg) i = 1;
    if (i == n) return 0;
    for (size_t j = i; j < n; j++)
        if (s[j] < '0' || s[j] > '9') return 0;
    while (i + 1 < n && s[i] == '0') i++;
    *d = s + i;
    *dn = n - i;
    return 1;
}

/* Compares two digit strings without leading zeros as numbers. */
static int cmp_digits(const uint8_t *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an != bn) return an < bn ? -1 : 1;
    int c = memcmp(a, b, an);
    return c < 0 ? -1 : c > 0;
}

static int lua_str_is(int idx, const void *s, size_t n)
{
    size_t len;
    if (lua_type(L, idx) != LUA_TSTRING) return 0;
    const char *v = lua_tolstring(L, idx, &len);
    return len == n && memcmp(v, s, n) == 0;
}

static void check_int(int idx, const uint8_t *s, size_t n, int is_unsigned, size_t col)
{
    int neg;
    const uint8_t *d;
    size_t dn;
    int plain = plain_int(s, n, &neg, &d, &dn);
    int zero = plain && dn == 1 && d[0] == '0';
    /* What push_int promises: a plain integer of at most 20 digits (leading
     * zeros count) that fits a Lua integer is a number; a positive one up to
     * 2^64-1 that does not fit is its exact decimal text; anything else
     * (a negative unsigned, more digits, not an integer) is the bytes. */
    int digits_ok = plain && n - (size_t)neg <= 20;
    if (digits_ok && !zero && neg && is_unsigned) digits_ok = 0;
    if (digits_ok && (zero || (!neg && cmp_digits(d, dn, "9223372036854775807") <= 0) ||
                      (neg && cmp_digits(d, dn, "9223372036854775808") <= 0))) {
        if (!lua_isinteger(L, idx)) violated("integer text not pushed as an integer", col);
        char buf[32];
        long long v = (long long)lua_tointeger(L, idx);
        if (zero) {
            if (v != 0) violated("zero pushed as non-zero", col);
            return;
        }
        snprintf(buf, sizeof buf, "%lld", v);
        const char *b = buf;
        if (neg != (b[0] == '-')) violated("integer pushed with the wrong sign", col);
        if (b[0] == '-') b++;
        if (cmp_digits(d, dn, b) != 0) violated("integer pushed with the wrong value", col);
        return;
    }
    if (digits_ok && !neg && cmp_digits(d, dn, "18446744073709551615") <= 0) {
        /* Too big for a Lua integer: the canonical decimal text. */
        if (!lua_str_is(idx, d, dn)) violated("large unsigned not pushed as its decimal text", col);
        return;
    }
    if (!lua_str_is(idx, s, n)) violated("non-integer text not pushed as its bytes", col);
}

static void check_value(int idx, myl_value_class k, const uint8_t *s, size_t n, size_t col)
{
    switch (k) {
    case MYL_VALUE_INT: check_int(idx, s, n, 0, col); break;
    case MYL_VALUE_UINT: check_int(idx, s, n, 1, col); break;
    case MYL_VALUE_FLOAT:
        if (lua_type(L, idx) == LUA_TNUMBER) {
            if (lua_isinteger(L, idx)) violated("float column pushed as an integer", col);
        } else if (!lua_str_is(idx, s, n)) {
            violated("float column neither a float nor its bytes", col);
        }
        break;
    case MYL_VALUE_BIT:
        if (n > 8) {
            if (!lua_str_is(idx, s, n)) violated("long BIT value not pushed as its bytes", col);
        } else {
            uint64_t v = 0;
            for (size_t i = 0; i < n; i++) v = (v << 8) | s[i];
            if (v <= (uint64_t)LUA_MAXINTEGER) {
                if (!lua_isinteger(L, idx) || (uint64_t)lua_tointeger(L, idx) != v)
                    violated("BIT value pushed as the wrong integer", col);
            } else {
                char buf[24];
                snprintf(buf, sizeof buf, "%" PRIu64, v);
                if (!lua_str_is(idx, buf, strlen(buf))) violated("large BIT value not its decimal text", col);
            }
        }
        break;
    default:
        if (!lua_str_is(idx, s, n)) violated("string value not byte-exact", col);
        break;
    }
}

/* The row's values as the reference sees them (the row is well-formed). */
typedef struct {
    int is_null;
    const uint8_t *s;
    size_t n;
} ref_value;

static void split_row(const uint8_t *p, size_t n, size_t ncols, ref_value *out)
{
    myl_rd r = myl_rd_init(p, n);
    for (size_t i = 0; i < ncols; i++) {
        uint64_t len = myl_rd_lenenc(&r, &out[i].is_null);
        out[i].s = NULL;
        out[i].n = 0;
        if (!out[i].is_null) {
            out[i].n = (size_t)len;
            out[i].s = myl_rd_bytes(&r, out[i].n);
        }
    }
    if (r.bad) violated("reference split of an accepted row failed", 0);
}

static void check_at(int idx, const myl_columns *cols, const ref_value *v, size_t i)
{
    if (v[i].is_null) {
        if (lua_type(L, idx) != LUA_TLIGHTUSERDATA || lua_touserdata(L, idx) != NULL)
            violated("SQL NULL not pushed as the null sentinel", i);
        return;
    }
    check_value(idx, cols->col[i].vclass, v[i].s, v[i].n, i);
}

/* ---- one input --------------------------------------------------------- */

/* Pushes the row in one shape and checks the outcome. */
static void run_mode(const myl_columns *cols, const uint8_t *p, size_t n, int mode, int refill,
                     int names_idx, int accepted, const ref_value *v)
{
    size_t ncols = cols->n;
    int target = 0;
    shape = mode == ROW_VALUES ? "values" : mode == ROW_ARRAY ? (refill ? "array refill" : "array")
                                                              : (refill ? "keyed refill" : "keyed");
    if (refill) {
        /* A table left over from an earlier row, with junk in it. */
        lua_createtable(L, 2, 2);
        lua_pushliteral(L, "stale");
        lua_rawseti(L, -2, 1);
        lua_pushliteral(L, "stale");
        lua_setfield(L, -2, "id");
        target = lua_gettop(L);
    }
    int top = lua_gettop(L);
    int rc = myl_lua_push_row(L, cols, p, n, mode, names_idx, target, 1);
    if (!accepted) {
        if (rc != -1) violated("malformed row accepted", 0);
        if (lua_gettop(L) != top) violated("failed push left values on the stack", 0);
        lua_settop(L, names_idx);
        return;
    }
    if (mode == ROW_VALUES) {
        if (rc != (int)ncols) violated("values: return is not ncols", 0);
        if (lua_gettop(L) != top + (int)ncols) violated("values: pushed count is not ncols", 0);
        for (size_t i = 0; i < ncols; i++) check_at(top + 1 + (int)i, cols, v, i);
        lua_settop(L, names_idx);
        return;
    }
    if (rc != 1 || lua_gettop(L) != top + 1 || !lua_istable(L, -1)) violated("row: not one table", 0);
    if (refill && !lua_rawequal(L, -1, target)) violated("refill: not the target table", 0);
    int t = lua_gettop(L);
    for (size_t i = 0; i < ncols; i++) {
        if (mode == ROW_ARRAY) {
            lua_rawgeti(L, t, (lua_Integer)i + 1);
        } else {
            /* A duplicate name holds the last column's value. */
            size_t j;
            for (j = i + 1; j < ncols; j++)
                if (strcmp(cols->col[j].name, cols->col[i].name) == 0) break;
            if (j < ncols) continue;
            lua_pushlstring(L, cols->col[i].name, cols->col[i].name_len);
            lua_rawget(L, t);
        }
        check_at(lua_gettop(L), cols, v, i);
        lua_pop(L, 1);
    }
    lua_settop(L, names_idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t ncols = 1 + (data[0] & 7);
    if (size < 1 + 3 * ncols) return 0;

    myl_column colv[MAX_COLS];
    myl_columns cols = {ncols, colv, 0, 1};
    for (size_t i = 0; i < ncols; i++) {
        const uint8_t *d = data + 1 + 3 * i;
        myl_column *c = &colv[i];
        memset(c, 0, sizeof *c);
        c->catalog = "def";
        c->db = "mylua_test";
        c->table = c->org_table = "t";
        c->name = c->org_name = names[d[2] & 7];
        c->name_len = strlen(c->name);
        c->charset = 63;
        c->type = d[0];
        c->flags = d[1];
        c->vclass = myl_value_class_of(c->type, c->flags);
    }
    size_t n = size - (1 + 3 * ncols);
    uint8_t *p = malloc(n ? n : 1);
    if (!p) return 0;
    if (n) memcpy(p, data + 1 + 3 * ncols, n);

    int accepted = myl_check_text_row(p, n, ncols) == 0;
    ref_value v[MAX_COLS];
    shape = "reference";
    if (accepted) split_row(p, n, ncols, v);

    lua_settop(L, 0);
    myl_lua_push_columns(L, &cols);
    lua_pop(L, 1);
    myl_lua_push_names(L, &cols);
    int names_idx = lua_gettop(L);
    run_mode(&cols, p, n, ROW_KEYED, 0, names_idx, accepted, v);
    run_mode(&cols, p, n, ROW_ARRAY, 0, names_idx, accepted, v);
    run_mode(&cols, p, n, ROW_VALUES, 0, names_idx, accepted, v);
    run_mode(&cols, p, n, ROW_KEYED, 1, names_idx, accepted, v);
    run_mode(&cols, p, n, ROW_ARRAY, 1, names_idx, accepted, v);
    lua_settop(L, 0);
    free(p);
    return 0;
}

/* ---- seeds ------------------------------------------------------------- */

/* (id INT UNSIGNED NOT NULL, name VARCHAR) rows as a MariaDB server sent
 * them: (7, NULL) and (4294967295, ''). */
static const uint8_t seed_id_name_7_null[] = {0x02, 0x03, 0x23, 0x00, 0xFD, 0x00, 0x01,
                                              0x01, 0x37, 0xFB};
static const uint8_t seed_id_name_max[] = {0x02, 0x03, 0x23, 0x00, 0xFD, 0x00, 0x01,
                                           0x0A, '4', '2', '9', '4', '9', '6', '7', '2', '9', '5',
                                           0x00};
/* One column of each class: LONGLONG, LONGLONG UNSIGNED, DOUBLE, BIT,
 * NULL, NEWDECIMAL, DATETIME, BLOB. */
static const uint8_t seed_every_class[] = {
    0x08, 0x08, 0x00, 0x00, 0x08, 0x20, 0x01, 0x05, 0x00, 0x02, 0x10, 0x20, 0x03,
    0x06, 0x00, 0x04, 0xF6, 0x00, 0x05, 0x0C, 0x00, 0x06, 0xFC, 0x90, 0x07,
    0x14, '-', '9', '2', '2', '3', '3', '7', '2', '0', '3', '6', '8', '5', '4', '7', '7', '5', '8', '0', '8',
    0x14, '1', '8', '4', '4', '6', '7', '4', '4', '0', '7', '3', '7', '0', '9', '5', '5', '1', '6', '1', '5',
    0x06, '-', '1', '.', '5', 'e', '3',
    0x02, 0x01, 0x00,
    0xFB,
    0x05, '1', '2', '.', '3', '4',
    0x13, '2', '0', '2', '4', '-', '0', '2', '-', '2', '9', ' ', '1', '2', ':', '3', '4', ':', '5', '6',
    0x03, 0x00, '\'', 0xFF,
};
/* Integers at the edges: 2^63 signed (text), -0, leading zeros, 21 digits. */
static const uint8_t seed_int_edges[] = {
    0x03, 0x08, 0x00, 0x00, 0x03, 0x20, 0x01, 0x08, 0x20, 0x02,
    0x13, '9', '2', '2', '3', '3', '7', '2', '0', '3', '6', '8', '5', '4', '7', '7', '5', '8', '0', '8',
    0x02, '-', '0',
    0x15, '0', '1', '8', '4', '4', '6', '7', '4', '4', '0', '7', '3', '7', '0', '9', '5', '5', '1', '6', '1', '5',
};

/* A DOUBLE value with a NUL byte inside ("1\0" + "2"): lua_stringtonumber
 * reads up to the NUL, so the number it pushed must be popped before the
 * bytes are pushed instead; found by this target. */
static const uint8_t seed_float_nul[] = {0x00, 0x05, 0x00, 0x00, 0x03, '1', 0x00, '2'};

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
        write_seed(dir, "id-name-7-null", seed_id_name_7_null, sizeof seed_id_name_7_null);
        write_seed(dir, "id-name-max", seed_id_name_max, sizeof seed_id_name_max);
        write_seed(dir, "every-class", seed_every_class, sizeof seed_every_class);
        write_seed(dir, "int-edges", seed_int_edges, sizeof seed_int_edges);
        write_seed(dir, "float-nul", seed_float_nul, sizeof seed_float_nul);
        exit(0);
    }
    L = luaL_newstate();
    if (!L) abort();
    return 0;
}
