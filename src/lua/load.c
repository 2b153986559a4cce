/* db:load{...}: bulk loading through LOAD DATA LOCAL INFILE, the rows
 * encoded in C straight into the core's send buffer.
 *
 *   db:load{ table = "t", columns = {"a", "b"}, rows = array_or_iterator,
 *            replace = false, ignore = false, set = "c = NOW()",
 *            show_warnings = false, database = nil }
 *
 * The statement names a fixed file that only this call's one-shot source
 * serves (myl_next_infile), whatever the connection's local_infile says.
 * Rows are arrays of values, one per column (the columns given, or every
 * column of SELECT * on the table); the format is tab-separated with
 * backslash escapes, each value written exactly: NULL as \N, tab, newline,
 * backslash and NUL escaped, integers in full, floats in a form that reads
 * back as the same double, booleans as 1 and 0, strings as their bytes.  Memory is constant
 * in the number of rows: a row is encoded where the core will send it from;
 * only a row that does not fit what is left of the buffer goes to a side
 * buffer (reused, as large as the largest such row).
 *
 * A failure while the rows are produced (the iterator raises, a value
 * cannot be loaded) stops the transfer after the last whole row: the server
 * never sees part of a row, and gets every row before the failing one (a
 * row split across packets is completed first).  The rows sent before stay loaded unless the
 * load runs inside a transaction that is rolled back. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "infile_call.h"

#define LOAD_FILE "mylua-load.tsv"
#define MAX_WARNINGS 64

typedef struct loader {
    myl_lua_infile_call *call;
    int rows_idx;          /* the array or iterator, in db:load's frame */
    int iter;              /* rows is an iterator function */
    lua_Integer nrows;     /* an array's length */
    lua_Integer next;      /* the next array index */
    lua_Integer row_no;    /* rows taken so far */
    int ncols;
    int opened, ended, failed;
    /* the core's buffer during a read: out_len bytes of whole rows */
    uint8_t *out;
    size_t out_cap, out_len;
    /* the row that did not fit: sent before any other */
    uint8_t *pend;
    size_t pend_cap, pend_len, pend_off;
} loader;

/* Where a row is encoded: the core's buffer (fixed) or the side buffer. */
typedef struct sink {
    uint8_t *p;
    size_t len, cap;
    loader *grow; /* NULL: fixed */
} sink;

static const unsigned char escaped[256] = {[0] = '0', ['\t'] = 't', ['\n'] = 'n', ['\\'] = '\\'};

/* Grows the side buffer for n more bytes, or says the core's is full. */
static int grow(lua_State *L, sink *s, size_t n)
{
    loader *ld = s->grow;
    if (!ld) return -1;
    if (n > SIZE_MAX / 2 - s->len) luaL_error(L, "db:load: row %I is too large", ld->row_no);
    size_t cap = s->cap ? s->cap : 4096;
    while (cap - s->len < n) cap *= 2;
    uint8_t *p = realloc(ld->pend, cap);
    if (!p) luaL_error(L, "db:load: not enough memory for row %I", ld->row_no);
    ld->pend = s->p = p;
    ld->pend_cap = s->cap = cap;
    return 0;
}

/* Room for n more bytes: 0, or -1 when a fixed sink is full. */
static inline int room(lua_State *L, sink *s, size_t n)
{
    return s->cap - s->len >= n ? 0 : grow(L, s, n);
}

static int put_string(lua_State *L, sink *s, const char *v, size_t n)
{
    const unsigned char *src = (const unsigned char *)v, *end = src + n;
    if (s->cap - s->len < 2 * n) {
        /* near the end of the buffer (or a huge value): the exact size */
        size_t need = n;
        for (const unsigned char *q = src; q < end; q++) need += escaped[*q] != 0;
        if (room(L, s, need)) return -1;
    }
    uint8_t *d = s->p + s->len;
    for (; src < end; src++) {
        unsigned char c = *src;
        if (escaped[c]) {
            *d++ = '\\';
            *d++ = escaped[c];
        } else {
            *d++ = c;
        }
    }
    s->len = (size_t)(d - s->p);
    return 0;
}

static const char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

static int put_integer(lua_State *L, sink *s, lua_Integer v)
{
    if (room(L, s, 21)) return -1;
    char tmp[24];
    int i = (int)sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    /* two digits a division: the divisions are what this costs */
    while (u >= 100) {
        unsigned k = (unsigned)(u % 100) * 2;
        u /= 100;
        tmp[--i] = digit_pairs[k + 1];
        tmp[--i] = digit_pairs[k];
    }
    if (u >= 10) {
        tmp[--i] = digit_pairs[u * 2 + 1];
        tmp[--i] = digit_pairs[u * 2];
    } else {
        tmp[--i] = (char)('0' + u);
    }
    if (v < 0) tmp[--i] = '-';
    memcpy(s->p + s->len, tmp + i, sizeof tmp - (size_t)i);
    s->len += sizeof tmp - (size_t)i;
    return 0;
}

