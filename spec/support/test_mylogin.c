/* The login path file (.mylogin.cnf) without a server: files built here
 * with OpenSSL's AES from the documented format, read back; every way a
 * file can be cut short or damaged; the permission rule; a missing file
 * (spec/05-mylogin_spec.lua runs it).
 *
 * Prints one line per case, "ok NAME" or "not ok NAME: what differed", and
 * exits 0 only when every case is ok.
 *
 * `test-mylogin print FILE` reads FILE as a login file and prints
 * "group|key|value" per option (value "(none)" without one; a backslash,
 * control characters and '|' written as \\, \n, \t, \r, \xHH), then
 * "status: read" and exits 0; "status: missing" (exit 0); "refused: ..."
 * (exit 3); "error: ..." (exit 1). */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/core/mylogin.h"

#include "cases.h"

/* ---- collecting options ---------------------------------------------------- */

typedef struct seen {
    char text[16384];
    size_t len;
    int stop_at; /* the callback fails on this option (1-based); 0: never */
    int count;
} seen;

static void add_escaped(seen *s, const char *v)
{
    for (; *v && s->len + 8 < sizeof s->text; v++) {
        unsigned char ch = (unsigned char)*v;
        if (ch == '\\') s->len += (size_t)snprintf(s->text + s->len, 3, "\\\\");
        else if (ch == '\n') s->len += (size_t)snprintf(s->text + s->len, 3, "\\n");
        else if (ch == '\t') s->len += (size_t)snprintf(s->text + s->len, 3, "\\t");
        else if (ch == '\r') s->len += (size_t)snprintf(s->text + s->len, 3, "\\r");
        else if (ch < 0x20 || ch == '|' || ch == 0x7F)
            s->len += (size_t)snprintf(s->text + s->len, 5, "\\x%02X", ch);
        else s->text[s->len++] = (char)ch;
    }
    s->text[s->len] = '\0';
}

static void add_char(seen *s, char ch)
{
    if (s->len + 2 > sizeof s->text) return;
    s->text[s->len++] = ch;
    s->text[s->len] = '\0';
}

static int collect(void *ud, const char *group, const char *key, const char *value,
                   const char *file, unsigned line)
{
    (void)file;
    (void)line;
    seen *s = ud;
    if (++s->count == s->stop_at) return 1;
    add_escaped(s, group);
    add_char(s, '|');
    add_escaped(s, key);
    add_char(s, '|');
    add_escaped(s, value ? value : "(none)");
    add_char(s, '\n');
    return 0;
}

/* ---- building files ---------------------------------------------------------- */

static const unsigned char file_key[20] = {3,  17, 29, 8,  0,  31, 12, 5,  22, 9,
                                           14, 27, 1,  19, 30, 6,  11, 24, 2,  16};

typedef struct image {
    unsigned char b[65536];
    size_t n;
} image;

static void fold(const unsigned char *k20, unsigned char *k16)
{
    memset(k16, 0, 16);
    for (int i = 0; i < 20; i++) k16[i % 16] ^= k20[i];
}

static void start(image *im, const unsigned char *k20)
{
    memset(im->b, 0, 4);
    memcpy(im->b + 4, k20, 20);
    im->n = 24;
}

/* Appends one chunk: text encrypted under key20 (PKCS#7 padding). */
static void chunk(image *im, const unsigned char *k20, const char *text, size_t len)
{
    unsigned char k16[16];
    fold(k20, k16);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int a = 0, b = 0;
    unsigned char *out = im->b + im->n + 4;
    if (!ctx || EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k16, NULL) != 1 ||
        EVP_EncryptUpdate(ctx, out, &a, (const unsigned char *)text, (int)len) != 1 ||
        EVP_EncryptFinal_ex(ctx, out + a, &b) != 1)
        exit(2);
    EVP_CIPHER_CTX_free(ctx);
    unsigned n = (unsigned)(a + b);
    im->b[im->n] = (unsigned char)n;
    im->b[im->n + 1] = (unsigned char)(n >> 8);
    im->b[im->n + 2] = (unsigned char)(n >> 16);
    im->b[im->n + 3] = (unsigned char)(n >> 24);
    im->n += 4 + n;
}

static void lines(image *im, const char *const *l)
{
    start(im, file_key);
    for (; *l; l++) chunk(im, file_key, *l, strlen(*l));
}

/* Parses the image (copied to an exact-size heap buffer, for ASan) and
 * compares the options with `want`, or the error with `want_error`. */
