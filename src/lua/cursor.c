/* The streaming cursor: reads one row at a time off the connection, in
 * constant memory, decoding straight from the packet buffer. */
#include <string.h>

#include "binding.h"

enum { UV_CONN = 1, UV_NAMES, UV_STATUS, UV_COLUMNS, UV_COUNT = UV_COLUMNS };

typedef struct cursor_ud {
    conn_ud *conn;     /* NULL once closed or when its connection is gone */
    myl_columns *cols; /* columns of the current result set, NULL if none */
    int rows_pending;  /* rows of the current result set remain unread */
    int broken;        /* its response ended with the connection lost */
    int busy;          /* decoding from cols (see conn_ud) */
    int close_pending;
} cursor_ud;

static void free_cols(cursor_ud *cur)
{
    myl_columns_free(cur->cols);
    cur->cols = NULL;
}

static cursor_ud *check_cursor(lua_State *L, int idx)
{
    cursor_ud *cur = idx == 1 ? myl_lua_check_self(L, MYL_CURSOR_MT)
                              : luaL_checkudata(L, idx, MYL_CURSOR_MT);
    if (!cur->conn || cur->close_pending) luaL_error(L, "attempt to use a closed cursor");
    if (!cur->conn->c || cur->conn->close_pending)
        luaL_error(L, "attempt to use a closed connection");
    if (cur->busy || cur->conn->busy) luaL_error(L, "attempt to use a cursor while it decodes a row");
    return cur;
}

void myl_lua_cursor_detach(cursor_ud *cur)
{
    cur->conn = NULL;
    cur->rows_pending = 0;
}

static int owns_stream(const cursor_ud *cur) { return cur->conn && cur->conn->streaming == cur; }

static void unbusy(cursor_ud *cur)
{
    if (--cur->busy == 0 && cur->close_pending) {
        free_cols(cur);
        cur->conn = NULL;
        cur->close_pending = 0;
    }
}

/* Stores the finished result's status fields in the cursor's status table. */
static void keep_status(lua_State *L, int cur_idx, cursor_ud *cur)
{
    myl_status st = *myl_last_status(cur->conn->c); /* a copy: pushing may run finalizers */
    lua_createtable(L, 0, 5);
    myl_lua_set_status(L, -1, &st);
    lua_setiuservalue(L, cur_idx, UV_STATUS);
}

/* The response ended or was abandoned: give the connection back. */
static void release(cursor_ud *cur)
{
    if (owns_stream(cur) && !myl_more_results(cur->conn->c) &&
        myl_conn_state(cur->conn->c) != MYL_STATE_ROWS)
        cur->conn->streaming = NULL;
}

/* Raises the connection's error after the cursor let go of the stream. */
static int fail(lua_State *L, cursor_ud *cur)
{
    conn_ud *cu = cur->conn;
    myl_state st = myl_conn_state(cu->c);
    cur->rows_pending = 0;
    if (st == MYL_STATE_BROKEN) cur->broken = 1;
    if (st != MYL_STATE_HEAD && st != MYL_STATE_ROWS) cu->streaming = NULL;
    return myl_lua_raise_conn(L, cu);
}

/* A cursor whose connection broke keeps saying so (2006) instead of
 * looking like a finished result. */
static void check_not_broken(lua_State *L, cursor_ud *cur)
{
    if (cur->broken && myl_conn_usable(cur->conn->c) < 0) myl_lua_raise_conn(L, cur->conn);
}

/* Reads the head of the next result into the cursor (index cidx). */
static void read_head(lua_State *L, int cidx, cursor_ud *cur)
{
    free_cols(cur);
    lua_pushnil(L);
    lua_setiuservalue(L, cidx, UV_COLUMNS);
    int rc = myl_read_head(cur->conn->c, &cur->cols);
    if (rc < 0) fail(L, cur);
    if (rc == 1) {
        cur->rows_pending = 1;
        cur->busy++;
        myl_lua_push_names(L, cur->cols);
        unbusy(cur);
        lua_setiuservalue(L, cidx, UV_NAMES);
        lua_pushnil(L); /* the status comes with the end of the rows */
        lua_setiuservalue(L, cidx, UV_STATUS);
    } else {
        cur->rows_pending = 0;
        lua_pushnil(L);
        lua_setiuservalue(L, cidx, UV_NAMES);
        keep_status(L, cidx, cur);
    }
    release(cur);
}

/* Discards whatever the cursor's current response still has unread. */
static int drain(cursor_ud *cur)
{
    if (!owns_stream(cur)) return 0;
    int rc = myl_discard(cur->conn->c);
    cur->conn->streaming = NULL;
    cur->rows_pending = 0;
    return rc;
}

int myl_lua_new_cursor(lua_State *L)
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
    return 1;
}

