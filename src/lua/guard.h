/* Busy and close-pending: one rule for every userdata of the binding.
 *
 * While an object's C memory is being turned into Lua values, or while a
 * core call on it can run a Lua callback, the object is busy: an allocation
 * may run a finalizer, and a callback may call close() on anything it can
 * reach.  A close during that time only marks the object (close_pending);
 * the close happens when the busy section ends, and any other use raises.
 *
 * The callback rule (for the dialog prompt, LOCAL INFILE and every later
 * callback): the core calls a C function pointer with a `void *ud`; the
 * binding's C function runs the Lua callback under lua_pcall, keeps the
 * callback's error value, returns failure to the core so it aborts the step
 * cleanly (leaving the connection consistent), and after the core returned
 * re-raises that same value.  Every object the callback could close (the
 * connection, and whatever reads its response) is busy meanwhile, so a
 * command on the same connection from inside the callback raises, and a
 * callback that yields gets a clear error (call it with lua_pcallk and no
 * continuation, under a C boundary). */
#ifndef MYL_GUARD_H
#define MYL_GUARD_H

#include <lauxlib.h>
#include <lua.h>

typedef struct myl_guard {
    int busy;          /* nesting depth of busy sections */
    int close_pending; /* close() was called while busy */
    const char *doing; /* what keeps it busy, for messages; NULL: decoding a row */
} myl_guard;

static inline void myl_guard_enter(myl_guard *g) { g->busy++; }

/* Ends a busy section; 1 when a close was deferred and must happen now. */
static inline int myl_guard_leave(myl_guard *g)
{
    return --g->busy == 0 && g->close_pending;
}

/* close(): 1 when the object may be freed now, 0 when the close waits for
 * the busy section to end. */
static inline int myl_guard_close(myl_guard *g)
{
    if (g->busy) {
        g->close_pending = 1;
        return 0;
    }
    g->close_pending = 0;
    return 1;
}

/* Whether the object counts as closed: its resource is gone (`open` is 0)
 * or a close is pending. */
static inline int myl_guard_closed(const myl_guard *g, int open)
{
    return !open || g->close_pending;
}

/* Raises "attempt to use a closed <kind>" or "... while it decodes a row"
 * (or whatever else keeps it busy). */
static inline void myl_guard_check(lua_State *L, const myl_guard *g, int open, const char *kind)
{
    if (myl_guard_closed(g, open)) luaL_error(L, "attempt to use a closed %s", kind);
    if (g->busy)
        luaL_error(L, "attempt to use a %s while it %s", kind, g->doing ? g->doing : "decodes a row");
}

#endif
