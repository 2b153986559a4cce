#include "charset.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#define ANY MYL_MB_NONE, MYL_TEXT_ANY

static const myl_charset charsets[] = {
    {"utf8mb4", 45, MYL_MB_NONE, MYL_TEXT_UTF8MB4},
    {"utf8mb3", 33, MYL_MB_NONE, MYL_TEXT_UTF8MB3},
    {"utf8", 33, MYL_MB_NONE, MYL_TEXT_UTF8MB3},
    {"latin1", 8, ANY},    {"ascii", 11, ANY},     {"binary", 63, ANY},   {"latin2", 9, ANY},
    {"latin5", 30, ANY},   {"latin7", 41, ANY},    {"cp1250", 26, ANY},   {"cp1251", 51, ANY},
    {"cp1256", 57, ANY},   {"cp1257", 59, ANY},    {"cp850", 4, ANY},     {"cp852", 40, ANY},
    {"cp866", 36, ANY},    {"koi8r", 7, ANY},      {"koi8u", 22, ANY},    {"greek", 25, ANY},
    {"hebrew", 16, ANY},   {"tis620", 18, ANY},    {"swe7", 10, ANY},     {"hp8", 6, ANY},
    {"dec8", 3, ANY},      {"macroman", 39, ANY},  {"macce", 38, ANY},    {"armscii8", 32, ANY},
    {"geostd8", 92, ANY},  {"keybcs2", 37, ANY},
    {"euckr", 19, MYL_MB_NONE, MYL_TEXT_EUCKR},
    {"ujis", 12, MYL_MB_NONE, MYL_TEXT_UJIS},
    {"eucjpms", 97, MYL_MB_NONE, MYL_TEXT_UJIS},
    {"big5", 1, MYL_MB_BIG5, MYL_TEXT_MB2},
    {"gbk", 28, MYL_MB_GBK, MYL_TEXT_MB2},
    {"sjis", 13, MYL_MB_SJIS, MYL_TEXT_MB2},
    {"cp932", 95, MYL_MB_SJIS, MYL_TEXT_MB2},
};

#undef ANY

const myl_charset *myl_charset_find(const char *name)
{
    for (size_t i = 0; i < sizeof charsets / sizeof charsets[0]; i++)
        if (strcasecmp(charsets[i].name, name) == 0) return &charsets[i];
    return NULL;
}

/* Length of a valid two-byte character starting at s (n bytes left) in the
 * given charset, or 0.  The ranges are the server's: a byte pair the server
 * does not read as one character must be escaped byte by byte.  EUC
 * charsets never use ASCII bytes as trail bytes, so only these three need
 * care. */
static size_t mb_len(const unsigned char *s, size_t n, myl_mb_kind mb)
{
    if (n < 2) return 0;
    unsigned a = s[0], b = s[1];
    switch (mb) {
    case MYL_MB_BIG5:
        return a >= 0xA1 && a <= 0xF9 && ((b >= 0x40 && b <= 0x7E) || (b >= 0xA1 && b <= 0xFE)) ? 2 : 0;
    case MYL_MB_GBK:
        return a >= 0x81 && a <= 0xFE && b >= 0x40 && b <= 0xFE && b != 0x7F ? 2 : 0;
    case MYL_MB_SJIS:
        return ((a >= 0x81 && a <= 0x9F) || (a >= 0xE0 && a <= 0xFC)) && b >= 0x40 && b <= 0xFC &&
                       b != 0x7F
                   ? 2
                   : 0;
    default: return 0;
    }
}

size_t myl_mb_charlen(const char *s, size_t n, myl_mb_kind mb)
{
    return mb_len((const unsigned char *)s, n, mb);
}

static int is_lead(unsigned a, myl_mb_kind mb)
{
    switch (mb) {
    case MYL_MB_BIG5: return a >= 0xA1 && a <= 0xF9;
    case MYL_MB_GBK: return a >= 0x81 && a <= 0xFE;
    case MYL_MB_SJIS: return (a >= 0x81 && a <= 0x9F) || (a >= 0xE0 && a <= 0xFC);
    default: return 0;
    }
}

