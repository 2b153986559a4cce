/* The auth loop, shared by the first login (handshake.c) and COM_CHANGE_USER
 * (conn.c): picks the plugin the server names, runs it (a plugin of the
 * table, or the front end's through an exchange), sends what it answers and
 * follows the server through auth switches and more-data packets until OK
 * or ERR.
 *
 * Time the client spends asking someone (a prompt, a front-end plugin doing
 * anything but I/O) does not count against the connect deadline: a person
 * typing a one-time code should not make the login time out. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "classify.h"
#include "conn_internal.h"
#include "rd.h"

#define MAX_AUTH_PACKETS 64

/* The plugin running now: one of the table, or the front end's. */
typedef struct current_plugin {
    const myl_auth_plugin *core; /* NULL for the front end's */
    char name[65];
} current_plugin;

/* What the loop's steps share. */
typedef struct login_run {
    myl_conn *c;
    myl_login *lg;
    myl_auth_ctx ctx;
    myl_auth_hooks timed; /* the front end's hooks, the prompt's time paused */
    const myl_auth_hooks *user_hooks;
    current_plugin cur;
    int first_sent; /* the first packet (handshake response / COM_CHANGE_USER) went */
    const uint8_t *verdict; /* a packet that ended a front-end plugin's exchange */
    size_t verdict_len;
    int have_verdict;
    int awaiting_data; /* the first plugin waits for its data (see myl_auth_login) */
} login_run;

struct myl_auth_exchange {
    login_run *run;
    const uint8_t *data;
    size_t len;
    double paused_since; /* when the front end last got control back */
};

/* ---- the deadline does not run while the client asks or thinks ---- */

static void pause_deadline(myl_conn *c, double since)
{
    if (c->op_deadline > 0) c->op_deadline = myl_capped(c, c->op_deadline + myl_now() - since);
}

static int timed_prompt(void *ud, const char *q, size_t qlen, int echo, int last,
                        myl_buf *answer, myl_error *err)
{
    login_run *run = ud;
    double t0 = myl_now();
    run->c->frontend_auth = 1;
    int rc = run->user_hooks->prompt(run->user_hooks->ud, q, qlen, echo, last, answer, err);
    pause_deadline(run->c, t0);
    return rc;
}

/* ---- sending ---- */

/* Every packet of a login may carry the password or what it is derived
 * from: the framer's buffer is wiped once it went. */
static void wipe_out(myl_conn *c)
{
    if (c->fr.out.data) OPENSSL_cleanse(c->fr.out.data, c->fr.out.cap);
}

static int send_answer(login_run *run, const uint8_t *p, size_t n)
{
    myl_conn *c = run->c;
    int rc;
    if (!run->first_sent) {
        myl_buf auth = {(uint8_t *)p, n, n};
        run->first_sent = 1;
        rc = run->lg->send_first(c, run->lg->ud, run->cur.name, &auth);
    } else {
        rc = myl_out_begin(c, n);
        if (rc == 0) {
            if (n) myl_buf_put(&c->fr.out, p, n);
            rc = myl_send_out(c);
        }
    }
    wipe_out(c);
    return rc;
}

/* ---- choosing a plugin ---- */

static int is_front_end_plugin(const login_run *run, const char *name)
{
    const myl_auth_hooks *h = run->user_hooks;
    return h->run_plugin && h->has_plugin && h->has_plugin(h->ud, name);
}

/* Makes `name` the current plugin; -1 with the error set when it is not
 * allowed or nobody implements it. */
