/* Server-side prepared statements: db:prepare(sql) and the statement
 * object (execute, cursor, execute_many, reset, close), and db:execute,
 * the one-shot form, with its per-connection cache (statement_cache = N).
 *
 * The core owns the statement (stmt.h); this object only holds it, and its
 * connection object alive through a user value.  Freeing a statement does
 * no I/O (the core closes it on the server before the connection's next
 * command), so __gc may free it at any time. */
#include <string.h>

#include "binding.h"

enum { UV_CONN = 1, UV_NAMES, UV_COUNT = UV_NAMES };


/* Registry table, weak keys: connection object -> { [sql] = statement }
 * (db:execute's cache; the statements die with their connection). */
#define CACHE_KEY "mylua.statement_cache"

static void free_stmt(stmt_ud *st)
{
    myl_columns_free(st->names_for);
    st->names_for = NULL;
    if (st->s) {
        myl_stmt_free(st->s);
        st->s = NULL;
    }
    st->g.close_pending = 0;
}

void myl_lua_stmt_unbusy(stmt_ud *st)
{
    if (myl_guard_leave(&st->g)) free_stmt(st);
}

static int conn_open(const stmt_ud *st)
{
    return st->conn && !myl_guard_closed(&st->conn->g, st->conn->c != NULL);
}

stmt_ud *myl_lua_check_stmt(lua_State *L, int idx)
{
    stmt_ud *st = idx == 1 ? myl_lua_check_self(L, MYL_STATEMENT_MT)
                           : luaL_checkudata(L, idx, MYL_STATEMENT_MT);
    myl_guard_check(L, &st->g, st->s != NULL, "statement");
    if (!conn_open(st)) luaL_error(L, "attempt to use a closed connection");
    if (st->conn->g.busy) {
        if (st->conn->g.doing)
            luaL_error(L, "attempt to use a statement while its connection %s", st->conn->g.doing);
        luaL_error(L, "attempt to use a statement while its connection decodes a row");
    }
    return st;
}

/* Raises 2056 (reset, change_user) or 2006 for a statement the server no
 * longer knows. */
static void check_usable(lua_State *L, stmt_ud *st)
{
    if (myl_stmt_usable(st->s) < 0) myl_lua_raise_conn(L, st->conn);
}

static int bad_value(lua_State *L, int arg)
{
    if (lua_type(L, arg) == LUA_TNUMBER)
        return myl_lua_argerror(L, arg, "cannot bind a non-finite number");
    return myl_lua_argerror(L, arg, lua_pushfstring(L, "cannot bind a %s value", luaL_typename(L, arg)));
}

myl_param *myl_lua_stmt_params(lua_State *L, int first, int n, myl_param *small)
{
    myl_param *p = n <= MYL_LUA_STACK_PARAMS ? small : lua_newuserdatauv(L, (size_t)n * sizeof *p, 0);
    for (int i = 0; i < n; i++)
        if (myl_lua_to_param(L, first + i, &p[i]) < 0) bad_value(L, first + i);
    return p;
}

/* A new statement object of the connection at conn_idx, not prepared yet
 * (so __gc can clean up whatever happens next). */
static stmt_ud *push_stmt(lua_State *L, int conn_idx)
{
    conn_idx = lua_absindex(L, conn_idx);
    stmt_ud *st = lua_newuserdatauv(L, sizeof *st, UV_COUNT);
    memset(st, 0, sizeof *st);
    luaL_setmetatable(L, MYL_STATEMENT_MT);
    lua_pushvalue(L, conn_idx);
    lua_setiuservalue(L, -2, UV_CONN);
    return st;
}

static const char *check_sql(lua_State *L, int idx, size_t *n)
{
    if (lua_type(L, idx) != LUA_TSTRING) myl_lua_typeerror(L, idx, "string");
    return lua_tolstring(L, idx, n);
}

/* db:prepare(sql) */
static int conn_prepare(lua_State *L)
{
    myl_lua_conn_for_command(L, 1);
    size_t n;
    const char *sql = check_sql(L, 2, &n);
    stmt_ud *st = push_stmt(L, 1);
    conn_ud *cu = myl_lua_check_conn(L, 1); /* a finalizer may have closed it meanwhile */
    st->conn = cu;
    st->s = myl_stmt_prepare(cu->c, sql, n);
    if (!st->s) return myl_lua_raise_conn(L, cu);
    return 1;
}

/* Executes the statement at stmt_idx with the values p (converted from
 * the stack, where they stay) and pushes the result object, as db:query's.
 * With close_after the statement is freed whatever the outcome. */
