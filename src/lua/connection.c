/* The connection object: mylua.connect{...} and the methods of db. */
#include <stdlib.h>
#include <string.h>

#include "binding.h"

#define MAX_ATTRS 32

conn_ud *myl_lua_check_conn(lua_State *L, int idx)
{
    conn_ud *cu = luaL_checkudata(L, idx, MYL_CONNECTION_MT);
    myl_guard_check(L, &cu->g, cu->c != NULL, "connection");
    return cu;
}

/* Cursors and results hold their connection alive through a user value and
 * see a closed one as cu->c == NULL: nothing here needs to know them. */
static void free_conn(conn_ud *cu)
{
    if (cu->c) {
        myl_conn_free(cu->c);
        cu->c = NULL;
    }
    cu->g.close_pending = 0;
}

void myl_lua_conn_unbusy(conn_ud *cu)
{
    if (myl_guard_leave(&cu->g)) free_conn(cu);
}

/* ---- options ---- */

/* A string option.  The value stays on the stack until connect returns: an
 * __index function may have made it, and nothing else would keep it alive. */
static const char *opt_string(lua_State *L, int t, const char *k, const char *dflt)
{
    luaL_checkstack(L, 2, "too many options");
    int ty = lua_getfield(L, t, k);
    if (ty == LUA_TSTRING) return lua_tostring(L, -1);
    if (ty != LUA_TNIL) luaL_error(L, "option '%s' must be a string", k);
    lua_pop(L, 1);
    return dflt;
}

static double opt_number(lua_State *L, int t, const char *k, double dflt)
{
    double v = dflt;
    int ty = lua_getfield(L, t, k);
    if (ty == LUA_TNUMBER) {
        v = lua_tonumber(L, -1);
        if (!(v >= 0)) luaL_error(L, "option '%s' must not be negative", k);
    } else if (ty != LUA_TNIL) {
        luaL_error(L, "option '%s' must be a number", k);
    }
    lua_pop(L, 1);
    return v;
}

static int opt_bool(lua_State *L, int t, const char *k, int dflt)
{
    int v = dflt;
    int ty = lua_getfield(L, t, k);
    if (ty == LUA_TBOOLEAN) v = lua_toboolean(L, -1);
    else if (ty != LUA_TNIL) luaL_error(L, "option '%s' must be a boolean", k);
    lua_pop(L, 1);
    return v;
}

