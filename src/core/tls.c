/* TLS over the transport below, with OpenSSL 3 (see tls.h); the context
 * it runs with comes from tls_config.c. */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls_internal.h"

/* How long closing may wait to send its close_notify to a stalled peer. */
#define CLOSE_NOTIFY_WAIT 0.2


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
    myl_transport *below = t->base.below;
    myl_io_status st = below->read(below, data, n, got, t->deadline);
    if (st != MYL_IO_DONE) {
        t->below_status = st;
        return 0;
    }
    return 1;
}

/* Records are written through at once: a flush has nothing left to do.
 * Nothing is pending here: what was received waits in OpenSSL's buffer. */
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
        myl_tls_reason(t->err, sizeof t->err);
        st = MYL_IO_ERROR;
        t->broken = 1;
    }
    ERR_clear_error();
    t->below_status = MYL_IO_DONE;
    t->failed = 1;
    return st;
}

/* SSL_get_error() reads the thread's error queue, so a call must start
 * with it empty.  It nearly always is, and looking costs a third of
 * clearing: a streamed result makes one call a record. */
static void clear_errors(void)
{
    if (ERR_peek_error()) ERR_clear_error();
}

static myl_io_status tls_read(myl_transport *base, void *buf, size_t n, size_t *got,
                              double deadline)
{
    tls_transport *t = (tls_transport *)base;
    if (t->broken) return MYL_IO_ERROR;
    t->deadline = deadline;
    t->below_status = MYL_IO_DONE;
    clear_errors();
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
    clear_errors();
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
        myl_tls_error(err, "the server sent no usable certificate");
        return -1;
    }
    X509_NAME_oneline(X509_get_subject_name(cert), info->subject, sizeof info->subject);
    X509_NAME_oneline(X509_get_issuer_name(cert), info->issuer, sizeof info->issuer);
    hex_colons(info->cert_sha256, 32, info->fingerprint, sizeof info->fingerprint);
    int pinned = t->cfg->npins > 0;
    int matched = pinned && myl_tls_pins_match(t->cfg, cert, info->cert_sha256);
    X509_free(cert);
    if (pinned) {
        /* A pin is the trust anchor: it replaces the CA and name checks. */
        if (!matched) {
            myl_tls_error(err, "the server's certificate (SHA-256 fingerprint %s) matches no "
                          "pinned fingerprint", info->fingerprint);
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
        myl_tls_reason(why, sizeof why);
        myl_tls_error(err, "cannot start TLS: %s", why);
        if (t) SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    BIO_set_data(bio, t);
    SSL_set_bio(t->ssl, bio, bio);
    SSL_set_app_data(t->ssl, t);
    SSL_set_verify(t->ssl, SSL_VERIFY_PEER, note_verify_error);
    /* OpenSSL reads as much as its record buffer holds straight from the
     * layer below: a streamed result costs about one read per record, the
     * bytes land where they are decrypted, and no copy is ours.  (A larger
     * buffer would make OpenSSL move each read's remainder to its start.) */
    SSL_set_read_ahead(t->ssl, 1);
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
        myl_tls_reason(why, sizeof why);
        myl_tls_error(err, "cannot check the server's name '%s': %s",
                      host ? host : "localhost", why);
        tls_free(t);
        return NULL;
    }

    t->deadline = deadline;
    int r = SSL_connect(t->ssl);
    if (r != 1) {
        *io = tls_failed(t, r);
        if (*io == MYL_IO_TIMEOUT)
            myl_tls_error(err, "timed out during the TLS handshake");
        else if (*io == MYL_IO_CLOSED)
            myl_tls_error(err, "the server closed the connection during the TLS handshake (%s)",
                          t->err);
        else
            myl_tls_error(err, "TLS handshake failed: %s", t->err);
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
        int hi = myl_tls_hexval((unsigned char)info[1 + 2 * i]);
        int lo = myl_tls_hexval((unsigned char)info[2 + 2 * i]);
        if (hi < 0 || lo < 0) return 0;
        diff |= (hi << 4 | lo) ^ digest[i];
    }
    return diff == 0;
}
