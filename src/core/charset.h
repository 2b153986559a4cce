/* Connection character sets: the handshake's collation id for a charset name,
 * which multibyte charsets can hide a 0x5C byte inside a character (so
 * escaping must step over whole characters), which byte strings the server
 * takes as text in each charset, and SQL literals that read the same
 * whatever the server's sql_mode. */
#ifndef MYL_CHARSET_H
#define MYL_CHARSET_H

#include <stddef.h>

typedef enum {
    MYL_MB_NONE = 0, /* single byte, or UTF-8: no trail byte is ASCII */
    MYL_MB_BIG5,
    MYL_MB_GBK,
    MYL_MB_SJIS,
} myl_mb_kind;

/* Which byte strings the server accepts as text in a charset (its
 * well-formedness check, e.g. for a _charset X'...' literal). */
typedef enum {
    MYL_TEXT_ANY = 0, /* single-byte charsets and binary: every byte */
    MYL_TEXT_UTF8MB3, /* UTF-8 of 1 to 3 bytes */
    MYL_TEXT_UTF8MB4, /* UTF-8 of 1 to 4 bytes */
    MYL_TEXT_MB2,     /* big5, gbk, sjis, cp932: ASCII, the mb kind's pairs (and sjis kana) */
    MYL_TEXT_EUCKR,
    MYL_TEXT_UJIS, /* ujis, eucjpms */
} myl_text_kind;

typedef struct myl_charset {
    const char *name;
    unsigned collation_id; /* the charset's default collation */
    myl_mb_kind mb;
    myl_text_kind text;
} myl_charset;

/* Looks a charset up by name (case-insensitive; "utf8" is utf8mb3); NULL if
 * unknown or not usable as a client charset. */
const myl_charset *myl_charset_find(const char *name);

/* Length of the two-byte character of kind mb at s (n bytes left) as the
 * server reads it, or 0 when s does not start one (a single byte, a lone
 * lead byte, or a charset without ASCII trail bytes). */
size_t myl_mb_charlen(const char *s, size_t n, myl_mb_kind mb);

/* 1 when the server takes the n bytes at s as well-formed text in cs. */
int myl_charset_is_text(const myl_charset *cs, const char *s, size_t n);

/* Writes `src` escaped for use inside '...' into dst, which must hold
 * 2 * n bytes; returns the number of bytes written.  With backslashes off
 * (NO_BACKSLASH_ESCAPES) only the quote is doubled.  The result is only
 * right for the mode given: myl_quote is the form that does not depend on
 * it. */
size_t myl_escape(char *dst, const char *src, size_t n, myl_mb_kind mb, int no_backslash);

/* The most bytes myl_quote writes for n bytes of input, or 0 when that
 * does not fit in a size_t. */
size_t myl_quote_bound(size_t n);

/* Writes the SQL literal for the n bytes at src, for a connection in cs,
 * into dst (myl_quote_bound(n) bytes); returns its length.  The literal
 * means the same with and without NO_BACKSLASH_ESCAPES and never contains
 * a backslash, a NUL, "slash-star" or "star-slash":
 *   ''                          the empty string;
 *   'text'                      with ' doubled, when src has no backslash,
 *                               NUL, slash-star or star-slash;
 *   _cs X'6869'                 otherwise (cs the connection's charset);
 * and a prefix _binary instead of no introducer, or X'...' with _binary
 * instead of _cs, when src is not well-formed text in cs. */
size_t myl_quote(char *dst, const char *src, size_t n, const myl_charset *cs);

#endif
