/* local_infile = function(name) ... end: the connection's LOAD DATA LOCAL
 * INFILE source written in Lua, and the frame every core call that may
 * serve such a request runs in (infile_call.h).
 *
 * The handler gets the file name the server asks for (the core has checked
 * it against the statement) and returns the data: a string, an open file
 * (read in chunks, closed once read), or an iterator function returning
 * strings until nil; or nil and a message to refuse.  It and the iterator
 * run under lua_pcall on the thread of the query, with the connection busy.
 * What they return is kept in the call's stack slots while the core sends
 * it, in chunks the size the core asks for: a string is copied from in
 * slices, an iterator's chunks one at a time, a file read a chunk at a
 * time, so memory stays constant whatever the size. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "infile_call.h"

enum { SRC_STRING, SRC_FILE, SRC_ITER };

/* The connection object's user value 1; its own user value 1 is the
 * function.  The core's hooks point to it (ud and src alike: a connection
 * serves one request at a time). */
typedef struct infile_handler {
    myl_lua_infile_call *call; /* the running core call's, NULL outside one */
    const char *name;          /* during open: the file asked for */
    size_t name_len;
    myl_error *err;            /* during open: where a refusal goes */
    int refused;
    int kind;                  /* SRC_* of the source being read */
    const char *s;             /* the string, or the iterator's current chunk */
    size_t len, off;
    int ended;                 /* the iterator returned nil */
} infile_handler;

#define WHAT "the local_infile handler"

/* ---- the frame of a core call (infile_call.h) ---- */

void myl_lua_infile_begin(lua_State *L, int conn_idx, conn_ud *cu, myl_lua_infile_call *call,
                          const char *doing)
{
    conn_idx = lua_absindex(L, conn_idx);
    /* the slots, and room for what the callbacks push before their pcall */
    luaL_checkstack(L, INFILE_SLOTS + 8, "LOCAL INFILE call");
    call->cu = cu;
    call->base = lua_gettop(L) + 1;
    call->failed = 0;
    call->handler = NULL;
    lua_pushnil(L); /* INFILE_SLOT_ERROR */
    if (lua_getiuservalue(L, conn_idx, 1) == LUA_TUSERDATA) { /* INFILE_SLOT_HANDLER */
        infile_handler *h = lua_touserdata(L, -1);
        lua_getiuservalue(L, -1, 1);
        lua_replace(L, -2);
        h->call = call;
        call->handler = h;
    } else {
        lua_pop(L, 1);
        lua_pushnil(L);
    }
    lua_pushnil(L); /* INFILE_SLOT_SOURCE */
    lua_pushnil(L); /* INFILE_SLOT_CHUNK */
    cu->L = L;
    cu->g.doing = doing ? doing : "reads LOCAL INFILE data from a callback";
    myl_guard_enter(&cu->g);
}

int myl_lua_infile_end(lua_State *L, myl_lua_infile_call *call)
{
    conn_ud *cu = call->cu;
    if (call->handler) ((infile_handler *)call->handler)->call = NULL;
    cu->g.doing = NULL;
    cu->L = NULL;
    myl_lua_conn_unbusy(cu); /* may close the connection */
    if (call->failed) {
        lua_pushvalue(L, call->base + INFILE_SLOT_ERROR);
        lua_replace(L, call->base);
        lua_settop(L, call->base);
        return 1;
    }
    lua_settop(L, call->base - 1);
    return 0;
}

/* Lua's own words for a yield ("attempt to yield from outside a coroutine",
 * "... across a C-call boundary") do not say which rule the script broke.
 * (error value, what) -> the value to keep. */
static int explain_yield(lua_State *L)
{
    const char *msg = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL;
    if (msg && strstr(msg, "attempt to yield"))
        lua_pushfstring(L, "%s cannot yield: it runs inside the query, which cannot be "
                        "suspended", (const char *)lua_touserdata(L, 2));
    else
        lua_settop(L, 1);
    return 1;
}

