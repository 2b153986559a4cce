/* The streaming cursor: reads one row at a time off the connection, in
 * constant memory, decoding straight from the packet buffer.  The core
 * decides who may read the pending response (the cursor is its owner); the
 * cursor keeps only the columns of its current result set.
 *
 * A cursor may read a prepared statement's rows (st:cursor): streamed as
 * a query's, or from a server cursor, COM_STMT_FETCH a batch at a time. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "cursor_job.h"
#include "infile_call.h"
#include "worker.h"

enum { UV_CONN = 1, UV_NAMES, UV_STATUS, UV_COLUMNS, UV_STMT, UV_FILLED, UV_COUNT = UV_FILLED };

/* The address of this is the registry key of a weak table: a table
 * fetch(t) refilled -> the cursor that did.  A light userdata key, not a
 * string: it is read for every refilled row. */
static const char filled_key = 0;

typedef struct cursor_ud {
    conn_ud *conn;     /* NULL once closed */
    myl_columns *cols; /* columns of the current result set, NULL if none */
    myl_guard g;       /* busy while decoding from cols */
    unsigned result_gen;          /* counts result heads read */
    unsigned filled_gen;          /* result_gen when this cursor last refilled a table */
    int filled_mode;              /* and the row mode it was refilled with */
    /* That table (held in UV_FILLED, so no other object takes its address)
     * until another cursor refills it; then NULL. */
    const void *filled_table;
    stmt_ud *stmt;       /* the statement it executes (user value UV_STMT), or NULL */
    uint32_t fetch_size; /* > 0: rows come from a server cursor, this many a batch */
    unsigned exec_gen;   /* the statement's execs when this cursor executed it */
    int server_cursor;   /* the server cursor of that execution may have rows left */
    unsigned session_gen; /* the connection's session it belongs to (reconnect.c) */
    /* The network part of its calls under mylua.parallel, and the rows a
     * batch read ahead (cursor_job.h): made at the first hand-off. */
    myl_cursor_job *io;
    int in_flight;        /* io runs on a worker; the continuation has not run yet */
    /* What the fetch running follows: 0 an execute; the end of a batch of
     * rows, whose status is 1 the batch's copy, 2 the connection's last. */
    int fetch_after_end;
    myl_lua_infile_call call; /* the head being read by io, across the yield */
} cursor_ud;

/* Forgets the rows a batch read ahead (they belong to the result set
 * being left) and the columns. */
static void free_cols(cursor_ud *cur)
{
    myl_columns_free(cur->cols);
    cur->cols = NULL;
    if (cur->io) myl_row_batch_clear(&cur->io->batch);
}

static int conn_open(const cursor_ud *cur)
{
    return cur->conn && !myl_guard_closed(&cur->conn->g, cur->conn->c != NULL);
}

/* A cursor counts as closed once it or its connection is. */
static int cursor_closed(const cursor_ud *cur)
{
    return myl_guard_closed(&cur->g, cur->conn != NULL) || !conn_open(cur);
}

/* The cursor cur (known to be one), if it may be used now; else raises. */
static cursor_ud *usable(lua_State *L, cursor_ud *cur)
{
    myl_guard_check(L, &cur->g, cur->conn != NULL, "cursor");
    if (!conn_open(cur)) luaL_error(L, "attempt to use a closed connection");
    if (cur->session_gen != cur->conn->session_gen)
        luaL_error(L, "attempt to use a cursor of an earlier session: the connection was opened "
                   "again since it was made, and its rows are gone (make a new cursor)");
    if (cur->conn->g.busy) {
        if (cur->conn->g.doing)
            luaL_error(L, "attempt to use a cursor while its connection %s", cur->conn->g.doing);
        luaL_error(L, "attempt to use a cursor while it decodes a row");
    }
    if (cur->stmt) {
        if (myl_guard_closed(&cur->stmt->g, cur->stmt->s != NULL)) {
            /* its rows can never be read now: the connection discards
             * them before its next command */
            if (myl_response_owner(cur->conn->c) == cur) myl_abandon(cur->conn->c, cur);
            luaL_error(L, "attempt to use a closed statement");
        }
        if (cur->stmt->g.busy)
            luaL_error(L, "attempt to use a cursor while its statement %s",
                       cur->stmt->g.doing ? cur->stmt->g.doing : "decodes a row");
    }
    return cur;
}

static cursor_ud *check_cursor(lua_State *L, int idx)
{
    return usable(L, idx == 1 ? myl_lua_check_self(L, MYL_CURSOR_MT)
                              : luaL_checkudata(L, idx, MYL_CURSOR_MT));
}

