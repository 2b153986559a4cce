/* The connection's simple commands as jobs (command_job.h). */
#include "command_job.h"

#include <stdint.h>
#include <string.h>

#include "../core/conn.h"
#include "worker.h"

#define COMMAND_JOB_MT "mylua.command_job"

/* A job whose coroutine is never resumed (the run was stopped, the state
 * is closing) may still run on its worker: its memory must outlive it. */
static int command_job_gc(lua_State *L)
{
    myl_command_job *j = lua_touserdata(L, 1);
    if (j->in_flight) myl_lua_offload_drain();
    j->in_flight = 0;
    return 0;
}

myl_command_job *myl_command_job_new(lua_State *L, myl_command_job *local,
                                     myl_command_kind kind, int *offload)
{
    myl_command_job *j = local;
    *offload = myl_lua_can_offload(L);
    if (*offload) {
        j = lua_newuserdatauv(L, sizeof *j, 0);
        if (luaL_newmetatable(L, COMMAND_JOB_MT)) {
            lua_pushcfunction(L, command_job_gc);
            lua_setfield(L, -2, "__gc");
        }
        lua_setmetatable(L, -2);
    }
    memset(j, 0, sizeof *j);
    j->kind = kind;
    return j;
}

static void run_command(void *arg)
{
    myl_command_job *j = arg;
    switch (j->kind) {
    case MYL_CMD_PING: j->rc = myl_ping(j->c); break;
    case MYL_CMD_SELECT_DB: j->rc = myl_select_db(j->c, j->text, j->len); break;
    case MYL_CMD_KILL: j->rc = myl_kill(j->c, j->id); break;
    case MYL_CMD_RESET: j->rc = myl_reset_connection(j->c); break;
    case MYL_CMD_CHANGE_USER: j->rc = myl_change_user(j->c, &j->opt); break;
    }
    if (j->rc < 0) j->e = *myl_conn_error(j->c);
}

int myl_command_job_start(lua_State *L, conn_ud *cu, myl_command_job *j, int offload,
                          const char *doing, lua_KFunction k)
{
    j->cu = cu;
    j->c = cu->c;
    cu->g.doing = doing;
    myl_guard_enter(&cu->g);
    j->in_flight = offload;
    return myl_lua_offload(L, run_command, j, k, (lua_KContext)(intptr_t)j);
}

myl_command_job *myl_command_job_end(lua_KContext ctx)
{
    myl_command_job *j = (myl_command_job *)(intptr_t)ctx;
    j->in_flight = 0;
    j->cu->g.doing = NULL;
    myl_lua_conn_unbusy(j->cu);
    return j;
}

int myl_command_job_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    myl_command_job *j = myl_command_job_end(ctx);
    if (j->rc < 0) return myl_lua_raise(L, &j->e);
    lua_pushboolean(L, 1);
    return 1;
}
