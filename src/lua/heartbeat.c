/* The heartbeat of a lock row: its thread and its connection (heartbeat.h). */
#include "heartbeat.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/result.h"
#include "../core/side.h"
#include "binding.h"

/* Bounds of the options, in seconds: a beat at most every 10 ms, a stale
 * timeout of at most a day. */
#define MIN_INTERVAL 0.01
#define MAX_STALE 86400.0
/* The longest one statement or login of the heartbeat may take. */
#define MAX_IO_TIMEOUT 10.0

typedef struct heartbeat {
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
    int started;  /* the thread exists and was not joined */
    int stopping; /* under mu: the thread must end */
    myl_conn *c;  /* the thread's own while it runs; NULL when closed */
    char *beat_sql, *release_sql;
    double interval, stale, io_timeout;
    /* Under mu. */
    double last_ok;          /* monotonic seconds of the last good beat */
    unsigned long beats;
    char lost[400];          /* why the lock was lost; "" while held */
    char last_error[300];    /* the last failed beat's error */
    myl_heartbeat_lost_fn on_lost;
    void *on_lost_ud;
} heartbeat;

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The connection, usable: made again from its own login options when it
 * broke.  NULL (err set) when that failed; the broken one is kept, since
 * its options are what the next attempt logs in with. */
static myl_conn *usable_conn(heartbeat *hb, myl_error *err)
{
    if (!hb->c) {
        myl_error_set(err, MYL_CR_UNKNOWN_ERROR, "no connection");
        return NULL;
    }
    if (myl_conn_state(hb->c) != MYL_STATE_BROKEN) return hb->c;
    myl_conn *k = myl_side_connect(hb->c, hb->io_timeout, err);
    if (!k) return NULL;
    myl_conn_free(hb->c);
    hb->c = k;
    /* a row lock held by someone else ends the beat with 1205 in time,
     * rather than with a connection timed out */
    char sql[64];
    int n = snprintf(sql, sizeof sql, "SET SESSION innodb_lock_wait_timeout = %d",
                     (int)ceil(hb->io_timeout));
    myl_result_free(myl_query(k, sql, (size_t)n));
    return k;
}

/* Runs sql on the heartbeat's connection: the rows it changed, or -1
 * with err set. */
static long long run_on_own(heartbeat *hb, const char *sql, myl_error *err)
{
    myl_conn *c = usable_conn(hb, err);
    if (!c) return -1;
    myl_result *r = myl_query(c, sql, strlen(sql));
    if (!r) {
        *err = *myl_conn_error(c);
        return -1;
    }
    long long changed = (long long)r->status.affected_rows;
    myl_result_free(r);
    return changed;
}

/* Records the loss (under mu) and says so, once, outside the lock. */
static void lose(heartbeat *hb, const char *fmt, const char *detail)
{
    pthread_mutex_lock(&hb->mu);
    snprintf(hb->lost, sizeof hb->lost, fmt, detail);
    myl_heartbeat_lost_fn fn = hb->on_lost;
    void *ud = hb->on_lost_ud;
    char reason[sizeof hb->lost];
    memcpy(reason, hb->lost, sizeof reason);
    pthread_mutex_unlock(&hb->mu);
    if (fn) fn(ud, reason);
}

/* Waits until `until` (monotonic seconds) or a stop; 1 when stopping. */
static int wait_until(heartbeat *hb, double until)
{
    pthread_mutex_lock(&hb->mu);
    while (!hb->stopping) {
        double left = until - monotonic_now();
        if (left <= 0) break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double end = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + left;
        ts.tv_sec = (time_t)end;
        ts.tv_nsec = (long)((end - (double)ts.tv_sec) * 1e9);
        if (ts.tv_nsec > 999999999L) ts.tv_nsec = 999999999L;
        pthread_cond_timedwait(&hb->wake, &hb->mu, &ts);
    }
    int stopping = hb->stopping;
    pthread_mutex_unlock(&hb->mu);
    return stopping;
}

