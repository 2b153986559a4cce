/* Time for scripts, which Lua lacks: the wall clock with microseconds
 * (now), a clock for durations that never jumps (monotonic), and a sleep
 * in fractions of a second that a signal cuts short, so the handler's Lua
 * hook runs at once instead of after the whole sleep. */
#include <errno.h>
#include <string.h>
#include <math.h>
#include <time.h>

#include "binding.h"

/* The longest sleep taken, in seconds (about 31 years): far past any use,
 * and well inside time_t. */
#define MAX_SLEEP_SECONDS 1e9

static lua_Number seconds_of(const struct timespec *ts, int whole_microseconds)
{
    long ns = whole_microseconds ? ts->tv_nsec / 1000 * 1000 : ts->tv_nsec;
    return (lua_Number)ts->tv_sec + (lua_Number)ns / 1e9;
}

/* now(): seconds since the epoch (UTC), with microseconds, as a float. */
static int now(lua_State *L)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return luaL_error(L, "now: the clock failed");
    lua_pushnumber(L, seconds_of(&ts, 1));
    return 1;
}

/* monotonic(): seconds from an arbitrary start, as a float; it never goes
 * back when the wall clock is set, so differences measure durations. */
static int monotonic(lua_State *L)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return luaL_error(L, "monotonic: the clock failed");
    lua_pushnumber(L, seconds_of(&ts, 0));
    return 1;
}

/* sleep(seconds): waits that long (a float: 0.25 is a quarter second).
 * Returns the seconds left: 0 after the whole wait, more when a signal
 * ended it early.  Rejects a negative, NaN or infinite duration, and one
 * past MAX_SLEEP_SECONDS. */
static int sleep_for(lua_State *L)
{
    if (lua_type(L, 1) != LUA_TNUMBER) return myl_lua_typeerror(L, 1, "number");
    lua_Number s = lua_tonumber(L, 1);
    if (isnan(s)) return myl_lua_argerror(L, 1, "duration is NaN");
    if (s < 0) return myl_lua_argerror(L, 1, "negative duration");
    if (s > MAX_SLEEP_SECONDS) return myl_lua_argerror(L, 1, "duration too long (at most 1e9 seconds)");
    struct timespec want, left;
    want.tv_sec = (time_t)s;
    want.tv_nsec = (long)((s - (lua_Number)want.tv_sec) * 1e9);
    if (want.tv_nsec > 999999999L) want.tv_nsec = 999999999L;
    if (nanosleep(&want, &left) == 0) {
        lua_pushnumber(L, 0);
    } else if (errno == EINTR) {
        lua_pushnumber(L, seconds_of(&left, 0));
    } else {
        return luaL_error(L, "sleep: %s", strerror(errno));
    }
    return 1;
}

static const luaL_Reg functions[] = {
    {"now", now},
    {"monotonic", monotonic},
    {"sleep", sleep_for},
    {NULL, NULL},
};

void myl_lua_clock_register(lua_State *L, int idx)
{
    myl_lua_add_functions(L, idx, functions);
}
