/* Userdata types built from luaL_Reg tables, and argument errors that name
 * the method.
 *
 * Why Lua cannot name our methods by itself: luaL_argerror takes the name
 * from the instruction that made the call (db:query(1) -> 'query').  A
 * function called from C (pcall(db.query, db, 1), or the mylua.safe face,
 * which calls every method through pcall) has no such instruction; Lua then
 * looks for the function in package.loaded, one level deep, and methods
 * live in tables behind __index functions, never there.  The message said
 * '?'.  So every function registered here is recorded in a registry table
 * (function -> name), and the binding's argument checks look the running
 * function up there.  A method counts its arguments after self however it
 * was called, as Lua does for db:query(...). */
#include <string.h>

#include "binding.h"

#define NAMES_KEY "mylua.function_names"

/* Records the functions of `l` found in the table at idx under their
 * names; a method's name is kept with a leading ':'. */
static void record_names(lua_State *L, int idx, const luaL_Reg *l, int methods)
{
    idx = lua_absindex(L, idx);
    if (lua_getfield(L, LUA_REGISTRYINDEX, NAMES_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, NAMES_KEY);
    }
    for (; l->name; l++) {
        if (lua_getfield(L, idx, l->name) == LUA_TFUNCTION) {
            if (methods) lua_pushfstring(L, ":%s", l->name);
            else lua_pushstring(L, l->name);
            lua_rawset(L, -3);
        } else {
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
}

void myl_lua_name_functions(lua_State *L, int idx, const luaL_Reg *l)
{
    record_names(L, idx, l, 0);
}

void myl_lua_new_type(lua_State *L, const char *tname, const luaL_Reg *methods,
                      const luaL_Reg *metamethods, lua_CFunction index)
{
    if (!luaL_newmetatable(L, tname)) return; /* made by an earlier luaopen */
    if (metamethods) luaL_setfuncs(L, metamethods, 0);
    if (!methods) return;
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    record_names(L, -1, methods, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "methods");
    if (index) lua_pushcclosure(L, index, 1);
    lua_setfield(L, -2, "__index");
}

void myl_lua_add_methods(lua_State *L, const char *tname, const luaL_Reg *methods)
{
    luaL_getmetatable(L, tname);
    lua_getfield(L, -1, "methods");
    luaL_setfuncs(L, methods, 0);
    record_names(L, -1, methods, 1);
    lua_pop(L, 2);
}

/* The recorded name of the running C function, or NULL; *method tells
 * whether it is a method. */
static const char *running_name(lua_State *L, int *method)
{
    lua_Debug ar;
    if (!lua_getstack(L, 0, &ar)) return NULL;
    lua_getinfo(L, "f", &ar);
    const char *name = NULL;
    if (lua_getfield(L, LUA_REGISTRYINDEX, NAMES_KEY) == LUA_TTABLE) {
        lua_pushvalue(L, -2);
        if (lua_rawget(L, -2) == LUA_TSTRING) name = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    /* the string stays alive: the registry table holds it */
    if (name && name[0] == ':') {
        *method = 1;
        return name + 1;
    }
    *method = 0;
    return name;
}

int myl_lua_argerror(lua_State *L, int arg, const char *extramsg)
{
    int method;
    const char *name = running_name(L, &method);
    if (!name) return luaL_argerror(L, arg, extramsg);
    if (method && --arg == 0) return luaL_error(L, "calling '%s' on bad self (%s)", name, extramsg);
    return luaL_error(L, "bad argument #%d to '%s' (%s)", arg, name, extramsg);
}

int myl_lua_typeerror(lua_State *L, int arg, const char *tname)
{
    const char *got;
    if (luaL_getmetafield(L, arg, "__name") == LUA_TSTRING) got = lua_tostring(L, -1);
    else if (lua_type(L, arg) == LUA_TLIGHTUSERDATA) got = "light userdata";
    else got = luaL_typename(L, arg);
    return myl_lua_argerror(L, arg, lua_pushfstring(L, "%s expected, got %s", tname, got));
}

void *myl_lua_check_self(lua_State *L, const char *tname)
{
    void *p = luaL_testudata(L, 1, tname);
    if (!p) myl_lua_typeerror(L, 1, tname);
    return p;
}

lua_Integer myl_lua_check_integer(lua_State *L, int arg)
{
    int ok;
    lua_Integer v = lua_tointegerx(L, arg, &ok);
    if (!ok) {
        if (lua_isnumber(L, arg)) myl_lua_argerror(L, arg, "number has no integer representation");
        else myl_lua_typeerror(L, arg, "number");
    }
    return v;
}

const char *myl_lua_check_lstring(lua_State *L, int arg, size_t *len)
{
    const char *s = lua_tolstring(L, arg, len);
    if (!s) myl_lua_typeerror(L, arg, "string");
    return s;
}

const char *myl_lua_opt_string(lua_State *L, int arg, const char *dflt)
{
    if (lua_isnoneornil(L, arg)) return dflt;
    return myl_lua_check_lstring(L, arg, NULL);
}

void myl_lua_check_type(lua_State *L, int arg, int t)
{
    if (lua_type(L, arg) != t) myl_lua_typeerror(L, arg, lua_typename(L, t));
}

void myl_lua_check_any(lua_State *L, int arg)
{
    if (lua_type(L, arg) == LUA_TNONE) myl_lua_argerror(L, arg, "value expected");
}

const char *myl_lua_unknown_key(lua_State *L, int idx, const char *const *keys)
{
    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
        int known = 0;
        for (int i = 0; k && keys[i]; i++) known |= strcmp(k, keys[i]) == 0;
        if (!known) {
            /* the table still holds the key, so its string stays valid */
            const char *what = k ? k : luaL_typename(L, -2);
            lua_pop(L, 2);
            return what;
        }
        lua_pop(L, 1);
    }
    return NULL;
}

void myl_lua_add_functions(lua_State *L, int idx, const luaL_Reg *l)
{
    idx = lua_absindex(L, idx);
    lua_pushvalue(L, idx);
    luaL_setfuncs(L, l, 0);
    lua_pop(L, 1);
    myl_lua_name_functions(L, idx, l);
}
