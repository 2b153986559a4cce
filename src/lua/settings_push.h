/* Settings (src/core/settings.h) as a table of connect's options, for the
 * layers below a script's own table: the host program's defaults and the
 * option files connect reads for read_default_file. */
#ifndef MYL_LUA_SETTINGS_PUSH_H
#define MYL_LUA_SETTINGS_PUSH_H

#include <lua.h>

#include "../core/settings.h"

/* Pushes a table of the core options s holds, under their core names,
 * with the values connect takes (booleans, integers, numbers, strings);
 * the host program's own options (MYL_CLI_HOST) are left out. */
void myl_lua_push_settings(lua_State *L, const myl_settings *s);

#endif