/* Writes u / 10^scale ("12.5" for 125, 1), after a '-' when negative. */
static size_t fixed_point(char *d, unsigned long long u, int scale, int negative)
{
    char tmp[32];
    int i = (int)sizeof tmp;
    for (int k = 0; k < scale; k++) {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    }
    if (scale) tmp[--i] = '.';
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (negative) tmp[--i] = '-';
    memcpy(d, tmp + i, sizeof tmp - (size_t)i);
    return sizeof tmp - (size_t)i;
}

/* The value exactly, as the server will read it back.  Most floats in real
 * data have a short decimal form: v * 10^scale is then a whole number n
 * below 2^53, and n / 10^scale (correctly rounded, as the server parses
 * it) is v again; that is checked, not assumed.  Anything else gets 17
 * significant digits, which always round-trip. */
static int put_float(lua_State *L, sink *s, lua_Number v, loader *ld, int col)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    if (!isfinite(v))
        luaL_error(L, "db:load: row %I, column %d: %s cannot be loaded", ld->row_no, col,
                   isnan(v) ? "NaN" : "an infinite number");
    if (room(L, s, 32)) return -1;
    char *d = (char *)s->p + s->len;
    for (int scale = 0; scale < (int)(sizeof p10 / sizeof p10[0]); scale++) {
        double r = (double)v * p10[scale];
        if (!(fabs(r) < 9007199254740992.0)) break;
        if (r != floor(r)) continue;
        long long n = (long long)r;
        if ((double)n / p10[scale] != (double)v) continue;
        s->len += fixed_point(d, (unsigned long long)(n < 0 ? -n : n), scale,
                              signbit((double)v) != 0);
        return 0;
    }
    int k = snprintf(d, 32, "%.17g", (double)v);
    /* whatever the locale's decimal point, the server wants '.' */
    for (int i = 0; i < k; i++)
        if (!((d[i] >= '0' && d[i] <= '9') || d[i] == '-' || d[i] == '+' || d[i] == 'e'))
            d[i] = '.';
    s->len += (size_t)k;
    return 0;
}

/* Encodes the row at index r; -1 when a fixed sink is full (nothing of the
 * row counts then). */
static int encode_row(lua_State *L, loader *ld, sink *s, int r)
{
    for (int i = 1; i <= ld->ncols; i++) {
        int rc = 0;
        if (i > 1) {
            if (room(L, s, 1)) return -1;
            s->p[s->len++] = '\t';
        }
        switch (lua_rawgeti(L, r, i)) {
        case LUA_TNIL:
            rc = room(L, s, 2);
            if (!rc) {
                s->p[s->len++] = '\\';
                s->p[s->len++] = 'N';
            }
            break;
        case LUA_TSTRING: {
            size_t n;
            const char *v = lua_tolstring(L, -1, &n);
            rc = put_string(L, s, v, n);
            break;
        }
        case LUA_TNUMBER:
            if (lua_isinteger(L, -1)) rc = put_integer(L, s, lua_tointeger(L, -1));
            else rc = put_float(L, s, lua_tonumber(L, -1), ld, i);
            break;
        case LUA_TBOOLEAN:
            rc = room(L, s, 1);
            if (!rc) s->p[s->len++] = lua_toboolean(L, -1) ? '1' : '0';
            break;
        case LUA_TLIGHTUSERDATA:
            if (lua_touserdata(L, -1) == NULL) { /* mylua.null */
                rc = room(L, s, 2);
                if (!rc) {
                    s->p[s->len++] = '\\';
                    s->p[s->len++] = 'N';
                }
                break;
            }
            /* fall through */
        default:
            luaL_error(L, "db:load: row %I, column %d: cannot load a %s value", ld->row_no, i,
                       luaL_typename(L, -1));
        }
        lua_pop(L, 1);
        if (rc) return -1;
    }
    if (room(L, s, 1)) return -1;
    s->p[s->len++] = '\n';
    return 0;
}