/* The cursor owns the connection's pending response. */
static int owns_stream(const cursor_ud *cur)
{
    return conn_open(cur) && myl_response_owner(cur->conn->c) == cur;
}

static void unbusy(cursor_ud *cur)
{
    if (myl_guard_leave(&cur->g)) {
        free_cols(cur);
        cur->conn = NULL;
        cur->g.close_pending = 0;
    }
}

/* Stores status fields in the cursor's status table; st must be a copy
 * (pushing may run finalizers). */
static void keep_status_of(lua_State *L, int cur_idx, const myl_status *st)
{
    lua_createtable(L, 0, 5);
    myl_lua_set_status(L, -1, st);
    lua_setiuservalue(L, cur_idx, UV_STATUS);
}

/* Stores the finished result's status fields in the cursor's status table. */
static void keep_status(lua_State *L, int cur_idx, cursor_ud *cur)
{
    myl_status st = *myl_last_status(cur->conn->c);
    keep_status_of(L, cur_idx, &st);
}

/* The cursor's io, made at its first need. */
static myl_cursor_job *cursor_io(lua_State *L, cursor_ud *cur)
{
    if (!cur->io && !(cur->io = calloc(1, sizeof *cur->io)))
        luaL_error(L, "out of memory");
    myl_cursor_job_reset(cur->io);
    cur->io->c = cur->conn->c;
    cur->io->owner = cur;
    return cur->io;
}

/* Before reading the head of the next result into the cursor (index
 * cidx): its result set is forgotten, the connection object pushed and
 * the LOCAL INFILE call begun (the connection busy, call->handler set when
 * a Lua handler may run meanwhile), the cursor busy.  Nothing may raise
 * until head_end. */
static void head_begin(lua_State *L, int cidx, cursor_ud *cur, myl_lua_infile_call *call)
{
    free_cols(cur);
    cur->result_gen++;
    lua_pushnil(L);
    lua_setiuservalue(L, cidx, UV_COLUMNS);
    /* The head may be a LOCAL INFILE request: its source runs meanwhile,
     * with the cursor and its connection busy. */
    lua_getiuservalue(L, cidx, UV_CONN);
    myl_lua_infile_begin(L, -1, cur->conn, call, NULL);
    myl_guard_enter(&cur->g);
}

/* Gives up the cursor's response without reading it: the connection
 * discards it before its next command (no I/O here: this runs from
 * finalizers too). */
static void abandon(cursor_ud *cur)
{
    if (owns_stream(cur)) myl_abandon(cur->conn->c, cur);
}

/* After the core read the head (rc as myl_read_head's, cols, or the error
 * e of whatever failed first): the busy sections end, the cursor takes the
 * columns and their names, or the error is raised. */
static void head_end(lua_State *L, int cidx, cursor_ud *cur, myl_lua_infile_call *call, int rc,
                     myl_columns *cols, const myl_error *err)
{
    conn_ud *cu = call->cu;
    myl_error e;
    myl_error_clear(&e);
    if (rc < 0) e = *err;
    cur->g.doing = NULL;
    if (cur->g.close_pending) abandon(cur); /* closed meanwhile: nobody reads the rows */
    unbusy(cur);
    int failed = myl_lua_infile_end(L, call);
    if (cur->conn && cu->c) cur->cols = cols; /* not closed by a callback meanwhile */
    else myl_columns_free(cols);
    if (failed) lua_error(L); /* the callback's own error */
    lua_pop(L, 1);
    if (rc < 0) myl_lua_raise(L, &e);
    if (!cur->conn) luaL_error(L, "attempt to use a closed cursor");
    if (!cu->c) luaL_error(L, "attempt to use a closed connection");
    if (rc == 1) {
        myl_guard_enter(&cur->g);
        myl_lua_push_names(L, cur->cols);
        unbusy(cur);
        lua_setiuservalue(L, cidx, UV_NAMES);
        lua_pushnil(L); /* the status comes with the end of the rows */
        lua_setiuservalue(L, cidx, UV_STATUS);
    } else {
        lua_pushnil(L);
        lua_setiuservalue(L, cidx, UV_NAMES);
        keep_status(L, cidx, cur);
    }
}

/* Reads the head of the next result into the cursor (index cidx). */
static void read_head(lua_State *L, int cidx, cursor_ud *cur)
{
    myl_lua_infile_call call;
    conn_ud *cu = cur->conn;
    head_begin(L, cidx, cur, &call);
    myl_columns *cols = NULL;
    int rc = myl_read_head(cu->c, cur, &cols);
    head_end(L, cidx, cur, &call, rc, cols, myl_conn_error(cu->c));
}

