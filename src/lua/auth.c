/* The `auth` option: dialog prompts and authentication plugins written in
 * Lua, as hooks for the core's auth loop (core/auth.h).
 *
 *   auth = {
 *     dialog = function(prompt, echo, last) return answer end,
 *     ["some_plugin"] = function(exchange) ... end,
 *   }
 *
 * Callbacks follow the callback rule (guard.h): each runs under lua_pcall;
 * an error it raises aborts the login, and once the core has returned, the
 * caller re-raises that same value (myl_lua_auth_finish). */
#include <string.h>

#include "auth_hooks.h"

#define EXCHANGE_MT "mylua.auth_exchange"

typedef struct exchange_ud {
    myl_auth_exchange *x; /* NULL once its plugin returned */
    const char *plugin;
} exchange_ud;

/* ---- the exchange object a Lua plugin gets ---- */

static exchange_ud *check_exchange(lua_State *L)
{
    exchange_ud *e = myl_lua_check_self(L, EXCHANGE_MT);
    if (!e->x)
        luaL_error(L, "attempt to use the authentication exchange of plugin '%s' after the "
                   "plugin returned", e->plugin);
    return e;
}

/* exchange:read() -> the server's next data, or nil when the server has
 * answered (OK, ERR or a switch: the login goes on without the plugin). */
static int exchange_read(lua_State *L)
{
    exchange_ud *e = check_exchange(L);
    const uint8_t *p;
    size_t n;
    myl_error err;
    myl_error_clear(&err);
    int rc = myl_auth_exchange_read(e->x, &p, &n, &err);
    if (rc < 0) return myl_lua_raise(L, &err);
    if (rc == 0) lua_pushnil(L);
    else lua_pushlstring(L, (const char *)p, n);
    return 1;
}

