/*
 * What the rows of `fetch` and `stream` cost in Lua alone: no server, no
 * protocol, no decoding. Builds the 1,000,000 rows of bench_fetch (the same
 * values, as the server computes them) as Lua tables, the way res:fetch_all
 * and the cursor's rows do (lua_createtable, one push and one set per
 * value), from strings formatted before the clock starts, back to back in
 * the blocks a driver keeps stored rows in (huge pages where the kernel
 * offers them, src/core/bigmem.c). Any driver that hands a script plain
 * Lua tables pays at least this; `fetch`, `stream` and
 * `stream-refill` of a driver can be read against it:
 *
 *   fetch          every row kept in one array, the collector stopped
 *                  meanwhile (res:fetch_all)
 *   stream         a new table a row, its id read, then dropped (cur:rows())
 *   stream-refill  one table, every row's values set into it (cur:rows(t))
 *
 * The state is the host program's: its allocator, the generational
 * collector and the standard libraries, and nothing else, so the collector
 * has the least to walk (a larger heap makes its collections dearer). The
 * h column is a hex string of bench_fetch's length (10 + id % 91), not
 * SHA-2: only its length and its being distinct matter to the cost of a
 * Lua string.
 *
 *   cc -O2 -std=c99 -Wall -Wextra -I/usr/include/lua5.4 -Isrc/host -Isrc/core \
 *      scripts/bench/lua_floor.c src/host/lua_alloc.c src/core/bigmem.c -llua5.4 -lm -o lua_floor
 *   ./lua_floor keyed 1000000 [fetch]    (or: array; stream, stream-refill)
 *
 * Prints one line as the benchmark's peers do (scripts/bench/run runs it as
 * the driver lua-floor): `lua-floor WORKLOAD cpu=... wall=... rss_mb=...
 * ops=... shape=... check=...`, with the client CPU of building the rows
 * (user + system, as the peers report it), and in rss_mb the memory Lua
 * counts as in use at the end (every row, for fetch): the process's peak
 * RSS would also hold the strings formatted beforehand. The check is the
 * row count and the sum of the ids read back, as the peers' stream checks
 * are; for fetch, whose peers check every value, "skipped".
 */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bigmem.h"
#include "lua_alloc.h"

enum { NCOLS = 9, TEXT_COLS = 4 };

static const char *const COLUMN_NAMES[NCOLS] = { "id", "a", "b", "c", "d", "e", "f", "g", "h" };
static const char *const C_WORDS[5] = { "alpha", "bravo", "charlie", "delta", "echo" };

/* The text columns of one row, formatted before the timed part. */
typedef struct {
    char *text[TEXT_COLS]; /* c, e, f, h */
    size_t len[TEXT_COLS];
} text_row;

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void out_of_memory(void)
{
    fputs("lua_floor: out of memory\n", stderr);
    exit(1);
}

/* The formatted text, back to back in the blocks a driver keeps its rows
 * in (bigmem.h), so that reading it costs what reading packets does. */
static struct {
    char **blocks;
    int *mapped;
    size_t n, cap, used;
} text;

static char *dup_text(const char *s, size_t *len)
{
    *len = strlen(s);
    if (!text.n || text.used + *len + 1 > MYL_BIGMEM_SIZE) {
        if (text.n == text.cap) {
            text.cap = text.cap ? 2 * text.cap : 64;
            text.blocks = realloc(text.blocks, text.cap * sizeof *text.blocks);
            text.mapped = realloc(text.mapped, text.cap * sizeof *text.mapped);
            if (!text.blocks || !text.mapped) out_of_memory();
        }
        if (!(text.blocks[text.n] = myl_bigmem_alloc(&text.mapped[text.n]))) out_of_memory();
        text.n++;
        text.used = 0;
    }
    char *d = text.blocks[text.n - 1] + text.used;
    memcpy(d, s, *len + 1);
    text.used += *len + 1;
    return d;
}

