/* Connection character sets: the handshake's collation id for a charset name,
 * and which multibyte charsets can hide a 0x5C or 0x27 byte inside a
 * character, so escaping must step over whole characters. */
#ifndef MYL_CHARSET_H
#define MYL_CHARSET_H

#include <stddef.h>

typedef enum {
    MYL_MB_NONE = 0, /* single byte, or UTF-8: no trail byte is ASCII */
    MYL_MB_BIG5,
    MYL_MB_GBK,
    MYL_MB_SJIS,
} myl_mb_kind;

typedef struct myl_charset {
    const char *name;
    unsigned collation_id; /* the charset's default collation */
    myl_mb_kind mb;
} myl_charset;

/* Looks a charset up by name (case-insensitive; "utf8" is utf8mb3); NULL if
 * unknown or not usable as a client charset. */
const myl_charset *myl_charset_find(const char *name);

/* Writes `src` escaped for use inside '...' into dst, which must hold
 * 2 * n bytes; returns the number of bytes written.  With backslashes off
 * (NO_BACKSLASH_ESCAPES) only the quote is doubled. */
size_t myl_escape(char *dst, const char *src, size_t n, myl_mb_kind mb, int no_backslash);

#endif
