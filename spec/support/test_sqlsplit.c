/* The script splitter (src/core/sqlsplit.c) and the lexer under it, over
 * literal scripts: each case lists the statements a script splits into as
 * "LINE:TEXT|" (TEXT! when left unterminated), or the error it stops with,
 * "LINE:TEXT|error: MESSAGE".  Every script is also split at each of its
 * prefixes, in an exact-size heap copy, so that ASan sees a read past the
 * end (spec/06-sqlsplit_spec.lua runs it).
 *
 * Prints one line per case, "ok NAME" or "not ok NAME: what differed", and
 * exits 0 only when every case is ok. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/sqllex.h"
#include "../../src/core/sqlsplit.h"
#include "../../src/core/sqlstrip.h"

#include "cases.h"

/* The statements of text[0..len) as "LINE:TEXT|", into out. */
static void render(const char *text, size_t len, int no_backslash, char *out, size_t cap)
{
    myl_sqlsplit s;
    myl_sql_statement st;
    size_t n = 0;
    int rc;
    out[0] = '\0';
    myl_sqlsplit_init(&s, text, len, no_backslash);
    unsigned long last_line = 0;
    size_t last_end = 0;
    while ((rc = myl_sqlsplit_next(&s, &st)) == 1) {
        if (st.start < last_end || st.start + st.len > len || st.len == 0 || st.line < last_line) {
            snprintf(out, cap, "bad statement at %zu+%zu line %lu", st.start, st.len, st.line);
            return;
        }
        last_end = st.start + st.len;
        last_line = st.line;
        int w = snprintf(out + n, cap - n, "%lu:%.*s%s|", st.line, (int)st.len, text + st.start,
                         st.unterminated ? "!" : "");
        if (w < 0 || (size_t)w >= cap - n) return;
        n += (size_t)w;
    }
    if (rc < 0) snprintf(out + n, cap - n, "error: %s", s.error);
    if (myl_sqlsplit_next(&s, &st) != rc) snprintf(out, cap, "the end did not stay the end");
}

static int splits_nb(const char *sql, int no_backslash, const char *want)
{
    static char got[8192];
    size_t len = strlen(sql);
    for (size_t cut = 0; cut <= len; cut++) {
        char *copy = malloc(cut ? cut : 1);
        if (!copy) exit(2);
        memcpy(copy, sql, cut);
        render(copy, cut, no_backslash, got, sizeof got);
        free(copy);
        if (strncmp(got, "bad statement", 13) == 0 || strncmp(got, "the end", 7) == 0)
            return fail("prefix %zu of \"%s\": %s", cut, sql, got);
    }
    if (strcmp(got, want) != 0) return fail("\"%s\"\n  gave \"%s\"\n  want \"%s\"", sql, got, want);
    return 1;
}

static int splits(const char *sql, const char *want) { return splits_nb(sql, 0, want); }

/* ---- the lexer ----------------------------------------------------------- */

static int token_is(const char *sql, unsigned flags, myl_sqltok_kind kind, size_t len, int unterminated)
{
    myl_sqltok t;
    myl_sqllex_next(sql, strlen(sql), 0, flags, MYL_MB_NONE, &t);
    if (t.kind != kind || t.len != len || t.unterminated != unterminated)
        return fail("\"%s\": kind %d len %zu unterminated %d, want %d %zu %d", sql, (int)t.kind, t.len,
                    t.unterminated, (int)kind, len, unterminated);
    return 1;
}

