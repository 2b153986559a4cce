/* st:execute_many(rows): one statement, many rows of values.
 *
 * Inline (an ordinary script, or rows given by a function or by a table
 * with a metatable, which run Lua per row): one core call takes the rows
 * one at a time from a callback (stmt_many.c), so memory stays at one row
 * whatever their number.
 *
 * Under mylua.parallel, for a plain array of arrays: the rows go to the
 * task's worker a chunk at a time.  This thread converts a chunk into the
 * job's block (the strings and typed values stay alive in a table on the
 * stack), the worker runs it as one core call, and the continuation
 * converts the next chunk: memory stays at one chunk. */
#include <string.h>

#include "binding.h"
#include "statement_many.h"
#include "worker.h"

/* Raises 2056 (reset, change_user) or 2006 for a statement the server no
 * longer knows. */
static void check_usable(lua_State *L, stmt_ud *st)
{
    if (myl_stmt_usable(st->s) < 0) myl_lua_raise_conn(L, st->conn);
}

/* ---- inline: a callback per row ---- */

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
    /* every value pushed, then one settop: the stack has room (st_execute_many);
     * the two common kinds by the type lua_rawgeti returns, the rest by
     * myl_lua_to_param */
    for (size_t k = 0; ok && k < n; k++) {
        int idx = top + 2 + (int)k;
        myl_param *p = &params[k];
        int t = lua_rawgeti(L, top + 1, (lua_Integer)k + 1);
        if (t == LUA_TSTRING) {
            p->kind = MYL_PARAM_STRING;
            p->s = lua_tolstring(L, idx, &p->len); /* the row keeps it alive */
        } else if (t == LUA_TNUMBER && lua_isinteger(L, idx)) {
            p->kind = MYL_PARAM_INT;
            p->i = (int64_t)lua_tointeger(L, idx);
        } else {
            ok = myl_lua_to_param(L, idx, p) == 0;
        }
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

/* Raises the error of a failed execute_many: the server's or the core's
 * error e, naming the failing row (1-based) and what the rows before it
 * changed. */
static int raise_many_error(lua_State *L, const myl_error *e, lua_Integer row, uint64_t affected,
                            uint64_t batch_rows)
{
    myl_lua_push_error(L, e->code ? e->code : MYL_CR_UNKNOWN_ERROR, e->sqlstate,
                       e->code ? e->message : "Unknown client error");
    lua_pushinteger(L, row);
    lua_setfield(L, -2, "row");
    myl_lua_push_u64(L, affected); /* what the batches before it changed */
    lua_setfield(L, -2, "affected_rows");
    if (batch_rows > 1) {
        lua_pushinteger(L, (lua_Integer)batch_rows);
        lua_setfield(L, -2, "batch_rows");
    }
    return lua_error(L);
}

/* Ends the busy section of execute_many: the connection first (a
 * statement freed while its connection is busy would wait for every job
 * of the process), then the statement; a close asked meanwhile happens. */
static void many_unbusy(stmt_ud *st, conn_ud *cu)
{
    st->g.doing = NULL;
    cu->g.doing = NULL;
    myl_lua_conn_unbusy(cu);
    myl_lua_stmt_unbusy(st);
}

/* ---- in chunks, under mylua.parallel ---- */

/* Values converted per chunk: a block of some hundred KiB, and bulk
 * batches still large where rows are narrow. */
#define CHUNK_VALUES 8192

/* Stack slots of the chunked call. */
enum { SLOT_STMT = 1, SLOT_ROWS, SLOT_ERROR, SLOT_ANCHOR, SLOT_JOB };

typedef struct many_job {
    myl_stmt *s;
    unsigned flags;
    size_t n;             /* values per row */
    size_t cap;           /* rows the block holds */
    lua_Integer count;    /* rows of the array */
    lua_Integer first;    /* the 1-based index of the chunk's first row */
    size_t rows;          /* rows of the chunk converted */
    int bad;              /* the chunk ends before a row that cannot be bound (its error kept) */
    size_t sent;          /* rows the core took so far (worker) */
    int rc;               /* the chunk's outcome */
    uint64_t affected, failed_row, batch_rows;
    myl_error e;
    uint64_t total;       /* affected rows of the chunks run */
    int in_flight;
    myl_param block[];    /* cap rows of n values */
} many_job;

/* The core's `next` on the worker: the chunk's rows, then its end, or -1
 * at the row that could not be converted. */
static int chunk_row(void *ud, myl_param *params, size_t n)
{
    many_job *j = ud;
    if (j->sent == j->rows) return j->bad ? -1 : 0;
    if (n) memcpy(params, j->block + j->sent * n, n * sizeof *params);
    j->sent++;
    return 1;
}

static void run_chunk(void *arg)
{
    many_job *j = arg;
    j->sent = 0;
    j->affected = j->failed_row = j->batch_rows = 0;
    j->rc = myl_stmt_execute_many(j->s, chunk_row, j, j->flags, &j->affected, &j->failed_row,
                                  &j->batch_rows);
    if (j->rc < 0 && !j->bad) j->e = *myl_conn_error(myl_stmt_conn(j->s));
}

#define MANY_JOB_MT "mylua.execute_many_job"
static int many_job_gc(lua_State *L)
{
    many_job *j = lua_touserdata(L, 1);
    /* the coroutine was never resumed (the state closes): the block stays
     * until the chunk has ended */
    if (j->in_flight) myl_lua_offload_drain();
    j->in_flight = 0;
    return 0;
}

/* Converts row i of the array into p, keeping its strings and typed
 * values in the anchor table (from *anchored + 1 on), so that a change
 * of the array while the chunk runs frees nothing it points to.  Raw
 * reads only: no Lua code runs.  1, or 0 when the row is anything but an
 * array of n bindable values. */
static int convert_row(lua_State *L, many_job *j, lua_Integer i, myl_param *p, lua_Integer *anchored)
{
    int top = lua_gettop(L);
    int ok = lua_rawgeti(L, SLOT_ROWS, i) == LUA_TTABLE && lua_rawlen(L, top + 1) == j->n;
    for (size_t k = 0; ok && k < j->n; k++) {
        int t = lua_rawgeti(L, top + 1, (lua_Integer)k + 1);
        ok = myl_lua_to_param(L, -1, &p[k]) == 0;
        if (ok && (t == LUA_TSTRING || t == LUA_TUSERDATA)) lua_rawseti(L, SLOT_ANCHOR, ++*anchored);
        else lua_pop(L, 1);
    }
    lua_settop(L, top);
    return ok;
}

/* Converts the chunk from j->first on: up to j->cap rows, to the end of
 * the array, or to a row that cannot be bound, whose error (as the inline
 * call words it) is kept in SLOT_ERROR.  Nothing raises. */
static void convert_chunk(lua_State *L, many_job *j)
{
    j->rows = 0;
    j->bad = 0;
    lua_Integer anchored = 0;
    for (lua_Integer i = j->first; j->rows < j->cap && i <= j->count; i++) {
        myl_param *p = j->block + j->rows * j->n;
        if (!convert_row(L, j, i, p, &anchored)) {
            many_call mc;
            memset(&mc, 0, sizeof mc);
            mc.L = L;
            mc.count = j->count;
            mc.row = i - 1;
            mc.params = p;
            mc.n = j->n;
            lua_pushcfunction(L, fill_row);
            lua_pushvalue(L, SLOT_ROWS);
            lua_pushlightuserdata(L, &mc);
            if (lua_pcall(L, 2, 1, 0) == LUA_OK) { /* only if a finalizer changed the array */
                lua_pop(L, 1);
                lua_pushfstring(L, "execute_many: row %I changed while it was read", i);
            }
            lua_replace(L, SLOT_ERROR);
            j->bad = 1;
            return;
        }
        j->rows++;
    }
}

/* After a chunk: 1 when the call is over (an error, or no rows left),
 * else 0 with the next chunk converted. */
static int next_chunk(lua_State *L, many_job *j)
{
    j->in_flight = 0;
    j->total += j->affected;
    if (j->rc < 0 || j->first + (lua_Integer)j->rows > j->count) return 1;
    j->first += (lua_Integer)j->rows;
    convert_chunk(L, j);
    return 0;
}

/* The end of the chunked call: the total, or the error. */
static int many_end(lua_State *L, many_job *j)
{
    stmt_ud *st = lua_touserdata(L, SLOT_STMT);
    many_unbusy(st, st->conn);
    if (j->bad) {
        lua_pushvalue(L, SLOT_ERROR);
        return lua_error(L); /* the conversion's own error */
    }
    if (j->rc < 0)
        return raise_many_error(L, &j->e, j->first + (lua_Integer)j->failed_row, j->total,
                                j->batch_rows);
    myl_lua_push_u64(L, j->total);
    return 1;
}

static int many_done(lua_State *L, int status, lua_KContext ctx);

/* Runs the converted chunk and the ones after it: each on the worker
 * (the continuation goes on), or inline once the task is alone. */
static int run_chunks(lua_State *L, many_job *j)
{
    for (;;) {
        if (myl_lua_can_offload(L)) {
            j->in_flight = 1;
            return myl_lua_offload(L, run_chunk, j, many_done, SLOT_JOB);
        }
        run_chunk(j);
        if (next_chunk(L, j)) return many_end(L, j);
    }
}

static int many_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    many_job *j = lua_touserdata(L, (int)ctx);
    if (next_chunk(L, j)) return many_end(L, j);
    return run_chunks(L, j);
}

