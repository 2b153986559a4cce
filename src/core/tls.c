/* TLS over the transport below, with OpenSSL 3 (see tls.h). */
#include "tls.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PINS 64
/* How long closing may wait to send its close_notify to a stalled peer. */
#define CLOSE_NOTIFY_WAIT 0.2

typedef struct pin {
    uint8_t digest[32];
    size_t len; /* 32: SHA-256, 20: SHA-1 */
} pin;

struct myl_tls_config {
    SSL_CTX *ctx;
    int passphrase_asked; /* set by the passphrase callback */
    size_t npins;
    pin pins[MAX_PINS];
};

typedef struct tls_transport {
    myl_transport base;
    myl_tls_config *cfg;
    SSL *ssl;
    double deadline;            /* of the call in progress: the BIO passes it down */
    myl_io_status below_status; /* what the layer below reported to the BIO */
    int broken;       /* a TLS protocol error: nothing more can be read or written */
    int failed;       /* any failure: no close_notify any more */
    int trust_error, other_error, name_error; /* first of each the verify callback saw */
    char err[256];
} tls_transport;

/* ------------------------------------------------------------------ */
/* Errors */

/* OpenSSL's reason for the last failure, and the queue emptied (it is the
 * thread's, and later calls must not see stale entries). */
static void openssl_reason(char *out, size_t outlen)
{
    unsigned long code = ERR_peek_last_error();
    const char *r = code ? ERR_reason_error_string(code) : NULL;
    if (r) snprintf(out, outlen, "%s", r);
    else if (code) ERR_error_string_n(code, out, outlen);
    else snprintf(out, outlen, "unknown OpenSSL error");
    ERR_clear_error();
}

static void ssl_error(myl_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void ssl_error(myl_error *err, const char *fmt, ...)
{
    char msg[MYL_ERRMSG_SIZE - 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    myl_error_set(err, MYL_CR_SSL_CONNECTION_ERROR, "SSL connection error: %s", msg);
}

/* ------------------------------------------------------------------ */
/* The configuration */

/* OpenSSL asks for a key's passphrase through this: nobody can type one
 * (an unattended script must never wait on the terminal), so the load fails
 * and the flag says why. */
static int refuse_passphrase(char *buf, int size, int rwflag, void *ud)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    *(int *)ud = 1;
    return 0;
}

/* 0 when `path` can be opened for reading; otherwise error 2026 naming the
 * option and the file. */
static int check_readable(const char *option, const char *path, int dir, myl_error *err)
{
    int e = 0;
    if (dir) {
        DIR *d = opendir(path);
        if (d) closedir(d);
        else e = errno;
    } else {
        FILE *f = fopen(path, "rb");
        if (f) fclose(f);
        else e = errno;
    }
    if (!e) return 0;
    ssl_error(err, "cannot read %s '%s': %s", option, path, strerror(e));
    return -1;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* A fingerprint as "AA:BB:..." or "AABB...": 64 hex digits (SHA-256) or 40
 * (SHA-1, as the mariadb client accepts).  0, or -1 when malformed. */
static int parse_pin(const char *s, size_t len, pin *out)
{
    size_t digits = 0;
    uint8_t bytes[32];
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ':') continue;
        int v = hexval((unsigned char)s[i]);
        if (v < 0 || digits >= 64) return -1;
        if (digits % 2 == 0) bytes[digits / 2] = (uint8_t)(v << 4);
        else bytes[digits / 2] |= (uint8_t)v;
        digits++;
    }
    if (digits != 64 && digits != 40) return -1;
    out->len = digits / 2;
    memcpy(out->digest, bytes, out->len);
    return 0;
}

static int add_pin(myl_tls_config *cfg, const char *s, size_t len)
{
    if (cfg->npins == MAX_PINS || parse_pin(s, len, &cfg->pins[cfg->npins])) return -1;
    cfg->npins++;
    return 0;
}

/* ssl_fingerprint_list: one fingerprint per line; blank lines and lines
 * starting with '#' are skipped. */
