/* COM_CHANGE_USER: a new login on the open connection, through the same
 * auth loop as the first one (auth_loop.c). */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "conn_internal.h"
#include "options.h"

#define COM_CHANGE_USER 0x11

typedef struct change_request {
    const myl_options *opt;
    const myl_charset *charset;
} change_request;

/* user NUL, auth data (1-byte length), database NUL, charset, plugin NUL,
 * connection attributes (none). */
static int send_change_user(myl_conn *c, void *ud, const char *plugin, const myl_buf *auth)
{
    const change_request *rq = ud;
    char login[256];
    const char *user = rq->opt->user ? rq->opt->user : myl_login_name(login, sizeof login);
    const char *db = rq->opt->database ? rq->opt->database : "";
    if (auth->len > 255)
        return myl_conn_broken(c, MYL_CR_AUTH_PLUGIN_ERR,
                               "Authentication data longer than 255 bytes cannot be sent with "
                               "COM_CHANGE_USER");
    size_t size = 1 + strlen(user) + 1 + 1 + auth->len + strlen(db) + 1 + 2 + strlen(plugin) + 1 + 1;
    if (myl_out_begin(c, size)) return myl_conn_close_on_error(c);
    myl_buf_put_u8(&c->fr.out, COM_CHANGE_USER);
    myl_buf_put(&c->fr.out, user, strlen(user) + 1);
    myl_buf_put_u8(&c->fr.out, (uint8_t)auth->len);
    if (auth->len) myl_buf_put(&c->fr.out, auth->data, auth->len);
    myl_buf_put(&c->fr.out, db, strlen(db) + 1);
    myl_buf_put_u16(&c->fr.out, (uint16_t)rq->charset->collation_id);
    if (c->caps & MYL_CLIENT_PLUGIN_AUTH) myl_buf_put(&c->fr.out, plugin, strlen(plugin) + 1);
    if (c->caps & MYL_CLIENT_CONNECT_ATTRS) myl_buf_put_u8(&c->fr.out, 0);
    return myl_send_out(c);
}

int myl_change_user(myl_conn *c, const myl_options *opt)
{
    if (myl_conn_begin(c)) return -1;
    change_request rq = {opt, c->charset};
    if (opt->charset) {
        rq.charset = myl_charset_find(opt->charset);
        if (!rq.charset) {
            myl_error_set(&c->err, 2019, "Can't initialize character set %s", opt->charset);
            return -1;
        }
    }
    /* The connect's authentication rules hold for every later login. */
    myl_options o = *opt;
    o.auth_plugins = c->auth_plugins;
    o.server_public_key = c->server_public_key;
    o.allow_cleartext = c->allow_cleartext;
    o.get_server_public_key = c->get_server_public_key;
    myl_login lg;
    memset(&lg, 0, sizeof lg);
    lg.opt = &o;
    lg.scramble = c->scramble;
    lg.scramble_len = c->scramble_len;
    lg.server_plugin = c->server_plugin;
    lg.secure = c->secure;
    lg.send_first = send_change_user;
    lg.ud = &rq;
    c->op_deadline = myl_capped(c, c->connect_timeout > 0 ? myl_now() + c->connect_timeout : 0);
    c->phase = "reading authorization packet";
    myl_stmt_new_session(c, "the user was changed");
    int rc = myl_auth_login(c, &lg);
    c->phase = NULL;
    c->op_deadline = 0;
    if (rc) {
        /* the server ends the session after a failed change of user */
        if (c->state != MYL_STATE_CLOSED && c->state != MYL_STATE_BROKEN)
            myl_conn_close_on_error(c);
        return -1;
    }
    c->charset = rq.charset;
    return 0;
}
