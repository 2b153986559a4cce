/* MySQL's login path file, ~/.mylogin.cnf, as mysql_config_editor writes
 * it and MySQL's clients read it after the other option files (so a cron
 * job needs no password in plain text).  It is obfuscated, not secret:
 * the key is stored in the file.
 *
 * The format (MySQL's mysys/my_default.cc and mysql_config_editor):
 *   4 bytes   unused (written as zeros)
 *   20 bytes  the key; AES-128 takes it folded to 16 bytes: byte i is
 *             XORed into byte i % 16 of a zeroed key
 *   then, to the end, chunks of
 *     4 bytes   the ciphertext's length, little-endian (signed)
 *     N bytes   AES-128-ECB with PKCS#7 padding; it decrypts to one line
 *               of the option file, with its newline
 * The lines are option-file text: "[client]" and "[NAME]" groups (login
 * paths) holding user, password, host, port and socket.  MySQL 8's
 * mysql_config_editor writes values in double quotes (`user = "bob"`)
 * without escaping what is inside, so the usual reading applies: the
 * quotes go, "\n", "\\" and the other escapes are read as escapes, and a
 * '#' after a quote inside the value starts a comment.
 *
 * Where we differ from MySQL on a bad file: MySQL stops reading at the
 * first chunk it cannot read or decrypt and keeps the options before it,
 * silently.  We refuse the whole file with an error naming it and the
 * byte where it goes wrong, so a damaged file does not quietly log in as
 * someone else.  !include and !includedir are ignored in it, as MySQL
 * does not follow them there. */
#ifndef MYL_MYLOGIN_H
#define MYL_MYLOGIN_H

#include <stddef.h>

#include "error.h"
#include "optfile.h"

/* The header: 4 unused bytes and the 20-byte key. */
#define MYL_MYLOGIN_HEADER 24
/* A chunk decrypts to one line: no longer than MySQL's 4 KiB line buffer. */
#define MYL_MYLOGIN_MAX_CHUNK 4096
/* Larger files are refused unread: mysql_config_editor's are a few KiB. */
#define MYL_MYLOGIN_MAX_BYTES ((size_t)1 << 20)

/* Decrypts data[0..n) and gives its options to h->option (h->include is
 * not used: directives are ignored).  `name` is the file's name for
 * messages.  An empty input (0 bytes) holds no options.  0, or -1 with
 * err set: "login file 'NAME': ..." for a header or chunk cut short, a
 * chunk length that is not a positive multiple of 16 up to 4096, a chunk
 * that does not decrypt (bad padding: another key or damaged bytes), a
 * line the option-file parser refuses; or the callback's failure.  Pure:
 * no I/O.  The decrypted text and the key are wiped before returning. */
int myl_mylogin_parse(const unsigned char *data, size_t n, const char *name,
                      const myl_optfile_hooks *h, myl_error *err);

/* What myl_mylogin_read did. */
enum {
    MYL_MYLOGIN_MISSING = 0, /* no file at path: nothing read, not an error */
    MYL_MYLOGIN_READ = 1,    /* read: h->option saw its options */
    /* Readable, writable or executable by group or others: ignored, as
     * MySQL's clients ignore it.  err holds the warning to print
     * ("... should be readable/writable only by its owner; ignored") and
     * the caller goes on without the file. */
    MYL_MYLOGIN_REFUSED = 2,
};

/* Reads the login file at path (following symbolic links, as MySQL).
 * Returns MYL_MYLOGIN_MISSING, MYL_MYLOGIN_READ or MYL_MYLOGIN_REFUSED
 * (above), or -1 with err set: not a regular file, larger than
 * MYL_MYLOGIN_MAX_BYTES, unreadable, or what myl_mylogin_parse refuses.
 * The bytes read are wiped before returning. */
int myl_mylogin_read(const char *path, const myl_optfile_hooks *h, myl_error *err);

/* Where MySQL's clients look for it: $MYSQL_TEST_LOGIN_FILE when set,
 * else $HOME/.mylogin.cnf (the password database's home directory when
 * HOME is unset).  Written to buf; NULL when there is no home directory
 * or the path does not fit. */
const char *myl_mylogin_default_path(char *buf, size_t size);

#endif