static int case_lexer_tokens(void)
{
    return token_is("", 0, MYL_SQLTOK_END, 0, 0) && token_is(" \t\r\nx", 0, MYL_SQLTOK_BLANK, 4, 0) &&
           token_is("# c\nx", 0, MYL_SQLTOK_LINE_COMMENT, 3, 0) &&
           token_is("-- c\nx", 0, MYL_SQLTOK_LINE_COMMENT, 4, 0) &&
           token_is("--", 0, MYL_SQLTOK_LINE_COMMENT, 2, 0) && token_is("--1", 0, MYL_SQLTOK_OTHER, 1, 0) &&
           token_is("--\x7f;\n", 0, MYL_SQLTOK_LINE_COMMENT, 4, 0) &&
           token_is("--\x01;\n", 0, MYL_SQLTOK_LINE_COMMENT, 4, 0) &&
           token_is("--\xc3\xa9", 0, MYL_SQLTOK_OTHER, 1, 0) &&
           token_is("/* a */x", 0, MYL_SQLTOK_BLOCK_COMMENT, 7, 0) &&
           token_is("/* a *", 0, MYL_SQLTOK_BLOCK_COMMENT, 6, 1) &&
           token_is("/*!50003 x", 0, MYL_SQLTOK_EXEC_OPEN, 8, 0) &&
           token_is("/*M!100100x", 0, MYL_SQLTOK_EXEC_OPEN, 10, 0) &&
           token_is("/*!x", 0, MYL_SQLTOK_EXEC_OPEN, 3, 0) &&
           token_is("*/", MYL_SQLLEX_IN_EXEC, MYL_SQLTOK_EXEC_CLOSE, 2, 0) &&
           token_is("*/", 0, MYL_SQLTOK_OTHER, 1, 0) &&
           token_is("'a\\'b' x", 0, MYL_SQLTOK_STRING, 6, 0) &&
           token_is("'a\\'b' x'", MYL_SQLLEX_NO_BACKSLASH, MYL_SQLTOK_STRING, 4, 0) &&
           token_is("'a''b' x", 0, MYL_SQLTOK_STRING, 6, 0) &&
           token_is("\"a\\\"b\"", 0, MYL_SQLTOK_STRING, 6, 0) &&
           token_is("`a\\`b", 0, MYL_SQLTOK_IDENT, 4, 0) && token_is("`a``b`", 0, MYL_SQLTOK_IDENT, 6, 0) &&
           token_is("'abc", 0, MYL_SQLTOK_STRING, 4, 1) && token_is("'abc\\", 0, MYL_SQLTOK_STRING, 5, 1) &&
           token_is("ab_$9\xc3\xa9(", 0, MYL_SQLTOK_WORD, 7, 0) && token_is("(", 0, MYL_SQLTOK_OTHER, 1, 0);
}

static int case_lexer_null(void)
{
    myl_sqltok t;
    if (myl_sqllex_next(NULL, 5, 0, 0, MYL_MB_NONE, &t) != MYL_SQLTOK_END) return fail("NULL text gave a token");
    if (myl_sqllex_next("abc", 3, 7, 0, MYL_MB_NONE, &t) != MYL_SQLTOK_END || t.len) return fail("pos past end gave a token");
    return 1;
}

/* Two-byte characters: a trail byte like a backslash or a backtick is
 * none. */
static int case_lexer_multibyte(void)
{
    static const char gbk_string[] = "'\x81\\' x";
    static const char gbk_word[] = "\x81`x` y";
    myl_sqltok t;
    myl_sqllex_next(gbk_string, strlen(gbk_string), 0, 0, MYL_MB_GBK, &t);
    if (t.kind != MYL_SQLTOK_STRING || t.len != 4 || t.unterminated) return fail("gbk string: len %zu", t.len);
    myl_sqllex_next(gbk_string, strlen(gbk_string), 0, 0, MYL_MB_NONE, &t);
    if (!t.unterminated) return fail("byte by byte, the backslash should escape the quote");
    myl_sqllex_next(gbk_word, strlen(gbk_word), 0, 0, MYL_MB_GBK, &t);
    if (t.kind != MYL_SQLTOK_WORD || t.len != 3) return fail("gbk word: kind %d len %zu", (int)t.kind, t.len);
    myl_sqllex_next(gbk_word, strlen(gbk_word), 0, 0, MYL_MB_NONE, &t);
    if (t.kind != MYL_SQLTOK_WORD || t.len != 1) return fail("byte by byte word: len %zu", t.len);
    /* a lone lead byte at the end */
    myl_sqllex_next("'\x81", 2, 0, 0, MYL_MB_SJIS, &t);
    if (t.len != 2 || !t.unterminated) return fail("lone lead byte: len %zu", t.len);
    myl_sqlsplit s;
    myl_sql_statement st;
    static const char script[] = "SELECT '\x81\\'; SELECT 2";
    myl_sqlsplit_init(&s, script, strlen(script), 0);
    s.mb = MYL_MB_GBK;
    if (myl_sqlsplit_next(&s, &st) != 1 || st.len != 11) return fail("gbk split: first len %zu", st.len);
    if (myl_sqlsplit_next(&s, &st) != 1 || st.len != 8) return fail("gbk split: second len %zu", st.len);
    return 1;
}

