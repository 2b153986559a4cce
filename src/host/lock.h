/* --lock NAME: one run at a time, across machines.  The lock is MariaDB's
 * named lock, GET_LOCK(NAME, 0), taken on a connection of its own made as
 * mylua.connect() with no arguments makes one (the command line's
 * options), before any script code runs, and held until the script's part
 * of the run is over; then RELEASE_LOCK and the connection is closed.
 *
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

/* Takes the lock: HOST_EXIT_OK, or, with one line printed on stderr,
 * HOST_EXIT_LOCKED when another session holds it (naming the holder's
 * connection id where the server tells it), HOST_EXIT_ERROR when it could
 * not be asked, or the status of the run's stop. */
int host_lock_take(lua_State *L, const char *name);

/* Releases the lock taken (nothing when none was) and closes its
 * connection; warns when the lock turns out to have been lost. */
void host_lock_release(lua_State *L);

#endif
