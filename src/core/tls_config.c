/* The OpenSSL context of a connection, from its ssl_* options (tls.h):
 * trusted CAs, client certificate and key, ciphers, versions, revocation
 * lists, and the pinned fingerprints. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tls_internal.h"

/* ------------------------------------------------------------------ */
/* Errors */

void myl_tls_reason(char *out, size_t outlen)
{
    unsigned long code = ERR_peek_last_error();
    const char *r = code ? ERR_reason_error_string(code) : NULL;
    if (r) snprintf(out, outlen, "%s", r);
    else if (code) ERR_error_string_n(code, out, outlen);
    else snprintf(out, outlen, "unknown OpenSSL error");
    ERR_clear_error();
}

void myl_tls_error(myl_error *err, const char *fmt, ...)
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
    myl_tls_error(err, "cannot read %s '%s': %s", option, path, strerror(e));
    return -1;
}

int myl_tls_hexval(int ch)
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
        int v = myl_tls_hexval((unsigned char)s[i]);
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
        myl_tls_error(err, "cannot read ssl_fingerprint_list '%s': %s", path, strerror(errno));
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
            myl_tls_error(err, "line %d of ssl_fingerprint_list '%s' is not a SHA-256 (64 hex "
                          "digits) or SHA-1 (40) fingerprint%s", lineno, path,
                          cfg->npins == MAX_PINS ? " (or one too many)" : "");
            rc = -1;
            break;
        }
    }
    fclose(f);
    if (rc == 0 && cfg->npins == 0) {
        myl_tls_error(err, "ssl_fingerprint_list '%s' holds no fingerprint", path);
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
            myl_tls_error(err, "tls_version '%s': unknown version '%.*s' (expected TLSv1.2, "
                          "TLSv1.3, ...)", list, (int)(n > 32 ? 32 : n), p);
            return -1;
        }
        if (!lo || v < lo) lo = v;
        if (v > hi) hi = v;
        p += n;
    }
    if (!lo) {
        myl_tls_error(err, "tls_version '%s' names no version", list);
        return -1;
    }
    if (!SSL_CTX_set_min_proto_version(ctx, lo) || !SSL_CTX_set_max_proto_version(ctx, hi)) {
        char why[160];
        myl_tls_reason(why, sizeof why);
        myl_tls_error(err, "tls_version '%s' cannot be used: %s", list, why);
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
            myl_tls_reason(why, sizeof why);
            myl_tls_error(err, "ssl_crl '%s' is not a PEM revocation list: %s", opt->ssl_crl, why);
            return -1;
        }
    }
    if (opt->ssl_crlpath) {
        if (check_readable("ssl_crlpath", opt->ssl_crlpath, 1, err)) return -1;
        X509_LOOKUP *lu = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
        if (!lu || !X509_LOOKUP_add_dir(lu, opt->ssl_crlpath, X509_FILETYPE_PEM)) {
            myl_tls_reason(why, sizeof why);
            myl_tls_error(err, "ssl_crlpath '%s' cannot be used: %s", opt->ssl_crlpath, why);
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
            myl_tls_reason(why, sizeof why);
            myl_tls_error(err, "ssl_ca '%s' is not a PEM certificate file: %s", opt->ssl_ca, why);
            return -1;
        }
    }
    if (opt->ssl_capath) {
        if (check_readable("ssl_capath", opt->ssl_capath, 1, err)) return -1;
        if (!SSL_CTX_load_verify_dir(ctx, opt->ssl_capath)) {
            myl_tls_reason(why, sizeof why);
            myl_tls_error(err, "ssl_capath '%s' cannot be used: %s", opt->ssl_capath, why);
            return -1;
        }
    }
    if (!opt->ssl_ca && !opt->ssl_capath && need_ca && !SSL_CTX_set_default_verify_paths(ctx)) {
        myl_tls_reason(why, sizeof why);
        myl_tls_error(err, "the system's trusted certificates cannot be loaded: %s", why);
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
        myl_tls_error(err, "ssl_key '%s' given without ssl_cert", opt->ssl_key);
        return -1;
    }
    if (check_readable("ssl_cert", opt->ssl_cert, 0, err)) return -1;
    if (!SSL_CTX_use_certificate_chain_file(cfg->ctx, opt->ssl_cert)) {
        myl_tls_reason(why, sizeof why);
        myl_tls_error(err, "ssl_cert '%s' is not a PEM certificate: %s", opt->ssl_cert, why);
        return -1;
    }
    if (check_readable("ssl_key", key, 0, err)) return -1;
    cfg->passphrase_asked = 0;
    if (!SSL_CTX_use_PrivateKey_file(cfg->ctx, key, SSL_FILETYPE_PEM)) {
        int mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        myl_tls_reason(why, sizeof why);
        if (mismatch)
            myl_tls_error(err, "ssl_key '%s' does not match ssl_cert '%s'", key, opt->ssl_cert);
        else if (cfg->passphrase_asked)
            myl_tls_error(err, "ssl_key '%s' is protected by a passphrase, which cannot be given "
                          "here: use a key without one", key);
        else
            myl_tls_error(err, "ssl_key '%s' is not a PEM private key: %s", key, why);
        return -1;
    }
    if (!SSL_CTX_check_private_key(cfg->ctx)) {
        myl_tls_reason(why, sizeof why);
        myl_tls_error(err, "ssl_key '%s' does not match ssl_cert '%s': %s", key, opt->ssl_cert,
                      why);
        return -1;
    }
    return 0;
}

