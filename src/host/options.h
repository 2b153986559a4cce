/* The host program's connection options: --ssl*, --tls-*, --compress, the
 * authentication flags and the others, spelled as the mariadb and mysql
 * clients spell them, checked
 * against the core's option table (src/core/options.h) when they are read,
 * and handed to mylua.connect as defaults under the core's option names
 * (the registry table MYL_HOST_DEFAULTS, src/lua/binding.h). */
#ifndef MYL_HOST_OPTIONS_H
#define MYL_HOST_OPTIONS_H

#include <lua.h>
#include <stddef.h>

#include "../core/options.h"

/* One core option the command line gave, with the value connect gets. */
typedef struct host_option_value {
    const myl_option_info *opt; /* NULL: not given */
    const char *text;           /* STRING and SSL_MODE (canonical lowercase name) */
    double number;              /* INT */
    int flag;                   /* BOOL */
} host_option_value;

enum { HOST_MAX_CONN_OPTIONS = 24 };

/* What the command line said about connecting.  The TLS switches (--ssl,
 * --skip-ssl, --ssl-verify-server-cert) are kept apart from --ssl-mode:
 * they combine into one mode only when the command line has been read
 * (host_options_finish), so their order does not matter. */
typedef struct host_options {
    host_option_value values[HOST_MAX_CONN_OPTIONS];
    size_t nvalues;
    int ssl;                 /* -1 not given, 0 --skip-ssl, 1 --ssl */
    int verify_server_cert;  /* -1 not given, 0 or 1 */
    const char *ssl_switch;  /* how --ssl or --skip-ssl was spelled, for messages */
    const char *mode;        /* --ssl-mode, lowercase; NULL when not given */
    const char *auth_hook;   /* --auth-hook: a Lua file returning connect's `auth` table */
    int prompt_timeout;      /* --prompt-timeout: seconds a terminal question waits */
} host_options;

void host_options_init(host_options *h);

/* Reads the connection option at argv[*i], with its value from the same
 * argument ("--ssl-ca=x") or the next one ("--ssl-ca x", which moves *i
 * on).  Returns 1 when it was one, 0 when argv[*i] is no connection option
 * (the caller's to interpret), -1 on a bad option or value: then err holds
 * one line saying what is wrong. */
int host_options_parse(host_options *h, int argc, char **argv, int *i, char *err, size_t errsz);

/* Combines --ssl, --skip-ssl, --ssl-verify-server-cert and --ssl-mode
 * into one ssl_mode: the strongest that any of them asks for; disabling
 * TLS together with asking for it is an error (0 / -1 with err). */
int host_options_finish(host_options *h, char *err, size_t errsz);

/* Stores the options given as the registry table MYL_HOST_DEFAULTS, which
 * mylua.connect consults for the keys its own table lacks.  (--auth-hook
 * adds `auth` to it later: that takes running Lua, see auth_hook.h.) */
void host_options_push(lua_State *L, const host_options *h);

/* The help text of these options. */
extern const char host_options_help[];

#endif
