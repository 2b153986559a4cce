/* Authentication plugins: a table of {name, respond}.
 *
 * The handshake (handshake.c) runs the auth loop and dispatches by plugin
 * name; a plugin only turns what the server sent into what the client
 * answers.  A plugin never does I/O: it reads `data` and appends its answer
 * to `out`.  Plugins that need more (a prompt, an RSA key) get it through the
 * context, never by reaching into the connection.
 *
 * Callbacks (the rule for every callback the core makes): the core calls a
 * C function pointer with the `void *ud` it was given.  A non-zero return
 * means "abort this step": the core leaves the connection consistent (here:
 * the handshake ends and the connection is closed) and returns -1 with the
 * error the callback put in `err` (or a generic one).  The caller that
 * installed the callback (the Lua binding) keeps its own error value and
 * re-raises it after the core returned. */
#ifndef MYL_AUTH_H
#define MYL_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

typedef struct myl_auth_ctx {
    const char *password; /* NUL-terminated, never NULL */
    int secure;           /* the channel is TLS or a Unix socket */
    myl_error *err;       /* where a plugin reports why it failed */
    /* Asks the user a question (the dialog plugin); answer appended to
     * `answer`.  NULL when nobody can be asked. */
    int (*prompt)(void *ud, const char *question, size_t qlen, int echo, myl_buf *answer,
                  myl_error *err);
    void *prompt_ud;
} myl_auth_ctx;

/* What respond() wants the auth loop to do next. */
typedef enum {
    MYL_AUTH_FAILED = -1, /* ctx->err says why */
    MYL_AUTH_SEND = 0,    /* send `out` as the next packet (possibly empty) */
    MYL_AUTH_WAIT = 1,    /* send nothing; read the server's next packet */
} myl_auth_step;

typedef struct myl_auth_plugin {
    const char *name;
    /* round 0: `data` is the server's scramble (from the greeting or an auth
     * switch); later rounds: the payload of an AuthMoreData (0x01) packet,
     * without the 0x01. */
    myl_auth_step (*respond)(myl_auth_ctx *ctx, int round, const uint8_t *data, size_t n,
                             myl_buf *out);
    /* What the server stores for `password` (mysql_native_password:
     * SHA1(SHA1(password))), written to out (*len bytes of room; the length
     * written goes back in *len); 0, or -1 when it cannot.  The server
     * proves its TLS certificate with it (MariaDB 11.4+, tls.h).  NULL for a
     * plugin whose server holds no such hash, or that sends the password in
     * clear: its logins prove nothing about the certificate. */
    int (*password_hash)(const char *password, uint8_t *out, size_t *len);
} myl_auth_plugin;

/* The plugin named `name` (len bytes), or NULL when the client has none. */
const myl_auth_plugin *myl_auth_find(const char *name, size_t len);

/* Plugins of the table. */
extern const myl_auth_plugin myl_auth_native_password;

/* The 20-byte mysql_native_password token for `password` and `scramble`:
 * SHA1(pw) XOR SHA1(scramble[0..20) + SHA1(SHA1(pw))).  Returns the token
 * length (0 for an empty password), or -1 when hashing failed. */
int myl_native_password_token(const char *password, const uint8_t *scramble,
                              size_t scramble_len, uint8_t out[20]);

#endif
