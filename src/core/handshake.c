/* Connecting, as steps: open the transport -> read the greeting ->
 * negotiate capabilities -> [SSL request and TLS upgrade: secure_channel()]
 * -> send the handshake response -> the auth loop, which dispatches to
 * plugins by name (auth.h) and understands auth switch (0xFE), AuthMoreData
 * (0x01), OK and ERR -> [the server's proof of its TLS certificate:
 * check_server_proof()]. */
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "classify.h"
#include "compress.h"
#include "conn_internal.h"
#include "options.h"
#include "rd.h"
#include "tls.h"
#include "version.h"

#define SCRAMBLE_MIN 20

#define PHASE_GREETING "handshake: reading initial communication packet"
#define PHASE_AUTH "reading authorization packet"
#define PHASE_TLS "TLS handshake"

/* What the steps pass on to each other. */
typedef struct handshake_state {
    const myl_options *opt;
    uint64_t server_caps;
    uint8_t scramble[64];
    size_t scramble_len;
    char server_plugin[64]; /* the plugin the greeting names, "" if none */
    int secure;             /* a Unix socket, or TLS with a trusted certificate */
    int unix_socket;        /* the transport was opened on a Unix socket */
    myl_tls_config *tls_cfg; /* until the TLS layer takes it over */
    int proof_pending;      /* the certificate waits for the server's proof */
    char untrusted[160];    /* why it is not trusted (OpenSSL's words) */
    uint8_t proof_scramble[20]; /* the last scramble a plugin was given */
    const myl_auth_plugin *plugin; /* the plugin authenticating now */
    uint8_t learned_hash[64];      /* the hash it learned during the login (auth.h) */
    size_t learned_hash_len;
    myl_compress_plan zplan;     /* the compression the options ask for */
    myl_compression compression; /* what was asked of this server */
} handshake_state;

/* ---- step 1: the transport ---- */

static int open_transport(myl_conn *c, handshake_state *hs)
{
    const myl_options *opt = hs->opt;
    myl_connect_spec spec;
    int use_socket = opt->protocol == MYL_PROTOCOL_SOCKET ||
                     (opt->protocol == MYL_PROTOCOL_AUTO &&
                      (!opt->host || strcmp(opt->host, "localhost") == 0));
    /* NULL or 0 only from a caller that skipped myl_options_init */
    spec.host = opt->host ? opt->host : MYL_DEFAULT_HOST;
    spec.port = opt->port ? opt->port : MYL_DEFAULT_PORT;
    spec.socket_path =
        use_socket ? (opt->socket_path ? opt->socket_path : MYL_DEFAULT_SOCKET) : NULL;
    spec.deadline = c->op_deadline;
    spec.bind_address = opt->bind_address && *opt->bind_address ? opt->bind_address : NULL;
    /* a replaceable step: the caller may open (or wrap) the transport */
    c->t = opt->open_transport
               ? opt->open_transport(opt->open_ud, &spec, c->host_info, sizeof c->host_info, &c->err)
               : myl_socket_open(&spec, c->host_info, sizeof c->host_info, &c->err);
    if (!c->t) return -1;
    hs->secure = c->t->secure;
    hs->unix_socket = spec.socket_path != NULL;
    return 0;
}

/* ---- step 2: the greeting ---- */

/* The first bytes the peer sent, printable, for a message that tells the
 * operator what answered instead of a MySQL server. */
