/* Text-protocol values to Lua values, straight from the packet bytes.
 * This is the hot path of every fetch: one table per row, column names
 * reused from the names table, numbers parsed without copies. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/row.h"
#include "binding.h"

int myl_lua_row_mode(lua_State *L, int idx)
{
    const char *m = myl_lua_opt_string(L, idx, "k");
    switch (m[0]) {
    case 'k': if (m[1] == 0) return ROW_KEYED; break;
    case 'a': if (m[1] == 0) return ROW_ARRAY; break;
    case 'v': if (m[1] == 0) return ROW_VALUES; break;
    default: break;
    }
    return myl_lua_argerror(L, idx, "row mode must be \"k\" (keyed), \"a\" (array) or \"v\" (values)");
}

void myl_lua_push_u64(lua_State *L, uint64_t v)
{
    if (v <= (uint64_t)LUA_MAXINTEGER) {
        lua_pushinteger(L, (lua_Integer)v);
    } else {
        /* Never a wrong number: what does not fit a Lua integer is exact text. */
        char buf[24];
        snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
        lua_pushstring(L, buf);
    }
}

void myl_lua_push_names(lua_State *L, const myl_columns *cols)
{
    lua_createtable(L, (int)cols->n, 0);
    for (size_t i = 0; i < cols->n; i++) {
        lua_pushlstring(L, cols->col[i].name, cols->col[i].name_len);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

static void set_str(lua_State *L, const char *k, const char *v)
{
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void set_int(lua_State *L, const char *k, lua_Integer v)
{
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

void myl_lua_push_columns(lua_State *L, const myl_columns *cols)
{
    lua_createtable(L, cols ? (int)cols->n : 0, 0);
    if (!cols) return;
    for (size_t i = 0; i < cols->n; i++) {
        const myl_column *c = &cols->col[i];
        lua_createtable(L, 0, 14);
        lua_pushlstring(L, c->name, c->name_len);
        lua_setfield(L, -2, "name");
        set_str(L, "org_name", c->org_name);
        set_str(L, "table", c->table);
        set_str(L, "org_table", c->org_table);
        set_str(L, "db", c->db);
        set_str(L, "catalog", c->catalog);
        set_str(L, "type", myl_type_name(c->type));
        set_int(L, "type_id", c->type);
        set_int(L, "length", c->length);
        set_int(L, "decimals", c->decimals);
        set_int(L, "flags", c->flags);
        set_int(L, "charset", c->charset);
        lua_pushboolean(L, (c->flags & MYL_FLAG_UNSIGNED) != 0);
        lua_setfield(L, -2, "unsigned");
        lua_pushboolean(L, (c->flags & MYL_FLAG_NOT_NULL) != 0);
        lua_setfield(L, -2, "not_null");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

void myl_lua_set_status(lua_State *L, int idx, const myl_status *st)
{
    idx = lua_absindex(L, idx);
    myl_lua_push_u64(L, st->affected_rows);
    lua_setfield(L, idx, "affected_rows");
    myl_lua_push_u64(L, st->insert_id);
    lua_setfield(L, idx, "insert_id");
    lua_pushinteger(L, st->warnings);
    lua_setfield(L, idx, "warnings");
    lua_pushinteger(L, st->flags);
    lua_setfield(L, idx, "status");
    lua_pushstring(L, st->info);
    lua_setfield(L, idx, "info");
}

/* Decimal integer text; falls back to the exact text when it is not a
 * plain integer or does not fit. */
static void push_int(lua_State *L, const uint8_t *s, size_t n, int is_unsigned)
{
    size_t i = 0;
    int neg = 0;
    if (n > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == n || n - i > 20) goto text;
    uint64_t v = 0;
    if (n - i <= 18) { /* below 10^18: no overflow to check for */
        for (; i < n; i++) {
            unsigned d = (unsigned)s[i] - '0';
            if (d > 9) goto text;
            v = v * 10 + d;
        }
        if (neg && is_unsigned && v != 0) goto text;
        lua_pushinteger(L, neg ? -(lua_Integer)v : (lua_Integer)v);
        return;
    }
    for (; i < n; i++) {
        unsigned d = (unsigned)s[i] - '0';
        if (d > 9) goto text;
        if (v > (UINT64_MAX - d) / 10) goto text;
        v = v * 10 + d;
    }
    if (neg) {
        if (is_unsigned && v != 0) goto text;
        if (v > (uint64_t)LUA_MAXINTEGER + 1) goto text;
        lua_pushinteger(L, (lua_Integer)(0 - v));
        return;
    }
    myl_lua_push_u64(L, v);
    return;
text:
    lua_pushlstring(L, (const char *)s, n);
}

#if LDBL_MANT_DIG == 64
static const long double pow10_ld[28] = {
    1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
    1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
    1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L,
};
#endif

#if LDBL_MANT_DIG == 64
/* The low 11 of a normal long double's 64 mantissa bits: those a double
 * drops when it rounds.  On x86 the mantissa is the first 8 bytes, integer
 * bit included; elsewhere frexpl says the same more slowly. */
static unsigned low_mantissa_bits(long double r)
{
    uint64_t bits;
#if defined(__x86_64__) || defined(__i386__)
    memcpy(&bits, &r, sizeof bits);
#else
    int e2;
    bits = (uint64_t)ldexpl(frexpl(r, &e2), 64);
#endif
    return (unsigned)(bits & 0x7FF);
}
#endif

/* The double that Lua reads a plain decimal text as ([-]D*[.D*][e[+-]D+],
 * as the server writes FLOAT and DOUBLE), found without strtod when that is
 * quick and certain: 1 with *out, else 0 and the caller reads the text.
 * With at most 19 significant digits and a decimal exponent within 27, the
 * digits and the power of ten are exact in an x87 long double (64-bit
 * mantissa; 5^27 < 2^64), so one multiplication or division rounds once;
 * rounding that to a double gives the correctly rounded value unless it
 * sits within a long double's ulp of a halfway point between two doubles,
 * which is left to strtod.  Integral text of zero reads as Lua's integer 0,
 * so "-0" is +0.0, but "-0.0" is -0.0. */
static int quick_double(const uint8_t *s, size_t n, double *out)
{
#if LDBL_MANT_DIG == 64
    size_t i = 0;
    int neg = 0, any, integral = 1, exp10 = 0;
    uint64_t m = 0;
    if (i < n && s[i] == '-') {
        neg = 1;
        i++;
    }
    /* Leading zeros are skipped apart, so that the loops over the
     * significant digits do nothing else; m wraps when there are more than
     * 19 of them, and is then not used. */
    size_t start = i;
    while (i < n && s[i] == '0') i++;
    size_t first = i;
    for (; i < n && (unsigned)(s[i] - '0') <= 9; i++) m = m * 10 + (unsigned)(s[i] - '0');
    size_t digits = i - first;
    any = i > start;
    if (i < n && s[i] == '.') {
        integral = 0;
        size_t point = ++i;
        if (digits == 0)
            while (i < n && s[i] == '0') i++;
        size_t from = i;
        for (; i < n && (unsigned)(s[i] - '0') <= 9; i++) m = m * 10 + (unsigned)(s[i] - '0');
        digits += i - from;
        exp10 = -(int)(i - point); /* n < 80: no overflow */
        any |= i > point;
    }
    if (!any || digits > 19) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, e = 0;
        integral = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        if (i == n) return 0;
        for (; i < n && (unsigned)(s[i] - '0') <= 9; i++)
            if (e < 100000) e = e * 10 + (s[i] - '0');
        exp10 += eneg ? -e : e;
    }
    if (i != n) return 0;
    if (m == 0) {
        *out = neg && !integral ? -0.0 : 0.0;
        return 1;
    }
    if (exp10 < -27 || exp10 > 27) return 0;
    long double r = exp10 >= 0 ? (long double)m * pow10_ld[exp10] : (long double)m / pow10_ld[-exp10];
    unsigned low = low_mantissa_bits(r);
    if (low >= 0x3FF && low <= 0x401) return 0;
    *out = neg ? -(double)r : (double)r;
    return 1;
#else
    (void)s, (void)n, (void)out;
    return 0;
#endif
}

/* Lua's own conversion, which reads a '.' whatever the C locale says (a
 * script may have called os.setlocale); integral text still makes a float. */
static void push_float(lua_State *L, const uint8_t *s, size_t n)
{
    char buf[80];
    if (n >= sizeof buf || n == 0) { /* no double needs this many characters */
        /* (a ZEROFILL column's padding can make it this long: its text,
         * as the binary protocol gives it) */
        lua_pushlstring(L, (const char *)s, n);
        return;
    }
    double quick;
    if (quick_double(s, n, &quick)) {
        lua_pushnumber(L, quick);
        return;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    size_t used = lua_stringtonumber(L, buf);
    if (used != n + 1) {
        /* not a number, or one that stops at a NUL inside the value: the
         * exact bytes, and nothing else left on the stack */
        if (used) lua_pop(L, 1);
        lua_pushlstring(L, (const char *)s, n);
    } else if (lua_isinteger(L, -1)) {
        lua_Number d = (lua_Number)lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_pushnumber(L, d);
    }
}

static void push_bit(lua_State *L, const uint8_t *s, size_t n)
{
    if (n > 8) { /* BIT is at most 64 bits; anything longer stays bytes */
        lua_pushlstring(L, (const char *)s, n);
        return;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | s[i];
    myl_lua_push_u64(L, v);
}

static inline void push_value(lua_State *L, myl_value_class k, const uint8_t *s, size_t n)
{
    switch (k) {
    case MYL_VALUE_INT: push_int(L, s, n, 0); break;
    case MYL_VALUE_UINT: push_int(L, s, n, 1); break;
    case MYL_VALUE_FLOAT: push_float(L, s, n); break;
    case MYL_VALUE_BIT: push_bit(L, s, n); break;
    default: lua_pushlstring(L, (const char *)s, n); break;
    }
}

int myl_lua_row_target(lua_State *L, size_t ncols, int mode, int target)
{
    if (mode == ROW_VALUES) {
        luaL_checkstack(L, (int)ncols + 2, "too many columns");
        return 0;
    }
    if (target) lua_pushvalue(L, target);
    else lua_createtable(L, mode == ROW_ARRAY ? (int)ncols : 0, mode == ROW_KEYED ? (int)ncols : 0);
    return lua_gettop(L);
}

int myl_lua_push_row(lua_State *L, const myl_columns *cols, const uint8_t *p, size_t n, int mode,
                     int names_idx, int target, int checked)
{
    if (cols->binary) return myl_lua_push_bin_row(L, cols, p, n, mode, names_idx, target, checked);
    size_t ncols = cols->n;
    myl_row_iter it;
    myl_row_begin(&it, p, n);
    int top = lua_gettop(L);
    int t = myl_lua_row_target(L, ncols, mode, target);
    for (size_t i = 0; i < ncols; i++) {
        const uint8_t *v;
        size_t len;
        int kind = checked ? myl_row_next(&it, &v, &len) : myl_row_next_trusted(&it, &v, &len);
        if (kind == MYL_ROW_BAD) {
            lua_settop(L, top);
            return -1;
        }
        if (mode == ROW_KEYED) myl_lua_push_name(L, names_idx, i);
        if (kind == MYL_ROW_NULL) lua_pushlightuserdata(L, NULL); /* mylua.null */
        else push_value(L, cols->col[i].vclass, v, len);
        if (mode == ROW_KEYED) lua_rawset(L, t);
        else if (mode == ROW_ARRAY) lua_rawseti(L, t, (lua_Integer)i + 1);
    }
    if (checked && !myl_row_done(&it)) {
        lua_settop(L, top);
        return -1;
    }
    return mode == ROW_VALUES ? (int)ncols : 1;
}
