/* The host program's connection options (see options.h): the command
 * line's syntax here, the names, values and option files in the core
 * (clientopt.h, settings.h, defaults.h). */
#include "options.h"

#include <lauxlib.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "../core/mylogin.h"
#include "../lua/binding.h"
#include "../lua/settings_push.h"
#include "prompt.h"

/* The program's own group in the option files. */
#define OWN_GROUP "mylua"

void host_options_init(host_options *h)
{
    memset(h, 0, sizeof *h);
    myl_settings_init(&h->cli, HOST_FROM_COMMAND_LINE);
    myl_settings_init(&h->all, HOST_FROM_ENV);
    h->files.groups = myl_defaults_client_groups;
    h->files.own_group = OWN_GROUP;
    h->files.login_reader = myl_mylogin_read; /* ~/.mylogin.cnf, and --login-path */
    h->prompt_timeout = HOST_PROMPT_TIMEOUT;
}

void host_options_free(host_options *h)
{
    myl_settings_free(&h->cli);
    myl_settings_free(&h->all);
}

static const char *after(const char *arg, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(arg, prefix, n) == 0 ? arg + n : NULL;
}

static const char *const leading[] = {"--no-defaults", "--defaults-file", "--defaults-extra-file",
                                      "--defaults-group-suffix", "--login-path",
                                      "--no-login-paths", "--print-defaults", NULL};

int host_options_is_leading(const char *arg)
{
    for (size_t k = 0; leading[k]; k++) {
        size_t n = strlen(leading[k]);
        if (strncmp(arg, leading[k], n) == 0 && (arg[n] == '\0' || arg[n] == '=')) return 1;
    }
    return 0;
}

int host_options_leading(host_options *h, int argc, char **argv)
{
    int i = 1;
    myl_defaults *d = &h->files;
    /* --no-defaults first and without the --defaults-* options, as the
     * mariadb client has it; --login-path (MySQL's) may follow it. */
    if (i < argc && strcmp(argv[i], "--no-defaults") == 0) d->no_defaults = 1, i++;
    for (; i < argc; i++) {
        const char *v;
        if (d->no_defaults && !after(argv[i], "--login-path=")) break;
        if (!d->defaults_file && (v = after(argv[i], "--defaults-file="))) d->defaults_file = v;
        else if (!d->extra_file && (v = after(argv[i], "--defaults-extra-file=")))
            d->extra_file = v;
        else if (!d->group_suffix && (v = after(argv[i], "--defaults-group-suffix=")))
            d->group_suffix = v;
        else if (!d->login_path && (v = after(argv[i], "--login-path="))) d->login_path = v;
        else break;
    }
    /* As MySQL 8.4's clients: the login path file is read even with
     * --no-defaults or --defaults-file, unless this says otherwise. */
    if (i < argc && strcmp(argv[i], "--no-login-paths") == 0) {
        d->login_reader = NULL;
        i++;
    }
    if (i < argc && strcmp(argv[i], "--print-defaults") == 0) {
        h->print_defaults = 1;
        i++;
    }
    return i - 1;
}

/* An option's value: the one after '=' if given, else the next argument
 * (moving *i on); NULL with err when there is none. */
static const char *option_value(const char *shown, const char *value, int argc, char **argv,
                                int *i, char *err, size_t errsz)
{
    if (value) return value;
    if (*i + 1 >= argc) {
        snprintf(err, errsz, "option '%s' needs a value", shown);
        return NULL;
    }
    return argv[++*i];
}

static int set(host_options *h, const myl_clientopt *c, int negated, const char *value,
               const char *shown, char *err, size_t errsz)
{
    myl_error e;
    if (myl_settings_set(&h->cli, c, negated, value, shown, &e) == 0) return 1;
    snprintf(err, errsz, "%s", e.message);
    return -1;
}

