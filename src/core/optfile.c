/* Option files: the line parser (pure) and the reader that follows
 * includes.  See optfile.h for the syntax. */
#include "optfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int same_word(const char *a, const char *b)
{
    while (*a && *b && lower((unsigned char)*a) == lower((unsigned char)*b)) a++, b++;
    return *a == 0 && *b == 0;
}

int myl_optfile_bool(const char *v)
{
    if (!v) return -1;
    if (same_word(v, "1") || same_word(v, "on") || same_word(v, "true")) return 1;
    if (same_word(v, "0") || same_word(v, "off") || same_word(v, "false")) return 0;
    return -1;
}

size_t myl_optfile_key(const char *key, char *out, size_t cap, int *loose)
{
    *loose = 0;
    if (strncmp(key, "loose-", 6) == 0 || strncmp(key, "loose_", 6) == 0) {
        *loose = 1;
        key += 6;
    }
    size_t n = strlen(key);
    if (n == 0 || n + 1 > cap) return 0;
    for (size_t i = 0; i < n; i++) out[i] = key[i] == '_' ? '-' : key[i];
    out[n] = '\0';
    return n;
}

/* Where a '#' outside quotes starts a comment, or the end. */
static char *end_comment(char *p)
{
    char quote = 0;
    int escaped = 0;
    for (; *p; p++) {
        if ((*p == '\'' || *p == '"') && !escaped) {
            if (!quote) quote = *p;
            else if (quote == *p) quote = 0;
        }
        if (!quote && *p == '#') return p;
        escaped = quote && *p == '\\' && !escaped;
    }
    return p;
}

/* The value between v and end, without the quotes around it and with its
 * escapes read, written over itself from v (it only shrinks). */
static void unquote(char *v, char *end)
{
    const char *src = v;
    if ((*v == '"' || *v == '\'') && v + 1 < end && end[-1] == *v) {
        src++;
        end--;
    }
    char *dst = v;
    for (; src != end; src++) {
        if (*src == '\\' && src != end - 1) {
            switch (*++src) {
            case 'n': *dst++ = '\n'; break;
            case 't': *dst++ = '\t'; break;
            case 'r': *dst++ = '\r'; break;
            case 'b': *dst++ = '\b'; break;
            case 's': *dst++ = ' '; break;
            case '"': *dst++ = '"'; break;
            case '\'': *dst++ = '\''; break;
            case '\\': *dst++ = '\\'; break;
            default: /* not an escape: both characters stay */
                *dst++ = '\\';
                *dst++ = *src;
            }
        } else {
            *dst++ = *src;
        }
    }
    *dst = '\0';
}

static int fail(myl_error *err, const char *name, unsigned line, const char *what)
{
    myl_error_set(err, 2000, "%s:%u: %s", name, line, what);
    return -1;
}

/* One line (NUL-terminated, no newline), which may be changed in place. */
static int parse_line(char *p, const char *name, unsigned line, unsigned depth,
                      char *group, size_t group_cap, int *in_group, const myl_optfile_hooks *h,
                      myl_error *err)
{
    while (is_space(*p)) p++;
    if (*p == '#' || *p == ';' || *p == '\0') return 0;
    if (*p == '!') {
        for (p++; is_space(*p); p++) continue;
        int is_dir;
        size_t kw;
        if (strncmp(p, "includedir", 10) == 0 && is_space(p[10])) is_dir = 1, kw = 10;
        else if (strncmp(p, "include", 7) == 0 && is_space(p[7])) is_dir = 0, kw = 7;
        else return 0; /* another directive: ignored, as the server's parser does */
        char *path = p + kw;
        while (is_space(*path)) path++;
        char *end = path + strlen(path);
        while (end > path && is_space(end[-1])) end--;
        *end = '\0';
        if (!*path) return fail(err, name, line, is_dir ? "'!includedir' names no directory"
                                                       : "'!include' names no file");
        if (!h->include) return 0;
        return h->include(h->ud, path, is_dir, depth, err) ? -1 : 0;
    }
    if (*p == '[') {
        char *end = strchr(++p, ']');
        if (!end) return fail(err, name, line, "a group without its ']'");
        while (end > p && is_space(end[-1])) end--;
        size_t n = (size_t)(end - p);
        if (n >= group_cap) n = group_cap - 1;
        memcpy(group, p, n);
        group[n] = '\0';
        *in_group = 1;
        return 0;
    }
    if (!*in_group) return fail(err, name, line, "an option before any [group]");
    char *end = end_comment(p);
    *end = '\0';
    char *value = strchr(p, '=');
    char *key_end = value ? value : end;
    while (key_end > p && is_space(key_end[-1])) key_end--;
    if (key_end == p) return fail(err, name, line, "an option without a name");
    *key_end = '\0';
    if (value) {
        char *v = value + 1;
        while (is_space(*v)) v++;
        char *v_end = v + strlen(v);
        while (v_end > v && is_space(v_end[-1])) v_end--;
        unquote(v, v_end);
        return h->option(h->ud, group, p, v, name, line) ? -1 : 0;
    }
    return h->option(h->ud, group, p, NULL, name, line) ? -1 : 0;
}

