/* A script split into statements as the command-line client does it (see
 * sqlsplit.h); tokens come from sqllex.h. */
#include "sqlsplit.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sqllex.h"

void myl_sqlsplit_init(myl_sqlsplit *s, const char *text, size_t len, int no_backslash)
{
    memset(s, 0, sizeof *s);
    s->text = text;
    s->len = text ? len : 0;
    s->lex_flags = no_backslash ? MYL_SQLLEX_NO_BACKSLASH : 0u;
    s->mb = MYL_MB_NONE;
    s->line = 1;
    s->delimiter[0] = ';';
    s->delimiter_len = 1;
}

static int failed(myl_sqlsplit *s, unsigned long line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(s->error, sizeof s->error, "line %lu: ", line);
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof s->error) vsnprintf(s->error + n, sizeof s->error - (size_t)n, fmt, ap);
    va_end(ap);
    s->failed = 1;
    return -1;
}

/* Moves pos to `to`, counting the lines passed. */
static void advance(myl_sqlsplit *s, size_t to)
{
    if (to > s->len) to = s->len;
    for (; s->pos < to; s->pos++)
        if (s->text[s->pos] == '\n') s->line++;
}

static int delimiter_at(const myl_sqlsplit *s, size_t pos)
{
    return s->len - pos >= s->delimiter_len && memcmp(s->text + pos, s->delimiter, s->delimiter_len) == 0;
}

static int is_line_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r'; }

/* The delimiter command whose argument may start at `from` (after
 * DELIMITER or \d): reads its first argument as the client's get_arg does,
 * makes it the delimiter, and moves past the line.  0, or -1. */
static int delimiter_command(myl_sqlsplit *s, size_t from)
{
    unsigned long line = s->line;
    size_t eol = from;
    while (eol < s->len && s->text[eol] != '\n') eol++;
    size_t i = from;
    while (i < eol && is_line_blank(s->text[i])) i++;
    char q = 0;
    if (i < eol && (s->text[i] == '\'' || s->text[i] == '"' || s->text[i] == '`')) q = s->text[i++];
    char value[MYL_SQLSPLIT_MAX_DELIMITER + 1];
    size_t n = 0;
    int closed = !q, too_long = 0, backslash = 0;
    while (i < eol) {
        char ch = s->text[i];
        if (q ? ch == q && !(i + 1 < eol && s->text[i + 1] == q) : is_line_blank(ch)) {
            closed = 1;
            break;
        }
        if ((ch == '\\' || (q && ch == q)) && i + 1 < eol) ch = s->text[++i]; /* taken as is */
        if (ch == '\\') backslash = 1;
        if (n < MYL_SQLSPLIT_MAX_DELIMITER) value[n++] = ch;
        else too_long = 1;
        i++;
    }
    if (!closed || n == 0) return failed(s, line, "DELIMITER must be followed by a delimiter");
    if (backslash) return failed(s, line, "DELIMITER cannot contain a backslash");
    if (too_long) return failed(s, line, "DELIMITER longer than %d bytes", MYL_SQLSPLIT_MAX_DELIMITER);
    memcpy(s->delimiter, value, n);
    s->delimiter[n] = '\0';
    s->delimiter_len = n;
    advance(s, eol < s->len ? eol + 1 : eol);
    return 0;
}

/* The client's one-letter commands that act outside SQL. */
static int is_client_command(char ch)
{
    return ch && strchr("h?rdeqntPpR#.s!TuCWw", ch) != NULL;
}

static int is_word_delimiter(const myl_sqltok *t, const char *text)
{
    static const char kw[] = "DELIMITER";
    if (t->len != sizeof kw - 1) return 0;
    for (size_t i = 0; i < t->len; i++) {
        char ch = text[t->start + i];
        if ((ch >= 'a' && ch <= 'z' ? ch - 32 : ch) != kw[i]) return 0;
    }
    return 1;
}

int myl_sqlsplit_next(myl_sqlsplit *s, myl_sql_statement *out)
{
    if (s->failed) return -1;
    int code = 0; /* a statement has begun: its first code was seen */
    size_t end = 0;
    memset(out, 0, sizeof *out);
    for (;;) {
        if (s->pos >= s->len || delimiter_at(s, s->pos)) {
            int at_end = s->pos >= s->len;
            advance(s, s->pos + s->delimiter_len);
            if (code) {
                out->len = end - out->start;
                return 1;
            }
            if (at_end) return 0;
            continue; /* nothing between two delimiters */
        }
        myl_sqltok t;
        myl_sqllex_next(s->text, s->len, s->pos, s->lex_flags, s->mb, &t);
        size_t tok_end = t.start + t.len;
        switch (t.kind) {
        case MYL_SQLTOK_BLANK:
            advance(s, tok_end);
            continue; /* a delimiter holds no blank: none starts inside */
        case MYL_SQLTOK_LINE_COMMENT:
        case MYL_SQLTOK_BLOCK_COMMENT:
            advance(s, tok_end);
            if (code) {
                end = tok_end;
                if (t.kind == MYL_SQLTOK_LINE_COMMENT) /* its trailing blanks, a CR of CR LF */
                    while (myl_sqllex_is_blank((unsigned char)s->text[end - 1])) end--;
                if (t.unterminated) out->unterminated = 1;
            }
            continue;
        case MYL_SQLTOK_EXEC_OPEN: s->lex_flags |= MYL_SQLLEX_IN_EXEC; break;
        case MYL_SQLTOK_EXEC_CLOSE: s->lex_flags &= ~MYL_SQLLEX_IN_EXEC; break;
        case MYL_SQLTOK_WORD:
            /* the delimiter may start inside a word: END$$ */
            for (size_t i = t.start + 1; i < tok_end; i++)
                if (delimiter_at(s, i)) {
                    tok_end = i;
                    t.len = i - t.start;
                    break;
                }
            if (!code && is_word_delimiter(&t, s->text) &&
                (tok_end >= s->len || myl_sqllex_is_blank((unsigned char)s->text[tok_end]))) {
                if (delimiter_command(s, tok_end)) return -1;
                continue;
            }
            break;
        case MYL_SQLTOK_OTHER:
            if (s->text[t.start] == '\\' && tok_end < s->len) {
                char cmd = s->text[tok_end];
                if (cmd == 'g' || cmd == 'G') { /* go: the statement ends here */
                    advance(s, tok_end + 1);
                    if (code) {
                        out->len = end - out->start;
                        return 1;
                    }
                    continue;
                }
                if (cmd == 'c') { /* clear: what came before is dropped */
                    advance(s, tok_end + 1);
                    code = 0;
                    out->unterminated = 0;
                    continue;
                }
                if (cmd == 'd') {
                    if (code) return failed(s, s->line, "\\d (DELIMITER) in the middle of a statement");
                    if (delimiter_command(s, tok_end + 1)) return -1;
                    continue;
                }
                if (is_client_command(cmd))
                    return failed(s, s->line, "the client command \\%c cannot run in a script", cmd);
                /* \N, \-, \x: both kept, the second byte no delimiter (a blank
                 * is none anyway, and may be trimmed) */
                if (!myl_sqllex_is_blank((unsigned char)cmd)) tok_end++;
            }
            break;
        default: /* strings, identifiers */
            if (t.unterminated) out->unterminated = 1;
            break;
        }
        if (!code) {
            code = 1;
            out->start = t.start;
            out->line = s->line;
        }
        end = tok_end;
        advance(s, tok_end);
    }
}
