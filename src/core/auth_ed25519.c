/* client_ed25519 (MariaDB's auth_ed25519): one round; the server sends a
 * 32-byte nonce in its auth switch, the client answers an Ed25519
 * signature of it (64 bytes) under a key made from the password.
 *
 * The key is not RFC 8032's: MariaDB takes SHA-512(password) itself as
 * the expanded secret key, where the standard would hash a 32-byte seed.
 * So the signature is built from libsodium's scalar operations, in the
 * order of MariaDB's ref10 crypto_sign():
 *   az = SHA-512(password); a = az[0..32) clamped
 *   A  = a·B                       (the public key the server stores)
 *   r  = SHA-512(az[32..64) || M) mod L;  R = r·B
 *   S  = r + SHA-512(R || A || M)·a mod L;  signature = R || S */
#include <sodium.h>
#include <string.h>

#include "auth.h"

#define NONCE_LEN 32
#define KEY_LEN 32
#define SIGNATURE_LEN 64

/* The expanded secret key of `password`: az[0..32) is the scalar a,
 * clamped as Ed25519 clamps it; az[32..64) prefixes the nonce's hash. */
static void expand_password(const char *password, uint8_t az[64])
{
    crypto_hash_sha512(az, (const unsigned char *)password, strlen(password));
    az[0] &= 248;
    az[31] &= 63;
    az[31] |= 64;
}

/* A = a·B.  0, or -1 when libsodium refuses (a zero scalar: impossible
 * for a clamped one, checked all the same). */
static int public_key(const uint8_t az[64], uint8_t pk[KEY_LEN])
{
    return crypto_scalarmult_ed25519_base_noclamp(pk, az) == 0 ? 0 : -1;
}

/* The signature of msg (mlen bytes) under `password`, as MariaDB makes
 * it; 0, or -1 when libsodium failed.  Every secret is wiped. */
static int sign_with_password(const char *password, const uint8_t *msg, size_t mlen,
                              uint8_t sig[SIGNATURE_LEN])
{
    uint8_t az[64], a[32], wide[64], r[32], hram[32], ha[32], pk[KEY_LEN];
    crypto_hash_sha512_state h;
    int rc = -1;
    expand_password(password, az);
    /* a mod L for the scalar products (the clamped a may exceed L; aB and
     * (a mod L)B are the same point) */
    memset(wide, 0, sizeof wide);
    memcpy(wide, az, 32);
    crypto_core_ed25519_scalar_reduce(a, wide);
    if (public_key(az, pk)) goto done;
    /* r = H(az[32..64) || M) mod L */
    crypto_hash_sha512_init(&h);
    crypto_hash_sha512_update(&h, az + 32, 32);
    crypto_hash_sha512_update(&h, msg, mlen);
    crypto_hash_sha512_final(&h, wide);
    crypto_core_ed25519_scalar_reduce(r, wide);
    if (crypto_scalarmult_ed25519_base_noclamp(sig, r) != 0) goto done; /* R */
    /* k = H(R || A || M) mod L;  S = r + k·a */
    crypto_hash_sha512_init(&h);
    crypto_hash_sha512_update(&h, sig, 32);
    crypto_hash_sha512_update(&h, pk, KEY_LEN);
    crypto_hash_sha512_update(&h, msg, mlen);
    crypto_hash_sha512_final(&h, wide);
    crypto_core_ed25519_scalar_reduce(hram, wide);
    crypto_core_ed25519_scalar_mul(ha, hram, a);
    crypto_core_ed25519_scalar_add(sig + 32, r, ha);
    rc = 0;
done:
    sodium_memzero(az, sizeof az);
    sodium_memzero(a, sizeof a);
    sodium_memzero(wide, sizeof wide);
    sodium_memzero(r, sizeof r);
    sodium_memzero(ha, sizeof ha);
    sodium_memzero(&h, sizeof h);
    return rc;
}

static myl_auth_step ed25519_respond(myl_auth_ctx *ctx, int round, const uint8_t *data, size_t n,
                                     myl_buf *out)
{
    if (round > 0) {
        myl_error_set(ctx->err, MYL_CR_MALFORMED_PACKET,
                      "Malformed packet (client_ed25519 takes one round)");
        return MYL_AUTH_FAILED;
    }
    /* The server's nonce is exactly 32 bytes, as Connector/C insists. */
    if (n != NONCE_LEN) {
        myl_error_set(ctx->err, MYL_CR_SERVER_HANDSHAKE_ERR,
                      "Error in server handshake (client_ed25519 nonce of %zu bytes, %d expected)",
                      n, NONCE_LEN);
        return MYL_AUTH_FAILED;
    }
    uint8_t sig[SIGNATURE_LEN];
    if (sodium_init() < 0 || sign_with_password(ctx->password, data, n, sig)) {
        myl_error_set(ctx->err, MYL_CR_AUTH_PLUGIN_ERR,
                      "client_ed25519: libsodium could not sign the server's nonce");
        return MYL_AUTH_FAILED;
    }
    if (myl_buf_append(out, sig, sizeof sig)) {
        myl_error_set(ctx->err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return MYL_AUTH_FAILED;
    }
    return MYL_AUTH_SEND;
}

/* What the server stores (base64 in its grant tables) and proves its TLS
 * certificate with: the public key A, as Connector/C's auth_ed25519_hash. */
static int ed25519_password_hash(const char *password, uint8_t *out, size_t *len)
{
    if (*len < KEY_LEN || sodium_init() < 0) return -1;
    uint8_t az[64];
    expand_password(password, az);
    int rc = public_key(az, out);
    sodium_memzero(az, sizeof az);
    if (rc) return -1;
    *len = KEY_LEN;
    return 0;
}

const myl_auth_plugin myl_auth_client_ed25519 = {"client_ed25519", ed25519_respond,
                                                 ed25519_password_hash, 0};