static int execute_values(lua_State *L, int stmt_idx, const myl_param *p, int n, int close_after)
{
    stmt_idx = lua_absindex(L, stmt_idx);
    myl_result **slot = myl_lua_new_result(L);
    stmt_ud *st = myl_lua_check_stmt(L, stmt_idx); /* a finalizer may have closed it */
    if (myl_stmt_usable(st->s) == 0) {
        st->execs++;
        *slot = myl_stmt_query(st->s, p, (size_t)n);
    }
    myl_error e;
    myl_error_clear(&e);
    if (!*slot) e = *myl_conn_error(st->conn->c);
    if (!*slot) {
        if (close_after) free_stmt(st); /* closed on the server before the next command */
        return myl_lua_raise(L, &e);
    }
    myl_columns *cols = (*slot)->cols;
    if (cols && cols == st->names_for) { /* the columns of the last execute: their names too */
        lua_getiuservalue(L, stmt_idx, UV_NAMES);
        myl_lua_result_ready_names(L, -2, lua_gettop(L));
        lua_pop(L, 1);
    } else {
        myl_lua_result_ready(L, -1);
        if (cols && !close_after) {
            myl_lua_result_push_names(L, -1);
            lua_setiuservalue(L, stmt_idx, UV_NAMES);
            myl_columns_free(st->names_for);
            st->names_for = myl_columns_ref(cols);
        }
    }
    if (close_after) free_stmt(st);
    return 1;
}

/* st:execute(...) */
static int st_execute(lua_State *L)
{
    myl_lua_check_stmt(L, 1);
    int n = lua_gettop(L) - 1;
    myl_param small[MYL_LUA_STACK_PARAMS];
    const myl_param *p = myl_lua_stmt_params(L, 2, n, small);
    return execute_values(L, 1, p, n, 0);
}

/* st:cursor([{fetch_size = N} | {stream = true}]) */
static int st_cursor(lua_State *L)
{
    myl_lua_check_stmt(L, 1);
    uint32_t fetch_size = 0;
    if (!lua_isnoneornil(L, 2)) {
        myl_lua_check_type(L, 2, LUA_TTABLE);
        static const char *const keys[] = {"fetch_size", "stream", NULL};
        if (myl_lua_unknown_key(L, 2, keys))
            myl_lua_argerror(L, 2, "unknown cursor option (expected fetch_size or stream)");
        int stream = lua_getfield(L, 2, "stream") != LUA_TNIL;
        if (stream && !lua_toboolean(L, -1))
            myl_lua_argerror(L, 2, "stream must be true; use st:execute for buffered results");
        if (lua_getfield(L, 2, "fetch_size") != LUA_TNIL) {
            if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 0x7FFFFFFF)
                myl_lua_argerror(L, 2, "fetch_size must be an integer from 1 to 2147483647");
            if (stream) myl_lua_argerror(L, 2, "fetch_size (a server cursor) or stream, not both");
            fetch_size = (uint32_t)lua_tointeger(L, -1);
        }
        lua_settop(L, 1);
    }
    lua_settop(L, 1);
    lua_getiuservalue(L, 1, UV_CONN);
    myl_lua_new_stmt_cursor(L, 1, 2, myl_lua_check_stmt(L, 1), fetch_size);
    return 1;
}

/* ---- execute_many ---- */

typedef struct many_call {
    lua_State *L;
    int src;            /* the rows: a table, or an iterator function */
    int row_slot;       /* keeps the current row (and its strings) alive */
    int error_slot;     /* a conversion's or the iterator's error */
    lua_Integer count;  /* rows of an array */
    lua_Integer row;    /* rows handed to the core so far */
    myl_param *params;
    size_t n;
    int failed;
    int plain;          /* the rows are a table without a metatable: read raw */
} many_call;

/* Pushes error 2031 for row i and raises it. */
static int row_count_error(lua_State *L, lua_Integer i, size_t got, size_t want)
{
    lua_pushfstring(L, "row %I has %d values, the statement takes %d (use mylua.null for NULL)",
                    i, (int)got, (int)want);
    myl_lua_push_error(L, MYL_CR_PARAMS_NOT_BOUND, "HY000", lua_tostring(L, -1));
    lua_pushinteger(L, i);
    lua_setfield(L, -2, "row");
    return lua_error(L);
}

/* Protected: (source, many_call) -> the next row, converted into
 * mc->params, or nothing at the end. */