/* ---- calls handed to the task's worker (cursor_job.h) ---- */

/* Every object the cursor's io uses is busy while it runs, saying what it
 * does: another task's use raises, a close waits for the end. */
static void io_busy(cursor_ud *cur, const char *doing)
{
    cur->g.doing = doing;
    myl_guard_enter(&cur->g);
    cur->conn->g.doing = doing;
    myl_guard_enter(&cur->conn->g);
    if (cur->stmt) {
        cur->stmt->g.doing = doing;
        myl_guard_enter(&cur->stmt->g);
    }
}

/* The end of io_busy's sections (closes asked meanwhile happen now: the
 * cursor's gives up its response first). */
static void io_unbusy(cursor_ud *cur)
{
    conn_ud *cu = cur->conn;
    stmt_ud *st = cur->stmt;
    cur->g.doing = NULL;
    if (cur->g.close_pending) abandon(cur);
    if (st) {
        st->g.doing = NULL;
        myl_lua_stmt_unbusy(st);
    }
    cu->g.doing = NULL;
    myl_lua_conn_unbusy(cu);
    unbusy(cur);
}

/* Runs the cursor's io on the task's worker and yields (the continuation
 * k gets ctx), or, when that cannot be, inline and then k. */
static int run_io(lua_State *L, cursor_ud *cur, lua_KFunction k, lua_KContext ctx)
{
    cur->in_flight = 1;
    return myl_lua_offload(L, myl_cursor_job_run, cur->io, k, ctx);
}

/* The continuation of a head read by io (execute, next_result): the
 * cursor at index 1 gets the result, which is returned as `ret` says
 * (0: the cursor, 1: true). */
static int head_done(lua_State *L, int status, lua_KContext ret)
{
    (void)status;
    cursor_ud *cur = lua_touserdata(L, 1);
    myl_cursor_job *j = cur->io;
    cur->in_flight = 0;
    stmt_ud *st = cur->stmt;
    if (st) {
        st->g.doing = NULL;
        myl_lua_stmt_unbusy(st);
    }
    myl_columns *cols = j->cols;
    j->cols = NULL; /* head_end's now */
    head_end(L, 1, cur, &cur->call, j->rc < 0 ? -1 : j->head_rc, cols, &j->err);
    if (ret) {
        lua_pushboolean(L, 1);
        return 1;
    }
    cur->server_cursor = cur->fetch_size && cur->stmt && cur->stmt->s &&
                         myl_stmt_cursor_open(cur->stmt->s);
    lua_settop(L, 1);
    return 1;
}

/* Hands io's steps, ending with the head of the next result, to the
 * worker, unless a LOCAL INFILE handler may run meanwhile (then inline,
 * on this thread).  The cursor is at index 1. */
static int run_head_io(lua_State *L, cursor_ud *cur, const char *doing, lua_KContext ret)
{
    cur->io->head = 1;
    if (cur->stmt) {
        cur->stmt->g.doing = doing;
        myl_guard_enter(&cur->stmt->g);
    }
    head_begin(L, 1, cur, &cur->call);
    if (cur->call.handler) {
        myl_cursor_job_run(cur->io);
        return head_done(L, LUA_OK, ret);
    }
    cur->g.doing = doing;
    cur->conn->g.doing = doing;
    return run_io(L, cur, head_done, ret);
}

/* db:cursor([{stream = true}]) */
static int new_cursor(lua_State *L)
{
    conn_ud *cu = myl_lua_check_conn(L, 1);
    if (!lua_isnoneornil(L, 2)) {
        myl_lua_check_type(L, 2, LUA_TTABLE);
        lua_getfield(L, 2, "stream");
        if (!lua_isnil(L, -1) && !lua_toboolean(L, -1))
            myl_lua_argerror(L, 2, "only streaming cursors exist; use db:query for buffered results");
        lua_pop(L, 1);
    }
    cursor_ud *cur = lua_newuserdatauv(L, sizeof *cur, UV_COUNT);
    memset(cur, 0, sizeof *cur);
    luaL_setmetatable(L, MYL_CURSOR_MT);
    lua_pushvalue(L, 1); /* the cursor keeps its connection alive */
    lua_setiuservalue(L, -2, UV_CONN);
    cur->conn = cu;
    cur->session_gen = cu->session_gen;
    return 1;
}

