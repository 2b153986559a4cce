/* The host program's Lua allocator (src/host/lua_alloc.c) without a
 * server: blocks keep their bytes through every resize, never overlap,
 * come from the range or from malloc as promised, and a Lua state on it
 * runs a garbage-heavy workload to the same results
 * (spec/07-lua_alloc_spec.lua runs it, plain and under the sanitizers).
 *
 * Prints one line per case, "ok NAME" or "not ok NAME: what differed", and
 * exits 0 only when every case is ok. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/host/lua_alloc.h"

#include "cases.h"

#if defined(__SANITIZE_ADDRESS__)
#define HOST_ALLOC_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOST_ALLOC_TEST_ASAN 1
#endif
#endif

/* ---- blocks checked byte by byte ------------------------------------------ */

typedef struct block {
    unsigned char *p;
    size_t size;
    unsigned char fill; /* every byte of the block holds this */
} block;

static int holds(const block *b)
{
    for (size_t i = 0; i < b->size; i++)
        if (b->p[i] != b->fill) return 0;
    return 1;
}

static uint64_t rng = 0x9E3779B97F4A7C15u;
static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Sizes that cross every boundary: 1, the classes, SMALL_MAX and past it. */
static size_t random_size(void)
{
    switch (next_random() % 4) {
    case 0: return 1 + next_random() % 16;
    case 1: return 1 + next_random() % HOST_ALLOC_SMALL_MAX;
    case 2: return HOST_ALLOC_SMALL_MAX - 8 + next_random() % 17;
    default: return 1 + next_random() % (4 * HOST_ALLOC_SMALL_MAX);
    }
}

/* Whether [p, p+n) overlaps any live block but `self`. */
static int overlaps(const block *live, size_t nlive, const block *self)
{
    uintptr_t a0 = (uintptr_t)self->p, a1 = a0 + self->size;
    for (size_t i = 0; i < nlive; i++) {
        if (&live[i] == self || !live[i].p) continue;
        uintptr_t b0 = (uintptr_t)live[i].p, b1 = b0 + live[i].size;
        if (a0 < b1 && b0 < a1) return 1;
    }
    return 0;
}

/* 200,000 random news, resizes and frees over 512 slots: after each, the
 * block holds its bytes (as far as both sizes go) and overlaps no other. */
static int random_traffic_keeps_every_byte(void)
{
    enum { SLOTS = 512, STEPS = 200000 };
    host_alloc *a = host_alloc_new(0);
    if (!a) return fail("host_alloc_new failed");
    static block live[SLOTS];
    memset(live, 0, sizeof live);
    int ok = 1;
    for (int step = 0; step < STEPS && ok; step++) {
        block *b = &live[next_random() % SLOTS];
        unsigned char fill = (unsigned char)(step * 31 + 7);
        if (!b->p) {
            size_t n = random_size();
            size_t kind = next_random() % 2 ? LUA_TUSERDATA : LUA_TSTRING;
            b->p = host_alloc_lua(a, NULL, kind, n);
            if (!b->p) return fail("step %d: a new block of %zu bytes failed", step, n);
            b->size = n;
        } else if (next_random() % 3 == 0) {
            if (!holds(b)) ok = fail("step %d: a block of %zu bytes changed before its free", step, b->size);
            host_alloc_lua(a, b->p, b->size, 0);
            b->p = NULL;
            continue;
        } else {
            if (!holds(b)) ok = fail("step %d: a block of %zu bytes changed before its resize", step, b->size);
            size_t n = random_size();
            unsigned char *q = host_alloc_lua(a, b->p, b->size, n);
            if (!q) return fail("step %d: a resize from %zu to %zu bytes failed", step, b->size, n);
            size_t kept = n < b->size ? n : b->size;
            for (size_t i = 0; i < kept && ok; i++)
                if (q[i] != b->fill) ok = fail("step %d: byte %zu lost in a resize from %zu to %zu", step, i, b->size, n);
            b->p = q;
            b->size = n;
        }
        memset(b->p, fill, b->size);
        b->fill = fill;
        if (ok && overlaps(live, SLOTS, b)) ok = fail("step %d: a block of %zu bytes overlaps another", step, b->size);
    }
    for (size_t i = 0; i < SLOTS; i++) {
        if (!live[i].p) continue;
        if (ok && !holds(&live[i])) ok = fail("slot %zu changed", i);
        host_alloc_lua(a, live[i].p, live[i].size, 0);
    }
    host_alloc_free(a);
    return ok;
}

/* Small blocks come from the range, 8-byte aligned; userdata and large
 * blocks from malloc, 16-byte aligned. */
