/* Binary-protocol rows (a prepared statement's) to Lua values, each the
 * very value the text protocol's row of the same data gives (convert.c):
 * a script cannot tell which protocol a row came in.  The hot path of
 * statement fetches: no allocation, numbers pushed as they are read. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../core/binrow.h"
#include "binding.h"

/* The server's text, read back as convert.c's push_float reads it: Lua's
 * own conversion (locale-proof), integral text still a float. */
static void push_number_text(lua_State *L, const char *text)
{
    if (lua_stringtonumber(L, text) == 0) {
        lua_pushstring(L, text); /* not reached: the text is always a number */
        return;
    }
    if (lua_isinteger(L, -1)) {
        lua_Number d = (lua_Number)lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_pushnumber(L, d);
    }
}

/* A DOUBLE: without a scale the server prints the shortest text that reads
 * back as the same double, so the double itself is that value, except for
 * a zero (its text "-0" reads as an integer, so +0.0) and what is no
 * number at all (the server prints "0").  With a scale the text is rounded
 * to it: read back what the server prints. */
static void push_double(lua_State *L, double d, unsigned decimals)
{
    if (decimals >= 31 && d != 0 && isfinite(d)) {
        lua_pushnumber(L, d);
        return;
    }
    char buf[MYL_DOUBLE_TEXT_MAX];
    myl_format_double(buf, d, decimals);
    push_number_text(L, buf);
}

/* BIT(n) as convert.c's push_bit: the big-endian bytes as an integer. */
static void push_bit(lua_State *L, const uint8_t *s, size_t n)
{
    if (n > 8) {
        lua_pushlstring(L, (const char *)s, n);
        return;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = (v << 8) | s[i];
    myl_lua_push_u64(L, v);
}

static inline void push_bin_value(lua_State *L, const myl_column *c, const myl_bin_value *v)
{
    switch (v->kind) {
    case MYL_BIN_INT: lua_pushinteger(L, (lua_Integer)v->v.i); break;
    case MYL_BIN_UINT: myl_lua_push_u64(L, v->v.u); break;
    case MYL_BIN_FLOAT: {
        char buf[MYL_FLOAT_TEXT_MAX];
        myl_format_float(buf, v->v.f, c->decimals);
        push_number_text(L, buf);
        break;
    }
    case MYL_BIN_DOUBLE: push_double(L, v->v.d, c->decimals); break;
    case MYL_BIN_DATE:
    case MYL_BIN_DATETIME:
    case MYL_BIN_TIME: {
        char buf[MYL_DATETIME_TEXT_MAX];
        size_t n = myl_format_datetime(buf, c->type, c->decimals, &v->v.t);
        lua_pushlstring(L, buf, n);
        break;
    }
    case MYL_BIN_BYTES:
        if (c->type == MYL_TYPE_BIT) push_bit(L, v->v.s.p, v->v.s.len);
        else lua_pushlstring(L, (const char *)v->v.s.p, v->v.s.len);
        break;
    }
}

int myl_lua_push_bin_row(lua_State *L, const myl_columns *cols, const uint8_t *p, size_t n,
                         int mode, int names_idx, int target, int checked)
{
    /* The walk checks as it goes whether the row was checked before or
     * not: a value's bounds cost a compare, and a stored row is then
     * safe even if nobody checked it. */
    (void)checked;
    size_t ncols = cols->n;
    myl_bin_row_iter it;
    if (myl_bin_row_begin(&it, p, n, cols) != 0) return -1;
    int top = lua_gettop(L);
    int t = 0;
    if (mode == ROW_VALUES) {
        luaL_checkstack(L, (int)ncols + 2, "too many columns");
    } else if (target) {
        lua_pushvalue(L, target);
        t = lua_gettop(L);
    } else {
        lua_createtable(L, mode == ROW_ARRAY ? (int)ncols : 0, mode == ROW_KEYED ? (int)ncols : 0);
        t = lua_gettop(L);
    }
    for (size_t i = 0; i < ncols; i++) {
        myl_bin_value v;
        int kind = myl_bin_row_next(&it, &v);
        if (kind == MYL_ROW_BAD) {
            lua_settop(L, top);
            return -1;
        }
        if (mode == ROW_KEYED) lua_rawgeti(L, names_idx, (lua_Integer)i + 1);
        if (kind == MYL_ROW_NULL) lua_pushlightuserdata(L, NULL); /* mylua.null */
        else push_bin_value(L, &cols->col[i], &v);
        if (mode == ROW_KEYED) lua_rawset(L, t);
        else if (mode == ROW_ARRAY) lua_rawseti(L, t, (lua_Integer)i + 1);
    }
    if (!myl_bin_row_done(&it)) {
        lua_settop(L, top);
        return -1;
    }
    return mode == ROW_VALUES ? (int)ncols : 1;
}