static void *beat_main(void *arg)
{
    heartbeat *hb = arg;
    double next = monotonic_now() + hb->interval;
    while (!wait_until(hb, next)) {
        myl_error err;
        myl_error_clear(&err);
        long long changed = run_on_own(hb, hb->beat_sql, &err);
        double now = monotonic_now();
        next = now + hb->interval;
        if (changed == 0) {
            lose(hb, "%s", "its row was taken over by another run or removed");
            return NULL;
        }
        pthread_mutex_lock(&hb->mu);
        if (changed > 0) {
            hb->last_ok = now;
            hb->beats++;
            hb->last_error[0] = 0;
        } else {
            snprintf(hb->last_error, sizeof hb->last_error, "%.250s", err.message);
        }
        int stale = changed < 0 && now - hb->last_ok > hb->stale;
        char detail[sizeof hb->last_error + 64];
        snprintf(detail, sizeof detail, "%.1f s; last error: %s", now - hb->last_ok, hb->last_error);
        pthread_mutex_unlock(&hb->mu);
        if (stale) {
            lose(hb, "its heartbeat could not be written for %s", detail);
            return NULL;
        }
    }
    return NULL;
}

/* Ends the thread and, with `release`, runs the release statement: 1 when
 * it removed the row, 0 when it did not (why in why), -1 when the
 * heartbeat was stopped already. */
static int stop(heartbeat *hb, int release, char *why, size_t whylen)
{
    if (!hb->c && !hb->started) return -1;
    if (hb->started) {
        pthread_mutex_lock(&hb->mu);
        hb->stopping = 1;
        pthread_cond_signal(&hb->wake);
        pthread_mutex_unlock(&hb->mu);
        pthread_join(hb->thread, NULL);
        hb->started = 0;
    }
    int removed = 0;
    if (release && hb->c) {
        myl_error err;
        myl_error_clear(&err);
        long long changed = run_on_own(hb, hb->release_sql, &err);
        if (changed > 0) removed = 1;
        else if (changed == 0) snprintf(why, whylen, "%s", hb->lost[0] ? hb->lost : "its row was "
                                        "taken over by another run or removed");
        else snprintf(why, whylen, "its release failed: %.300s", err.message);
    }
    if (hb->c) myl_conn_free(hb->c);
    hb->c = NULL;
    free(hb->beat_sql);
    free(hb->release_sql);
    hb->beat_sql = hb->release_sql = NULL;
    pthread_cond_destroy(&hb->wake);
    pthread_mutex_destroy(&hb->mu);
    return removed;
}

static heartbeat *check_heartbeat(lua_State *L)
{
    heartbeat *hb = myl_lua_check_self(L, MYL_HEARTBEAT_MT);
    if (!hb->c && !hb->started) luaL_error(L, "attempt to use a stopped heartbeat");
    return hb;
}

static double check_seconds(lua_State *L, int t, const char *key, double lo, double hi)
{
    lua_getfield(L, t, key);
    if (lua_type(L, -1) != LUA_TNUMBER) luaL_error(L, "heartbeat: '%s' must be a number", key);
    double v = (double)lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!(v >= lo && v <= hi)) luaL_error(L, "heartbeat: '%s' must be %g to %g seconds", key, lo, hi);
    return v;
}

static const char *check_sql_field(lua_State *L, int t, const char *key)
{
    lua_getfield(L, t, key);
    const char *s = lua_tostring(L, -1);
    if (lua_type(L, -1) != LUA_TSTRING || !*s) luaL_error(L, "heartbeat: '%s' must be SQL text", key);
    return s; /* left on the stack */
}