static int parse_is(const image *im, const char *want, const char *want_error)
{
    unsigned char *copy = malloc(im->n ? im->n : 1);
    if (!copy) exit(2);
    memcpy(copy, im->b, im->n);
    seen s;
    memset(&s, 0, sizeof s);
    myl_optfile_hooks h = {collect, NULL, &s};
    myl_error err;
    myl_error_clear(&err);
    int rc = myl_mylogin_parse(copy, im->n, "t.mylogin", &h, &err);
    free(copy);
    if (want_error) {
        if (rc == 0) return fail("accepted, wanted an error with \"%s\"; gave:\n%s", want_error, s.text);
        if (!strstr(err.message, want_error))
            return fail("error \"%s\", wanted \"%s\"", err.message, want_error);
        if (strncmp(err.message, "login file 't.mylogin'", 22) != 0 && !strstr(err.message, "t.mylogin:"))
            return fail("error \"%s\" does not name the file", err.message);
        return 1;
    }
    if (rc) return fail("error: %s", err.message);
    if (strcmp(s.text, want) != 0) return fail("gave:\n%s\nwanted:\n%s", s.text, want);
    return 1;
}

/* ---- the format ---------------------------------------------------------------- */

static int case_login_paths(void)
{
    static const char *const l[] = {"[client]\n", "user = \"bob\"\n", "password = \"s3cret\"\n",
                                    "[backup]\n", "host = \"db1.example\"\n", "port = \"3307\"\n",
                                    "socket = \"/run/x.sock\"\n", NULL};
    image im;
    lines(&im, l);
    return parse_is(&im,
                    "client|user|bob\nclient|password|s3cret\nbackup|host|db1.example\n"
                    "backup|port|3307\nbackup|socket|/run/x.sock\n",
                    NULL);
}

static int case_values_as_the_editor_writes_them(void)
{
    /* values in double quotes, nothing escaped: a quote inside stays, a
     * backslash escape is read as one, '#' after an inner quote is a comment */
    static const char *const l[] = {"[client]\n",
                                    "password = \"p#ss w=rd;'x'\"\n",
                                    "user = \"a\"b\"\n",
                                    "host = \"tab\\there\"\n",
                                    "socket = \"q\"#gone\"\n",
                                    "port = 3306\n",
                                    NULL};
    image im;
    lines(&im, l);
    return parse_is(&im,
                    "client|password|p#ss w=rd;'x'\nclient|user|a\"b\nclient|host|tab\\there\n"
                    "client|socket|q\nclient|port|3306\n",
                    NULL);
}

static int case_chunks_are_lines(void)
{
    /* a chunk without its newline does not run into the next; one holding
     * two lines gives both; comments, blank lines; !include is ignored */
    static const char *const l[] = {"[client]", "user=a", "# comment\n\n", "host=h\npassword=p\n",
                                    "!include /etc/passwd\n", "!includedir /etc\n", "port=1\n",
                                    NULL};
    image im;
    lines(&im, l);
    return parse_is(&im, "client|user|a\nclient|host|h\nclient|password|p\nclient|port|1\n", NULL);
}

static int case_empty_files(void)
{
    image im;
    im.n = 0;
    if (!parse_is(&im, "", NULL)) return 0;
    start(&im, file_key); /* a header alone: the editor's file before any set */
    return parse_is(&im, "", NULL);
}

static int case_cut_short(void)
{
    static const char *const l[] = {"[client]\n", "password = \"secret\"\n", NULL};
    image im;
    lines(&im, l);
    size_t whole = im.n;
    im.n = 10;
    if (!parse_is(&im, NULL, "cut short in its header (10 of 24 bytes)")) return 0;
    im.n = 24 + 4 + 16 + 2; /* two bytes of the second chunk's length */
    if (!parse_is(&im, NULL, "cut short in the length of the chunk at byte 44")) return 0;
    im.n = whole - 1;
    if (!parse_is(&im, NULL, "cut short in the chunk at byte 44 (it claims 32 bytes)")) return 0;
    im.n = 24 + 4;
    return parse_is(&im, NULL, "cut short in the chunk at byte 24 (it claims 16 bytes)");
}

static void set_len(image *im, size_t at, unsigned v)
{
    im->b[at] = (unsigned char)v;
    im->b[at + 1] = (unsigned char)(v >> 8);
    im->b[at + 2] = (unsigned char)(v >> 16);
    im->b[at + 3] = (unsigned char)(v >> 24);
}