/* Pushes the next row; 0 (nothing pushed) at the end.  rows at index 2. */
static int next_row(lua_State *L, loader *ld)
{
    if (ld->iter) {
        lua_pushvalue(L, 2);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            return 0;
        }
    } else {
        if (ld->next > ld->nrows) return 0;
        lua_rawgeti(L, 2, ld->next++);
    }
    ld->row_no++;
    if (!lua_istable(L, -1))
        luaL_error(L, "db:load: row %I must be an array of values (got a %s)", ld->row_no,
                   luaL_typename(L, -1));
    lua_Unsigned n = lua_rawlen(L, -1);
    if (n > (lua_Unsigned)ld->ncols)
        luaL_error(L, "db:load: row %I has %I values for %d columns", ld->row_no,
                   (lua_Integer)n, ld->ncols);
    return 1;
}

/* Protected (ld, rows): fills the core's buffer with rows. */
static int fill(lua_State *L)
{
    loader *ld = lua_touserdata(L, 1);
    for (;;) {
        if (ld->pend_off < ld->pend_len) {
            size_t k = ld->pend_len - ld->pend_off;
            if (k > ld->out_cap - ld->out_len) k = ld->out_cap - ld->out_len;
            memcpy(ld->out + ld->out_len, ld->pend + ld->pend_off, k);
            ld->out_len += k;
            ld->pend_off += k;
            if (ld->pend_off < ld->pend_len) return 0;
        }
        if (ld->out_len == ld->out_cap || ld->ended) return 0;
        if (!next_row(L, ld)) {
            ld->ended = 1;
            return 0;
        }
        int r = lua_gettop(L);
        sink s = {ld->out, ld->out_len, ld->out_cap, NULL};
        if (encode_row(L, ld, &s, r) == 0) {
            ld->out_len = s.len;
        } else {
            sink p = {ld->pend, 0, ld->pend_cap, ld};
            encode_row(L, ld, &p, r);
            ld->pend_len = p.len;
            ld->pend_off = 0;
        }
        lua_pop(L, 1);
    }
}

static int ld_open(void *ud, const char *name, size_t len, void **src, myl_error *err)
{
    loader *ld = ud;
    if (len != strlen(LOAD_FILE) || memcmp(name, LOAD_FILE, len) != 0) {
        myl_error_set(err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                      "LOAD DATA LOCAL INFILE request refused: db:load serves only its own rows");
        return -1;
    }
    ld->opened = 1;
    *src = ld;
    return 0;
}

static int ld_read(void *ud, void *src, uint8_t *buf, size_t cap, size_t *n, myl_error *err)
{
    (void)ud;
    loader *ld = src;
    lua_State *L = ld->call->cu->L;
    if (ld->failed) {
        /* The rows before the failure are in what the core holds: it sends
         * a buffer it holds only at the end of the data, so this is the
         * end.  The failure is raised once the core returns. */
        *n = 0;
        return 0;
    }
    ld->out = buf;
    ld->out_cap = cap;
    ld->out_len = 0;
    lua_pushcfunction(L, fill);
    lua_pushlightuserdata(L, ld);
    lua_pushvalue(L, ld->rows_idx);
    int rc = lua_pcall(L, 2, 0, 0);
    ld->out = NULL;
    if (rc != LUA_OK) {
        myl_lua_infile_keep_error(ld->call, "the rows iterator of db:load", err);
        /* Nothing of a row is left out: either these bytes end the last
         * whole row (then send them, and end), or the data stopped at a
         * row's end (then the core's failure path ends it). */
        if (ld->out_len == 0) return -1;
        ld->failed = 1;
    }
    *n = ld->out_len;
    return 0;
}

static void ld_close(void *ud, void *src)
{
    (void)ud;
    loader *ld = src;
    free(ld->pend);
    ld->pend = NULL;
    ld->pend_cap = ld->pend_len = ld->pend_off = 0;
}

/* ---- the statement ---- */

static void add_name(luaL_Buffer *b, const char *s, size_t n)
{
    luaL_addchar(b, '`');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '`') luaL_addchar(b, '`');
        luaL_addchar(b, s[i]);
    }
    luaL_addchar(b, '`');
}

static const char *check_name(lua_State *L, int idx, const char *what, size_t *n)
{
    const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, n) : NULL;
    if (!s) luaL_error(L, "db:load: %s must be a string (got a %s)", what, luaL_typename(L, idx));
    if (*n == 0 || memchr(s, 0, *n))
        luaL_error(L, "db:load: %s must be a non-empty name without NUL bytes", what);
    return s;
}

/* "@name": a user variable, for the set clause to use. */
static int is_variable(const char *s, size_t n)
{
    if (n < 2 || s[0] != '@') return 0;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '$'))
            return 0;
    }
    return 1;
}