/* core.heartbeat(db, opts): see heartbeat.h. */
static int new_heartbeat(lua_State *L)
{
    conn_ud *cu = myl_lua_check_conn(L, 1);
    myl_lua_check_type(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    double stale = check_seconds(L, 2, "stale", MIN_INTERVAL, MAX_STALE);
    double interval = check_seconds(L, 2, "interval", MIN_INTERVAL, stale);
    const char *beat = check_sql_field(L, 2, "beat");
    const char *release = check_sql_field(L, 2, "release");

    /* Created stopped before anything is acquired, so __gc can clean up. */
    heartbeat *hb = lua_newuserdatauv(L, sizeof *hb, 0);
    memset(hb, 0, sizeof *hb);
    luaL_setmetatable(L, MYL_HEARTBEAT_MT);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&hb->mu, NULL);
    pthread_cond_init(&hb->wake, &ca);
    pthread_condattr_destroy(&ca);
    hb->interval = interval;
    hb->stale = stale;
    hb->io_timeout = stale < MAX_IO_TIMEOUT ? (stale < 1 ? 1 : stale) : MAX_IO_TIMEOUT;
    hb->beat_sql = strdup(beat);
    hb->release_sql = strdup(release);
    myl_error err;
    myl_error_clear(&err);
    if (hb->beat_sql && hb->release_sql) hb->c = myl_side_connect(cu->c, hb->io_timeout, &err);
    else myl_error_set(&err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
    if (!hb->c) {
        stop(hb, 0, NULL, 0);
        return luaL_error(L, "heartbeat: cannot open its connection: %s", err.message);
    }
    char sql[64];
    int n = snprintf(sql, sizeof sql, "SET SESSION innodb_lock_wait_timeout = %d",
                     (int)ceil(hb->io_timeout));
    myl_result_free(myl_query(hb->c, sql, (size_t)n));
    hb->last_ok = monotonic_now(); /* the row was just written by its taker */
    int rc = pthread_create(&hb->thread, NULL, beat_main, hb);
    if (rc != 0) {
        stop(hb, 0, NULL, 0);
        return luaL_error(L, "heartbeat: cannot start its thread: %s", strerror(rc));
    }
    hb->started = 1;
    return 1;
}

/* hb:lost(): nil while held, else why it was lost. */
static int hb_lost(lua_State *L)
{
    heartbeat *hb = check_heartbeat(L);
    pthread_mutex_lock(&hb->mu);
    if (hb->lost[0]) lua_pushstring(L, hb->lost);
    else lua_pushnil(L);
    pthread_mutex_unlock(&hb->mu);
    return 1;
}

/* hb:beats(): how many beats wrote the row. */
static int hb_beats(lua_State *L)
{
    heartbeat *hb = check_heartbeat(L);
    pthread_mutex_lock(&hb->mu);
    lua_pushinteger(L, (lua_Integer)hb->beats);
    pthread_mutex_unlock(&hb->mu);
    return 1;
}

/* hb:stop(): true when the release removed the row; false and why not. */
static int hb_stop(lua_State *L)
{
    heartbeat *hb = check_heartbeat(L);
    char why[sizeof hb->lost + 64] = "";
    int removed = stop(hb, 1, why, sizeof why);
    lua_pushboolean(L, removed == 1);
    if (removed == 1) return 1;
    lua_pushstring(L, why);
    return 2;
}

/* __gc and __close: stop and release, silently; idempotent. */
static int hb_gc(lua_State *L)
{
    heartbeat *hb = luaL_checkudata(L, 1, MYL_HEARTBEAT_MT);
    char why[sizeof hb->lost + 64];
    stop(hb, 1, why, sizeof why);
    return 0;
}

static int hb_tostring(lua_State *L)
{
    heartbeat *hb = luaL_checkudata(L, 1, MYL_HEARTBEAT_MT);
    if (!hb->c && !hb->started) lua_pushliteral(L, "mylua.heartbeat (stopped)");
    else lua_pushfstring(L, "mylua.heartbeat (%p)", (void *)hb);
    return 1;
}

void myl_lua_heartbeat_on_lost(lua_State *L, int idx, myl_heartbeat_lost_fn fn, void *ud)
{
    heartbeat *hb = luaL_checkudata(L, idx, MYL_HEARTBEAT_MT);
    if (!hb->c && !hb->started) return;
    pthread_mutex_lock(&hb->mu);
    hb->on_lost = fn;
    hb->on_lost_ud = ud;
    char reason[sizeof hb->lost];
    memcpy(reason, hb->lost, sizeof reason);
    pthread_mutex_unlock(&hb->mu);
    if (reason[0] && fn) fn(ud, reason);
}

/* process_id(): this process's id, for the lock row's holder. */
static int process_id(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

/* host_name(): this machine's name, for the lock row's holder. */
static int host_name(lua_State *L)
{
    char name[256];
    if (gethostname(name, sizeof name) != 0) return luaL_error(L, "host_name: %s", strerror(errno));
    name[sizeof name - 1] = 0;
    lua_pushstring(L, name);
    return 1;
}

static const luaL_Reg methods[] = {
    {"lost", hb_lost},
    {"beats", hb_beats},
    {"stop", hb_stop},
    {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__gc", hb_gc},
    {"__close", hb_gc},
    {"__tostring", hb_tostring},
    {NULL, NULL},
};

static const luaL_Reg functions[] = {
    {"heartbeat", new_heartbeat},
    {"process_id", process_id},
    {"host_name", host_name},
    {NULL, NULL},
};

void myl_lua_heartbeat_register(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    myl_lua_new_type(L, MYL_HEARTBEAT_MT, methods, metamethods, NULL);
    lua_pop(L, 1);
    myl_lua_add_functions(L, idx, functions);
}
