/* core.await_greeting(host, port, deadline): whether a server at host:port
 * accepts a TCP connection and speaks first (sends its greeting) by the
 * deadline (mylua.monotonic() time).  true, or nil and an error object
 * (2003 refused or unreachable, 2005 unknown host, 2013 no greeting).
 *
 * mylua.parallel runs it, as a job on the task's worker (worker.h), before
 * connecting while connect itself still runs on the calling thread: a
 * server that accepts and never answers then costs its own task its
 * timeout, not every task's. */
#include <string.h>

#include "binding.h"
#include "worker.h"

typedef struct probe_job {
    myl_connect_spec spec;
    myl_error err;
    int ok;
} probe_job;

static void probe(void *arg)
{
    probe_job *j = arg;
    char info[128];
    myl_transport *t = myl_socket_open(&j->spec, info, sizeof info, &j->err);
    if (!t) return;
    unsigned char b[64];
    size_t got = 0;
    myl_io_status st = t->read(t, b, sizeof b, &got, j->spec.deadline);
    if (st == MYL_IO_DONE) {
        j->ok = 1;
    } else {
        myl_error_set(&j->err, MYL_CR_SERVER_LOST,
                      "Lost connection to server at 'reading initial communication packet' (%s)",
                      st == MYL_IO_TIMEOUT ? "timed out" : st == MYL_IO_CLOSED
                          ? "connection closed by the server" : t->errmsg(t));
    }
    t->close(t);
}

static int probe_done(lua_State *L, int status, lua_KContext job_idx)
{
    (void)status;
    probe_job *j = lua_touserdata(L, (int)job_idx);
    if (j->ok) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushnil(L);
    myl_lua_push_error(L, j->err.code, j->err.sqlstate[0] ? j->err.sqlstate : "HY000",
                       j->err.message);
    return 2;
}

static int await_greeting(lua_State *L)
{
    const char *host = luaL_checkstring(L, 1);
    lua_Integer port = luaL_checkinteger(L, 2);
    double deadline = luaL_checknumber(L, 3);
    if (port <= 0 || port > 65535) return luaL_argerror(L, 2, "a TCP port expected");
    probe_job *j = lua_newuserdatauv(L, sizeof *j, 0);
    memset(j, 0, sizeof *j);
    j->spec.host = host; /* argument 1 stays on the stack */
    j->spec.port = (unsigned)port;
    j->spec.deadline = deadline;
    return myl_lua_offload(L, probe, j, probe_done, lua_gettop(L));
}

void myl_lua_probe_register(lua_State *L, int idx)
{
    static const luaL_Reg functions[] = {{"await_greeting", await_greeting}, {NULL, NULL}};
    myl_lua_add_functions(L, idx, functions);
}
