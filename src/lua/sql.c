/* Client-side placeholders: `?` outside quotes, backticks and comments (but
 * inside executable comments) is replaced by the SQL literal of the next
 * argument, built for the connection's charset in a form that does not
 * depend on the sql_mode. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "binding.h"
#include "../core/sqllex.h"

/* The statement being built: a luaL_Buffer (on top of the stack while in
 * use) and how many bytes past its end are known to be reserved, so that
 * most values are written without a call into Lua. */
typedef struct sqlbuf {
    luaL_Buffer b;
    size_t room;
} sqlbuf;

/* Reserved in one go when the room runs out: the values of many rows. */
enum { RESERVE_CHUNK = 8192 };

/* Appends seg (the statement's own bytes since the last placeholder) and
 * returns a place for `more` bytes after it; commit() says how many were
 * written. */
static char *reserve(lua_State *L, sqlbuf *o, const char *seg, size_t seglen, size_t more)
{
    if (more > (size_t)-1 - seglen) luaL_error(L, "statement too long");
    size_t need = seglen + more;
    if (need > o->room) {
        size_t ask = need < RESERVE_CHUNK ? RESERVE_CHUNK : need;
        luaL_prepbuffsize(&o->b, ask);
        o->room = ask;
    }
    char *dst = luaL_buffaddr(&o->b) + luaL_bufflen(&o->b);
    memcpy(dst, seg, seglen);
    luaL_addsize(&o->b, seglen);
    o->room -= seglen;
    return dst + seglen;
}

static void commit(sqlbuf *o, size_t n)
{
    luaL_addsize(&o->b, n);
    o->room -= n;
}

/* Appends seg, then the literal for the string s (see myl_quote: the same
 * in every sql_mode, so a stale NO_BACKSLASH_ESCAPES flag cannot change
 * it). */
static void add_string(lua_State *L, sqlbuf *o, const char *seg, size_t seglen, myl_escape_style st,
                       const char *s, size_t n)
{
    size_t bound = myl_quote_bound(n);
    if (!bound) luaL_error(L, "string too long to quote");
    char *dst = reserve(L, o, seg, seglen, bound);
    commit(o, myl_quote(dst, s, n, st.charset));
}

/* Appends seg, then X'...': bytes as they are, whatever the connection's
 * charset. */
static void add_hex(lua_State *L, sqlbuf *o, const char *seg, size_t seglen, const char *s, size_t n)
{
    static const char digits[] = "0123456789ABCDEF";
    if (n > ((size_t)-1 - 3) / 2) luaL_error(L, "blob too long to quote");
    char *dst = reserve(L, o, seg, seglen, 2 * n + 3);
    size_t k = 0;
    dst[k++] = 'X';
    dst[k++] = '\'';
    for (size_t i = 0; i < n; i++) {
        dst[k++] = digits[(unsigned char)s[i] >> 4];
        dst[k++] = digits[(unsigned char)s[i] & 15];
    }
    dst[k++] = '\'';
    commit(o, k);
}

/* Appends seg, then the n bytes at s (a short literal). */
static void add_short(lua_State *L, sqlbuf *o, const char *seg, size_t seglen, const char *s, size_t n)
{
    memcpy(reserve(L, o, seg, seglen, n), s, n);
    commit(o, n);
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

/* Writes the decimal digits of v (with a '-' when negative) at the end of
 * out[0..len): what "%lld" prints, without the format machinery that a
 * statement of thousands of values pays for each one.  Returns where the
 * text starts; out must hold 21 bytes (a sign and 20 digits). */
static char *format_integer(char *out, size_t len, lua_Integer v)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                "8081828384858687888990919293949596979899";
    char *p = out + len;
    /* The magnitude as unsigned: -LLONG_MIN does not fit in the signed type. */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    while (u >= 100) { /* two digits a division */
        unsigned r = (unsigned)(u % 100);
        u /= 100;
        *--p = pairs[2 * r + 1];
        *--p = pairs[2 * r];
    }
    if (u >= 10) {
        *--p = pairs[2 * u + 1];
        *--p = pairs[2 * u];
    } else {
        *--p = (char)('0' + u);
    }
    if (v < 0) *--p = '-';
    return p;
}

/* What snprintf "%.17g" prints for d, for the doubles whose exact value it
 * prints: 1 <= |d| < 2^53 with a binary fraction of at most as many bits as
 * digits are left of the 17 significant ones (k/4, 0.5, 3.0, ...).  Such a
 * d is I + j/2^k, whose decimal expansion has exactly k fraction digits,
 * j*5^k; "%.17g" shows them all, rounding nothing, and drops no zero
 * (j*5^k ends in 5).  Returns the length written into out (32 bytes), or
 * 0 to leave d to snprintf. */
