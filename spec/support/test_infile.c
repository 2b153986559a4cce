/* LOCAL INFILE without a server: the statement scanner (which file a query
 * names) over literal SQL and over every prefix of it, and the built-in
 * file source over a scratch directory of files, links, a FIFO and a
 * directory (spec/67-infile_spec.lua runs it).
 *
 * Prints one line per case, "ok NAME" or "not ok NAME: what differed", and
 * exits 0 only when every case is ok. */
#define _GNU_SOURCE /* syscall(2) */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../../src/core/infile.h"

#include "cases.h"

/* ---- the scanner --------------------------------------------------------- */

/* myl_sql_first_keyword on an exact-size heap copy of sql. */
static int first_is(const char *sql, const char *kw)
{
    size_t len = strlen(sql);
    char *copy = malloc(len ? len : 1);
    if (!copy) exit(2);
    memcpy(copy, sql, len);
    int r = myl_sql_first_keyword(copy, len, kw);
    free(copy);
    return r;
}

static int case_first_keyword(void)
{
    static const char *const yes[] = {
        "INSERT INTO t VALUES (?)", "insert into t values (?)", "  \n\tInsert\n",
        "/* a comment */ INSERT", "# a comment\nINSERT", "-- a comment\nINSERT",
        "/*!40101 INSERT */ INTO t", "INSERT", "INSERT(a) VALUES (1)",
    };
    static const char *const no[] = {
        "UPDATE t SET a = ?", "INSERTS", "INSERT_X", "`INSERT`", "'INSERT'", "--INSERT",
        "/* INSERT */ UPDATE", "INSER", "", "-- INSERT", "SELECT 1; INSERT INTO t VALUES (1)",
    };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (!first_is(yes[i], "INSERT")) return fail("\"%s\" not an INSERT", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (first_is(no[i], "INSERT")) return fail("\"%s\" taken for an INSERT", no[i]);
    if (!first_is(" replace into t values (1)", "REPLACE")) return fail("REPLACE not found");
    if (myl_sql_first_keyword(NULL, 0, "INSERT")) return fail("NULL taken");
    return 1;
}

/* The scanner on an exact-size heap copy of sql (so that ASan sees a read
 * past its end), with `cap` bytes of room: the result, and the name in out. */
static long scan(const char *sql, size_t len, int no_backslash, char *out, size_t cap)
{
    char *copy = malloc(len ? len : 1);
    char *room = malloc(cap ? cap : 1);
    if (!copy || !room) exit(2);
    memcpy(copy, sql, len);
    long r = myl_sql_infile_name(copy, len, no_backslash, room, cap);
    if (r > 0) memcpy(out, room, (size_t)r);
    free(copy);
    free(room);
    return r;
}

/* `sql` names `want` (wlen bytes; want NULL: no file, -1). */
static int names(const char *sql, int no_backslash, const char *want, size_t wlen)
{
    char out[256];
    long r = scan(sql, strlen(sql), no_backslash, out, sizeof out);
    if (!want) return r == -1 ? 1 : fail("%s: got %ld, want -1", sql, r);
    if (r != (long)wlen || memcmp(out, want, wlen) != 0)
        return fail("%s: got %ld '%.*s', want '%s'", sql, r, r > 0 ? (int)r : 0, out, want);
    return 1;
}

#define NAMES(sql, want) names(sql, 0, want, sizeof want - 1)
#define NO_FILE(sql) names(sql, 0, NULL, 0)

static int case_scan_plain(void) { return NAMES("LOAD DATA LOCAL INFILE 'a.csv' INTO TABLE t", "a.csv"); }
static int case_scan_case_and_blanks(void)
{
    return NAMES("  load\tData\n local   InFile\r\n'x/y.txt' into table t", "x/y.txt");
}
static int case_scan_lock_words(void)
{
    return NAMES("LOAD DATA LOW_PRIORITY LOCAL INFILE 'a' INTO TABLE t", "a") &&
           NAMES("LOAD DATA CONCURRENT LOCAL INFILE 'b' INTO TABLE t", "b") &&
           NO_FILE("LOAD DATA LOW_PRIORITY CONCURRENT LOCAL INFILE 'c' INTO TABLE t");
}
static int case_scan_load_xml(void) { return NAMES("LOAD XML LOCAL INFILE 'r.xml' INTO TABLE t", "r.xml"); }
static int case_scan_double_quotes(void) { return NAMES("LOAD DATA LOCAL INFILE \"d.csv\" INTO TABLE t", "d.csv"); }
static int case_scan_comments_between(void)
{
    return NAMES("/* c */ LOAD /* x */ DATA -- y\n LOCAL # z\n INFILE/**/'f' INTO TABLE t", "f");
}
static int case_scan_executable_comment(void)
{
    return NAMES("/*!50000 LOAD DATA LOCAL INFILE 'e' */ INTO TABLE t", "e") &&
           NAMES("/*M!100000 LOAD DATA LOCAL INFILE 'm' INTO TABLE t */", "m");
}
static int case_scan_backslash_escapes(void)
{
    return NAMES("LOAD DATA LOCAL INFILE 'a\\'b\\\\c\\nd\\%e\\_f\\qg' INTO TABLE t",
                 "a'b\\c\nd\\%e\\_fqg");
}
static int case_scan_doubled_quote(void)
{
    return NAMES("LOAD DATA LOCAL INFILE 'it''s' INTO TABLE t", "it's") &&
           NAMES("LOAD DATA LOCAL INFILE \"say \"\"hi\"\"\" INTO TABLE t", "say \"hi\"");
}
static int case_scan_no_backslash_escapes(void)
{
    return names("LOAD DATA LOCAL INFILE 'C:\\dir\\n.csv' INTO TABLE t", 1, "C:\\dir\\n.csv", 12);
}
static int case_scan_no_backslash_changes_the_end(void)
{
    /* with backslash escapes the quote is escaped and the literal goes on */
    return names("LOAD DATA LOCAL INFILE 'a\\' INTO TABLE t", 1, "a\\", 2) &&
           NO_FILE("LOAD DATA LOCAL INFILE 'a\\' INTO TABLE t");
}
static int case_scan_not_local(void)
{
    return NO_FILE("LOAD DATA INFILE '/srv/x' INTO TABLE t") && NO_FILE("SELECT 1") &&
           NO_FILE("") && NO_FILE("LOAD INDEX INTO CACHE t1");
}
static int case_scan_only_statement_starts(void)
{
    return NO_FILE("SELECT 'LOAD DATA LOCAL INFILE ''x'''") &&
           NO_FILE("SELECT 1 -- LOAD DATA LOCAL INFILE 'x'") &&
           NO_FILE("SELECT 1 # LOAD DATA LOCAL INFILE 'x'") &&
           NO_FILE("SELECT 1 /* ; LOAD DATA LOCAL INFILE 'x' */") &&
           NO_FILE("SELECT `a;LOAD DATA LOCAL INFILE 'x'`") &&
           NO_FILE("SELECT \"a;LOAD DATA LOCAL INFILE 'x'\"") &&
           NO_FILE("SELECT 1 LOAD DATA LOCAL INFILE 'x'") &&
           NO_FILE("SELECT loaded DATA LOCAL INFILE 'x'");
}
static int case_scan_after_semicolon(void)
{
    return NAMES("SELECT 'a;b'; SET @x = 1;; LOAD DATA LOCAL INFILE 'second' INTO TABLE t", "second");
}
static int case_scan_first_of_two(void)
{
    return NAMES("LOAD DATA LOCAL INFILE 'one' INTO TABLE t; LOAD DATA LOCAL INFILE 'two' INTO TABLE t",
                 "one");
}
static int case_scan_dash_dash_needs_a_blank(void)
{
    /* "--1" is minus minus one, not a comment: the statement goes on */
    return NAMES("SELECT 1 --1; LOAD DATA LOCAL INFILE 'x'", "x") &&
           NAMES("SELECT 1 --\n; LOAD DATA LOCAL INFILE 'x'", "x") &&
           NO_FILE("SELECT 1 -- ; LOAD DATA LOCAL INFILE 'x'");
}
static int case_scan_unterminated(void)
{
    return NO_FILE("LOAD DATA LOCAL INFILE 'abc") && NO_FILE("LOAD DATA LOCAL INFILE 'abc\\") &&
           NO_FILE("LOAD DATA LOCAL INFILE") && NO_FILE("LOAD DATA LOCAL INFILE x") &&
           NO_FILE("SELECT 'x; LOAD DATA LOCAL INFILE 'y'");
}
static int case_scan_nul_in_name(void)
{
    char out[64];
    const char *sql = "LOAD DATA LOCAL INFILE 'a\\0b' INTO TABLE t";
    long r = scan(sql, strlen(sql), 0, out, sizeof out);
    if (r != -2) return fail("an escaped NUL: got %ld, want -2", r);
    static const char raw[] = "LOAD DATA LOCAL INFILE 'a\0b' INTO TABLE t";
    r = scan(raw, sizeof raw - 1, 0, out, sizeof out);
    return r == -2 ? 1 : fail("a raw NUL: got %ld, want -2", r);
}
static int case_scan_name_too_long(void)
{
    char out[8];
    const char *sql = "LOAD DATA LOCAL INFILE '12345678' INTO TABLE t";
    long r = scan(sql, strlen(sql), 0, out, 8);
    if (r != 8 || memcmp(out, "12345678", 8)) return fail("exact fit: got %ld", r);
    r = scan(sql, strlen(sql), 0, out, 7);
    return r == -2 ? 1 : fail("one byte short: got %ld, want -2", r);
}
static int case_scan_null_and_empty(void)
{
    char out[4];
    if (myl_sql_infile_name(NULL, 0, 0, out, sizeof out) != -1) return fail("NULL text");
    const char *sql = "LOAD DATA LOCAL INFILE '' INTO t";
    long r = scan(sql, strlen(sql), 0, out, 0);
    return r == 0 ? 1 : fail("empty name, no room: got %ld, want 0", r);
}

/* Every prefix of statements that stress the scanner: no read past the
 * end (ASan), and a prefix never names a longer name than the whole. */
static int case_scan_every_prefix(void)
{
    static const char *const texts[] = {
        "/*M!100000 LOAD */ DATA LOCAL INFILE 'a\\'b''c' INTO TABLE t",
        "SELECT 1 -- x\n; # y\n LOAD XML CONCURRENT LOCAL INFILE \"q\\\"\" INTO TABLE t",
        "SELECT `x``y`; /*!40101 LOAD DATA LOCAL INFILE 'z\\",
    };
    char out[64];
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        size_t len = strlen(texts[t]);
        for (size_t n = 0; n <= len; n++) {
            for (int nb = 0; nb < 2; nb++) {
                long r = scan(texts[t], n, nb, out, sizeof out);
                if (r < -2 || r > (long)n) return fail("text %zu prefix %zu: got %ld", t, n, r);
            }
        }
    }
    return 1;
}

