/* The SQL lexer of the core (see sqllex.h). */
#include "sqllex.h"

int myl_sqllex_is_blank(unsigned char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Bytes >= 0x80 are parts of multibyte letters. */
int myl_sqllex_is_word(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '$' || ch >= 0x80;
}

/* The byte at i, or -1 past the end. */
static int at(const unsigned char *s, size_t len, size_t i) { return i < len ? s[i] : -1; }

/* The length of the two-byte character at pos, or 0. */
static size_t mb_at(const unsigned char *s, size_t len, size_t pos, myl_mb_kind mb)
{
    return mb != MYL_MB_NONE && s[pos] >= 0x80 ? myl_mb_charlen((const char *)s + pos, len - pos, mb) : 0;
}

/* The end of the quoted string or identifier whose quote is at pos. */
static size_t quoted_end(const unsigned char *s, size_t len, size_t pos, unsigned flags, myl_mb_kind mb,
                         int *unterminated)
{
    unsigned char q = s[pos++];
    int escapes = q != '`' && !(flags & MYL_SQLLEX_NO_BACKSLASH) && !(q == '"' && (flags & MYL_SQLLEX_ANSI_QUOTES));
    while (pos < len) {
        size_t l = mb_at(s, len, pos, mb);
        if (l) {
            pos += l;
            continue;
        }
        unsigned char ch = s[pos++];
        if (ch == '\\' && escapes) {
            if (pos < len) pos++;
        } else if (ch == q) {
            if (at(s, len, pos) != q) return pos;
            pos++; /* a doubled quote stands for one */
        }
    }
    *unterminated = 1;
    return len;
}

/* Whether "--" before c (-1: the end) starts a comment: before a blank, a
 * control character (DEL too) or the end; "--1" is minus minus one. */
static int dash_comment(int c, unsigned flags)
{
    return c <= ' ' || c == 0x7F || (c >= 0x80 && (flags & MYL_SQLLEX_DASH_HIGH));
}

myl_sqltok_kind myl_sqllex_next(const char *sql, size_t len, size_t pos, unsigned flags, myl_mb_kind mb,
                                myl_sqltok *tok)
{
    const unsigned char *s = (const unsigned char *)sql;
    if (!s) len = 0;
    tok->start = pos;
    tok->unterminated = 0;
    size_t end = pos;
    int ch = at(s, len, pos);
    myl_sqltok_kind kind;
    if (ch < 0) {
        kind = MYL_SQLTOK_END;
    } else if (myl_sqllex_is_blank((unsigned char)ch)) {
        while (end < len && myl_sqllex_is_blank(s[end])) end++;
        kind = MYL_SQLTOK_BLANK;
    } else if (ch == '#' || (ch == '-' && at(s, len, pos + 1) == '-' && dash_comment(at(s, len, pos + 2), flags))) {
        while (end < len && s[end] != '\n') end++;
        kind = MYL_SQLTOK_LINE_COMMENT;
    } else if (ch == '/' && at(s, len, pos + 1) == '*') {
        int c2 = at(s, len, pos + 2);
        if (c2 == '!' || (c2 == 'M' && at(s, len, pos + 3) == '!')) {
            end = pos + (c2 == '!' ? 3 : 4);
            while (end < len && s[end] >= '0' && s[end] <= '9') end++; /* the version it needs */
            kind = MYL_SQLTOK_EXEC_OPEN;
        } else {
            end = pos + 2;
            while (end < len && !(s[end] == '*' && at(s, len, end + 1) == '/')) end++;
            if (end < len) end += 2;
            else tok->unterminated = 1;
            kind = MYL_SQLTOK_BLOCK_COMMENT;
        }
    } else if ((flags & MYL_SQLLEX_IN_EXEC) && ch == '*' && at(s, len, pos + 1) == '/') {
        end = pos + 2;
        kind = MYL_SQLTOK_EXEC_CLOSE;
    } else if (ch == '\'' || ch == '"' || ch == '`') {
        end = quoted_end(s, len, pos, flags, mb, &tok->unterminated);
        kind = ch == '`' ? MYL_SQLTOK_IDENT : MYL_SQLTOK_STRING;
    } else if (myl_sqllex_is_word((unsigned char)ch)) {
        while (end < len) {
            size_t l = mb_at(s, len, end, mb);
            if (l) end += l;
            else if (myl_sqllex_is_word(s[end])) end++;
            else break;
        }
        kind = MYL_SQLTOK_WORD;
    } else {
        end = pos + 1;
        kind = MYL_SQLTOK_OTHER;
    }
    tok->kind = kind;
    tok->len = end - pos;
    return kind;
}
