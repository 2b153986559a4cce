/* The result object: a buffered result set (or the OK of a statement
 * without one), decoded into Lua values row by row as it is iterated. */
#include <limits.h>
#include <string.h>

#include "binding.h"

enum { UV_NAMES = 1, UV_COLUMNS, UV_NEXT, UV_COUNT = UV_NEXT };

typedef struct result_ud {
    myl_result *r; /* NULL once closed */
    myl_guard g;   /* busy while decoding from r */
    int taken;     /* fetch_all took the rows: they are gone from r */
} result_ud;

static void free_result(result_ud *ru)
{
    myl_result_free(ru->r);
    ru->r = NULL;
    ru->g.close_pending = 0;
}

static void enter(result_ud *ru) { myl_guard_enter(&ru->g); }

static void unbusy(result_ud *ru)
{
    if (myl_guard_leave(&ru->g)) free_result(ru);
}

static result_ud *usable(lua_State *L, result_ud *ru)
{
    myl_guard_check(L, &ru->g, ru->r != NULL, "result");
    return ru;
}

static result_ud *check_result(lua_State *L, int idx)
{
    return usable(L, idx == 1 ? myl_lua_check_self(L, MYL_RESULT_MT)
                              : luaL_checkudata(L, idx, MYL_RESULT_MT));
}

/* The result at index 1 with its rows still there. */
static result_ud *check_rows(lua_State *L)
{
    result_ud *ru = check_result(L, 1);
    if (ru->taken) luaL_error(L, "attempt to read the rows of a result after fetch_all took them");
    return ru;
}

myl_result **myl_lua_new_result(lua_State *L)
{
    result_ud *ru = lua_newuserdatauv(L, sizeof *ru, UV_COUNT);
    memset(ru, 0, sizeof *ru);
    luaL_setmetatable(L, MYL_RESULT_MT);
    return &ru->r;
}

void myl_lua_result_ready(lua_State *L, int idx) { myl_lua_result_ready_names(L, idx, 0); }

void myl_lua_result_ready_names(lua_State *L, int idx, int names_idx)
{
    idx = lua_absindex(L, idx);
    result_ud *ru = lua_touserdata(L, idx);
    /* Column names are made once per result and shared by every row. */
    if (names_idx) {
        lua_pushvalue(L, names_idx);
        lua_setiuservalue(L, idx, UV_NAMES);
    } else if (ru->r->cols) {
        enter(ru);
        myl_lua_push_names(L, ru->r->cols);
        unbusy(ru);
        lua_setiuservalue(L, idx, UV_NAMES);
    }
}

void myl_lua_result_push_names(lua_State *L, int idx)
{
    lua_getiuservalue(L, idx, UV_NAMES);
}

/* Pushes row i (0-based) of the result at index 1; returns values pushed. */
static int push_row(lua_State *L, result_ud *ru, size_t i, int mode)
{
    size_t n;
    const uint8_t *p = myl_result_row(ru->r, i, &n);
    int names = 0;
    if (mode == ROW_KEYED) {
        lua_getiuservalue(L, 1, UV_NAMES);
        names = lua_gettop(L);
    }
    enter(ru); /* p and cols stay ours until the row is built */
    int pushed = myl_lua_push_row(L, ru->r->cols, p, n, mode, names, 0, 0);
    unbusy(ru);
    if (pushed < 0) return luaL_error(L, "malformed row in result"); /* checked when stored */
    if (names) lua_remove(L, names);
    return pushed;
}

static int rows_iter(lua_State *L)
{
    lua_settop(L, 0);
    lua_pushvalue(L, lua_upvalueindex(1));
    result_ud *ru = usable(L, lua_touserdata(L, 1)); /* the upvalue is always a result */
    if (ru->taken) return luaL_error(L, "attempt to read the rows of a result after fetch_all took them");
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
    int mode = (int)lua_tointeger(L, lua_upvalueindex(3));
    if (!ru->r->cols || (size_t)i >= ru->r->nrows) return 0;
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(2));
    return push_row(L, ru, (size_t)i, mode);
}

static int res_rows(lua_State *L)
{
    check_rows(L);
    int mode = myl_lua_row_mode(L, 2);
    lua_settop(L, 1);
    lua_pushinteger(L, 0);
    lua_pushinteger(L, mode);
    lua_pushcclosure(L, rows_iter, 3);
    return 1;
}

static int res_row(lua_State *L)
{
    result_ud *ru = check_rows(L);
    lua_Integer i = myl_lua_check_integer(L, 2);
    int mode = myl_lua_row_mode(L, 3);
    lua_settop(L, 1);
    if (!ru->r->cols || i < 1 || (lua_Unsigned)i > ru->r->nrows) {
        lua_pushnil(L);
        return 1;
    }
    return push_row(L, ru, (size_t)i - 1, mode);
}

/* fetch_all's work, under lua_pcall: (result_ud, mode, names) -> rows.
 * Each row's bytes are freed once its Lua row exists (a chunk at a time),
 * so the wire copy and the Lua rows are not both whole at the peak. */