size_t myl_escape(char *dst, const char *src, size_t n, myl_mb_kind mb, int no_backslash)
{
    const unsigned char *s = (const unsigned char *)src;
    char *d = dst;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (mb != MYL_MB_NONE && c >= 0x80) {
            size_t l = mb_len(s + i, n - i, mb);
            if (l) {
                /* A whole character: its trail byte may look like \ or ',
                 * but the server reads it as part of the character. */
                *d++ = (char)s[i];
                *d++ = (char)s[i + 1];
                i++;
                continue;
            }
            if (is_lead(c, mb) && !no_backslash) {
                /* A lone lead byte would swallow the escape we add after
                 * it; escape the lead byte itself instead. */
                *d++ = '\\';
                *d++ = (char)c;
                continue;
            }
        }
        if (no_backslash) {
            if (c == '\'') *d++ = '\'';
            *d++ = (char)c;
            continue;
        }
        switch (c) {
        case 0: *d++ = '\\'; *d++ = '0'; break;
        case '\n': *d++ = '\\'; *d++ = 'n'; break;
        case '\r': *d++ = '\\'; *d++ = 'r'; break;
        case '\\': *d++ = '\\'; *d++ = '\\'; break;
        case '\'': *d++ = '\\'; *d++ = '\''; break;
        case '"': *d++ = '\\'; *d++ = '"'; break;
        case 0x1A: *d++ = '\\'; *d++ = 'Z'; break;
        default: *d++ = (char)c;
        }
    }
    return (size_t)(d - dst);
}

static int cont(unsigned char c) { return (c & 0xC0) == 0x80; }

/* Length of the UTF-8 character at s as the server's utf8mb3/utf8mb4 reads
 * it (ctype-utf8.c: no overlong forms, nothing above U+10FFFF; it does take
 * the surrogate range ED A0..BF xx), or 0 when s does not start one. */
static size_t utf8_len(const unsigned char *s, size_t n, int max_len)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c < 0xC2) return 0;
    if (c < 0xE0) return n >= 2 && cont(s[1]) ? 2 : 0;
    if (c < 0xF0)
        return n >= 3 && cont(s[1]) && cont(s[2]) && (c >= 0xE1 || s[1] >= 0xA0) ? 3 : 0;
    if (c < 0xF5 && max_len == 4)
        return n >= 4 && cont(s[1]) && cont(s[2]) && cont(s[3]) && (c >= 0xF1 || s[1] >= 0x90) &&
                       (c <= 0xF3 || s[1] <= 0x8F)
                   ? 4
                   : 0;
    return 0;
}

static int in(unsigned c, unsigned lo, unsigned hi) { return c >= lo && c <= hi; }

/* Length of the character at s (n >= 1 bytes left) in a charset of the
 * given text kind, or 0 when the bytes there are not well-formed. */
static size_t text_char_len(const unsigned char *s, size_t n, const myl_charset *cs)
{
    unsigned a = s[0];
    if (a < 0x80 || cs->text == MYL_TEXT_ANY) return 1;
    switch (cs->text) {
    case MYL_TEXT_UTF8MB3: return utf8_len(s, n, 3);
    case MYL_TEXT_UTF8MB4: return utf8_len(s, n, 4);
    case MYL_TEXT_MB2:
        if (cs->mb == MYL_MB_SJIS && in(a, 0xA1, 0xDF)) return 1; /* half-width kana */
        return mb_len(s, n, cs->mb);
    case MYL_TEXT_EUCKR:
        return n >= 2 && in(a, 0x81, 0xFE) &&
                       (in(s[1], 0x41, 0x5A) || in(s[1], 0x61, 0x7A) || in(s[1], 0x81, 0xFE))
                   ? 2
                   : 0;
    case MYL_TEXT_UJIS:
        if (a == 0x8E) return n >= 2 && in(s[1], 0xA1, 0xDF) ? 2 : 0;
        if (a == 0x8F) return n >= 3 && in(s[1], 0xA1, 0xFE) && in(s[2], 0xA1, 0xFE) ? 3 : 0;
        return n >= 2 && in(a, 0xA1, 0xFE) && in(s[1], 0xA1, 0xFE) ? 2 : 0;
    default: return 0;
    }
}

int myl_charset_is_text(const myl_charset *cs, const char *src, size_t n)
{
    const unsigned char *s = (const unsigned char *)src;
    for (size_t i = 0; i < n;) {
        size_t l = text_char_len(s + i, n - i, cs);
        if (!l) return 0;
        i += l;
    }
    return 1;
}