/* exchange:write(bytes): one packet to the server. */
static int exchange_write(lua_State *L)
{
    exchange_ud *e = check_exchange(L);
    size_t n;
    const char *s = myl_lua_check_lstring(L, 2, &n);
    e = check_exchange(L);
    myl_error err;
    myl_error_clear(&err);
    if (myl_auth_exchange_write(e->x, s, n, &err)) return myl_lua_raise(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int exchange_index(lua_State *L)
{
    exchange_ud *e = luaL_checkudata(L, 1, EXCHANGE_MT);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    const char *k = lua_tostring(L, 2);
    if (!k) return 0;
    if (strcmp(k, "plugin") == 0) {
        lua_pushstring(L, e->plugin);
        return 1;
    }
    if (strcmp(k, "secure") != 0 && strcmp(k, "scramble") != 0) return 0;
    check_exchange(L);
    if (strcmp(k, "secure") == 0) {
        lua_pushboolean(L, myl_auth_exchange_secure(e->x));
    } else {
        size_t n;
        const uint8_t *p = myl_auth_exchange_data(e->x, &n);
        lua_pushlstring(L, (const char *)p, n);
    }
    return 1;
}

static int exchange_tostring(lua_State *L)
{
    exchange_ud *e = luaL_checkudata(L, 1, EXCHANGE_MT);
    lua_pushfstring(L, "mylua.auth_exchange (%s%s)", e->plugin, e->x ? "" : ", finished");
    return 1;
}

static const luaL_Reg exchange_methods[] = {
    {"read", exchange_read},
    {"write", exchange_write},
    {NULL, NULL},
};

static const luaL_Reg exchange_metamethods[] = {
    {"__tostring", exchange_tostring},
    {NULL, NULL},
};

void myl_lua_auth_init_types(lua_State *L)
{
    myl_lua_new_type(L, EXCHANGE_MT, exchange_methods, exchange_metamethods, exchange_index);
    lua_pop(L, 1);
}

/* ---- running callbacks ---- */

/* After lua_pcall failed: keeps the callback's error value (the first one)
 * for the caller to re-raise, and tells the core why it stops. */
static int callback_failed(lua_auth *a, const char *what, myl_error *err)
{
    lua_State *L = a->L;
    /* Lua's own words for a yield ("attempt to yield from outside a
     * coroutine", "... across a C-call boundary") do not say which rule
     * the script broke. */
    const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    if (msg && strstr(msg, "attempt to yield")) {
        lua_pop(L, 1);
        lua_pushfstring(L, "%s cannot yield: it runs inside the login, which cannot be "
                        "suspended", what);
    }
    if (a->error_ref == LUA_NOREF) a->error_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    else lua_pop(L, 1);
    myl_error_set(err, MYL_CR_AUTH_PLUGIN_ERR, "%s raised an error", what);
    return -1;
}

static int prompt(void *ud, const char *q, size_t qlen, int echo, int last, myl_buf *answer,
                  myl_error *err)
{
    lua_auth *a = ud;
    lua_State *L = a->L;
    luaL_checkstack(L, 4, "auth prompt");
    lua_pushvalue(L, a->prompt);
    lua_pushlstring(L, q, qlen);
    lua_pushboolean(L, echo);
    lua_pushboolean(L, last);
    if (lua_pcall(L, 3, 2, 0) != LUA_OK)
        return callback_failed(a, a->fallback ? "the terminal prompt" : "auth.dialog", err);
    if (a->fallback && lua_isnil(L, -2)) {
        /* the host program's terminal: nil, why -- nobody to ask */
        myl_error_clear(err);
        if (lua_type(L, -1) == LUA_TSTRING)
            snprintf(err->message, sizeof err->message, "%s", lua_tostring(L, -1));
        lua_pop(L, 2);
        return 1;
    }
    lua_pop(L, 1); /* the answer is the first result */
    size_t n = 0;
    const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    int rc = 0;
    if (!s) {
        myl_error_set(err, MYL_CR_AUTH_PLUGIN_ERR, "auth.dialog must return the answer as a "
                      "string (it returned %s to \"%.*s\")", luaL_typename(L, -1),
                      (int)(qlen > 100 ? 100 : qlen), q);
        rc = -1;
    } else if (myl_buf_append(answer, s, n)) {
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        rc = -1;
    }
    lua_pop(L, 1);
    return rc;
}

/* A key of the table names a plugin unless it is the dialog prompt. */
static int has_plugin(void *ud, const char *name)
{
    lua_auth *a = ud;
    if (!a->table || strcmp(name, "dialog") == 0) return 0;
    int is_fn = lua_getfield(a->L, a->table, name) == LUA_TFUNCTION;
    lua_pop(a->L, 1);
    return is_fn;
}

static int run_plugin(void *ud, const char *name, myl_auth_exchange *x, myl_error *err)
{
    lua_auth *a = ud;
    lua_State *L = a->L;
    luaL_checkstack(L, 4, "auth plugin");
    lua_getfield(L, a->table, name);
    exchange_ud *e = lua_newuserdatauv(L, sizeof *e, 1);
    e->x = NULL;
    e->plugin = NULL;
    luaL_setmetatable(L, EXCHANGE_MT);
    /* the plugin's name lives as long as the object, in its user value */
    lua_pushstring(L, name);
    e->plugin = lua_tostring(L, -1);
    lua_setiuservalue(L, -2, 1);
    e->x = x;
    lua_pushvalue(L, -1);
    int keep = luaL_ref(L, LUA_REGISTRYINDEX); /* to finish it whatever happens */
    char what[100];
    snprintf(what, sizeof what, "auth[\"%.64s\"]", name);
    int rc = lua_pcall(L, 1, 0, 0) == LUA_OK ? 0 : callback_failed(a, what, err);
    lua_rawgeti(L, LUA_REGISTRYINDEX, keep);
    ((exchange_ud *)lua_touserdata(L, -1))->x = NULL;
    lua_pop(L, 1);
    luaL_unref(L, LUA_REGISTRYINDEX, keep);
    return rc;
}

/* ---- the option ---- */

void myl_lua_auth_init(lua_State *L, lua_auth *a, int idx)
{
    memset(a, 0, sizeof *a);
    a->L = L;
    a->error_ref = LUA_NOREF;
    if (idx && !lua_isnil(L, idx)) {
        idx = lua_absindex(L, idx);
        if (lua_type(L, idx) != LUA_TTABLE)
            luaL_error(L, "option 'auth' must be a table of functions (got a %s)",
                       luaL_typename(L, idx));
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            if (lua_type(L, -2) != LUA_TSTRING)
                luaL_error(L, "option 'auth' must be a table of functions keyed by plugin names "
                           "(got a %s key)", luaL_typename(L, -2));
            if (lua_type(L, -1) != LUA_TFUNCTION)
                luaL_error(L, "option 'auth': '%s' must be a function (got a %s)",
                           lua_tostring(L, -2), luaL_typename(L, -1));
            lua_pop(L, 1);
        }
        a->table = idx;
        a->hooks.has_plugin = has_plugin;
        a->hooks.run_plugin = run_plugin;
        if (lua_getfield(L, idx, "dialog") == LUA_TFUNCTION) a->prompt = lua_gettop(L);
        else lua_pop(L, 1);
    }
    if (!a->prompt) {
        if (lua_getfield(L, LUA_REGISTRYINDEX, MYL_HOST_PROMPT) == LUA_TFUNCTION) {
            a->prompt = lua_gettop(L);
            a->fallback = 1;
        } else {
            lua_pop(L, 1);
        }
    }
    if (a->prompt) {
        a->hooks.prompt = prompt;
        a->hooks.prompt_is_fallback = a->fallback;
    }
    a->hooks.ud = a;
}

void myl_lua_auth_finish(lua_State *L, lua_auth *a)
{
    if (a->error_ref == LUA_NOREF) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->error_ref);
    luaL_unref(L, LUA_REGISTRYINDEX, a->error_ref);
    a->error_ref = LUA_NOREF;
    lua_error(L);
}
