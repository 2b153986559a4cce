/* The option files a client reads (see defaults.h). */
#include "defaults.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mylogin.h"
#include "optfile.h"

const char *const myl_defaults_client_groups[] = {"client", "client-server", "client-mariadb",
                                                  "mysql", "mariadb-client", NULL};

enum { MAX_DIRS = 6, MAX_PATH = 4096 };

typedef struct reading {
    const myl_defaults *d;
    const char *suffix;
    const char *const *groups; /* the shared groups of the files being read */
    myl_error *err;
} reading;

/* a[0..n) and b[0..n) are the same letters, case aside. */
static int same_letters(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (y >= 'A' && y <= 'Z') y += 32;
        if (x != y) return 0;
    }
    return 1;
}

/* Whether `group` is `name`, or `name` followed by the suffix. */
static int is_group(const reading *r, const char *group, const char *name)
{
    size_t g = strlen(group), n = strlen(name);
    if (g == n) return same_letters(group, name, n);
    size_t s = r->suffix ? strlen(r->suffix) : 0;
    return s && g == n + s && same_letters(group, name, n) &&
           same_letters(group + n, r->suffix, s);
}

static int on_option(void *ud, const char *group, const char *key, const char *value,
                     const char *file, unsigned line)
{
    reading *r = ud;
    const myl_defaults *d = r->d;
    int own = d->own_group && is_group(r, group, d->own_group);
    int shared = 0;
    for (size_t i = 0; !own && !shared && r->groups && r->groups[i]; i++)
        shared = is_group(r, group, r->groups[i]);
    if (!own && !shared) return 0;
    return d->option(d->ud, key, value, file, line, own, r->err);
}

/* Reads path if it is there: a file that is missing is no error unless
 * `required`; a world-writable one is skipped with a warning, as the
 * server's own files could otherwise be planted by anyone. */
static int read_one(reading *r, const char *path, int required)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (!required) return 0;
        myl_error_set(r->err, 2000, "could not open required defaults file '%s': %s", path,
                      strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode) && (st.st_mode & S_IWOTH)) {
        if (r->d->warn) {
            char msg[MAX_PATH + 64];
            snprintf(msg, sizeof msg, "World-writable config file '%s' is ignored", path);
            r->d->warn(r->d->ud, msg);
        }
        return 0;
    }
    myl_optfile_hooks h = {on_option, NULL, r};
    return myl_optfile_read(path, &h, r->err);
}

/* Appends dir (with a '/' at its end) to dirs, first removing it from an
 * earlier place: a directory named twice is read once, at its later place. */
static void add_dir(char dirs[][MAX_PATH], size_t *n, const char *dir)
{
    char norm[MAX_PATH];
    size_t len = strlen(dir);
    if (len + 2 > sizeof norm) return; /* ignored, as too long a path is there */
    memcpy(norm, dir, len + 1);
    if (len && norm[len - 1] != '/') memcpy(norm + len, "/", 2);
    for (size_t i = 0; i < *n; i++) {
        if (strcmp(dirs[i], norm) == 0) {
            memmove(dirs[i], dirs[i + 1], (*n - i - 1) * sizeof dirs[0]);
            (*n)--;
            break;
        }
    }
    memcpy(dirs[(*n)++], norm, strlen(norm) + 1);
}

/* dir followed by name in out (size bytes); 0, or -1 when too long. */
static int join(char *out, size_t size, const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    if (a + b + 1 > size) return -1;
    memcpy(out, dir, a);
    memcpy(out + a, name, b + 1);
    return 0;
}

/* MySQL's login path file, last (MySQL reads it after ~/.my.cnf): the
 * groups [client], [mysql], the program's own and the login path's. */
static int read_login_file(reading *r)
{
    const myl_defaults *d = r->d;
    if (!d->login_reader) return 0;
    char path[MAX_PATH + 16];
    const char *file = getenv("MYSQL_TEST_LOGIN_FILE");
    const char *home = getenv("HOME");
    if (!file || !*file) {
        if (!home || !*home || join(path, sizeof path, home, "/.mylogin.cnf") < 0) return 0;
        file = path;
    }
    struct stat st;
    if (stat(file, &st) != 0) return 0;
    const char *groups[] = {"client", "mysql", d->login_path ? d->login_path : "client", NULL};
    r->groups = groups;
    myl_optfile_hooks h = {on_option, NULL, r};
    int rc = d->login_reader(file, &h, r->err);
    r->groups = d->groups;
    if (rc == MYL_MYLOGIN_REFUSED) { /* open to others: skipped, as MySQL's clients do */
        if (d->warn) d->warn(d->ud, r->err->message);
        memset(r->err, 0, sizeof *r->err);
        return 0;
    }
    return rc < 0 ? -1 : 0;
}

int myl_defaults_read(const myl_defaults *d, myl_error *err)
{
    reading r = {d, d->group_suffix ? d->group_suffix : getenv("MYSQL_GROUP_SUFFIX"), d->groups,
                 err};
    /* The login path file is read in every case, as MySQL's clients do:
     * it holds what a cron job must not have in a plain file. */
    if (d->no_defaults) return read_login_file(&r);
    if (d->defaults_file) {
        int rc = read_one(&r, d->defaults_file, 1);
        return rc ? rc : read_login_file(&r);
    }

    /* "" stands for the --defaults-extra-file, "~/" for the home directory. */
    char dirs[MAX_DIRS][MAX_PATH];
    size_t n = 0;
    add_dir(dirs, &n, "/etc/");
    add_dir(dirs, &n, "/etc/mysql/");
    const char *env = getenv("MARIADB_HOME");
    if (!env) env = getenv("MYSQL_HOME");
    if (env && *env) add_dir(dirs, &n, env);
    add_dir(dirs, &n, "");
    add_dir(dirs, &n, "~/");
    for (size_t i = 0; i < n; i++) {
        char path[MAX_PATH + 16];
        int rc = 0;
        if (dirs[i][0] == '\0') {
            if (d->extra_file) rc = read_one(&r, d->extra_file, 1);
        } else if (strcmp(dirs[i], "~/") == 0) {
            const char *home = getenv("HOME");
            if (home && *home) {
                const char *name = home[strlen(home) - 1] == '/' ? ".my.cnf" : "/.my.cnf";
                if (join(path, sizeof path, home, name) == 0) rc = read_one(&r, path, 0);
            }
        } else {
            if (join(path, sizeof path, dirs[i], "my.cnf") == 0) rc = read_one(&r, path, 0);
        }
        if (rc) return rc;
    }
    return read_login_file(&r);
}