static size_t format_exact_double(char *out, double d)
{
    double a = fabs(d);
    if (!(a >= 1.0 && a < 9007199254740992.0)) return 0; /* 2^53; NaN fails too */
    double ip = floor(a);
    double frac = a - ip; /* exact: the integer part has no fraction bits to lose */
    unsigned long long whole = (unsigned long long)ip;
    int digits = 0;
    for (unsigned long long w = whole; w; w /= 10) digits++;
    int k = 0;
    while (frac != 0.0) { /* doubling is exact while the bits stay below 2^53 */
        if (++k > 17 - digits) return 0;
        frac *= 2.0;
        if (frac >= 1.0) frac -= 1.0;
    }
    char tmp[24];
    size_t n = 0;
    if (d < 0) out[n++] = '-';
    char *w = format_integer(tmp, sizeof tmp, (lua_Integer)whole);
    size_t wl = (size_t)(tmp + sizeof tmp - w);
    memcpy(out + n, w, wl);
    n += wl;
    if (k) {
        /* j/2^k = j*5^k/10^k: k digits, leading zeros kept. */
        double scaled = (a - ip) * (double)(1ull << k); /* j, exactly */
        unsigned long long f = (unsigned long long)scaled;
        for (int i = 0; i < k; i++) f *= 5;
        out[n++] = '.';
        for (int i = k - 1; i >= 0; i--) {
            out[n + (size_t)i] = (char)('0' + f % 10);
            f /= 10;
        }
        n += (size_t)k;
    }
    return n;
}

/* Appends seg (see reserve), then the literal for the value at idx, to o
 * (its buffer on top of the stack). */
static void add_literal(lua_State *L, sqlbuf *o, const char *seg, size_t seglen, myl_escape_style st,
                        int idx)
{
    char num[64];
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        add_short(L, o, seg, seglen, "NULL", 4);
        return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) == NULL) {
            add_short(L, o, seg, seglen, "NULL", 4);
            return;
        }
        break;
    case LUA_TBOOLEAN:
        if (lua_toboolean(L, idx)) add_short(L, o, seg, seglen, "TRUE", 4);
        else add_short(L, o, seg, seglen, "FALSE", 5);
        return;
    case LUA_TNUMBER: {
        if (lua_isinteger(L, idx)) {
            char *p = format_integer(num, sizeof num, lua_tointeger(L, idx));
            add_short(L, o, seg, seglen, p, (size_t)(num + sizeof num - p));
            return;
        }
        double d = lua_tonumber(L, idx);
        if (!isfinite(d)) luaL_error(L, "cannot bind a non-finite number (%f) to SQL", d);
        size_t len = format_exact_double(num, d);
        if (len) {
            memcpy(num + len, "e0", 3);
        } else {
            snprintf(num, sizeof num, "%.17g", d);
            c_decimal_point(num);
            /* A trailing exponent makes it a DOUBLE literal, not DECIMAL. */
            if (!strpbrk(num, "eE")) strcat(num, "e0");
        }
        add_short(L, o, seg, seglen, num, strlen(num));
        return;
    }
    case LUA_TSTRING: {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        add_string(L, o, seg, seglen, st, s, n);
        return;
    }
    case LUA_TUSERDATA: {
        const myl_typed *tv = myl_lua_test_typed(L, idx);
        if (!tv) break;
        if (tv->kind == MYL_PARAM_BLOB) add_hex(L, o, seg, seglen, tv->s, tv->len);
        else add_string(L, o, seg, seglen, st, tv->s, tv->len); /* the server reads the text */
        return;
    }
    default: break;
    }
    luaL_error(L, "cannot bind a %s value to SQL", luaL_typename(L, idx));
}

void myl_lua_push_literal(lua_State *L, myl_escape_style st, int idx)
{
    sqlbuf o;
    idx = lua_absindex(L, idx);
    luaL_buffinit(L, &o.b);
    o.room = 0;
    add_literal(L, &o, "", 0, st, idx);
    luaL_pushresult(&o.b);
}

/* One way the server may read the query text.  The status flag that
 * reports NO_BACKSLASH_ESCAPES can be stale (after a CALL, or a SET
 * STATEMENT), ANSI_QUOTES is not reported at all, and whether "--" before
 * a byte >= 0x80 starts a comment depends on the charset's ctype table; so
 * the text is scanned in every reading, and placeholders are filled only
 * where all of them agree. */
typedef struct scan {
    const char *s;
    size_t n, i;
    myl_mb_kind mb;
    int escapes_single; /* a backslash escapes inside '...' */
    int escapes_double; /* and inside "..." (not with ANSI_QUOTES) */
    int dash_high;      /* "--" then a byte >= 0x80 starts a comment */
    int in_exec;        /* inside an executable comment */
} scan;

static const struct {
    int single, dbl;
} readings[] = {{1, 1}, {0, 0}, {1, 0}};