/* Pushes `db`.`t` (or `t`) for the options table at 2. */
static void push_table_name(lua_State *L)
{
    int db = lua_gettop(L) + 1, t = db + 1;
    size_t dn = 0, tn;
    lua_getfield(L, 2, "database");
    lua_getfield(L, 2, "table");
    const char *d = lua_isnil(L, db) ? NULL : check_name(L, db, "database", &dn);
    if (lua_isnil(L, t)) luaL_error(L, "db:load: option 'table' is required");
    const char *name = check_name(L, t, "table", &tn);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    if (d) {
        add_name(&b, d, dn);
        luaL_addchar(&b, '.');
    }
    add_name(&b, name, tn);
    luaL_pushresult(&b);
    lua_replace(L, db);
    lua_settop(L, db);
}

/* Pushes the column list "(`a`,`b`)" for the columns table at idx and
 * returns how many there are. */
static int push_columns(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TTABLE)
        luaL_error(L, "db:load: option 'columns' must be an array of names (got a %s)",
                   luaL_typename(L, idx));
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (n < 1 || n > 4096) luaL_error(L, "db:load: option 'columns' must name 1 to 4096 columns");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '(');
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, idx, i);
        size_t len = 0;
        const char *c = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (!c || len == 0 || memchr(c, 0, len))
            luaL_error(L, "db:load: column %I must be a non-empty name without NUL bytes", i);
        lua_pop(L, 1); /* the string stays alive in the columns table */
        if (i > 1) luaL_addchar(&b, ',');
        if (is_variable(c, len)) luaL_addlstring(&b, c, len);
        else add_name(&b, c, len);
    }
    luaL_addchar(&b, ')');
    luaL_pushresult(&b);
    return (int)n;
}

/* The number of columns of SELECT * on the table named at idx. */
static int count_columns(lua_State *L, int idx)
{
    lua_pushliteral(L, "SELECT * FROM ");
    lua_pushvalue(L, idx);
    lua_pushliteral(L, " LIMIT 0");
    lua_concat(L, 3);
    size_t n;
    const char *sql = lua_tolstring(L, -1, &n);
    myl_result **slot = myl_lua_new_result(L); /* owns the result, whatever happens */
    conn_ud *cu = myl_lua_check_conn(L, 1);
    *slot = myl_query(cu->c, sql, n);
    if (!*slot) myl_lua_raise_conn(L, cu);
    if (!(*slot)->cols) luaL_error(L, "db:load: the table has no columns to load");
    int ncols = (int)(*slot)->cols->n;
    lua_pop(L, 2);
    return ncols;
}

static void check_options(lua_State *L)
{
    static const char *const keys[] = {"table", "database", "columns", "rows", "replace",
                                       "ignore", "set", "show_warnings", NULL};
    const char *k = myl_lua_unknown_key(L, 2, keys);
    if (k)
        luaL_error(L, "db:load: unknown option '%s' (expected table, database, columns, rows, "
                   "replace, ignore, set, show_warnings)", k);
}

static int flag(lua_State *L, const char *name)
{
    int t = lua_getfield(L, 2, name);
    if (t != LUA_TNIL && t != LUA_TBOOLEAN)
        luaL_error(L, "db:load: option '%s' must be a boolean (got a %s)", name,
                   luaL_typename(L, -1));
    int on = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return on;
}