int myl_optfile_parse(const char *text, size_t n, const char *name, unsigned depth,
                      const myl_optfile_hooks *h, myl_error *err)
{
    char group[256] = "";
    int in_group = 0;
    char buf[MYL_OPTFILE_MAX_LINE + 1];
    unsigned line = 0;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && text[i] != '\n') i++;
        size_t len = i - start;
        if (i < n) i++; /* the newline */
        line++;
        if (len > MYL_OPTFILE_MAX_LINE) return fail(err, name, line, "a line longer than 4096 bytes");
        if (memchr(text + start, '\0', len)) return fail(err, name, line, "a NUL byte");
        memcpy(buf, text + start, len);
        buf[len] = '\0';
        if (parse_line(buf, name, line, depth, group, sizeof group, &in_group, h, err)) {
            OPENSSL_cleanse(buf, sizeof buf);
            return -1;
        }
    }
    /* the lines may hold passwords (a login file's are decrypted) */
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Files and includes */

#define MAX_FILE_BYTES ((size_t)16 << 20) /* no option file is anywhere near */

typedef struct reader {
    const myl_optfile_hooks *user;
    struct stat open[MYL_OPTFILE_MAX_DEPTH + 1]; /* the files being read, outermost first */
} reader;

static int read_file(reader *r, const char *path, unsigned depth, myl_error *err);

static int name_order(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_cnf(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".cnf") == 0;
}

/* The files of dir ending in ".cnf", in name order. */
static int read_dir(reader *r, const char *dir, unsigned depth, myl_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        myl_error_set(err, 2000, "cannot open option directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (!ends_cnf(e->d_name)) continue;
        if (n == cap) {
            size_t c = cap ? cap * 2 : 16;
            char **q = realloc(names, c * sizeof *q);
            if (!q) rc = -1;
            else names = q, cap = c;
        }
        if (rc == 0 && !(names[n] = strdup(e->d_name))) rc = -1;
        if (rc == 0) n++;
    }
    closedir(d);
    if (rc) myl_error_set(err, 2008, "out of memory reading option directory '%s'", dir);
    if (rc == 0 && n) qsort(names, n, sizeof *names, name_order);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            size_t len = strlen(dir) + 1 + strlen(names[i]) + 1;
            char *path = malloc(len);
            if (!path) {
                myl_error_set(err, 2008, "out of memory reading option directory '%s'", dir);
                rc = -1;
            } else {
                snprintf(path, len, "%s/%s", dir, names[i]);
                rc = read_file(r, path, depth, err);
                free(path);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* The reader's hooks take the reader; options go on to the caller's. */
static int forward_option(void *ud, const char *group, const char *key, const char *value,
                          const char *file, unsigned line)
{
    const reader *r = ud;
    return r->user->option(r->user->ud, group, key, value, file, line);
}

static int on_include(void *ud, const char *path, int is_dir, unsigned depth, myl_error *err)
{
    reader *r = ud;
    if (depth + 1 > MYL_OPTFILE_MAX_DEPTH) {
        myl_error_set(err, 2000, "'%s' is included more than %d levels deep", path,
                      MYL_OPTFILE_MAX_DEPTH);
        return -1;
    }
    return is_dir ? read_dir(r, path, depth + 1, err) : read_file(r, path, depth + 1, err);
}

static int read_file(reader *r, const char *path, unsigned depth, myl_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        myl_error_set(err, 2000, "cannot read option file '%s': %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_FILE_BYTES) {
        myl_error_set(err, 2000, "option file '%s' is %s", path,
                      S_ISREG(st.st_mode) ? "larger than 16 MiB" : "not a regular file");
        close(fd);
        return -1;
    }
    for (unsigned i = 0; i < depth; i++)
        if (r->open[i].st_dev == st.st_dev && r->open[i].st_ino == st.st_ino) {
            myl_error_set(err, 2000, "option file '%s' includes itself (through its includes)",
                          path);
            close(fd);
            return -1;
        }
    r->open[depth] = st;
    size_t size = (size_t)st.st_size, got = 0;
    char *text = malloc(size ? size : 1);
    if (!text) {
        close(fd);
        myl_error_set(err, 2008, "out of memory reading option file '%s'", path);
        return -1;
    }
    while (got < size) {
        ssize_t k = read(fd, text + got, size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    myl_optfile_hooks h = {forward_option, on_include, r};
    int rc = myl_optfile_parse(text, got, path, depth, &h, err);
    OPENSSL_cleanse(text, size ? size : 1); /* passwords */
    free(text);
    return rc;
}

int myl_optfile_read(const char *path, const myl_optfile_hooks *h, myl_error *err)
{
    reader r;
    memset(&r, 0, sizeof r);
    r.user = h;
    return read_file(&r, path, 0, err);
}
