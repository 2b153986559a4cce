/* The connection: packet framing over the transport, the handshake, the
 * commands and the response state machine (READY -> HEAD -> ROWS -> ...). */
#include "conn.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "charset.h"
#include "rd.h"
#include "transport.h"
#include "version.h"

#define MAX_PACKET (1024u * 1024u * 1024u) /* the server's max_allowed_packet ceiling */
#define READ_CHUNK 65536
#define MAX_COLUMNS 1000000 /* far beyond any real result; bounds a hostile count */
#define DEFAULT_SOCKET "/run/mysqld/mysqld.sock"

struct myl_conn {
    myl_state state;
    myl_transport *t;
    myl_error err;

    myl_buf in;      /* bytes received; packets are parsed in place */
    size_t in_pos;   /* start of the unconsumed bytes */
    myl_buf big;     /* reassembly of packets split over 16 MiB chunks */
    myl_buf out;     /* outgoing payload, 4 header bytes reserved in front */
    uint8_t seq;     /* the sequence id expected next / sent next */

    double read_timeout, write_timeout;
    double op_deadline;       /* while connecting: one deadline for everything */
    double response_deadline; /* while a whole response is bounded (myl_bound_response) */

    uint64_t caps; /* negotiated capabilities */
    const myl_charset *charset;
    myl_status last;
    unsigned status; /* server status flags, kept current */
    size_t ncols;    /* columns of the result being read */

    char server_version[64];
    unsigned long version_number;
    uint32_t thread_id;
    char host_info[300];
    char broken_cause[200]; /* why the connection broke, for later 2006 errors */
};

/* ------------------------------------------------------------------ */
/* Errors and state */

void myl_columns_free(myl_columns *cols) { free(cols); }

myl_value_class myl_value_class_of(unsigned type, unsigned flags)
{
    switch (type) {
    case MYL_TYPE_TINY:
    case MYL_TYPE_SHORT:
    case MYL_TYPE_LONG:
    case MYL_TYPE_INT24:
    case MYL_TYPE_YEAR: return MYL_VALUE_INT; /* all fit in int64 even unsigned */
    case MYL_TYPE_LONGLONG: return flags & MYL_FLAG_UNSIGNED ? MYL_VALUE_UINT : MYL_VALUE_INT;
    case MYL_TYPE_FLOAT:
    case MYL_TYPE_DOUBLE: return MYL_VALUE_FLOAT;
    case MYL_TYPE_BIT: return MYL_VALUE_BIT;
    case MYL_TYPE_NULL: return MYL_VALUE_NULL;
    default: return MYL_VALUE_STRING;
    }
}

static void close_transport(myl_conn *c)
{
    if (c->t) {
        c->t->close(c->t);
        c->t = NULL;
    }
}

/* Remembers why the connection broke (truncated), for later 2006 errors. */
static void keep_cause(myl_conn *c, const char *msg)
{
    size_t n = strlen(msg);
    if (n >= sizeof c->broken_cause) n = sizeof c->broken_cause - 1;
    memcpy(c->broken_cause, msg, n);
    c->broken_cause[n] = '\0';
}

/* A failure after which the connection cannot be trusted to be in sync. */
static int broken(myl_conn *c, int code, const char *msg)
{
    myl_error_set(&c->err, code, "%s", msg);
    if (c->state != MYL_STATE_BROKEN) keep_cause(c, msg);
    close_transport(c);
    c->state = MYL_STATE_BROKEN;
    return -1;
}

void myl_conn_fail(myl_conn *c, int code, const char *msg) { broken(c, code, msg); }

static int io_failed(myl_conn *c, myl_io_status st, const char *what)
{
    char msg[200];
    switch (st) {
    case MYL_IO_TIMEOUT:
        snprintf(msg, sizeof msg, "Lost connection to server (%s timed out)", what);
        break;
    case MYL_IO_CLOSED:
        snprintf(msg, sizeof msg, "Lost connection to server during query (%s: connection closed)",
                 what);
        break;
    default:
        snprintf(msg, sizeof msg, "Lost connection to server during query (%s: errno %d)", what,
                 c->t ? c->t->last_errno : 0);
    }
    return broken(c, MYL_CR_SERVER_LOST, msg);
}

