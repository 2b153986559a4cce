#include "charset.h"

#include <strings.h>

static const myl_charset charsets[] = {
    {"utf8mb4", 45, MYL_MB_NONE}, {"utf8mb3", 33, MYL_MB_NONE}, {"utf8", 33, MYL_MB_NONE},
    {"latin1", 8, MYL_MB_NONE},   {"ascii", 11, MYL_MB_NONE},   {"binary", 63, MYL_MB_NONE},
    {"latin2", 9, MYL_MB_NONE},   {"latin5", 30, MYL_MB_NONE},  {"latin7", 41, MYL_MB_NONE},
    {"cp1250", 26, MYL_MB_NONE},  {"cp1251", 51, MYL_MB_NONE},  {"cp1256", 57, MYL_MB_NONE},
    {"cp1257", 59, MYL_MB_NONE},  {"cp850", 4, MYL_MB_NONE},    {"cp852", 40, MYL_MB_NONE},
    {"cp866", 36, MYL_MB_NONE},   {"koi8r", 7, MYL_MB_NONE},    {"koi8u", 22, MYL_MB_NONE},
    {"greek", 25, MYL_MB_NONE},   {"hebrew", 16, MYL_MB_NONE},  {"tis620", 18, MYL_MB_NONE},
    {"swe7", 10, MYL_MB_NONE},    {"hp8", 6, MYL_MB_NONE},      {"dec8", 3, MYL_MB_NONE},
    {"macroman", 39, MYL_MB_NONE}, {"macce", 38, MYL_MB_NONE},  {"armscii8", 32, MYL_MB_NONE},
    {"geostd8", 92, MYL_MB_NONE}, {"keybcs2", 37, MYL_MB_NONE}, {"euckr", 19, MYL_MB_NONE},
    {"ujis", 12, MYL_MB_NONE},    {"eucjpms", 97, MYL_MB_NONE},
    {"big5", 1, MYL_MB_BIG5},     {"gbk", 28, MYL_MB_GBK},      {"sjis", 13, MYL_MB_SJIS},
    {"cp932", 95, MYL_MB_SJIS},
};

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
