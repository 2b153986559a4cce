/* Connection options: the built-in defaults in one place, and the table of
 * option names and kinds that every front end (the Lua binding, the host
 * program, option files) validates against, so that they accept the same
 * names and reject the same values with the same words.
 *
 * A front end starts from myl_options_init and then stores only the options
 * it was given, with the setters below.  The setters do not copy strings:
 * they must outlive the connect call. */
#ifndef MYL_OPTIONS_H
#define MYL_OPTIONS_H

#include <stddef.h>

#include "conn.h"

#define MYL_DEFAULT_HOST "localhost"
#define MYL_DEFAULT_PORT 3306
#define MYL_DEFAULT_SOCKET "/run/mysqld/mysqld.sock"
#define MYL_DEFAULT_CHARSET "utf8mb4"
#define MYL_DEFAULT_CONNECT_TIMEOUT 10.0
#define MYL_DEFAULT_WRITE_TIMEOUT 60.0
/* As the mariadb client's max_allowed_packet; settable from 1 KiB to 1 GiB
 * (the server's own bounds). */
#define MYL_DEFAULT_MAX_PACKET ((size_t)16 << 20)
#define MYL_MIN_MAX_PACKET ((size_t)1024)
#define MYL_MAX_MAX_PACKET ((size_t)1 << 30)

/* Fills every field with its default: host "localhost", port 3306, socket
 * /run/mysqld/mysqld.sock, protocol by host, user NULL (the login name:
 * see myl_login_name), password "", no database, charset utf8mb4, the
 * charset's collation, connect_timeout 10 s, no read timeout,
 * write_timeout 60 s, multi-statements on, no extra attributes, max_packet
 * 16 MiB, no ceiling on buffered results. */
void myl_options_init(myl_options *o);

/* The login name, as the mariadb client takes it when no user is given:
 * $USER first (cron may not set it), then the password database (copied
 * into buf); "" when there is none. */
const char *myl_login_name(char *buf, size_t size);

/* What kind of value an option takes, and where it is stored. */
typedef enum {
    MYL_OPT_STRING,   /* text without NUL bytes -> const char * */
    MYL_OPT_PORT,     /* whole number within [min, max] -> unsigned */
    MYL_OPT_SECONDS,  /* number of seconds within [min, max], fractions allowed -> double */
    MYL_OPT_BOOL,     /* true/false -> int */
    MYL_OPT_BYTES,    /* whole number of bytes within [min, max] -> size_t */
    MYL_OPT_PROTOCOL, /* "tcp" or "socket" -> myl_protocol */
    MYL_OPT_INT,      /* whole number within [min, max] -> int */
    MYL_OPT_SSL_MODE, /* "disabled", "preferred", "required", "verify_ca", "verify_identity" -> myl_ssl_mode */
    MYL_OPT_PAIRS,    /* names to values, both text -> attrs/nattrs (the front end builds the array) */
    MYL_OPT_FRONTEND, /* a value only the front end understands; no field here */
} myl_option_kind;

typedef struct myl_option_info {
    const char *name;
    myl_option_kind kind;
    size_t offset;    /* of the field in myl_options (not for PAIRS, FRONTEND) */
    double min, max;  /* for PORT, SECONDS, BYTES */
    const char *rule; /* what a valid value is, for messages: "must be ..." */
} myl_option_info;

/* Every option, in a fixed order, ending with a NULL name:
 *
 *   host              string   server host name or address
 *   port              port     TCP port, 1 .. 65535
 *   socket            string   Unix socket path
 *   protocol          protocol "tcp" or "socket"
 *   user              string   user name
 *   password          string
 *   database          string   initial database
 *   charset           string   connection character set
 *   collation         string   connection collation
 *   connect_timeout   seconds  0 .. one year, 0: none
 *   read_timeout      seconds  0 .. one year, 0: none
 *   write_timeout     seconds  0 .. one year, 0: none
 *   multi_statements  bool
 *   attrs             pairs    extra connection attributes
 *   max_packet        bytes    1 KiB .. 1 GiB
 *   max_result_bytes  bytes    0 .. 2^53, 0: no ceiling
 *   transport         frontend how the bytes travel (the front end opens it)
 *   ssl_mode          ssl mode disabled, preferred (default), required, verify_ca, verify_identity
 *   ssl_ca, ssl_capath, ssl_cert, ssl_key, ssl_cipher, ssl_ciphersuites,
 *   tls_version, ssl_crl, ssl_crlpath, ssl_fingerprint, ssl_fingerprint_list
 *                     string   as the mariadb client's --ssl-* options
 *   ssl               frontend all of the above as one value (Lua: a table)
 *   compress          bool     use protocol compression when the server has it
 *   compression_algorithms string "zlib", "zstd", "uncompressed", comma-separated
 *   compression_level int      zlib level 1 .. 9
 *   zstd_compression_level int zstd level 1 .. 22
 *   allow_cleartext   bool     mysql_clear_password and dialog may send the
 *                              password over an insecure channel
 *   server_public_key string   PEM file of the server's RSA key
 *   get_server_public_key bool may ask the server for its RSA key
 *   auth_plugins      string   the plugins allowed, comma-separated (Lua: a list too)
 *   auth              frontend prompts and plugins written by the front end
 *   local_infile      frontend LOAD DATA LOCAL INFILE: true (files) or the front end's source
 *   local_infile_dir  string   serve only files under this directory
 *   init_command      string   SQL run right after the login (see conn.h)
 *   bind_address      string   TCP: the local address to connect from
 *
 * A front end applies them in this order, so a value that sets several
 * fields at once (ssl) comes after the ones it can override.
 */
extern const myl_option_info myl_option_table[];

/* The option called name[0..len), or NULL. */
const myl_option_info *myl_option_find(const char *name, size_t len);

/* 1 when name[0..len) is reserved for a feature not built yet (ssl,
 * compress, ...): still an unknown option, but the message can say so. */
int myl_option_planned(const char *name, size_t len);

/* The known option nearest to an unknown name (a typo), or NULL. */
const char *myl_option_suggest(const char *name, size_t len);

/* Edit distance (insertions, deletions, substitutions, swaps of neighbours)
 * between a[0..na) and b[0..nb), or more than `limit` once it is certain to
 * exceed it: what the suggestions for a mistyped name measure. */
size_t myl_option_distance(const char *a, size_t na, const char *b, size_t nb, size_t limit);

/* Setters: each stores a value of the option's kind into its field and
 * returns NULL, or returns what is wrong with the value (e.g. "must be a
 * whole number from 1 to 65535", "contains a NUL byte") for the caller to
 * put after "option 'port' ".  A value of the wrong kind for the option is
 * refused with its rule. */
const char *myl_option_set_string(myl_options *o, const myl_option_info *opt, const char *s,
                                  size_t len);
const char *myl_option_set_number(myl_options *o, const myl_option_info *opt, double v);
const char *myl_option_set_bool(myl_options *o, const myl_option_info *opt, int v);

#endif