static int malformed(myl_conn *c, const char *what)
{
    char msg[160];
    snprintf(msg, sizeof msg, "Malformed packet (%s)", what);
    return broken(c, MYL_CR_MALFORMED_PACKET, msg);
}

static int oom(myl_conn *c) { return broken(c, MYL_CR_OUT_OF_MEMORY, "Client run out of memory"); }

static double deadline_for(const myl_conn *c, double timeout)
{
    if (c->op_deadline > 0) return c->op_deadline;
    return timeout > 0 ? myl_now() + timeout : 0;
}

static double read_deadline(const myl_conn *c)
{
    if (c->op_deadline <= 0 && c->response_deadline > 0) return c->response_deadline;
    return deadline_for(c, c->read_timeout);
}

void myl_bound_response(myl_conn *c, int on)
{
    c->response_deadline = on && c->read_timeout > 0 ? myl_now() + c->read_timeout : 0;
}

/* ------------------------------------------------------------------ */
/* Framing: 3-byte length, 1-byte sequence id, payload.  Only this section
 * knows about splitting, reassembly and sequence ids. */

/* Makes at least `need` unconsumed bytes available in c->in. */
static int fill(myl_conn *c, size_t need, double deadline)
{
    while (c->in.len - c->in_pos < need) {
        if (!c->t) return broken(c, MYL_CR_SERVER_GONE_ERROR, "Server has gone away");
        /* The transport only looks at the deadline when it has to wait; a
         * peer that keeps the socket full must run out of time as well. */
        if (deadline > 0 && myl_now() >= deadline)
            return io_failed(c, MYL_IO_TIMEOUT, "reading from server");
        if (c->in_pos > 0) { /* compact lazily: only when we must read more */
            memmove(c->in.data, c->in.data + c->in_pos, c->in.len - c->in_pos);
            c->in.len -= c->in_pos;
            c->in_pos = 0;
        }
        size_t want = need - c->in.len;
        if (want < READ_CHUNK) want = READ_CHUNK;
        if (myl_buf_reserve(&c->in, want)) return oom(c);
        size_t got = 0;
        myl_io_status st = c->t->read(c->t, c->in.data + c->in.len, c->in.cap - c->in.len, &got,
                                      deadline);
        if (st != MYL_IO_DONE) return io_failed(c, st, "reading from server");
        c->in.len += got;
    }
    return 0;
}

/* Reads one physical packet header and checks its sequence id. */
static int read_header(myl_conn *c, size_t *len, double deadline)
{
    if (fill(c, 4, deadline)) return -1;
    const uint8_t *h = c->in.data + c->in_pos;
    *len = (size_t)h[0] | ((size_t)h[1] << 8) | ((size_t)h[2] << 16);
    if (h[3] != c->seq) {
        char msg[80];
        snprintf(msg, sizeof msg, "Packets out of order (got sequence id %u, expected %u)", h[3],
                 c->seq);
        return broken(c, MYL_CR_MALFORMED_PACKET, msg);
    }
    c->seq++;
    return 0;
}

/* Reads one logical packet.  The payload stays valid until the next read. */
static int read_packet(myl_conn *c, const uint8_t **payload, size_t *len)
{
    double deadline = read_deadline(c);
    size_t n;
    if (read_header(c, &n, deadline) || fill(c, 4 + n, deadline)) return -1;
    const uint8_t *p = c->in.data + c->in_pos + 4;
    c->in_pos += 4 + n;
    if (n < MYL_MAX_CHUNK) {
        *payload = p;
        *len = n;
        return 0;
    }
    /* A payload of 16 MiB or more arrives in chunks; the last one is
     * shorter than 0xFFFFFF (possibly empty). */
    c->big.len = 0;
    if (myl_buf_append(&c->big, p, n)) return oom(c);
    do {
        if (read_header(c, &n, deadline)) return -1;
        if (c->big.len + n > MAX_PACKET)
            return broken(c, MYL_CR_NET_PACKET_TOO_LARGE,
                          "Got packet bigger than 'max_allowed_packet' bytes");
        if (fill(c, 4 + n, deadline)) return -1;
        if (myl_buf_append(&c->big, c->in.data + c->in_pos + 4, n)) return oom(c);
        c->in_pos += 4 + n;
    } while (n == MYL_MAX_CHUNK);
    *payload = c->big.data;
    *len = c->big.len;
    return 0;
}

