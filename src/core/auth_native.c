/* mysql_native_password: one round, a SHA1-based token over the scramble. */
#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#include "auth.h"

#define SCRAMBLE_LEN 20

/* OpenSSL 3 looks the algorithm up by name on every EVP_DigestInit_ex with
 * EVP_sha1(); fetched once, that cost (a third of a connect's CPU) goes. */
static EVP_MD *sha1_md;
static pthread_once_t sha1_once = PTHREAD_ONCE_INIT;

static void fetch_sha1(void) { sha1_md = EVP_MD_fetch(NULL, "SHA1", NULL); }

/* SHA1(a + b); returns 0, or -1 when OpenSSL could not hash. */
static int sha1(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[20])
{
    pthread_once(&sha1_once, fetch_sha1);
    if (!sha1_md) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned olen = 20;
    int ok = ctx && EVP_DigestInit_ex(ctx, sha1_md, NULL) &&
             EVP_DigestUpdate(ctx, a, alen) && (blen == 0 || EVP_DigestUpdate(ctx, b, blen)) &&
             EVP_DigestFinal_ex(ctx, out, &olen);
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

int myl_native_password_token(const char *password, const uint8_t *scramble,
                              size_t scramble_len, uint8_t out[20])
{
    size_t pwlen = password ? strlen(password) : 0;
    if (pwlen == 0) return 0;
    uint8_t h1[20], h2[20], h3[20];
    if (sha1(password, pwlen, NULL, 0, h1) || sha1(h1, 20, NULL, 0, h2) ||
        sha1(scramble, scramble_len < SCRAMBLE_LEN ? scramble_len : SCRAMBLE_LEN, h2, 20, h3))
        return -1;
    for (int i = 0; i < 20; i++) out[i] = h1[i] ^ h3[i];
    return 20;
}

static myl_auth_step native_respond(myl_auth_ctx *ctx, int round, const uint8_t *data, size_t n,
                                    myl_buf *out)
{
    if (round > 0) {
        myl_error_set(ctx->err, MYL_CR_MALFORMED_PACKET,
                      "Malformed packet (mysql_native_password takes one round)");
        return MYL_AUTH_FAILED;
    }
    /* The scramble may carry the NUL that ends it in the packet. */
    if (n == SCRAMBLE_LEN + 1 && data[SCRAMBLE_LEN] == 0) n--;
    if (n != SCRAMBLE_LEN) {
        myl_error_set(ctx->err, MYL_CR_SERVER_HANDSHAKE_ERR,
                      "Error in server handshake (scramble of %zu bytes, 20 expected)", n);
        return MYL_AUTH_FAILED;
    }
    uint8_t token[20];
    int tlen = myl_native_password_token(ctx->password, data, n, token);
    if (tlen < 0) {
        myl_error_set(ctx->err, MYL_CR_UNKNOWN_ERROR, "SHA1 is not available from OpenSSL");
        return MYL_AUTH_FAILED;
    }
    if (myl_buf_append(out, token, (size_t)tlen)) {
        myl_error_set(ctx->err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return MYL_AUTH_FAILED;
    }
    return MYL_AUTH_SEND;
}

/* The server's stored hash: SHA1(SHA1(password)). */
static int native_password_hash(const char *password, uint8_t *out, size_t *len)
{
    uint8_t h1[20];
    if (*len < 20 || sha1(password, strlen(password), NULL, 0, h1) || sha1(h1, 20, NULL, 0, out))
        return -1;
    *len = 20;
    return 0;
}

const myl_auth_plugin myl_auth_native_password = {"mysql_native_password", native_respond,
                                                  native_password_hash, 0};
