/* Option files without a server: the line parser over literal text (every
 * error with its line), key and boolean forms, and the reader over a
 * scratch directory of includes, cycles and deep chains
 * (spec/04-optfile_spec.lua runs it).
 *
 * Prints one line per case, "ok NAME" or "not ok NAME: what differed", and
 * exits 0 only when every case is ok.
 *
 * `test-optfile print FILE GROUP...` prints the options of those groups as
 * my_print_defaults does ("--key=value", one a line), for the spec to
 * compare with it; on an error it prints "error: ..." and exits 1. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/core/optfile.h"

#include "cases.h"

/* ---- collecting options ---------------------------------------------------- */

typedef struct seen {
    char text[8192]; /* "group|key|value\n" per option, value "(none)" without one */
    size_t len;
    const char *const *groups; /* print mode: only these */
} seen;

static int collect(void *ud, const char *group, const char *key, const char *value,
                   const char *file, unsigned line)
{
    (void)file;
    (void)line;
    seen *s = ud;
    int n = snprintf(s->text + s->len, sizeof s->text - s->len, "%s|%s|%s\n", group, key,
                     value ? value : "(none)");
    if (n > 0 && (size_t)n < sizeof s->text - s->len) s->len += (size_t)n;
    return 0;
}

/* Parses text (copied to an exact-size heap buffer, for ASan) and compares
 * what it gave with `want`, or the error with `want_error` (a substring). */
static int parse_is(const char *text, const char *want, const char *want_error)
{
    size_t n = strlen(text);
    char *copy = malloc(n ? n : 1);
    if (!copy) exit(2);
    memcpy(copy, text, n);
    seen s;
    memset(&s, 0, sizeof s);
    myl_optfile_hooks h = {collect, NULL, &s};
    myl_error err;
    myl_error_clear(&err);
    int rc = myl_optfile_parse(copy, n, "t.cnf", 0, &h, &err);
    free(copy);
    if (want_error) {
        if (rc == 0) return fail("accepted, wanted an error with \"%s\"; gave:\n%s", want_error, s.text);
        if (!strstr(err.message, want_error))
            return fail("error \"%s\", wanted \"%s\"", err.message, want_error);
        return 1;
    }
    if (rc) return fail("error: %s", err.message);
    if (strcmp(s.text, want) != 0) return fail("gave:\n%s\nwanted:\n%s", s.text, want);
    return 1;
}

/* ---- the parser ------------------------------------------------------------- */

static int case_groups_and_values(void)
{
    return parse_is("# a comment\n"
                    "; another\n"
                    "\n"
                    "[client]\n"
                    "user = bob\n"
                    "  password=secret  \n"
                    "flag\n"
                    "[ mylua ]  \n"
                    "host=db1\n",
                    "client|user|bob\nclient|password|secret\nclient|flag|(none)\n"
                    " mylua|host|db1\n",
                    NULL);
}

static int case_comments_and_quotes(void)
{
    return parse_is("[c]\n"
                    "a = x # the rest is a comment\n"
                    "b = \"x # not a comment\" # but this is\n"
                    "c = 'single'\n"
                    "d = \"mismatched'\n"
                    "e = \"\n"
                    "f = \"\"\n"
                    "g = \" spaced \"\n"
                    "h = 'it''\n"
                    "i=#\n",
                    "c|a|x\nc|b|x # not a comment\nc|c|single\nc|d|\"mismatched'\nc|e|\"\n"
                    "c|f|\nc|g| spaced \nc|h|it'\nc|i|\n",
                    NULL);
}

static int case_escapes(void)
{
    return parse_is("[c]\n"
                    "a = x\\ny\\tz\\rw\\bv\\su\n"
                    "b = \\\\ \\\" \\' \\q\n"
                    "c = ends\\\n"
                    "d = \"quote \\\" inside # still\"\n",
                    "c|a|x\ny\tz\rw\bv u\nc|b|\\ \" ' \\q\nc|c|ends\\\nc|d|quote \" inside # still\n",
                    NULL);
}

