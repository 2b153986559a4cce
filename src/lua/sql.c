/* Client-side placeholders: `?` outside quotes, backticks and comments is
 * replaced by the SQL literal of the next argument, escaped for the
 * connection's charset and sql_mode. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "binding.h"

/* Checks that s is valid UTF-8 (so the server takes it as utf8mb4 text). */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned min;
        if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000;
        else return 0;
        if (n - i < len) return 0;
        unsigned cp = c & (0x3F >> (len - 1));
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

static void add_string(lua_State *L, luaL_Buffer *b, myl_escape_style st, const char *s, size_t n)
{
    const char *cs = st.charset->name;
    /* Bytes that are not text in a UTF-8 connection go as a binary string,
     * so they reach a BLOB unchanged instead of being refused as text. */
    if (strncmp(cs, "utf8", 4) == 0 && !valid_utf8((const unsigned char *)s, n))
        luaL_addstring(b, "_binary");
    if (n > (((size_t)-1) - 2) / 2) luaL_error(L, "string too long to quote");
    char *dst = luaL_prepbuffsize(b, 2 * n + 2);
    dst[0] = '\'';
    size_t w = myl_escape(dst + 1, s, n, st.charset->mb, st.no_backslash);
    dst[w + 1] = '\'';
    luaL_addsize(b, w + 2);
}

/* SQL wants '.', whatever decimal point the C locale printed. */
static void c_decimal_point(char *num)
{
    const char *dp = localeconv()->decimal_point;
    if (!dp || (dp[0] == '.' && dp[1] == '\0')) return;
    char *at = strstr(num, dp);
    if (!at) return;
    size_t dl = strlen(dp);
    *at = '.';
    memmove(at + 1, at + dl, strlen(at + dl) + 1);
}

/* Appends the literal for the value at idx to b (b is on top of the stack). */
static void add_literal(lua_State *L, luaL_Buffer *b, myl_escape_style st, int idx)
{
    char num[64];
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        luaL_addstring(b, "NULL");
        return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            luaL_addstring(b, "NULL");
            return;
        }
        break;
    case LUA_TBOOLEAN:
        luaL_addstring(b, lua_toboolean(L, idx) ? "TRUE" : "FALSE");
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            snprintf(num, sizeof num, LUA_INTEGER_FMT, lua_tointeger(L, idx));
        } else {
            double d = lua_tonumber(L, idx);
            if (!isfinite(d)) luaL_error(L, "cannot bind a non-finite number (%f) to SQL", d);
            snprintf(num, sizeof num, "%.17g", d);
            c_decimal_point(num);
            /* A trailing exponent makes it a DOUBLE literal, not DECIMAL. */
            if (!strpbrk(num, "eE")) strcat(num, "e0");
        }
        luaL_addstring(b, num);
        return;
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        add_string(L, b, st, s, n);
        return;
    }
    default: break;
    }
    luaL_error(L, "cannot bind a %s value to SQL", luaL_typename(L, idx));
}

void myl_lua_push_literal(lua_State *L, myl_escape_style st, int idx)
{
    luaL_Buffer b;
    idx = lua_absindex(L, idx);
    luaL_buffinit(L, &b);
    add_literal(L, &b, st, idx);
    luaL_pushresult(&b);
}

void myl_lua_build_sql(lua_State *L, myl_escape_style st, int sql_idx, int first, int last)
{
    size_t n;
    const char *s = luaL_checklstring(L, sql_idx, &n);
    if (first > last) { /* no arguments: the text as it is */
        lua_pushvalue(L, sql_idx);
        return;
    }
    int no_backslash = st.no_backslash;
    int arg = first;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    size_t i = 0, start = 0;
    while (i < n) {
        char c = s[i];
        if (c == '\'' || c == '"' || c == '`') {
            /* a quoted string or identifier: skip to its closing quote */
            i++;
            while (i < n) {
                if (s[i] == '\\' && c != '`' && !no_backslash && i + 1 < n) {
                    i += 2;
                } else if (s[i] == c) {
                    if (i + 1 < n && s[i + 1] == c) i += 2; /* doubled quote */
                    else break;
                } else {
                    i++;
                }
            }
            i++;
        } else if (c == '#' || (c == '-' && i + 1 < n && s[i + 1] == '-' &&
                                (i + 2 == n || strchr(" \t\r\n", s[i + 2])))) {
            while (i < n && s[i] != '\n') i++; /* comment to end of line */
        } else if (c == '/' && i + 1 < n && s[i + 1] == '*') {
            const char *end = NULL;
            for (size_t k = i + 2; k + 1 < n; k++)
                if (s[k] == '*' && s[k + 1] == '/') {
                    end = s + k + 2;
                    break;
                }
            i = end ? (size_t)(end - s) : n;
        } else if (c == '?') {
            if (arg > last)
                luaL_error(L, "too few arguments for the placeholders in the query (%d given)",
                           last - first + 1);
            luaL_addlstring(&b, s + start, i - start);
            add_literal(L, &b, st, arg++);
            i++;
            start = i;
        } else {
            i++;
        }
    }
    if (arg <= last)
        luaL_error(L, "too many arguments for the placeholders in the query (%d placeholders, %d given)",
                   arg - first, last - first + 1);
    luaL_addlstring(&b, s + start, n - start);
    luaL_pushresult(&b);
}
