/* TLS with OpenSSL: a configuration built from the connection's ssl_*
 * options (tls_config.c), and a transport layer over whatever was opened
 * below it, the socket or a test layer (tls.c).
 *
 * OpenSSL reads and writes through a BIO of our own that calls the layer
 * below with the deadline of the current call, so connect_timeout bounds
 * the TLS handshake and the read/write timeouts bound every record, and a
 * timeout or a closed peer below stays a timeout or a closed peer here.
 *
 * Checking the server's certificate is split in two: what OpenSSL can say
 * during the handshake (chain, dates, revocation, host name, a pinned
 * fingerprint) is summed up in a myl_tls_check; the handshake (handshake.c)
 * decides, by mode, whether an untrusted certificate is refused at once or
 * left to the server's proof after authentication (myl_tls_proof_matches). */
#ifndef MYL_TLS_H
#define MYL_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "error.h"
#include "transport.h"

/* Every TLS failure the client detects (CR_SSL_CONNECTION_ERROR). */
#define MYL_CR_SSL_CONNECTION_ERROR 2026

typedef struct myl_tls_config myl_tls_config;

/* Builds the OpenSSL context from opt: CA file/path (the system store when
 * neither is given and `need_ca`), client certificate and key, cipher lists,
 * TLS versions, CRLs, and the pinned fingerprints (ssl_fingerprint, or the
 * lines of ssl_fingerprint_list).  A file that cannot be read or is not
 * valid PEM, a key protected by a passphrase, a bad version or fingerprint
 * is error 2026 naming the option and file.  Returns NULL on failure.
 * The configuration is shared: the last one built is kept and handed out
 * again for the same options while their files are unchanged
 * (tls_cache.c); free drops one reference. */
myl_tls_config *myl_tls_config_new(const myl_options *opt, int need_ca, myl_error *err);
void myl_tls_config_free(myl_tls_config *cfg);

/* What the certificate check found. */
typedef enum {
    MYL_TLS_TRUSTED = 0,   /* pinned fingerprint matched, or the chain verified */
    MYL_TLS_UNTRUSTED,     /* only the trust anchor is missing (self-signed, unknown
                              issuer): the server's proof may still vouch for it */
    MYL_TLS_INVALID,       /* anything else: expired, revoked, another name, bad chain */
} myl_tls_trust;

typedef struct myl_tls_check {
    myl_tls_trust trust;
    char reason[160]; /* why it is not trusted (OpenSSL's words), "" when trusted */
} myl_tls_check;

/* Runs the TLS handshake over `below` and returns the TLS layer, which then
 * owns `below` and `cfg`.  `host` is the name or address connected to
 * (NULL over a Unix socket): sent as SNI when a name, and, with
 * `check_identity`, what the certificate must name ("localhost" when NULL),
 * by OpenSSL's own host and IP checks.  With pinned fingerprints, the
 * certificate must match one of them (they replace the CA and name checks).
 * On failure returns NULL, leaves `below` and `cfg` to the caller, sets *io
 * to what the layer below reported (MYL_IO_TIMEOUT, MYL_IO_CLOSED, or
 * MYL_IO_ERROR for a TLS failure or a pin not matched) and err to 2026 with
 * OpenSSL's reason or the fingerprint seen.  On success fills info (the
 * verification left MYL_TLS_NOT_VERIFIED or set to CA/fingerprint) and
 * check. */
myl_transport *myl_tls_start(myl_tls_config *cfg, myl_transport *below, const char *host,
                             int check_identity, double deadline, myl_tls_info *info,
                             myl_tls_check *check, myl_io_status *io, myl_error *err);

/* The zero-configuration proof (MariaDB 11.4+, MDEV-31855): after a
 * password-based login over TLS the server's OK carries, as its info
 * message, 0x01 and the hex of SHA-256(password hash + scramble[0..20) +
 * SHA-256 of the certificate's DER).  Returns 1 when `info` is such a digest
 * and matches, 0 when it is a digest that does not match, -1 when `info` is
 * no digest at all. */
int myl_tls_proof_matches(const char *info, size_t info_len, const uint8_t *password_hash,
                          size_t hash_len, const uint8_t *scramble, const uint8_t cert_sha256[32]);

#endif