static int case_damaged_lengths(void)
{
    static const char *const l[] = {"[client]\n", "user = \"bob\"\n", NULL};
    image im;
    lines(&im, l);
    static const struct {
        unsigned v;
        const char *want;
    } bad[] = {
        {0, "the chunk at byte 24 claims 0 bytes"},
        {15, "the chunk at byte 24 claims 15 bytes"},
        {17, "claims 17 bytes (not a multiple of 16 from 16 to 4096): the file is damaged"},
        {4112, "claims 4112 bytes"},
        {0xFFFFFFF0u, "claims -16 bytes"},
        {0x80000000u, "claims -2147483648 bytes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        image d = im;
        set_len(&d, 24, bad[i].v);
        if (!parse_is(&d, NULL, bad[i].want)) return 0;
    }
    return 1;
}

static int case_does_not_decrypt(void)
{
    static const char *const l[] = {"[client]\n", "user = \"bob\"\n", NULL};
    image im;
    lines(&im, l);
    image other = im;
    other.b[4] ^= 0x55; /* another key */
    if (!parse_is(&other, NULL, "the chunk at byte 24 does not decrypt")) return 0;
    image flipped = im;
    flipped.b[im.n - 1] ^= 0x01; /* the last block of the last chunk: its padding breaks */
    if (!parse_is(&flipped, NULL, "the chunk at byte 44 does not decrypt")) return 0;
    /* a chunk under another key after good ones: refused, not half read */
    static const unsigned char k2[20] = {1};
    image mixed = im;
    chunk(&mixed, k2, "password=x\n", 11);
    return parse_is(&mixed, NULL, "the chunk at byte 64 does not decrypt");
}

static int case_lines_the_parser_refuses(void)
{
    static const char *const before[] = {"user = \"bob\"\n", NULL};
    image im;
    lines(&im, before);
    if (!parse_is(&im, NULL, "t.mylogin:1: an option before any [group]")) return 0;
    image nul;
    start(&nul, file_key);
    chunk(&nul, file_key, "[c]\n", 4);
    chunk(&nul, file_key, "a=b\0c\n", 6);
    return parse_is(&nul, NULL, "t.mylogin:2: a NUL byte");
}

static int case_longest_chunk(void)
{
    /* 4095 bytes pad to 4096, MySQL's longest; 4096 bytes pad to 4112 */
    static char line[4097], want[4200];
    memset(line, 'v', sizeof line);
    memcpy(line, "k=", 2);
    line[4094] = '\n';
    image im;
    start(&im, file_key);
    chunk(&im, file_key, "[c]\n", 4);
    chunk(&im, file_key, line, 4095);
    snprintf(want, sizeof want, "c|k|%.4092s\n", line + 2);
    if (!parse_is(&im, want, NULL)) return 0;
    line[4095] = '\n';
    image big;
    start(&big, file_key);
    chunk(&big, file_key, line, 4096);
    return parse_is(&big, NULL, "the chunk at byte 24 claims 4112 bytes");
}

static int case_callback_stops(void)
{
    static const char *const l[] = {"[client]\n", "user=a\n", "host=b\n", NULL};
    image im;
    lines(&im, l);
    seen s;
    memset(&s, 0, sizeof s);
    s.stop_at = 2;
    myl_optfile_hooks h = {collect, NULL, &s};
    myl_error err;
    myl_error_clear(&err);
    if (myl_mylogin_parse(im.b, im.n, "t.mylogin", &h, &err) != -1) return fail("not stopped");
    return strcmp(s.text, "client|user|a\n") == 0 ? 1 : fail("gave %s", s.text);
}

/* ---- the reader ------------------------------------------------------------------ */

static char dir[256];

static void put(const char *name, const image *im, mode_t mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(im->b, 1, im->n, f) != im->n || fclose(f) || chmod(path, mode)) exit(2);
}

static int read_is(const char *name, int want_rc, const char *want, const char *want_msg)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    seen s;
    memset(&s, 0, sizeof s);
    myl_optfile_hooks h = {collect, NULL, &s};
    myl_error err;
    myl_error_clear(&err);
    int rc = myl_mylogin_read(path, &h, &err);
    if (rc != want_rc) return fail("%s: returned %d, wanted %d (%s)", name, rc, want_rc, err.message);
    if (want && strcmp(s.text, want)) return fail("%s gave:\n%s\nwanted:\n%s", name, s.text, want);
    if (!want && s.len) return fail("%s gave options:\n%s", name, s.text);
    if (want_msg && !strstr(err.message, want_msg))
        return fail("%s: message \"%s\", wanted \"%s\"", name, err.message, want_msg);
    if (want_msg && !strstr(err.message, name)) return fail("%s: \"%s\" does not name it", name, err.message);
    return 1;
}

