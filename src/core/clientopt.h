/* The client options as the mariadb and mysql clients spell them (--host,
 * -u, --ssl-ca, --skip-compress, ...): one table that the host program's
 * command line, the option files (both the host's and connect's
 * read_default_file) and the host's --help all read, so a name means the
 * same everywhere and the help lists every one.
 *
 * Each option sets one core option (src/core/options.h), whose kind says
 * what its text must be, or is one of the switches below. */
#ifndef MYL_CLIENTOPT_H
#define MYL_CLIENTOPT_H

#include <stddef.h>
#include <stdio.h>

/* The longest --prompt-timeout, in seconds (a day): a question nobody
 * answers must not hold an unattended run for ever. */
#define MYL_PROMPT_TIMEOUT_MAX 86400

typedef enum {
    MYL_CLI_CORE,     /* sets the core option `core` */
    MYL_CLI_PASSWORD, /* sets "password"; given without a value: ask on the terminal */
    MYL_CLI_SSL,      /* --ssl / --skip-ssl: combined into ssl_mode (settings.h) */
    MYL_CLI_VERIFY,   /* --ssl-verify-server-cert: combined into ssl_mode */
    MYL_CLI_HOST,     /* a value of the host program alone, kept as text */
} myl_cli_kind;

typedef enum {
    MYL_CLI_ARG_NONE,     /* a switch: --x, --x=1/0/on/off/true/false, --skip-x, ... */
    MYL_CLI_ARG_REQUIRED, /* --x=V or --x V (-xV or -x V) */
    MYL_CLI_ARG_OPTIONAL, /* only --x=V (-xV): without it the option means something else */
} myl_cli_arg;

typedef struct myl_clientopt {
    const char *name;   /* long name, with dashes */
    char letter;        /* short option, or 0 */
    myl_cli_kind kind;
    const char *core;   /* MYL_CLI_CORE: the core option's name */
    myl_cli_arg arg;
    const char *group;  /* the --help section */
    const char *value;  /* what the value is, for --help ("FILE"), or NULL */
    const char *help;   /* one or more lines, '\n' between them */
} myl_clientopt;

/* Every option, ending with a NULL name; the options of one help section
 * are next to each other. */
extern const myl_clientopt myl_clientopt_table[];

/* The option called name[0..len) ('_' read as '-'), or NULL. */
const myl_clientopt *myl_clientopt_find(const char *name, size_t len);

/* The option with this short letter, or NULL. */
const myl_clientopt *myl_clientopt_short(char letter);

/* The option nearest to an unknown name (a typo), or NULL. */
const char *myl_clientopt_suggest(const char *name, size_t len);

/* Writes the help of every option to `out`, section by section. */
void myl_clientopt_help(FILE *out);

#endif
