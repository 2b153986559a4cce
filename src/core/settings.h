/* Settings: the connection options one source gave (the command line, the
 * option files, the environment), read from text as the mariadb client
 * spells them (clientopt.h), checked with the core's setters when they are
 * read so every source refuses what connect would refuse, in the same
 * words, and kept with their own copies of the strings until a front end
 * hands them on (the host to mylua.connect, connect to itself).
 *
 * Sources are kept apart and merged in their order of precedence (each
 * later one wins per option): environment < option files < command line.
 * The TLS switches (--ssl, --skip-ssl, --ssl-verify-server-cert) combine
 * with --ssl-mode within one source (myl_settings_finish), so their order
 * there does not matter and a contradiction is an error. */
#ifndef MYL_SETTINGS_H
#define MYL_SETTINGS_H

#include <stddef.h>

#include "clientopt.h"
#include "error.h"
#include "options.h"

/* One option's value. */
typedef struct myl_setting {
    const myl_clientopt *cli;   /* the option */
    const myl_option_info *opt; /* the core option it sets; NULL for MYL_CLI_HOST */
    char *text;                 /* STRING, SSL_MODE and PROTOCOL (lowercase), HOST: owned */
    double number;              /* PORT, SECONDS, BYTES, INT */
    int flag;                   /* BOOL, and local_infile */
    int source;                 /* the myl_settings.source it came from */
} myl_setting;

enum { MYL_SETTINGS_MAX = 48 };

typedef struct myl_settings {
    myl_setting v[MYL_SETTINGS_MAX];
    size_t n;
    int source;              /* stamped on each value set here (the caller's numbering) */
    int ssl;                 /* -1 not given, 0 --skip-ssl, 1 --ssl */
    int verify_server_cert;  /* -1 not given, 0 or 1 */
    char ssl_switch[48];     /* how --ssl or --skip-ssl was spelled, for messages */
    int ask_password;        /* --password or -p without a value */
} myl_settings;

void myl_settings_init(myl_settings *s, int source);

/* Frees the strings, wiping the password's first. */
void myl_settings_free(myl_settings *s);

/* The option a name means as the command line and option files write it:
 * '_' as '-', and for a switch the forms skip-X and disable-X (*negated
 * set) and enable-X.  A "loose-" prefix is the caller's to remove (only
 * option files and the command line's "--loose-" have it).  NULL when
 * name[0..len) is no option. */
const myl_clientopt *myl_settings_lookup(const char *name, size_t len, int *negated);

/* Sets option c (negated: its skip-/disable- form) from `value`, NULL when
 * given without one.  `shown` is how messages name it ("--ssl-mode").
 * 0, or -1 with err ("option '--port' must be an integer from 1 to 65535,
 * not 'x'"); the last value of an option given twice wins. */
int myl_settings_set(myl_settings *s, const myl_clientopt *c, int negated, const char *value,
                     const char *shown, myl_error *err);

/* Combines this source's TLS switches and --ssl-mode into one ssl_mode:
 * the strongest any of them asks for; disabling TLS while asking for it is
 * an error.  0 or -1 with err. */
int myl_settings_finish(myl_settings *s, myl_error *err);

/* Copies every value of src (finished) over dst's, keeping src's source
 * stamps.  0, or -1 when out of memory. */
int myl_settings_merge(myl_settings *dst, const myl_settings *src);

/* The value of the core option `core`, or of the MYL_CLI_HOST option of
 * that name; NULL when not given. */
const myl_setting *myl_settings_get(const myl_settings *s, const char *name);

/* Sets the password to a copy of text[0..len) (an answer from the terminal,
 * an environment variable), stamped with `source`.  0, or -1 out of memory. */
int myl_settings_set_password(myl_settings *s, const char *text, size_t len, int source);

/* Reads the option files d names (d->option and d->ud are set here) into
 * s: an option of the program's own group that is no client option is an
 * error naming the file and line (unless written loose-X), one of a shared
 * group is skipped, as the other programs reading it may know it.  A bad
 * value is an error naming the file and line.  0, or -1 with err. */
struct myl_defaults;
int myl_settings_read_files(myl_settings *s, struct myl_defaults *d, myl_error *err);

#endif
