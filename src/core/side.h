/* A second connection made on the side of one in use: KILL QUERY for a
 * statement the owning thread is blocked on, as the mariadb client sends
 * at Ctrl-C.
 *
 * At connect the core keeps a private deep copy of the options needed to
 * log in again (where to, who, TLS, the authentication rules; not the
 * database, the charset, attributes or LOCAL INFILE); the password in it
 * is wiped when the connection is freed.  The copy never changes while
 * the connection lives, so another thread may read it; it keeps the first
 * login's user even after a change_user (which the caller does not run
 * while it kills). */
#ifndef MYL_SIDE_H
#define MYL_SIDE_H

#include "conn.h"

/* Sends KILL QUERY <thread id of c> over a fresh connection made with c's
 * options, and closes it.  Safe to call from another thread while the
 * owning thread is blocked in a command on c, as long as c is not freed
 * meanwhile (the caller's lock ensures that).  Returns 0, or -1 with err
 * set: among others when c cannot be logged into again from here (its
 * login needed the front end's authentication callbacks or its transport
 * was opened by the front end), or when the thread is gone (1094). */
int myl_kill_query_side(const myl_conn *c, myl_error *err);

/* A fresh connection made with c's login options (no database: the
 * caller names tables with their database), its reads and writes bounded
 * by `timeout` seconds each (0: the side default, 10 s).  The new
 * connection keeps its own copy of the options, so it can be made again
 * from itself after c is freed.  Safe from another thread under the same
 * terms as myl_kill_query_side.  NULL with err set on failure. */
myl_conn *myl_side_connect(const myl_conn *c, double timeout, myl_error *err);

/* conn.c's side: keeps the copy (0, or -1 out of memory) and frees it. */
int myl_side_keep(myl_conn *c, const myl_options *opt);
void myl_side_forget(myl_conn *c);

#endif
