/* Error objects: tables {code, sqlstate, message, retryable [, statement]
 * [, where]} sharing one metatable.  __tostring prints the mariadb client's format,
 * __concat joins with the same text, so "failed: " .. err reads as a
 * string would. */
#include <string.h>

#include "binding.h"

/* Pushes the text of the error object at idx:
 * "ERROR 1146 (42S02): Table ... doesn't exist", and for a failing statement
 * of a multi-statement query "ERROR 1064 (42000) in statement 3: ...", as the
 * mariadb client says "at line 3" in batch mode; for a statement of a
 * script (execute_script, execute_file), its line and the script's name
 * too: "ERROR 1064 (42000) in statement 3, line 12 of schema.sql: ...". */
static void push_error_text(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    lua_getfield(L, idx, "code");
    lua_getfield(L, idx, "sqlstate");
    lua_getfield(L, idx, "message");
    lua_getfield(L, idx, "statement");
    lua_getfield(L, idx, "line");
    lua_getfield(L, idx, "file");
    lua_Integer line = lua_isinteger(L, -2) ? lua_tointeger(L, -2) : 0;
    const char *file = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    lua_pop(L, 2); /* file stays alive: the error object holds it */
    int code = (int)lua_tointeger(L, -4);
    const char *state = lua_type(L, -3) == LUA_TSTRING ? lua_tostring(L, -3) : "HY000";
    const char *msg = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    lua_Integer statement = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
    if (statement > 0 && line > 0 && file)
        lua_pushfstring(L, "ERROR %d (%s) in statement %I, line %I of %s: %s", code, state, statement,
                        line, file, msg);
    else if (statement > 0 && line > 0)
        lua_pushfstring(L, "ERROR %d (%s) in statement %I, line %I: %s", code, state, statement, line,
                        msg);
    else if (statement > 0)
        lua_pushfstring(L, "ERROR %d (%s) in statement %I: %s", code, state, statement,
                        msg);
    else
        lua_pushfstring(L, "ERROR %d (%s): %s", code, state, msg);
    lua_replace(L, -5);
    lua_pop(L, 3);
}

static int error_tostring(lua_State *L)
{
    push_error_text(L, 1);
    return 1;
}

int myl_lua_is_error(lua_State *L, int idx)
{
    int yes = 0;
    if (lua_type(L, idx) == LUA_TTABLE && lua_getmetatable(L, idx)) {
        luaL_getmetatable(L, MYL_ERROR_MT);
        yes = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    return yes;
}

/* a .. b where either is an error object: the other operand must be a
 * string or a number (or an error object), as for strings. */
static int error_concat(lua_State *L)
{
    for (int i = 1; i <= 2; i++) {
        if (myl_lua_is_error(L, i)) {
            push_error_text(L, i);
        } else if (lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER) {
            lua_pushvalue(L, i);
        } else {
            return luaL_error(L, "attempt to concatenate a %s value", luaL_typename(L, i));
        }
    }
    lua_concat(L, 2);
    return 1;
}

/* Lua code of the mylua module itself: an error its helpers raise (a COMMIT
 * inside transaction(), say) is placed at the code that called them.  The
 * host compiles the modules in as "=[mylua] <name>"; loaded from files they
 * are found by their file names. */
static int is_module_source(const char *src)
{
    static const char *const files[] = {"mylua/init.lua",    "mylua/safe.lua",  "mylua/script.lua",
                                        "mylua/migrate.lua", "mylua/batch.lua", NULL};
    if (strncmp(src, "=[mylua]", 8) == 0) return 1;
    if (src[0] != '@') return 0;
    size_t n = strlen(src + 1);
    for (const char *const *f = files; *f; f++) {
        size_t m = strlen(*f);
        if (n == m && strcmp(src + 1, *f) == 0) return 1;
        if (n > m && src[1 + n - m - 1] == '/' && strcmp(src + 1 + n - m, *f) == 0) return 1;
    }
    return 0;
}

/* Pushes "file.lua:12:" for the innermost Lua code outside the mylua module
 * that is running on L (as luaL_where gives it), or nil when there is none
 * (the error comes from C alone). */
static void push_where(lua_State *L)
{
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (!lua_getinfo(L, "Sl", &ar)) break;
        if (ar.currentline <= 0) continue; /* a C function: pcall, a metamethod */
        if (is_module_source(ar.source)) continue;
        lua_pushfstring(L, "%s:%d:", ar.short_src, ar.currentline);
        return;
    }
    lua_pushnil(L);
}

static const luaL_Reg error_metamethods[] = {
    {"__tostring", error_tostring},
    {"__concat", error_concat},
    {NULL, NULL},
};

void myl_lua_errors_init(lua_State *L)
{
    myl_lua_new_type(L, MYL_ERROR_MT, NULL, error_metamethods, NULL); /* __name: mylua.error */
    lua_pop(L, 1);
}

/* Errors after which running the whole transaction again may succeed: a
 * deadlock victim (1213, which is also how Galera reports a certification
 * failure), a lock wait timeout (1205), a Galera node not ready for
 * statements (1047, ER_UNKNOWN_COM_ERROR: "WSREP has not yet prepared node
 * for application use"), and a connection lost or gone (2013, 2006): the
 * server rolled the transaction back, and another connection, or another
 * node, can run it.  Whether a statement ran before its connection was lost
 * is another question (see outcome_unknown, README "Errors"). */
static int is_retryable(int code)
{
    switch (code) {
    case 1213: /* ER_LOCK_DEADLOCK */
    case 1205: /* ER_LOCK_WAIT_TIMEOUT */
    case 1047: /* ER_UNKNOWN_COM_ERROR, WSREP not ready */
    case MYL_CR_SERVER_LOST:
    case MYL_CR_SERVER_GONE_ERROR:
        return 1;
    default:
        return 0;
    }
}

/* Pushes an error object; statement 0 (unknown) leaves the field out. */
static void push_error_at(lua_State *L, int code, const char *sqlstate, const char *message,
                          unsigned statement)
{
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, code);
    lua_setfield(L, -2, "code");
    lua_pushboolean(L, is_retryable(code));
    lua_setfield(L, -2, "retryable");
    lua_pushstring(L, sqlstate && *sqlstate ? sqlstate : "HY000");
    lua_setfield(L, -2, "sqlstate");
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    if (statement > 0) {
        lua_pushinteger(L, (lua_Integer)statement);
        lua_setfield(L, -2, "statement");
    }
    push_where(L);
    lua_setfield(L, -2, "where");
    luaL_setmetatable(L, MYL_ERROR_MT);
}

void myl_lua_push_error(lua_State *L, int code, const char *sqlstate, const char *message)
{
    push_error_at(L, code, sqlstate, message, 0);
}

int myl_lua_raise(lua_State *L, const myl_error *e)
{
    /* A copy: building the error object allocates, and a finalizer run by
     * that may close the connection that owns *e. */
    myl_error copy = *e;
    push_error_at(L, copy.code ? copy.code : MYL_CR_UNKNOWN_ERROR, copy.sqlstate,
                  copy.code ? copy.message : "Unknown client error", copy.code ? copy.statement : 0);
    /* Lost while a command was under way (connect errors are raised
     * elsewhere): whether the server ran it is unknown (reconnect.c). */
    if (copy.code == MYL_CR_SERVER_LOST) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "outcome_unknown");
    }
    return lua_error(L);
}

int myl_lua_raise_conn(lua_State *L, conn_ud *cu)
{
    return myl_lua_raise(L, myl_conn_error(cu->c));
}