static int case_errors(void)
{
    return parse_is("user = x\n", NULL, "t.cnf:1: an option before any [group]") &&
           parse_is("[c]\n[broken\n", NULL, "t.cnf:2: a group without its ']'") &&
           parse_is("[c]\n = v\n", NULL, "t.cnf:2: an option without a name") &&
           parse_is("[c]\n!include   \n", NULL, "t.cnf:2: '!include' names no file") &&
           parse_is("[c]\n!includedir\t\n", NULL, "'!includedir' names no directory") &&
           parse_is("[c]\na\0b\n", "c|a|(none)\n", NULL) /* strlen stops at the NUL */;
}

static int case_long_line_and_nul(void)
{
    char *text = malloc(5000);
    if (!text) exit(2);
    memcpy(text, "[c]\nk=", 6);
    memset(text + 6, 'v', 4200);
    text[4206] = '\n';
    seen s;
    memset(&s, 0, sizeof s);
    myl_optfile_hooks h = {collect, NULL, &s};
    myl_error err;
    int rc = myl_optfile_parse(text, 4207, "t.cnf", 0, &h, &err);
    free(text);
    if (rc == 0 || !strstr(err.message, "t.cnf:2: a line longer than 4096 bytes"))
        return fail("long line: rc %d, %s", rc, rc ? err.message : "accepted");
    static const char nul[] = "[c]\nk=a\0b\n";
    rc = myl_optfile_parse(nul, sizeof nul - 1, "t.cnf", 0, &h, &err);
    if (rc == 0 || !strstr(err.message, "t.cnf:2: a NUL byte"))
        return fail("NUL: rc %d, %s", rc, rc ? err.message : "accepted");
    return 1;
}

static int case_directives_without_reader(void)
{
    /* without an include hook they are skipped; other directives too */
    return parse_is("!include /nonexistent\n[c]\n!frobnicate x\n!includex y\nk=v\n", "c|k|v\n",
                    NULL);
}

static int case_keys(void)
{
    char out[64];
    int loose;
    if (myl_optfile_key("loose-ssl_ca", out, sizeof out, &loose) != 6 || strcmp(out, "ssl-ca") ||
        !loose)
        return fail("loose-ssl_ca gave %s loose %d", out, loose);
    if (myl_optfile_key("loose_default_character_set", out, sizeof out, &loose) == 0 ||
        strcmp(out, "default-character-set") || !loose)
        return fail("loose_default_character_set gave %s", out);
    if (myl_optfile_key("host", out, sizeof out, &loose) != 4 || loose) return fail("host");
    if (myl_optfile_key("loose-", out, sizeof out, &loose) != 0) return fail("loose- alone taken");
    if (myl_optfile_key("abcdef", out, 6, &loose) != 0) return fail("too long for out taken");
    return 1;
}

static int case_booleans(void)
{
    static const char *const yes[] = {"1", "on", "ON", "True", "TRUE"};
    static const char *const no[] = {"0", "off", "Off", "false", "FALSE"};
    static const char *const neither[] = {"", "2", "yes", "no", "onn", "of", "truee", " 1"};
    for (size_t i = 0; i < 5; i++)
        if (myl_optfile_bool(yes[i]) != 1 || myl_optfile_bool(no[i]) != 0)
            return fail("%s / %s", yes[i], no[i]);
    for (size_t i = 0; i < sizeof neither / sizeof *neither; i++)
        if (myl_optfile_bool(neither[i]) != -1) return fail("\"%s\" taken", neither[i]);
    return myl_optfile_bool(NULL) == -1 ? 1 : fail("NULL taken");
}

/* ---- the reader ------------------------------------------------------------- */

static char dir[256];

static void put(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f)) exit(2);
}

static int read_is(const char *name, const char *want, const char *want_error)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    seen s;
    memset(&s, 0, sizeof s);
    myl_optfile_hooks h = {collect, NULL, &s};
    myl_error err;
    myl_error_clear(&err);
    int rc = myl_optfile_read(path, &h, &err);
    if (want_error) {
        if (rc == 0) return fail("%s accepted; gave:\n%s", name, s.text);
        if (!strstr(err.message, want_error))
            return fail("%s: error \"%s\", wanted \"%s\"", name, err.message, want_error);
        return 1;
    }
    if (rc) return fail("%s: %s", name, err.message);
    if (strcmp(s.text, want)) return fail("%s gave:\n%s\nwanted:\n%s", name, s.text, want);
    return 1;
}

