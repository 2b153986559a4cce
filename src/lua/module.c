/* luaopen_mylua_core: the C half of the mylua module. */
#include "../core/version.h"
#include "auth_hooks.h"
#include "binding.h"
#include "heartbeat.h"
#include "mylua_core.h"
#include "worker.h"

static int is_error(lua_State *L)
{
    lua_pushboolean(L, myl_lua_is_error(L, 1));
    return 1;
}

/* new_error(code, message [, sqlstate]): an error object made by Lua code. */
static int new_error(lua_State *L)
{
    int code = (int)myl_lua_check_integer(L, 1);
    const char *msg = myl_lua_check_lstring(L, 2, NULL);
    const char *state = myl_lua_opt_string(L, 3, "HY000");
    myl_lua_push_error(L, code, state, msg);
    return 1;
}

static const luaL_Reg functions[] = {
    {"connect", myl_lua_connect},
    {"is_error", is_error},
    {"new_error", new_error},
    {"sql_splitter", myl_lua_sql_splitter},
    {NULL, NULL},
};

/* tostring of a light userdata: "NULL" for the NULL pointer, which is
 * mylua.null, the value of SQL NULL; what Lua prints otherwise. */
static int lightuserdata_tostring(lua_State *L)
{
    void *p = lua_touserdata(L, 1);
    if (p == NULL) lua_pushliteral(L, "NULL");
    else lua_pushfstring(L, "userdata: %p", p);
    return 1;
}

/* mylua.null stays the NULL light userdata, so rows push it without any
 * lookup.  Light userdata share one metatable per Lua state: it is set
 * only when nobody set one before, and its __name keeps Lua's own word for
 * the type in argument errors. */
static void name_null(lua_State *L)
{
    lua_pushlightuserdata(L, NULL);
    if (lua_getmetatable(L, -1)) {
        lua_pop(L, 2);
        return;
    }
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, lightuserdata_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, "light userdata");
    lua_setfield(L, -2, "__name");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

int luaopen_mylua_core(lua_State *L)
{
    myl_lua_errors_init(L);
    myl_lua_connection_init(L);
    myl_lua_auth_init_types(L);
    myl_lua_result_init(L);
    myl_lua_cursor_init(L);
    myl_lua_typed_init(L);
    myl_lua_statement_init(L);
    myl_lua_script_init(L);
    name_null(L);
    luaL_newlib(L, functions);
    myl_lua_name_functions(L, -1, functions);
    myl_lua_typed_register(L, -1);
    myl_lua_clock_register(L, -1);
    myl_lua_term_register(L, -1);
    myl_lua_digest_register(L, -1);
    myl_lua_heartbeat_register(L, -1);
    myl_lua_worker_register(L, -1);
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
    luaL_getmetatable(L, MYL_STATEMENT_MT);
    lua_setfield(L, -2, "statement_metatable");
    luaL_getmetatable(L, MYL_ERROR_MT);
    lua_setfield(L, -2, "error_metatable");
    return 1;
}
