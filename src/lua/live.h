/* The connections open in this process, for a program that must cancel
 * their statements from another thread (the host program at Ctrl-C, at
 * its run's deadline).  The list is guarded by a mutex: a connection is
 * added once connected and removed before it is freed, so a walk never
 * sees a freed one (freeing waits for a walk in progress). */
#ifndef MYL_LIVE_H
#define MYL_LIVE_H

#include <lua.h>
#include <stdint.h>

#include "../core/error.h"

/* Called by the walk for each connection whose cancel failed. */
typedef void (*myl_live_report)(void *ud, uint32_t thread_id, const myl_error *e);

/* Sends KILL QUERY, over a side connection each (core/side.h), for every
 * open connection but those left out below; for each that fails, other
 * than because its session ended meanwhile, calls report.  Safe to call
 * from any thread; returns how many were cancelled. */
int myl_lua_live_kill_queries(myl_live_report report, void *ud);

/* Leaves the connection object at idx out of the walk (the host's own
 * connection holding the run's lock, which runs no statement).  Raises
 * when idx is not a connection. */
void myl_lua_live_leave_out(lua_State *L, int idx);

#endif
