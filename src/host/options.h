/* The host program's connection options: the command line's (spelled as
 * the mariadb client spells them, src/core/clientopt.h), the option
 * files' and the environment's, merged in the mariadb client's order
 * (environment < option files < command line) and handed to mylua.connect
 * as defaults under the core's option names (the registry table
 * MYL_HOST_DEFAULTS, src/lua/binding.h), below the script's own table.
 *
 * The environment: MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_UNIX_PORT, MYSQL_PWD
 * (with a warning when it is the password used), MYSQL_GROUP_SUFFIX; USER
 * is the core's (myl_login_name). */
#ifndef MYL_HOST_OPTIONS_H
#define MYL_HOST_OPTIONS_H

#include <lua.h>
#include <stddef.h>
#include <stdio.h>

#include "../core/defaults.h"
#include "../core/settings.h"

/* Where a value came from (myl_setting.source). */
enum { HOST_FROM_ENV = 1, HOST_FROM_FILES, HOST_FROM_COMMAND_LINE, HOST_FROM_TERMINAL };

typedef struct host_options {
    myl_settings cli;       /* the command line's */
    myl_settings all;       /* everything, once host_options_finish has run */
    myl_defaults files;     /* which option files are read */
    int print_defaults;     /* --print-defaults */
    const char *auth_hook;  /* --auth-hook: a Lua file returning connect's `auth` table */
    int prompt_timeout;     /* --prompt-timeout: seconds a terminal question waits */
} host_options;

void host_options_init(host_options *h);
void host_options_free(host_options *h);

/* The options that say which option files are read, which (as with the
 * mariadb client) come first and in this form only: --no-defaults alone,
 * or any of --defaults-file=F, --defaults-extra-file=F,
 * --defaults-group-suffix=S, --login-path=NAME; then --print-defaults.
 * Returns how many arguments after argv[0] they are. */
int host_options_leading(host_options *h, int argc, char **argv);

/* Whether arg is one of those options (named where it may not be). */
int host_options_is_leading(const char *arg);

/* Reads the connection option at argv[*i]: a long one with its value from
 * the same argument ("--ssl-ca=x") or the next ("--ssl-ca x", moving *i
 * on), or short ones as the mariadb client takes them (-h x, -hx, -pPASS,
 * -p alone, -C, bundled switches).  Returns 1 when it was one, 0 when
 * argv[*i] is no connection option (the caller's to interpret), -1 on a
 * bad option or value: then err holds one line saying what is wrong. */
int host_options_parse(host_options *h, int argc, char **argv, int *i, char *err, size_t errsz);

/* For an unknown option: " (did you mean '--host'?)" or "". */
const char *host_options_suggest(const char *arg, char *buf, size_t size);

/* Combines the command line's TLS switches, reads the environment and the
 * option files, and merges them.  0, or -1 with err (a usage error). */
int host_options_finish(host_options *h, char *err, size_t errsz);

/* Asks for the password on the terminal when -p (or "password" without a
 * value in an option file) asked for that.  0, or -1 with err. */
int host_options_ask_password(host_options *h, char *err, size_t errsz);

/* --print-defaults: prints what the option files give, then the rest of
 * the command line (argv[first..]), as the mariadb client does.  0, or -1
 * with err. */
int host_options_print_defaults(host_options *h, int argc, char **argv, int first, char *err,
                                size_t errsz);

/* Stores the options as the registry table MYL_HOST_DEFAULTS, which
 * mylua.connect consults for the keys its own table lacks.  (--auth-hook
 * adds `auth` to it later: that takes running Lua, see auth_hook.h.) */
void host_options_push(lua_State *L, const host_options *h);

/* The options' help, grouped. */
void host_options_help(FILE *out);

#endif