static int case_lexer_modes(void)
{
    return token_is("\"a\\\"b\" x", MYL_SQLLEX_ANSI_QUOTES, MYL_SQLTOK_STRING, 4, 0) &&
           token_is("'a\\'b' x", MYL_SQLLEX_ANSI_QUOTES, MYL_SQLTOK_STRING, 6, 0) &&
           token_is("--\xc3\xa9\n", MYL_SQLLEX_DASH_HIGH, MYL_SQLTOK_LINE_COMMENT, 4, 0);
}

/* ---- the splitter ------------------------------------------------------------ */

static int case_plain(void)
{
    return splits("SELECT 1; SELECT 2;", "1:SELECT 1|1:SELECT 2|") &&
           splits("  SELECT 1  ;\n\n  SELECT\n 2  \n", "1:SELECT 1|3:SELECT\n 2|") &&
           splits("", "") && splits(" \n ", "") && splits(";;; ;\n;", "") &&
           splits("SELECT 1;;SELECT 2", "1:SELECT 1|1:SELECT 2|");
}

static int case_quotes(void)
{
    return splits("SELECT 'a;b'; SELECT \"c;d\"; SELECT `e;f`;",
                  "1:SELECT 'a;b'|1:SELECT \"c;d\"|1:SELECT `e;f`|") &&
           splits("SELECT 'it\\'s;'; SELECT 'it''s;';", "1:SELECT 'it\\'s;'|1:SELECT 'it''s;'|") &&
           splits("SELECT \"a\\\";\"; SELECT `x\\`;", "1:SELECT \"a\\\";\"|1:SELECT `x\\`|");
}

static int case_no_backslash_escapes(void)
{
    return splits_nb("SELECT 'a\\'; SELECT 'b';", 1, "1:SELECT 'a\\'|1:SELECT 'b'|") &&
           splits("SELECT 'a\\'; SELECT 'b';", "1:SELECT 'a\\'; SELECT 'b';!|") &&
           splits_nb("SELECT 'it''s;';", 1, "1:SELECT 'it''s;'|");
}

static int case_comments(void)
{
    return splits("SELECT 1 # x; y\n; SELECT 2 -- a; b\n;", "1:SELECT 1 # x; y|2:SELECT 2 -- a; b|") &&
           splits("SELECT /* ; */ 1; /* only a comment; */ ; SELECT 2;", "1:SELECT /* ; */ 1|1:SELECT 2|") &&
           splits("-- header\n-- more\n\nSELECT 1;\n-- done\n", "4:SELECT 1|") &&
           splits("SELECT 1--1;", "1:SELECT 1--1|");
}

static int case_executable_comments(void)
{
    return splits("/*!40101 SET @a=1 */;\n/*M!100100 SET @b=2 */;",
                  "1:/*!40101 SET @a=1 */|2:/*M!100100 SET @b=2 */|") &&
           /* as the client: a delimiter inside one ends the statement */
           splits("/*!50003 SET @a=1; SET @b=2 */;", "1:/*!50003 SET @a=1|1:SET @b=2 */|") &&
           splits("/*!50003 SELECT '*/;' */;", "1:/*!50003 SELECT '*/;' */|");
}