int myl_lua_connect(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    myl_options o;
    memset(&o, 0, sizeof o);
    o.host = opt_string(L, 1, "host", NULL);
    o.socket_path = opt_string(L, 1, "socket", NULL);
    o.user = opt_string(L, 1, "user", NULL);
    o.password = opt_string(L, 1, "password", "");
    o.database = opt_string(L, 1, "database", NULL);
    o.charset = opt_string(L, 1, "charset", "utf8mb4");
    o.collation = opt_string(L, 1, "collation", NULL);
    double port = opt_number(L, 1, "port", 3306);
    if (port < 1 || port > 65535 || port != (double)(unsigned)port)
        luaL_error(L, "option 'port' must be an integer from 1 to 65535");
    o.port = (unsigned)port;
    o.connect_timeout = opt_number(L, 1, "connect_timeout", 10);
    o.read_timeout = opt_number(L, 1, "read_timeout", 0);
    o.write_timeout = opt_number(L, 1, "write_timeout", 60);
    o.multi_statements = opt_bool(L, 1, "multi_statements", 1);
    const char *proto = opt_string(L, 1, "protocol", NULL);
    /* A socket path given selects the socket unless a protocol says otherwise. */
    if (!proto) o.protocol = o.socket_path ? MYL_PROTOCOL_SOCKET : MYL_PROTOCOL_AUTO;
    else if (strcmp(proto, "tcp") == 0) o.protocol = MYL_PROTOCOL_TCP;
    else if (strcmp(proto, "socket") == 0) o.protocol = MYL_PROTOCOL_SOCKET;
    else luaL_error(L, "option 'protocol' must be \"tcp\" or \"socket\"");

    const char *attrs[2 * MAX_ATTRS];
    int ty = lua_getfield(L, 1, "attrs");
    if (ty == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "option 'attrs' must map strings to strings");
            if (o.nattrs == MAX_ATTRS) luaL_error(L, "too many connection attributes");
            attrs[2 * o.nattrs] = lua_tostring(L, -2);
            attrs[2 * o.nattrs + 1] = lua_tostring(L, -1);
            o.nattrs++;
            lua_pop(L, 1);
        }
    } else if (ty != LUA_TNIL) {
        luaL_error(L, "option 'attrs' must be a table");
    }
    o.attrs = attrs; /* the strings live in the attrs table, left on the stack */

    /* in bytes; connect refuses more than 1 GiB with a clear error */
    double max_packet = opt_number(L, 1, "max_packet", 0);
    if (max_packet > 1e15) max_packet = 1e15;
    if (max_packet != (double)(size_t)max_packet)
        luaL_error(L, "option 'max_packet' must be an integer");
    o.max_packet = (size_t)max_packet;

    /* A transport opener (a test layer, say) replaces the plain socket; it
     * stays on the stack, so alive, until connect returns. */
    ty = lua_getfield(L, 1, "transport");
    if (ty != LUA_TNIL) {
        const myl_transport_opener *op = luaL_testudata(L, -1, MYL_TRANSPORT_OPENER_MT);
        if (!op || !op->open) luaL_error(L, "option 'transport' must be a transport opener");
        o.open_transport = op->open;
        o.open_ud = op->ud;
    }

    /* The object exists (closed) before anything is allocated, so __gc can
     * always clean up. */
    conn_ud *cu = lua_newuserdatauv(L, sizeof *cu, 0);
    memset(cu, 0, sizeof *cu);
    luaL_setmetatable(L, MYL_CONNECTION_MT);
    cu->c = myl_conn_new();
    if (!cu->c) {
        myl_lua_push_error(L, MYL_CR_OUT_OF_MEMORY, "HY000", "Client run out of memory");
        return lua_error(L);
    }
    if (myl_connect(cu->c, &o) < 0) {
        myl_error e = *myl_conn_error(cu->c);
        myl_conn_free(cu->c);
        cu->c = NULL;
        return myl_lua_raise(L, &e);
    }
    return 1;
}

/* ---- methods ---- */

static int conn_query(lua_State *L)
{
    conn_ud *cu = myl_lua_check_conn(L, 1);
    myl_lua_build_sql(L, myl_conn_escape_style(cu->c), 2, 3, lua_gettop(L));
    size_t n;
    const char *sql = lua_tolstring(L, -1, &n);
    /* Allocate before draining: a collection here may orphan a stream. */
    myl_result **slot = myl_lua_new_result(L);
    cu = myl_lua_check_conn(L, 1); /* a finalizer may have closed it meanwhile */
    *slot = myl_query(cu->c, sql, n);
    if (!*slot) return myl_lua_raise_conn(L, cu);
    myl_lua_result_ready(L, -1);
    return 1;
}

static int conn_quote(lua_State *L)
{
    conn_ud *cu = myl_lua_check_conn(L, 1);
    luaL_checkany(L, 2);
    myl_lua_push_literal(L, myl_conn_escape_style(cu->c), 2);
    return 1;
}

static int conn_escape(lua_State *L)
{
    conn_ud *cu = myl_lua_check_conn(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    myl_escape_style st = myl_conn_escape_style(cu->c);
    luaL_Buffer b;
    char *dst = luaL_buffinitsize(L, &b, 2 * n + 1);
    luaL_pushresultsize(&b, myl_escape(dst, s, n, st.charset->mb, st.no_backslash));
    return 1;
}

static int conn_quote_name(lua_State *L)
{
    myl_lua_check_conn(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    if (n == 0) luaL_argerror(L, 2, "empty identifier");
    if (memchr(s, 0, n)) luaL_argerror(L, 2, "identifier contains a NUL byte");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '`');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '`') luaL_addchar(&b, '`');
        luaL_addchar(&b, s[i]);
    }
    luaL_addchar(&b, '`');
    luaL_pushresult(&b);
    return 1;
}

static int conn_ping(lua_State *L)
{
    conn_ud *cu = myl_lua_check_conn(L, 1);
    if (myl_ping(cu->c) < 0) return myl_lua_raise_conn(L, cu);
    lua_pushboolean(L, 1);
    return 1;
}

