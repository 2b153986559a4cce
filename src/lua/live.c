/* The list of open connections (live.h). */
#include "live.h"

#include <pthread.h>

#include "../core/side.h"
#include "binding.h"

/* Server error: the session named by KILL is gone. */
#define ER_NO_SUCH_THREAD 1094

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static conn_ud *live_head;

void myl_lua_live_add(conn_ud *cu)
{
    pthread_mutex_lock(&live_lock);
    cu->live_prev = NULL;
    cu->live_next = live_head;
    if (live_head) live_head->live_prev = cu;
    live_head = cu;
    cu->live = 1;
    pthread_mutex_unlock(&live_lock);
}

void myl_lua_live_remove(conn_ud *cu)
{
    pthread_mutex_lock(&live_lock);
    if (cu->live) {
        if (cu->live_prev) cu->live_prev->live_next = cu->live_next;
        else live_head = cu->live_next;
        if (cu->live_next) cu->live_next->live_prev = cu->live_prev;
        cu->live_prev = cu->live_next = NULL;
        cu->live = 0;
    }
    pthread_mutex_unlock(&live_lock);
}

void myl_lua_live_leave_out(lua_State *L, int idx)
{
    conn_ud *cu = luaL_checkudata(L, idx, MYL_CONNECTION_MT);
    pthread_mutex_lock(&live_lock);
    cu->live_left_out = 1;
    pthread_mutex_unlock(&live_lock);
}

/* The lock is held through every side connection: the owning thread may
 * not free a connection while its statement is being killed, and waits
 * (at most the side connection's timeouts) when it tries. */
int myl_lua_live_kill_queries(myl_live_report report, void *ud)
{
    int n = 0;
    pthread_mutex_lock(&live_lock);
    for (conn_ud *cu = live_head; cu; cu = cu->live_next) {
        if (cu->live_left_out || !cu->c) continue;
        myl_error e;
        if (myl_kill_query_side(cu->c, &e) == 0) n++;
        else if (e.code != ER_NO_SUCH_THREAD && report) report(ud, myl_thread_id(cu->c), &e);
    }
    pthread_mutex_unlock(&live_lock);
    return n;
}
