/* RSA-OAEP encryption of the password for the SHA-256 plugins (auth_rsa.h),
 * with OpenSSL 3's EVP_PKEY interface. */
#include "auth_rsa.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SCRAMBLE_LEN 20
/* MySQL servers decrypt into a buffer of this size (MAX_CIPHER_LENGTH), so a
 * larger key cannot be the server's. */
#define CIPHER_MAX 1024
/* OAEP with SHA-1 (what the servers decrypt with) takes at most the key
 * size minus 42 bytes; MySQL's client refuses password + NUL + 41 >= size,
 * the same bound. */
#define OAEP_OVERHEAD 41

void myl_auth_plugin_error(myl_error *err, const char *plugin, const char *fmt, ...)
{
    char why[MYL_ERRMSG_SIZE - 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    myl_error_set(err, MYL_CR_AUTH_PLUGIN_ERR, "Authentication plugin '%s' reported error: %s",
                  plugin, why);
}

int myl_rsa_read_key_file(const char *path, myl_buf *pem, const char *plugin, myl_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        myl_auth_plugin_error(err, plugin, "cannot open the server_public_key file '%s': %s", path,
                     strerror(errno));
        return -1;
    }
    /* one byte more than taken tells a file that is too large */
    if (myl_buf_reserve(pem, MYL_RSA_PEM_MAX + 1)) {
        fclose(f);
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return -1;
    }
    pem->len = fread(pem->data, 1, MYL_RSA_PEM_MAX + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        myl_auth_plugin_error(err, plugin, "cannot read the server_public_key file '%s'", path);
        return -1;
    }
    if (pem->len == 0 || pem->len > MYL_RSA_PEM_MAX) {
        myl_auth_plugin_error(err, plugin, "the server_public_key file '%s' is %s: not an RSA public key "
                     "in PEM format", path, pem->len ? "larger than 16 KiB" : "empty");
        return -1;
    }
    return 0;
}

/* The public key in `pem`, or NULL with err set. */
static EVP_PKEY *parse_key(const uint8_t *pem, size_t n, const char *origin, const char *plugin,
                           myl_error *err)
{
    if (n == 0 || n > MYL_RSA_PEM_MAX) {
        myl_auth_plugin_error(err, plugin, "%s is %s: not an RSA public key in PEM format", origin,
                     n ? "longer than 16 KiB" : "empty");
        return NULL;
    }
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    if (!key) {
        ERR_clear_error(); /* nothing of it may leak into a later TLS error */
        myl_auth_plugin_error(err, plugin, "%s is not an RSA public key in PEM format "
                     "(-----BEGIN PUBLIC KEY-----)", origin);
        return NULL;
    }
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        myl_auth_plugin_error(err, plugin, "%s is a %s key, not an RSA key", origin,
                     OBJ_nid2sn(EVP_PKEY_get_base_id(key)));
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

int myl_rsa_encrypt_password(const uint8_t *pem, size_t n, const char *origin,
                             const char *password, const uint8_t scramble[20], myl_buf *out,
                             const char *plugin, myl_error *err)
{
    EVP_PKEY *key = parse_key(pem, n, origin, plugin, err);
    if (!key) return -1;
    int size = EVP_PKEY_get_size(key), bits = EVP_PKEY_get_bits(key);
    size_t len = strlen(password) + 1; /* the NUL goes too, as the server expects */
    int rc = -1;
    if (size <= 0 || size > CIPHER_MAX) {
        myl_auth_plugin_error(err, plugin, "the RSA key of %s has %d bits, more than the 8192 a MySQL "
                     "server takes", origin, bits);
    } else if (len + OAEP_OVERHEAD >= (size_t)size) {
        myl_auth_plugin_error(err, plugin, "the RSA key of %s (%d bits) is too small for a password of "
                     "%zu bytes (at most %d fit)", origin, bits, len - 1,
                     size - OAEP_OVERHEAD - 2);
    } else {
        uint8_t plain[CIPHER_MAX];
        memcpy(plain, password, len);
        for (size_t i = 0; i < len; i++) plain[i] ^= scramble[i % SCRAMBLE_LEN];
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
        size_t outlen = (size_t)size;
        if (myl_buf_reserve(out, (size_t)size)) {
            myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        } else if (ctx && EVP_PKEY_encrypt_init(ctx) > 0 &&
                   EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
                   EVP_PKEY_encrypt(ctx, out->data + out->len, &outlen, plain, len) > 0) {
            out->len += outlen;
            rc = 0;
        } else {
            unsigned long e = ERR_get_error();
            const char *reason = e ? ERR_reason_error_string(e) : NULL;
            myl_auth_plugin_error(err, plugin, "RSA encryption with the key of %s failed: %s", origin,
                         reason ? reason : "unknown error");
            ERR_clear_error();
        }
        OPENSSL_cleanse(plain, sizeof plain);
        EVP_PKEY_CTX_free(ctx);
    }
    EVP_PKEY_free(key);
    return rc;
}
