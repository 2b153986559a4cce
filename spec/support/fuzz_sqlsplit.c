/* libFuzzer target for the script splitter, myl_sqlsplit_next
 * (src/core/sqlsplit.c), the lexer under it, and the comment stripper
 * (src/core/sqlstrip.c).  `make fuzz` builds and
 * runs it.
 *
 * Input: a first byte of flags (bit 0: NO_BACKSLASH_ESCAPES, bits 1-2: the
 * multibyte kind, 0 to 3, as in charset.h), then the
 * script, copied into an exact-size heap buffer.  Checked, with abort() on
 * a violation:
 *   - statements lie inside the text, in order, without overlap, are not
 *     empty and start with no blank, nor end with one unless a string or
 *     comment left open at the end holds it;
 *   - their lines never go back and never pass the text's line count;
 *   - the split ends (0 or -1) within one call per byte, and stays ended;
 *   - an error's message says its line;
 *   - each lexer token from every position is non-empty, inside the text;
 *   - the comment stripper (myl_sql_strip_comments), in every mode, never
 *     writes more than it reads and leaves no blank at the end.
 *
 * With FUZZ_WRITE_SEEDS=DIR in the environment it writes its seed inputs
 * into DIR and exits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/sqllex.h"
#include "../../src/core/sqlsplit.h"
#include "../../src/core/sqlstrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void violated(const char *what)
{
    fprintf(stderr, "fuzz_sqlsplit: property violated: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    int no_backslash = data[0] & 1;
    data++;
    size--;
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    unsigned long lines = 1;
    for (size_t i = 0; i < size; i++)
        if (text[i] == '\n') lines++;

    for (size_t pos = 0; pos < size; pos++) {
        myl_sqltok t;
        for (unsigned flags = 0; flags < 16; flags++) {
            myl_sqllex_next(text, size, pos, flags, (myl_mb_kind)(flags & 3), &t);
            if (t.kind == MYL_SQLTOK_END || t.len == 0 || t.start != pos || t.len > size - pos)
                violated("a token empty or outside the text");
        }
    }

    myl_sqlsplit s;
    myl_sql_statement st;
    myl_sqlsplit_init(&s, text, size, no_backslash);
    s.mb = (myl_mb_kind)((data[-1] >> 1) & 3);
    size_t last_end = 0, calls = 0;
    unsigned long last_line = 1;
    int rc;
    while ((rc = myl_sqlsplit_next(&s, &st)) == 1) {
        if (++calls > size + 1) violated("more statements than bytes");
        if (st.start < last_end || st.len == 0 || st.len > size - st.start) violated("a statement outside the text");
        if (myl_sqllex_is_blank((unsigned char)text[st.start]) ||
            (!st.unterminated && myl_sqllex_is_blank((unsigned char)text[st.start + st.len - 1])))
            violated("a statement not trimmed");
        if (st.line < last_line || st.line > lines) violated("a wrong line");
        last_end = st.start + st.len;
        last_line = st.line;
    }
    if (rc == -1 && strncmp(s.error, "line ", 5) != 0) violated("an error without its line");

    /* the comment stripper, into an exact-size buffer, in every mode */
    char *stripped = malloc(size ? size : 1);
    if (!stripped) return 0;
    for (unsigned flags = 0; flags < 16; flags++) {
        unsigned lex = (flags & 1 ? MYL_SQLLEX_NO_BACKSLASH : 0) | (flags & 2 ? MYL_SQLLEX_ANSI_QUOTES : 0);
        size_t n = myl_sql_strip_comments(text, size, lex, (myl_mb_kind)(flags >> 2), stripped);
        if (n > size) violated("stripping grew the text");
        if (n > 0 && myl_sqllex_is_blank((unsigned char)stripped[n - 1])) violated("a stripped text not trimmed");
    }
    free(stripped);
    if (myl_sqlsplit_next(&s, &st) != rc) violated("the end did not stay the end");
    free(text);
    return 0;
}

static void write_seed(const char *dir, const char *name, char flags, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputc(flags, f);
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    if (!dir || !*dir) return 0;
    write_seed(dir, "plain", 0, "SELECT 'a;b', \"c\\\"\", `d``e`; # x\n-- y\nSELECT /* ; */ 2\r\n;");
    write_seed(dir, "delimiters", 0, "DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\n\\d //\nSELECT 1//");
    write_seed(dir, "exec", 1, "/*M!999999\\- sandbox */\n/*!50003 CREATE*/ /*!50017 DEFINER=x*/ /*!50003 TRIGGER t */;;\nSELECT 'a\\'b\\g\\c\\N");
    write_seed(dir, "errors", 0, "DELIMITER 'x\nDELIMITER\n\\! ls\n'open");
    exit(0);
}
