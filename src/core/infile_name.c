/* The file a statement asks the server to request back: the name in the
 * first LOAD DATA | XML [LOW_PRIORITY | CONCURRENT] LOCAL INFILE 'name' of
 * a query's text, read the way the server's lexer reads it.
 *
 * The scanner reads tokens with sqllex.h, which follows the server's rules
 * on what is code (quotes, comments, executable comments), and statements
 * separated by ';'.  LOAD only counts where a statement starts.  Where it
 * and the server could disagree (a multibyte charset whose second bytes
 * look like a backslash, a character_set_filesystem other than binary),
 * the names differ and the request is refused: the safe way to be wrong.
 *
 * Pure: reads sql[0..len) and writes out[0..cap), nothing else; every
 * index is checked against len, so any input is safe. */
#include "infile.h"
#include "sqllex.h"

typedef struct scan {
    const unsigned char *s;
    size_t len, pos;
    int no_backslash;
    int in_exec_comment; /* inside an executable comment: its end is no code */
} scan;

static int at(const scan *sc, size_t off) { return sc->pos + off < sc->len ? sc->s[sc->pos + off] : -1; }

static unsigned lex_flags(const scan *sc)
{
    return (sc->no_backslash ? MYL_SQLLEX_NO_BACKSLASH : 0u) | (sc->in_exec_comment ? MYL_SQLLEX_IN_EXEC : 0u);
}

/* Skips whitespace and comments; the markers of executable comments are
 * skipped too, their contents are code. */
static void skip_blank(scan *sc)
{
    myl_sqltok tok;
    for (;;) {
        switch (myl_sqllex_next((const char *)sc->s, sc->len, sc->pos, lex_flags(sc), MYL_MB_NONE, &tok)) {
        case MYL_SQLTOK_BLANK:
        case MYL_SQLTOK_LINE_COMMENT:
        case MYL_SQLTOK_BLOCK_COMMENT: break;
        case MYL_SQLTOK_EXEC_OPEN: sc->in_exec_comment = 1; break;
        case MYL_SQLTOK_EXEC_CLOSE: sc->in_exec_comment = 0; break;
        default: return;
        }
        sc->pos += tok.len;
    }
}

/* Skips one token: a quoted string, a word, or one character. */
static void skip_token(scan *sc)
{
    myl_sqltok tok;
    myl_sqllex_next((const char *)sc->s, sc->len, sc->pos, lex_flags(sc), MYL_MB_NONE, &tok);
    sc->pos += tok.len;
}

/* Whether the word at pos is `kw` (upper case, ASCII), case-insensitively;
 * on a match pos moves past it. */
static int keyword(scan *sc, const char *kw)
{
    size_t i = 0;
    for (; kw[i]; i++) {
        int ch = at(sc, i);
        if (ch < 0 || (ch >= 'a' && ch <= 'z' ? ch - 32 : ch) != kw[i]) return 0;
    }
    if (sc->pos + i < sc->len && myl_sqllex_is_word(sc->s[sc->pos + i])) return 0;
    sc->pos += i;
    return 1;
}

/* The unescaped value of the string literal at pos, as the server's lexer
 * reads it, into out.  Returns its length, -1 when there is no complete
 * literal, -2 when it does not fit in cap or holds a NUL byte. */
static long literal(scan *sc, char *out, size_t cap)
{
    int q = at(sc, 0);
    if (q != '\'' && q != '"') return -1;
    sc->pos++;
    size_t n = 0;
    int unfit = 0;
    while (sc->pos < sc->len) {
        unsigned char ch = sc->s[sc->pos++];
        int put[2] = {ch, -1};
        if (ch == (unsigned char)q) {
            if (at(sc, 0) != q) return unfit ? -2 : (long)n;
            sc->pos++;
        } else if (ch == '\\' && !sc->no_backslash) {
            if (sc->pos >= sc->len) return -1;
            unsigned char e = sc->s[sc->pos++];
            switch (e) {
            case '0': put[0] = 0; break;
            case 'b': put[0] = '\b'; break;
            case 'n': put[0] = '\n'; break;
            case 'r': put[0] = '\r'; break;
            case 't': put[0] = '\t'; break;
            case 'Z': put[0] = 032; break;
            case '%':
            case '_': put[1] = e; put[0] = '\\'; break; /* kept, as outside LIKE */
            default: put[0] = e;
            }
        }
        for (int k = 0; k < 2 && put[k] >= 0; k++) {
            if (put[k] == 0 || n >= cap) unfit = 1;
            else out[n++] = (char)put[k];
        }
    }
    return -1;
}

/* At a statement's first word: the file name when the statement is a LOAD
 * ... LOCAL INFILE 'name' (as literal()), else -1 with pos somewhere in it. */
static long load_local(scan *sc, char *out, size_t cap)
{
    if (!keyword(sc, "LOAD")) return -1;
    skip_blank(sc);
    if (!keyword(sc, "DATA") && !keyword(sc, "XML")) return -1;
    skip_blank(sc);
    if (keyword(sc, "LOW_PRIORITY") || keyword(sc, "CONCURRENT")) skip_blank(sc);
    if (!keyword(sc, "LOCAL")) return -1;
    skip_blank(sc);
    if (!keyword(sc, "INFILE")) return -1;
    skip_blank(sc);
    return literal(sc, out, cap);
}

long myl_sql_infile_name(const char *sql, size_t len, int no_backslash, char *out, size_t cap)
{
    scan sc = {(const unsigned char *)sql, sql ? len : 0, 0, no_backslash, 0};
    int statement_start = 1;
    for (;;) {
        skip_blank(&sc);
        if (sc.pos >= sc.len) return -1;
        if (sc.s[sc.pos] == ';') {
            sc.pos++;
            statement_start = 1;
            continue;
        }
        if (statement_start) {
            statement_start = 0;
            size_t start = sc.pos;
            long r = load_local(&sc, out, cap);
            if (r != -1) return r;
            sc.pos = start; /* read the statement token by token from its start */
        }
        skip_token(&sc);
    }
}

int myl_sql_first_keyword(const char *sql, size_t len, const char *kw)
{
    scan sc = {(const unsigned char *)sql, sql ? len : 0, 0, 0, 0};
    skip_blank(&sc);
    return keyword(&sc, kw);
}
