/* Authentication plugins: a table of {name, respond, password_hash}.
 *
 * The auth loop (auth_loop.c) picks the plugin the server names, hands it
 * what the server sent and sends what it answers, until the server says OK
 * or ERR; it understands auth switch (0xFE), AuthMoreData (0x01) and the
 * bare plugin data MariaDB sends for a packet that cannot be mistaken for
 * either.  A plugin of the table never does I/O: it reads `data` and appends
 * its answer to `out`.  What it needs besides (the password, whether the
 * channel is secure, a prompt, an RSA key file) comes through the context.
 *
 * Plugins the core does not have can be supplied by the front end (a Lua
 * function): myl_auth_hooks.run_plugin talks to the server itself through
 * a myl_auth_exchange.
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

/* A plugin run by the front end talks to the server through this. */
typedef struct myl_auth_exchange myl_auth_exchange;

/* What the front end adds to authentication. */
typedef struct myl_auth_hooks {
    /* The dialog plugin's question: `question` (qlen bytes, possibly empty),
     * `echo` 1 when the answer may be shown as typed, `last` 1 when the
     * server says no question follows.  Appends the answer to `answer`
     * (without a NUL) and returns 0, or returns -1 to abort the login
     * (err set, or the front end keeps its own error), or 1 when it has
     * nobody to ask (no terminal: the core then fails as without a prompt;
     * err->message may say why).  NULL: nobody can be asked (the core's
     * rule in auth_dialog.c applies). */
    int (*prompt)(void *ud, const char *question, size_t qlen, int echo, int last,
                  myl_buf *answer, myl_error *err);
    /* 1: prompt is a fallback (the host program's terminal), asked only for
     * the questions the core cannot answer from the password itself; 0: it
     * is the script's own and sees every question. */
    int prompt_is_fallback;
    /* 1 when the front end implements the plugin `name` itself; it is then
     * used instead of the core's plugin of that name.  NULL: none. */
    int (*has_plugin)(void *ud, const char *name);
    /* Runs the front end's plugin `name`: it reads and writes through `x`
     * and returns 0 when it has said all it has to say (the loop then reads
     * the server's verdict), or -1 to abort (err set, or the front end keeps
     * its own error). */
    int (*run_plugin)(void *ud, const char *name, myl_auth_exchange *x, myl_error *err);
    void *ud;
} myl_auth_hooks;

/* The exchange of a front-end plugin, valid only during run_plugin. */
/* The data the server gave the plugin to start with (the greeting's
 * scramble, or the auth switch's data), as the server sent it. */
const uint8_t *myl_auth_exchange_data(const myl_auth_exchange *x, size_t *n);
/* 1 when the channel is secure (TLS with a trusted certificate, or a Unix
 * socket): what the plugin sends cannot be read by anyone in between. */
int myl_auth_exchange_secure(const myl_auth_exchange *x);
/* Sends one packet to the server (the first one of the initial plugin goes
 * in the handshake response).  0, or -1 with the error in err. */
int myl_auth_exchange_write(myl_auth_exchange *x, const void *p, size_t n, myl_error *err);
/* Reads the server's next packet for the plugin.  1 with its data (without
 * the AuthMoreData byte); 0 when the server has ended the exchange (OK,
 * ERR or an auth switch: the loop deals with it once the plugin returns);
 * -1 on error.  A read before any write first sends an empty answer, as
 * the MySQL client library does. */
int myl_auth_exchange_read(myl_auth_exchange *x, const uint8_t **p, size_t *n, myl_error *err);

typedef struct myl_auth_ctx {
    const char *password;   /* NUL-terminated, never NULL */
    int secure;             /* TLS with a trusted certificate, or a Unix socket */
    int tls;                /* the session runs over TLS, trusted or not (MySQL's
                               SHA-256 plugins expect the password in clear then) */
    int allow_cleartext;    /* the user allows sending the password in clear anyway */
    const char *server_public_key; /* PEM file with the server's RSA key, or NULL */
    int get_server_public_key;     /* may ask the server for its RSA key */
    const myl_auth_hooks *hooks;   /* never NULL; its members may be */
    myl_error *err;         /* where a plugin reports why it failed */
    /* The plugin's round-0 data (the scramble), at most 64 bytes of it,
     * kept for later rounds (the RSA exchange of the SHA-256 plugins). */
    uint8_t scramble[64];
    size_t scramble_len;
    int step;      /* the plugin's own progress between rounds; 0 at round 0 */
    /* What the server stores for the password, when the plugin learns it
     * only during the login (parsec: it depends on the server's salt); the
     * TLS certificate proof is checked against it.  0 bytes: not learned. */
    uint8_t learned_hash[64];
    size_t learned_hash_len;
    int questions; /* dialog: questions answered so far in this login */
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
     * without the 0x01, or the bare data packet MariaDB sent.  `out`
     * arrives empty; the loop wipes it once sent, so it may hold the
     * password. */
    myl_auth_step (*respond)(myl_auth_ctx *ctx, int round, const uint8_t *data, size_t n,
                             myl_buf *out);
    /* What the server stores for `password` (mysql_native_password:
     * SHA1(SHA1(password))), written to out (*len bytes of room; the length
     * written goes back in *len); 0, or -1 when it cannot.  The server
     * proves its TLS certificate with it (MariaDB 11.4+, tls.h).  NULL for a
     * plugin whose server holds no such hash, or that sends the password in
     * clear: its logins prove nothing about the certificate. */
    int (*password_hash)(const char *password, uint8_t *out, size_t *len);
    /* 1 when respond() fills ctx->learned_hash instead: its logins prove the
     * certificate too, though password_hash is NULL. */
    int learns_hash;
} myl_auth_plugin;

/* The core's plugin named `name` (len bytes), or NULL when it has none. */
const myl_auth_plugin *myl_auth_find(const char *name, size_t len);

/* The next name of a comma-separated list from p on (spaces around names
 * ignored): sets *name and *len and returns where to go on, or returns
 * NULL at the end. */
const char *myl_auth_list_next(const char *p, const char **name, size_t *len);

/* 1 when `name` (len bytes) is in the comma-separated list `allowed`
 * (NULL: every plugin is allowed). */
int myl_auth_allowed(const char *allowed, const char *name, size_t len);

/* Frees a buffer that held a secret, overwriting it first. */
void myl_buf_wipe(myl_buf *b);

/* Plugins of the table. */
extern const myl_auth_plugin myl_auth_native_password;
extern const myl_auth_plugin myl_auth_caching_sha2_password; /* auth_sha2.c */
extern const myl_auth_plugin myl_auth_sha256_password;       /* auth_sha2.c */
extern const myl_auth_plugin myl_auth_client_ed25519;        /* auth_ed25519.c */
extern const myl_auth_plugin myl_auth_parsec;                /* auth_parsec.c */
extern const myl_auth_plugin myl_auth_clear_password;        /* auth_dialog.c */
extern const myl_auth_plugin myl_auth_dialog;                /* auth_dialog.c */

/* The 20-byte mysql_native_password token for `password` and `scramble`:
 * SHA1(pw) XOR SHA1(scramble[0..20) + SHA1(SHA1(pw))).  Returns the token
 * length (0 for an empty password), or -1 when hashing failed. */
int myl_native_password_token(const char *password, const uint8_t *scramble,
                              size_t scramble_len, uint8_t out[20]);

#endif
