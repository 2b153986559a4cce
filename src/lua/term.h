/* What the host program and the Lua helpers write to a terminal (term.c):
 * text made safe to print, and the log level the host's options set. */
#ifndef MYL_LUA_TERM_H
#define MYL_LUA_TERM_H

#include <lua.h>
#include <stddef.h>

/* Registry key of the log level the host program's --verbose ("debug") or
 * --quiet ("error") asked for; mylua.log starts at that level, or at
 * "info" when the key is unset (the library loaded by a plain lua). */
#define MYL_HOST_LOG_LEVEL "mylua.host_log_level"

/* Pushes text made safe for a terminal and returns it: control characters
 * (and the C1 controls U+0080..U+009F in UTF-8) become Lua decimal escapes,
 * so ESC arrives as "\27" and no escape sequence in a server's message or
 * a script's data reaches the terminal; tabs are kept.  Line breaks become
 * spaces (one line per message), or stay when keep_newlines (a traceback),
 * a lone CR then shown as "\13". */
const char *myl_lua_push_printable(lua_State *L, const char *msg, size_t len, int keep_newlines);

#endif
