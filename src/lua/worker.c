/* Worker threads for tasks, and the scheduler's primitives (worker.h).
 *
 * A task group (core.task_group(), one per mylua.parallel run) makes
 * coroutines tasks: each gets a worker thread, started at its first job.
 * A finished job puts its worker on the process's done list and writes a
 * byte to a pipe; group:wait polls that pipe and returns the coroutines to
 * resume.  Signals are blocked in the workers, so SIGINT and SIGTERM reach
 * the main thread (its wait returns early, and the host's stop hook runs
 * in the scheduler's Lua code). */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binding.h"

#define GROUP_MT "mylua.task_group"
#define WORKER_MT "mylua.task_worker"
/* Registry: coroutine -> its worker object (weak keys), and worker
 * (light userdata) -> the coroutine whose job runs on it, which keeps the
 * coroutine, and everything its stack holds, alive while the job runs. */
#define TASKS_KEY "mylua.tasks"
#define RUNNING_KEY "mylua.tasks_running"

typedef struct group group;

typedef struct worker {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t th;
    int started, stop;
    myl_lua_job job; /* non-NULL from submit until the job has ended */
    void *arg;
    group *g;
    struct worker *next_done; /* on the done list */
    int listed;
} worker;

struct group {
    int running; /* jobs of the group not yet collected by wait (under hub_mu) */
    int tasks;   /* attached and not detached: with one, nothing runs meanwhile */
    int closed;
};

/* The process's done list and its pipe: one for every Lua state, each
 * entry tagged with its group. */
static pthread_mutex_t hub_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hub_cv = PTHREAD_COND_INITIALIZER; /* a job ended */
static pthread_once_t hub_once = PTHREAD_ONCE_INIT;
static int hub_pipe[2] = {-1, -1};
static int hub_ok;
static worker *done_head;
static int jobs_running; /* jobs that have not ended, in the process */

static void hub_init(void)
{
    if (pipe(hub_pipe) != 0) return;
    for (int i = 0; i < 2; i++) {
        fcntl(hub_pipe[i], F_SETFD, FD_CLOEXEC);
        fcntl(hub_pipe[i], F_SETFL, fcntl(hub_pipe[i], F_GETFL) | O_NONBLOCK);
    }
    hub_ok = 1;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->job && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
        if (!w->job) break;
        myl_lua_job job = w->job;
        void *job_arg = w->arg;
        pthread_mutex_unlock(&w->mu);
        job(job_arg);
        pthread_mutex_lock(&w->mu);
        w->job = NULL;
        pthread_mutex_unlock(&w->mu);
        pthread_mutex_lock(&hub_mu);
        w->next_done = done_head;
        done_head = w;
        w->listed = 1;
        jobs_running--;
        pthread_cond_broadcast(&hub_cv);
        pthread_mutex_unlock(&hub_mu);
        char b = 1;
        ssize_t n = write(hub_pipe[1], &b, 1);
        (void)n; /* a full pipe already wakes the reader */
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Stops the worker's thread, after its job if one runs, and takes it off
 * the done list; the worker can then be freed. */
static void worker_stop(worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->started) pthread_join(w->th, NULL);
    w->started = 0;
    pthread_mutex_lock(&hub_mu);
    if (w->listed) {
        for (worker **p = &done_head; *p; p = &(*p)->next_done)
            if (*p == w) {
                *p = w->next_done;
                break;
            }
        w->listed = 0;
        if (w->g) w->g->running--;
    }
    pthread_mutex_unlock(&hub_mu);
}

typedef struct worker_ud {
    worker *w;
} worker_ud;

static int worker_gc(lua_State *L)
{
    worker_ud *wu = luaL_checkudata(L, 1, WORKER_MT);
    if (wu->w) {
        worker_stop(wu->w);
        pthread_mutex_destroy(&wu->w->mu);
        pthread_cond_destroy(&wu->w->cv);
        free(wu->w);
        wu->w = NULL;
    }
    return 0;
}

/* The worker of the running coroutine, or NULL when it is no task. */
static worker *task_worker(lua_State *L)
{
    if (!lua_isyieldable(L)) return NULL;
    worker *w = NULL;
    if (lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY) == LUA_TTABLE) {
        lua_pushthread(L);
        if (lua_rawget(L, -2) == LUA_TUSERDATA) {
            worker_ud *wu = lua_touserdata(L, -1);
            w = wu->w;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    /* A task alone in its group runs its jobs inline: a hand-off to a
     * thread costs two wake-ups and nothing else would run meanwhile. */
    return w && w->g && !w->g->closed && w->g->tasks > 1 ? w : NULL;
}

int myl_lua_can_offload(lua_State *L) { return task_worker(L) != NULL; }

/* The value a task yields while its job runs: its address is unique. */
static const char yielded_token = 0;

static int start_thread(worker *w)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&w->th, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0) w->started = 1;
    return rc;
}