int myl_lua_infile_keep_error(myl_lua_infile_call *call, const char *what, myl_error *err)
{
    lua_State *L = call->cu->L;
    if (call->failed) {
        lua_pop(L, 1); /* the first error is the one raised */
    } else {
        /* The message is made under protection: the core is below us.
         * Nothing here allocates outside it. */
        lua_pushcfunction(L, explain_yield);
        lua_insert(L, -2);
        lua_pushlightuserdata(L, (void *)what);
        lua_pcall(L, 2, 1, 0); /* failing, it leaves its own error: kept as well */
        lua_replace(L, call->base + INFILE_SLOT_ERROR);
        call->failed = 1;
    }
    myl_error_set(err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "%s raised an error", what);
    return -1;
}

/* ---- the handler's source ----
 *
 * The hooks run in the frame of the entry point's C function, where the
 * slots are; each protected function gets what it needs as arguments and
 * returns what is to be kept, which the hook puts in its slot. */

static lua_State *state_of(infile_handler *h) { return h->call->cu->L; }

static int slot(infile_handler *h, int which) { return h->call->base + which; }

/* Protected (h, handler) -> the source to keep, or nothing when refused. */
static int open_protected(lua_State *L)
{
    infile_handler *h = lua_touserdata(L, 1);
    lua_settop(L, 2);
    lua_pushlstring(L, h->name, h->name_len);
    lua_call(L, 1, 2);
    int t = lua_type(L, 2);
    if (t == LUA_TNIL) {
        /* nil, message: a refusal, which the statement fails with */
        const char *why = lua_type(L, 3) == LUA_TSTRING || lua_type(L, 3) == LUA_TNUMBER
                              ? lua_tostring(L, 3) : NULL;
        myl_error_set(h->err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                      "LOAD DATA LOCAL INFILE '%.*s' refused by the local_infile handler%s%s",
                      (int)(h->name_len > 200 ? 200 : h->name_len), h->name, why ? ": " : "",
                      why ? why : "");
        h->refused = 1;
        return 0;
    }
    lua_settop(L, 2);
    if (t == LUA_TSTRING) {
        h->kind = SRC_STRING;
        h->s = lua_tolstring(L, 2, &h->len);
    } else if (t == LUA_TFUNCTION) {
        h->kind = SRC_ITER;
    } else if (luaL_testudata(L, 2, LUA_FILEHANDLE)) {
        luaL_Stream *f = lua_touserdata(L, 2);
        if (!f->closef) luaL_error(L, WHAT " returned a closed file");
        h->kind = SRC_FILE;
    } else {
        luaL_error(L, WHAT " must return a string, an open file or an iterator function, or "
                   "nil and a message (it returned a %s)", luaL_typename(L, 2));
    }
    return 1;
}

static int h_open(void *ud, const char *name, size_t len, void **src, myl_error *err)
{
    infile_handler *h = ud;
    if (!h->call) {
        /* a core call outside the binding's frame: nothing may run Lua */
        myl_error_set(err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                      "LOAD DATA LOCAL INFILE request refused: it came outside a query");
        return -1;
    }
    lua_State *L = state_of(h);
    h->name = name;
    h->name_len = len;
    h->err = err;
    h->refused = 0;
    h->s = NULL;
    h->len = h->off = 0;
    h->ended = 0;
    lua_pushcfunction(L, open_protected);
    lua_pushlightuserdata(L, h);
    lua_pushvalue(L, slot(h, INFILE_SLOT_HANDLER));
    if (lua_pcall(L, 2, 1, 0) != LUA_OK) return myl_lua_infile_keep_error(h->call, WHAT, err);
    lua_replace(L, slot(h, INFILE_SLOT_SOURCE));
    if (h->refused) return -1;
    *src = h;
    return 0;
}