/* Pseudo-random bytes from the SQL alphabet: no crash, a sane result. */
static int case_scan_random_text(void)
{
    static const char alphabet[] = "LOADTXMLCINFE ldatxmlocinfe'\"`\\-#/*!M;\n_0 ";
    unsigned long x = 12345;
    char text[96], out[16];
    for (int i = 0; i < 200000; i++) {
        size_t n = (size_t)(x % sizeof text);
        for (size_t k = 0; k < n; k++) {
            x = x * 6364136223846793005ul + 1442695040888963407ul;
            text[k] = alphabet[(x >> 33) % (sizeof alphabet - 1)];
        }
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        long r = scan(text, n, (int)(x & 1), out, sizeof out);
        if (r < -2 || r > (long)sizeof out) return fail("got %ld on %.*s", r, (int)n, text);
    }
    return 1;
}

/* ---- the file source -------------------------------------------------------- */

/* 1 once openat2 is made to fail with ENOSYS (a seccomp filter, as on a
 * kernel before 5.6): the source then walks the name itself, and refuses
 * every symbolic link and every "..", even those that stay inside. */
static int walking;

static char root[256];   /* scratch: root/in is the directory served, root/out is not */
static char in_dir[300];

static void put_file(const char *rel, const char *text, mode_t mode)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
    chmod(p, mode);
}