myl_tls_config *myl_tls_config_build(const myl_options *opt, int need_ca, myl_error *err)
{
    myl_tls_config *cfg = calloc(1, sizeof *cfg);
    char why[160];
    ERR_clear_error();
    if (!cfg || !(cfg->ctx = SSL_CTX_new(TLS_client_method()))) {
        free(cfg);
        myl_tls_reason(why, sizeof why);
        myl_tls_error(err, "cannot create a TLS context: %s", why);
        return NULL;
    }
    SSL_CTX_set_default_passwd_cb(cfg->ctx, refuse_passphrase);
    SSL_CTX_set_default_passwd_cb_userdata(cfg->ctx, &cfg->passphrase_asked);
    /* A record that carries no data (a TLS 1.3 session ticket) is read past
     * inside SSL_read instead of ending it with "want read". */
    SSL_CTX_set_mode(cfg->ctx, SSL_MODE_AUTO_RETRY);
    /* No read-ahead: it saves a third of the reads from the layer below
     * but copies each record once more inside OpenSSL; measured, the client
     * CPU is the same and the instruction count 25% higher for TLS. */
    int rc = load_trust(cfg->ctx, opt, need_ca, err);
    if (rc == 0) rc = load_identity(cfg, opt, err);
    if (rc == 0 && opt->ssl_cipher && !SSL_CTX_set_cipher_list(cfg->ctx, opt->ssl_cipher)) {
        myl_tls_reason(why, sizeof why);
        myl_tls_error(err, "ssl_cipher '%s': %s", opt->ssl_cipher, why);
        rc = -1;
    }
    if (rc == 0 && opt->ssl_ciphersuites &&
        !SSL_CTX_set_ciphersuites(cfg->ctx, opt->ssl_ciphersuites)) {
        myl_tls_reason(why, sizeof why);
        myl_tls_error(err, "ssl_ciphersuites '%s': %s", opt->ssl_ciphersuites, why);
        rc = -1;
    }
    if (rc == 0 && opt->tls_version) rc = set_versions(cfg->ctx, opt->tls_version, err);
    if (rc == 0 && opt->ssl_fingerprint &&
        add_pin(cfg, opt->ssl_fingerprint, strlen(opt->ssl_fingerprint))) {
        myl_tls_error(err, "ssl_fingerprint '%.100s' is not a SHA-256 (64 hex digits) or SHA-1 "
                      "(40) fingerprint", opt->ssl_fingerprint);
        rc = -1;
    }
    if (rc == 0 && opt->ssl_fingerprint_list)
        rc = load_pin_file(cfg, opt->ssl_fingerprint_list, err);
    ERR_clear_error();
    if (rc) {
        myl_tls_config_destroy(cfg);
        return NULL;
    }
    cfg->refs = 1;
    return cfg;
}

void myl_tls_config_destroy(myl_tls_config *cfg)
{
    if (!cfg) return;
    SSL_CTX_free(cfg->ctx);
    free(cfg);
}

int myl_tls_pins_match(const myl_tls_config *cfg, X509 *cert, const uint8_t sha256[32])
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