static int choose(login_run *run, const char *name, size_t len)
{
    myl_conn *c = run->c;
    char shown[65];
    snprintf(shown, sizeof shown, "%.*s", (int)(len > 64 ? 64 : len), name);
    if (memchr(name, 0, len) || len > 64)
        return myl_conn_malformed(c, "authentication plugin name");
    const char *allowed = run->lg->opt->auth_plugins;
    if (!myl_auth_allowed(allowed, name, len)) {
        char msg[MYL_ERRMSG_SIZE];
        snprintf(msg, sizeof msg, "Authentication plugin '%s' is not allowed: auth_plugins "
                 "names only %.300s", shown, allowed);
        return myl_conn_broken(c, MYL_CR_PLUGIN_NOT_ALLOWED, msg);
    }
    memcpy(run->cur.name, shown, strlen(shown) + 1);
    run->cur.core = NULL;
    if (is_front_end_plugin(run, run->cur.name)) return 0;
    run->cur.core = myl_auth_find(name, len);
    if (run->cur.core) return 0;
    char msg[MYL_ERRMSG_SIZE];
    if (len == 18 && memcmp(name, "mysql_old_password", 18) == 0)
        snprintf(msg, sizeof msg, "Authentication plugin 'mysql_old_password' is refused: its "
                 "hash was broken long ago (give the user a current plugin on the server)");
    else
        snprintf(msg, sizeof msg, "Authentication plugin '%s' cannot be loaded: the client does "
                 "not have it (a script can supply it as auth = { [\"%s\"] = "
                 "function(exchange) ... end })", shown, shown);
    return myl_conn_broken(c, MYL_CR_AUTH_PLUGIN_CANNOT_LOAD, msg);
}

/* The plugin of the first packet: the server's choice when the client may
 * use it; else the first of auth_plugins the client has; else
 * mysql_native_password, and the server switches us if it must. */
static int choose_first(login_run *run)
{
    const myl_login *lg = run->lg;
    const char *sp = lg->server_plugin ? lg->server_plugin : "";
    size_t splen = strlen(sp);
    const char *allowed = lg->opt->auth_plugins;
    if (splen && myl_auth_allowed(allowed, sp, splen) &&
        (myl_auth_find(sp, splen) || is_front_end_plugin(run, sp)))
        return choose(run, sp, splen);
    if (allowed) {
        const char *entry;
        size_t n;
        for (const char *p = allowed; (p = myl_auth_list_next(p, &entry, &n));) {
            char name[65];
            if (n == 0 || n >= sizeof name) continue;
            memcpy(name, entry, n);
            name[n] = 0;
            if (myl_auth_find(name, n) || is_front_end_plugin(run, name))
                return choose(run, name, n);
        }
        return choose(run, sp, splen); /* nothing usable: says which is not allowed */
    }
    return choose(run, "mysql_native_password", 21);
}

/* ---- running a plugin ---- */

static int plugin_failed(myl_conn *c)
{
    if (!c->err.code)
        return myl_conn_broken(c, MYL_CR_UNKNOWN_ERROR, "Authentication failed in the client");
    return myl_conn_close_on_error(c);
}

/* A round of a plugin of the table. */
static int core_round(login_run *run, int round, const uint8_t *data, size_t n)
{
    myl_buf answer = {0};
    myl_auth_step st = run->cur.core->respond(&run->ctx, round, data, n, &answer);
    int rc = 0;
    if (st == MYL_AUTH_FAILED) rc = plugin_failed(run->c);
    else if (st == MYL_AUTH_SEND) rc = send_answer(run, answer.data, answer.len);
    else if (!run->first_sent) rc = send_answer(run, NULL, 0); /* the first packet must go */
    myl_buf_wipe(&answer);
    return rc;
}

const uint8_t *myl_auth_exchange_data(const myl_auth_exchange *x, size_t *n)
{
    *n = x->len;
    return x->data;
}

int myl_auth_exchange_secure(const myl_auth_exchange *x) { return x->run->ctx.secure; }

/* Time between the front end's calls is its own: not the connect's. */
static void exchange_resume(myl_auth_exchange *x) { pause_deadline(x->run->c, x->paused_since); }
static void exchange_yield(myl_auth_exchange *x) { x->paused_since = myl_now(); }

int myl_auth_exchange_write(myl_auth_exchange *x, const void *p, size_t n, myl_error *err)
{
    login_run *run = x->run;
    if (run->have_verdict) {
        myl_error_set(err, MYL_CR_AUTH_PLUGIN_ERR,
                      "the server has already answered; plugin '%s' cannot write any more",
                      run->cur.name);
        return -1;
    }
    exchange_resume(x);
    int rc = send_answer(run, p, n);
    exchange_yield(x);
    if (rc) *err = run->c->err;
    return rc;
}

