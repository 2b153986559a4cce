/* A statement's comments deleted as the mariadb (and mysql) command-line
 * client deletes them by default (--skip-comments) before it sends a
 * statement, so that what the server stores of it (a routine's, trigger's,
 * view's or event's body) is the same byte for byte.
 *
 * The client's rules, read off its input loop, not the server's lexer:
 *   - it reads line by line (LF), keeping two states from one line to the
 *     next: inside a quoted string ('...', "...", `...`) and inside a C
 *     comment;
 *   - "#" and "--" followed by a blank or the line's end start a comment to
 *     the end of the line; so does "--" followed by anything while nothing
 *     of the statement has been kept yet (the client's allowance for test
 *     files: "--- text" at a statement's start is a comment, where the
 *     server would read code);
 *   - a C comment is deleted, and the first byte after it on the same line
 *     gets a space before it when it is no blank; the line ends inside a C
 *     comment are deleted with it; executable comments (slash-star-bang,
 *     slash-star-M-bang) are kept whole;
 *   - a line's end is kept as one LF once something of the statement has
 *     been kept (a line holding only a comment in a body leaves its
 *     indentation and its LF); blanks before the first kept byte are
 *     dropped, and the blanks and control bytes at the end;
 *   - inside strings nothing is a comment; a backslash takes the next byte
 *     with it (not inside `...`, nor inside strings under
 *     NO_BACKSLASH_ESCAPES, nor inside "..." under ANSI_QUOTES);
 *   - a multibyte character is copied whole (UTF-8 with MYL_MB_NONE, as
 *     the client's utf8mb4; two-byte charsets by their kind).
 *
 * Pure: reads sql[0..len), writes at most len bytes to out (which must
 * hold len bytes; never more than the input) and returns how many. */
#ifndef MYL_SQLSTRIP_H
#define MYL_SQLSTRIP_H

#include <stddef.h>

#include "charset.h"

/* flags: MYL_SQLLEX_NO_BACKSLASH and MYL_SQLLEX_ANSI_QUOTES (sqllex.h). */
size_t myl_sql_strip_comments(const char *sql, size_t len, unsigned flags, myl_mb_kind mb, char *out);

#endif
