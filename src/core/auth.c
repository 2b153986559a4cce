/* Connecting: the transport, the server's greeting, the handshake response
 * and authentication (mysql_native_password, auth switch requests). */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_internal.h"
#include "rd.h"
#include "version.h"

#define DEFAULT_SOCKET "/run/mysqld/mysqld.sock"

static void put_lenenc_str(myl_buf *b, const char *s, size_t n)
{
    myl_buf_put_lenenc(b, n);
    myl_buf_put(b, s, n);
}

static int put_attrs(myl_conn *c, const myl_options *opt)
{
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    const char *fixed[] = {"_client_name", "mylua", "_client_version", MYL_VERSION,
                           "_pid", pid};
    myl_buf a = {0};
    size_t total = 0;
    for (size_t i = 0; i < 6; i++) total += 9 + strlen(fixed[i]);
    for (size_t i = 0; i < 2 * opt->nattrs; i++) total += 9 + strlen(opt->attrs[i]);
    if (myl_buf_reserve(&a, total)) return myl_conn_oom(c);
    for (size_t i = 0; i < 6; i++) put_lenenc_str(&a, fixed[i], strlen(fixed[i]));
    for (size_t i = 0; i < 2 * opt->nattrs; i++)
        put_lenenc_str(&a, opt->attrs[i], strlen(opt->attrs[i]));
    int rc = 0;
    if (myl_buf_reserve(&c->fr.out, 9 + a.len)) rc = myl_conn_oom(c);
    else {
        myl_buf_put_lenenc(&c->fr.out, a.len);
        myl_buf_put(&c->fr.out, a.data, a.len);
    }
    myl_buf_free(&a);
    return rc;
}

/* The login name, as the mariadb client takes it when no user is given:
 * $USER first (cron may not set it), then the password database. */
static const char *login_name(void)
{
    const char *u = getenv("USER");
    if (u && *u) return u;
    struct passwd *pw = getpwuid(geteuid());
    return pw && pw->pw_name ? pw->pw_name : "";
}

static int send_handshake_response(myl_conn *c, const myl_options *opt, const uint8_t *scramble,
                                   size_t scramble_len)
{
    const char *user = opt->user ? opt->user : login_name();
    const char *db = opt->database;
    uint8_t token[20];
    size_t tlen = myl_native_password_token(opt->password, scramble, scramble_len, token);
    size_t hint = 64 + strlen(user) + tlen + (db ? strlen(db) : 0) + 32;
    if (myl_out_begin(c, hint)) return -1;
    myl_buf_put_u32(&c->fr.out, (uint32_t)c->caps);
    myl_buf_put_u32(&c->fr.out, MAX_PACKET);
    myl_buf_put_u8(&c->fr.out, (uint8_t)c->charset->collation_id);
    memset(c->fr.out.data + c->fr.out.len, 0, 23); /* filler (MariaDB's extended caps: none) */
    c->fr.out.len += 23;
    myl_buf_put(&c->fr.out, user, strlen(user) + 1);
    if (c->caps & MYL_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
        myl_buf_put_lenenc(&c->fr.out, tlen);
    } else {
        myl_buf_put_u8(&c->fr.out, (uint8_t)tlen);
    }
    myl_buf_put(&c->fr.out, token, tlen);
    if (c->caps & MYL_CLIENT_CONNECT_WITH_DB) myl_buf_put(&c->fr.out, db, strlen(db) + 1);
    if (c->caps & MYL_CLIENT_PLUGIN_AUTH)
        myl_buf_put(&c->fr.out, "mysql_native_password", sizeof "mysql_native_password");
    if ((c->caps & MYL_CLIENT_CONNECT_ATTRS) && put_attrs(c, opt)) return -1;
    return myl_send_out(c);
}

/* Answers an AuthSwitchRequest: plugin name, NUL, plugin data. */
static int auth_switch(myl_conn *c, const myl_options *opt, const uint8_t *p, size_t n)
{
    myl_rd r = myl_rd_init(p + 1, n - 1);
    size_t plen;
    const char *plugin = myl_rd_nulstr(&r, &plen);
    if (!plugin) return myl_conn_malformed(c, "auth switch request");
    if (strcmp(plugin, "mysql_native_password") != 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "Authentication plugin '%.64s' cannot be loaded%s", plugin,
                 strcmp(plugin, "mysql_clear_password") == 0
                     ? ": it would send the password in clear over an insecure connection"
                     : ": not supported by this client");
        return myl_conn_broken(c, MYL_CR_AUTH_PLUGIN_CANNOT_LOAD, msg);
    }
    size_t dlen = myl_rd_left(&r);
    if (dlen > 0 && r.p[dlen - 1] == 0) dlen--; /* the scramble's trailing NUL */
    if (dlen < 20) return myl_conn_malformed(c, "auth switch scramble too short");
    uint8_t token[20];
    size_t tlen = myl_native_password_token(opt->password, r.p, dlen, token);
    if (myl_out_begin(c, tlen)) return -1;
    myl_buf_put(&c->fr.out, token, tlen);
    return myl_send_out(c);
}