static int load_pin_file(myl_tls_config *cfg, const char *path, myl_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        ssl_error(err, "cannot read ssl_fingerprint_list '%s': %s", path, strerror(errno));
        return -1;
    }
    char line[512];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *s = line;
        while (*s == ' ' || *s == '\t') s++;
        size_t n = strlen(s);
        while (n && isspace((unsigned char)s[n - 1])) n--;
        if (n == 0 || s[0] == '#') continue;
        if (add_pin(cfg, s, n)) {
            ssl_error(err, "line %d of ssl_fingerprint_list '%s' is not a SHA-256 (64 hex "
                      "digits) or SHA-1 (40) fingerprint%s", lineno, path,
                      cfg->npins == MAX_PINS ? " (or one too many)" : "");
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0 && cfg->npins == 0) {
        ssl_error(err, "ssl_fingerprint_list '%s' holds no fingerprint", path);
        rc = -1;
    }
    return rc;
}

/* "TLSv1.2,TLSv1.3" -> the lowest and highest protocol named. */
static int set_versions(SSL_CTX *ctx, const char *list, myl_error *err)
{
    static const struct { const char *name; int version; } known[] = {
        {"TLSv1", TLS1_VERSION}, {"TLSv1.0", TLS1_VERSION}, {"TLSv1.1", TLS1_1_VERSION},
        {"TLSv1.2", TLS1_2_VERSION}, {"TLSv1.3", TLS1_3_VERSION},
    };
    int lo = 0, hi = 0;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        size_t n = strcspn(p, ", ");
        int v = 0;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
            if (strlen(known[i].name) == n && strncasecmp(known[i].name, p, n) == 0)
                v = known[i].version;
        if (!v) {
            ssl_error(err, "tls_version '%s': unknown version '%.*s' (expected TLSv1.2, "
                      "TLSv1.3, ...)", list, (int)(n > 32 ? 32 : n), p);
            return -1;
        }
        if (!lo || v < lo) lo = v;
        if (v > hi) hi = v;
        p += n;
    }
    if (!lo) {
        ssl_error(err, "tls_version '%s' names no version", list);
        return -1;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, lo) || !SSL_CTX_set_max_proto_version(ctx, hi)) {
        char why[160];
        openssl_reason(why, sizeof why);
        ssl_error(err, "tls_version '%s' cannot be used: %s", list, why);
        return -1;
    }
    return 0;
}

