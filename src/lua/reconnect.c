/* Reconnecting: db:reconnect() and what reconnect = true does before a
 * command.
 *
 * The rules, in the order they are checked before a command:
 *  - a connection that is idle and alive (its socket has nothing to read)
 *    is used as it is;
 *  - one found lost (the server closed it while idle: wait_timeout, KILL,
 *    a restart; or an earlier statement lost it) is opened again and the
 *    command is sent on the new session, and on_reconnect(db, info) is
 *    called first, with info.error the error that was seen and
 *    info.host_info the host now used;
 *  - unless the last status the server sent said a transaction was open:
 *    its changes are gone, and going on in a new session would run the
 *    rest of it outside any transaction.  Then the command raises an
 *    error with transaction_lost = true (again at each call, until the
 *    script calls db:reconnect() itself).
 * A statement that was sent and then lost is never sent again: its error
 * (2013, outcome_unknown = true) is raised; the next call reconnects.
 * A new session has none of the old one's state: prepared statements,
 * temporary tables, user variables, locks and session settings (other
 * than those init_command sets and the database) are gone. */
#include <stdio.h>
#include <string.h>

#include "../core/proto.h"
#include "binding.h"

/* Raises the error of a lost transaction, after `seen`. */
static int raise_transaction_lost(lua_State *L, const myl_error *seen)
{
    char msg[MYL_ERRMSG_SIZE + 200];
    snprintf(msg, sizeof msg, "%s; a transaction was open: its changes are lost, and the "
             "connection is not opened again behind its back (call db:reconnect() to go on)",
             seen->message);
    myl_lua_push_error(L, seen->code, seen->sqlstate, msg);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "transaction_lost");
    return lua_error(L);
}

/* Calls on_reconnect(db, info) when the options named one. */
static void call_hook(lua_State *L, int idx, const myl_error *seen)
{
    int top = lua_gettop(L);
    if (lua_getiuservalue(L, idx, 2) == LUA_TTABLE &&
        lua_getfield(L, -1, "on_reconnect") == LUA_TFUNCTION) {
        lua_pushvalue(L, idx);
        lua_createtable(L, 0, 2);
        myl_lua_push_error(L, seen->code, seen->sqlstate, seen->message);
        lua_setfield(L, -2, "error");
        lua_getfield(L, idx, "host_info");
        lua_setfield(L, -2, "host_info");
        lua_call(L, 2, 0);
    }
    lua_settop(L, top);
}

conn_ud *myl_lua_conn_for_command(lua_State *L, int idx)
{
    conn_ud *cu = myl_lua_check_conn(L, idx);
    if (!cu->auto_reconnect || myl_conn_check_idle(cu->c) == 0) return cu;
    myl_error seen = *myl_conn_error(cu->c);
    if (myl_server_status(cu->c) & MYL_STATUS_IN_TRANS) raise_transaction_lost(L, &seen);
    idx = lua_absindex(L, idx);
    myl_lua_conn_reconnect(L, idx);
    call_hook(L, idx, &seen);
    return myl_lua_check_conn(L, idx);
}

int myl_lua_conn_reconnect_method(lua_State *L)
{
    myl_lua_check_conn(L, 1);
    lua_settop(L, 1);
    myl_lua_conn_reconnect(L, 1);
    lua_pushboolean(L, 1);
    return 1;
}