static void describe_peer_bytes(const myl_conn *c, char *out, size_t outlen)
{
    const myl_buf *in = &c->fr.in;
    size_t n = in->len < 32 ? in->len : 32, w = 0;
    for (size_t i = 0; i < n && w + 5 < outlen; i++) {
        unsigned char ch = in->data[i];
        if (ch == '\r' || ch == '\n') break;
        out[w++] = isprint(ch) && ch != '"' && ch != '\\' ? (char)ch : '.';
    }
    out[w] = '\0';
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

static int not_a_server(myl_conn *c)
{
    char seen[40];
    describe_peer_bytes(c, seen, sizeof seen);
    char msg[200];
    snprintf(msg, sizeof msg,
             "Lost connection to server at '" PHASE_GREETING "': the peer is not a "
             "MySQL/MariaDB server (it sent \"%s\")", seen);
    return myl_conn_broken(c, MYL_CR_SERVER_LOST, msg);
}

static int read_greeting(myl_conn *c, handshake_state *hs)
{
    const uint8_t *p;
    size_t n;
    c->fr.seq = 0;
    c->phase = PHASE_GREETING;
    if (myl_read_packet(c, &p, &n)) {
        /* Bytes that are no MySQL packet header (an SSH banner, an HTTP
         * reply) show up as a wrong sequence id first; the mariadb client
         * calls that a lost connection (2013) too.  An absurd length stays
         * 2020, as there. */
        if (c->err.code == MYL_CR_MALFORMED_PACKET) return not_a_server(c);
        return -1;
    }
    switch (myl_classify(MYL_WAIT_GREETING, p, n, 0)) {
    case MYL_PKT_ERR: /* e.g. too many connections, host blocked */
        myl_conn_server_error(c, p, n);
        return myl_conn_close_on_error(c);
    case MYL_PKT_GREETING: break;
    default: {
        char msg[160];
        snprintf(msg, sizeof msg, "Error in server handshake (protocol version %u, but only 10 "
                 "is spoken: is the peer a MySQL/MariaDB server?)", n ? p[0] : 0u);
        return myl_conn_broken(c, MYL_CR_SERVER_HANDSHAKE_ERR, msg);
    }
    }
    myl_handshake g;
    if (myl_parse_handshake(p, n, &g))
        return myl_conn_broken(c, MYL_CR_SERVER_HANDSHAKE_ERR,
                               "Error in server handshake (malformed greeting packet)");
    if (!(g.capabilities & MYL_CLIENT_PROTOCOL_41) ||
        !(g.capabilities & MYL_CLIENT_SECURE_CONNECTION))
        return myl_conn_broken(c, MYL_CR_VERSION_ERROR,
                               "Server is too old: protocol 4.1 with secure connection is required");
    if (g.scramble_len < SCRAMBLE_MIN) {
        char msg[120];
        snprintf(msg, sizeof msg,
                 "Error in server handshake (scramble of %zu bytes, at least %d expected)",
                 g.scramble_len, SCRAMBLE_MIN);
        return myl_conn_broken(c, MYL_CR_SERVER_HANDSHAKE_ERR, msg);
    }
    if ((g.capabilities & MYL_CLIENT_PLUGIN_AUTH) && !g.auth_plugin)
        return myl_conn_broken(c, MYL_CR_SERVER_HANDSHAKE_ERR,
                               "Error in server handshake (no authentication plugin named)");
    keep_server_version(c, g.server_version, g.server_version_len);
    c->thread_id = g.thread_id;
    c->status = g.status;
    hs->server_caps = g.capabilities;
    /* copies: the packet buffer is reused by the next read */
    memcpy(hs->scramble, g.scramble, g.scramble_len);
    hs->scramble_len = g.scramble_len;
    size_t pl = g.auth_plugin_len < sizeof hs->server_plugin ? g.auth_plugin_len
                                                              : sizeof hs->server_plugin - 1;
    if (g.auth_plugin) memcpy(hs->server_plugin, g.auth_plugin, pl);
    hs->server_plugin[g.auth_plugin ? pl : 0] = '\0';
    return 0;
}

/* ---- step 3: capabilities ---- */

/* Compression: asks for the first algorithm of the options' list that the
 * server offers (one flag only), or for none. */
static int negotiate_compression(myl_conn *c, handshake_state *hs)
{
    if (myl_compress_plan_from(hs->opt, &hs->zplan, &c->err) ||
        myl_compress_choose(&hs->zplan, hs->server_caps & 0xFFFFFFFFu, &hs->compression, &c->err))
        return myl_conn_close_on_error(c);
    c->caps |= myl_compress_flag(hs->compression);
    return 0;
}

static int negotiate(myl_conn *c, handshake_state *hs)
{
    const myl_options *opt = hs->opt;
    uint64_t want = MYL_CLIENT_LONG_PASSWORD | MYL_CLIENT_LONG_FLAG | MYL_CLIENT_PROTOCOL_41 |
                    MYL_CLIENT_TRANSACTIONS | MYL_CLIENT_SECURE_CONNECTION |
                    MYL_CLIENT_MULTI_RESULTS | MYL_CLIENT_PS_MULTI_RESULTS |
                    MYL_CLIENT_PLUGIN_AUTH | MYL_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA |
                    MYL_CLIENT_CONNECT_ATTRS | MYL_CLIENT_DEPRECATE_EOF |
                    MYL_CLIENT_SESSION_TRACK; /* the schema in use, for a reconnect */
    if (opt->multi_statements) want |= MYL_CLIENT_MULTI_STATEMENTS;
    if (c->infile_on) want |= MYL_CLIENT_LOCAL_FILES; /* a source was given (infile.c) */
    if (opt->database && *opt->database) want |= MYL_CLIENT_CONNECT_WITH_DB;
    c->caps = want & (hs->server_caps & 0xFFFFFFFFu);
    /* MariaDB's own capabilities, which it offers only with CLIENT_MYSQL
     * (bit 0) clear. */
    if (!(hs->server_caps & MYL_CLIENT_LONG_PASSWORD))
        c->caps |= hs->server_caps &
                   (MYL_MARIADB_CLIENT_STMT_BULK_OPERATIONS | MYL_MARIADB_CLIENT_CACHE_METADATA);
    if (opt->database && *opt->database && !(c->caps & MYL_CLIENT_CONNECT_WITH_DB))
        return myl_conn_broken(c, MYL_CR_VERSION_ERROR,
                               "Server cannot select a database at connect");
    return negotiate_compression(c, hs);
}

/* ---- step 4: the SSL request and the TLS upgrade ---- */

/* The options that only make sense with TLS. */
static int tls_files_given(const myl_options *opt)
{
    return opt->ssl_ca || opt->ssl_capath || opt->ssl_cert || opt->ssl_key || opt->ssl_crl ||
           opt->ssl_crlpath || opt->ssl_fingerprint || opt->ssl_fingerprint_list ||
           opt->ssl_cipher || opt->ssl_ciphersuites || opt->tls_version;
}

/* verify_ca and verify_identity check against the system's CAs when no CA
 * is given, unless a pinned fingerprint is the trust anchor instead. */
static int needs_ca_store(const myl_options *opt)
{
    return opt->ssl_mode >= MYL_SSL_VERIFY_CA && !opt->ssl_fingerprint &&
           !opt->ssl_fingerprint_list;
}

/* Before anything is connected: a TLS configuration that cannot be built
 * (a missing file, a key with a passphrase) fails here, without a server.
 * Preferred without any TLS option waits until the server offers TLS. */
static int prepare_tls(myl_conn *c, handshake_state *hs)
{
    const myl_options *opt = hs->opt;
    c->tls_on = 0;
    if (opt->ssl_mode == MYL_SSL_DISABLED) return 0;
    if (opt->ssl_mode == MYL_SSL_PREFERRED && !tls_files_given(opt)) return 0;
    hs->tls_cfg = myl_tls_config_new(opt, needs_ca_store(opt), &c->err);
    return hs->tls_cfg ? 0 : -1;
}

/* The 23 bytes after the charset: zero, but for MariaDB's capabilities in
 * the last 4. */
static void put_filler(myl_conn *c)
{
    memset(c->fr.out.data + c->fr.out.len, 0, 19);
    c->fr.out.len += 19;
    myl_buf_put_u32(&c->fr.out, (uint32_t)(c->caps >> 32));
}

/* The SSL request: the first 32 bytes of a handshake response (caps with
 * CLIENT_SSL, max packet, charset, 23 zero bytes), sequence 1; the response
 * itself follows over TLS with the next sequence id. */
static int send_ssl_request(myl_conn *c)
{
    if (myl_out_begin(c, 32)) return -1;
    myl_buf_put_u32(&c->fr.out, (uint32_t)c->caps);
    myl_buf_put_u32(&c->fr.out, MAX_PACKET);
    myl_buf_put_u8(&c->fr.out, (uint8_t)c->charset->collation_id);
    put_filler(c);
    return myl_send_out(c);
}

static int tls_refused(myl_conn *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Error 2026, "SSL connection error: ..."; the connection is closed. */
static int tls_refused(myl_conn *c, const char *fmt, ...)
{
    char msg[MYL_ERRMSG_SIZE - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char full[MYL_ERRMSG_SIZE];
    snprintf(full, sizeof full, "SSL connection error: %s", msg);
    return myl_conn_broken(c, MYL_CR_SSL_CONNECTION_ERROR, full);
}

/* Modes: preferred uses TLS when the server offers it on TCP (not over a
 * Unix socket, which is private already, as the mysql client does);
 * required and stronger use it everywhere or fail, never falling back to
 * plain text.  Without a CA given, an untrusted certificate (self-signed,
 * unknown issuer) is left to the server's proof after authentication
 * (check_server_proof); any other certificate problem fails verify_ca and
 * verify_identity at once. */
static int secure_channel(myl_conn *c, handshake_state *hs)
{
    const myl_options *opt = hs->opt;
    myl_ssl_mode mode = opt->ssl_mode;
    if (mode == MYL_SSL_DISABLED) return 0;
    if (!(hs->server_caps & MYL_CLIENT_SSL)) {
        if (mode == MYL_SSL_PREFERRED) return 0;
        return tls_refused(c, "TLS is required, but the server does not offer it");
    }
    if (mode == MYL_SSL_PREFERRED && hs->unix_socket) return 0;
    if (!hs->tls_cfg) hs->tls_cfg = myl_tls_config_new(opt, needs_ca_store(opt), &c->err);
    if (!hs->tls_cfg) return myl_conn_close_on_error(c);
    /* Bytes after the greeting, before TLS, would be read as if they came
     * over TLS: a server never sends any (someone in between may). */
    if (c->fr.in.len > c->fr.in_pos)
        return tls_refused(c, "the server sent data before the TLS handshake");
    c->caps |= MYL_CLIENT_SSL;
    if (send_ssl_request(c)) return -1;
    c->phase = PHASE_TLS;
    const char *host = hs->unix_socket ? NULL : opt->host ? opt->host : MYL_DEFAULT_HOST;
    myl_tls_check check;
    myl_io_status io;
    myl_transport *tls = myl_tls_start(hs->tls_cfg, c->t, host, mode == MYL_SSL_VERIFY_IDENTITY,
                                       c->op_deadline, &c->tls, &check, &io, &c->err);
    if (!tls) {
        /* A stalled or vanished server stays what it is: a lost connection. */
        if (io == MYL_IO_TIMEOUT || io == MYL_IO_CLOSED)
            return myl_conn_io_failed(c, io, PHASE_TLS);
        return myl_conn_close_on_error(c);
    }
    c->t = tls; /* it owns the layer below and the configuration now */
    hs->tls_cfg = NULL;
    c->tls_on = 1;
    /* For plugins that send the password in clear, TLS is a safe channel
     * only when the certificate is trusted: whoever sits in the middle of
     * an unverified session reads it all.  (verify_ca and verify_identity
     * let only password-hash plugins log in while the proof is pending.) */
    hs->secure = hs->secure || check.trust == MYL_TLS_TRUSTED;
    if (check.trust == MYL_TLS_INVALID && mode >= MYL_SSL_VERIFY_CA)
        return tls_refused(c, "the server's certificate is not valid: %s (connected to '%s')",
                           check.reason, host ? host : "localhost");
    /* A CA given is the trust the user asked for: a certificate it does not
     * vouch for is refused before the login, not left to the proof (as
     * MariaDB Connector/C does). */
    if (check.trust == MYL_TLS_UNTRUSTED && mode >= MYL_SSL_VERIFY_CA &&
        (opt->ssl_ca || opt->ssl_capath))
        return tls_refused(c, "the server's certificate is not trusted by %s '%s': %s",
                           opt->ssl_ca ? "ssl_ca" : "ssl_capath",
                           opt->ssl_ca ? opt->ssl_ca : opt->ssl_capath, check.reason);
    if (check.trust == MYL_TLS_UNTRUSTED) {
        hs->proof_pending = 1;
        snprintf(hs->untrusted, sizeof hs->untrusted, "%s", check.reason);
    }
    return 0;
}

/* Before a plugin answers while the certificate waits for the proof: in
 * verify_ca and verify_identity, a login that cannot produce the proof (no
 * password, or a plugin whose server keeps no password hash, such as one
 * sending the password in clear) must not even start, or an impostor would
 * get what the plugin sends. */
static int proof_possible(myl_conn *c, handshake_state *hs, const char *name,
                          const myl_auth_plugin *plugin)
{
    if (!hs->proof_pending || hs->opt->ssl_mode < MYL_SSL_VERIFY_CA) return 0;
    int hashes = plugin && (plugin->password_hash || plugin->learns_hash);
    if (hashes && hs->opt->password && *hs->opt->password) return 0;
    return tls_refused(c, "the server's certificate is not trusted (%s), and a login by %s "
                       "cannot prove it (a password login can)",
                       hs->untrusted, hashes ? "an empty password" : name);
}

/* The proof is over the server's scramble: the greeting's, or the one a
 * switch to mysql_native_password brings.  Other plugins' data (the nonce
 * of client_ed25519, the scramble of parsec) leave it as it was, as the
 * server and Connector/C (scramble_buff) keep it. */
static void keep_proof_scramble(handshake_state *hs, const uint8_t *p, size_t n)
{
    if (n >= sizeof hs->proof_scramble) memcpy(hs->proof_scramble, p, sizeof hs->proof_scramble);
}

/* After the login's OK: the server's proof that it holds this password's
 * hash and sent this certificate (MariaDB 11.4+, MDEV-31855): SHA-256 over
 * the password hash, the scramble and the certificate's SHA-256,
 * in the OK's info as 0x01 + hex.  A mismatch means someone in between
 * presented a certificate of its own: refused in every mode.  No proof:
 * verify_ca and verify_identity refuse; preferred and required go on
 * encrypted but unverified (db.tls.verified == false), since servers before
 * 11.4 (MariaDB 10.11, MySQL) never send one. */
static int check_server_proof(myl_conn *c, handshake_state *hs)
{
    int is_digest = c->last_info[0] == '\1';
    int found = -1;
    const myl_auth_plugin *plugin = hs->plugin;
    const char *password = hs->opt->password;
    if (c->tls_on && hs->proof_pending && plugin && password && *password &&
        (plugin->password_hash || hs->learned_hash_len)) {
        uint8_t hash[64];
        size_t len = sizeof hash;
        if (hs->learned_hash_len) {
            len = hs->learned_hash_len;
            memcpy(hash, hs->learned_hash, len);
        } else if (plugin->password_hash(password, hash, &len)) {
            return tls_refused(c, "the password hash of %s is not available", plugin->name);
        }
        found = myl_tls_proof_matches(c->last_info, strlen(c->last_info), hash, len,
                                      hs->proof_scramble, c->tls.cert_sha256);
        OPENSSL_cleanse(hash, sizeof hash);
    }
    if (is_digest) c->last_info[0] = '\0'; /* binary, not a message for the user */
    if (!hs->proof_pending) return 0;
    if (found == 1) {
        c->tls.verified = MYL_TLS_BY_PROOF;
        return 0;
    }
    if (found == 0)
        return tls_refused(c, "the server's proof does not match its certificate (SHA-256 "
                           "fingerprint %s): someone between client and server may be "
                           "presenting a certificate of its own", c->tls.fingerprint);
    if (hs->opt->ssl_mode >= MYL_SSL_VERIFY_CA)
        return tls_refused(c, "the server's certificate is not trusted (%s), and the server "
                           "sent no proof of it (MariaDB 11.4 and later prove it after a "
                           "password login)", hs->untrusted);
    return 0;
}

/* ---- step 5: the handshake response ---- */

static void put_lenenc_str(myl_buf *b, const char *s, size_t n)
{
    myl_buf_put_lenenc(b, n);
    myl_buf_put(b, s, n);
}

static int put_attrs(myl_conn *c, const myl_options *opt)
{
    char pid[24];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    const char *fixed[] = {"_client_name", "mylua", "_client_version", MYL_VERSION, "_pid", pid};
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

/* With zstd, the response ends with the level the server compresses at. */
static int put_zstd_level(myl_conn *c, const handshake_state *hs)
{
    if (!(c->caps & MYL_CLIENT_ZSTD_COMPRESSION_ALGORITHM)) return 0;
    if (myl_buf_reserve(&c->fr.out, 1)) return myl_conn_oom(c);
    myl_buf_put_u8(&c->fr.out, (uint8_t)hs->zplan.zstd_level);
    return 0;
}

static int send_response(myl_conn *c, handshake_state *hs, const char *plugin,
                         const myl_buf *auth)
{
    const myl_options *opt = hs->opt;
    char login[256];
    const char *user = opt->user ? opt->user : myl_login_name(login, sizeof login);
    const char *db = opt->database;
    size_t hint = 64 + strlen(user) + auth->len + (db ? strlen(db) : 0) + strlen(plugin);
    if (!(c->caps & MYL_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) && auth->len > 255)
        return myl_conn_broken(c, MYL_CR_VERSION_ERROR,
                               "Server cannot take authentication data longer than 255 bytes");
    if (myl_out_begin(c, hint)) return -1;
    myl_buf_put_u32(&c->fr.out, (uint32_t)c->caps);
    myl_buf_put_u32(&c->fr.out, MAX_PACKET);
    myl_buf_put_u8(&c->fr.out, (uint8_t)c->charset->collation_id);
    put_filler(c);
    myl_buf_put(&c->fr.out, user, strlen(user) + 1);
    if (c->caps & MYL_CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA) myl_buf_put_lenenc(&c->fr.out, auth->len);
    else myl_buf_put_u8(&c->fr.out, (uint8_t)auth->len);
    if (auth->len) myl_buf_put(&c->fr.out, auth->data, auth->len);
    if (c->caps & MYL_CLIENT_CONNECT_WITH_DB) myl_buf_put(&c->fr.out, db, strlen(db) + 1);
    if (c->caps & MYL_CLIENT_PLUGIN_AUTH) myl_buf_put(&c->fr.out, plugin, strlen(plugin) + 1);
    if ((c->caps & MYL_CLIENT_CONNECT_ATTRS) && put_attrs(c, opt)) return -1;
    if (put_zstd_level(c, hs)) return -1;
    return myl_send_out(c);
}

/* ---- step 6: the login (auth_loop.c) ---- */

static int send_first(myl_conn *c, void *ud, const char *plugin, const myl_buf *auth)
{
    return send_response(c, ud, plugin, auth);
}

/* Each plugin, as it starts: the TLS proof must stay possible, and it is
 * over the data the plugin is given. */
static int on_plugin(myl_conn *c, void *ud, const char *name, const myl_auth_plugin *core,
                     const uint8_t *data, size_t n)
{
    handshake_state *hs = ud;
    hs->plugin = core;
    if (proof_possible(c, hs, name, core)) return -1;
    if (core == &myl_auth_native_password) keep_proof_scramble(hs, data, n);
    return 0;
}

static int authenticate(myl_conn *c, handshake_state *hs)
{
    /* what a later COM_CHANGE_USER needs (20 bytes: the native scramble) */
    c->scramble_len = hs->scramble_len < sizeof c->scramble ? hs->scramble_len : sizeof c->scramble;
    memcpy(c->scramble, hs->scramble, c->scramble_len);
    snprintf(c->server_plugin, sizeof c->server_plugin, "%s", hs->server_plugin);
    c->secure = hs->secure;
    keep_proof_scramble(hs, hs->scramble, hs->scramble_len);
    myl_login lg;
    memset(&lg, 0, sizeof lg);
    lg.opt = hs->opt;
    lg.scramble = hs->scramble;
    lg.scramble_len = hs->scramble_len;
    lg.server_plugin = hs->server_plugin;
    lg.secure = hs->secure;
    lg.send_first = send_first;
    lg.on_plugin = on_plugin;
    lg.ud = hs;
    c->phase = PHASE_AUTH;
    int rc = myl_auth_login(c, &lg);
    hs->learned_hash_len = lg.learned_hash_len;
    memcpy(hs->learned_hash, lg.learned_hash, lg.learned_hash_len);
    OPENSSL_cleanse(lg.learned_hash, sizeof lg.learned_hash);
    return rc;
}

/* ---- step 7: the compressed protocol, from the packet after the OK ---- */

static int start_compression(myl_conn *c, handshake_state *hs)
{
    if (hs->compression == MYL_COMPRESS_NONE) return 0;
    /* The server sent nothing after its OK; bytes here would be plain
     * bytes the layer would misread as a frame. */
    if (c->fr.in_pos != c->fr.in.len)
        return myl_conn_malformed(c, "bytes after the login's OK, before compression starts");
    int level = hs->compression == MYL_COMPRESS_ZSTD ? hs->zplan.zstd_level : hs->zplan.zlib_level;
    myl_transport *z = myl_compress_open(c->t, hs->compression, level,
                                         myl_compress_frame_bound(c->max_packet), &c->err);
    if (!z) return myl_conn_close_on_error(c);
    c->t = z;
    c->fr.seq_checked_below = 1;
    c->compression = myl_compression_name(hs->compression);
    return 0;
}

int myl_open_and_authenticate(myl_conn *c, const myl_options *opt)
{
    handshake_state hs;
    memset(&hs, 0, sizeof hs);
    hs.opt = opt;
    int rc = prepare_tls(c, &hs);
    if (rc == 0) rc = open_transport(c, &hs);
    if (rc == 0) rc = read_greeting(c, &hs);
    if (rc == 0) rc = negotiate(c, &hs);
    if (rc == 0) rc = secure_channel(c, &hs);
    if (rc == 0) rc = authenticate(c, &hs);
    if (rc == 0) rc = check_server_proof(c, &hs);
    if (rc == 0) rc = start_compression(c, &hs);
    myl_tls_config_free(hs.tls_cfg);
    OPENSSL_cleanse(hs.learned_hash, sizeof hs.learned_hash);
    c->phase = NULL;
    return rc;
}