/* Starts an outgoing payload in c->out (header bytes reserved). */
static int out_begin(myl_conn *c, size_t size_hint)
{
    c->out.len = 0;
    if (myl_buf_reserve(&c->out, 4 + size_hint)) return oom(c);
    c->out.len = 4;
    return 0;
}

/* Sends c->out's payload as one logical packet, split into 16 MiB chunks. */
static int send_out(myl_conn *c)
{
    double deadline = deadline_for(c, c->write_timeout);
    uint8_t *payload = c->out.data + 4;
    size_t left = c->out.len - 4;
    if (!c->t) return broken(c, MYL_CR_SERVER_GONE_ERROR, "Server has gone away");
    for (;;) {
        size_t n = left < MYL_MAX_CHUNK ? left : MYL_MAX_CHUNK;
        uint8_t h[4] = {(uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), c->seq++};
        myl_io_status st;
        if (payload == c->out.data + 4) {
            /* the first chunk's header fits in the reserved bytes: one write */
            memcpy(c->out.data, h, 4);
            st = c->t->write(c->t, c->out.data, 4 + n, deadline);
        } else {
            st = c->t->write(c->t, h, 4, deadline);
            if (st == MYL_IO_DONE && n) st = c->t->write(c->t, payload, n, deadline);
        }
        if (st != MYL_IO_DONE) return io_failed(c, st, "writing to server");
        payload += n;
        left -= n;
        if (n < MYL_MAX_CHUNK) return 0; /* a full chunk is followed by another, maybe empty */
    }
}

/* ------------------------------------------------------------------ */
/* Response packets */

static int server_error(myl_conn *c, const uint8_t *p, size_t n)
{
    myl_err e;
    if (myl_parse_err(p, n, &e)) return malformed(c, "error packet");
    myl_error_set_server(&c->err, (int)e.code, e.sqlstate, e.message, e.message_len);
    /* The server closes the connection after these; do not wait to find out. */
    if (e.code == 1927 /* ER_CONNECTION_KILLED */ || e.code == 1053 /* ER_SERVER_SHUTDOWN */) {
        keep_cause(c, c->err.message);
        close_transport(c);
        c->state = MYL_STATE_BROKEN;
    } else if (c->state != MYL_STATE_BROKEN) {
        c->state = MYL_STATE_READY; /* an error ends the response */
    }
    return -1;
}

static void keep_status(myl_conn *c, unsigned flags)
{
    c->status = flags;
    c->last.flags = flags;
}