static int case_includes(void)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[client]\nuser=main\n!include %s/one.cnf\n!includedir %s/conf.d\nhost=after\n", dir,
             dir);
    put("main.cnf", text);
    put("one.cnf", "[client]\npassword=from-one\n");
    char sub[512];
    snprintf(sub, sizeof sub, "%s/conf.d", dir);
    mkdir(sub, 0700);
    put("conf.d/b.cnf", "[mylua]\nk=b\n");
    put("conf.d/a.cnf", "[mylua]\nk=a\n");
    put("conf.d/c.txt", "[mylua]\nk=not-read\n");
    put("conf.d/.cnf", "[mylua]\nk=a-bare-extension\n");
    return read_is("main.cnf",
                   "client|user|main\nclient|password|from-one\nmylua|k|a\nmylua|k|b\n"
                   "client|host|after\n",
                   NULL);
}

static int case_include_errors(void)
{
    char text[1024];
    snprintf(text, sizeof text, "[c]\n!include %s/cycle-b.cnf\n", dir);
    put("cycle-a.cnf", text);
    snprintf(text, sizeof text, "[c]\n!include %s/cycle-a.cnf\n", dir);
    put("cycle-b.cnf", text);
    snprintf(text, sizeof text, "[c]\n!include %s/self.cnf\n", dir);
    put("self.cnf", text);
    /* a chain of 12 files, each including the next */
    for (int i = 0; i < 12; i++) {
        char name[32];
        snprintf(name, sizeof name, "deep%d.cnf", i);
        snprintf(text, sizeof text, "[c]\nk%d=v\n!include %s/deep%d.cnf\n", i, dir, i + 1);
        put(name, text);
    }
    put("deep12.cnf", "[c]\nlast=v\n");
    snprintf(text, sizeof text, "[c]\n!include %s/absent.cnf\n", dir);
    put("missing.cnf", text);
    snprintf(text, sizeof text, "[c]\n!include %s\n", dir);
    put("dir-as-file.cnf", text);
    return read_is("cycle-a.cnf", NULL, "includes itself") &&
           read_is("self.cnf", NULL, "includes itself") &&
           read_is("deep1.cnf", NULL, "more than 10 levels deep") &&
           read_is("deep2.cnf", /* deep12 is 10 levels below: the deepest allowed */
                   "c|k2|v\nc|k3|v\nc|k4|v\nc|k5|v\nc|k6|v\nc|k7|v\nc|k8|v\nc|k9|v\nc|k10|v\n"
                   "c|k11|v\nc|last|v\n",
                   NULL) &&
           read_is("missing.cnf", NULL, "absent.cnf") &&
           read_is("dir-as-file.cnf", NULL, "not a regular file") &&
           read_is("nonexistent.cnf", NULL, "cannot read option file");
}

/* ---- print mode ------------------------------------------------------------- */

static int print_option(void *ud, const char *group, const char *key, const char *value,
                        const char *file, unsigned line)
{
    (void)file;
    (void)line;
    const char *const *groups = ud;
    for (; *groups; groups++)
        if (strcasecmp(*groups, group) == 0) {
            if (value) printf("--%s=%s\n", key, value);
            else printf("--%s\n", key);
            break;
        }
    return 0;
}

static int print_mode(int argc, char **argv)
{
    myl_optfile_hooks h = {print_option, NULL, argv + 3};
    myl_error err;
    myl_error_clear(&err);
    (void)argc;
    if (myl_optfile_read(argv[2], &h, &err)) {
        printf("error: %s\n", err.message);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "print") == 0) return print_mode(argc, argv);
    snprintf(dir, sizeof dir, "/tmp/test-optfile.XXXXXX");
    if (!mkdtemp(dir)) return 2;
    run("groups, keys, values and the spaces around them", case_groups_and_values);
    run("comments after values, quotes kept and dropped", case_comments_and_quotes);
    run("escapes in values, and backslashes that escape nothing", case_escapes);
    run("errors name the file and line", case_errors);
    run("a line over 4096 bytes and a NUL byte are errors", case_long_line_and_nul);
    run("directives without a reader, and unknown ones, are skipped", case_directives_without_reader);
    run("keys: loose- prefixes and _ as -", case_keys);
    run("booleans: 1/on/true and 0/off/false in any case, nothing else", case_booleans);
    run("!include and !includedir (its .cnf files in name order)", case_includes);
    run("cycles, depth past 10, missing and non-regular includes are errors", case_include_errors);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 2;
    return cases_summary();
}