size_t myl_quote_bound(size_t n)
{
    /* "_" + the longest charset name + " X'" + 2 hex digits a byte + "'" */
    return n > (SIZE_MAX - 32) / 2 ? 0 : 2 * n + 32;
}

/* 1 when the plain '...' form could read differently on some server: a
 * backslash (an escape unless NO_BACKSLASH_ESCAPES), a NUL (which some
 * tools and logs cut at), or a comment mark (should the literal end up in
 * a comment the server skips, such as a versioned one for a newer server,
 * it must not end that comment or open a nested one). */
static int needs_hex(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (c == '\\' || c == 0) return 1;
        if (i + 1 < n && ((c == '/' && s[i + 1] == '*') || (c == '*' && s[i + 1] == '/'))) return 1;
    }
    return 0;
}

/* What myl_quote's one-pass form does with each byte: copies it (0),
 * doubles it (the quote), or leaves the string to the long way (NUL,
 * backslash, slash, star, and every byte >= 0x80). */
enum { PLAIN_COPY, PLAIN_DOUBLE, PLAIN_STOP };
#define STOP16 PLAIN_STOP, PLAIN_STOP, PLAIN_STOP, PLAIN_STOP, PLAIN_STOP, PLAIN_STOP, PLAIN_STOP, \
               PLAIN_STOP, PLAIN_STOP, PLAIN_STOP, PLAIN_STOP, PLAIN_STOP, PLAIN_STOP, PLAIN_STOP, \
               PLAIN_STOP, PLAIN_STOP
static const unsigned char plain_quote_class[256] = {
    [0] = PLAIN_STOP,
    ['\''] = PLAIN_DOUBLE,
    ['\\'] = PLAIN_STOP,
    ['/'] = PLAIN_STOP,
    ['*'] = PLAIN_STOP,
    [0x80] = STOP16, STOP16, STOP16, STOP16, STOP16, STOP16, STOP16, STOP16,
};
#undef STOP16

size_t myl_quote(char *dst, const char *src, size_t n, const myl_charset *cs)
{
    static const char digits[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)src;
    char *d = dst;
    if (n == 0) {
        *d++ = '\'';
        *d++ = '\'';
        return 2;
    }
    /* Most strings are ASCII without a backslash, NUL, slash or star: text
     * in every charset, no hex form, no two-byte character; they take the
     * plain form below in one pass.  Any other byte starts again the long
     * way. */
    *d++ = '\'';
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        if (plain_quote_class[c]) {
            if (plain_quote_class[c] == PLAIN_STOP) {
                d = dst;
                break;
            }
            *d++ = '\''; /* PLAIN_DOUBLE */
        }
        *d++ = (char)c;
    }
    if (d != dst) {
        *d++ = '\'';
        return (size_t)(d - dst);
    }
    int text = myl_charset_is_text(cs, src, n);
    if (needs_hex(s, n)) {
        /* Only hex digits between the quotes: the same in every sql_mode
         * and charset; the introducer makes it text in cs again. */
        const char *name = text ? cs->name : "binary";
        size_t len = strlen(name);
        *d++ = '_';
        memcpy(d, name, len);
        d += len;
        memcpy(d, " X'", 3);
        d += 3;
        for (size_t i = 0; i < n; i++) {
            *d++ = digits[s[i] >> 4];
            *d++ = digits[s[i] & 15];
        }
        *d++ = '\'';
        return (size_t)(d - dst);
    }
    /* No backslash, so nothing but a quote is special inside '...' in
     * either mode.  No client charset has 0x27 as a trail byte, so each
     * quote is a character of its own; whole two-byte characters are
     * still stepped over as the server reads them. */
    if (!text) {
        memcpy(d, "_binary", 7);
        d += 7;
    }
    *d++ = '\'';
    for (size_t i = 0; i < n; i++) {
        if (cs->mb != MYL_MB_NONE && s[i] >= 0x80 && mb_len(s + i, n - i, cs->mb)) {
            *d++ = (char)s[i++];
            *d++ = (char)s[i];
            continue;
        }
        if (s[i] == '\'') *d++ = '\'';
        *d++ = (char)s[i];
    }
    *d++ = '\'';
    return (size_t)(d - dst);
}