static void at_root(const char *what, const char *rel, const char *target)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    int rc = strcmp(what, "dir") == 0    ? mkdir(p, 0700)
             : strcmp(what, "fifo") == 0 ? mkfifo(p, 0600)
                                         : symlink(target, p);
    if (rc) {
        perror(p);
        exit(2);
    }
}

static void make_tree(void)
{
    snprintf(root, sizeof root, "%s/mylua-infile-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(in_dir, sizeof in_dir, "%s/in", root);
    at_root("dir", "in", NULL);
    at_root("dir", "in/sub", NULL);
    put_file("in/a.csv", "1,one\n2,two\n", 0600);
    put_file("in/sub/b.csv", "b\n", 0600);
    put_file("out.csv", "secret\n", 0600);
    at_root("fifo", "in/fifo", NULL);
    at_root("link", "in/up", "../out.csv");        /* leads out */
    at_root("link", "in/abs", "/etc/hostname");    /* leads out, absolute */
    at_root("link", "in/inside", "sub/b.csv");     /* stays in */
    char target[600];
    snprintf(target, sizeof target, "%s/in/a.csv", root);
    at_root("link", "in/abs_inside", target);      /* absolute, but in: refused too */
}

static void remove_tree(void)
{
    static const char *const rels[] = {"in/abs_inside", "in/inside", "in/abs", "in/up", "in/fifo",
                                       "out.csv", "in/sub/b.csv", "in/a.csv", "in/sub", "in"};
    char p[600];
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, rels[i]);
        if (unlink(p) != 0) rmdir(p);
    }
    rmdir(root);
}

