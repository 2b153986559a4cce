/* Option files (my.cnf) as the mariadb client reads them: groups, options
 * with or without a value, comments, quotes and escapes, !include and
 * !includedir.  The text parser is pure (no I/O) so the fuzzer reaches it;
 * the file reader follows includes with a depth limit and refuses cycles.
 *
 * What a line means, as MariaDB's own parser has it:
 * - leading spaces are skipped; a line starting with '#' or ';' is a
 *   comment, an empty line nothing;
 * - "[name]" starts a group (spaces before ']' dropped); an option before
 *   any group is an error;
 * - "key" or "key = value": spaces around both are dropped; a '#' outside
 *   quotes ends the line (a quote inside quotes may be escaped with '\');
 *   a value quoted with the same quote at both ends (at least two
 *   characters) loses them; in the value \n \t \r \b \s (space) \" \' and
 *   \\ are escapes, a backslash before anything else stays as it is;
 * - "!include FILE" and "!includedir DIR" (only its files ending in
 *   ".cnf", in name order); a directive of another name is ignored.
 * Keys are given as written: myl_optfile_key normalizes them. */
#ifndef MYL_OPTFILE_H
#define MYL_OPTFILE_H

#include <stddef.h>

#include "error.h"

/* Includes nest at most this deep (MariaDB's limit). */
#define MYL_OPTFILE_MAX_DEPTH 10
/* Lines are at most this long (MariaDB reads 4 KiB at a time). */
#define MYL_OPTFILE_MAX_LINE 4096

typedef struct myl_optfile_hooks {
    /* An option of `group`: value NULL for "key" alone.  Non-zero stops the
     * parse (the caller's error, kept in err by the callback if it wants). */
    int (*option)(void *ud, const char *group, const char *key, const char *value,
                  const char *file, unsigned line);
    /* "!include path" (is_dir 0) or "!includedir path" (1) met at `depth`
     * (the including file's); non-zero stops the parse.  NULL: directives
     * are ignored. */
    int (*include)(void *ud, const char *path, int is_dir, unsigned depth, myl_error *err);
    void *ud;
} myl_optfile_hooks;

/* Parses the text of one file, `name` (for messages), at include depth
 * `depth`.  0, or -1 with err set ("name:line: what") or the callback's
 * failure. */
int myl_optfile_parse(const char *text, size_t n, const char *name, unsigned depth,
                      const myl_optfile_hooks *h, myl_error *err);

/* Reads the file at `path` and every file it includes (a cycle, a depth
 * past MYL_OPTFILE_MAX_DEPTH, or an included file that cannot be read is
 * an error naming it; h->include is not used).  A missing top-level file
 * is an error too: callers that look for optional files check first. */
int myl_optfile_read(const char *path, const myl_optfile_hooks *h, myl_error *err);

/* The option's name as it is matched: a "loose-" prefix removed (*loose
 * set), '_' read as '-'.  Returns the length written to out (cap bytes
 * with the NUL), or 0 when it does not fit or is empty. */
size_t myl_optfile_key(const char *key, char *out, size_t cap, int *loose);

/* A boolean value as the client's option parser takes it: 1, on, true /
 * 0, off, false, in any case.  1 or 0, or -1 for anything else. */
int myl_optfile_bool(const char *value);

#endif