static int authenticate(myl_conn *c, const myl_options *opt)
{
    for (int round = 0; round < 8; round++) {
        const uint8_t *p;
        size_t n;
        if (myl_read_packet(c, &p, &n)) return -1;
        if (n == 0) return myl_conn_malformed(c, "empty authentication reply");
        switch (p[0]) {
        case 0x00: /* OK: authenticated */
            if (myl_conn_handle_ok(c, p, n)) return -1;
            return 0;
        case 0xFF: /* ERR: refused */
            myl_conn_server_error(c, p, n);
            myl_conn_keep_cause(c, c->err.message);
            myl_conn_close_transport(c);
            c->state = MYL_STATE_BROKEN;
            return -1;
        case 0xFE: /* AuthSwitchRequest */
            if (n == 1)
                return myl_conn_broken(c, MYL_CR_AUTH_PLUGIN_CANNOT_LOAD,
                              "Authentication plugin 'mysql_old_password' cannot be loaded");
            if (auth_switch(c, opt, p, n)) return -1;
            break;
        default: /* 0x01 AuthMoreData belongs to plugins we did not choose */
            return myl_conn_malformed(c, "unexpected authentication packet");
        }
    }
    return myl_conn_malformed(c, "too many authentication rounds");
}

static void keep_server_version(myl_conn *c, const char *v, size_t len)
{
    /* MariaDB prefixes "5.5.5-" so old replication clients accept it. */
    if (len > 6 && memcmp(v, "5.5.5-", 6) == 0) {
        v += 6;
        len -= 6;
    }
    if (len >= sizeof c->server_version) len = sizeof c->server_version - 1;
    memcpy(c->server_version, v, len);
    c->server_version[len] = '\0';
    unsigned long part[3] = {0, 0, 0};
    const char *s = c->server_version;
    for (int i = 0; i < 3; i++) {
        while (*s >= '0' && *s <= '9') part[i] = part[i] * 10 + (unsigned long)(*s++ - '0');
        if (*s != '.') break;
        s++;
    }
    c->version_number = part[0] * 10000 + part[1] * 100 + part[2];
}

int myl_open_and_authenticate(myl_conn *c, const myl_options *opt)
{
    myl_connect_spec spec;
    int use_socket = opt->protocol == MYL_PROTOCOL_SOCKET ||
                     (opt->protocol == MYL_PROTOCOL_AUTO &&
                      (!opt->host || strcmp(opt->host, "localhost") == 0));
    spec.host = opt->host ? opt->host : "localhost";
    spec.port = opt->port ? opt->port : 3306;
    spec.socket_path = use_socket ? (opt->socket_path ? opt->socket_path : DEFAULT_SOCKET) : NULL;
    spec.deadline = c->op_deadline;
    c->t = opt->open_transport
               ? opt->open_transport(opt->open_ud, &spec, c->host_info, sizeof c->host_info, &c->err)
               : myl_socket_open(&spec, c->host_info, sizeof c->host_info, &c->err);
    if (!c->t) return -1;

    const uint8_t *p;
    size_t n;
    c->fr.seq = 0;
    if (myl_read_packet(c, &p, &n)) return -1;
    if (n > 0 && p[0] == 0xFF) { /* e.g. too many connections, host blocked */
        myl_conn_server_error(c, p, n);
        myl_conn_close_transport(c);
        c->state = MYL_STATE_BROKEN;
        return -1;
    }
    myl_handshake hs;
    if (myl_parse_handshake(p, n, &hs))
        return myl_conn_broken(c, MYL_CR_SERVER_HANDSHAKE_ERR, "Error in server handshake");
    if (!(hs.capabilities & MYL_CLIENT_PROTOCOL_41) ||
        !(hs.capabilities & MYL_CLIENT_SECURE_CONNECTION))
        return myl_conn_broken(c, MYL_CR_VERSION_ERROR,
                      "Server is too old: protocol 4.1 with secure connection is required");
    keep_server_version(c, hs.server_version, hs.server_version_len);
    c->thread_id = hs.thread_id;
    c->status = hs.status;
    uint8_t scramble[64];
    size_t scramble_len = hs.scramble_len;
    memcpy(scramble, hs.scramble, scramble_len); /* the packet buffer is reused below */

    uint64_t want = MYL_CLIENT_LONG_PASSWORD | MYL_CLIENT_LONG_FLAG | MYL_CLIENT_PROTOCOL_41 |
                    MYL_CLIENT_TRANSACTIONS | MYL_CLIENT_SECURE_CONNECTION |
                    MYL_CLIENT_MULTI_RESULTS | MYL_CLIENT_PS_MULTI_RESULTS |
                    MYL_CLIENT_PLUGIN_AUTH | MYL_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA |
                    MYL_CLIENT_CONNECT_ATTRS | MYL_CLIENT_DEPRECATE_EOF;
    if (opt->multi_statements) want |= MYL_CLIENT_MULTI_STATEMENTS;
    if (opt->database && *opt->database) want |= MYL_CLIENT_CONNECT_WITH_DB;
    c->caps = want & (hs.capabilities & 0xFFFFFFFFu);
    if (opt->database && *opt->database && !(c->caps & MYL_CLIENT_CONNECT_WITH_DB))
        return myl_conn_broken(c, MYL_CR_VERSION_ERROR, "Server cannot select a database at connect");

    if (send_handshake_response(c, opt, scramble, scramble_len)) return -1;
    return authenticate(c, opt);
}
