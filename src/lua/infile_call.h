/* Core calls that may serve a LOAD DATA LOCAL INFILE request from Lua.
 *
 * The request comes in the middle of a command's response: the core then
 * calls the connection's source (the local_infile handler, infile.c) or the
 * bulk loader's (db:load, load.c), which run Lua code on the thread of the
 * call.  Every entry point that reads a response head (db:query, cursor
 * execute and next_result, db:load) wraps its core call in
 * myl_lua_infile_begin / myl_lua_infile_end, which keep the callback rule
 * (guard.h): the connection is busy meanwhile, cu->L is the calling thread,
 * and an error a callback raises is kept in a stack slot and re-raised, as
 * the same value, once the core has returned. */
#ifndef MYL_LUA_INFILE_CALL_H
#define MYL_LUA_INFILE_CALL_H

#include "binding.h"

typedef struct myl_lua_infile_call {
    conn_ud *cu;
    /* Stack slots, from base: the kept error, the handler function (nil
     * without one), the source it returned, the chunk being sent. */
    int base;
    int failed;    /* a callback raised: its value is in slot base */
    void *handler; /* the connection's local_infile handler (infile.c), NULL: none */
} myl_lua_infile_call;

enum { INFILE_SLOT_ERROR, INFILE_SLOT_HANDLER, INFILE_SLOT_SOURCE, INFILE_SLOT_CHUNK,
       INFILE_SLOTS };

/* Before the core call: reserves the slots (and room for the callbacks'
 * own pushes) on L, makes the connection busy with `doing` (NULL: a
 * statement's LOCAL INFILE callback), sets cu->L.  conn_idx is the
 * connection object's stack index.  Between this and myl_lua_infile_end
 * nothing may raise. */
void myl_lua_infile_begin(lua_State *L, int conn_idx, conn_ud *cu, myl_lua_infile_call *call,
                          const char *doing);

/* After the core call: ends the busy section (a close asked meanwhile
 * happens now) and removes the slots.  Returns 1 when a callback raised:
 * its error value is then on top of the stack, for the caller to raise
 * with lua_error once its own state is consistent; 0 otherwise. */
int myl_lua_infile_end(lua_State *L, myl_lua_infile_call *call);

/* In a callback, after a lua_pcall that failed: keeps the error value on
 * top of the stack (the first one only; a yield gets a clear message
 * naming `what`), and sets err for the core.  Returns -1. */
int myl_lua_infile_keep_error(myl_lua_infile_call *call, const char *what, myl_error *err);

/* load.c: db:load{...} */
int myl_lua_conn_load(lua_State *L);

#endif