int myl_lua_offload(lua_State *L, myl_lua_job job, void *arg, lua_KFunction k, lua_KContext ctx)
{
    worker *w = task_worker(L);
    if (w && !w->started) {
        pthread_once(&hub_once, hub_init);
        if (!hub_ok || start_thread(w) != 0) w = NULL; /* no thread: inline it is */
    }
    if (!w) {
        job(arg);
        return k(L, LUA_OK, ctx);
    }
    /* The coroutine stays reachable while the job runs. */
    luaL_checkstack(L, 4, "offload");
    if (lua_getfield(L, LUA_REGISTRYINDEX, RUNNING_KEY) != LUA_TTABLE) {
        /* made by the group, so only gone if a script emptied the registry */
        lua_pop(L, 1);
        job(arg);
        return k(L, LUA_OK, ctx);
    }
    lua_pushlightuserdata(L, w);
    lua_pushthread(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    pthread_mutex_lock(&hub_mu);
    jobs_running++;
    w->g->running++;
    pthread_mutex_unlock(&hub_mu);
    pthread_mutex_lock(&w->mu);
    w->job = job;
    w->arg = arg;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    lua_pushlightuserdata(L, (void *)&yielded_token);
    return lua_yieldk(L, 1, ctx, k);
}

void myl_lua_offload_drain(void)
{
    pthread_mutex_lock(&hub_mu);
    while (jobs_running > 0) pthread_cond_wait(&hub_cv, &hub_mu);
    pthread_mutex_unlock(&hub_mu);
}

/* ---- the group ---- */

typedef struct group_ud {
    group *g;
} group_ud;

enum { UV_WORKERS = 1 }; /* coroutine -> worker object */

static group_ud *check_group(lua_State *L)
{
    group_ud *gu = myl_lua_check_self(L, GROUP_MT);
    if (!gu->g || gu->g->closed) luaL_error(L, "attempt to use a closed task group");
    return gu;
}

/* group:attach(co): co becomes a task of the group. */
static int group_attach(lua_State *L)
{
    group_ud *gu = check_group(L);
    luaL_checktype(L, 2, LUA_TTHREAD);
    lua_settop(L, 2);
    worker_ud *wu = lua_newuserdatauv(L, sizeof *wu, 0);
    wu->w = NULL;
    luaL_setmetatable(L, WORKER_MT);
    worker *w = calloc(1, sizeof *w);
    if (!w) return luaL_error(L, "attach: out of memory");
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->g = gu->g;
    wu->w = w;
    gu->g->tasks++;
    lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_getiuservalue(L, 1, UV_WORKERS);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_rawset(L, -3);
    return 0;
}

/* Ends the task co of the group at stack index gidx (its thread stopped,
 * after the job it runs), forgetting it. */
static void detach(lua_State *L, int gidx, int co_idx)
{
    gidx = lua_absindex(L, gidx);
    co_idx = lua_absindex(L, co_idx);
    lua_getiuservalue(L, gidx, UV_WORKERS);
    lua_pushvalue(L, co_idx);
    if (lua_rawget(L, -2) == LUA_TUSERDATA) {
        worker_ud *wu = lua_touserdata(L, -1);
        if (wu->w) {
            worker_stop(wu->w);
            if (wu->w->g) wu->w->g->tasks--;
            wu->w->g = NULL;
            if (lua_getfield(L, LUA_REGISTRYINDEX, RUNNING_KEY) == LUA_TTABLE) {
                lua_pushlightuserdata(L, wu->w);
                lua_pushnil(L);
                lua_rawset(L, -3);
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    lua_pushvalue(L, co_idx);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY) == LUA_TTABLE) {
        lua_pushvalue(L, co_idx);
        lua_pushnil(L);
        lua_rawset(L, -3);
    }
    lua_pop(L, 1);
}

/* group:detach(co) */
static int group_detach(lua_State *L)
{
    check_group(L);
    luaL_checktype(L, 2, LUA_TTHREAD);
    detach(L, 1, 2);
    return 0;
}

/* group:running(): jobs of the group whose coroutine was not resumed yet. */
static int group_running(lua_State *L)
{
    group_ud *gu = check_group(L);
    pthread_mutex_lock(&hub_mu);
    int n = gu->g->running;
    pthread_mutex_unlock(&hub_mu);
    lua_pushinteger(L, n);
    return 1;
}

/* Takes the group's workers off the done list; pushes their coroutines in
 * the array on top of the stack.  Returns how many. */
static int take_done(lua_State *L, group *g)
{
    worker *mine = NULL;
    pthread_mutex_lock(&hub_mu);
    for (worker **p = &done_head; *p;) {
        worker *w = *p;
        if (w->g == g) {
            *p = w->next_done;
            w->listed = 0;
            g->running--;
            w->next_done = mine;
            mine = w;
        } else {
            p = &w->next_done;
        }
    }
    pthread_mutex_unlock(&hub_mu);
    int n = 0;
    lua_getfield(L, LUA_REGISTRYINDEX, RUNNING_KEY);
    while (mine) {
        worker *w = mine;
        mine = w->next_done;
        lua_pushlightuserdata(L, w);
        if (lua_rawget(L, -2) == LUA_TTHREAD) {
            lua_rawseti(L, -3, (lua_Integer)lua_rawlen(L, -3) + 1);
            n++;
        } else {
            lua_pop(L, 1);
        }
        lua_pushlightuserdata(L, w);
        lua_pushnil(L);
        lua_rawset(L, -3);
    }
    lua_pop(L, 1);
    return n;
}

/* group:wait([seconds]): the coroutines whose jobs have ended (an array,
 * to resume), waiting up to `seconds` (nil: until one ends) for one when
 * none has; empty when no job of the group runs, the time is up or a
 * signal came. */
static int group_wait(lua_State *L)
{
    group_ud *gu = check_group(L);
    double timeout = luaL_optnumber(L, 2, -1);
    lua_settop(L, 1);
    lua_newtable(L);
    if (take_done(L, gu->g) > 0) return 1;
    pthread_mutex_lock(&hub_mu);
    int running = gu->g->running;
    pthread_mutex_unlock(&hub_mu);
    if (running == 0 || !hub_ok) return 1;
    struct pollfd p = {hub_pipe[0], POLLIN, 0};
    int ms = timeout < 0 ? -1 : timeout > 86400 ? 86400000 : (int)(timeout * 1000 + 0.999);
    if (poll(&p, 1, ms) > 0) {
        char buf[256];
        while (read(hub_pipe[0], buf, sizeof buf) > 0) {}
    }
    take_done(L, gu->g);
    return 1;
}

/* close(), __close and __gc: every task's thread stopped (after the job
 * it runs: bounded by the connections' deadline caps), the coroutines
 * released. */
static int group_close(lua_State *L)
{
    group_ud *gu = myl_lua_check_self(L, GROUP_MT);
    if (!gu->g || gu->g->closed) return 0;
    gu->g->closed = 1;
    lua_settop(L, 1);
    lua_getiuservalue(L, 1, UV_WORKERS);
    lua_newtable(L); /* the keys first: detach edits the table */
    lua_pushnil(L);
    while (lua_next(L, 2)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, 3, (lua_Integer)lua_rawlen(L, 3) + 1);
    }
    for (lua_Integer i = 1, n = (lua_Integer)lua_rawlen(L, 3); i <= n; i++) {
        lua_rawgeti(L, 3, i);
        detach(L, 1, -1);
        lua_pop(L, 1);
    }
    return 0;
}

static int group_gc(lua_State *L)
{
    group_close(L);
    group_ud *gu = lua_touserdata(L, 1);
    free(gu->g);
    gu->g = NULL;
    return 0;
}

/* core.task_group() */
static int task_group(lua_State *L)
{
    group_ud *gu = lua_newuserdatauv(L, sizeof *gu, 1);
    gu->g = NULL;
    luaL_setmetatable(L, GROUP_MT);
    lua_newtable(L);
    lua_setiuservalue(L, -2, UV_WORKERS);
    gu->g = calloc(1, sizeof *gu->g);
    if (!gu->g) return luaL_error(L, "task_group: out of memory");
    return 1;
}

/* core.deadline_cap(db, at): every wait of db ends by `at` (mylua.monotonic()
 * time; nil or 0: no cap). */
static int deadline_cap(lua_State *L)
{
    conn_ud *cu = luaL_checkudata(L, 1, MYL_CONNECTION_MT);
    double at = luaL_optnumber(L, 2, 0);
    myl_guard_check(L, &cu->g, cu->c != NULL, "connection");
    myl_conn_set_deadline_cap(cu->c, at);
    return 0;
}

void myl_lua_worker_register(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    static const luaL_Reg group_methods[] = {
        {"attach", group_attach}, {"detach", group_detach}, {"wait", group_wait},
        {"running", group_running}, {"close", group_close}, {NULL, NULL},
    };
    static const luaL_Reg group_meta[] = {
        {"__gc", group_gc}, {"__close", group_close}, {NULL, NULL},
    };
    static const luaL_Reg worker_meta[] = {{"__gc", worker_gc}, {NULL, NULL}};
    myl_lua_new_type(L, GROUP_MT, group_methods, group_meta, NULL);
    lua_pop(L, 1);
    myl_lua_new_type(L, WORKER_MT, NULL, worker_meta, NULL);
    lua_pop(L, 1);
    if (lua_getfield(L, LUA_REGISTRYINDEX, TASKS_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 0);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_setfield(L, LUA_REGISTRYINDEX, TASKS_KEY);
    } else {
        lua_pop(L, 1);
    }
    if (lua_getfield(L, LUA_REGISTRYINDEX, RUNNING_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_setfield(L, LUA_REGISTRYINDEX, RUNNING_KEY);
    } else {
        lua_pop(L, 1);
    }
    static const luaL_Reg functions[] = {
        {"task_group", task_group}, {"deadline_cap", deadline_cap}, {NULL, NULL},
    };
    myl_lua_add_functions(L, idx, functions);
    lua_pushlightuserdata(L, (void *)&yielded_token);
    lua_setfield(L, idx, "task_yielded");
}