/* Reads `name` through the file source with `dir` (NULL: none), in reads of
 * at most 3 bytes; the contents in out (NUL-terminated) or the error. */
static int read_all(const char *dir, const char *name, char *out, size_t cap, myl_error *err)
{
    myl_infile_hooks h;
    myl_infile_files(&h, dir);
    void *src = NULL;
    myl_error_clear(err);
    if (h.open(h.ud, name, strlen(name), &src, err)) return -1;
    size_t n = 0, got;
    int rc;
    while ((rc = h.read(h.ud, src, (uint8_t *)out + n, cap - 1 - n < 3 ? cap - 1 - n : 3, &got, err)) == 0 && got)
        n += got;
    h.close(h.ud, src);
    out[n] = '\0';
    return rc;
}

static int serves(const char *dir, const char *name, const char *want)
{
    char out[128];
    myl_error err;
    if (read_all(dir, name, out, sizeof out, &err)) return fail("%s: %s", name, err.message);
    return strcmp(out, want) == 0 ? 1 : fail("%s: read '%s', want '%s'", name, out, want);
}

/* Refused with `code` and a message that holds `part` and the name. */
static int refuses(const char *dir, const char *name, int code, const char *part)
{
    char out[128];
    myl_error err;
    if (read_all(dir, name, out, sizeof out, &err) == 0) return fail("%s was served: '%s'", name, out);
    if (err.code != code) return fail("%s: code %d (%s), want %d", name, err.code, err.message, code);
    if (!strstr(err.message, part) || !strstr(err.message, name))
        return fail("%s: message '%s' lacks '%s' or the name", name, err.message, part);
    return 1;
}