void myl_lua_new_stmt_cursor(lua_State *L, int stmt_idx, int conn_idx, stmt_ud *st,
                             uint32_t fetch_size)
{
    stmt_idx = lua_absindex(L, stmt_idx);
    conn_idx = lua_absindex(L, conn_idx);
    cursor_ud *cur = lua_newuserdatauv(L, sizeof *cur, UV_COUNT);
    memset(cur, 0, sizeof *cur);
    luaL_setmetatable(L, MYL_CURSOR_MT);
    lua_pushvalue(L, conn_idx);
    lua_setiuservalue(L, -2, UV_CONN);
    lua_pushvalue(L, stmt_idx); /* the cursor keeps its statement alive */
    lua_setiuservalue(L, -2, UV_STMT);
    cur->conn = st->conn;
    cur->session_gen = st->conn->session_gen;
    cur->stmt = st;
    cur->fetch_size = fetch_size;
}

/* cur:execute(...) of a statement's cursor: binds the values and runs it. */
static int stmt_execute(lua_State *L)
{
    int n = lua_gettop(L) - 1;
    myl_param small[MYL_LUA_STACK_PARAMS];
    const myl_param *p = myl_lua_stmt_params(L, 2, n, small);
    cursor_ud *cur = check_cursor(L, 1); /* a finalizer may have closed it meanwhile */
    conn_ud *cu = cur->conn;
    stmt_ud *st = cur->stmt;
    if (myl_lua_can_offload(L)) {
        /* the values move off this C frame, which the yield ends */
        myl_cursor_job *j = cursor_io(L, cur);
        if (myl_cursor_job_keep_params(j, p, (size_t)n) < 0) return luaL_error(L, "out of memory");
        j->discard = owns_stream(cur);
        j->execute = 1;
        j->stmt = st->s;
        j->exec_flags = cur->fetch_size ? MYL_EXEC_CURSOR : 0;
        cur->server_cursor = 0;
        cur->exec_gen = ++st->execs;
        return run_head_io(L, cur, "executes a statement", 0);
    }
    if (owns_stream(cur) && myl_discard(cu->c, cur) < 0 &&
        myl_conn_state(cu->c) == MYL_STATE_BROKEN)
        return myl_lua_raise_conn(L, cu);
    if (myl_stmt_usable(st->s) < 0) return myl_lua_raise_conn(L, cu);
    cur->server_cursor = 0;
    cur->exec_gen = ++st->execs;
    if (myl_stmt_execute(st->s, p, (size_t)n, cur->fetch_size ? MYL_EXEC_CURSOR : 0, cur) < 0)
        return myl_lua_raise_conn(L, cu);
    read_head(L, 1, cur);
    cur->server_cursor = cur->fetch_size && cur->stmt && cur->stmt->s &&
                         myl_stmt_cursor_open(cur->stmt->s);
    lua_settop(L, 1);
    return 1;
}

static int cur_execute(lua_State *L)
{
    cursor_ud *cur = check_cursor(L, 1);
    if (cur->stmt) return stmt_execute(L);
    conn_ud *cu = cur->conn;
    if (lua_type(L, 2) != LUA_TSTRING) myl_lua_typeerror(L, 2, "string");
    myl_lua_build_sql(L, myl_conn_escape_style(cu->c), 2, 3, lua_gettop(L));
    cur = check_cursor(L, 1); /* a finalizer may have closed it meanwhile */
    size_t n;
    const char *sql = lua_tolstring(L, -1, &n); /* stays on the stack */
    if (myl_lua_can_offload(L)) {
        myl_cursor_job *j = cursor_io(L, cur);
        j->discard = owns_stream(cur);
        j->sql = sql;
        j->sql_len = n;
        return run_head_io(L, cur, "runs a query", 0);
    }
    /* The cursor's own unfinished response goes first. */
    if (owns_stream(cur) && myl_discard(cu->c, cur) < 0 &&
        myl_conn_state(cu->c) == MYL_STATE_BROKEN)
        return myl_lua_raise_conn(L, cu);
    if (myl_send_query(cu->c, sql, n, cur) < 0) return myl_lua_raise_conn(L, cu);
    read_head(L, 1, cur);
    lua_settop(L, 1);
    return 1;
}

/* Removes every field of the table at t. */
static void clear_table(lua_State *L, int t)
{
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, t);
    }
}

/* fetch(t) refills t: fields of an earlier, wider row or of another shape
 * must not survive.  When this cursor refilled t last, within the same
 * result set and mode, the same fields are overwritten; otherwise (another
 * cursor, another result, another mode) t is emptied first.  The cursor
 * is at index 1. */