static int fill_row(lua_State *L)
{
    many_call *mc = lua_touserdata(L, 2);
    lua_Integer i = mc->row + 1;
    if (lua_type(L, 1) == LUA_TFUNCTION) {
        lua_pushvalue(L, 1);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) return 0;
    } else {
        if (i > mc->count) return 0;
        if (lua_geti(L, 1, i) == LUA_TNIL) luaL_error(L, "execute_many: row %I is nil", i);
    }
    if (lua_type(L, -1) != LUA_TTABLE)
        luaL_error(L, "execute_many: row %I is a %s, not an array of values", i, luaL_typename(L, -1));
    int row = lua_gettop(L);
    size_t got = lua_rawlen(L, row);
    if (got != mc->n) row_count_error(L, i, got, mc->n);
    for (size_t k = 0; k < mc->n; k++) {
        lua_rawgeti(L, row, (lua_Integer)k + 1);
        if (myl_lua_to_param(L, -1, &mc->params[k]) < 0) {
            const char *what = lua_type(L, -1) == LUA_TNUMBER ? "non-finite number"
                                                              : luaL_typename(L, -1);
            luaL_error(L, "execute_many: row %I, value %d: cannot bind a %s%s", i, (int)k + 1, what,
                       lua_type(L, -1) == LUA_TNUMBER ? "" : " value");
        }
        lua_pop(L, 1); /* the row keeps it alive */
    }
    lua_settop(L, row);
    return 1;
}

/* The next row of a plain array, read raw with no call that can raise or
 * allocate, so without lua_pcall: 1, 0 at the end, or -1 when the row is
 * anything but an array of n bindable values (fill_row then says what). */
static int plain_row(many_call *mc, myl_param *params, size_t n)
{
    lua_State *L = mc->L;
    lua_Integer i = mc->row + 1;
    if (i > mc->count) return 0;
    int top = lua_gettop(L);
    int ok = lua_rawgeti(L, mc->src, i) == LUA_TTABLE && lua_rawlen(L, top + 1) == n;
    /* every value pushed, then one settop: the stack has room (st_execute_many) */
    for (size_t k = 0; ok && k < n; k++) {
        lua_rawgeti(L, top + 1, (lua_Integer)k + 1);
        ok = myl_lua_to_param(L, top + 2 + (int)k, &params[k]) == 0; /* strings stay the row's */
    }
    lua_settop(L, top);
    if (!ok) return -1;
    mc->row = i;
    return 1;
}

/* The core's `next`: runs fill_row under lua_pcall (guard.h's callback
 * rule: the error is kept and re-raised once the core has returned). */
static int next_row(void *ud, myl_param *params, size_t n)
{
    many_call *mc = ud;
    lua_State *L = mc->L;
    if (mc->failed) return -1;
    if (mc->plain) {
        int r = plain_row(mc, params, n);
        if (r >= 0) return r;
    }
    mc->params = params;
    mc->n = n;
    lua_pushcfunction(L, fill_row);
    lua_pushvalue(L, mc->src);
    lua_pushlightuserdata(L, mc);
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) {
        lua_replace(L, mc->error_slot);
        mc->failed = 1;
        return -1;
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return 0;
    }
    lua_replace(L, mc->row_slot);
    mc->row++;
    return 1;
}

/* st:execute_many(rows): rows is an array of arrays, or a function that
 * returns the next array per call (nil at the end).  Returns the affected
 * rows summed. */
