/* luaopen_mylua_core: the C half of the mylua module. */
#include "../core/version.h"
#include "binding.h"

static int is_error(lua_State *L)
{
    int yes = 0;
    if (lua_getmetatable(L, 1)) {
        luaL_getmetatable(L, MYL_ERROR_MT);
        yes = lua_rawequal(L, -1, -2);
    }
    lua_pushboolean(L, yes);
    return 1;
}

/* new_error(code, message [, sqlstate]): an error object made by Lua code. */
static int new_error(lua_State *L)
{
    int code = (int)luaL_checkinteger(L, 1);
    const char *msg = luaL_checkstring(L, 2);
    const char *state = luaL_optstring(L, 3, "HY000");
    myl_lua_push_error(L, code, state, msg);
    return 1;
}

static const luaL_Reg functions[] = {
    {"connect", myl_lua_connect},
    {"is_error", is_error},
    {"new_error", new_error},
    {NULL, NULL},
};

int luaopen_mylua_core(lua_State *L);

int luaopen_mylua_core(lua_State *L)
{
    myl_lua_errors_init(L);
    myl_lua_connection_init(L);
    myl_lua_result_init(L);
    myl_lua_cursor_init(L);
    luaL_newlib(L, functions);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    lua_pushliteral(L, MYL_VERSION);
    lua_setfield(L, -2, "version");
    luaL_getmetatable(L, MYL_CONNECTION_MT);
    lua_getfield(L, -1, "methods");
    lua_setfield(L, -3, "connection_methods");
    lua_pop(L, 1);
    luaL_getmetatable(L, MYL_CURSOR_MT);
    lua_setfield(L, -2, "cursor_metatable");
    luaL_getmetatable(L, MYL_ERROR_MT);
    lua_setfield(L, -2, "error_metatable");
    return 1;
}
