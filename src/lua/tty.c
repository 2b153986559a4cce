/* core.isatty(fd | file): whether a descriptor, or a Lua file handle
 * (io.stdout), is a terminal; mylua.print and the host's prompt choose
 * their layout by it. */
#include <stdio.h>
#include <unistd.h>

#include "binding.h"

int myl_lua_isatty(lua_State *L)
{
    int fd;
    luaL_Stream *file = luaL_testudata(L, 1, LUA_FILEHANDLE);
    if (file) {
        if (!file->f || !file->closef) return luaL_argerror(L, 1, "file is closed");
        fd = fileno(file->f);
    } else {
        lua_Integer n = myl_lua_check_integer(L, 1);
        if (n < 0 || n > 0x7fffffff) return luaL_argerror(L, 1, "not a file descriptor");
        fd = (int)n;
    }
    lua_pushboolean(L, fd >= 0 && isatty(fd));
    return 1;
}
