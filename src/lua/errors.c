/* Error objects: tables {code, sqlstate, message} sharing one metatable whose
 * __tostring prints the mariadb client's format. */
#include <string.h>

#include "binding.h"

static int error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "sqlstate");
    lua_getfield(L, 1, "message");
    lua_pushfstring(L, "ERROR %d (%s): %s", (int)lua_tointeger(L, -3),
                    lua_isstring(L, -2) ? lua_tostring(L, -2) : "HY000",
                    lua_isstring(L, -1) ? lua_tostring(L, -1) : "");
    return 1;
}

static const luaL_Reg error_metamethods[] = {
    {"__tostring", error_tostring},
    {NULL, NULL},
};

void myl_lua_errors_init(lua_State *L)
{
    myl_lua_new_type(L, MYL_ERROR_MT, NULL, error_metamethods, NULL); /* __name: mylua.error */
    lua_pop(L, 1);
}

void myl_lua_push_error(lua_State *L, int code, const char *sqlstate, const char *message)
{
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, sqlstate && *sqlstate ? sqlstate : "HY000");
    lua_setfield(L, -2, "sqlstate");
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    luaL_setmetatable(L, MYL_ERROR_MT);
}

int myl_lua_raise(lua_State *L, const myl_error *e)
{
    /* A copy: building the error object allocates, and a finalizer run by
     * that may close the connection that owns *e. */
    myl_error copy = *e;
    myl_lua_push_error(L, copy.code ? copy.code : MYL_CR_UNKNOWN_ERROR, copy.sqlstate,
                       copy.code ? copy.message : "Unknown client error");
    return lua_error(L);
}

int myl_lua_raise_conn(lua_State *L, conn_ud *cu)
{
    return myl_lua_raise(L, myl_conn_error(cu->c));
}