static int handle_ok(myl_conn *c, const uint8_t *p, size_t n)
{
    myl_ok ok;
    if (myl_parse_ok(p, n, c->caps, &ok)) return malformed(c, "OK packet");
    c->last.affected_rows = ok.affected_rows;
    c->last.insert_id = ok.insert_id;
    c->last.warnings = ok.warnings;
    size_t il = ok.info_len < sizeof c->last.info ? ok.info_len : sizeof c->last.info - 1;
    if (il) memcpy(c->last.info, ok.info, il);
    c->last.info[il] = '\0';
    keep_status(c, ok.status);
    c->state = ok.status & MYL_STATUS_MORE_RESULTS_EXISTS ? MYL_STATE_HEAD : MYL_STATE_READY;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Lifecycle */

myl_conn *myl_conn_new(void)
{
    myl_conn *c = calloc(1, sizeof *c);
    if (c) c->state = MYL_STATE_CLOSED;
    return c;
}

void myl_close(myl_conn *c)
{
    if (c->t && c->state == MYL_STATE_READY) {
        c->seq = 0;
        if (out_begin(c, 1) == 0) {
            myl_buf_put_u8(&c->out, MYL_COM_QUIT);
            double saved = c->write_timeout;
            if (c->write_timeout <= 0 || c->write_timeout > 1) c->write_timeout = 1;
            send_out(c); /* best effort: the server frees the session sooner */
            c->write_timeout = saved;
        }
    }
    close_transport(c);
    myl_buf_free(&c->in);
    myl_buf_free(&c->big);
    myl_buf_free(&c->out);
    c->in_pos = 0;
    c->state = MYL_STATE_CLOSED;
}

void myl_conn_free(myl_conn *c)
{
    if (!c) return;
    myl_close(c);
    free(c);
}

const myl_error *myl_conn_error(const myl_conn *c) { return &c->err; }
myl_state myl_conn_state(const myl_conn *c) { return c->state; }
const char *myl_server_version(const myl_conn *c) { return c->server_version; }
unsigned long myl_server_version_number(const myl_conn *c) { return c->version_number; }
uint32_t myl_thread_id(const myl_conn *c) { return c->thread_id; }
const char *myl_host_info(const myl_conn *c) { return c->host_info; }
const char *myl_charset_name(const myl_conn *c) { return c->charset ? c->charset->name : ""; }
unsigned myl_server_status(const myl_conn *c) { return c->status; }
const myl_status *myl_last_status(const myl_conn *c) { return &c->last; }
int myl_more_results(const myl_conn *c) { return c->state == MYL_STATE_HEAD; }

myl_escape_style myl_conn_escape_style(const myl_conn *c)
{
    myl_escape_style st;
    st.charset = c->charset ? c->charset : myl_charset_find("utf8mb4");
    st.no_backslash = (c->status & MYL_STATUS_NO_BACKSLASH_ESCAPES) != 0;
    return st;
}

/* ------------------------------------------------------------------ */
/* Handshake and authentication */

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
    if (myl_buf_reserve(&a, total)) return oom(c);
    for (size_t i = 0; i < 6; i++) put_lenenc_str(&a, fixed[i], strlen(fixed[i]));
    for (size_t i = 0; i < 2 * opt->nattrs; i++)
        put_lenenc_str(&a, opt->attrs[i], strlen(opt->attrs[i]));
    int rc = 0;
    if (myl_buf_reserve(&c->out, 9 + a.len)) rc = oom(c);
    else {
        myl_buf_put_lenenc(&c->out, a.len);
        myl_buf_put(&c->out, a.data, a.len);
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
    if (out_begin(c, hint)) return -1;
    myl_buf_put_u32(&c->out, (uint32_t)c->caps);
    myl_buf_put_u32(&c->out, MAX_PACKET);
    myl_buf_put_u8(&c->out, (uint8_t)c->charset->collation_id);
    memset(c->out.data + c->out.len, 0, 23); /* filler (MariaDB's extended caps: none) */
    c->out.len += 23;
    myl_buf_put(&c->out, user, strlen(user) + 1);
    if (c->caps & MYL_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) {
        myl_buf_put_lenenc(&c->out, tlen);
    } else {
        myl_buf_put_u8(&c->out, (uint8_t)tlen);
    }
    myl_buf_put(&c->out, token, tlen);
    if (c->caps & MYL_CLIENT_CONNECT_WITH_DB) myl_buf_put(&c->out, db, strlen(db) + 1);
    if (c->caps & MYL_CLIENT_PLUGIN_AUTH)
        myl_buf_put(&c->out, "mysql_native_password", sizeof "mysql_native_password");
    if ((c->caps & MYL_CLIENT_CONNECT_ATTRS) && put_attrs(c, opt)) return -1;
    return send_out(c);
}

/* Answers an AuthSwitchRequest: plugin name, NUL, plugin data. */
static int auth_switch(myl_conn *c, const myl_options *opt, const uint8_t *p, size_t n)
{
    myl_rd r = myl_rd_init(p + 1, n - 1);
    size_t plen;
    const char *plugin = myl_rd_nulstr(&r, &plen);
    if (!plugin) return malformed(c, "auth switch request");
    if (strcmp(plugin, "mysql_native_password") != 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "Authentication plugin '%.64s' cannot be loaded%s", plugin,
                 strcmp(plugin, "mysql_clear_password") == 0
                     ? ": it would send the password in clear over an insecure connection"
                     : ": not supported by this client");
        return broken(c, MYL_CR_AUTH_PLUGIN_CANNOT_LOAD, msg);
    }
    size_t dlen = myl_rd_left(&r);
    if (dlen > 0 && r.p[dlen - 1] == 0) dlen--; /* the scramble's trailing NUL */
    if (dlen < 20) return malformed(c, "auth switch scramble too short");
    uint8_t token[20];
    size_t tlen = myl_native_password_token(opt->password, r.p, dlen, token);
    if (out_begin(c, tlen)) return -1;
    myl_buf_put(&c->out, token, tlen);
    return send_out(c);
}

