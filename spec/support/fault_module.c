/* require "mylua_fault": the fault-injecting transport layer (fault.h) for
 * specs against the real server.
 *
 *   local fault = require "mylua_fault"
 *   local op = fault.opener{ delay_ms = 0, short_reads = false,
 *                            drop_after = nil, corrupt_at = nil }
 *   mylua.connect{ ..., transport = op }
 *
 * drop_after: bytes read before the connection is dropped; corrupt_at: the
 * offset (0: the first byte) of the incoming byte that is xor-ed with 0xFF.
 * The opener's configuration lives in the userdata and is copied into each
 * transport it opens, so nothing needs to outlive connect. */
#include <lauxlib.h>
#include <lua.h>

#include "fault.h"

typedef struct opener_ud {
    myl_transport_opener op; /* first: what the binding reads */
    fault_config cfg;
} opener_ud;

static long opt_count(lua_State *L, const char *k, long dflt)
{
    long v = dflt;
    int ty = lua_getfield(L, 1, k);
    if (ty != LUA_TNIL) {
        int ok;
        lua_Integer i = lua_tointegerx(L, -1, &ok);
        if (!ok || i < 0 || i > 1000000000) luaL_error(L, "option '%s' must be a count from 0", k);
        v = (long)i;
    }
    lua_pop(L, 1);
    return v;
}

static int f_opener(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    fault_config cfg = fault_none();
    cfg.delay_ms = (int)opt_count(L, "delay_ms", 0);
    lua_getfield(L, 1, "short_reads");
    cfg.short_reads = lua_toboolean(L, -1);
    lua_pop(L, 1);
    cfg.drop_after = opt_count(L, "drop_after", -1);
    cfg.corrupt_at = opt_count(L, "corrupt_at", -1);
    opener_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->cfg = cfg;
    u->op.open = fault_open;
    u->op.ud = &u->cfg;
    luaL_setmetatable(L, MYL_TRANSPORT_OPENER_MT);
    return 1;
}

static int f_tostring(lua_State *L)
{
    opener_ud *u = luaL_checkudata(L, 1, MYL_TRANSPORT_OPENER_MT);
    lua_pushfstring(L, "fault opener (delay_ms=%d short_reads=%d drop_after=%d corrupt_at=%d)",
                    u->cfg.delay_ms, u->cfg.short_reads, (int)u->cfg.drop_after,
                    (int)u->cfg.corrupt_at);
    return 1;
}

__attribute__((visibility("default"))) int luaopen_mylua_fault(lua_State *L);

int luaopen_mylua_fault(lua_State *L)
{
    if (luaL_newmetatable(L, MYL_TRANSPORT_OPENER_MT)) {
        lua_pushcfunction(L, f_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, f_opener);
    lua_setfield(L, -2, "opener");
    return 1;
}
