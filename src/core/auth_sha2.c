/* MySQL's SHA-256 plugins: caching_sha2_password (MySQL 8's default) and
 * sha256_password, as MySQL's client speaks them (sql-common/
 * client_authentication.cc).
 *
 * caching_sha2_password: round 0 answers the scramble with a token
 * (SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble)).  When the
 * server's cache knows the account it answers 0x03 (fast auth success)
 * and an OK follows; otherwise 0x04 (perform full authentication): the
 * server wants the password itself.
 * sha256_password: the password itself, at once.
 *
 * How the password goes: in clear (with its NUL) where nobody can read it
 * on the way, RSA-encrypted otherwise (auth_rsa.c), with the key of the
 * server_public_key file or, when get_server_public_key allows it, the key
 * the server sends when asked (0x02 for caching_sha2_password, 0x01 for
 * sha256_password).  Neither: error 2061, and nothing with the password is
 * sent.  What "in clear" needs differs, as the servers decide it:
 *   - caching_sha2_password: any TLS session or a Unix socket (the server's
 *     my_vio_is_secure); this client also wants the TLS certificate trusted.
 *   - sha256_password: TLS only (my_vio_is_encrypted); over a Unix socket
 *     the server expects RSA, and the key it sends there cannot have been
 *     swapped on the way, so it is asked for without get_server_public_key.
 * Over TLS with an unverified certificate the server expects the password
 * in clear, which would go to whoever is in between: refused (2061), with
 * what to set instead; an RSA answer would only be refused as a wrong
 * password.
 *
 * An empty password: caching_sha2_password answers nothing (the server
 * takes an empty answer or a single 0x00), sha256_password a single 0x00
 * (the only form its server takes); either way the server says OK or ERR. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "auth_rsa.h"

#define SCRAMBLE_LEN 20
#define SHA256_LEN 32

#define CACHING_SHA2 "caching_sha2_password"
#define SHA256_PASSWORD "sha256_password"

/* caching_sha2_password's status bytes and requests */
#define FAST_AUTH_SUCCESS 0x03
#define PERFORM_FULL_AUTH 0x04
#define CACHING_SHA2_KEY_REQUEST 0x02
#define SHA256_KEY_REQUEST 0x01

/* ctx->step: where a plugin stands between rounds. */
enum {
    STEP_START = 0,  /* round 0 not answered yet */
    STEP_TOKEN_SENT, /* caching_sha2: the token went; 0x03 or 0x04 comes next */
    STEP_KEY_ASKED,  /* the server's PEM public key comes next */
    STEP_DONE,       /* all is said: only the server's OK or ERR may follow */
};

