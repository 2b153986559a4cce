/* Binary-protocol rows (a prepared statement's) to Lua values, each the
 * very value the text protocol's row of the same data gives (convert.c):
 * a script cannot tell which protocol a row came in.  The hot path of
 * statement fetches: no allocation, numbers pushed as they are read. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../core/binrow.h"
#include "binding.h"

/* The server's text, read back as convert.c's push_float reads it: Lua's
 * own conversion (locale-proof), integral text still a float, and text of
 * 80 characters or more (a DOUBLE(255,30) near 1e225) left a string. */
static void push_number_text(lua_State *L, const char *text, size_t n)
{
    if (n >= 80 || lua_stringtonumber(L, text) == 0) {
        lua_pushlstring(L, text, n);
        return;
    }
    if (lua_isinteger(L, -1)) {
        lua_Number d = (lua_Number)lua_tointeger(L, -1);
        lua_pop(L, 1);
        lua_pushnumber(L, d);
    }
}

/* ZEROFILL: the server pads a number's text with zeros to the column's
 * display width, and the text protocol's reading of the padded text
 * decides: an integer of more than 20 characters, or a FLOAT or DOUBLE of
 * 80 or more, stays a string (convert.c's push_int and push_float).  1
 * when the value at hand is such a string, then pushed: the text in buf
 * (n bytes, room for 256) padded as the server pads it. */
static int push_zerofilled(lua_State *L, const myl_column *c, char *buf, size_t n, size_t limit)
{
    size_t width = c->length < 255 ? c->length : 255;
    /* (ZEROFILL columns are UNSIGNED: a negative value cannot be there) */
    if (!(c->flags & MYL_FLAG_ZEROFILL) || buf[0] == '-' || (n > width ? n : width) <= limit) return 0;
    if (n < width) {
        memmove(buf + (width - n), buf, n);
        memset(buf, '0', width - n);
        n = width;
    }
    lua_pushlstring(L, buf, n);
    return 1;
}

/* A FLOAT or DOUBLE: the number the server's text reads back as, found
 * without the text when binrow.h can; otherwise the text is made and read
 * as convert.c reads it (zero: "-0" reads as the integer 0, so +0.0, but
 * "-0.00" as -0.0; ZEROFILL padding; long text). */
static void push_real(lua_State *L, const myl_column *c, double x, int is_float)
{
    double v;
    if (!(c->flags & MYL_FLAG_ZEROFILL) && myl_real_value(x, is_float, c->decimals, &v)) {
        lua_pushnumber(L, v);
        return;
    }
    char buf[MYL_DOUBLE_TEXT_MAX + 256];
    size_t n = is_float ? myl_format_float(buf, (float)x, c->decimals) : myl_format_double(buf, x, c->decimals);
    if (!push_zerofilled(L, c, buf, n, 79)) push_number_text(L, buf, n);
}

/* An integer; ZEROFILL makes it text when its column is wide. */
static void push_integer(lua_State *L, const myl_column *c, const myl_bin_value *v)
{
    if ((c->flags & MYL_FLAG_ZEROFILL) && c->length > 20) {
        char buf[256 + 24];
        int n = v->kind == MYL_BIN_UINT ? snprintf(buf, 24, "%llu", (unsigned long long)v->v.u)
                                        : snprintf(buf, 24, "%lld", (long long)v->v.i);
        if (push_zerofilled(L, c, buf, (size_t)n, 20)) return;
    }
    if (v->kind == MYL_BIN_UINT) myl_lua_push_u64(L, v->v.u);
    else lua_pushinteger(L, (lua_Integer)v->v.i);
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
    case MYL_BIN_INT:
    case MYL_BIN_UINT: push_integer(L, c, v); break;
    case MYL_BIN_FLOAT: push_real(L, c, (double)v->v.f, 1); break;
    case MYL_BIN_DOUBLE: push_real(L, c, v->v.d, 0); break;
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
    int t = myl_lua_row_target(L, ncols, mode, target);
    for (size_t i = 0; i < ncols; i++) {
        myl_bin_value v;
        int kind = myl_bin_row_next(&it, &v);
        if (kind == MYL_ROW_BAD) {
            lua_settop(L, top);
            return -1;
        }
        if (mode == ROW_KEYED) myl_lua_push_name(L, names_idx, i);
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
