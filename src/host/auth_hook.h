/* --auth-hook FILE: a Lua file returning a table of authentication
 * callbacks, which becomes the `auth` option of every connection the host
 * program makes (the default under a script's own `auth`). */
#ifndef MYL_HOST_AUTH_HOOK_H
#define MYL_HOST_AUTH_HOOK_H

#include <lua.h>

/* lua_CFunction(path): loads and runs the file in this state, checks that
 * it returned a table whose fields are functions (dialog, or a plugin's
 * name), and stores it as `auth` in the registry table MYL_HOST_DEFAULTS,
 * which host_options_push made.  A file that cannot be read, fails to
 * compile, raises, or returns anything else raises one error line that
 * begins with "--auth-hook FILE: ". */
int host_auth_hook_install(lua_State *L);

#endif