static int case_delimiters(void)
{
    return splits("DELIMITER $$\nSELECT 1; SELECT 2$$\nDELIMITER ;\nSELECT 3;",
                  "2:SELECT 1; SELECT 2|4:SELECT 3|") &&
           splits("delimiter //\nSELECT 1//SELECT 2 //\nDeLiMiTeR ;\nSELECT 3",
                  "2:SELECT 1|2:SELECT 2|4:SELECT 3|") &&
           splits("DELIMITER ;;\nSELECT 1;SELECT 2;;\nDELIMITER ;\nSELECT 3;",
                  "2:SELECT 1;SELECT 2|4:SELECT 3|") &&
           splits("DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\n",
                  "2:CREATE PROCEDURE p() BEGIN SELECT 1; END|") &&
           splits("DELIMITER 'a b' rest ignored\nSELECT 1a b", "2:SELECT 1|") &&
           splits("DELIMITER \\$\nSELECT 1$", "2:SELECT 1|") &&
           splits("\\d //\nSELECT 1//", "2:SELECT 1|") &&
           splits("SELECT 'DELIMITER $$';\n/* DELIMITER $$ */ SELECT 2;", "1:SELECT 'DELIMITER $$'|2:SELECT 2|") &&
           splits("SELECT 1 DELIMITER $$;", "1:SELECT 1 DELIMITER $$|") &&
           splits("DELIMITER;", "1:DELIMITER|") && splits("DELIMITER $$", "");
}

static int case_delimiter_errors(void)
{
    return splits("SELECT 1;\nDELIMITER\nSELECT 2;", "1:SELECT 1|error: line 2: DELIMITER must be followed by a delimiter") &&
           splits("DELIMITER   \r\n", "error: line 1: DELIMITER must be followed by a delimiter") &&
           splits("DELIMITER 'ab\n", "error: line 1: DELIMITER must be followed by a delimiter") &&
           splits("DELIMITER ''\n", "error: line 1: DELIMITER must be followed by a delimiter") &&
           splits("DELIMITER a\\\\b\n", "error: line 1: DELIMITER cannot contain a backslash") &&
           splits("DELIMITER 0123456789abcdef\n", "error: line 1: DELIMITER longer than 15 bytes") &&
           splits("DELIMITER 0123456789abcde\nSELECT 1", "2:SELECT 1|");
}

static int case_trigger_body(void)
{
    return splits("DELIMITER ;;\n"
                  "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t_bi BEFORE INSERT ON t\n"
                  "FOR EACH ROW BEGIN\n  SET NEW.a = 1;\n  SET NEW.b = ';;';\nEND */;;\n"
                  "DELIMITER ;\n",
                  "2:/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t_bi BEFORE INSERT ON t\n"
                  "FOR EACH ROW BEGIN\n  SET NEW.a = 1;\n  SET NEW.b = ';;';\nEND */|");
}

static int case_crlf(void)
{
    return splits("SELECT 1;\r\nSELECT\r\n 2;\r\nDELIMITER $$\r\nSELECT 3$$\r\n", "1:SELECT 1|2:SELECT\r\n 2|5:SELECT 3|") &&
           splits("-- c\r\nSELECT 1 -- d\r\n;", "2:SELECT 1 -- d|");
}

static int case_last_without_delimiter(void)
{
    return splits("SELECT 1;\nSELECT 2\n\n", "1:SELECT 1|2:SELECT 2|") && splits("SELECT 1", "1:SELECT 1|");
}

static int case_unterminated(void)
{
    return splits("SELECT 1; SELECT 'a;\nb", "1:SELECT 1|1:SELECT 'a;\nb!|") &&
           splits("SELECT `a;", "1:SELECT `a;!|") && splits("SELECT 1 /* a;", "1:SELECT 1 /* a;!|") &&
           splits("/* only a comment;", "") && splits("SELECT 'a\\", "1:SELECT 'a\\!|");
}

static int case_delimiter_in_word(void)
{
    return splits("DELIMITER $$\nBEGIN END$$ SELECT a$$b$$", "2:BEGIN END|2:SELECT a|2:b|") &&
           splits("DELIMITER go\nSELECT 1 go SELECT ago", "2:SELECT 1|2:SELECT a|");
}