/* Protected (h, iterator) -> its next chunk, nil at the end. */
static int next_chunk(lua_State *L)
{
    infile_handler *h = lua_touserdata(L, 1);
    lua_settop(L, 2);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
        h->ended = 1;
        h->s = NULL;
        h->len = h->off = 0;
    } else if (lua_type(L, -1) == LUA_TSTRING) {
        h->s = lua_tolstring(L, -1, &h->len);
        h->off = 0;
    } else {
        return luaL_error(L, "the iterator of " WHAT " must return strings, then nil (it "
                          "returned a %s)", luaL_typename(L, -1));
    }
    return 1;
}

static size_t take(infile_handler *h, uint8_t *buf, size_t room)
{
    size_t k = h->len - h->off < room ? h->len - h->off : room;
    if (k) memcpy(buf, h->s + h->off, k);
    h->off += k;
    return k;
}

static int h_read(void *ud, void *src, uint8_t *buf, size_t cap, size_t *n, myl_error *err)
{
    (void)ud;
    infile_handler *h = src;
    lua_State *L = state_of(h);
    size_t got = 0;
    if (h->kind == SRC_STRING) {
        got = take(h, buf, cap);
    } else if (h->kind == SRC_FILE) {
        luaL_Stream *f = lua_touserdata(L, slot(h, INFILE_SLOT_SOURCE));
        if (!f->closef) { /* no Lua runs meanwhile, but say so rather than crash */
            myl_error_set(err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                          "the file " WHAT " returned was closed while it was read");
            return -1;
        }
        got = fread(buf, 1, cap, f->f);
        if (got < cap && ferror(f->f)) {
            myl_error_set(err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                          "reading the file " WHAT " returned: %s", strerror(errno));
            return -1;
        }
    } else {
        /* Small chunks are gathered up to cap: one packet each would be slow. */
        while (got < cap) {
            got += take(h, buf + got, cap - got);
            if (got == cap || h->ended) break;
            lua_pushcfunction(L, next_chunk);
            lua_pushlightuserdata(L, h);
            lua_pushvalue(L, slot(h, INFILE_SLOT_SOURCE));
            if (lua_pcall(L, 2, 1, 0) != LUA_OK)
                return myl_lua_infile_keep_error(h->call, "the iterator of " WHAT, err);
            lua_replace(L, slot(h, INFILE_SLOT_CHUNK)); /* keeps h->s alive */
        }
    }
    *n = got;
    return 0;
}

/* Protected (file): closes the file the handler returned, its data sent. */
static int close_file(lua_State *L)
{
    luaL_Stream *f = lua_touserdata(L, 1);
    if (!f->closef) return 0;
    lua_getfield(L, 1, "close");
    lua_pushvalue(L, 1);
    lua_call(L, 1, 0);
    return 0;
}

static void h_close(void *ud, void *src)
{
    (void)ud;
    infile_handler *h = src;
    lua_State *L = state_of(h);
    if (h->kind == SRC_FILE) {
        lua_pushcfunction(L, close_file);
        lua_pushvalue(L, slot(h, INFILE_SLOT_SOURCE));
        if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1); /* the data went: a close error is moot */
    }
    lua_pushnil(L);
    lua_replace(L, slot(h, INFILE_SLOT_SOURCE));
    lua_pushnil(L);
    lua_replace(L, slot(h, INFILE_SLOT_CHUNK));
    h->s = NULL;
    h->len = h->off = 0;
}

void myl_lua_infile_handler(lua_State *L, int conn_idx, int fn_idx)
{
    conn_idx = lua_absindex(L, conn_idx);
    fn_idx = lua_absindex(L, fn_idx);
    conn_ud *cu = luaL_checkudata(L, conn_idx, MYL_CONNECTION_MT);
    infile_handler *h = lua_newuserdatauv(L, sizeof *h, 1);
    memset(h, 0, sizeof *h);
    lua_pushvalue(L, fn_idx);
    lua_setiuservalue(L, -2, 1);
    lua_setiuservalue(L, conn_idx, 1);
    cu->infile.open = h_open;
    cu->infile.read = h_read;
    cu->infile.close = h_close;
    cu->infile.ud = h;
}