static void prepare_target(lua_State *L, cursor_ud *cur, int target, int mode)
{
    /* Row after row into the same table: no lookup at all. */
    if (cur->filled_table && lua_topointer(L, target) == cur->filled_table &&
        cur->filled_gen == cur->result_gen && cur->filled_mode == mode)
        return;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &filled_key);
    int filled = lua_gettop(L);
    lua_pushvalue(L, target);
    lua_rawget(L, filled);
    int same = lua_rawequal(L, -1, 1) && cur->filled_gen == cur->result_gen &&
               cur->filled_mode == mode;
    if (!same && lua_type(L, -1) == LUA_TUSERDATA) {
        /* The cursor that refilled t last (the map holds only cursors)
         * forgets it: its next row into t must empty t first. */
        cursor_ud *prev = lua_touserdata(L, -1);
        prev->filled_table = NULL;
        lua_pushnil(L);
        lua_setiuservalue(L, -2, UV_FILLED);
    }
    lua_pop(L, 1);
    if (!same) {
        clear_table(L, target);
        lua_pushvalue(L, target);
        lua_pushvalue(L, 1);
        lua_rawset(L, filled);
        cur->filled_gen = cur->result_gen;
        cur->filled_mode = mode;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, target);
    lua_setiuservalue(L, 1, UV_FILLED);
    cur->filled_table = lua_topointer(L, target);
}

/* The continuation of a batch of rows read by io: ctx says what the
 * fetch was (row_ctx).  The cursor is at index 1. */
static int rows_done(lua_State *L, int status, lua_KContext ctx);

/* What a fetch is, for its continuation: the mode and whether a table
 * at index 2 is refilled. */
static lua_KContext row_ctx(int mode, int target) { return (lua_KContext)(mode * 2 + (target != 0)); }

/* Hands the reading of a batch of rows to the worker (after a server
 * cursor's COM_STMT_FETCH when `fetch`), and yields. */
static int run_rows_io(lua_State *L, cursor_ud *cur, int fetch, int after_end, lua_KContext ctx)
{
    myl_cursor_job *j = cursor_io(L, cur);
    if (fetch) {
        j->fetch = 1;
        j->stmt = cur->stmt->s;
        j->fetch_size = cur->fetch_size;
    }
    j->rows = 1;
    cur->fetch_after_end = after_end;
    io_busy(cur, "reads rows");
    return run_io(L, cur, rows_done, ctx);
}

/* A server cursor's next batch may be asked for: 0 when there is no
 * server cursor; raises when the statement moved on. */
static int batch_may_follow(lua_State *L, cursor_ud *cur)
{
    if (!cur->server_cursor) return 0;
    if (cur->stmt->execs != cur->exec_gen)
        return luaL_error(L, "the statement was executed or reset since this cursor executed it: "
                             "its rows are gone");
    return 1;
}

/* A server cursor's next batch: 1 when it has rows to read, 0 when the
 * cursor has none left (or there is no server cursor). */
static int next_batch(lua_State *L, cursor_ud *cur)
{
    if (!batch_may_follow(L, cur)) return 0;
    stmt_ud *st = cur->stmt;
    int rc = myl_stmt_cursor_open(st->s) ? myl_stmt_fetch(st->s, cur->fetch_size, cur) : 0;
    if (rc < 0) return myl_lua_raise_conn(L, cur->conn);
    if (rc == 0) cur->server_cursor = 0;
    return rc;
}

/* Reads one row onto the stack and returns how many values it pushed, or
 * pushes nil at the end of the result set (returns 1).  Under
 * mylua.parallel a read that would wait is handed to the worker, and the
 * row comes from the batch it read (continuing in rows_done). */