static int st_execute_many(lua_State *L)
{
    myl_lua_check_stmt(L, 1);
    int ty = lua_type(L, 2);
    if (ty != LUA_TTABLE && ty != LUA_TFUNCTION) myl_lua_typeerror(L, 2, "table or function");
    unsigned flags = 0;
    if (!lua_isnoneornil(L, 3)) { /* { bulk = false }: pipelined executes even on MariaDB */
        myl_lua_check_type(L, 3, LUA_TTABLE);
        static const char *const keys[] = {"bulk", NULL};
        if (myl_lua_unknown_key(L, 3, keys)) myl_lua_argerror(L, 3, "unknown option (expected bulk)");
        int ty3 = lua_getfield(L, 3, "bulk");
        if (ty3 != LUA_TNIL && ty3 != LUA_TBOOLEAN) myl_lua_argerror(L, 3, "bulk must be a boolean");
        if (ty3 == LUA_TBOOLEAN && !lua_toboolean(L, -1)) flags |= MYL_MANY_NO_BULK;
        lua_pop(L, 1);
    }
    lua_settop(L, 2);
    many_call mc;
    memset(&mc, 0, sizeof mc);
    mc.L = L;
    mc.src = 2;
    if (ty == LUA_TTABLE) {
        mc.count = luaL_len(L, 2);
        mc.plain = !lua_getmetatable(L, 2);
        if (!mc.plain) lua_pop(L, 1);
    }
    lua_pushnil(L);
    mc.error_slot = lua_gettop(L);
    lua_pushnil(L);
    mc.row_slot = lua_gettop(L);
    stmt_ud *st = myl_lua_check_stmt(L, 1);
    luaL_checkstack(L, (int)myl_stmt_param_count(st->s) + 8, "too many parameters");
    check_usable(L, st);
    conn_ud *cu = st->conn;
    /* The rows run Lua code: the statement and its connection are busy. */
    st->g.doing = "runs execute_many";
    cu->g.doing = "runs execute_many";
    myl_guard_enter(&st->g);
    myl_guard_enter(&cu->g);
    st->execs++;
    uint64_t affected = 0, failed_row = 0, batch_rows = 0;
    int rc = myl_stmt_execute_many(st->s, next_row, &mc, flags, &affected, &failed_row, &batch_rows);
    myl_error e;
    myl_error_clear(&e);
    if (rc < 0 && !mc.failed) e = *myl_conn_error(cu->c);
    st->g.doing = NULL;
    cu->g.doing = NULL;
    myl_lua_stmt_unbusy(st); /* a close asked meanwhile: the statement goes first */
    myl_lua_conn_unbusy(cu);
    if (mc.failed) {
        lua_pushvalue(L, mc.error_slot);
        return lua_error(L); /* the iterator's or the conversion's own error */
    }
    if (rc < 0) {
        myl_lua_push_error(L, e.code ? e.code : MYL_CR_UNKNOWN_ERROR, e.sqlstate,
                           e.code ? e.message : "Unknown client error");
        lua_pushinteger(L, (lua_Integer)failed_row + 1);
        lua_setfield(L, -2, "row");
        myl_lua_push_u64(L, affected); /* what the batches before it changed */
        lua_setfield(L, -2, "affected_rows");
        if (batch_rows > 1) {
            lua_pushinteger(L, (lua_Integer)batch_rows);
            lua_setfield(L, -2, "batch_rows");
        }
        return lua_error(L);
    }
    myl_lua_push_u64(L, affected);
    return 1;
}

/* st:reset(): forgets long data and closes a server cursor. */
static int st_reset(lua_State *L)
{
    stmt_ud *st = myl_lua_check_stmt(L, 1);
    check_usable(L, st);
    st->execs++; /* a cursor's rows are gone */
    if (myl_stmt_reset(st->s) < 0) return myl_lua_raise_conn(L, st->conn);
    lua_pushboolean(L, 1);
    return 1;
}

/* close() and __close: idempotent, no I/O; deferred while busy. */
static int st_close(lua_State *L)
{
    stmt_ud *st = myl_lua_check_self(L, MYL_STATEMENT_MT);
    if (myl_guard_close(&st->g)) free_stmt(st);
    lua_pushboolean(L, 1);
    return 1;
}

/* __gc: an unreachable statement is in no busy section. */
static int st_gc(lua_State *L)
{
    free_stmt(luaL_checkudata(L, 1, MYL_STATEMENT_MT));
    return 0;
}

static int st_tostring(lua_State *L)
{
    stmt_ud *st = luaL_checkudata(L, 1, MYL_STATEMENT_MT);
    if (myl_guard_closed(&st->g, st->s != NULL)) lua_pushliteral(L, "mylua.statement (closed)");
    else lua_pushfstring(L, "mylua.statement (id %d, %d parameters)", (int)myl_stmt_id(st->s),
                         (int)myl_stmt_param_count(st->s));
    return 1;
}

static int st_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    const char *k = lua_tostring(L, 2);
    if (!k) return 0;
    stmt_ud *st = luaL_checkudata(L, 1, MYL_STATEMENT_MT);
    if (strcmp(k, "closed") == 0) {
        lua_pushboolean(L, myl_guard_closed(&st->g, st->s != NULL));
        return 1;
    }
    if (strcmp(k, "param_count") != 0 && strcmp(k, "columns") != 0 && strcmp(k, "id") != 0)
        return 0;
    myl_guard_check(L, &st->g, st->s != NULL, "statement");
    if (strcmp(k, "param_count") == 0) {
        lua_pushinteger(L, (lua_Integer)myl_stmt_param_count(st->s));
    } else if (strcmp(k, "id") == 0) {
        lua_pushinteger(L, (lua_Integer)myl_stmt_id(st->s));
    } else {
        /* made at each use: the server may re-prepare with other columns */
        myl_guard_enter(&st->g);
        myl_lua_push_columns(L, myl_stmt_columns(st->s)); /* empty without a result set */
        myl_lua_stmt_unbusy(st);
    }
    return 1;
}