static int build_all(lua_State *L)
{
    result_ud *ru = lua_touserdata(L, 1);
    int mode = (int)lua_tointeger(L, 2);
    myl_result *r = ru->r;
    size_t nrows = r->nrows;
    lua_createtable(L, nrows < (size_t)INT_MAX ? (int)nrows : INT_MAX, 0);
    int rows = lua_gettop(L);
    int names = 0;
    if (mode == ROW_KEYED) { /* one stack slot per name, read for every row */
        size_t ncols = r->cols->n;
        luaL_checkstack(L, ncols < (size_t)INT_MAX - 8 ? (int)ncols + 8 : INT_MAX, "too many columns");
        names = -(rows + 1);
        for (size_t i = 0; i < ncols; i++) lua_rawgeti(L, 3, (lua_Integer)i + 1);
    }
    for (size_t i = 0; i < nrows; i++) {
        size_t n;
        const uint8_t *p = myl_result_row(r, i, &n);
        if (myl_lua_push_row(L, r->cols, p, n, mode, names, 0, 0) < 0)
            return luaL_error(L, "malformed row in result"); /* checked when stored */
        lua_rawseti(L, rows, (lua_Integer)i + 1);
        if ((i & 1023) == 1023) myl_result_drop_rows(r, i + 1);
    }
    lua_settop(L, rows);
    return 1;
}

static int res_fetch_all(lua_State *L)
{
    result_ud *ru = check_rows(L);
    int mode = myl_lua_row_mode(L, 2);
    if (mode == ROW_VALUES) return myl_lua_argerror(L, 2, "row mode must be \"k\" (keyed) or \"a\" (array)");
    lua_settop(L, 1);
    if (!ru->r->cols) {
        lua_newtable(L);
        return 1;
    }
    ru->taken = 1;
    lua_pushcfunction(L, build_all);
    lua_pushlightuserdata(L, ru);
    lua_pushinteger(L, mode);
    lua_getiuservalue(L, 1, UV_NAMES);
    /* Every object made here stays reachable until the call returns: a
     * collection in between would mark the growing rows again and again
     * and free nothing.  The collector is stopped meanwhile and restarted
     * (if it ran) whatever happens. */
    int collecting = lua_gc(L, LUA_GCISRUNNING) == 1;
    if (collecting) lua_gc(L, LUA_GCSTOP);
    enter(ru); /* a close from a finalizer waits until the rows are built */
    int rc = lua_pcall(L, 3, 1, 0);
    if (collecting) lua_gc(L, LUA_GCRESTART);
    myl_result_drop_rows(ru->r, ru->r->nrows);
    unbusy(ru);
    return rc == LUA_OK ? 1 : lua_error(L);
}

static int res_next_result(lua_State *L)
{
    result_ud *ru = check_result(L, 1);
    if (lua_getiuservalue(L, 1, UV_NEXT) != LUA_TNIL) return 1;
    if (!ru->r->next) {
        lua_pushnil(L);
        return 1;
    }
    myl_result **slot = myl_lua_new_result(L);
    ru = check_result(L, 1); /* the allocation may have run a finalizer that closed it */
    *slot = ru->r->next;
    ru->r->next = NULL;
    myl_lua_result_ready(L, -1);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, UV_NEXT);
    return 1;
}

static int res_gc(lua_State *L)
{
    free_result(luaL_checkudata(L, 1, MYL_RESULT_MT));
    return 0;
}

/* close() and __close: idempotent; deferred while a row is being decoded. */
static int res_close(lua_State *L)
{
    result_ud *ru = myl_lua_check_self(L, MYL_RESULT_MT);
    if (myl_guard_close(&ru->g)) free_result(ru);
    lua_pushboolean(L, 1);
    return 1;
}

static int res_len(lua_State *L)
{
    result_ud *ru = check_result(L, 1);
    lua_pushinteger(L, (lua_Integer)ru->r->nrows);
    return 1;
}

static int res_tostring(lua_State *L)
{
    result_ud *ru = luaL_checkudata(L, 1, MYL_RESULT_MT);
    if (myl_guard_closed(&ru->g, ru->r != NULL)) lua_pushliteral(L, "mylua.result (closed)");
    else lua_pushfstring(L, "mylua.result (%d rows)", (int)ru->r->nrows);
    return 1;
}

static int res_index(lua_State *L)
{
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    const char *k = lua_tostring(L, 2);
    if (!k) return 0;
    result_ud *ru = check_result(L, 1);
    const myl_status *st = &ru->r->status;
    if (strcmp(k, "columns") == 0) {
        if (lua_getiuservalue(L, 1, UV_COLUMNS) != LUA_TNIL) return 1;
        enter(ru);
        myl_lua_push_columns(L, ru->r->cols);
        unbusy(ru);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, 1, UV_COLUMNS);
    } else if (strcmp(k, "row_count") == 0) lua_pushinteger(L, (lua_Integer)ru->r->nrows);
    else if (strcmp(k, "affected_rows") == 0) myl_lua_push_u64(L, st->affected_rows);
    else if (strcmp(k, "insert_id") == 0) myl_lua_push_u64(L, st->insert_id);
    else if (strcmp(k, "warnings") == 0) lua_pushinteger(L, st->warnings);
    else if (strcmp(k, "status") == 0) lua_pushinteger(L, st->flags);
    else if (strcmp(k, "info") == 0) lua_pushstring(L, st->info);
    else return 0;
    return 1;
}

static const luaL_Reg res_methods[] = {
    {"rows", res_rows},
    {"row", res_row},
    {"fetch_all", res_fetch_all},
    {"next_result", res_next_result},
    {"close", res_close},
    {NULL, NULL},
};

/* Closing a result only frees memory: __close is close() and never raises. */
static const luaL_Reg res_metamethods[] = {
    {"__gc", res_gc},
    {"__close", res_close},
    {"__len", res_len},
    {"__tostring", res_tostring},
    {NULL, NULL},
};

void myl_lua_result_init(lua_State *L)
{
    myl_lua_new_type(L, MYL_RESULT_MT, res_methods, res_metamethods, res_index);
    lua_pop(L, 1);
}