static int fetch_row(lua_State *L, cursor_ud *cur, int mode, int target)
{
    myl_conn *c = cur->conn->c;
    myl_row_batch *b = cur->io ? &cur->io->batch : NULL;
    const uint8_t *p;
    size_t n;
    for (;;) {
        if (b && myl_row_batch_next(b, &p, &n)) break;
        if (b && b->end < 0) { /* after the rows the batch holds */
            b->end = 0;
            myl_error e = b->err;
            return myl_lua_raise(L, &e);
        }
        if (b && b->end > 0) {
            /* the end of the rows, or of a server cursor's batch */
            b->end = 0;
            if (batch_may_follow(L, cur) && myl_lua_can_offload(L))
                return run_rows_io(L, cur, 1, 1, row_ctx(mode, target));
            if (next_batch(L, cur)) continue;
            myl_status st = b->status;
            keep_status_of(L, 1, &st);
            lua_pushnil(L);
            return 1;
        }
        if (!owns_stream(cur) || myl_conn_state(c) != MYL_STATE_ROWS) {
            /* A broken connection says so (2006) rather than look like the end
             * (myl_read_row checks that itself on the way below). */
            if (myl_conn_usable(c) < 0) return myl_lua_raise_conn(L, cur->conn);
            if (batch_may_follow(L, cur) && myl_lua_can_offload(L))
                return run_rows_io(L, cur, 1, 0, row_ctx(mode, target));
            if (next_batch(L, cur)) continue;
            lua_pushnil(L);
            return 1;
        }
        /* What has arrived is read here; a read that would wait goes to
         * the worker under mylua.parallel. */
        if (!myl_conn_packet_buffered(c) && myl_lua_can_offload(L))
            return run_rows_io(L, cur, 0, 0, row_ctx(mode, target));
        int rc = myl_read_row(c, cur, &p, &n);
        if (rc < 0) return myl_lua_raise_conn(L, cur->conn);
        if (rc == 1) break;
        if (batch_may_follow(L, cur) && myl_lua_can_offload(L))
            return run_rows_io(L, cur, 1, 2, row_ctx(mode, target)); /* next batch */
        if (next_batch(L, cur)) continue; /* the end of a batch, not of the rows */
        keep_status(L, 1, cur);
        lua_pushnil(L);
        return 1;
    }
    int names = 0;
    if (mode == ROW_KEYED) {
        lua_getiuservalue(L, 1, UV_NAMES);
        names = lua_gettop(L);
    }
    /* p points into the connection's input buffer or the cursor's batch,
     * and cols belongs to the cursor: neither may be freed until the row
     * is built. */
    conn_ud *cu = cur->conn;
    stmt_ud *st = cur->stmt; /* a close of it meanwhile would abandon the response */
    int binary = cur->cols && cur->cols->binary;
    myl_guard_enter(&cur->g);
    myl_guard_enter(&cu->g);
    if (st) myl_guard_enter(&st->g);
    if (target) prepare_target(L, cur, target, mode);
    int pushed = myl_lua_push_row(L, cur->cols, p, n, mode, names, target, 1);
    if (st) myl_lua_stmt_unbusy(st);
    myl_lua_conn_unbusy(cu);
    unbusy(cur);
    if (pushed < 0) {
        if (!cu->c) return luaL_error(L, "attempt to use a closed connection");
        myl_conn_fail(cu->c, MYL_CR_MALFORMED_PACKET,
                      binary ? "Malformed packet (binary row: its values do not match the columns)"
                             : "Malformed packet (text row: its values do not match the columns)");
        return myl_lua_raise_conn(L, cu);
    }
    /* The names stay under the row: every caller returns the values on
     * top, and a keyed row is one value. */
    return pushed;
}

static int rows_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    cursor_ud *cur = lua_touserdata(L, 1);
    myl_cursor_job *j = cur->io;
    cur->in_flight = 0;
    io_unbusy(cur);
    cur = check_cursor(L, 1); /* closed meanwhile, by another task */
    int mode = (int)(ctx / 2), target = ctx % 2 ? 2 : 0;
    if (j->rc < 0) {
        myl_error e = j->err;
        return myl_lua_raise(L, &e);
    }
    if (j->fetch) {
        if (!j->fetched) { /* the server cursor had no rows left */
            cur->server_cursor = 0;
            if (cur->fetch_after_end == 1) {
                myl_status st = j->batch.status;
                keep_status_of(L, 1, &st);
            } else if (cur->fetch_after_end == 2) {
                keep_status(L, 1, cur); /* nothing was sent: still the batch's end */
            }
            lua_pushnil(L);
            return 1;
        }
    }
    return fetch_row(L, cur, mode, target);
}

/* cur:fetch([t] [, mode]) */
static int cur_fetch(lua_State *L)
{
    cursor_ud *cur = check_cursor(L, 1);
    int target = lua_istable(L, 2) ? 2 : 0;
    int mode_idx = 2;
    if (target || (lua_isnil(L, 2) && lua_gettop(L) >= 3)) mode_idx = 3;
    int mode = myl_lua_row_mode(L, mode_idx);
    if (target && mode == ROW_VALUES) myl_lua_argerror(L, mode_idx, "mode \"v\" cannot refill a table");
    lua_settop(L, target ? 2 : 1);
    return fetch_row(L, cur, mode, target);
}

/* The iterator of cur:rows: upvalues the cursor, the mode, and the table
 * each row refills (or nil for a new table a row). */