/* Fetched once (see auth_native.c: the lookup by name is the cost). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

/* SHA256(a + b); 0, or -1 when OpenSSL could not hash. */
static int sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[SHA256_LEN])
{
    pthread_once(&sha256_once, fetch_sha256);
    if (!sha256_md) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned olen = SHA256_LEN;
    int ok = ctx && EVP_DigestInit_ex(ctx, sha256_md, NULL) && EVP_DigestUpdate(ctx, a, alen) &&
             (blen == 0 || EVP_DigestUpdate(ctx, b, blen)) && EVP_DigestFinal_ex(ctx, out, &olen);
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

/* The fast-auth token: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble).
 * 0, or -1 when hashing failed. */
static int caching_sha2_token(const char *password, const uint8_t *scramble,
                              uint8_t out[SHA256_LEN])
{
    uint8_t h1[SHA256_LEN], h2[SHA256_LEN], h3[SHA256_LEN];
    int rc = sha256(password, strlen(password), NULL, 0, h1) ||
                     sha256(h1, SHA256_LEN, NULL, 0, h2) ||
                     sha256(h2, SHA256_LEN, scramble, SCRAMBLE_LEN, h3)
                 ? -1
                 : 0;
    if (rc == 0)
        for (int i = 0; i < SHA256_LEN; i++) out[i] = h1[i] ^ h3[i];
    OPENSSL_cleanse(h1, sizeof h1);
    OPENSSL_cleanse(h2, sizeof h2);
    OPENSSL_cleanse(h3, sizeof h3);
    return rc;
}

static myl_auth_step out_of_memory(myl_auth_ctx *ctx)
{
    myl_error_set(ctx->err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
    return MYL_AUTH_FAILED;
}

/* `out` arrives empty: one exact reservation, so no reallocation leaves a
 * copy of a secret behind in freed memory. */
static myl_auth_step send_bytes(myl_auth_ctx *ctx, myl_buf *out, const void *p, size_t n)
{
    if (n && myl_buf_reserve(out, n)) return out_of_memory(ctx);
    if (n) myl_buf_put(out, p, n);
    return MYL_AUTH_SEND;
}

static myl_auth_step send_byte(myl_auth_ctx *ctx, myl_buf *out, uint8_t b)
{
    return send_bytes(ctx, out, &b, 1);
}

/* Round 0's data is the 20-byte scramble, with the NUL that ends it when
 * it came in an auth switch. */
static int scramble_ok(myl_auth_ctx *ctx, const char *plugin, const uint8_t *data, size_t n)
{
    if (n == SCRAMBLE_LEN || (n == SCRAMBLE_LEN + 1 && data[SCRAMBLE_LEN] == 0)) return 1;
    size_t len = n && data[n - 1] == 0 ? n - 1 : n; /* as the server meant it */
    myl_error_set(ctx->err, MYL_CR_SERVER_HANDSHAKE_ERR,
                  "Error in server handshake (%s: scramble of %zu bytes, 20 expected)", plugin, len);
    return 0;
}

/* The password with its NUL, for a channel nobody can read. */
static myl_auth_step send_clear(myl_auth_ctx *ctx, myl_buf *out)
{
    ctx->step = STEP_DONE;
    return send_bytes(ctx, out, ctx->password, strlen(ctx->password) + 1);
}

/* The password encrypted with the key in `pem` (from `origin`). */
static myl_auth_step send_encrypted(myl_auth_ctx *ctx, const char *plugin, const uint8_t *pem,
                                    size_t n, const char *origin, myl_buf *out)
{
    ctx->step = STEP_DONE;
    if (myl_rsa_encrypt_password(pem, n, origin, ctx->password, ctx->scramble, out, plugin,
                                 ctx->err))
        return MYL_AUTH_FAILED;
    return MYL_AUTH_SEND;
}

/* The password encrypted with the key of the server_public_key file. */
static myl_auth_step send_with_key_file(myl_auth_ctx *ctx, const char *plugin, myl_buf *out)
{
    myl_buf pem = {0};
    myl_auth_step st = MYL_AUTH_FAILED;
    if (myl_rsa_read_key_file(ctx->server_public_key, &pem, plugin, ctx->err) == 0) {
        char origin[MYL_ERRMSG_SIZE / 2];
        snprintf(origin, sizeof origin, "the server_public_key file '%s'", ctx->server_public_key);
        st = send_encrypted(ctx, plugin, pem.data, pem.len, origin, out);
    }
    myl_buf_free(&pem);
    return st;
}

/* Asks the server for its public key; the next round encrypts with it. */
static myl_auth_step ask_for_key(myl_auth_ctx *ctx, myl_buf *out, uint8_t request)
{
    ctx->step = STEP_KEY_ASKED;
    return send_byte(ctx, out, request);
}

/* No way to send the password that nobody in between could read. */
static myl_auth_step no_safe_way(myl_auth_ctx *ctx, const char *plugin, const char *context)
{
    if (ctx->tls)
        myl_auth_plugin_error(ctx->err, plugin,
                              "%sover TLS the server takes the password in clear, but its "
                              "certificate is not verified, so whoever is in between would read "
                              "it: give the CA that signed it (ssl = { mode = \"verify_ca\", ca = "
                              "... }) or connect through the Unix socket", context);
    else
        myl_auth_plugin_error(ctx->err, plugin,
                              "%ssending the password requires a secure connection (TLS with a "
                              "verified certificate or a Unix socket), or server_public_key / "
                              "get_server_public_key: server_public_key names a file with the "
                              "server's RSA public key, get_server_public_key = true accepts the "
                              "key the server sends", context);
    return MYL_AUTH_FAILED;
}

/* Data after everything was said, or where no data belongs. */
static myl_auth_step unexpected(myl_auth_ctx *ctx, const char *plugin, const uint8_t *data,
                                size_t n, const char *expected)
{
    char first[16] = "";
    if (n) snprintf(first, sizeof first, ", first 0x%02X", data[0]);
    myl_error_set(ctx->err, MYL_CR_MALFORMED_PACKET,
                  "Malformed packet (%s: unexpected reply from the server: %zu bytes%s; %s)",
                  plugin, n, first, expected);
    return MYL_AUTH_FAILED;
}

/* ---- caching_sha2_password ---- */

/* 0x04: the server wants the password itself. */
static myl_auth_step caching_sha2_full_auth(myl_auth_ctx *ctx, myl_buf *out)
{
    static const char why[] = "the server asks for the password itself (its cache does not "
                              "know this account, or the password is wrong); ";
    if (ctx->secure) return send_clear(ctx, out);
    if (ctx->tls) return no_safe_way(ctx, CACHING_SHA2, why);
    if (ctx->server_public_key) return send_with_key_file(ctx, CACHING_SHA2, out);
    if (ctx->get_server_public_key) return ask_for_key(ctx, out, CACHING_SHA2_KEY_REQUEST);
    return no_safe_way(ctx, CACHING_SHA2, why);
}

static myl_auth_step caching_sha2_respond(myl_auth_ctx *ctx, int round, const uint8_t *data,
                                          size_t n, myl_buf *out)
{
    if (round == 0) {
        if (!scramble_ok(ctx, CACHING_SHA2, data, n)) return MYL_AUTH_FAILED;
        if (!*ctx->password) { /* nothing to prove: the server says OK or ERR */
            ctx->step = STEP_DONE;
            return MYL_AUTH_SEND;
        }
        uint8_t token[SHA256_LEN];
        if (caching_sha2_token(ctx->password, data, token)) {
            myl_error_set(ctx->err, MYL_CR_UNKNOWN_ERROR, "SHA256 is not available from OpenSSL");
            return MYL_AUTH_FAILED;
        }
        ctx->step = STEP_TOKEN_SENT;
        myl_auth_step st = send_bytes(ctx, out, token, sizeof token);
        OPENSSL_cleanse(token, sizeof token);
        return st;
    }
    switch (ctx->step) {
    case STEP_TOKEN_SENT: /* the cache's verdict */
        if (n == 1 && data[0] == FAST_AUTH_SUCCESS) {
            ctx->step = STEP_DONE;
            return MYL_AUTH_WAIT; /* the OK follows */
        }
        if (n == 1 && data[0] == PERFORM_FULL_AUTH) return caching_sha2_full_auth(ctx, out);
        return unexpected(ctx, CACHING_SHA2, data, n,
                          "0x03 (fast auth success) or 0x04 (full authentication) expected");
    case STEP_KEY_ASKED: /* the PEM public key we asked for */
        return send_encrypted(ctx, CACHING_SHA2, data, n, "the server's public key reply", out);
    default:
        return unexpected(ctx, CACHING_SHA2, data, n, "only OK or ERR may follow");
    }
}

/* ---- sha256_password ---- */

static myl_auth_step sha256_respond(myl_auth_ctx *ctx, int round, const uint8_t *data, size_t n,
                                    myl_buf *out)
{
    if (round == 0) {
        if (!scramble_ok(ctx, SHA256_PASSWORD, data, n)) return MYL_AUTH_FAILED;
        if (!*ctx->password) { /* "no password": a single 0x00 */
            ctx->step = STEP_DONE;
            return send_byte(ctx, out, 0);
        }
        if (ctx->tls && ctx->secure) return send_clear(ctx, out);
        if (ctx->tls) return no_safe_way(ctx, SHA256_PASSWORD, "");
        if (ctx->server_public_key) return send_with_key_file(ctx, SHA256_PASSWORD, out);
        if (ctx->get_server_public_key || ctx->secure)
            return ask_for_key(ctx, out, SHA256_KEY_REQUEST);
        return no_safe_way(ctx, SHA256_PASSWORD, "");
    }
    if (ctx->step == STEP_KEY_ASKED)
        return send_encrypted(ctx, SHA256_PASSWORD, data, n, "the server's public key reply", out);
    return unexpected(ctx, SHA256_PASSWORD, data, n, "only OK or ERR may follow");
}

/* No password_hash: MySQL servers send no proof of their TLS certificate. */
const myl_auth_plugin myl_auth_caching_sha2_password = {CACHING_SHA2, caching_sha2_respond, NULL, 0};

const myl_auth_plugin myl_auth_sha256_password = {SHA256_PASSWORD, sha256_respond, NULL, 0};
