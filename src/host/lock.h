/* --lock NAME: one run at a time, across machines.  The lock is taken by
 * mylua.cluster_lock on a connection of its own made as mylua.connect()
 * with no arguments makes one (the command line's options), before any
 * script code runs, and held until the script's part of the run is over;
 * then it is released and the connection is closed.
 *
 * --lock-method auto (the default) asks the server once: on a Galera node
 * (@@wsrep_on = 1), where GET_LOCK is only the node's, the lock is a row
 * of the table mylua_locks in the connection's database, refreshed by a
 * heartbeat thread of its own; elsewhere MariaDB's named lock,
 * GET_LOCK(NAME, 0).  get_lock and table force one.  A lock row whose
 * heartbeat is older than --lock-stale seconds (default 30) was left by a
 * run that died, and is taken over.  When the heartbeat cannot be written
 * for that long (or the row was taken over), the run no longer holds the
 * lock: it is stopped as --timeout stops it (cancel.h), with "lock 'NAME'
 * was lost: ..." and exit status 3.
 *
 * GET_LOCK:
 * The server frees a named lock when its session ends, so a run that
 * dies, or loses the lock's connection, leaves no stale lock behind; but
 * a run whose lock connection was lost midway ran part of the time
 * without the lock: the release finds that out and says so on stderr (the
 * exit status stays the script's).  The lock connection raises its
 * session's wait_timeout to a year, so an idle lock connection is not
 * closed by the server during a long run. */
#ifndef MYL_HOST_LOCK_H
#define MYL_HOST_LOCK_H

#include <lua.h>

#include "run.h"

/* Takes the lock run->lock (run->lock_method, run->lock_stale): HOST_EXIT_OK, or, with one line printed on stderr,
 * HOST_EXIT_LOCKED when another run holds it (naming the holder: the
 * lock row's host, pid and times, or GET_LOCK's connection id), HOST_EXIT_ERROR when it could
 * not be asked, or the status of the run's stop. */
int host_lock_take(lua_State *L, const host_run *run);

/* Releases the lock taken (nothing when none was) and closes its
 * connection; warns when the lock turns out to have been lost. */
void host_lock_release(lua_State *L);

#endif
