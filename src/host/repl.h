/* The host program's interactive prompt: Lua and SQL, line by line, with
 * line editing and history (libedit) when standard input is a terminal.
 * What a line means and how its results print is lua/mylua/repl.lua. */
#ifndef MYL_HOST_REPL_H
#define MYL_HOST_REPL_H

#include <lua.h>

/* The most lines kept in the history file. */
#define HOST_REPL_HISTORY_LINES 1000

/* Runs the prompt until \q or end of input (Ctrl-D).  Errors of the lines
 * are printed and the prompt goes on; raises only when the prompt cannot
 * start (its Lua module fails to load, or memory runs out). */
void host_repl_run(lua_State *L, int traceback);

#endif