static void format_row(long long s, text_row *row)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s-%lld", C_WORDS[s % 5], s % 100003);
    row->text[0] = dup_text(buf, &row->len[0]);

    long long cents = (s * 7177) % 10000000 - 5000000;
    long long abs_cents = cents < 0 ? -cents : cents;
    snprintf(buf, sizeof buf, "%s%lld.%02lld", cents < 0 ? "-" : "", abs_cents / 100, abs_cents % 100);
    row->text[1] = dup_text(buf, &row->len[1]);

    long long us = s * 37000123;
    time_t t = (time_t)(1577836800 + us / 1000000); /* 2020-01-01 00:00:00 UTC */
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%06lld", us % 1000000);
    row->text[2] = dup_text(buf, &row->len[2]);

    int hlen = 10 + (int)(s % 91);
    unsigned long long x = (unsigned long long)s * 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < hlen; i++) {
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ULL;
        buf[i] = "0123456789abcdef"[x >> 60];
    }
    buf[hlen] = '\0';
    row->text[3] = dup_text(buf, &row->len[3]);
}

/* Keyed rows push the column's name before its value, as res:fetch_all does. */
static void push_key(lua_State *L, int names, int keyed, int col)
{
    if (keyed) lua_pushvalue(L, names + col);
}

/* The value on top (after its key, for keyed rows) into the table at t. */
static void set_value(lua_State *L, int t, int keyed, int col)
{
    if (keyed) lua_rawset(L, t);
    else lua_rawseti(L, t, col + 1);
}

/* Row s's values into the table at t. */
static void fill_row(lua_State *L, int t, long long s, const text_row *row, int names, int keyed)
{
    push_key(L, names, keyed, 0);
    lua_pushinteger(L, s);
    set_value(L, t, keyed, 0);
    push_key(L, names, keyed, 1);
    lua_pushinteger(L, (s * 7919) % 2000003 - 1000000);
    set_value(L, t, keyed, 1);
    push_key(L, names, keyed, 2);
    lua_pushinteger(L, (s * 2654435761LL) % 9000000000000LL - 4500000000000LL);
    set_value(L, t, keyed, 2);
    push_key(L, names, keyed, 3);
    lua_pushlstring(L, row->text[0], row->len[0]);
    set_value(L, t, keyed, 3);
    push_key(L, names, keyed, 4);
    lua_pushnumber(L, sqrt((double)s) * 1000.5 / 3);
    set_value(L, t, keyed, 4);
    push_key(L, names, keyed, 5);
    lua_pushlstring(L, row->text[1], row->len[1]);
    set_value(L, t, keyed, 5);
    push_key(L, names, keyed, 6);
    lua_pushlstring(L, row->text[2], row->len[2]);
    set_value(L, t, keyed, 6);
    push_key(L, names, keyed, 7);
    if (s % 2 == 0) lua_pushlightuserdata(L, NULL); /* what mylua.null is */
    else lua_pushinteger(L, (s * 31) % 100003 - 50000);
    set_value(L, t, keyed, 7);
    push_key(L, names, keyed, 8);
    lua_pushlstring(L, row->text[3], row->len[3]);
    set_value(L, t, keyed, 8);
}

/* Row s as a new table, on top. */
static void push_row(lua_State *L, long long s, const text_row *row, int names, int keyed)
{
    lua_createtable(L, keyed ? 0 : NCOLS, keyed ? NCOLS : 0);
    fill_row(L, lua_gettop(L), s, row, names, keyed);
}

/* The timed part of fetch: every row into the table at `all`. */
static void build_rows(lua_State *L, int all, int names, const text_row *rows, long long nrows, int keyed)
{
    for (long long i = 0; i < nrows; i++) {
        push_row(L, i + 1, &rows[i], names, keyed);
        lua_rawseti(L, all, i + 1);
    }
}

/* The row on top's id, popping the row. */
static long long take_id(lua_State *L, int names, int keyed)
{
    if (keyed) {
        lua_pushvalue(L, names);
        lua_rawget(L, -2);
    } else {
        lua_rawgeti(L, -1, 1);
    }
    long long id = (long long)lua_tointeger(L, -1);
    lua_pop(L, 2);
    return id;
}

/* The timed part of stream: a new table a row, dropped once its id is
 * read; the collector frees them as it goes. */
