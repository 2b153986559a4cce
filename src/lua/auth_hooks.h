/* The `auth` option as hooks for the core's auth loop (auth.c). */
#ifndef MYL_LUA_AUTH_HOOKS_H
#define MYL_LUA_AUTH_HOOKS_H

#include "../core/auth.h"
#include "binding.h"

typedef struct lua_auth {
    lua_State *L;
    int table;     /* stack index of the auth table; 0: none */
    int prompt;    /* stack index of the dialog prompt function; 0: none */
    int fallback;  /* the prompt is the host program's terminal, not the script's */
    int error_ref; /* registry reference to a callback's error value, or LUA_NOREF */
    myl_auth_hooks hooks;
} lua_auth;

/* Registers the exchange object's type. */
void myl_lua_auth_init_types(lua_State *L);

/* Reads the auth option at idx (0 or nil: none) into a, with the host
 * program's terminal prompt as the fallback dialog prompt.  Pushes what it
 * refers to: the stack must stay as it is until the core call returns. */
void myl_lua_auth_init(lua_State *L, lua_auth *a, int idx);

/* After the core call: when a callback raised, re-raises its own error
 * value (does not return); otherwise does nothing. */
void myl_lua_auth_finish(lua_State *L, lua_auth *a);

#endif