static int case_files_relative_in_dir(void)
{
    return serves(in_dir, "a.csv", "1,one\n2,two\n") && serves(in_dir, "sub/b.csv", "b\n") &&
           serves(in_dir, "./sub//b.csv", "b\n") &&
           (walking ? refuses(in_dir, "sub/../a.csv", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under")
                    : serves(in_dir, "sub/../a.csv", "1,one\n2,two\n"));
}
static int case_files_absolute_in_dir(void)
{
    char name[600];
    snprintf(name, sizeof name, "%s/sub/b.csv", in_dir);
    return serves(in_dir, name, "b\n");
}
static int case_files_link_inside(void)
{
    if (walking) return refuses(in_dir, "inside", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under");
    return serves(in_dir, "inside", "b\n");
}
static int case_files_dotdot_refused(void)
{
    return refuses(in_dir, "../out.csv", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under") &&
           refuses(in_dir, "sub/../../out.csv", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under");
}
static int case_files_absolute_outside_refused(void)
{
    char name[600];
    snprintf(name, sizeof name, "%s/out.csv", root);
    return refuses(in_dir, name, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under") &&
           refuses(in_dir, "/etc/passwd", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under");
}
static int case_files_prefix_is_not_a_directory(void)
{
    /* "<dir>x/..." starts with the directory's name but is not under it */
    char name[600];
    snprintf(name, sizeof name, "%s/../out.csv", in_dir);
    char sibling[600];
    snprintf(sibling, sizeof sibling, "%sx/a.csv", in_dir);
    return refuses(in_dir, name, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under") &&
           refuses(in_dir, sibling, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under");
}
static int case_files_links_outside_refused(void)
{
    return refuses(in_dir, "up", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under") &&
           refuses(in_dir, "abs", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under") &&
           refuses(in_dir, "abs_inside", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "not under");
}
static int case_files_not_regular_refused(void)
{
    return refuses(in_dir, "sub", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "a directory") &&
           refuses(in_dir, "fifo", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "a FIFO") &&
           refuses(NULL, "/dev/null", MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "a device") &&
           refuses(NULL, in_dir, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "a directory");
}
static int case_files_fifo_without_dir_does_not_hang(void)
{
    char name[600];
    snprintf(name, sizeof name, "%s/fifo", in_dir);
    return refuses(NULL, name, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "a FIFO");
}
static int case_files_missing(void)
{
    return refuses(in_dir, "nope.csv", MYL_CR_FILE_NOT_FOUND, "No such file") &&
           refuses(NULL, "/nonexistent/nope.csv", MYL_CR_FILE_NOT_FOUND, "No such file");
}
static int case_files_without_dir(void)
{
    char name[600];
    snprintf(name, sizeof name, "%s/out.csv", root);
    return serves(NULL, name, "secret\n");
}
static int case_files_unreadable(void)
{
    if (geteuid() == 0) return 1; /* root reads everything: nothing to see */
    put_file("in/locked.csv", "x", 0);
    int ok = refuses(in_dir, "locked.csv", MYL_CR_FILE_NOT_FOUND, "Permission denied");
    char p[600];
    snprintf(p, sizeof p, "%s/in/locked.csv", root);
    unlink(p);
    return ok;
}
static int case_files_nul_in_name(void)
{
    myl_infile_hooks h;
    myl_infile_files(&h, NULL);
    void *src = NULL;
    myl_error err;
    myl_error_clear(&err);
    if (h.open(h.ud, "/etc/hostname\0x", 15, &src, &err) == 0) {
        h.close(h.ud, src);
        return fail("a name with a NUL byte was opened");
    }
    return err.code == MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED ? 1 : fail("code %d", err.code);
}
static int case_files_dir_missing(void)
{
    return refuses("/nonexistent-dir", "a.csv", MYL_CR_FILE_NOT_FOUND, "local_infile_dir");
}

/* From here on openat2 fails with ENOSYS in this process. */
static int without_openat2(void)
{
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
        return fail("seccomp: %s", strerror(errno));
    long r = syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0);
    if (r != -1 || errno != ENOSYS) return fail("openat2 still answers: %ld, %s", r, strerror(errno));
    walking = 1;
    return 1;
}

static void files_cases(const char *how)
{
    static const struct {
        const char *name;
        int (*fn)(void);
    } cases[] = {
        {"relative names under the directory", case_files_relative_in_dir},
        {"an absolute name under the directory", case_files_absolute_in_dir},
        {"a link that stays inside", case_files_link_inside},
        {".. out of the directory is refused", case_files_dotdot_refused},
        {"an absolute name outside is refused", case_files_absolute_outside_refused},
        {"a name that only starts like the directory is refused", case_files_prefix_is_not_a_directory},
        {"links that lead out are refused", case_files_links_outside_refused},
        {"directories, FIFOs and devices are refused", case_files_not_regular_refused},
        {"a FIFO without a writer does not hang", case_files_fifo_without_dir_does_not_hang},
        {"a missing file", case_files_missing},
        {"without a directory, any regular file", case_files_without_dir},
        {"an unreadable file", case_files_unreadable},
        {"a NUL byte in the name", case_files_nul_in_name},
        {"a missing local_infile_dir", case_files_dir_missing},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[200];
        snprintf(name, sizeof name, "files (%s): %s", how, cases[i].name);
        run(name, cases[i].fn);
    }
}

int main(void)
{
    run("scanner: plain statement", case_scan_plain);
    run("scanner: keywords in any case, any blanks", case_scan_case_and_blanks);
    run("scanner: LOW_PRIORITY or CONCURRENT, not both", case_scan_lock_words);
    run("scanner: LOAD XML", case_scan_load_xml);
    run("scanner: double-quoted name", case_scan_double_quotes);
    run("scanner: comments between the words", case_scan_comments_between);
    run("scanner: executable comments are code", case_scan_executable_comment);
    run("scanner: backslash escapes as the server reads them", case_scan_backslash_escapes);
    run("scanner: doubled quotes", case_scan_doubled_quote);
    run("scanner: NO_BACKSLASH_ESCAPES keeps backslashes", case_scan_no_backslash_escapes);
    run("scanner: NO_BACKSLASH_ESCAPES decides where the literal ends", case_scan_no_backslash_changes_the_end);
    run("scanner: no LOCAL, no file", case_scan_not_local);
    run("scanner: only where a statement starts", case_scan_only_statement_starts);
    run("scanner: a later statement", case_scan_after_semicolon);
    run("scanner: the first of two", case_scan_first_of_two);
    run("scanner: -- needs a blank", case_scan_dash_dash_needs_a_blank);
    run("scanner: unterminated or missing literal", case_scan_unterminated);
    run("scanner: a NUL in the name is unreadable", case_scan_nul_in_name);
    run("scanner: a name longer than the room is unreadable", case_scan_name_too_long);
    run("scanner: NULL text, empty name", case_scan_null_and_empty);
    run("scanner: every prefix", case_scan_every_prefix);
    run("scanner: a statement's first keyword", case_first_keyword);
    run("scanner: random text", case_scan_random_text);

    make_tree();
    files_cases("openat2");
    run("files: openat2 made unavailable", without_openat2);
    if (walking) files_cases("walking the name, without openat2");
    remove_tree();

    return cases_summary();
}
