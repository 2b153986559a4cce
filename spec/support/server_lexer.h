/* How the server reads the inside of a quoted string literal, as a
 * reference for checking the client's escaping (decoders.c, the fuzzer). */
#ifndef MYL_SPEC_SERVER_LEXER_H
#define MYL_SPEC_SERVER_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "../../src/core/charset.h"

/* The server's two-byte characters (strings/ctype-big5.c, ctype-gbk.c,
 * ctype-sjis.c): a lead byte and a trail byte in these ranges form one
 * character, whatever the trail byte looks like in ASCII. */
static int server_mb_char(const uint8_t *s, size_t m, myl_mb_kind mb)
{
    if (m < 2) return 0;
    unsigned a = s[0], b = s[1];
    switch (mb) {
    case MYL_MB_BIG5:
        return a >= 0xA1 && a <= 0xF9 && ((b >= 0x40 && b <= 0x7E) || (b >= 0xA1 && b <= 0xFE));
    case MYL_MB_GBK:
        return a >= 0x81 && a <= 0xFE && ((b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFE));
    case MYL_MB_SJIS:
        return ((a >= 0x81 && a <= 0x9F) || (a >= 0xE0 && a <= 0xFC)) &&
               ((b >= 0x40 && b <= 0x7E) || (b >= 0x80 && b <= 0xFC));
    default: return 0; /* single-byte, or UTF-8/EUC: no trail byte is ASCII */
    }
}

/* Reads e[0..m) as the inside of a '...' literal the way the server's lexer
 * does (sql_lex.cc get_text), into out.  Returns the decoded length, or -1
 * when the literal would end before the closing quote or a trailing
 * backslash would escape that quote. */
static long server_read(const uint8_t *e, size_t m, myl_mb_kind mb, int no_backslash, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < m; i++) {
        uint8_t c = e[i];
        if (server_mb_char(e + i, m - i, mb)) {
            out[o++] = c;
            out[o++] = e[++i];
            continue;
        }
        if (c == '\'') {
            if (i + 1 == m || e[i + 1] != '\'') return -1; /* ends the literal */
            out[o++] = '\'';
            i++;
            continue;
        }
        if (c == '\\' && !no_backslash) {
            if (i + 1 == m) return -1; /* would escape the closing quote */
            c = e[++i];
            switch (c) {
            case 'n': out[o++] = '\n'; break;
            case 't': out[o++] = '\t'; break;
            case 'r': out[o++] = '\r'; break;
            case 'b': out[o++] = '\b'; break;
            case '0': out[o++] = 0; break;
            case 'Z': out[o++] = 0x1A; break;
            case '%':
            case '_': out[o++] = '\\'; out[o++] = c; break; /* LIKE wildcards keep the backslash */
            default: out[o++] = c; break;
            }
            continue;
        }
        out[o++] = c;
    }
    return (long)o;
}

#endif