static int rows_iter(lua_State *L)
{
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    cursor_ud *cur = usable(L, lua_touserdata(L, 1)); /* the upvalue is always a cursor */
    int mode = (int)lua_tointeger(L, lua_upvalueindex(2));
    if (lua_type(L, lua_upvalueindex(3)) != LUA_TTABLE) return fetch_row(L, cur, mode, 0);
    lua_pushvalue(L, lua_upvalueindex(3));
    return fetch_row(L, cur, mode, 2);
}

/* cur:rows([t] [, mode]): as fetch, t refilled for every row. */
static int cur_rows(lua_State *L)
{
    check_cursor(L, 1);
    int target = lua_istable(L, 2);
    int mode_idx = target || (lua_isnil(L, 2) && lua_gettop(L) >= 3) ? 3 : 2;
    int mode = myl_lua_row_mode(L, mode_idx);
    if (target && mode == ROW_VALUES) myl_lua_argerror(L, mode_idx, "mode \"v\" cannot refill a table");
    lua_pushvalue(L, 1); /* the upvalues: the cursor, the mode, the table or nil */
    lua_pushinteger(L, mode);
    if (target) lua_pushvalue(L, 2);
    else lua_pushnil(L);
    lua_pushcclosure(L, rows_iter, 3);
    return 1;
}

/* next_result after the rows of the current result set are read away:
 * a server cursor's rows left are dropped, the next result's head read
 * (by the worker under mylua.parallel).  The cursor is at index 1. */
static int next_result_head(lua_State *L, cursor_ud *cur)
{
    if (cur->server_cursor) {
        /* a server cursor holds one result set: its rows left are dropped */
        cur->server_cursor = 0;
        keep_status(L, 1, cur);
    }
    if (!owns_stream(cur) || !myl_more_results(cur->conn->c)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    if (myl_lua_can_offload(L)) {
        cursor_io(L, cur);
        return run_head_io(L, cur, "reads the next result", 1);
    }
    read_head(L, 1, cur);
    lua_pushboolean(L, 1);
    return 1;
}

/* The continuation of next_result's reading away the rows left. */
static int skip_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    cursor_ud *cur = lua_touserdata(L, 1);
    myl_cursor_job *j = cur->io;
    cur->in_flight = 0;
    io_unbusy(cur);
    cur = check_cursor(L, 1); /* closed meanwhile, by another task */
    if (j->rc < 0) {
        myl_error e = j->err;
        return myl_lua_raise(L, &e);
    }
    if (j->skipped_end) {
        myl_status st = j->skipped_status;
        keep_status_of(L, 1, &st);
    }
    return next_result_head(L, cur);
}

static int cur_next_result(lua_State *L)
{
    cursor_ud *cur = check_cursor(L, 1);
    lua_settop(L, 1);
    myl_conn *c = cur->conn->c;
    myl_row_batch *b = cur->io ? &cur->io->batch : NULL;
    if (b && b->end < 0) { /* the rows read ahead ended in an error */
        b->end = 0;
        myl_error e = b->err;
        return myl_lua_raise(L, &e);
    }
    if (b && b->end > 0) { /* they ended the result set's rows */
        b->end = 0;
        myl_status st = b->status;
        keep_status_of(L, 1, &st);
    }
    if (b) myl_row_batch_clear(b);
    if (myl_conn_usable(c) < 0) return myl_lua_raise_conn(L, cur->conn);
    if (owns_stream(cur) && myl_conn_state(c) == MYL_STATE_ROWS && myl_lua_can_offload(L)) {
        cursor_io(L, cur)->skip_rest = 1;
        io_busy(cur, "reads the next result");
        return run_io(L, cur, skip_done, 0);
    }
    while (owns_stream(cur) && myl_conn_state(c) == MYL_STATE_ROWS) {
        /* skip what is left of this result set */
        const uint8_t *p;
        size_t n;
        int rc = myl_read_row(c, cur, &p, &n);
        if (rc < 0) return myl_lua_raise_conn(L, cur->conn);
        if (rc == 0) keep_status(L, 1, cur);
    }
    return next_result_head(L, cur);
}

static int cur_gc(lua_State *L)
{
    cursor_ud *cur = luaL_checkudata(L, 1, MYL_CURSOR_MT);
    /* a coroutine never resumed (the state is closing) may have left its
     * io running on a worker */
    if (cur->in_flight) myl_lua_offload_drain();
    cur->in_flight = 0;
    abandon(cur);
    free_cols(cur);
    cur->conn = NULL;
    if (cur->io) {
        myl_cursor_job_free(cur->io);
        free(cur->io);
        cur->io = NULL;
    }
    return 0;
}