/* The chunked call for the plain array at SLOT_ROWS (count rows); the
 * stack holds the statement and the rows only. */
static int execute_chunked(lua_State *L, lua_Integer count, unsigned flags)
{
    lua_pushnil(L); /* SLOT_ERROR */
    lua_newtable(L); /* SLOT_ANCHOR */
    size_t n = myl_stmt_param_count(myl_lua_check_stmt(L, SLOT_STMT)->s);
    size_t cap = n ? CHUNK_VALUES / n : CHUNK_VALUES;
    if (cap < 1) cap = 1;
    if (count >= 0 && (uint64_t)count < cap) cap = count > 0 ? (size_t)count : 1;
    many_job *j = lua_newuserdatauv(L, sizeof *j + cap * (n ? n : 1) * sizeof j->block[0], 0);
    memset(j, 0, sizeof *j);
    if (luaL_newmetatable(L, MANY_JOB_MT)) {
        lua_pushcfunction(L, many_job_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2); /* SLOT_JOB */
    stmt_ud *st = myl_lua_check_stmt(L, SLOT_STMT); /* a finalizer may have closed it */
    check_usable(L, st);
    j->s = st->s;
    j->flags = flags;
    j->n = n;
    j->cap = cap;
    j->count = count;
    j->first = 1;
    conn_ud *cu = st->conn;
    /* busy from the first chunk to the end: a close meanwhile waits */
    st->g.doing = "runs execute_many";
    cu->g.doing = "runs execute_many";
    myl_guard_enter(&st->g);
    myl_guard_enter(&cu->g);
    st->execs++;
    convert_chunk(L, j);
    return run_chunks(L, j);
}

/* ---- the method ---- */

/* st:execute_many(rows): rows is an array of arrays, or a function that
 * returns the next array per call (nil at the end).  Returns the affected
 * rows summed. */
int myl_lua_stmt_execute_many(lua_State *L)
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
        /* rows that run no Lua code can go to the worker */
        if (mc.plain && myl_lua_can_offload(L)) return execute_chunked(L, mc.count, flags);
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
    many_unbusy(st, cu);
    if (mc.failed) {
        lua_pushvalue(L, mc.error_slot);
        return lua_error(L); /* the iterator's or the conversion's own error */
    }
    if (rc < 0) return raise_many_error(L, &e, (lua_Integer)failed_row + 1, affected, batch_rows);
    myl_lua_push_u64(L, affected);
    return 1;
}