/* Revocation lists: every certificate of the chain is checked against them. */
static int load_crls(SSL_CTX *ctx, const myl_options *opt, myl_error *err)
{
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    char why[160];
    if (opt->ssl_crl) {
        if (check_readable("ssl_crl", opt->ssl_crl, 0, err)) return -1;
        X509_LOOKUP *lu = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        if (!lu || X509_load_crl_file(lu, opt->ssl_crl, X509_FILETYPE_PEM) <= 0) {
            openssl_reason(why, sizeof why);
            ssl_error(err, "ssl_crl '%s' is not a PEM revocation list: %s", opt->ssl_crl, why);
            return -1;
        }
    }
    if (opt->ssl_crlpath) {
        if (check_readable("ssl_crlpath", opt->ssl_crlpath, 1, err)) return -1;
        X509_LOOKUP *lu = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
        if (!lu || !X509_LOOKUP_add_dir(lu, opt->ssl_crlpath, X509_FILETYPE_PEM)) {
            openssl_reason(why, sizeof why);
            ssl_error(err, "ssl_crlpath '%s' cannot be used: %s", opt->ssl_crlpath, why);
            return -1;
        }
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    return 0;
}

static int load_trust(SSL_CTX *ctx, const myl_options *opt, int need_ca, myl_error *err)
{
    char why[160];
    if (opt->ssl_ca) {
        if (check_readable("ssl_ca", opt->ssl_ca, 0, err)) return -1;
        if (!SSL_CTX_load_verify_file(ctx, opt->ssl_ca)) {
            openssl_reason(why, sizeof why);
            ssl_error(err, "ssl_ca '%s' is not a PEM certificate file: %s", opt->ssl_ca, why);
            return -1;
        }
    }
    if (opt->ssl_capath) {
        if (check_readable("ssl_capath", opt->ssl_capath, 1, err)) return -1;
        if (!SSL_CTX_load_verify_dir(ctx, opt->ssl_capath)) {
            openssl_reason(why, sizeof why);
            ssl_error(err, "ssl_capath '%s' cannot be used: %s", opt->ssl_capath, why);
            return -1;
        }
    }
    if (!opt->ssl_ca && !opt->ssl_capath && need_ca && !SSL_CTX_set_default_verify_paths(ctx)) {
        openssl_reason(why, sizeof why);
        ssl_error(err, "the system's trusted certificates cannot be loaded: %s", why);
        return -1;
    }
    if ((opt->ssl_crl || opt->ssl_crlpath) && load_crls(ctx, opt, err)) return -1;
    return 0;
}

static int load_identity(myl_tls_config *cfg, const myl_options *opt, myl_error *err)
{
    char why[160];
    const char *key = opt->ssl_key ? opt->ssl_key : opt->ssl_cert; /* a PEM may hold both */
    if (!opt->ssl_cert) {
        if (!opt->ssl_key) return 0;
        ssl_error(err, "ssl_key '%s' given without ssl_cert", opt->ssl_key);
        return -1;
    }
    if (check_readable("ssl_cert", opt->ssl_cert, 0, err)) return -1;
    if (!SSL_CTX_use_certificate_chain_file(cfg->ctx, opt->ssl_cert)) {
        openssl_reason(why, sizeof why);
        ssl_error(err, "ssl_cert '%s' is not a PEM certificate: %s", opt->ssl_cert, why);
        return -1;
    }
    if (check_readable("ssl_key", key, 0, err)) return -1;
    cfg->passphrase_asked = 0;
    if (!SSL_CTX_use_PrivateKey_file(cfg->ctx, key, SSL_FILETYPE_PEM)) {
        int mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        openssl_reason(why, sizeof why);
        if (mismatch)
            ssl_error(err, "ssl_key '%s' does not match ssl_cert '%s'", key, opt->ssl_cert);
        else if (cfg->passphrase_asked)
            ssl_error(err, "ssl_key '%s' is protected by a passphrase, which cannot be given "
                      "here: use a key without one", key);
        else
            ssl_error(err, "ssl_key '%s' is not a PEM private key: %s", key, why);
        return -1;
    }
    if (!SSL_CTX_check_private_key(cfg->ctx)) {
        openssl_reason(why, sizeof why);
        ssl_error(err, "ssl_key '%s' does not match ssl_cert '%s': %s", key, opt->ssl_cert, why);
        return -1;
    }
    return 0;
}

myl_tls_config *myl_tls_config_new(const myl_options *opt, int need_ca, myl_error *err)
{
    myl_tls_config *cfg = calloc(1, sizeof *cfg);
    char why[160];
    ERR_clear_error();
    if (!cfg || !(cfg->ctx = SSL_CTX_new(TLS_client_method()))) {
        free(cfg);
        openssl_reason(why, sizeof why);
        ssl_error(err, "cannot create a TLS context: %s", why);
        return NULL;
    }
    SSL_CTX_set_default_passwd_cb(cfg->ctx, refuse_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(cfg->ctx, &cfg->passphrase_asked);
    /* A record that carries no data (a TLS 1.3 session ticket) is read past
     * inside SSL_read instead of ending it with "want read". */
    SSL_CTX_set_mode(cfg->ctx, SSL_MODE_AUTO_RETRY);
    int rc = load_trust(cfg->ctx, opt, need_ca, err);
    if (rc == 0) rc = load_identity(cfg, opt, err);
    if (rc == 0 && opt->ssl_cipher && !SSL_CTX_set_cipher_list(cfg->ctx, opt->ssl_cipher)) {
        openssl_reason(why, sizeof why);
        ssl_error(err, "ssl_cipher '%s': %s", opt->ssl_cipher, why);
        rc = -1;
    }
    if (rc == 0 && opt->ssl_ciphersuites &&
        !SSL_CTX_set_ciphersuites(cfg->ctx, opt->ssl_ciphersuites)) {
        openssl_reason(why, sizeof why);
        ssl_error(err, "ssl_ciphersuites '%s': %s", opt->ssl_ciphersuites, why);
        rc = -1;
    }
    if (rc == 0 && opt->tls_version) rc = set_versions(cfg->ctx, opt->tls_version, err);
    if (rc == 0 && opt->ssl_fingerprint &&
        add_pin(cfg, opt->ssl_fingerprint, strlen(opt->ssl_fingerprint))) {
        ssl_error(err, "ssl_fingerprint '%.100s' is not a SHA-256 (64 hex digits) or SHA-1 (40) "
                  "fingerprint", opt->ssl_fingerprint);
        rc = -1;
    }
    if (rc == 0 && opt->ssl_fingerprint_list)
        rc = load_pin_file(cfg, opt->ssl_fingerprint_list, err);
    ERR_clear_error();
    if (rc) {
        myl_tls_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void myl_tls_config_free(myl_tls_config *cfg)
{
    if (!cfg) return;
    SSL_CTX_free(cfg->ctx);
    free(cfg);
}

/* ------------------------------------------------------------------ */
/* The BIO: OpenSSL's bytes go through the layer below */

static BIO_METHOD *bio_method;
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;

static int bio_write(BIO *b, const char *data, size_t n, size_t *written)
{
    tls_transport *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    myl_io_status st = t->base.below->write(t->base.below, data, n, t->deadline);
    if (st != MYL_IO_DONE) {
        t->below_status = st;
        return 0;
    }
    *written = n;
    return 1;
}

static int bio_read(BIO *b, char *data, size_t n, size_t *got)
{
    tls_transport *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    *got = 0;
    myl_io_status st = t->base.below->read(t->base.below, data, n, got, t->deadline);
    if (st != MYL_IO_DONE) {
        t->below_status = st;
        return 0;
    }
    return 1;
}

/* Records are written through at once: a flush has nothing left to do. */
static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static int bio_destroy(BIO *b)
{
    BIO_set_data(b, NULL);
    BIO_set_init(b, 0);
    return 1;
}

static void make_bio_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mylua transport");
    if (m && BIO_meth_set_write_ex(m, bio_write) && BIO_meth_set_read_ex(m, bio_read) &&
        BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create) &&
        BIO_meth_set_destroy(m, bio_destroy))
        bio_method = m;
    else
        BIO_meth_free(m);
}

/* ------------------------------------------------------------------ */
/* The transport */

/* A failed SSL call: what the layer below said if it failed (a timeout
 * stays a timeout), else OpenSSL's reason.  Returns the status to report. */
static myl_io_status tls_failed(tls_transport *t, int ret)
{
    int e = SSL_get_error(t->ssl, ret);
    myl_io_status st;
    if (e == SSL_ERROR_ZERO_RETURN) { /* the peer's close_notify: an orderly close */
        snprintf(t->err, sizeof t->err, "connection closed by the peer");
        st = MYL_IO_CLOSED;
    } else if (t->below_status != MYL_IO_DONE) {
        /* Not the session's fault: after a write the peer refused, what it
         * sent before closing (an ERR saying why) can still be read. */
        snprintf(t->err, sizeof t->err, "%s", t->base.below->errmsg(t->base.below));
        st = t->below_status;
    } else if (e == SSL_ERROR_SYSCALL && !ERR_peek_error()) {
        snprintf(t->err, sizeof t->err, "connection closed by the peer");
        st = MYL_IO_CLOSED;
    } else {
        openssl_reason(t->err, sizeof t->err);
        st = MYL_IO_ERROR;
        t->broken = 1;
    }
    ERR_clear_error();
    t->below_status = MYL_IO_DONE;
    t->failed = 1;
    return st;
}

static myl_io_status tls_read(myl_transport *base, void *buf, size_t n, size_t *got,
                              double deadline)
{
    tls_transport *t = (tls_transport *)base;
    if (t->broken) return MYL_IO_ERROR;
    t->deadline = deadline;
    t->below_status = MYL_IO_DONE;
    ERR_clear_error();
    /* Data OpenSSL already decrypted comes first, without touching below. */
    if (SSL_read_ex(t->ssl, buf, n, got) == 1) return MYL_IO_DONE;
    return tls_failed(t, 0);
}

static myl_io_status tls_write(myl_transport *base, const void *buf, size_t n, double deadline)
{
    tls_transport *t = (tls_transport *)base;
    if (n == 0) return MYL_IO_DONE;
    if (t->broken) return MYL_IO_ERROR;
    t->deadline = deadline;
    t->below_status = MYL_IO_DONE;
    ERR_clear_error();
    size_t written = 0;
    /* Without SSL_MODE_ENABLE_PARTIAL_WRITE, success means all n bytes. */
    if (SSL_write_ex(t->ssl, buf, n, &written) == 1) return MYL_IO_DONE;
    return tls_failed(t, 0);
}

static const char *tls_errmsg(const myl_transport *base)
{
    const tls_transport *t = (const tls_transport *)base;
    return t->err[0] ? t->err : "no error";
}

/* Frees the TLS state; the layer below stays open. */
static void tls_free(tls_transport *t)
{
    SSL_free(t->ssl); /* and the BIO */
    ERR_clear_error();
    free(t);
}

static void tls_close(myl_transport *base)
{
    tls_transport *t = (tls_transport *)base;
    if (!t->failed && SSL_is_init_finished(t->ssl)) {
        /* Best effort: our close_notify, never waiting for the peer's. */
        t->deadline = myl_now() + CLOSE_NOTIFY_WAIT;
        SSL_shutdown(t->ssl);
    }
    myl_transport *below = t->base.below;
    myl_tls_config *cfg = t->cfg;
    tls_free(t);
    myl_tls_config_free(cfg);
    if (below) below->close(below);
}

/* ------------------------------------------------------------------ */
/* The handshake and the certificate */

static int is_trust_error(int e)
{
    switch (e) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        return 1;
    default: return 0;
    }
}

/* Lets the handshake go on whatever the chain looks like, and notes each
 * kind of problem: the decision needs the whole picture (a pinned
 * fingerprint, or the server's proof, may still vouch for the certificate). */
static int note_verify_error(int ok, X509_STORE_CTX *x)
{
    if (ok) return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    tls_transport *t = ssl ? SSL_get_app_data(ssl) : NULL;
    int e = X509_STORE_CTX_get_error(x);
    if (!t) return 0;
    if (is_trust_error(e)) {
        if (!t->trust_error) t->trust_error = e;
    } else if (e == X509_V_ERR_HOSTNAME_MISMATCH || e == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        if (!t->name_error) t->name_error = e;
    } else if (!t->other_error) {
        t->other_error = e;
    }
    return 1;
}

static void hex_colons(const uint8_t *d, size_t n, char *out, size_t outlen)
{
    size_t w = 0;
    for (size_t i = 0; i < n && w + 4 <= outlen; i++)
        w += (size_t)snprintf(out + w, outlen - w, i ? ":%02X" : "%02X", d[i]);
}

static int pins_match(const myl_tls_config *cfg, X509 *cert, const uint8_t sha256[32])
{
    uint8_t sha1[20];
    unsigned n = 0;
    int have_sha1 = X509_digest(cert, EVP_sha1(), sha1, &n) == 1 && n == 20;
    for (size_t i = 0; i < cfg->npins; i++) {
        const pin *p = &cfg->pins[i];
        if (p->len == 32 && memcmp(p->digest, sha256, 32) == 0) return 1;
        if (p->len == 20 && have_sha1 && memcmp(p->digest, sha1, 20) == 0) return 1;
    }
    return 0;
}

/* Fills info and check from the finished handshake; -1 (err set) when the
 * certificate is missing or matches no pinned fingerprint. */
static int examine_peer(tls_transport *t, myl_tls_info *info, myl_tls_check *check,
                        myl_error *err)
{
    memset(info, 0, sizeof *info);
    memset(check, 0, sizeof *check);
    snprintf(info->version, sizeof info->version, "%s", SSL_get_version(t->ssl));
    const char *cipher = SSL_get_cipher_name(t->ssl);
    snprintf(info->cipher, sizeof info->cipher, "%s", cipher ? cipher : "");
    X509 *cert = SSL_get1_peer_certificate(t->ssl);
    unsigned n = 0;
    if (!cert || X509_digest(cert, EVP_sha256(), info->cert_sha256, &n) != 1 || n != 32) {
        X509_free(cert);
        ssl_error(err, "the server sent no usable certificate");
        return -1;
    }
    X509_NAME_oneline(X509_get_subject_name(cert), info->subject, sizeof info->subject);
    X509_NAME_oneline(X509_get_issuer_name(cert), info->issuer, sizeof info->issuer);
    hex_colons(info->cert_sha256, 32, info->fingerprint, sizeof info->fingerprint);
    int pinned = t->cfg->npins > 0, matched = pinned && pins_match(t->cfg, cert, info->cert_sha256);
    X509_free(cert);
    if (pinned) {
        /* A pin is the trust anchor: it replaces the CA and name checks. */
        if (!matched) {
            ssl_error(err, "the server's certificate (SHA-256 fingerprint %s) matches no pinned "
                      "fingerprint", info->fingerprint);
            return -1;
        }
        info->verified = MYL_TLS_BY_FINGERPRINT;
        check->trust = MYL_TLS_TRUSTED;
        return 0;
    }
    int e = t->other_error ? t->other_error : t->trust_error ? t->trust_error : t->name_error;
    long result = SSL_get_verify_result(t->ssl);
    if (!e && result != X509_V_OK) e = (int)result;
    if (!e) {
        info->verified = MYL_TLS_BY_CA;
        check->trust = MYL_TLS_TRUSTED;
        return 0;
    }
    /* The name on a certificate nobody vouches for proves nothing, so only
     * a problem beyond the missing anchor makes it invalid. */
    check->trust = t->other_error || (t->name_error && !t->trust_error) ? MYL_TLS_INVALID
                                                                        : MYL_TLS_UNTRUSTED;
    snprintf(check->reason, sizeof check->reason, "%s", X509_verify_cert_error_string(e));
    return 0;
}

myl_transport *myl_tls_start(myl_tls_config *cfg, myl_transport *below, const char *host,
                             int check_identity, double deadline, myl_tls_info *info,
                             myl_tls_check *check, myl_io_status *io, myl_error *err)
{
    *io = MYL_IO_ERROR;
    pthread_once(&bio_once, make_bio_method);
    tls_transport *t = calloc(1, sizeof *t);
    ERR_clear_error();
    BIO *bio = NULL;
    if (!t || !bio_method || !(t->ssl = SSL_new(cfg->ctx)) || !(bio = BIO_new(bio_method))) {
        char why[160];
        openssl_reason(why, sizeof why);
        ssl_error(err, "cannot start TLS: %s", why);
        if (t) SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio);
    SSL_set_app_data(t->ssl, t);
    SSL_set_verify(t->ssl, SSL_VERIFY_PEER, note_verify_error);
    t->cfg = cfg;
    t->base.read = tls_read;
    t->base.write = tls_write;
    t->base.flush = myl_transport_pass_flush;
    t->base.on_command = myl_transport_pass_on_command;
    t->base.errmsg = tls_errmsg;
    t->base.close = tls_close;
    t->base.secure = 1;
    t->base.below = below;
    t->below_status = MYL_IO_DONE;

    unsigned char addr[16];
    int is_ip = host && (inet_pton(AF_INET, host, addr) == 1 ||
                         inet_pton(AF_INET6, host, addr) == 1);
    int ok = 1;
    if (host && !is_ip) ok = SSL_set_tlsext_host_name(t->ssl, host) == 1; /* SNI */
    if (ok && check_identity) {
        const char *name = host ? host : "localhost";
        ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name) == 1
                   : SSL_set1_host(t->ssl, name) == 1;
    }
    if (!ok) {
        char why[160];
        openssl_reason(why, sizeof why);
        ssl_error(err, "cannot check the server's name '%s': %s", host ? host : "localhost", why);
        tls_free(t);
        return NULL;
    }

    t->deadline = deadline;
    int r = SSL_connect(t->ssl);
    if (r != 1) {
        *io = tls_failed(t, r);
        if (*io == MYL_IO_TIMEOUT)
            ssl_error(err, "timed out during the TLS handshake");
        else if (*io == MYL_IO_CLOSED)
            ssl_error(err, "the server closed the connection during the TLS handshake (%s)",
                      t->err);
        else
            ssl_error(err, "TLS handshake failed: %s", t->err);
        tls_free(t);
        return NULL;
    }
    if (examine_peer(t, info, check, err)) {
        tls_free(t);
        return NULL;
    }
    *io = MYL_IO_DONE;
    return &t->base;
}

/* ------------------------------------------------------------------ */
/* The server's proof */

int myl_tls_proof_matches(const char *info, size_t info_len, const uint8_t *password_hash,
                          size_t hash_len, const uint8_t *scramble, const uint8_t cert_sha256[32])
{
    if (info_len == 0 || info[0] != '\1') return -1;
    if (info_len != 65) return 0; /* a digest, but not of the right size */
    uint8_t digest[32];
    unsigned n = 0;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
             EVP_DigestUpdate(md, password_hash, hash_len) &&
             EVP_DigestUpdate(md, scramble, 20) && EVP_DigestUpdate(md, cert_sha256, 32) &&
             EVP_DigestFinal_ex(md, digest, &n) && n == 32;
    EVP_MD_CTX_free(md);
    if (!ok) return 0;
    int diff = 0;
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval((unsigned char)info[1 + 2 * i]);
        int lo = hexval((unsigned char)info[2 + 2 * i]);
        if (hi < 0 || lo < 0) return 0;
        diff |= (hi << 4 | lo) ^ digest[i];
    }
    return diff == 0;
}