static int case_backslash_commands(void)
{
    return splits("SELECT 1\\g SELECT 2\\G SELECT 3", "1:SELECT 1|1:SELECT 2|1:SELECT 3|") &&
           splits("SELECT oops \\c SELECT 1;", "1:SELECT 1|") &&
           splits("SELECT \\N, '\\g';", "1:SELECT \\N, '\\g'|") &&
           splits("/*M!999999\\- enable the sandbox mode */\n-- dump\n/*!40101 SET @a=1 */;",
                  "1:/*M!999999\\- enable the sandbox mode */\n-- dump\n/*!40101 SET @a=1 */|") &&
           splits("SELECT 1 \\; SELECT 2;", "1:SELECT 1 \\; SELECT 2|") &&
           splits("SELECT 1;\n\\. /etc/x.sql\n", "1:SELECT 1|error: line 2: the client command \\. cannot run in a script") &&
           splits("\\! rm -rf /\n", "error: line 1: the client command \\! cannot run in a script") &&
           splits("SELECT 1 \\d $$", "error: line 1: \\d (DELIMITER) in the middle of a statement") &&
           splits("SELECT 1 # \\! x\n;", "1:SELECT 1 # \\! x|") && splits("SELECT 1\\", "1:SELECT 1\\|");
}

static int case_use_is_sql(void)
{
    return splits("USE `db`;\nUSE db2;", "1:USE `db`|2:USE db2|");
}

/* The shape mariadb-dump --routines --triggers writes. */
static int case_dump(void)
{
    static const char dump[] =
        "/*M!999999\\- enable the sandbox mode */ \n"
        "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n"
        "--\n-- Host: localhost    Database: d\n"
        "-- ------------------------------------------------------\n\n"
        "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n"
        "/*!40101 SET NAMES utf8mb4 */;\n"
        "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n\n"
        "--\n-- Table structure for table `t`\n--\n\n"
        "DROP TABLE IF EXISTS `t`;\n"
        "/*!40101 SET @saved_cs_client     = @@character_set_client */;\n"
        "CREATE TABLE `t` (\n  `a` int(11) DEFAULT NULL,\n  `b` varchar(10) DEFAULT 'x;y'\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\n"
        "LOCK TABLES `t` WRITE;\n/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n"
        "INSERT INTO `t` VALUES (1,'it\\'s; \\\\'),(2,'a\\nb');\n"
        "/*!40000 ALTER TABLE `t` ENABLE KEYS */;\nUNLOCK TABLES;\n"
        "/*!50003 SET @saved_cs_client      = @@character_set_client */ ;\n"
        "DELIMITER ;;\n"
        "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `t_bi` BEFORE INSERT ON `t` "
        "FOR EACH ROW BEGIN\n  SET NEW.b = CONCAT(NEW.b, ';');\nEND */;;\n"
        "DELIMITER ;\n"
        "/*!50003 SET character_set_client  = @saved_cs_client */ ;\n"
        "/*!50003 DROP PROCEDURE IF EXISTS `p` */;\n"
        "DELIMITER ;;\n"
        "CREATE DEFINER=`root`@`localhost` PROCEDURE `p`()\nBEGIN\n  SELECT 1;\n  SELECT ';;' ;\nEND ;;\n"
        "DELIMITER ;\n"
        "/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n\n"
        "-- Dump completed on 2024-01-01 00:00:00\n";
    return splits(dump,
                  "1:/*M!999999\\- enable the sandbox mode */ \n"
                  "-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB\n"
                  "--\n-- Host: localhost    Database: d\n"
                  "-- ------------------------------------------------------\n\n"
                  "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */|"
                  "8:/*!40101 SET NAMES utf8mb4 */|"
                  "9:/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */|"
                  "15:DROP TABLE IF EXISTS `t`|"
                  "16:/*!40101 SET @saved_cs_client     = @@character_set_client */|"
                  "17:CREATE TABLE `t` (\n  `a` int(11) DEFAULT NULL,\n  `b` varchar(10) DEFAULT 'x;y'\n"
                  ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4|"
                  "22:LOCK TABLES `t` WRITE|23:/*!40000 ALTER TABLE `t` DISABLE KEYS */|"
                  "24:INSERT INTO `t` VALUES (1,'it\\'s; \\\\'),(2,'a\\nb')|"
                  "25:/*!40000 ALTER TABLE `t` ENABLE KEYS */|26:UNLOCK TABLES|"
                  "27:/*!50003 SET @saved_cs_client      = @@character_set_client */|"
                  "29:/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `t_bi` BEFORE INSERT ON `t` "
                  "FOR EACH ROW BEGIN\n  SET NEW.b = CONCAT(NEW.b, ';');\nEND */|"
                  "33:/*!50003 SET character_set_client  = @saved_cs_client */|"
                  "34:/*!50003 DROP PROCEDURE IF EXISTS `p` */|"
                  "36:CREATE DEFINER=`root`@`localhost` PROCEDURE `p`()\nBEGIN\n  SELECT 1;\n  SELECT ';;' ;\nEND|"
                  "42:/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */|");
}

