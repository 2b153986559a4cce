#include "sqlstrip.h"

#include "sqllex.h"

/* The client's my_isspace for its (utf8mb4) charset. */
static int is_space(unsigned char ch)
{
    return ch == ' ' || (ch >= '\t' && ch <= '\r');
}

static int is_trail(unsigned char ch)
{
    return ch >= 0x80 && ch <= 0xBF;
}

/* Length of the well-formed UTF-8 multibyte character at s (n bytes
 * left), or 0: what the client's charset copies whole. */
static size_t utf8_charlen(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0xC2 || c > 0xF4) return 0;
    if (c < 0xE0) return n >= 2 && is_trail(s[1]) ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || !is_trail(s[1]) || !is_trail(s[2])) return 0;
        return c == 0xE0 && s[1] < 0xA0 ? 0 : 3;
    }
    if (n < 4 || !is_trail(s[1]) || !is_trail(s[2]) || !is_trail(s[3])) return 0;
    if (c == 0xF0 && s[1] < 0x90) return 0;
    if (c == 0xF4 && s[1] > 0x8F) return 0;
    return 4;
}

typedef struct strip_state {
    const unsigned char *s;
    size_t line_end; /* the line's LF, or the end of the text */
    char *out;
    size_t cap, n;
} strip_state;

/* The byte at i of the current line, 0 past its end (as the client's
 * NUL-terminated line reads). */
static unsigned char at(const strip_state *st, size_t i)
{
    return i < st->line_end ? st->s[i] : 0;
}

static void emit(strip_state *st, char ch)
{
    if (st->n < st->cap) st->out[st->n++] = ch;
}

size_t myl_sql_strip_comments(const char *sql, size_t len, unsigned flags, myl_mb_kind mb, char *out)
{
    if (!sql || !out) return 0;
    strip_state st = {(const unsigned char *)sql, 0, out, len, 0};
    char in_string = 0;
    int ml_comment = 0;
    size_t pos = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && sql[end] != '\n') end++;
        st.line_end = end;
        int need_space = 0, ss_comment = 0;
        for (; pos < end; pos++) {
            unsigned char ch = st.s[pos];
            if (is_space(ch) && st.n == 0) continue;
            size_t mblen = mb == MYL_MB_NONE ? utf8_charlen(st.s + pos, end - pos)
                                             : myl_mb_charlen(sql + pos, end - pos, mb);
            if (mblen > 1) {
                if (!ml_comment)
                    for (size_t i = 0; i < mblen; i++) emit(&st, sql[pos + i]);
                pos += mblen - 1;
                continue;
            }
            unsigned char next = at(&st, pos + 1), next2 = at(&st, pos + 2);
            if (!ml_comment && ch == '\\' && in_string != '`' &&
                !(in_string == '"' && (flags & MYL_SQLLEX_ANSI_QUOTES)) &&
                !(in_string && (flags & MYL_SQLLEX_NO_BACKSLASH))) {
                emit(&st, '\\');
                if (pos + 1 < end) emit(&st, sql[++pos]);
                continue;
            }
            if (!ml_comment && !in_string &&
                (ch == '#' || (ch == '-' && next == '-' && (is_space(next2) || !next2 || st.n == 0)))) {
                pos = end; /* to the end of the line */
                break;
            }
            if (!in_string && ch == '/' && next == '*' && !(next2 == '!' || (next2 == 'M' && at(&st, pos + 3) == '!'))) {
                pos++;
                ml_comment = 1;
                continue;
            }
            if (ml_comment && !ss_comment && ch == '*' && next == '/') {
                pos++;
                ml_comment = 0;
                need_space = 1; /* two bytes read, at most one written */
                continue;
            }
            if (!in_string && ch == '/' && next == '*' && next2 == '!')
                ss_comment = 1;
            else if (!in_string && ss_comment && ch == '*' && next == '/')
                ss_comment = 0;
            if (ch == (unsigned char)in_string)
                in_string = 0;
            else if (!ml_comment && !in_string && (ch == '\'' || ch == '"' || ch == '`'))
                in_string = (char)ch;
            if (!ml_comment) {
                if (need_space && !is_space(ch)) emit(&st, ' ');
                need_space = 0;
                emit(&st, (char)ch);
            }
        }
        if (end < len) {
            /* the LF: kept once something is, and outside a C comment */
            if (st.n > 0 && !ml_comment) emit(&st, '\n');
            pos = end + 1;
        }
    }
    while (st.n > 0 && ((unsigned char)out[st.n - 1] <= ' ' || (unsigned char)out[st.n - 1] == 0x7F)) st.n--;
    return st.n;
}