/* -hNAME, -h NAME, -pPASS, -p, -C, and switches bundled (-Cp). */
static int parse_short(host_options *h, int argc, char **argv, int *i, char *err, size_t errsz)
{
    const char *arg = argv[*i];
    for (const char *p = arg + 1; *p; p++) {
        const myl_clientopt *c = myl_clientopt_short(*p);
        if (!c) {
            if (p == arg + 1) return 0; /* not ours: the caller's */
            snprintf(err, errsz, "unknown option '-%c' (in '%s')", *p, arg);
            return -1;
        }
        char shown[3] = {'-', *p, '\0'};
        if (c->arg == MYL_CLI_ARG_NONE) {
            if (set(h, c, 0, NULL, shown, err, errsz) < 0) return -1;
            continue;
        }
        const char *value = p[1] ? p + 1 : NULL;
        if (c->arg == MYL_CLI_ARG_REQUIRED &&
            !(value = option_value(shown, value, argc, argv, i, err, errsz)))
            return -1;
        return set(h, c, 0, value, shown, err, errsz);
    }
    return 1;
}

int host_options_parse(host_options *h, int argc, char **argv, int *i, char *err, size_t errsz)
{
    const char *arg = argv[*i];
    if (arg[0] == '-' && arg[1] != '-' && arg[1] != '\0')
        return parse_short(h, argc, argv, i, err, errsz);
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') return 0;

    /* The name, dashes for underscores, and the value after '=' if any. */
    char name[64];
    const char *eq = strchr(arg + 2, '=');
    size_t len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
    if (len >= sizeof name) return 0;
    for (size_t k = 0; k < len; k++) name[k] = arg[2 + k] == '_' ? '-' : arg[2 + k];
    name[len] = '\0';
    const char *value = eq ? eq + 1 : NULL;
    int loose = strncmp(name, "loose-", 6) == 0;
    const char *bare = loose ? name + 6 : name;

    int negated;
    const myl_clientopt *c = myl_settings_lookup(bare, strlen(bare), &negated);
    if (!c) {
        if (!loose) return 0;
        fprintf(stderr, "mylua: [Warning] ignoring unknown option '--%s'\n", bare);
        return 1;
    }
    char shown[72];
    snprintf(shown, sizeof shown, "--%s", bare);
    if (c->arg == MYL_CLI_ARG_REQUIRED && !negated &&
        !(value = option_value(shown, value, argc, argv, i, err, errsz)))
        return -1;
    return set(h, c, negated, value, shown, err, errsz);
}

const char *host_options_suggest(const char *arg, char *buf, size_t size)
{
    buf[0] = '\0';
    if (strncmp(arg, "--", 2) != 0) return buf;
    const char *name = arg + 2;
    size_t len = strcspn(name, "=");
    const char *near = myl_clientopt_suggest(name, len);
    if (near) snprintf(buf, size, " (did you mean '--%s'?)", near);
    return buf;
}

/* ---- the environment and the option files ---- */

static int env_layer(myl_settings *env, myl_error *e)
{
    static const struct { const char *var, *option; } vars[] = {
        {"MYSQL_HOST", "host"},
        {"MYSQL_TCP_PORT", "port"},
        {"MYSQL_UNIX_PORT", "socket"},
        {"MYSQL_PWD", "password"},
    };
    for (size_t k = 0; k < sizeof vars / sizeof vars[0]; k++) {
        const char *v = getenv(vars[k].var);
        if (!v || !*v) continue;
        const myl_clientopt *c = myl_clientopt_find(vars[k].option, strlen(vars[k].option));
        if (myl_settings_set(env, c, 0, v, vars[k].var, e) < 0) return -1;
    }
    return 0;
}

static void warn(void *ud, const char *message)
{
    (void)ud;
    fprintf(stderr, "mylua: [Warning] %s\n", message);
}