static int case_null_text(void)
{
    myl_sqlsplit s;
    myl_sql_statement st;
    myl_sqlsplit_init(&s, NULL, 10, 0);
    return myl_sqlsplit_next(&s, &st) == 0 ? 1 : fail("NULL text gave a statement");
}

/* ---- comments deleted as the client does by default ------------------- */

/* sql stripped is want; each prefix of sql is stripped from an exact-size
 * heap copy (for ASan) and never grows. */
static int strips_flags(const char *sql, unsigned flags, myl_mb_kind mb, const char *want)
{
    size_t len = strlen(sql);
    for (size_t cut = 0; cut <= len; cut++) {
        char *copy = malloc(cut ? cut : 1), *out = malloc(cut ? cut : 1);
        if (!copy || !out) exit(2);
        memcpy(copy, sql, cut);
        size_t n = myl_sql_strip_comments(copy, cut, flags, mb, out);
        int same = cut == len && n == strlen(want) && memcmp(out, want, n) == 0;
        char got[4096];
        snprintf(got, sizeof got, "%.*s", (int)n, out);
        free(copy);
        free(out);
        if (n > cut) return fail("prefix %zu of \"%s\" grew to %zu bytes", cut, sql, n);
        if (cut == len && !same) return fail("\"%s\"\n  gave \"%s\"\n  want \"%s\"", sql, got, want);
    }
    return 1;
}

static int strips(const char *sql, const char *want) { return strips_flags(sql, 0, MYL_MB_NONE, want); }

static int case_strip_line_comments(void)
{
    return strips("SELECT 1 # one\n, 2 -- two\n, 3", "SELECT 1 \n, 2 \n, 3") &&
           strips("SELECT 1 -- end", "SELECT 1") &&
           strips("SELECT 1 --\n+ 2", "SELECT 1 \n+ 2") &&        /* "--" at the line's end */
           strips("SELECT 1 --\t2\n", "SELECT 1") &&
           strips("SELECT 5 --1", "SELECT 5 --1") &&              /* not a comment: minus minus one */
           strips("SELECT 1#x\n", "SELECT 1") &&
           strips("--- a note\n--x\n  SELECT 1", "SELECT 1") &&  /* "--" first: a comment to the client */
           strips("--- only", "");
}

static int case_strip_body(void)
{
    return strips("CREATE PROCEDURE p()\nBEGIN\n  -- a note; here\n  SELECT 1; # done\nEND",
                  "CREATE PROCEDURE p()\nBEGIN\n  \n  SELECT 1; \nEND") &&
           strips("BEGIN\n\t# only a comment\nEND", "BEGIN\n\t\nEND");
}

static int case_strip_c_comments(void)
{
    return strips("SELECT /* a */1", "SELECT  1") &&               /* the space the client adds */
           strips("SELECT /* a */ 1", "SELECT  1") &&
           strips("SELECT 1/* a */+2", "SELECT 1 +2") &&
           strips("SELECT 1 /* a\nb\n*/+ 2\n, 3", "SELECT 1  + 2\n, 3") && /* its line ends go */
           strips("SELECT 1 /* a\n*/\n, 2", "SELECT 1 \n, 2") &&  /* no space at the line's end */
           strips("SELECT 1 /*/ 2 */ + 3", "SELECT 1  + 3") &&
           strips("SELECT 1 /* never closed\n; 2", "SELECT 1") &&
           strips("SELECT 1 /* x */\xc3\xa9", "SELECT 1 \xc3\xa9"); /* a UTF-8 character takes no space */
}