int myl_auth_exchange_read(myl_auth_exchange *x, const uint8_t **p, size_t *n, myl_error *err)
{
    login_run *run = x->run;
    myl_conn *c = run->c;
    if (run->have_verdict) return 0;
    exchange_resume(x);
    int rc = 0;
    if (!run->first_sent) rc = send_answer(run, NULL, 0);
    const uint8_t *pkt = NULL;
    size_t len = 0;
    if (rc == 0) rc = myl_read_packet(c, &pkt, &len);
    exchange_yield(x);
    if (rc) {
        *err = c->err;
        return -1;
    }
    switch (myl_classify(MYL_WAIT_AUTH, pkt, len, c->caps)) {
    case MYL_PKT_OK:
    case MYL_PKT_ERR:
    case MYL_PKT_AUTH_SWITCH:
    case MYL_PKT_OLD_AUTH:
        /* the server's verdict: the loop reads it once the plugin returns */
        run->verdict = pkt;
        run->verdict_len = len;
        run->have_verdict = 1;
        return 0;
    case MYL_PKT_AUTH_MORE:
        *p = pkt + 1;
        *n = len - 1;
        return 1;
    default:
        if (len == 0) {
            myl_conn_malformed(c, "empty authentication reply");
            *err = c->err;
            return -1;
        }
        *p = pkt;
        *n = len;
        return 1;
    }
}

/* A front-end plugin: it reads and writes itself, then the loop goes on. */
static int front_end_run(login_run *run, const uint8_t *data, size_t n)
{
    myl_conn *c = run->c;
    myl_auth_exchange x = {run, data, n, myl_now()};
    const myl_auth_hooks *h = run->user_hooks;
    run->have_verdict = 0;
    c->frontend_auth = 1;
    myl_error err;
    myl_error_clear(&err);
    int rc = h->run_plugin(h->ud, run->cur.name, &x, &err);
    exchange_resume(&x);
    if (rc) {
        /* its own error, or the I/O error it was given */
        if (c->state == MYL_STATE_BROKEN || c->state == MYL_STATE_CLOSED) return -1;
        if (err.code) c->err = err;
        return plugin_failed(c);
    }
    if (!run->first_sent && send_answer(run, NULL, 0)) return -1;
    return 0;
}

/* Starts the current plugin with the data the server gave it. */
static int start_plugin(login_run *run, const uint8_t *data, size_t n)
{
    myl_login *lg = run->lg;
    if (lg->on_plugin &&
        lg->on_plugin(run->c, lg->ud, run->cur.name, run->cur.core, data, n))
        return -1;
    run->ctx.scramble_len = n < sizeof run->ctx.scramble ? n : sizeof run->ctx.scramble;
    memcpy(run->ctx.scramble, data, run->ctx.scramble_len);
    run->ctx.step = 0;
    run->ctx.questions = 0;
    run->ctx.learned_hash_len = 0;
    if (!run->cur.core) return front_end_run(run, data, n);
    return core_round(run, 0, data, n);
}

/* The server switched plugins: 0xFE, name, NUL, the new plugin's data. */
static int switch_plugin(login_run *run, const uint8_t *p, size_t n)
{
    myl_conn *c = run->c;
    myl_rd r = myl_rd_init(p + 1, n - 1);
    size_t plen;
    const char *name = myl_rd_nulstr(&r, &plen);
    if (!name) return myl_conn_malformed(c, "auth switch request");
    if (choose(run, name, plen)) return -1;
    size_t left = myl_rd_left(&r);
    /* a later COM_CHANGE_USER answers to the server's scramble, which only
     * a switch to mysql_native_password renews (a trailing NUL is not part
     * of it) */
    if (left >= 20 && run->cur.core == &myl_auth_native_password) {
        memcpy(c->scramble, r.p, 20);
        c->scramble_len = 20;
    }
    return start_plugin(run, r.p, left);
}

