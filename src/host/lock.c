/* The run's named lock (lock.h). */
#include "lock.h"

#include <lauxlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../lua/heartbeat.h"
#include "../lua/live.h"
#include "cancel.h"
#include "exit_codes.h"

/* Registry key of the lock's connection, lock object and name while the
 * lock is held. */
#define LOCK_KEY "mylua.host_lock"

/* (name, method, stale) -> db, "taken", lock | nil, "held", holder's
 * description */
static const char take_source[] =
    "local name, method, stale = ...\n"
    "local cluster_lock = require('mylua.cluster_lock')\n"
    "local db = require('mylua').connect()\n"
    "db:query('SET SESSION wait_timeout = 31536000')\n"
    "local ok, lock, holder = pcall(cluster_lock.acquire, db, name, { method = method, stale = stale })\n"
    "if not ok then db:close() error(lock, 0) end\n"
    "if lock then return db, 'taken', lock end\n"
    "db:close()\n"
    "return nil, 'held', cluster_lock.describe(holder)\n";

/* (db, lock) -> nil when released, or what went wrong */
static const char release_source[] =
    "local db, lock = ...\n"
    "local ok, released, why = pcall(lock.release, lock)\n"
    "db:close()\n"
    "if not ok then return 'its release failed: ' .. tostring(released) end\n"
    "if not released then return why end\n";

/* The lock was lost while the run went on: the run stops (cancel.h),
 * unless it ended meanwhile (then the release says so).  Called on the
 * heartbeat's thread. */
static char lost_name[HOST_LOCK_NAME_MAX + 1];
static volatile sig_atomic_t lost_reported;

static void on_lock_lost(void *ud, const char *reason)
{
    (void)ud;
    char msg[600];
    snprintf(msg, sizeof msg, "lock '%s' was lost: %s", lost_name, reason);
    if (host_cancel_lock_lost(msg)) lost_reported = 1;
}

/* One line on stderr: "mylua: --lock 'NAME': " and the error on top. */
static void lock_error(lua_State *L, const char *name)
{
    host_cancel_word_error(L);
    const char *msg = luaL_tolstring(L, -1, NULL);
    fprintf(stderr, "mylua: --lock '%s': %s\n", name, msg);
    fflush(stderr);
    lua_pop(L, 2);
}

int host_lock_take(lua_State *L, const host_run *run)
{
    const char *name = run->lock;
    if (luaL_loadbuffer(L, take_source, sizeof take_source - 1, "=[mylua] --lock") != LUA_OK) {
        lock_error(L, name);
        return HOST_EXIT_ERROR;
    }
    lua_pushstring(L, name);
    lua_pushstring(L, run->lock_method ? run->lock_method : "auto");
    if (run->lock_stale > 0) lua_pushnumber(L, run->lock_stale);
    else lua_pushnil(L);
    if (lua_pcall(L, 3, 3, 0) != LUA_OK) {
        lock_error(L, name);
        return HOST_EXIT_ERROR;
    }
    if (lua_isnil(L, -3)) {
        if (lua_isstring(L, -1))
            fprintf(stderr, "mylua: lock '%s' is held by another run (%s)\n", name,
                    lua_tostring(L, -1));
        else
            fprintf(stderr, "mylua: lock '%s' is held by another run\n", name);
        fflush(stderr);
        lua_pop(L, 3);
        return HOST_EXIT_LOCKED;
    }
    lua_remove(L, -2);             /* db, lock */
    myl_lua_live_leave_out(L, -2); /* it runs no statement a signal should cancel */
    snprintf(lost_name, sizeof lost_name, "%s", name);
    if (lua_getfield(L, -1, "heartbeat") == LUA_TUSERDATA)
        myl_lua_heartbeat_on_lost(L, -1, on_lock_lost, NULL);
    lua_pop(L, 1);
    lua_createtable(L, 3, 0);
    lua_insert(L, -3);
    lua_rawseti(L, -3, 2);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, name);
    lua_rawseti(L, -2, 3);
    lua_setfield(L, LUA_REGISTRYINDEX, LOCK_KEY);
    return HOST_EXIT_OK;
}

void host_lock_release(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, LOCK_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    lua_rawgeti(L, -1, 3);
    const char *name = lua_tostring(L, -1);
    int base = lua_gettop(L);
    if (luaL_loadbuffer(L, release_source, sizeof release_source - 1,
                        "=[mylua] --lock") != LUA_OK) {
        lock_error(L, name);
    } else {
        lua_rawgeti(L, base - 1, 1);
        lua_rawgeti(L, base - 1, 2);
        if (lua_pcall(L, 2, 1, 0) != LUA_OK) lock_error(L, name);
        else if (lua_isstring(L, -1) && !lost_reported) /* a loss reported stopped the run */
            fprintf(stderr, "mylua: warning: lock '%s' was lost during the run (%s); another "
                    "run may have taken it meanwhile\n", name, lua_tostring(L, -1));
    }
    lua_settop(L, base - 2);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LOCK_KEY);
}