static int case_strip_executable(void)
{
    return strips("/*!40101 SET @a = 1 */", "/*!40101 SET @a = 1 */") &&
           strips("/*M!100100 SELECT 1 */ -- x", "/*M!100100 SELECT 1 */") &&
           strips("/*!50003 CREATE */ /* a */ /*!50017 DEFINER=x */", "/*!50003 CREATE */  /*!50017 DEFINER=x */") &&
           strips("/*!50001 SELECT 1 # x\n*/", "/*!50001 SELECT 1 \n*/");
}

static int case_strip_strings(void)
{
    return strips("SELECT '# no', \"-- no\", `/* no */`", "SELECT '# no', \"-- no\", `/* no */`") &&
           strips("SELECT 'a\n-- in\n' -- out", "SELECT 'a\n-- in\n'") &&
           strips("SELECT 'it\\'s # in' # out", "SELECT 'it\\'s # in'") &&
           strips("SELECT 'it''s # in' # out", "SELECT 'it''s # in'") &&
           strips("SELECT `a\\` # out", "SELECT `a\\`") &&           /* no escape in `...` */
           strips_flags("SELECT 'a\\' # out", MYL_SQLLEX_NO_BACKSLASH, MYL_MB_NONE, "SELECT 'a\\'") &&
           strips_flags("SELECT \"a\\\" # out", MYL_SQLLEX_ANSI_QUOTES, MYL_MB_NONE, "SELECT \"a\\\"") &&
           /* a gbk character whose trail byte is a backslash escapes nothing */
           strips_flags("SELECT '\x95\\' # out", 0, MYL_MB_GBK, "SELECT '\x95\\'");
}

static int case_strip_null(void)
{
    char out[4];
    return myl_sql_strip_comments(NULL, 10, 0, MYL_MB_NONE, out) == 0 &&
           myl_sql_strip_comments("ab", 2, 0, MYL_MB_NONE, NULL) == 0 ? 1 : fail("NULL gave bytes");
}

int main(void)
{
    run("lexer: each token kind, its extent, unterminated ones", case_lexer_tokens);
    run("lexer: no text, a position past the end", case_lexer_null);
    run("lexer: two-byte characters of gbk and sjis read whole", case_lexer_multibyte);
    run("lexer: ANSI_QUOTES and -- before a non-ASCII byte", case_lexer_modes);
    run("statements split at ';', trimmed, empty ones skipped", case_plain);
    run("';' inside '...', \"...\" and `...` and escaped quotes", case_quotes);
    run("NO_BACKSLASH_ESCAPES: a backslash ends no quote", case_no_backslash_escapes);
    run("';' inside # -- and C comments; comment-only statements skipped", case_comments);
    run("executable comments are code: the delimiter counts inside", case_executable_comments);
    run("DELIMITER $$ // ;; and back, any case, quoted, \\d", case_delimiters);
    run("DELIMITER without a usable value stops with an error", case_delimiter_errors);
    run("a trigger body with ';' under DELIMITER ;;", case_trigger_body);
    run("CRLF line ends", case_crlf);
    run("the last statement needs no delimiter", case_last_without_delimiter);
    run("a quote or comment left open runs to the end, marked", case_unterminated);
    run("the delimiter inside a word (END$$)", case_delimiter_in_word);
    run("backslash commands: \\g \\G \\c kept \\N \\-, others refused", case_backslash_commands);
    run("USE db; is SQL", case_use_is_sql);
    run("a mariadb-dump --routines --triggers script", case_dump);
    run("NULL text is empty", case_null_text);
    run("strip: # and -- comments, and -- first in a statement", case_strip_line_comments);
    run("strip: comment lines in a body leave their indentation", case_strip_body);
    run("strip: C comments, the space after, their line ends", case_strip_c_comments);
    run("strip: executable comments kept", case_strip_executable);
    run("strip: nothing inside strings, escapes by mode and charset", case_strip_strings);
    run("strip: NULL text or output", case_strip_null);
    return cases_summary();
}
