/* Blocking core calls under coroutines, without turning the core into
 * state machines: a coroutine that a scheduler (mylua.parallel) runs as a
 * task has a worker thread; a binding function hands the pure-C part of
 * its work (say myl_query, which reads the whole response into C memory)
 * to that thread and yields, and the scheduler resumes the coroutine once
 * the work is done.  The binding function's continuation then does the
 * Lua part (pushes the result or raises).
 *
 * Everywhere else (no scheduler, the main thread, a coroutine the
 * scheduler does not run, a call that cannot yield) the same function runs
 * the job inline and calls its continuation directly: ordinary scripts
 * see no change.
 *
 * How to use it from a binding function f:
 *
 *     static void my_job(void *arg) { ...pure C: no lua_State, no Lua memory
 *                                     but what arg points into... }
 *     static int my_done(lua_State *L, int status, lua_KContext ctx) {
 *         ...the stack is as f left it before the offload; push, raise...
 *     }
 *     static int f(lua_State *L) {
 *         ...check arguments, make the object busy (guard.h)...
 *         struct my_job *j = lua_newuserdatauv(L, sizeof *j, 0); // on the stack
 *         ...fill j...
 *         return myl_lua_offload(L, my_job, j, my_done, (lua_KContext)lua_gettop(L));
 *     }
 *
 * The rules:
 * - The job touches no lua_State and runs no Lua.  What it reads and
 *   writes lives in C memory, or in Lua objects the calling thread's stack
 *   holds (a suspended coroutine's stack stays put, and the scheduler keeps
 *   the coroutine alive while its job runs).  A job that may call Lua (a
 *   LOCAL INFILE handler, an auth callback) must not be offloaded: call it
 *   and the continuation yourself, inline.
 * - While the job runs, every object it uses is busy (guard.h): a close()
 *   from another coroutine is deferred, any other use raises.  The
 *   continuation ends the busy section, whether the job failed or not.
 * - The job must end by itself within bounded time: a connection's waits
 *   end by its deadline cap (myl_conn_set_deadline_cap), which the
 *   scheduler sets to the task's deadline.  Nothing cancels a job.
 * - A finalizer that frees C memory a job may be using (the connection's
 *   __gc: it runs at lua_close even under a suspended job) first calls
 *   myl_lua_offload_drain. */
#ifndef MYL_LUA_WORKER_H
#define MYL_LUA_WORKER_H

#include <lua.h>

typedef void (*myl_lua_job)(void *arg);

/* Runs job(arg) on the worker thread of the running task and yields, or
 * inline when L is no task of a scheduler or cannot yield; in both cases k
 * then runs on L (with status LUA_YIELD or LUA_OK) and its result is the
 * binding function's.  Use it as `return myl_lua_offload(...)`. */
int myl_lua_offload(lua_State *L, myl_lua_job job, void *arg, lua_KFunction k, lua_KContext ctx);

/* 1 when myl_lua_offload would hand the job to a worker (L is a task and
 * can yield), for a caller that words its busy state accordingly. */
int myl_lua_can_offload(lua_State *L);

/* Waits until no job of this process runs.  Bounded by the jobs' own
 * deadlines. */
void myl_lua_offload_drain(void);

/* Adds the scheduler's primitives to the module table at idx:
 * core.task_group(), core.task_yielded (the value a task yields to its
 * scheduler while its job runs) and core.deadline_cap(db, at). */
void myl_lua_worker_register(lua_State *L, int idx);

#endif