static int small_blocks_in_the_range_userdata_and_large_outside(void)
{
    host_alloc *a = host_alloc_new(0);
    if (!a) return fail("host_alloc_new failed");
    void *s = host_alloc_lua(a, NULL, LUA_TSTRING, 24);
    void *t = host_alloc_lua(a, NULL, LUA_TTABLE, HOST_ALLOC_SMALL_MAX);
    void *u = host_alloc_lua(a, NULL, LUA_TUSERDATA, 24);
    void *big = host_alloc_lua(a, NULL, 0, HOST_ALLOC_SMALL_MAX + 1);
    int ok = 1;
    if (!s || !t || !u || !big) ok = fail("an allocation failed");
    else if (!host_alloc_owns(a, s) || !host_alloc_owns(a, t)) ok = fail("a small block is not in the range");
    else if ((uintptr_t)s % 8 || (uintptr_t)t % 8) ok = fail("a small block is not 8-byte aligned");
    else if (host_alloc_owns(a, u)) ok = fail("a userdata block is in the range");
    else if ((uintptr_t)u % 16) ok = fail("a userdata block is not 16-byte aligned");
    else if (host_alloc_owns(a, big)) ok = fail("a block over %d bytes is in the range", HOST_ALLOC_SMALL_MAX);
    host_alloc_lua(a, s, 24, 0);
    host_alloc_lua(a, t, HOST_ALLOC_SMALL_MAX, 0);
    host_alloc_lua(a, u, 24, 0);
    host_alloc_lua(a, big, HOST_ALLOC_SMALL_MAX + 1, 0);
    host_alloc_free(a);
    return ok;
}

/* A freed block is the next one of its class handed out (under ASan: not
 * at once, it waits in the quarantine); a shrink keeps
 * the block; a grow past its class moves it, bytes kept; a grow past
 * SMALL_MAX moves it out of the range. */
static int classes_reuse_and_move_blocks(void)
{
    host_alloc *a = host_alloc_new(0);
    if (!a) return fail("host_alloc_new failed");
    int ok = 1;
    unsigned char *p = host_alloc_lua(a, NULL, LUA_TSTRING, 40);
    host_alloc_lua(a, p, 40, 0);
    unsigned char *q = host_alloc_lua(a, NULL, LUA_TSTRING, 37); /* the same class: 40 bytes */
#ifdef HOST_ALLOC_TEST_ASAN
    if (q == p) ok = fail("a freed block was handed out again at once, not quarantined");
#else
    if (q != p) ok = fail("a freed block of the class was not handed out again");
#endif
    memset(q, 'x', 37);
    if (ok && host_alloc_lua(a, q, 37, 20) != q) ok = fail("a shrink moved the block");
    unsigned char *r = ok ? host_alloc_lua(a, q, 20, 200) : NULL;
    if (ok && (!r || r == q)) ok = fail("a grow to another class did not move the block");
    for (int i = 0; ok && i < 20; i++)
        if (r[i] != 'x') ok = fail("byte %d lost in the move", i);
    memset(r, 'y', 200);
    unsigned char *big = ok ? host_alloc_lua(a, r, 200, 5000) : NULL;
    if (ok && (!big || host_alloc_owns(a, big))) ok = fail("a grow past SMALL_MAX stayed in the range");
    for (int i = 0; ok && i < 200; i++)
        if (big[i] != 'y') ok = fail("byte %d lost in the move out of the range", i);
    unsigned char *back = ok ? host_alloc_lua(a, big, 5000, 100) : NULL; /* malloc's: stays malloc's */
    if (ok && (!back || host_alloc_owns(a, back))) ok = fail("a shrink moved a malloc block into the range");
    for (int i = 0; ok && i < 100; i++)
        if (back[i] != 'y') ok = fail("byte %d lost in the shrink", i);
    if (back) host_alloc_lua(a, back, 100, 0);
    host_alloc_free(a);
    return ok;
}

/* A range of 2 MiB fills up: every block after it comes from malloc, and
 * all of them, inside and out, keep their bytes and free cleanly. */
static int a_full_range_falls_back_to_malloc(void)
{
    enum { N = 40000 };
    host_alloc *a = host_alloc_new((size_t)2 << 20);
    if (!a) return fail("host_alloc_new failed");
    static unsigned char *p[N];
    int inside = 0, outside = 0, ok = 1;
    for (int i = 0; i < N; i++) {
        p[i] = host_alloc_lua(a, NULL, LUA_TSTRING, 64);
        if (!p[i]) return fail("block %d failed", i);
        memset(p[i], (unsigned char)i, 64);
        if (host_alloc_owns(a, p[i])) inside++;
        else outside++;
    }
    if (inside == 0 || outside == 0) ok = fail("%d blocks inside the range, %d outside", inside, outside);
    for (int i = 0; i < N; i++) {
        for (int k = 0; ok && k < 64; k++)
            if (p[i][k] != (unsigned char)i) ok = fail("block %d changed", i);
        host_alloc_lua(a, p[i], 64, 0);
    }
    host_alloc_free(a);
    return ok;
}

