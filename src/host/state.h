/* The host program's Lua state. */
#ifndef MYL_HOST_STATE_H
#define MYL_HOST_STATE_H

#include <lua.h>

/* A new state on the host's allocator (lua_alloc.h), with the panic and
 * warning functions luaL_newstate sets: a panic says so on stderr, and
 * warn() is off until warn("@on").  NULL when out of memory. */
lua_State *host_state_new(void);

/* lua_close, then the allocator's range is given back. */
void host_state_close(lua_State *L);

#endif
