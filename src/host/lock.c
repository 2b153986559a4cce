/* The run's named lock (lock.h). */
#include "lock.h"

#include <lauxlib.h>
#include <stdio.h>
#include <string.h>

#include "../lua/live.h"
#include "cancel.h"
#include "exit_codes.h"

/* Registry key of the lock's connection and name while the lock is held. */
#define LOCK_KEY "mylua.host_lock"

/* (name) -> db, "taken" | "held", holder's connection id or nil */
static const char take_source[] =
    "local name = ...\n"
    "local db = require('mylua').connect()\n"
    "db:query('SET SESSION wait_timeout = 31536000')\n"
    "local got = db:query('SELECT GET_LOCK(?, 0)', name):row(1, 'a')[1]\n"
    "if got == 1 then return db, 'taken' end\n"
    "local holder = db:query('SELECT IS_USED_LOCK(?)', name):row(1, 'a')[1]\n"
    "db:close()\n"
    "if got == 0 then return nil, 'held', math.type(holder) and holder or nil end\n"
    "error('GET_LOCK failed', 0)\n";

/* (db, name) -> nil when released, or what went wrong */
static const char release_source[] =
    "local db, name = ...\n"
    "local ok, r = pcall(function()\n"
    "  return db:query('SELECT RELEASE_LOCK(?)', name):row(1, 'a')[1]\n"
    "end)\n"
    "db:close()\n"
    "if not ok then return 'its connection failed: ' .. tostring(r) end\n"
    "if r ~= 1 then return 'the server no longer had it' end\n";

/* One line on stderr: "mylua: --lock 'NAME': " and the error on top. */
static void lock_error(lua_State *L, const char *name)
{
    host_cancel_word_error(L);
    const char *msg = luaL_tolstring(L, -1, NULL);
    fprintf(stderr, "mylua: --lock '%s': %s\n", name, msg);
    fflush(stderr);
    lua_pop(L, 2);
}

int host_lock_take(lua_State *L, const char *name)
{
    if (luaL_loadbuffer(L, take_source, sizeof take_source - 1, "=[mylua] --lock") != LUA_OK ||
        (lua_pushstring(L, name), lua_pcall(L, 1, 3, 0)) != LUA_OK) {
        lock_error(L, name);
        return HOST_EXIT_ERROR;
    }
    if (lua_isnil(L, -3)) {
        if (lua_isinteger(L, -1))
            fprintf(stderr, "mylua: lock '%s' is held by another run (connection %lld)\n", name,
                    (long long)lua_tointeger(L, -1));
        else
            fprintf(stderr, "mylua: lock '%s' is held by another run\n", name);
        fflush(stderr);
        lua_pop(L, 3);
        return HOST_EXIT_LOCKED;
    }
    lua_pop(L, 2);
    myl_lua_live_leave_out(L, -1); /* it runs no statement a signal should cancel */
    lua_createtable(L, 2, 0);
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
    lua_pushstring(L, name);
    lua_rawseti(L, -2, 2);
    lua_setfield(L, LUA_REGISTRYINDEX, LOCK_KEY);
    return HOST_EXIT_OK;
}

void host_lock_release(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, LOCK_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    lua_rawgeti(L, -1, 2);
    const char *name = lua_tostring(L, -1);
    int base = lua_gettop(L);
    if (luaL_loadbuffer(L, release_source, sizeof release_source - 1,
                        "=[mylua] --lock") != LUA_OK) {
        lock_error(L, name);
    } else {
        lua_rawgeti(L, base - 1, 1);
        lua_pushvalue(L, base);
        if (lua_pcall(L, 2, 1, 0) != LUA_OK) lock_error(L, name);
        else if (lua_isstring(L, -1))
            fprintf(stderr, "mylua: warning: lock '%s' was lost during the run (%s); another "
                    "run may have taken it meanwhile\n", name, lua_tostring(L, -1));
    }
    lua_settop(L, base - 2);
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LOCK_KEY);
}
