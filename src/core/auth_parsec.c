/* parsec (MariaDB 11.6+): a salted, stretched password signs both sides'
 * scrambles with standard Ed25519.
 *
 *   server: auth switch "parsec" with a 32-byte scramble
 *   client: an empty packet (asks for the ext-salt)
 *   server: the ext-salt: 'P' (PBKDF2), the iteration factor f, 18 salt bytes
 *   client: client scramble (32 random bytes) || Ed25519 signature of
 *           server scramble || client scramble, under the seed
 *           PBKDF2-HMAC-SHA512(password, salt, 1024 << f iterations, 32 bytes)
 *   server: OK or ERR
 *
 * Bounds, as MariaDB's server (which stores only factors 0..3) and
 * Connector/C accept: scramble exactly 32 bytes, ext-salt exactly 20,
 * factor at most 3 (8192 iterations).  A larger factor would let a hostile
 * server keep the client busy for as long as it likes. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <string.h>

#include "auth.h"

#define SCRAMBLE_LEN 32
#define SALT_LEN 18
#define EXT_SALT_LEN (2 + SALT_LEN)
#define SEED_LEN 32
#define MAX_ITERATION_FACTOR 3
#define SIGNATURE_LEN crypto_sign_BYTES

enum { STEP_ASK_SALT = 0, STEP_SIGN = 1, STEP_DONE = 2 };

static myl_auth_step parsec_failed(myl_auth_ctx *ctx, int code, const char *what)
{
    myl_error_set(ctx->err, code, "parsec: %s", what);
    return MYL_AUTH_FAILED;
}

/* Round 0: keeps nothing but checks the scramble (the loop keeps it in
 * ctx->scramble) and asks for the ext-salt with an empty packet. */
static myl_auth_step ask_salt(myl_auth_ctx *ctx, size_t n)
{
    if (n != SCRAMBLE_LEN) {
        myl_error_set(ctx->err, MYL_CR_SERVER_HANDSHAKE_ERR,
                      "Error in server handshake (parsec scramble of %zu bytes, %d expected)", n,
                      SCRAMBLE_LEN);
        return MYL_AUTH_FAILED;
    }
    ctx->step = STEP_SIGN;
    return MYL_AUTH_SEND;
}

/* The seed for `password` and the ext-salt's salt and factor; 0 or -1. */
static int derive_seed(const char *password, const uint8_t *salt, unsigned factor,
                       uint8_t seed[SEED_LEN])
{
    return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, SALT_LEN, 1024 << factor,
                             EVP_sha512(), SEED_LEN, seed) == 1 ? 0 : -1;
}

/* Round 1: the ext-salt; answers client scramble || signature. */
static myl_auth_step sign_scrambles(myl_auth_ctx *ctx, const uint8_t *data, size_t n,
                                    myl_buf *out)
{
    if (ctx->scramble_len != SCRAMBLE_LEN)
        return parsec_failed(ctx, MYL_CR_MALFORMED_PACKET, "the server's scramble is lost");
    if (n != EXT_SALT_LEN) {
        myl_error_set(ctx->err, MYL_CR_SERVER_HANDSHAKE_ERR,
                      "Error in server handshake (parsec ext-salt of %zu bytes, %d expected)", n,
                      EXT_SALT_LEN);
        return MYL_AUTH_FAILED;
    }
    if (data[0] != 'P') {
        myl_error_set(ctx->err, MYL_CR_AUTH_PLUGIN_ERR,
                      "parsec: unknown key derivation '%c' (0x%02x) in the ext-salt, only 'P' "
                      "(PBKDF2) is known", data[0] >= 0x20 && data[0] < 0x7f ? data[0] : '?',
                      data[0]);
        return MYL_AUTH_FAILED;
    }
    if (data[1] > MAX_ITERATION_FACTOR) {
        myl_error_set(ctx->err, MYL_CR_AUTH_PLUGIN_ERR,
                      "parsec: the server asks for 1024 << %u PBKDF2 iterations; at most "
                      "1024 << %d (%d) are accepted, as MariaDB does",
                      data[1], MAX_ITERATION_FACTOR, 1024 << MAX_ITERATION_FACTOR);
        return MYL_AUTH_FAILED;
    }
    if (sodium_init() < 0) return parsec_failed(ctx, MYL_CR_AUTH_PLUGIN_ERR, "libsodium cannot start");
    uint8_t seed[SEED_LEN], pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    uint8_t msg[2 * SCRAMBLE_LEN], sig[SIGNATURE_LEN];
    myl_auth_step st = MYL_AUTH_SEND;
    memcpy(msg, ctx->scramble, SCRAMBLE_LEN);
    randombytes_buf(msg + SCRAMBLE_LEN, SCRAMBLE_LEN);
    if (derive_seed(ctx->password, data + 2, data[1], seed))
        st = parsec_failed(ctx, MYL_CR_AUTH_PLUGIN_ERR, "PBKDF2-HMAC-SHA512 is not available");
    else if (crypto_sign_seed_keypair(pk, sk, seed) ||
             crypto_sign_detached(sig, NULL, msg, sizeof msg, sk))
        st = parsec_failed(ctx, MYL_CR_AUTH_PLUGIN_ERR, "libsodium could not sign");
    else if (myl_buf_append(out, msg + SCRAMBLE_LEN, SCRAMBLE_LEN) ||
             myl_buf_append(out, sig, sizeof sig))
        st = parsec_failed(ctx, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
    OPENSSL_cleanse(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    if (st == MYL_AUTH_SEND) {
        ctx->step = STEP_DONE;
        /* what the server stores, and proves its certificate with (as
         * Connector/C's hash_password): 'P', the factor, the salt, the
         * public key */
        memcpy(ctx->learned_hash, data, EXT_SALT_LEN);
        memcpy(ctx->learned_hash + EXT_SALT_LEN, pk, sizeof pk);
        ctx->learned_hash_len = EXT_SALT_LEN + sizeof pk;
    }
    return st;
}

static myl_auth_step parsec_respond(myl_auth_ctx *ctx, int round, const uint8_t *data, size_t n,
                                    myl_buf *out)
{
    if (round == 0) return ask_salt(ctx, n);
    if (ctx->step == STEP_SIGN) return sign_scrambles(ctx, data, n, out);
    return parsec_failed(ctx, MYL_CR_MALFORMED_PACKET,
                         "Malformed packet (more data after the signature)");
}

/* No password_hash: what the server stores and proves its certificate with
 * ('P', the factor, the salt and the public key) depends on the ext-salt of
 * this login, so the plugin learns it (ctx->learned_hash). */
const myl_auth_plugin myl_auth_parsec = {"parsec", parsec_respond, NULL, 1};