static int case_reader(void)
{
    static const char *const l[] = {"[client]\n", "user = \"bob\"\n", NULL};
    image im;
    lines(&im, l);
    put("good.cnf", &im, 0600);
    put("owner-only-exec.cnf", &im, 0700);
    put("group-read.cnf", &im, 0640);
    put("other-read.cnf", &im, 0604);
    put("group-exec.cnf", &im, 0610);
    put("world-write.cnf", &im, 0602);
    image cut = im;
    cut.n -= 3;
    put("cut.cnf", &cut, 0600);
    image huge;
    start(&huge, file_key);
    huge.n = sizeof huge.b;
    FILE *f;
    char path[512];
    snprintf(path, sizeof path, "%s/huge.cnf", dir);
    if (!(f = fopen(path, "wb"))) exit(2);
    for (int i = 0; i < 17; i++) fwrite(huge.b, 1, huge.n, f); /* 1.06 MiB */
    fclose(f);
    chmod(path, 0600);
    snprintf(path, sizeof path, "%s/a-directory.cnf", dir);
    mkdir(path, 0700);
    return read_is("good.cnf", MYL_MYLOGIN_READ, "client|user|bob\n", NULL) &&
           read_is("owner-only-exec.cnf", MYL_MYLOGIN_READ, "client|user|bob\n", NULL) &&
           read_is("group-read.cnf", MYL_MYLOGIN_REFUSED, NULL,
                   "should be readable/writable only by its owner (mode 640); ignored") &&
           read_is("other-read.cnf", MYL_MYLOGIN_REFUSED, NULL, "(mode 604)") &&
           read_is("group-exec.cnf", MYL_MYLOGIN_REFUSED, NULL, "(mode 610)") &&
           read_is("world-write.cnf", MYL_MYLOGIN_REFUSED, NULL, "(mode 602)") &&
           read_is("cut.cnf", -1, NULL, "cut short in the chunk at byte 44") &&
           read_is("huge.cnf", -1, NULL, "larger than 1 MiB") &&
           read_is("a-directory.cnf", -1, NULL, "not a regular file") &&
           read_is("absent.cnf", MYL_MYLOGIN_MISSING, NULL, NULL);
}

static int case_default_path(void)
{
    char buf[512];
    setenv("MYSQL_TEST_LOGIN_FILE", "/x/login.cnf", 1);
    const char *p = myl_mylogin_default_path(buf, sizeof buf);
    if (!p || strcmp(p, "/x/login.cnf")) return fail("MYSQL_TEST_LOGIN_FILE: %s", p ? p : "NULL");
    unsetenv("MYSQL_TEST_LOGIN_FILE");
    setenv("HOME", "/home/someone", 1);
    p = myl_mylogin_default_path(buf, sizeof buf);
    if (!p || strcmp(p, "/home/someone/.mylogin.cnf")) return fail("HOME: %s", p ? p : "NULL");
    if (myl_mylogin_default_path(buf, 10)) return fail("a path that does not fit was written");
    return 1;
}

/* ---- print mode --------------------------------------------------------------------- */

static int print_mode(const char *path)
{
    seen s;
    memset(&s, 0, sizeof s);
    myl_optfile_hooks h = {collect, NULL, &s};
    myl_error err;
    myl_error_clear(&err);
    int rc = myl_mylogin_read(path, &h, &err);
    fputs(s.text, stdout);
    switch (rc) {
    case MYL_MYLOGIN_READ: printf("status: read\n"); return 0;
    case MYL_MYLOGIN_MISSING: printf("status: missing\n"); return 0;
    case MYL_MYLOGIN_REFUSED: printf("refused: %s\n", err.message); return 3;
    default: printf("error: %s\n", err.message); return 1;
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "print") == 0) return print_mode(argv[2]);
    snprintf(dir, sizeof dir, "/tmp/test-mylogin.XXXXXX");
    if (!mkdtemp(dir)) return 2;
    run("[client] and [NAME] login paths with user, password, host, port, socket", case_login_paths);
    run("values in double quotes as mysql_config_editor writes them", case_values_as_the_editor_writes_them);
    run("each chunk is a line; comments; !include ignored", case_chunks_are_lines);
    run("an empty file and a header alone hold no options", case_empty_files);
    run("a header, a length or a chunk cut short is an error naming the byte", case_cut_short);
    run("chunk lengths not a multiple of 16 from 16 to 4096 are errors", case_damaged_lengths);
    run("a chunk that does not decrypt (other key, flipped byte) is an error", case_does_not_decrypt);
    run("lines the option-file parser refuses are errors with their line", case_lines_the_parser_refuses);
    run("a chunk of 4096 bytes is read, one of 4112 refused", case_longest_chunk);
    run("the option callback can stop the read", case_callback_stops);
    run("the reader: permissions as MySQL, size bound, cut files, missing", case_reader);
    run("the default path: MYSQL_TEST_LOGIN_FILE, then HOME", case_default_path);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) return 2;
    return cases_summary();
}
