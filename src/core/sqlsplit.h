/* A script's statements, one at a time, split the way the mariadb and
 * mysql command-line clients split their input, so that a dump
 * (mariadb-dump, with --routines and --triggers too) runs as it would
 * through them.
 *
 * What it reads:
 *   - statements end at the current delimiter (";" at first) where it is
 *     code: not inside a string, a `quoted` identifier or a comment, but
 *     inside an executable comment (slash-star-bang ...) it does end one,
 *     as in the client; the delimiter is matched anywhere, also in the
 *     middle of a word (END$$), case-sensitively;
 *   - a statement's text is trimmed of the blanks and comments before its
 *     first code and the blanks after its last; one with no code (only
 *     blanks and comments, or nothing between two delimiters) is skipped;
 *     the last one needs no delimiter;
 *   - DELIMITER (any case) as the first word of a statement, followed by a
 *     blank or the line's end, or \d there, sets the delimiter from the
 *     first argument on its line as the client reads it (up to a blank, or
 *     quoted with ' " or `, a backslash taking the next character as is),
 *     at most MYL_SQLSPLIT_MAX_DELIMITER bytes and no backslash; the rest
 *     of the line goes with it;
 *   - the client's backslash commands, where they are code: \g and \G end
 *     the statement (like the delimiter), \c drops what came before it in
 *     the statement, \N (NULL) and \- (the sandbox marker mariadb-dump
 *     writes inside a comment the server skips) stay in the text, as does
 *     a backslash before a character that names no command; the others
 *     (\. source, \! system, \u use, \q quit, \T tee, \r connect, ...)
 *     act outside SQL and stop the split with an error.  The named forms
 *     of those commands (a line "source f" or "use db" without the
 *     delimiter) are read as SQL, which the server then refuses: USE db;
 *     is SQL, and what dumps write;
 *   - lines end with LF or CR LF; a statement's line is 1-based and counts
 *     LFs.
 * A string or comment left open at the end makes the last statement run
 * to the end of the text, marked unterminated (the server will say what is
 * wrong with it).
 * A script in big5, gbk or sjis (cp932), whose two-byte characters may
 * hold a byte that looks like a backslash or a backtick, needs s->mb set
 * to the charset's kind after myl_sqlsplit_init, as the client reads it
 * with its --default-character-set.  Not read as the client does:
 * ANSI_QUOTES (a backslash inside "..." is then an ordinary byte), and the
 * argument of DELIMITER also ends at a tab or a CR, where the client ends
 * it at a space only.
 *
 * Pure: reads text[0..len), which must outlive the splitter, and writes
 * nothing else; every index is checked against len. */
#ifndef MYL_SQLSPLIT_H
#define MYL_SQLSPLIT_H

#include <stddef.h>

#include "charset.h"

#define MYL_SQLSPLIT_MAX_DELIMITER 15 /* the client's limit too */

typedef struct myl_sql_statement {
    size_t start, len;    /* text[start .. start+len), without the delimiter */
    unsigned long line;   /* where it starts, from 1 */
    int unterminated;     /* a string, identifier or comment open at the end */
} myl_sql_statement;

typedef struct myl_sqlsplit {
    const char *text;
    size_t len, pos;
    unsigned lex_flags;   /* sqllex.h flags: backslash escapes, inside an executable comment */
    myl_mb_kind mb;       /* the script's two-byte characters: MYL_MB_NONE after init */
    unsigned long line;   /* of pos */
    char delimiter[MYL_SQLSPLIT_MAX_DELIMITER + 1];
    size_t delimiter_len;
    int failed;
    char error[192];      /* after -1: "line N: what is wrong" */
} myl_sqlsplit;

/* no_backslash: the sql_mode NO_BACKSLASH_ESCAPES. */
void myl_sqlsplit_init(myl_sqlsplit *s, const char *text, size_t len, int no_backslash);

/* The next statement into *out: 1, or 0 at the end, or -1 with s->error
 * set (a client command that cannot run here, a DELIMITER without a
 * usable value); after -1 every call returns -1. */
int myl_sqlsplit_next(myl_sqlsplit *s, myl_sql_statement *out);

#endif
