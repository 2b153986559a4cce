/* LOAD DATA LOCAL INFILE: the server asks the client for a file's contents
 * in the middle of a statement's response, and the client sends them.
 *
 * Off unless the connect options give a source (myl_options.local_infile):
 * only then does the client advertise CLIENT_LOCAL_FILES.  Whatever the
 * source would allow, the core honours a request only when the file name
 * is exactly the one the LOAD DATA LOCAL INFILE statement just sent on the
 * connection named, and only once per command: a rogue server asking for
 * /etc/passwd after a SELECT, or for another file than the statement's,
 * gets an empty packet (no data) and the statement fails with 2068, without
 * the source being asked at all.
 *
 * The data goes in chunks no larger than max_packet, in constant memory.
 * A source that fails (or a front end's callback that raises) ends the
 * transfer the way the protocol allows, with an empty packet, then the
 * server's reply is read and the source's error is the statement's; the
 * connection stays usable.  The time the source spends producing data does
 * not count against read_timeout; write_timeout bounds each write. */
#ifndef MYL_INFILE_H
#define MYL_INFILE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Where the data comes from (callbacks, with the rule of auth.h). */
typedef struct myl_infile_hooks {
    /* Opens the data for the file the server asks for, `name` (len bytes,
     * already checked against the statement).  0 with *src set, or -1 to
     * refuse (err says why, or the front end keeps its own error). */
    int (*open)(void *ud, const char *name, size_t len, void **src, myl_error *err);
    /* Up to `cap` bytes into buf; *n = 0 at the end.  0, or -1 on failure. */
    int (*read)(void *ud, void *src, uint8_t *buf, size_t cap, size_t *n, myl_error *err);
    /* After a successful open, always called once, also after a failure. */
    void (*close)(void *ud, void *src);
    void *ud;
} myl_infile_hooks;

/* The built-in source (infile_files.c): regular files.  With `dir`, only
 * files under that directory, after resolving ".." and symbolic links, and
 * opened so that a link swapped in meanwhile cannot lead outside it; without
 * it, the file the statement names.  `dir` must outlive the hooks.  Errors:
 * 2068 for a file refused (not under dir, not a regular file), 5004 when
 * it cannot be opened, 5005 when reading it fails (MariaDB's codes). */
void myl_infile_files(myl_infile_hooks *h, const char *dir);

/* The file name a LOAD DATA [LOW_PRIORITY | CONCURRENT] LOCAL INFILE
 * statement in `sql` names (the first one, outside comments and quotes),
 * its string literal unescaped as the server reads it (no_backslash: the
 * sql_mode NO_BACKSLASH_ESCAPES), into out (cap bytes).  Returns its
 * length, -1 when there is no such statement, -2 when the name does not fit
 * or cannot be read (then no request is honoured). */
long myl_sql_infile_name(const char *sql, size_t len, int no_backslash, char *out, size_t cap);

/* 1 when the first word of `sql`, after blanks and comments (an executable
 * comment's contents are code), is the keyword `kw` (upper case), in any
 * case; read by the same scanner.  Prepared statements use it to tell an
 * INSERT from other statements. */
int myl_sql_first_keyword(const char *sql, size_t len, const char *kw);

#endif
