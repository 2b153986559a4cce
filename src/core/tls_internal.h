/* Inside the TLS layer: what tls_config.c (the OpenSSL context from the
 * options) and tls.c (the transport, the handshake, the certificate check)
 * share.  Not part of the core's API. */
#ifndef MYL_TLS_INTERNAL_H
#define MYL_TLS_INTERNAL_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"

#define MAX_PINS 64

typedef struct pin {
    uint8_t digest[32];
    size_t len; /* 32: SHA-256, 20: SHA-1 */
} pin;

struct myl_tls_config {
    SSL_CTX *ctx;
    unsigned refs;        /* owners: connections, handshakes, the cache (tls_cache.c) */
    int passphrase_asked; /* set by the passphrase callback */
    size_t npins;
    pin pins[MAX_PINS];
};

/* Builds a configuration from the options (myl_tls_config_new's contract,
 * without the cache), with one reference; destroy frees it whatever its
 * count. */
myl_tls_config *myl_tls_config_build(const myl_options *opt, int need_ca, myl_error *err);
void myl_tls_config_destroy(myl_tls_config *cfg);

/* OpenSSL's reason for the last failure, and the thread's error queue
 * emptied (later calls must not see stale entries). */
void myl_tls_reason(char *out, size_t outlen);

/* Error 2026: "SSL connection error: " and the printf-style message. */
void myl_tls_error(myl_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The value of a hex digit, or -1. */
int myl_tls_hexval(int ch);

/* 1 when the certificate (whose SHA-256 is given) matches a pinned
 * fingerprint of cfg, SHA-256 or SHA-1; 0 otherwise. */
int myl_tls_pins_match(const myl_tls_config *cfg, X509 *cert, const uint8_t sha256[32]);

#endif
