/* Stopping a run: SIGINT and SIGTERM, and the run's deadline (--timeout).
 *
 * The signal handler only records why the run stops, installs a Lua hook
 * on the main state and writes a byte to a pipe.  The hook raises at the
 * next Lua instruction, and again at every instruction after it, so a
 * script that catches errors with pcall still stops.  A canceller thread
 * reads the pipe and sends KILL QUERY (over a side connection each, as the
 * mariadb client does at Ctrl-C) for every connection the script has
 * open, so a script blocked in a long statement gets its error and stops
 * too; the connections stay open and are closed with COM_QUIT as always.
 *
 * The hook goes on the main thread: a coroutine running then goes on
 * until it yields or ends (a hook on from the start would reach it, as
 * coroutines inherit their creator's hook, but any count hook makes the
 * interpreter look at every instruction: twice as slow in a tight loop).
 *
 * A second SIGINT or SIGTERM ends the program at once.  A run that has
 * not ended HOST_CANCEL_GRACE seconds after its statements were cancelled
 * (blocked somewhere no KILL QUERY reaches, or looping inside a
 * coroutine) is ended by the canceller.
 * The exit status: HOST_EXIT_TIMEOUT for the deadline, HOST_EXIT_LOCKED
 * for a lost lock.  A signal ends the
 * program by that signal itself, once the state is closed and the reason
 * printed, so a calling shell reports 128 + its number (130, 143) and
 * knows it was interrupted, as for any program killed by ^C.
 *
 * Deferred stops, for jobs that work in steps (mylua.batch): while a
 * script has called mylua.defer_stop(true), the first SIGINT or SIGTERM
 * is only recorded: no hook, no KILL QUERY; mylua.stop_requested() then
 * returns the reason, and the script finishes its step and ends.  A
 * second signal still ends the program at once; the deadline (--timeout)
 * is never deferred.  defer_stop(false) with a stop recorded makes it
 * take effect there, as if the signal came then; a script that returns
 * with a recorded stop exits as a stopped one does (130, 143). */
#ifndef MYL_HOST_CANCEL_H
#define MYL_HOST_CANCEL_H

#include <lua.h>

#define HOST_CANCEL_GRACE 5

/* Installs the handlers, starts the canceller and arms the deadline
 * (timeout seconds, 0: none) for the run of the state L.  Returns 0, or
 * -1 with a message printed when the canceller cannot start. */
int host_cancel_start(lua_State *L, double timeout);

/* Stops the run because its --lock was lost (lock.h), as the deadline
 * does (never deferred), with HOST_EXIT_LOCKED and `reason` as the
 * reason ("lock 'NAME' was lost: ...").  Safe to call from any thread.
 * 1 when it stops the run; 0 when the run was stopped already or its
 * script's part is over. */
int host_cancel_lock_lost(const char *reason);

/* Puts the module "mylua.host_stop" (stop_requested, defer_stop; see
 * above) in package.preload, where the mylua module finds it. */
void host_cancel_register(lua_State *L);

/* Why the run was stopped ("interrupted by SIGINT", "run timed out after
 * 2 s"), or NULL while it was not. */
const char *host_cancel_reason(void);

/* The interactive prompt runs (on) or is over (0): meanwhile a SIGINT
 * cancels the statements and stops the Lua of the line running, once
 * (the prompt catches that error and goes on); it does not end the run.
 * SIGTERM and the deadline still do. */
void host_cancel_interactive(int on);

/* The script's part of the run is over (its error is being worded, or it
 * returned): the hook is removed and no signal installs it again, so the
 * program's own closing Lua (the lock's release, finalizers) runs. */
void host_cancel_quiet(lua_State *L);

/* For the message handler: the run is over (host_cancel_quiet), and when
 * it was stopped, the error message on top of the stack, which is what
 * the stop caused, is replaced by "<reason> (<message>)". */
void host_cancel_word_error(lua_State *L);

/* After the state is closed: disarms the deadline, stops the canceller,
 * says why the run stopped when no error said it, and returns the exit
 * status: `status` unless the run was stopped (a signal does not return). */
int host_cancel_finish(int status);

#endif
