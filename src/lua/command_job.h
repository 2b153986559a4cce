/* The connection's simple commands (ping, select_db, kill, reset and
 * change_user) as jobs (worker.h): on the task's worker thread under
 * mylua.parallel, inline otherwise, with the connection busy meanwhile so
 * that another task's use raises and its close() waits for the end. */
#ifndef MYL_LUA_COMMAND_JOB_H
#define MYL_LUA_COMMAND_JOB_H

#include "../core/options.h"
#include "binding.h"

typedef enum {
    MYL_CMD_PING,
    MYL_CMD_SELECT_DB,
    MYL_CMD_KILL,
    MYL_CMD_RESET,
    MYL_CMD_CHANGE_USER,
} myl_command_kind;

typedef struct myl_command_job {
    conn_ud *cu;      /* the connection object's memory, held by the caller's stack */
    myl_conn *c;
    myl_command_kind kind;
    const char *text; /* select_db: the name (a string on the caller's stack) */
    size_t len;
    uint32_t id;      /* kill: the session */
    myl_options opt;  /* change_user: its strings live on the caller's stack */
    int rc;           /* what the core call returned */
    myl_error e;      /* its error when rc < 0 */
    int in_flight;    /* handed to a worker and its continuation not run yet */
} myl_command_job;

/* A job of `kind` for the connection: in a userdata pushed on the stack
 * when the call can be offloaded (*offload set to 1), else in `local`
 * (nothing pushed).  It allocates: check the connection again after. */
myl_command_job *myl_command_job_new(lua_State *L, myl_command_job *local,
                                     myl_command_kind kind, int *offload);

/* Makes cu busy with `doing` and runs the job on the task's worker (and
 * yields) or inline; k then runs with ctx = the job's address.  Use as
 * `return myl_command_job_start(...)`. */
int myl_command_job_start(lua_State *L, conn_ud *cu, myl_command_job *j, int offload,
                          const char *doing, lua_KFunction k);

/* In k: the job (ctx), its busy section ended (a close asked meanwhile
 * happens now, so cu->c may be NULL after). */
myl_command_job *myl_command_job_end(lua_KContext ctx);

/* A continuation for the commands answered by OK: true, or the error. */
int myl_command_job_done(lua_State *L, int status, lua_KContext ctx);

#endif
