/* What scripts write to a terminal: text made safe to print (shared with
 * the host program's error lines), whether a file is a terminal (progress
 * bars only go to one), and the log level the host program was asked for. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "binding.h"
#include "term.h"

const char *myl_lua_push_printable(lua_State *L, const char *msg, size_t len, int keep_newlines)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)msg[i];
        if (c == '\n' || c == '\r') {
            if (keep_newlines && c == '\n') {
                luaL_addchar(&b, '\n');
            } else if (keep_newlines) {
                luaL_addstring(&b, "\\13");
            } else {
                if (c == '\r' && i + 1 < len && msg[i + 1] == '\n') i++;
                luaL_addchar(&b, ' ');
            }
        } else if (c == '\t') {
            luaL_addchar(&b, '\t');
        } else if (c < 0x20 || c == 0x7f) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\%u", (unsigned)c);
            luaL_addstring(&b, esc);
        } else if (c == 0xc2 && i + 1 < len && (unsigned char)msg[i + 1] >= 0x80 &&
                   (unsigned char)msg[i + 1] <= 0x9f) {
            char esc[16];
            snprintf(esc, sizeof esc, "\\194\\%u", (unsigned)(unsigned char)msg[i + 1]);
            luaL_addstring(&b, esc);
            i++;
        } else {
            luaL_addchar(&b, (char)c);
        }
    }
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

/* printable(s [, keep_newlines]): s as myl_lua_push_printable makes it. */
static int printable(lua_State *L)
{
    size_t len;
    const char *s = myl_lua_check_lstring(L, 1, &len);
    myl_lua_push_printable(L, s, len, lua_toboolean(L, 2));
    return 1;
}

/* isatty(file | fd): whether an open Lua file (io.stderr) or a descriptor
 * is a terminal.  A closed file raises, as its methods do. */
static int is_terminal(lua_State *L)
{
    int fd;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        lua_Integer n = myl_lua_check_integer(L, 1);
        if (n < 0 || n > 1 << 30) return myl_lua_argerror(L, 1, "not a file descriptor");
        fd = (int)n;
    } else {
        luaL_Stream *stream = luaL_testudata(L, 1, LUA_FILEHANDLE);
        if (!stream) return myl_lua_typeerror(L, 1, "file or descriptor");
        if (!stream->closef) return luaL_error(L, "attempt to use a closed file");
        fd = fileno(stream->f);
    }
    lua_pushboolean(L, fd >= 0 && isatty(fd));
    return 1;
}

/* fsync(file): the file's buffer written and its data on disk (fflush,
 * then fsync), for a job that must know its output is durable before it
 * goes on.  Returns true; raises with the system's reason. */
static int sync_file(lua_State *L)
{
    luaL_Stream *stream = luaL_testudata(L, 1, LUA_FILEHANDLE);
    if (!stream) return myl_lua_typeerror(L, 1, "file");
    if (!stream->closef) return luaL_error(L, "attempt to use a closed file");
    if (fflush(stream->f) != 0 || fsync(fileno(stream->f)) != 0)
        return luaL_error(L, "fsync: %s", strerror(errno));
    lua_pushboolean(L, 1);
    return 1;
}

/* ftruncate(file, size): cuts the file to size bytes (a partial last line
 * left by a job that was killed).  Returns true; raises with the reason. */
static int truncate_file(lua_State *L)
{
    luaL_Stream *stream = luaL_testudata(L, 1, LUA_FILEHANDLE);
    if (!stream) return myl_lua_typeerror(L, 1, "file");
    if (!stream->closef) return luaL_error(L, "attempt to use a closed file");
    lua_Integer size = myl_lua_check_integer(L, 2);
    if (size < 0) return myl_lua_argerror(L, 2, "negative size");
    if (fflush(stream->f) != 0 || ftruncate(fileno(stream->f), (off_t)size) != 0)
        return luaL_error(L, "ftruncate: %s", strerror(errno));
    lua_pushboolean(L, 1);
    return 1;
}

/* host_log_level(): "debug", "error" or nil, as the host program's
 * --verbose and --quiet set it (MYL_HOST_LOG_LEVEL). */
static int host_log_level(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, MYL_HOST_LOG_LEVEL) != LUA_TSTRING) lua_pushnil(L);
    return 1;
}

static const luaL_Reg functions[] = {
    {"printable", printable},
    {"isatty", is_terminal},
    {"fsync", sync_file},
    {"ftruncate", truncate_file},
    {"host_log_level", host_log_level},
    {NULL, NULL},
};

void myl_lua_term_register(lua_State *L, int idx)
{
    myl_lua_add_functions(L, idx, functions);
}
