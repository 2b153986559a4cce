/* One SQL token at a time, by the rules of the server's lexer that decide
 * what is code: '...' and "..." strings and `...` identifiers (backslash
 * escapes in strings unless NO_BACKSLASH_ESCAPES, doubled quotes), comments
 * (# and "-- " to the end of the line, C comments), and the executable
 * comments opened by slash-star-bang or slash-star-M-bang, whose contents
 * are code.  The LOCAL INFILE scanner (infile_name.c), the script splitter
 * (sqlsplit.c) and the binding's placeholders (src/lua/sql.c) read SQL
 * through it, so they agree on where a quote or a comment ends.
 *
 * Pure and stateless: the caller keeps the one piece of state, whether it
 * is inside an executable comment (MYL_SQLLEX_IN_EXEC), and moves to the
 * token's end.  Every index is checked against len, so any input is safe. */
#ifndef MYL_SQLLEX_H
#define MYL_SQLLEX_H

#include <stddef.h>

#include "charset.h"

typedef enum myl_sqltok_kind {
    MYL_SQLTOK_END,           /* pos is at or past the end: len 0 */
    MYL_SQLTOK_BLANK,         /* spaces, tabs, line ends (CR and LF) */
    MYL_SQLTOK_LINE_COMMENT,  /* # or "-- " to the end of the line, its LF not included */
    MYL_SQLTOK_BLOCK_COMMENT, /* a C comment, both markers included */
    MYL_SQLTOK_EXEC_OPEN,     /* slash-star-bang or slash-star-M-bang and the version digits */
    MYL_SQLTOK_EXEC_CLOSE,    /* star-slash ending an executable comment (only with IN_EXEC) */
    MYL_SQLTOK_STRING,        /* '...' or "...", quotes included */
    MYL_SQLTOK_IDENT,         /* `...`, quotes included */
    MYL_SQLTOK_WORD,          /* letters, digits, _, $ and bytes >= 0x80 */
    MYL_SQLTOK_OTHER          /* one byte of anything else */
} myl_sqltok_kind;

/* Flags */
#define MYL_SQLLEX_NO_BACKSLASH 1u /* sql_mode NO_BACKSLASH_ESCAPES */
#define MYL_SQLLEX_IN_EXEC 2u      /* inside an executable comment: star-slash closes it */
#define MYL_SQLLEX_ANSI_QUOTES 4u  /* sql_mode ANSI_QUOTES: a backslash is an ordinary byte in "..." */
#define MYL_SQLLEX_DASH_HIGH 8u    /* "--" before a byte >= 0x80 starts a comment (charset's ctype) */

typedef struct myl_sqltok {
    myl_sqltok_kind kind;
    size_t start, len;
    int unterminated; /* a string, identifier or C comment that reaches the end of the text */
} myl_sqltok;

/* The token of sql[0..len) that starts at pos, into *tok; returns its kind.
 * mb: the connection charset's kind; its two-byte characters are read
 * whole, in words and inside quotes, so that a trail byte that looks like
 * a backslash or a quote is none (MYL_MB_NONE: byte by byte). */
myl_sqltok_kind myl_sqllex_next(const char *sql, size_t len, size_t pos, unsigned flags, myl_mb_kind mb,
                                myl_sqltok *tok);

/* Whether the byte is a blank, or a part of a word (as the lexer reads them). */
int myl_sqllex_is_blank(unsigned char ch);
int myl_sqllex_is_word(unsigned char ch);

#endif
