/* Side connections: the deep copy of a connection's login options and
 * KILL QUERY sent from another connection (side.h). */
#include "side.h"

#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn_internal.h"
#include "options.h"
#include "result.h"

/* Seconds a side connection may take to log in and to get its answer: it
 * is made while the user waits for the program to stop. */
#define SIDE_TIMEOUT 10.0

/* The string fields copied; everything else keeps myl_options_init's value. */
static const size_t string_fields[] = {
    offsetof(myl_options, host),          offsetof(myl_options, socket_path),
    offsetof(myl_options, user),          offsetof(myl_options, password),
    offsetof(myl_options, ssl_ca),        offsetof(myl_options, ssl_capath),
    offsetof(myl_options, ssl_cert),      offsetof(myl_options, ssl_key),
    offsetof(myl_options, ssl_cipher),    offsetof(myl_options, ssl_ciphersuites),
    offsetof(myl_options, tls_version),   offsetof(myl_options, ssl_crl),
    offsetof(myl_options, ssl_crlpath),   offsetof(myl_options, ssl_fingerprint),
    offsetof(myl_options, ssl_fingerprint_list), offsetof(myl_options, server_public_key),
    offsetof(myl_options, auth_plugins),
};
enum { NSTRINGS = sizeof string_fields / sizeof string_fields[0] };

struct myl_side {
    myl_options o;  /* its string fields point at copies */
    char *copies[NSTRINGS]; /* one per string_fields entry, owned here */
    char user_buf[256];
    const char *cannot; /* why it cannot be made again, or NULL */
};

static const char **string_at(myl_options *o, size_t i)
{
    return (const char **)(void *)((char *)o + string_fields[i]);
}

void myl_side_forget(myl_conn *c)
{
    struct myl_side *s = c->side;
    if (!s) return;
    for (size_t i = 0; i < NSTRINGS; i++) {
        if (s->copies[i] && string_fields[i] == offsetof(myl_options, password))
            OPENSSL_cleanse(s->copies[i], strlen(s->copies[i]));
        free(s->copies[i]);
    }
    free(s);
    c->side = NULL;
}

int myl_side_keep(myl_conn *c, const myl_options *opt)
{
    myl_side_forget(c);
    struct myl_side *s = calloc(1, sizeof *s);
    if (!s) return -1;
    c->side = s;
    myl_options_init(&s->o);
    for (size_t i = 0; i < NSTRINGS; i++) *string_at(&s->o, i) = NULL;
    myl_options from = *opt;
    /* the login name is looked up here, in the thread that connects */
    if (!from.user) from.user = myl_login_name(s->user_buf, sizeof s->user_buf);
    for (size_t i = 0; i < NSTRINGS; i++) {
        const char *v = *string_at(&from, i);
        if (!v) continue;
        if (!(s->copies[i] = strdup(v))) {
            myl_side_forget(c);
            return -1;
        }
        *string_at(&s->o, i) = s->copies[i];
    }
    s->o.port = opt->port;
    s->o.protocol = opt->protocol;
    s->o.ssl_mode = opt->ssl_mode;
    s->o.allow_cleartext = opt->allow_cleartext;
    s->o.get_server_public_key = opt->get_server_public_key;
    s->o.connect_timeout = opt->connect_timeout > 0 && opt->connect_timeout < SIDE_TIMEOUT
                               ? opt->connect_timeout : SIDE_TIMEOUT;
    s->o.read_timeout = s->o.write_timeout = SIDE_TIMEOUT;
    s->o.multi_statements = 0;
    if (opt->open_transport)
        s->cannot = "its transport was opened by the front end, which cannot be done again "
                    "from another thread";
    return 0;
}

/* Whether c's login can be made again from here: 0, or -1 with err set. */
static int can_log_in_again(const myl_conn *c, myl_error *err)
{
    const struct myl_side *s = c->side;
    if (!s) {
        myl_error_set(err, MYL_CR_UNKNOWN_ERROR, "the connection was never opened");
        return -1;
    }
    if (s->cannot || c->frontend_auth) {
        myl_error_set(err, MYL_CR_UNKNOWN_ERROR, "%s",
                      s->cannot ? s->cannot
                                : "its login needed the front end's authentication callbacks, "
                                  "which cannot run from another thread");
        return -1;
    }
    return 0;
}

myl_conn *myl_side_connect(const myl_conn *c, double timeout, myl_error *err)
{
    myl_error_clear(err);
    if (can_log_in_again(c, err) < 0) return NULL;
    myl_options o = c->side->o; /* its strings stay c's while the login runs */
    if (timeout > 0) o.read_timeout = o.write_timeout = timeout;
    if (timeout > 0 && timeout < o.connect_timeout) o.connect_timeout = timeout;
    myl_conn *k = myl_conn_new();
    if (!k) {
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return NULL;
    }
    if (myl_connect(k, &o) < 0) {
        *err = *myl_conn_error(k);
        myl_conn_free(k);
        return NULL;
    }
    return k;
}

int myl_kill_query_side(const myl_conn *c, myl_error *err)
{
    myl_error_clear(err);
    if (can_log_in_again(c, err) < 0) return -1;
    const struct myl_side *s = c->side;
    myl_conn *k = myl_conn_new();
    if (!k) {
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return -1;
    }
    int rc = -1;
    if (myl_connect(k, &s->o) == 0) {
        char sql[40];
        int n = snprintf(sql, sizeof sql, "KILL QUERY %u", (unsigned)c->thread_id);
        myl_result *r = myl_query(k, sql, (size_t)n);
        if (r) rc = 0;
        myl_result_free(r);
    }
    if (rc < 0) *err = *myl_conn_error(k);
    myl_conn_free(k);
    return rc;
}
