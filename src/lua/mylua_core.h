/* The entry point of the C half of the mylua module, for the Lua module
 * (build/mylua.so, where `require "mylua.core"` finds it) and for the host
 * program, which preloads it.  It is the only symbol mylua.so exports:
 * everything else is built with hidden visibility. */
#ifndef MYL_MYLUA_CORE_H
#define MYL_MYLUA_CORE_H

#include <lua.h>

#if defined(__GNUC__) || defined(__clang__)
#define MYL_EXPORT __attribute__((visibility("default")))
#else
#define MYL_EXPORT
#endif

MYL_EXPORT int luaopen_mylua_core(lua_State *L);

#endif