/* Where no range can be had at all, every block is malloc's. */
static int no_range_means_malloc(void)
{
    host_alloc *a = host_alloc_new(1); /* less than a step: no range */
    if (!a) return fail("host_alloc_new failed");
    void *p = host_alloc_lua(a, NULL, LUA_TSTRING, 16);
    int ok = p && !host_alloc_owns(a, p);
    if (!ok) fail("a block came from a range that should not exist");
    p = host_alloc_lua(a, p, 16, 32);
    if (ok && !p) ok = fail("a resize failed");
    host_alloc_lua(a, p, 32, 0);
    host_alloc_free(a);
    return ok;
}

/* A Lua state on the allocator: tables grown and shrunk, a million short
 * and long strings, closures, coroutines, full collections, and the
 * results are the arithmetic's. */
static int a_lua_state_runs_on_it(void)
{
    host_alloc *a = host_alloc_new(0);
    if (!a) return fail("host_alloc_new failed");
    lua_State *L = lua_newstate(host_alloc_lua, a);
    if (!L) return fail("lua_newstate failed");
    luaL_openlibs(L);
    static const char code[] =
        "local rows, sum, len = {}, 0, 0\n"
        "for i = 1, 200000 do\n"
        "  local r = { id = i, name = 'name-' .. (i % 1000), long = ('x'):rep(i % 90), i / 4 }\n"
        "  rows[#rows + 1] = r\n"
        "  if #rows > 5000 then rows = {} collectgarbage('step') end\n"
        "  sum = sum + r.id; len = len + #r.name + #r.long\n"
        "end\n"
        "local co = coroutine.wrap(function() for i = 1, 1000 do coroutine.yield(('%d'):format(i)) end end)\n"
        "local s = 0\n"
        "for i = 1, 1000 do s = s + tonumber(co()) end\n"
        "local t = {} for i = 1, 100000 do t[i] = i end for i = 1, 100000 do t[i] = nil end\n"
        "collectgarbage() collectgarbage()\n"
        "return sum, len, s, next(t)\n";
    int ok = 1;
    if (luaL_dostring(L, code) != LUA_OK) {
        ok = fail("the workload raised: %s", lua_tostring(L, -1));
    } else {
        /* sum of 1..200000; the names' and the x's lengths, counted in C */
        long long len = 0;
        for (long long i = 1; i <= 200000; i++) {
            char name[32];
            len += snprintf(name, sizeof name, "name-%lld", i % 1000) + i % 90;
        }
        if (lua_tointeger(L, 1) != 20000100000LL) ok = fail("sum %lld", (long long)lua_tointeger(L, 1));
        else if (lua_tointeger(L, 2) != len) ok = fail("lengths %lld, expected %lld", (long long)lua_tointeger(L, 2), len);
        else if (lua_tointeger(L, 3) != 500500) ok = fail("coroutine sum %lld", (long long)lua_tointeger(L, 3));
        else if (!lua_isnil(L, 4)) ok = fail("the emptied table is not empty");
    }
    lua_close(L);
    host_alloc_free(a);
    return ok;
}

#ifdef HOST_ALLOC_TEST_ASAN
#include <sanitizer/asan_interface.h>
/* Under AddressSanitizer: a freed block, the bytes past a block's size,
 * and the range not handed out yet are poisoned. */
static int freed_and_unused_bytes_are_poisoned(void)
{
    host_alloc *a = host_alloc_new(0);
    if (!a) return fail("host_alloc_new failed");
    unsigned char *p = host_alloc_lua(a, NULL, LUA_TSTRING, 64);
    unsigned char *q = host_alloc_lua(a, NULL, LUA_TSTRING, 20);
    int ok = 1;
    if (__asan_address_is_poisoned(p) || __asan_address_is_poisoned(p + 63)) ok = fail("a live block is poisoned");
    else if (!__asan_address_is_poisoned(q + 24)) ok = fail("the range past the last block is not poisoned");
    host_alloc_lua(a, p, 64, 0);
    if (ok && !__asan_address_is_poisoned(p + 8)) ok = fail("a freed block is not poisoned");
    unsigned char *r = host_alloc_lua(a, q, 20, 12);
    if (ok && (r != q || !__asan_address_is_poisoned(q + 16))) ok = fail("the tail of a shrunk block is not poisoned");
    host_alloc_lua(a, r, 12, 0);
    host_alloc_free(a);
    return ok;
}
#endif

int main(void)
{
    run("random news, resizes and frees keep every byte and never overlap", random_traffic_keeps_every_byte);
    run("small blocks come from the range, userdata and large blocks from malloc",
        small_blocks_in_the_range_userdata_and_large_outside);
    run("a freed block is reused by its class (after a quarantine under ASan); shrinks stay, grows move",
        classes_reuse_and_move_blocks);
    run("a full range falls back to malloc", a_full_range_falls_back_to_malloc);
    run("without a range every block is malloc's", no_range_means_malloc);
    run("a Lua state runs a garbage-heavy workload on it", a_lua_state_runs_on_it);
#ifdef HOST_ALLOC_TEST_ASAN
    run("freed blocks, block tails and the unused range are poisoned", freed_and_unused_bytes_are_poisoned);
#endif
    return cases_summary();
}