static int authenticate(myl_conn *c, const myl_options *opt)
{
    for (int round = 0; round < 8; round++) {
        const uint8_t *p;
        size_t n;
        if (read_packet(c, &p, &n)) return -1;
        if (n == 0) return malformed(c, "empty authentication reply");
        switch (p[0]) {
        case 0x00: /* OK: authenticated */
            if (handle_ok(c, p, n)) return -1;
            return 0;
        case 0xFF: /* ERR: refused */
            server_error(c, p, n);
            keep_cause(c, c->err.message);
            close_transport(c);
            c->state = MYL_STATE_BROKEN;
            return -1;
        case 0xFE: /* AuthSwitchRequest */
            if (n == 1)
                return broken(c, MYL_CR_AUTH_PLUGIN_CANNOT_LOAD,
                              "Authentication plugin 'mysql_old_password' cannot be loaded");
            if (auth_switch(c, opt, p, n)) return -1;
            break;
        default: /* 0x01 AuthMoreData belongs to plugins we did not choose */
            return malformed(c, "unexpected authentication packet");
        }
    }
    return malformed(c, "too many authentication rounds");
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

static int do_connect(myl_conn *c, const myl_options *opt)
{
    myl_connect_spec spec;
    int use_socket = opt->protocol == MYL_PROTOCOL_SOCKET ||
                     (opt->protocol == MYL_PROTOCOL_AUTO &&
                      (!opt->host || strcmp(opt->host, "localhost") == 0));
    spec.host = opt->host ? opt->host : "localhost";
    spec.port = opt->port ? opt->port : 3306;
    spec.socket_path = use_socket ? (opt->socket_path ? opt->socket_path : DEFAULT_SOCKET) : NULL;
    spec.deadline = c->op_deadline;
    c->t = myl_socket_open(&spec, c->host_info, sizeof c->host_info, &c->err);
    if (!c->t) return -1;

    const uint8_t *p;
    size_t n;
    c->seq = 0;
    if (read_packet(c, &p, &n)) return -1;
    if (n > 0 && p[0] == 0xFF) { /* e.g. too many connections, host blocked */
        server_error(c, p, n);
        close_transport(c);
        c->state = MYL_STATE_BROKEN;
        return -1;
    }
    myl_handshake hs;
    if (myl_parse_handshake(p, n, &hs))
        return broken(c, MYL_CR_SERVER_HANDSHAKE_ERR, "Error in server handshake");
    if (!(hs.capabilities & MYL_CLIENT_PROTOCOL_41) ||
        !(hs.capabilities & MYL_CLIENT_SECURE_CONNECTION))
        return broken(c, MYL_CR_VERSION_ERROR,
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
        return broken(c, MYL_CR_VERSION_ERROR, "Server cannot select a database at connect");

    if (send_handshake_response(c, opt, scramble, scramble_len)) return -1;
    return authenticate(c, opt);
}

static int run_simple_query(myl_conn *c, const char *sql);

int myl_connect(myl_conn *c, const myl_options *opt)
{
    if (c->state != MYL_STATE_CLOSED) myl_close(c);
    myl_error_clear(&c->err);
    memset(&c->last, 0, sizeof c->last);
    c->charset = myl_charset_find(opt->charset ? opt->charset : "utf8mb4");
    if (!c->charset) {
        myl_error_set(&c->err, 2019, "Can't initialize character set %s",
                      opt->charset ? opt->charset : "");
        return -1;
    }
    c->read_timeout = opt->read_timeout;
    c->write_timeout = opt->write_timeout;
    c->op_deadline = opt->connect_timeout > 0 ? myl_now() + opt->connect_timeout : 0;
    c->state = MYL_STATE_READY;
    int rc = do_connect(c, opt);
    if (rc == 0 && opt->collation && *opt->collation) {
        char sql[200];
        snprintf(sql, sizeof sql, "SET NAMES %s COLLATE '%.64s'", c->charset->name,
                 opt->collation);
        if (strchr(opt->collation, '\'')) {
            myl_error_set(&c->err, 2019, "Invalid collation name");
            rc = -1;
        } else {
            rc = run_simple_query(c, sql);
        }
    }
    c->op_deadline = 0;
    if (rc) {
        close_transport(c);
        c->state = MYL_STATE_CLOSED;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Commands */

/* Checks that a new command may start and resets the sequence. */
static int begin_command(myl_conn *c)
{
    switch (c->state) {
    case MYL_STATE_READY: break;
    case MYL_STATE_HEAD:
    case MYL_STATE_ROWS:
        myl_error_set(&c->err, MYL_CR_COMMANDS_OUT_OF_SYNC,
                      "Commands out of sync; you can't run this command now "
                      "(a streaming cursor is still reading: read it to the end or close it)");
        return -1;
    case MYL_STATE_BROKEN:
        myl_error_set(&c->err, MYL_CR_SERVER_GONE_ERROR, "Server has gone away (%s)",
                      c->broken_cause[0] ? c->broken_cause : "connection broken");
        return -1;
    default:
        myl_error_set(&c->err, MYL_CR_SERVER_GONE_ERROR, "Server has gone away (connection closed)");
        return -1;
    }
    myl_error_clear(&c->err);
    c->seq = 0;
    /* Give back a buffer a huge packet grew, once nothing is pending in it. */
    if (c->in.cap > (4u << 20) && c->in_pos == c->in.len) {
        myl_buf_free(&c->in);
        c->in_pos = 0;
    }
    if (c->big.cap > (4u << 20)) myl_buf_free(&c->big);
    return 0;
}

int myl_conn_usable(myl_conn *c)
{
    if (c->state != MYL_STATE_BROKEN && c->state != MYL_STATE_CLOSED) return 0;
    return begin_command(c);
}

static int send_command(myl_conn *c, uint8_t cmd, const void *arg, size_t len)
{
    if (begin_command(c) || out_begin(c, 1 + len)) return -1;
    myl_buf_put_u8(&c->out, cmd);
    if (len) myl_buf_put(&c->out, arg, len);
    if (send_out(c)) return -1;
    c->state = MYL_STATE_HEAD;
    return 0;
}

/* Reads the OK (or ERR) answering a simple command. */
static int read_ok(myl_conn *c)
{
    const uint8_t *p;
    size_t n;
    if (read_packet(c, &p, &n)) return -1;
    if (n > 0 && p[0] == 0xFF) return server_error(c, p, n);
    if (n > 0 && p[0] == 0x00) return handle_ok(c, p, n);
    if (myl_is_eof_packet(p, n)) { /* COM_PING on some servers; statistics-like replies */
        unsigned w, s;
        myl_parse_eof(p, n, &w, &s);
        keep_status(c, s);
        c->state = MYL_STATE_READY;
        return 0;
    }
    return malformed(c, "expected OK packet");
}

static int simple_command(myl_conn *c, uint8_t cmd, const void *arg, size_t len)
{
    if (send_command(c, cmd, arg, len)) return -1;
    return read_ok(c);
}

int myl_ping(myl_conn *c) { return simple_command(c, MYL_COM_PING, NULL, 0); }

int myl_select_db(myl_conn *c, const char *db, size_t len)
{
    return simple_command(c, MYL_COM_INIT_DB, db, len);
}

int myl_kill(myl_conn *c, uint32_t id)
{
    uint8_t a[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)};
    return simple_command(c, MYL_COM_PROCESS_KILL, a, 4);
}

int myl_reset_connection(myl_conn *c)
{
    return simple_command(c, MYL_COM_RESET_CONNECTION, NULL, 0);
}

int myl_send_query(myl_conn *c, const char *sql, size_t len)
{
    return send_command(c, MYL_COM_QUERY, sql, len);
}

/* A server asked for a LOCAL INFILE the client never enabled: answer with an
 * empty packet (no data), read the server's verdict, and fail either way. */
static int refuse_local_infile(myl_conn *c)
{
    if (out_begin(c, 0) || send_out(c)) return -1;
    const uint8_t *p;
    size_t n;
    if (read_packet(c, &p, &n)) return -1;
    if (n > 0 && p[0] == 0x00) {
        if (handle_ok(c, p, n)) return -1; /* more results may follow: state HEAD */
    } else if (n > 0 && p[0] == 0xFF) {
        c->state = MYL_STATE_READY; /* the server's own error is replaced by ours */
    } else {
        return malformed(c, "reply to a refused LOCAL INFILE");
    }
    myl_error_set(&c->err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                  "LOAD DATA LOCAL INFILE request refused: local_infile is not enabled");
    return -1;
}

/* Reads ncols column definitions into one allocation. */
static int read_columns(myl_conn *c, size_t ncols, myl_columns **out)
{
    myl_buf strs = {0};
    myl_column *cols = calloc(ncols, sizeof *cols);
    size_t *offs = calloc(ncols * 6, sizeof *offs);
    if (!cols || !offs) {
        free(cols);
        free(offs);
        return oom(c);
    }
    int rc = 0;
    for (size_t i = 0; i < ncols && rc == 0; i++) {
        const uint8_t *p;
        size_t n;
        myl_coldef d;
        if (read_packet(c, &p, &n)) {
            rc = -1;
            break;
        }
        if (n > 0 && p[0] == 0xFF) {
            rc = server_error(c, p, n);
            break;
        }
        if (myl_parse_coldef(p, n, &d)) {
            rc = malformed(c, "column definition");
            break;
        }
        const uint8_t *s[6] = {d.catalog, d.db, d.table, d.org_table, d.name, d.org_name};
        size_t l[6] = {d.catalog_len, d.db_len, d.table_len, d.org_table_len, d.name_len,
                       d.org_name_len};
        for (int k = 0; k < 6 && rc == 0; k++) {
            offs[i * 6 + k] = strs.len;
            if (myl_buf_reserve(&strs, l[k] + 1)) rc = oom(c);
            else {
                if (l[k]) myl_buf_put(&strs, s[k], l[k]);
                myl_buf_put_u8(&strs, 0);
            }
        }
        cols[i].name_len = d.name_len;
        cols[i].charset = d.charset;
        cols[i].length = d.length;
        cols[i].type = d.type;
        cols[i].flags = d.flags;
        cols[i].decimals = d.decimals;
        cols[i].vclass = myl_value_class_of(d.type, d.flags);
    }
    if (rc == 0 && !(c->caps & MYL_CLIENT_DEPRECATE_EOF)) {
        const uint8_t *p;
        size_t n;
        if (read_packet(c, &p, &n)) rc = -1;
        else if (!myl_is_eof_packet(p, n)) rc = malformed(c, "expected EOF after columns");
    }
    myl_columns *res = NULL;
    if (rc == 0) {
        res = malloc(sizeof *res + ncols * sizeof *cols + strs.len);
        if (!res) rc = oom(c);
    }
    if (rc == 0) {
        res->n = ncols;
        res->col = (myl_column *)(res + 1);
        char *base = (char *)(res->col + ncols);
        if (strs.len) memcpy(base, strs.data, strs.len);
        for (size_t i = 0; i < ncols; i++) {
            myl_column *col = &res->col[i];
            *col = cols[i];
            col->catalog = base + offs[i * 6 + 0];
            col->db = base + offs[i * 6 + 1];
            col->table = base + offs[i * 6 + 2];
            col->org_table = base + offs[i * 6 + 3];
            col->name = base + offs[i * 6 + 4];
            col->org_name = base + offs[i * 6 + 5];
        }
        *out = res;
    }
    free(cols);
    free(offs);
    myl_buf_free(&strs);
    return rc;
}

int myl_read_head(myl_conn *c, myl_columns **cols)
{
    *cols = NULL;
    if (c->state != MYL_STATE_HEAD) {
        if (c->state == MYL_STATE_BROKEN || c->state == MYL_STATE_CLOSED) return begin_command(c);
        myl_error_set(&c->err, MYL_CR_COMMANDS_OUT_OF_SYNC,
                      "Commands out of sync; you can't run this command now");
        return -1;
    }
    memset(&c->last, 0, sizeof c->last);
    const uint8_t *p;
    size_t n;
    if (read_packet(c, &p, &n)) return -1;
    if (n == 0) return malformed(c, "empty result header");
    switch (p[0]) {
    case 0x00: /* OK: a statement without a result set */
        return handle_ok(c, p, n) ? -1 : 0;
    case 0xFF: /* ERR: the statement failed */
        return server_error(c, p, n);
    case 0xFB: /* LOCAL INFILE request */
        return refuse_local_infile(c);
    default: { /* a result set: column count, then the column definitions */
        myl_rd r = myl_rd_init(p, n);
        uint64_t ncols = myl_rd_lenenc(&r, NULL);
        if (r.bad || myl_rd_left(&r) != 0 || ncols == 0 || ncols > MAX_COLUMNS)
            return malformed(c, "column count");
        if (read_columns(c, (size_t)ncols, cols)) return -1;
        c->ncols = (size_t)ncols;
        c->state = MYL_STATE_ROWS;
        return 1;
    }
    }
}

int myl_read_row(myl_conn *c, const uint8_t **row, size_t *len)
{
    if (c->state != MYL_STATE_ROWS) {
        if (c->state == MYL_STATE_BROKEN || c->state == MYL_STATE_CLOSED) return begin_command(c);
        return 0; /* nothing pending: the result already ended */
    }
    const uint8_t *p;
    size_t n;
    if (read_packet(c, &p, &n)) return -1;
    if (n > 0 && n < MYL_MAX_CHUNK && p[0] == 0xFE) {
        /* End of rows: an OK packet with the 0xFE header under
         * DEPRECATE_EOF, else a classic EOF packet.  A row can start with
         * 0xFE only when its first value is 16 MiB or longer. */
        if (c->caps & MYL_CLIENT_DEPRECATE_EOF) return handle_ok(c, p, n) ? -1 : 0;
        unsigned w, s;
        if (!myl_is_eof_packet(p, n) || myl_parse_eof(p, n, &w, &s))
            return malformed(c, "EOF packet");
        memset(&c->last, 0, sizeof c->last);
        c->last.warnings = w;
        keep_status(c, s);
        c->state = s & MYL_STATUS_MORE_RESULTS_EXISTS ? MYL_STATE_HEAD : MYL_STATE_READY;
        return 0;
    }
    if (n > 0 && p[0] == 0xFF) return server_error(c, p, n);
    *row = p;
    *len = n;
    return 1;
}

int myl_discard(myl_conn *c)
{
    int failed = 0;
    while (c->state == MYL_STATE_ROWS || c->state == MYL_STATE_HEAD) {
        if (c->state == MYL_STATE_ROWS) {
            const uint8_t *p;
            size_t n;
            if (myl_read_row(c, &p, &n) < 0) failed = 1;
        } else {
            myl_columns *cols;
            if (myl_read_head(c, &cols) < 0) failed = 1;
            myl_columns_free(cols);
        }
        if (c->state == MYL_STATE_BROKEN) return -1;
    }
    return failed ? -1 : 0;
}

void myl_conn_discard_after_error(myl_conn *c)
{
    if (c->state != MYL_STATE_HEAD && c->state != MYL_STATE_ROWS) return;
    myl_error first = c->err;
    myl_discard(c);
    c->err = first; /* the error the caller reports is the one that stopped it */
}

static int run_simple_query(myl_conn *c, const char *sql)
{
    if (myl_send_query(c, sql, strlen(sql))) return -1;
    myl_columns *cols = NULL;
    int rc = myl_read_head(c, &cols);
    myl_columns_free(cols);
    if (rc < 0) return -1;
    return myl_discard(c);
}