static long long stream_rows(lua_State *L, int names, const text_row *rows, long long nrows, int keyed)
{
    long long ids = 0;
    for (long long i = 0; i < nrows; i++) {
        push_row(L, i + 1, &rows[i], names, keyed);
        ids += take_id(L, names, keyed);
    }
    return ids;
}

/* The timed part of stream-refill: every row's values set into the one table at
 * t; only the strings are new. */
static long long refill_rows(lua_State *L, int t, int names, const text_row *rows, long long nrows, int keyed)
{
    long long ids = 0;
    for (long long i = 0; i < nrows; i++) {
        fill_row(L, t, i + 1, &rows[i], names, keyed);
        lua_pushvalue(L, t);
        ids += take_id(L, names, keyed);
    }
    return ids;
}

int main(int argc, char **argv)
{
    const char *workload = argc > 3 ? argv[3] : "fetch";
    if (argc < 2 || argc > 4 || (strcmp(argv[1], "keyed") && strcmp(argv[1], "array")) ||
        (strcmp(workload, "fetch") && strcmp(workload, "stream") && strcmp(workload, "stream-refill"))) {
        fputs("usage: lua_floor keyed|array [ROWS] [fetch|stream|stream-refill]\n", stderr);
        return 2;
    }
    int keyed = !strcmp(argv[1], "keyed");
    long long nrows = argc > 2 ? atoll(argv[2]) : 1000000;
    if (nrows < 1 || nrows > 100000000) {
        fputs("lua_floor: ROWS must be 1 .. 100000000\n", stderr);
        return 2;
    }
    text_row *rows = malloc((size_t)nrows * sizeof *rows);
    if (!rows) {
        fputs("lua_floor: out of memory\n", stderr);
        return 1;
    }
    for (long long i = 0; i < nrows; i++) format_row(i + 1, &rows[i]);

    host_alloc *ha = host_alloc_new(0);
    lua_State *L = ha ? lua_newstate(host_alloc_lua, ha) : NULL;
    if (!L) {
        fputs("lua_floor: cannot create a Lua state\n", stderr);
        return 1;
    }
    lua_gc(L, LUA_GCGEN, 0, 0);
    luaL_openlibs(L); /* what every script's state holds: the collector's base */
    luaL_checkstack(L, NCOLS + 8, "names");
    for (int i = 0; i < NCOLS; i++) lua_pushstring(L, COLUMN_NAMES[i]);
    int names = 1;
    int fetch = !strcmp(workload, "fetch");
    long long ids = 0;

    double c0 = cpu_seconds(), w0 = wall_seconds();
    if (fetch) {
        /* As res:fetch_all does: every row stays reachable, so a collection
         * meanwhile would only mark them again and again. */
        lua_gc(L, LUA_GCSTOP);
        lua_createtable(L, (int)nrows, 0); /* ROWS is at most 100,000,000 */
        build_rows(L, lua_gettop(L), names, rows, nrows, keyed);
        lua_gc(L, LUA_GCRESTART);
    } else if (!strcmp(workload, "stream")) {
        ids = stream_rows(L, names, rows, nrows, keyed);
    } else {
        lua_createtable(L, keyed ? 0 : NCOLS, keyed ? NCOLS : 0);
        ids = refill_rows(L, lua_gettop(L), names, rows, nrows, keyed);
    }
    double c1 = cpu_seconds(), w1 = wall_seconds();

    double lua_mb = (lua_gc(L, LUA_GCCOUNT, 0) * 1024.0 + lua_gc(L, LUA_GCCOUNTB, 0)) / (1024.0 * 1024.0);
    char check[64] = "skipped";
    if (!fetch) snprintf(check, sizeof check, "%lld:%lld", nrows, ids);
    printf("lua-floor %s cpu=%.4f wall=%.4f rss_mb=%.1f ops=%lld shape=%s check=%s\n", workload, c1 - c0,
           w1 - w0, lua_mb, nrows, argv[1], check);
    lua_close(L);
    host_alloc_free(ha);
    for (size_t b = 0; b < text.n; b++) myl_bigmem_free(text.blocks[b], text.mapped[b]);
    free(text.blocks);
    free(text.mapped);
    free(rows);
    return 0;
}
