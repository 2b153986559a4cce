/* The heartbeat of a lock row (mylua.cluster_lock): a thread of its own,
 * with a connection of its own, that refreshes the row while the script
 * runs, whatever the script is doing (a long statement, pure Lua), and
 * that notices when it can no longer do so.
 *
 * core.heartbeat(db, { beat = SQL, release = SQL, interval = S, stale = S })
 * logs in again with db's login options (core/side.h: no database, so the
 * SQL names its table with its database) and runs `beat` every `interval`
 * seconds.  A beat that changes no row means the row is no longer ours
 * (taken over, or removed): the lock is lost at once.  Beats that fail
 * (an error, a lost connection, which is made again) for longer than
 * `stale` seconds since the last good one: the lock is lost, since
 * another run may take a row that old over.  Once lost, it stops beating.
 *
 * hb:lost() is nil, or why the lock was lost; hb:beats() counts the good
 * beats; hb:stop() ends the thread and runs `release` (owner-guarded, so
 * a row taken over is left alone) on its connection: true when it removed
 * the row, else false and why.  __close and __gc stop it the same way,
 * silently; every one of them is idempotent. */
#ifndef MYL_HEARTBEAT_H
#define MYL_HEARTBEAT_H

#include <lua.h>

#define MYL_HEARTBEAT_MT "mylua.heartbeat"

/* Called once, from the heartbeat's thread, when the lock is lost (or at
 * once, from the caller's, when it was lost already); `reason` is valid
 * during the call only.  Must be safe to run on another thread: the host
 * program records a stop there, as a signal handler does. */
typedef void (*myl_heartbeat_lost_fn)(void *ud, const char *reason);

/* Sets the callback of the heartbeat object at idx (raises when idx is
 * not one). */
void myl_lua_heartbeat_on_lost(lua_State *L, int idx, myl_heartbeat_lost_fn fn, void *ud);

/* Adds core.heartbeat, core.process_id and core.host_name to the module
 * table at idx. */
void myl_lua_heartbeat_register(lua_State *L, int idx);

#endif