static int conn_select_db(lua_State *L)
{
    conn_ud *cu = myl_lua_check_conn(L, 1);
    size_t n;
    const char *db = luaL_checklstring(L, 2, &n);
    if (myl_select_db(cu->c, db, n) < 0) return myl_lua_raise_conn(L, cu);
    lua_pushboolean(L, 1);
    return 1;
}

static int conn_kill(lua_State *L)
{
    conn_ud *cu = myl_lua_check_conn(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    luaL_argcheck(L, id >= 0 && id <= 0xFFFFFFFF, 2, "thread id out of range");
    if (myl_kill(cu->c, (uint32_t)id) < 0) return myl_lua_raise_conn(L, cu);
    lua_pushboolean(L, 1);
    return 1;
}

static int conn_reset(lua_State *L)
{
    conn_ud *cu = myl_lua_check_conn(L, 1);
    if (myl_reset_connection(cu->c) < 0) return myl_lua_raise_conn(L, cu);
    lua_pushboolean(L, 1);
    return 1;
}

/* __gc: an unreachable connection cannot be in the middle of a decode. */
static int conn_gc(lua_State *L)
{
    free_conn(luaL_checkudata(L, 1, MYL_CONNECTION_MT));
    return 0;
}

/* close() and __close: idempotent; deferred while a row is being decoded. */
static int conn_close(lua_State *L)
{
    conn_ud *cu = luaL_checkudata(L, 1, MYL_CONNECTION_MT);
    if (myl_guard_close(&cu->g)) free_conn(cu);
    lua_pushboolean(L, 1);
    return 1;
}

static int conn_tostring(lua_State *L)
{
    conn_ud *cu = luaL_checkudata(L, 1, MYL_CONNECTION_MT);
    if (myl_guard_closed(&cu->g, cu->c != NULL)) lua_pushliteral(L, "mylua.connection (closed)");
    else lua_pushfstring(L, "mylua.connection (%s, thread %d)", myl_host_info(cu->c),
                         (int)myl_thread_id(cu->c));
    return 1;
}

/* db.field: methods first, then the connection's properties. */
static int conn_index(lua_State *L)
{
    conn_ud *cu = luaL_checkudata(L, 1, MYL_CONNECTION_MT);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    const char *k = lua_tostring(L, 2);
    if (!k) return 0;
    if (strcmp(k, "closed") == 0) {
        lua_pushboolean(L, myl_guard_closed(&cu->g, cu->c != NULL));
        return 1;
    }
    if (myl_guard_closed(&cu->g, cu->c != NULL)) {
        if (strcmp(k, "server_version") == 0 || strcmp(k, "thread_id") == 0 ||
            strcmp(k, "host_info") == 0 || strcmp(k, "charset") == 0 ||
            strcmp(k, "status") == 0 || strcmp(k, "server_version_number") == 0)
            return luaL_error(L, "attempt to use a closed connection");
        return 0;
    }
    if (strcmp(k, "server_version") == 0) lua_pushstring(L, myl_server_version(cu->c));
    else if (strcmp(k, "server_version_number") == 0)
        lua_pushinteger(L, (lua_Integer)myl_server_version_number(cu->c));
    else if (strcmp(k, "thread_id") == 0) lua_pushinteger(L, myl_thread_id(cu->c));
    else if (strcmp(k, "host_info") == 0) lua_pushstring(L, myl_host_info(cu->c));
    else if (strcmp(k, "charset") == 0) lua_pushstring(L, myl_charset_name(cu->c));
    else if (strcmp(k, "status") == 0) lua_pushinteger(L, myl_server_status(cu->c));
    else return 0;
    return 1;
}

static const luaL_Reg conn_methods[] = {
    {"query", conn_query},       {"quote", conn_quote},   {"escape", conn_escape},
    {"quote_name", conn_quote_name}, {"ping", conn_ping}, {"select_db", conn_select_db},
    {"kill", conn_kill},         {"reset", conn_reset},   {"close", conn_close},
    {"cursor", myl_lua_new_cursor}, {NULL, NULL},
};

void myl_lua_connection_init(lua_State *L)
{
    luaL_newmetatable(L, MYL_CONNECTION_MT);
    lua_pushcfunction(L, conn_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, conn_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, conn_tostring);
    lua_setfield(L, -2, "__tostring");
    luaL_newlib(L, conn_methods);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "methods"); /* the Lua layer adds its methods here */
    lua_pushcclosure(L, conn_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