/* ASCII that cannot start a quote, a comment, or the end of an executable
 * comment, and is not a placeholder. */
static int plain_byte(unsigned char ch)
{
    return ch < 0x80 && ch != '?' && ch != '\'' && ch != '"' && ch != '`' && ch != '#' && ch != '-' &&
           ch != '/' && ch != '*';
}

/* Returns the offset of the next placeholder, or n when none is left: a
 * '?' the server reads as code, token by token through the core's SQL
 * lexer (sqllex.h) in this reading.  Skipped: quoted strings and
 * identifiers, comments; the text of an executable comment, slash-star-!
 * or slash-star-M-! with or without a version number, is SQL the server
 * runs: it is scanned, and its closing star-slash is skipped.  A two-byte
 * character of the connection's charset is stepped over whole. */
static size_t next_placeholder(scan *sc)
{
    unsigned flags = (sc->escapes_single ? 0u : MYL_SQLLEX_NO_BACKSLASH) |
                     (sc->escapes_double ? 0u : MYL_SQLLEX_ANSI_QUOTES) |
                     (sc->dash_high ? MYL_SQLLEX_DASH_HIGH : 0u);
    myl_sqltok t;
    while (sc->i < sc->n) {
        /* A byte the lexer reads as a token of its own, or as a piece of a
         * word or a run of blanks that it would end at the same place, is
         * stepped over here: the lexer keeps no state inside those, so
         * resuming it at the next byte reads the same tokens.  A VALUES
         * list of thousands of "(?,?,...)" is almost all such bytes. */
        unsigned char ch = (unsigned char)sc->s[sc->i];
        if (ch == '?') return sc->i++;
        if (plain_byte(ch)) {
            sc->i++;
            continue;
        }
        myl_sqllex_next(sc->s, sc->n, sc->i, flags | (sc->in_exec ? MYL_SQLLEX_IN_EXEC : 0u), sc->mb, &t);
        sc->i += t.len;
        if (t.kind == MYL_SQLTOK_EXEC_OPEN) sc->in_exec = 1;
        else if (t.kind == MYL_SQLTOK_EXEC_CLOSE) sc->in_exec = 0;
        else if (t.kind == MYL_SQLTOK_OTHER && sc->s[t.start] == '?') return t.start;
    }
    sc->i = sc->n;
    return sc->n;
}

void myl_lua_build_sql(lua_State *L, myl_escape_style st, int sql_idx, int first, int last)
{
    size_t n;
    const char *s = luaL_checklstring(L, sql_idx, &n);
    if (first > last) { /* no arguments: the text as it is */
        lua_pushvalue(L, sql_idx);
        return;
    }
    /* The readings differ only where the text has a backslash (how quotes
     * end) or "--" before a byte >= 0x80 (a comment or not); without
     * either, one scan stands for all of them. */
    enum { NREADINGS = sizeof readings / sizeof readings[0] };
    int escape_readings = memchr(s, '\\', n) ? NREADINGS : 1;
    int dash_readings = 1;
    for (const char *d = memchr(s, '-', n); d && dash_readings == 1;
         d = memchr(d + 1, '-', n - (size_t)(d + 1 - s)))
        if ((size_t)(d - s) + 2 < n && d[1] == '-' && (unsigned char)d[2] >= 0x80) dash_readings = 2;
    scan sc[2 * NREADINGS];
    int nscans = 0;
    for (int r = 0; r < escape_readings; r++) {
        for (int dash = 0; dash < dash_readings; dash++) {
            scan *c = &sc[nscans++];
            c->s = s;
            c->n = n;
            c->i = 0;
            c->mb = st.charset->mb;
            c->escapes_single = readings[r].single;
            c->escapes_double = readings[r].dbl;
            c->dash_high = dash;
            c->in_exec = 0;
        }
    }
    int arg = first;
    sqlbuf o;
    luaL_buffinit(L, &o.b);
    o.room = 0;
    size_t start = 0;
    for (;;) {
        size_t at = next_placeholder(&sc[0]);
        for (int k = 1; k < nscans; k++)
            if (next_placeholder(&sc[k]) != at)
                luaL_error(L, "cannot place the arguments safely: the server may read the query's own "
                              "quotes or comments in more than one way (a backslash inside quotes, "
                              "or -- before a non-ASCII byte)");
        if (at == n) break;
        if (arg > last)
            luaL_error(L, "too few arguments for the placeholders in the query (%d given)",
                       last - first + 1);
        add_literal(L, &o, s + start, at - start, st, arg++);
        start = at + 1;
    }
    if (arg <= last)
        luaL_error(L, "too many arguments for the placeholders in the query (%d placeholders, %d given)",
                   arg - first, last - first + 1);
    luaL_addlstring(&o.b, s + start, n - start);
    luaL_pushresult(&o.b);
}