/* Closes the cursor; idempotent.  Reads away what the cursor left unread,
 * so the connection is ready at once.  Returns 0, or -1 when that lost the
 * connection (*lost says which; the cursor is closed all the same, and the
 * connection keeps the error for its next use). */
static int close_cursor(cursor_ud *cur, conn_ud **lost)
{
    if (cur->in_flight) {
        /* its io runs on a worker: the continuation closes it */
        cur->g.close_pending = 1;
        return 0;
    }
    if (!myl_guard_close(&cur->g) || (cur->conn && cur->conn->g.busy)) {
        /* called from a finalizer in the middle of a fetch: the stream
         * cannot be read now, so leave it to the connection to discard */
        abandon(cur);
        cur->g.close_pending = 1;
        return 0;
    }
    int rc = 0;
    if (owns_stream(cur) && myl_discard(cur->conn->c, cur) < 0 &&
        myl_conn_state(cur->conn->c) == MYL_STATE_BROKEN) {
        *lost = cur->conn;
        rc = -1;
    }
    /* A server cursor with rows left is closed there at once (a finalizer
     * leaves it to the statement's next execute or close). */
    stmt_ud *st = cur->stmt;
    if (rc == 0 && cur->server_cursor && st && st->s && !st->g.busy &&
        st->execs == cur->exec_gen && conn_open(cur) && myl_stmt_cursor_open(st->s)) {
        st->execs++;
        if (myl_stmt_reset(st->s) < 0 && myl_conn_state(cur->conn->c) == MYL_STATE_BROKEN) {
            *lost = cur->conn;
            rc = -1;
        }
    }
    cur->server_cursor = 0;
    free_cols(cur);
    cur->conn = NULL;
    return rc;
}

/* cur:close(): raises the error when discarding the unread rows lost the
 * connection (the cursor is closed all the same). */
static int cur_close(lua_State *L)
{
    cursor_ud *cur = myl_lua_check_self(L, MYL_CURSOR_MT);
    conn_ud *lost = NULL;
    if (close_cursor(cur, &lost) < 0) return myl_lua_raise_conn(L, lost);
    lua_pushboolean(L, 1);
    return 1;
}

/* __close never raises: an error there would replace the one being
 * unwound through the <close> scope.  The connection keeps the failure
 * (broken, 2006 on its next use). */
static int cur_close_silently(lua_State *L)
{
    cursor_ud *cur = luaL_checkudata(L, 1, MYL_CURSOR_MT);
    conn_ud *lost = NULL;
    close_cursor(cur, &lost);
    return 0;
}

static int cur_tostring(lua_State *L)
{
    cursor_ud *cur = luaL_checkudata(L, 1, MYL_CURSOR_MT);
    lua_pushstring(L, cursor_closed(cur) ? "mylua.cursor (closed)" : "mylua.cursor");
    return 1;
}

static int cur_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    const char *k = lua_tostring(L, 2);
    if (!k) return 0;
    cursor_ud *cur = luaL_checkudata(L, 1, MYL_CURSOR_MT);
    if (strcmp(k, "closed") == 0) {
        lua_pushboolean(L, cursor_closed(cur));
        return 1;
    }
    check_cursor(L, 1);
    if (strcmp(k, "columns") == 0) {
        if (lua_getiuservalue(L, 1, UV_COLUMNS) != LUA_TNIL) return 1;
        myl_guard_enter(&cur->g);
        myl_lua_push_columns(L, cur->cols); /* empty without a result set */
        unbusy(cur);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, 1, UV_COLUMNS);
        return 1;
    }
    if (lua_getiuservalue(L, 1, UV_STATUS) != LUA_TTABLE) return 0;
    lua_getfield(L, -1, k);
    return 1;
}

static const luaL_Reg cur_methods[] = {
    {"execute", cur_execute},
    {"fetch", cur_fetch},
    {"rows", cur_rows},
    {"next_result", cur_next_result},
    {"close", cur_close},
    {NULL, NULL},
};

static const luaL_Reg cur_metamethods[] = {
    {"__gc", cur_gc},
    {"__close", cur_close_silently},
    {"__tostring", cur_tostring},
    {NULL, NULL},
};

void myl_lua_cursor_init(lua_State *L)
{
    myl_lua_new_type(L, MYL_CURSOR_MT, cur_methods, cur_metamethods, cur_index);
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "kv");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &filled_key);
    /* The connection knows nothing of cursors: they add their constructor. */
    static const luaL_Reg conn_methods[] = {{"cursor", new_cursor}, {NULL, NULL}};
    myl_lua_add_methods(L, MYL_CONNECTION_MT, conn_methods);
}
