/* Server-side prepared statements: db:prepare(sql) and the statement
 * object (execute, cursor, execute_many in statement_many.c, reset,
 * close), and db:execute, the one-shot form, with its per-connection cache
 * (statement_cache = N).  Under mylua.parallel, prepare and execute run on
 * the task's worker thread and yield (worker.h).
 *
 * The core owns the statement (stmt.h); this object only holds it, and its
 * connection object alive through a user value.  Freeing a statement does
 * no I/O (the core closes it on the server before the connection's next
 * command), but it changes the connection's list of statements, which a
 * job on a worker may be using: see st_gc and free_stmt. */
#include <string.h>

#include "binding.h"
#include "statement_many.h"
#include "worker.h"

enum { UV_CONN = 1, UV_NAMES, UV_COUNT = UV_NAMES };


/* Registry table, weak keys: connection object -> { [sql] = statement }
 * (db:execute's cache; the statements die with their connection). */
#define CACHE_KEY "mylua.statement_cache"

static void free_stmt(stmt_ud *st)
{
    /* The core's statement is linked into its connection, which a job of
     * mylua.parallel may be using on another thread (this statement's
     * when the state closes under a suspended task, or another one's):
     * wait for the jobs first.  Without a scheduler nothing waits. */
    if (st->s && (st->g.busy || (st->conn && st->conn->g.busy))) myl_lua_offload_drain();
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

/* ---- prepare and execute: the network part is a job (worker.h) ----
 *
 * db:prepare, st:execute and db:execute hand their I/O to the task's
 * worker thread under mylua.parallel and yield; elsewhere the same job
 * runs inline.  Before the job every value is converted and every object
 * made (an allocation may run a finalizer: the connection is checked
 * after the last one); the continuation does the Lua part. */

typedef struct stmt_job {
    myl_conn *c;
    const char *sql; /* prepare this first (the text stays on the stack); NULL: s is given */
    size_t len;
    myl_stmt *s;     /* given, or prepared here: then the job's until the continuation takes it */
    int execute;     /* execute s with p[0 .. n) */
    const myl_param *p;
    size_t n;
    int ran;         /* the execute was sent: the statement counts it */
    myl_result *res;
    myl_error e;
    int in_flight;   /* handed to a worker and its continuation not run yet */
    int busy;        /* the connection (and a given statement) were made busy */
    /* On the calling thread's stack: the statement object, db:execute's
     * cache (0: none), the result object and its slot. */
    int stmt_idx, cache_idx, close_after;
    myl_result **slot;
    int result_idx;
    /* The values, when they must outlive the binding's C frame. */
    myl_param params[];
} stmt_job;

static void run_stmt_job(void *arg)
{
    stmt_job *j = arg;
    if (j->sql) {
        j->s = myl_stmt_prepare(j->c, j->sql, j->len);
        if (!j->s) {
            j->e = *myl_conn_error(j->c);
            return;
        }
    }
    if (!j->execute) return;
    if (myl_stmt_usable(j->s) == 0) {
        j->ran = 1;
        j->res = myl_stmt_query(j->s, j->p, j->n);
    }
    if (!j->res) j->e = *myl_conn_error(j->c);
}

/* The job's userdata, when its coroutine is never resumed (the run was
 * stopped, the state closed): what the job made is freed here, once it
 * has ended. */
#define STMT_JOB_MT "mylua.statement_job"
static int stmt_job_gc(lua_State *L)
{
    stmt_job *j = lua_touserdata(L, 1);
    /* only a job whose coroutine was never resumed may still run */
    if (j->in_flight) myl_lua_offload_drain();
    j->in_flight = 0;
    myl_result_free(j->res);
    j->res = NULL;
    if (j->sql && j->s) myl_stmt_free(j->s); /* prepared and never handed over */
    j->s = NULL;
    return 0;
}

/* The job of a call: under mylua.parallel a userdata pushed on the stack
 * with room for n values (*offload is then 1), else *local, zeroed. */
static stmt_job *new_job(lua_State *L, stmt_job *local, int n, int *offload)
{
    *offload = myl_lua_can_offload(L);
    stmt_job *j = local;
    if (*offload) {
        j = lua_newuserdatauv(L, sizeof *j + (size_t)n * sizeof j->params[0], 0);
        if (luaL_newmetatable(L, STMT_JOB_MT)) {
            lua_pushcfunction(L, stmt_job_gc);
            lua_setfield(L, -2, "__gc");
        }
        lua_setmetatable(L, -2);
    }
    memset(j, 0, sizeof *j);
    return j;
}

/* The values first .. first+n-1 for the job: in its own block when it
 * runs on a worker (the C stack is gone by then), else as
 * myl_lua_stmt_params.  Raises for a value that cannot be bound. */
static void job_params(lua_State *L, stmt_job *j, int offload, int first, int n, myl_param *small)
{
    j->n = (size_t)n;
    if (!offload) {
        j->p = myl_lua_stmt_params(L, first, n, small);
        return;
    }
    for (int i = 0; i < n; i++)
        if (myl_lua_to_param(L, first + i, &j->params[i]) < 0) bad_value(L, first + i);
    j->p = j->params;
}

/* Pushes the result of an execute (in *j->slot, the result object at
 * j->result_idx) as db:query's is: its names table is the statement's
 * when the columns are those of its last execute. */
static int push_executed(lua_State *L, stmt_job *j, stmt_ud *st)
{
    int result_idx = j->result_idx;
    myl_columns *cols = (*j->slot)->cols;
    if (cols && cols == st->names_for) { /* the columns of the last execute: their names too */
        lua_getiuservalue(L, j->stmt_idx, UV_NAMES);
        myl_lua_result_ready_names(L, result_idx, lua_gettop(L));
        lua_pop(L, 1);
    } else {
        myl_lua_result_ready(L, result_idx);
        if (cols && !j->close_after && st->s) {
            myl_lua_result_push_names(L, result_idx);
            lua_setiuservalue(L, j->stmt_idx, UV_NAMES);
            myl_columns_free(st->names_for);
            st->names_for = myl_columns_ref(cols);
        }
    }
    if (j->close_after) free_stmt(st);
    lua_pushvalue(L, result_idx);
    return 1;
}

/* The Lua part, after the job: ends the busy section (a close asked
 * meanwhile happens now), hands a prepared statement to its object (and
 * to db:execute's cache), then pushes the statement or the result, or
 * raises the job's error. */
static int finish_job(lua_State *L, stmt_job *j)
{
    j->in_flight = 0;
    stmt_ud *st = lua_touserdata(L, j->stmt_idx);
    if (j->busy) {
        j->busy = 0;
        conn_ud *cu = st->conn;
        cu->g.doing = NULL;
        myl_lua_conn_unbusy(cu); /* first: a statement freed while it is busy would wait for jobs */
        if (!j->sql) {
            st->g.doing = NULL;
            myl_lua_stmt_unbusy(st);
        }
    }
    if (j->sql) {
        st->s = j->s;
        j->s = NULL; /* the statement object's now */
        if (!st->s) return myl_lua_raise(L, &j->e);
        if (j->cache_idx) {
            lua_pushvalue(L, 2); /* db:execute's sql */
            lua_pushvalue(L, j->stmt_idx);
            lua_rawset(L, j->cache_idx);
        }
    }
    if (!j->execute) {
        lua_pushvalue(L, j->stmt_idx);
        return 1;
    }
    if (j->ran) st->execs++;
    *j->slot = j->res;
    j->res = NULL; /* the result object's now */
    if (!*j->slot) {
        if (j->close_after) free_stmt(st); /* closed on the server before the next command */
        return myl_lua_raise(L, &j->e);
    }
    return push_executed(L, j, st);
}

static int stmt_job_done(lua_State *L, int status, lua_KContext job_idx)
{
    (void)status;
    return finish_job(L, lua_touserdata(L, (int)job_idx));
}

/* Runs the job, inline or (offload) on the task's worker, with the
 * connection busy meanwhile, and the statement too when it is given.
 * Nothing may allocate between the last check of the connection and
 * this. */
static int start_job(lua_State *L, stmt_job *j, int offload, int job_idx, stmt_ud *st)
{
    conn_ud *cu = st->conn;
    j->c = cu->c;
    if (!offload) {
        run_stmt_job(j);
        return finish_job(L, j);
    }
    cu->g.doing = j->execute ? "executes a statement" : "prepares a statement";
    myl_guard_enter(&cu->g);
    if (!j->sql) {
        st->g.doing = "executes";
        myl_guard_enter(&st->g);
    }
    j->busy = 1;
    j->in_flight = 1;
    return myl_lua_offload(L, run_stmt_job, j, stmt_job_done, (lua_KContext)job_idx);
}

/* db:prepare(sql) */
static int conn_prepare(lua_State *L)
{
    myl_lua_conn_for_command(L, 1);
    size_t n;
    const char *sql = check_sql(L, 2, &n);
    int offload;
    stmt_job local, *j = new_job(L, &local, 0, &offload);
    int job_idx = lua_gettop(L);
    stmt_ud *st = push_stmt(L, 1);
    j->stmt_idx = lua_gettop(L);
    conn_ud *cu = myl_lua_check_conn(L, 1); /* a finalizer may have closed it meanwhile */
    st->conn = cu;
    j->sql = sql;
    j->len = n;
    return start_job(L, j, offload, job_idx, st);
}

/* st:execute(...) */
static int st_execute(lua_State *L)
{
    myl_lua_check_stmt(L, 1);
    int n = lua_gettop(L) - 1;
    int offload;
    stmt_job local, *j = new_job(L, &local, n, &offload);
    int job_idx = lua_gettop(L);
    myl_param small[MYL_LUA_STACK_PARAMS];
    job_params(L, j, offload, 2, n, small);
    j->slot = myl_lua_new_result(L);
    j->result_idx = lua_gettop(L);
    stmt_ud *st = myl_lua_check_stmt(L, 1); /* a finalizer may have closed it */
    j->stmt_idx = 1;
    j->s = st->s;
    j->execute = 1;
    return start_job(L, j, offload, job_idx, st);
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

/* __gc.  While its connection is busy, a job of mylua.parallel may be
 * using the connection on another thread: rather than wait for it here
 * (which would hold every task), the statement is marked for
 * finalization again and freed in a later cycle.  Not when the state
 * closes (no caller below this function, and Lua would not call it
 * again): free_stmt then waits for the jobs. */
static int st_gc(lua_State *L)
{
    stmt_ud *st = luaL_checkudata(L, 1, MYL_STATEMENT_MT);
    lua_Debug caller;
    if (st->s && st->conn && st->conn->g.busy && lua_getstack(L, 1, &caller)) {
        lua_settop(L, 1);
        luaL_setmetatable(L, MYL_STATEMENT_MT);
        return 0;
    }
    free_stmt(st);
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
 * prepared again; one that fails while executing is never run twice.
 * Prepare and execute are one job. */
static int conn_execute(lua_State *L)
{
    myl_lua_check_conn(L, 1);
    size_t len;
    const char *sql = check_sql(L, 2, &len);
    int nargs = lua_gettop(L) - 2;
    int offload;
    stmt_job local, *j = new_job(L, &local, nargs, &offload);
    int job_idx = lua_gettop(L);
    myl_param small[MYL_LUA_STACK_PARAMS];
    job_params(L, j, offload, 3, nargs, small); /* bad values raise before any I/O */
    j->execute = 1;
    lua_checkstack(L, 8);
    conn_ud *cu = myl_lua_conn_for_command(L, 1);
    j->slot = myl_lua_new_result(L);
    j->result_idx = lua_gettop(L);
    stmt_ud *st = NULL;
    if (cu->stmt_cache == 0) {
        j->close_after = 1;
    } else {
        push_cache(L, 1);
        j->cache_idx = lua_gettop(L);
        lua_pushnil(L); /* scratch slot for evict */
        lua_pushvalue(L, 2);
        if (lua_rawget(L, j->cache_idx) != LUA_TNIL) {
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
            evict(L, j->cache_idx, cu->stmt_cache);
        }
    }
    if (!st) {
        st = push_stmt(L, 1);
        j->sql = sql;
        j->len = len;
    } else {
        j->s = st->s;
    }
    j->stmt_idx = lua_gettop(L);
    cu = myl_lua_check_conn(L, 1); /* a finalizer may have closed it meanwhile */
    st->conn = cu;
    st->used = ++cu->stmt_clock;
    return start_job(L, j, offload, job_idx, st);
}

static const luaL_Reg st_methods[] = {
    {"execute", st_execute},
    {"cursor", st_cursor},
    {"execute_many", myl_lua_stmt_execute_many},
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