static int cur_execute(lua_State *L)
{
    cursor_ud *cur = check_cursor(L, 1);
    conn_ud *cu = cur->conn;
    if (lua_type(L, 2) != LUA_TSTRING) myl_lua_typeerror(L, 2, "string");
    myl_lua_build_sql(L, myl_conn_escape_style(cu->c), 2, 3, lua_gettop(L));
    cur = check_cursor(L, 1); /* a finalizer may have closed it meanwhile */
    if (owns_stream(cur) && drain(cur) < 0 && myl_conn_state(cu->c) == MYL_STATE_BROKEN)
        return myl_lua_raise_conn(L, cu);
    myl_lua_conn_prepare(L, cu);
    size_t n;
    const char *sql = lua_tolstring(L, -1, &n);
    cur->broken = 0;
    if (myl_send_query(cu->c, sql, n) < 0) {
        if (myl_conn_state(cu->c) == MYL_STATE_BROKEN) cur->broken = 1;
        return myl_lua_raise_conn(L, cu);
    }
    cu->streaming = cur;
    read_head(L, 1, cur);
    lua_settop(L, 1);
    return 1;
}

/* Reads one row onto the stack; 0 at the end of the result set. */
static int fetch_row(lua_State *L, cursor_ud *cur, int mode, int target)
{
    check_not_broken(L, cur);
    if (!cur->rows_pending || !owns_stream(cur)) return 0;
    const uint8_t *p;
    size_t n;
    int rc = myl_read_row(cur->conn->c, &p, &n);
    if (rc < 0) return fail(L, cur);
    if (rc == 0) {
        cur->rows_pending = 0;
        keep_status(L, 1, cur);
        release(cur);
        return 0;
    }
    int names = 0;
    if (mode == ROW_KEYED) {
        lua_getiuservalue(L, 1, UV_NAMES);
        names = lua_gettop(L);
    }
    /* p points into the connection's input buffer and cols belongs to the
     * cursor: neither may be freed until the row is built. */
    conn_ud *cu = cur->conn;
    cur->busy++;
    cu->busy++;
    int pushed = myl_lua_push_row(L, cur->cols, p, n, mode, names, target);
    myl_lua_conn_unbusy(cu);
    unbusy(cur);
    if (pushed < 0) {
        if (!cu->c) return luaL_error(L, "attempt to use a closed connection");
        myl_conn_fail(cu->c, MYL_CR_MALFORMED_PACKET, "Malformed packet (text row)");
        return fail(L, cur);
    }
    if (names) lua_remove(L, names);
    return pushed;
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
    int pushed = fetch_row(L, cur, mode, target);
    if (pushed == 0) {
        lua_pushnil(L);
        return 1;
    }
    return pushed;
}

static int rows_iter(lua_State *L)
{
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    cursor_ud *cur = check_cursor(L, 1);
    return fetch_row(L, cur, (int)lua_tointeger(L, lua_upvalueindex(2)), 0);
}

static int cur_rows(lua_State *L)
{
    check_cursor(L, 1);
    int mode = myl_lua_row_mode(L, 2);
    lua_settop(L, 1);
    lua_pushinteger(L, mode);
    lua_pushcclosure(L, rows_iter, 2);
    return 1;
}

static int cur_next_result(lua_State *L)
{
    cursor_ud *cur = check_cursor(L, 1);
    check_not_broken(L, cur);
    if (!owns_stream(cur)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    myl_conn *c = cur->conn->c;
    while (cur->rows_pending) { /* skip what is left of this result set */
        const uint8_t *p;
        size_t n;
        int rc = myl_read_row(c, &p, &n);
        if (rc < 0) return fail(L, cur);
        if (rc == 0) {
            cur->rows_pending = 0;
            keep_status(L, 1, cur);
        }
    }
    if (!myl_more_results(c)) {
        release(cur);
        lua_pushboolean(L, 0);
        return 1;
    }
    read_head(L, 1, cur);
    lua_pushboolean(L, 1);
    return 1;
}

/* __gc: no network traffic from a finalizer; the connection drains the
 * orphaned response before its next command instead. */
static int cur_gc(lua_State *L)
{
    cursor_ud *cur = luaL_checkudata(L, 1, MYL_CURSOR_MT);
    if (owns_stream(cur)) {
        cur->conn->streaming = NULL;
        cur->conn->orphaned = 1;
    }
    free_cols(cur);
    cur->conn = NULL;
    return 0;
}

/* Closes the cursor, discarding its unread rows; idempotent.  Returns 0,
 * or -1 when the drain lost the connection (the cursor is closed anyway;
 * the connection is broken and keeps the error). */
static int close_cursor(cursor_ud *cur, conn_ud **lost)
{
    if (cur->busy || (cur->conn && cur->conn->busy)) {
        /* called from a finalizer in the middle of a fetch: the stream
         * cannot be read now, so leave it to the connection to drain */
        if (owns_stream(cur)) {
            cur->conn->streaming = NULL;
            cur->conn->orphaned = 1;
        }
        cur->close_pending = 1;
        return 0;
    }
    int rc = 0;
    if (cur->conn && cur->conn->c && owns_stream(cur)) {
        conn_ud *cu = cur->conn;
        if (drain(cur) < 0 && myl_conn_state(cu->c) == MYL_STATE_BROKEN) {
            *lost = cu;
            rc = -1;
        }
    }
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
    lua_pushstring(L, cur->conn && !cur->close_pending ? "mylua.cursor" : "mylua.cursor (closed)");
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
        lua_pushboolean(L, cur->conn == NULL || cur->close_pending);
        return 1;
    }
    check_cursor(L, 1);
    if (strcmp(k, "columns") == 0) {
        if (lua_getiuservalue(L, 1, UV_COLUMNS) != LUA_TNIL) return 1;
        cur->busy++;
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
}
