/* The RSA half of MySQL's SHA-256 plugins (caching_sha2_password and
 * sha256_password): over a channel that is not secure, the password goes
 * RSA-encrypted (OAEP) with the server's public key, XORed with the
 * scramble first so that a recorded answer is useless for another login.
 *
 * The key comes as PEM text: read from the file the user named
 * (server_public_key), or sent by the server when asked
 * (get_server_public_key).  Errors name the plugin and where the key came
 * from, and are MYL_CR_AUTH_PLUGIN_ERR (2061). */
#ifndef MYL_AUTH_RSA_H
#define MYL_AUTH_RSA_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* The longest PEM text taken, from a file or from the server: a public key
 * of the largest size MySQL servers use (and far above: 16384 bits) fits
 * in under 3 KiB. */
#define MYL_RSA_PEM_MAX 16384

/* Reads the PEM file `path` into `pem` (which arrives empty); 0, or -1 with
 * err set (the file cannot be opened or read, or is empty or larger than
 * MYL_RSA_PEM_MAX).  `plugin` names the plugin for the message. */
int myl_rsa_read_key_file(const char *path, myl_buf *pem, const char *plugin, myl_error *err);

/* Appends to `out` the RSA-OAEP encryption of (password + NUL) XOR
 * scramble (the 20 bytes repeated), with the RSA public key in the PEM
 * text `pem` (n bytes).  `origin` says where the key came from, for the
 * message ("server_public_key file 'k.pem'").  Refuses a key that is not
 * an RSA public key in PEM, one larger than MySQL servers take (8192
 * bits), and one too small for this password.  The plaintext is wiped.
 * 0, or -1 with err set. */
int myl_rsa_encrypt_password(const uint8_t *pem, size_t n, const char *origin,
                             const char *password, const uint8_t scramble[20], myl_buf *out,
                             const char *plugin, myl_error *err);

/* Sets error 2061 in the words of MySQL's client: "Authentication plugin
 * '<plugin>' reported error: <fmt...>". */
void myl_auth_plugin_error(myl_error *err, const char *plugin, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