int myl_auth_login(myl_conn *c, myl_login *lg)
{
    static const myl_auth_hooks no_hooks;
    login_run run;
    memset(&run, 0, sizeof run);
    run.c = c;
    run.lg = lg;
    run.user_hooks = lg->opt->auth_hooks ? lg->opt->auth_hooks : &no_hooks;
    run.timed = *run.user_hooks;
    if (run.timed.prompt) {
        run.timed.prompt = timed_prompt;
        run.timed.ud = &run;
    }
    run.ctx.password = lg->opt->password ? lg->opt->password : "";
    run.ctx.secure = lg->secure;
    run.ctx.tls = c->tls_on;
    run.ctx.allow_cleartext = lg->opt->allow_cleartext;
    run.ctx.server_public_key = lg->opt->server_public_key;
    run.ctx.get_server_public_key = lg->opt->get_server_public_key;
    run.ctx.hooks = &run.timed;
    run.ctx.err = &c->err;

    if (choose_first(&run)) return -1;
    /* The greeting's data was made for the plugin it names.  Another
     * plugin answers nothing first, and starts with what the server sends
     * it next (its own scramble or nonce), as the MySQL client library
     * does: a plugin of the table once that arrives, the front end's at
     * once (its first read sends the empty answer). */
    const char *sp = lg->server_plugin ? lg->server_plugin : "";
    int rc;
    if (!*sp || strcmp(sp, run.cur.name) == 0)
        rc = start_plugin(&run, lg->scramble, lg->scramble_len);
    else if (run.cur.core)
        rc = send_answer(&run, NULL, 0), run.awaiting_data = 1;
    else
        rc = start_plugin(&run, (const uint8_t *)"", 0);
    if (rc) return -1;
    int round = 0;
    for (int packets = 0; packets < MAX_AUTH_PACKETS; packets++) {
        const uint8_t *p;
        size_t n;
        if (run.have_verdict) {
            p = run.verdict;
            n = run.verdict_len;
            run.have_verdict = 0;
        } else if (myl_read_packet(c, &p, &n)) {
            return -1;
        }
        myl_pkt kind = myl_classify(MYL_WAIT_AUTH, p, n, c->caps);
        switch (kind) {
        case MYL_PKT_OK: /* authenticated */
            if (myl_conn_handle_ok(c, p, n)) return -1;
            /* No response is pending after a login, whatever the flags say:
             * a "more results" here would leave the connection waiting for
             * a result nobody asked for. */
            c->state = MYL_STATE_READY;
            c->status &= ~(unsigned)MYL_STATUS_MORE_RESULTS_EXISTS;
            c->last.flags = c->status;
            lg->plugin = run.cur.core;
            lg->learned_hash_len = run.ctx.learned_hash_len;
            memcpy(lg->learned_hash, run.ctx.learned_hash, run.ctx.learned_hash_len);
            OPENSSL_cleanse(run.ctx.learned_hash, sizeof run.ctx.learned_hash);
            return 0;
        case MYL_PKT_ERR: /* refused */
            myl_conn_server_error(c, p, n);
            return myl_conn_close_on_error(c);
        case MYL_PKT_OLD_AUTH:
            return choose(&run, "mysql_old_password", 18);
        case MYL_PKT_AUTH_SWITCH:
            round = 0;
            if (switch_plugin(&run, p, n)) return -1;
            break;
        default:
            /* More data for the current plugin: after 0x01 (AuthMoreData),
             * or bare, as MariaDB sends a plugin's data unless its first
             * byte could be read as OK, ERR, a switch or AuthMoreData (a
             * dialog question, parsec's salt). */
            if (kind == MYL_PKT_AUTH_MORE) {
                p++;
                n--;
            } else if (n == 0) {
                return myl_conn_malformed(c, "empty authentication reply");
            }
            if (run.awaiting_data) {
                run.awaiting_data = 0;
                if (start_plugin(&run, p, n)) return -1;
                break;
            }
            if (!run.cur.core) {
                char what[160];
                snprintf(what, sizeof what, "the server sent more data after plugin '%s' "
                         "finished its exchange", run.cur.name);
                return myl_conn_malformed(c, what);
            }
            if (core_round(&run, ++round, p, n)) return -1;
            break;
        }
    }
    return myl_conn_malformed(c, "too many authentication rounds");
}