int host_options_finish(host_options *h, char *err, size_t errsz)
{
    myl_error e;
    memset(&e, 0, sizeof e);
    myl_settings env, files;
    myl_settings_init(&env, HOST_FROM_ENV);
    myl_settings_init(&files, HOST_FROM_FILES);
    h->files.warn = warn;
    int rc = myl_settings_finish(&h->cli, &e);
    if (rc == 0) rc = env_layer(&env, &e);
    if (rc == 0) rc = myl_settings_read_files(&files, &h->files, &e);
    if (rc == 0 && (myl_settings_merge(&h->all, &env) < 0 || myl_settings_merge(&h->all, &files) < 0 ||
                    myl_settings_merge(&h->all, &h->cli) < 0)) {
        myl_error_set(&e, 2008, "out of memory reading the options");
        rc = -1;
    }
    myl_settings_free(&env);
    myl_settings_free(&files);
    if (rc < 0) {
        snprintf(err, errsz, "%s", e.message);
        return -1;
    }
    const myl_setting *v = myl_settings_get(&h->all, "auth-hook");
    if (v) h->auth_hook = v->text;
    if ((v = myl_settings_get(&h->all, "prompt-timeout"))) h->prompt_timeout = atoi(v->text);
    /* The mariadb client says nothing about MYSQL_PWD; MySQL's warns of a
     * password given where others may see it, as this does. */
    if ((v = myl_settings_get(&h->all, "password")) && v->source == HOST_FROM_ENV)
        fprintf(stderr, "mylua: [Warning] Using a password from MYSQL_PWD can be insecure.\n");
    return 0;
}

int host_options_ask_password(host_options *h, char *err, size_t errsz)
{
    if (!h->all.ask_password) return 0;
    char buf[1024];
    char why[160];
    long n = host_prompt_ask("Enter password:", 0, h->prompt_timeout, buf, sizeof buf, why,
                             sizeof why);
    if (n < 0) {
        snprintf(err, errsz, "cannot read the password (-p): %s", why);
        return -1;
    }
    int rc = myl_settings_set_password(&h->all, buf, (size_t)n, HOST_FROM_TERMINAL);
    OPENSSL_cleanse(buf, sizeof buf);
    if (rc < 0) snprintf(err, errsz, "out of memory");
    return rc;
}

/* ---- --print-defaults ---- */

static int print_option(void *ud, const char *key, const char *value, const char *file,
                        unsigned line, int own, myl_error *err)
{
    (void)ud, (void)file, (void)line, (void)own, (void)err;
    printf("--%s%s%s ", key, value ? "=" : "", value ? value : "");
    return 0;
}

int host_options_print_defaults(host_options *h, int argc, char **argv, int first, char *err,
                                size_t errsz)
{
    myl_error e;
    memset(&e, 0, sizeof e);
    myl_defaults d = h->files;
    d.option = print_option;
    d.warn = warn;
    printf("%s would have been started with the following arguments:\n", argv[0]);
    if (myl_defaults_read(&d, &e) < 0) {
        fflush(stdout);
        snprintf(err, errsz, "%s", e.message);
        return -1;
    }
    for (int k = first; k < argc; k++) printf("%s ", argv[k]);
    printf("\n");
    return 0;
}

void host_options_push(lua_State *L, const host_options *h)
{
    myl_lua_push_settings(L, &h->all);
    lua_setfield(L, LUA_REGISTRYINDEX, MYL_HOST_DEFAULTS);
}

void host_options_help(FILE *out)
{
    myl_clientopt_help(out);
    fputs("\nOption files (first on the command line, as the mariadb client takes them):\n"
          "  --no-defaults             read no option file\n"
          "  --defaults-file=FILE      read only this file\n"
          "  --defaults-extra-file=FILE\n"
          "                            read this file too, before ~/.my.cnf\n"
          "  --defaults-group-suffix=S also read the groups with S appended\n"
          "  --login-path=NAME         the group of the login path file to read\n"
          "  --no-login-paths          do not read the login path file\n"
          "  --print-defaults          print what the option files give, and exit\n"
          "  The files, in order: /etc/my.cnf, /etc/mysql/my.cnf, $MARIADB_HOME/my.cnf\n"
          "  (or $MYSQL_HOME/my.cnf), the --defaults-extra-file, ~/.my.cnf, and last\n"
          "  MySQL's login path file ~/.mylogin.cnf (or $MYSQL_TEST_LOGIN_FILE; read\n"
          "  even with --no-defaults, as MySQL's clients do); their groups\n"
          "  [client], [client-server], [client-mariadb], [mysql], [mariadb-client] and\n"
          "  [mylua] (where an unknown option is an error).  The environment's\n"
          "  MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_UNIX_PORT and MYSQL_PWD rank below the\n"
          "  files, the command line above them, a script's connect table above all.\n",
          out);
}