/* ---- db:execute ---- */

/* Pushes the connection's statement cache (created on first use). */
static void push_cache(lua_State *L, int conn_idx)
{
    lua_getfield(L, LUA_REGISTRYINDEX, CACHE_KEY);
    lua_pushvalue(L, conn_idx);
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, conn_idx);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }
    lua_remove(L, -2);
}

/* Makes room in the cache at idx for one more statement: the least
 * recently used ones go (freed: closed on the server before the next
 * command). */
static void evict(lua_State *L, int cache, unsigned keep)
{
    for (;;) {
        unsigned n = 0;
        stmt_ud *oldest = NULL;
        lua_pushnil(L);
        while (lua_next(L, cache)) {
            stmt_ud *st = lua_touserdata(L, -1);
            n++;
            if (!oldest || st->used < oldest->used) {
                oldest = st;
                lua_pushvalue(L, -2);
                lua_replace(L, cache + 1); /* the key of the oldest */
            }
            lua_pop(L, 1);
        }
        if (n < keep) return;
        free_stmt(oldest);
        lua_pushvalue(L, cache + 1);
        lua_pushnil(L);
        lua_rawset(L, cache);
    }
}

/* db:execute(sql, ...): prepares, executes, and closes (or keeps the
 * statement in the connection's cache with statement_cache = N).  A cached
 * statement the server forgot before this call (a reset, change_user) is
 * prepared again; one that fails while executing is never run twice. */
static int conn_execute(lua_State *L)
{
    myl_lua_check_conn(L, 1);
    size_t len;
    const char *sql = check_sql(L, 2, &len);
    int nargs = lua_gettop(L) - 2;
    myl_param small[MYL_LUA_STACK_PARAMS];
    const myl_param *p = myl_lua_stmt_params(L, 3, nargs, small); /* bad values raise before any I/O */
    lua_checkstack(L, 8);
    conn_ud *cu = myl_lua_conn_for_command(L, 1);
    if (cu->stmt_cache == 0) {
        stmt_ud *st = push_stmt(L, 1);
        cu = myl_lua_check_conn(L, 1);
        st->conn = cu;
        st->s = myl_stmt_prepare(cu->c, sql, len);
        if (!st->s) return myl_lua_raise_conn(L, cu);
        return execute_values(L, -1, p, nargs, 1);
    }
    push_cache(L, 1);
    int cache = lua_gettop(L);
    lua_pushnil(L); /* scratch slot for evict */
    lua_pushvalue(L, 2);
    stmt_ud *st = NULL;
    if (lua_rawget(L, cache) != LUA_TNIL) {
        st = lua_touserdata(L, -1);
        cu = myl_lua_check_conn(L, 1);
        if (!st->s || myl_stmt_usable(st->s) < 0) {
            /* a broken connection says so rather than prepare again */
            if (myl_conn_usable(cu->c) < 0) return myl_lua_raise_conn(L, cu);
            free_stmt(st);
            st = NULL;
        }
    }
    if (!st) {
        lua_pop(L, 1);
        evict(L, cache, cu->stmt_cache);
        st = push_stmt(L, 1);
        cu = myl_lua_check_conn(L, 1);
        st->conn = cu;
        st->s = myl_stmt_prepare(cu->c, sql, len);
        if (!st->s) return myl_lua_raise_conn(L, cu);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -2);
        lua_rawset(L, cache);
    }
    st->used = ++cu->stmt_clock;
    return execute_values(L, -1, p, nargs, 0);
}

static const luaL_Reg st_methods[] = {
    {"execute", st_execute},
    {"cursor", st_cursor},
    {"execute_many", st_execute_many},
    {"reset", st_reset},
    {"close", st_close},
    {NULL, NULL},
};

static const luaL_Reg st_metamethods[] = {
    {"__gc", st_gc},
    {"__close", st_close},
    {"__tostring", st_tostring},
    {NULL, NULL},
};

void myl_lua_statement_init(lua_State *L)
{
    myl_lua_new_type(L, MYL_STATEMENT_MT, st_methods, st_metamethods, st_index);
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, CACHE_KEY);
    static const luaL_Reg conn_methods[] = {
        {"prepare", conn_prepare},
        {"execute", conn_execute},
        {NULL, NULL},
    };
    myl_lua_add_methods(L, MYL_CONNECTION_MT, conn_methods);
}