/* Pushes {level =, code =, message =} for each of the first warnings. */
static void push_warnings(lua_State *L)
{
    static const char sql[] = "SHOW WARNINGS LIMIT 64";
    myl_result **slot = myl_lua_new_result(L);
    conn_ud *cu = myl_lua_check_conn(L, 1);
    *slot = myl_query(cu->c, sql, sizeof sql - 1);
    if (!*slot) myl_lua_raise_conn(L, cu);
    int res = lua_gettop(L);
    myl_result *r = *slot;
    lua_createtable(L, r->nrows < MAX_WARNINGS ? (int)r->nrows : MAX_WARNINGS, 0);
    for (size_t i = 0; r->cols && r->cols->n == 3 && i < r->nrows && i < MAX_WARNINGS; i++) {
        size_t n;
        const uint8_t *p = myl_result_row(r, i, &n);
        if (myl_lua_push_row(L, r->cols, p, n, ROW_VALUES, 0, 0, 0) != 3)
            luaL_error(L, "malformed row in result");
        lua_createtable(L, 0, 3);
        lua_insert(L, -4);
        lua_setfield(L, -4, "message");
        lua_setfield(L, -3, "code");
        lua_setfield(L, -2, "level");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_remove(L, res);
}

/* db:load{...} -> { affected_rows =, warnings =, info =, ... [, warnings_list =] } */
int myl_lua_conn_load(lua_State *L)
{
    conn_ud *cu = myl_lua_conn_for_command(L, 1);
    myl_lua_check_type(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    check_options(L);
    if (!myl_infile_enabled(cu->c))
        luaL_error(L, "db:load needs LOAD DATA LOCAL INFILE, which is agreed on when connecting: "
                   "connect with local_infile = true");
    push_table_name(L); /* 3 */
    int rows_type = lua_getfield(L, 2, "rows"); /* 4 */
    if (rows_type != LUA_TTABLE && rows_type != LUA_TFUNCTION)
        luaL_error(L, "db:load: option 'rows' must be an array of rows or an iterator function "
                   "(got a %s)", luaL_typename(L, 4));
    int replace = flag(L, "replace"), ignore = flag(L, "ignore");
    int show_warnings = flag(L, "show_warnings");
    if (replace && ignore) luaL_error(L, "db:load: options 'replace' and 'ignore' exclude each other");
    int set_type = lua_getfield(L, 2, "set"); /* 5 */
    if (set_type != LUA_TNIL && set_type != LUA_TSTRING)
        luaL_error(L, "db:load: option 'set' must be a string of assignments (got a %s)",
                   luaL_typename(L, 5));
    int ncols;
    if (lua_getfield(L, 2, "columns") == LUA_TNIL) { /* 6 */
        ncols = count_columns(L, 3);
        lua_pushliteral(L, "");
    } else {
        ncols = push_columns(L, 6);
    }
    lua_replace(L, 6);

    /* The statement.  Tab and newline go in as themselves, so the text
     * means the same whether or not the sql_mode has NO_BACKSLASH_ESCAPES. */
    cu = myl_lua_check_conn(L, 1);
    myl_escape_style st = myl_conn_escape_style(cu->c);
    const char *charset = myl_charset_name(cu->c);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "LOAD DATA LOCAL INFILE '" LOAD_FILE "' ");
    if (replace) luaL_addstring(&b, "REPLACE ");
    if (ignore) luaL_addstring(&b, "IGNORE ");
    luaL_addstring(&b, "INTO TABLE ");
    lua_pushvalue(L, 3);
    luaL_addvalue(&b);
    luaL_addstring(&b, " CHARACTER SET ");
    luaL_addstring(&b, *charset ? charset : "utf8mb4");
    luaL_addstring(&b, " FIELDS TERMINATED BY '\t' ESCAPED BY '");
    luaL_addstring(&b, st.no_backslash ? "\\" : "\\\\");
    luaL_addstring(&b, "' LINES TERMINATED BY '\n' ");
    lua_pushvalue(L, 6);
    luaL_addvalue(&b);
    if (set_type == LUA_TSTRING) {
        luaL_addstring(&b, " SET ");
        lua_pushvalue(L, 5);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b); /* 7 */
    size_t sql_len;
    const char *sql = lua_tolstring(L, 7, &sql_len);
    myl_result **slot = myl_lua_new_result(L); /* 8: owns the result */

    loader ld;
    memset(&ld, 0, sizeof ld);
    ld.rows_idx = 4;
    ld.iter = rows_type == LUA_TFUNCTION;
    ld.nrows = ld.iter ? 0 : (lua_Integer)lua_rawlen(L, 4);
    ld.next = 1;
    ld.ncols = ncols;
    myl_infile_hooks hooks = {ld_open, ld_read, ld_close, &ld};
    myl_lua_infile_call call;
    ld.call = &call;
    cu = myl_lua_check_conn(L, 1); /* a finalizer may have closed it meanwhile */
    myl_lua_infile_begin(L, 1, cu, &call, "loads rows (db:load)");
    myl_next_infile(cu->c, &hooks);
    *slot = myl_query(cu->c, sql, sql_len);
    myl_error e;
    myl_error_clear(&e);
    if (!*slot) e = *myl_conn_error(cu->c);
    myl_next_infile(cu->c, NULL); /* the hooks live on this frame */
    free(ld.pend);
    int failed = myl_lua_infile_end(L, &call);
    if (failed) return lua_error(L); /* the rows' own error */
    if (!*slot) return myl_lua_raise(L, &e);
    if (!ld.opened)
        luaL_error(L, "db:load: the server did not ask for the rows");

    myl_status status = (*slot)->status; /* info stays owned by the result, at 8 */
    lua_createtable(L, 0, 6);
    myl_lua_set_status(L, -1, &status);
    if (show_warnings) {
        if (status.warnings > 0) push_warnings(L);
        else lua_newtable(L);
        lua_setfield(L, -2, "warnings_list");
    }
    return 1;
}
