/* --auth-hook FILE (see auth_hook.h). */
#include "auth_hook.h"

#include <lauxlib.h>

#include "../lua/binding.h"

int host_auth_hook_install(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_settop(L, 1);
    if (luaL_loadfile(L, path) != LUA_OK || lua_pcall(L, 0, 1, 0) != LUA_OK)
        return luaL_error(L, "--auth-hook %s: %s", path, luaL_tolstring(L, -1, NULL));
    if (lua_type(L, 2) != LUA_TTABLE)
        return luaL_error(L, "--auth-hook %s: returned %s, not a table of auth callbacks", path,
                          luaL_typename(L, 2));
    /* Checked here, once, rather than at the first connect: a hook with a
     * typo fails before the script has done anything. */
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            return luaL_error(L, "--auth-hook %s: the table has a %s key; its keys are 'dialog' "
                              "and plugin names", path, luaL_typename(L, -2));
        if (lua_type(L, -1) != LUA_TFUNCTION)
            return luaL_error(L, "--auth-hook %s: field '%s' is %s, not a function", path,
                              lua_tostring(L, -2), luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    if (lua_getfield(L, LUA_REGISTRYINDEX, MYL_HOST_DEFAULTS) != LUA_TTABLE)
        return luaL_error(L, "--auth-hook %s: the connection defaults are missing", path);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "auth");
    return 0;
}
