/* The host program's connection options (see options.h). */
#include "options.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../core/compress.h"
#include "../lua/binding.h"
#include "prompt.h"

/* The TLS switches that combine into ssl_mode. */
enum { SWITCH_NONE, SWITCH_SSL, SWITCH_VERIFY };

/* A command-line option: its name without "--" (dashes; an underscore is
 * read as a dash, as the mysql client does), and the core option it sets,
 * or the switch it is.  The kind of value comes from the core's table. */
typedef struct cli_option {
    const char *name;
    const char *core;
    int sw;
} cli_option;

static const cli_option cli_options[] = {
    {"ssl", NULL, SWITCH_SSL},
    {"ssl-verify-server-cert", NULL, SWITCH_VERIFY},
    {"ssl-mode", "ssl_mode", SWITCH_NONE},
    {"ssl-ca", "ssl_ca", SWITCH_NONE},
    {"ssl-capath", "ssl_capath", SWITCH_NONE},
    {"ssl-cert", "ssl_cert", SWITCH_NONE},
    {"ssl-key", "ssl_key", SWITCH_NONE},
    {"ssl-cipher", "ssl_cipher", SWITCH_NONE},
    {"tls-ciphersuites", "ssl_ciphersuites", SWITCH_NONE},
    {"tls-version", "tls_version", SWITCH_NONE},
    {"ssl-crl", "ssl_crl", SWITCH_NONE},
    {"ssl-crlpath", "ssl_crlpath", SWITCH_NONE},
    {"ssl-fp", "ssl_fingerprint", SWITCH_NONE},
    {"ssl-fplist", "ssl_fingerprint_list", SWITCH_NONE},
    {"compress", "compress", SWITCH_NONE},
    {"compression-algorithms", "compression_algorithms", SWITCH_NONE},
    {"zstd-compression-level", "zstd_compression_level", SWITCH_NONE},
    {"enable-cleartext-plugin", "allow_cleartext", SWITCH_NONE},
    {"server-public-key-path", "server_public_key", SWITCH_NONE},
    {"get-server-public-key", "get_server_public_key", SWITCH_NONE},
    {"local-infile", "local_infile", SWITCH_NONE},
    {"load-data-local-dir", "local_infile_dir", SWITCH_NONE},
    {NULL, NULL, SWITCH_NONE},
};

/* The modes from weakest to strongest, as the core spells them. */
static const char *const modes[] = {"disabled", "preferred", "required", "verify_ca",
                                    "verify_identity"};
enum { MODE_DISABLED, MODE_PREFERRED, MODE_REQUIRED, MODE_VERIFY_CA, MODE_VERIFY_IDENTITY,
       NMODES };

const char host_options_help[] =
    "TLS and compression, as the mariadb and mysql clients take them (a value goes\n"
    "after '=' or as the next argument; the options of mylua.connect's table win):\n"
    "  --ssl                     use TLS: mode REQUIRED, unless --ssl-mode asks for more\n"
    "  --skip-ssl, --disable-ssl, --ssl=0\n"
    "                            do not use TLS\n"
    "  --ssl-mode=MODE           DISABLED, PREFERRED (the default), REQUIRED, VERIFY_CA or\n"
    "                            VERIFY_IDENTITY, in any case\n"
    "  --ssl-verify-server-cert  check the server's certificate and name (VERIFY_IDENTITY)\n"
    "  --ssl-ca=FILE             trusted CA certificates (PEM)\n"
    "  --ssl-capath=DIR          a directory of trusted CA certificates\n"
    "  --ssl-cert=FILE           client certificate (PEM)\n"
    "  --ssl-key=FILE            its private key (PEM)\n"
    "  --ssl-cipher=LIST         ciphers for TLS 1.2 and older (OpenSSL's names)\n"
    "  --tls-ciphersuites=LIST   cipher suites for TLS 1.3\n"
    "  --tls-version=LIST        versions allowed, e.g. TLSv1.2,TLSv1.3\n"
    "  --ssl-crl=FILE            certificate revocation list\n"
    "  --ssl-crlpath=DIR         a directory of revocation lists\n"
    "  --ssl-fp=HEX              the server certificate's SHA-256 (or SHA-1) fingerprint\n"
    "  --ssl-fplist=FILE         a file of accepted fingerprints, one per line\n"
    "  -C, --compress            compress the protocol when the server can\n"
    "  --compression-algorithms=LIST\n"
    "                            zlib, zstd, uncompressed (comma-separated)\n"
    "  --zstd-compression-level=N\n"
    "                            1 to 22\n"
    "\n"
    "Authentication:\n"
    "  --enable-cleartext-plugin allow sending the password in clear text on a channel\n"
    "                            that is not secure (mysql_clear_password, dialog)\n"
    "  --server-public-key-path=FILE\n"
    "                            the server's RSA public key (PEM), for sha256_password\n"
    "                            and caching_sha2_password without TLS\n"
    "  --get-server-public-key   may ask the server for that key instead\n"
    "  --auth-hook=FILE          a Lua file returning a table of auth callbacks (as the\n"
    "                            `auth` option of mylua.connect) for every connection\n"
    "  --prompt-timeout=SECONDS  how long a question asked on the terminal waits for its\n"
    "                            answer, 1 to 86400 (default 300)\n"
    "  A question of the server's dialog plugin that neither the password nor an auth\n"
    "  callback answers is asked on the terminal (/dev/tty, never standard input); with\n"
    "  no terminal the connect fails at once.\n"
    "\n"
    "LOAD DATA LOCAL INFILE (refused unless one of these is given):\n"
    "  --local-infile[=0|1]      send the file a LOAD DATA LOCAL INFILE statement names\n"
    "  --load-data-local-dir=DIR send only files under DIR (enough alone; with\n"
    "                            --local-infile too, files outside DIR stay refused)\n";

void host_options_init(host_options *h)
{
    memset(h, 0, sizeof *h);
    h->ssl = -1;
    h->verify_server_cert = -1;
    h->prompt_timeout = HOST_PROMPT_TIMEOUT;
}

static const cli_option *find_cli(const char *name)
{
    for (const cli_option *c = cli_options; c->name; c++)
        if (strcmp(c->name, name) == 0) return c;
    return NULL;
}

/* Whether the core option `opt` is set by a switch (--X, --X=0, --skip-X):
 * the booleans, and local_infile, which connect also takes as a function
 * but the command line only turns on or off. */
static int is_switch(const myl_option_info *opt)
{
    return opt->kind == MYL_OPT_BOOL || strcmp(opt->name, "local_infile") == 0;
}

/* The command line's value for opt: the slot to fill, replacing an earlier
 * one (the last of an option given twice wins). */
static host_option_value *slot(host_options *h, const myl_option_info *opt)
{
    for (size_t i = 0; i < h->nvalues; i++)
        if (h->values[i].opt == opt) return &h->values[i];
    /* Cannot overflow: there are fewer command-line options than slots. */
    host_option_value *v = &h->values[h->nvalues++];
    memset(v, 0, sizeof *v);
    v->opt = opt;
    return v;
}

/* A boolean's value as my_getopt takes them: 1/0, on/off, true/false. */
static int parse_flag(const char *s, int *flag)
{
    static const char *const yes[] = {"1", "on", "true"}, *const no[] = {"0", "off", "false"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(s, yes[i]) == 0) return *flag = 1, 1;
        if (strcasecmp(s, no[i]) == 0) return *flag = 0, 1;
    }
    return 0;
}

/* Stores `value` for the core option `opt` after the core's setter accepted
 * it (a scratch myl_options takes it), so the host refuses what connect
 * would refuse, in the same words.  Returns 0, or -1 with err. */
static int store(host_options *h, const char *shown, const myl_option_info *opt,
                 const char *value, char *err, size_t errsz)
{
    myl_options scratch;
    myl_options_init(&scratch);
    const char *wrong = NULL;
    host_option_value *v = NULL;
    switch (opt->kind) {
    case MYL_OPT_SSL_MODE: {
        char lower[24];
        size_t n = strlen(value);
        if (n >= sizeof lower) {
            wrong = opt->rule;
            break;
        }
        for (size_t i = 0; i <= n; i++) lower[i] = (char)tolower((unsigned char)value[i]);
        wrong = myl_option_set_string(&scratch, opt, lower, n);
        for (size_t m = 0; !wrong && m < NMODES; m++) {
            if (strcmp(lower, modes[m]) == 0) {
                v = slot(h, opt);
                v->text = modes[m];
                h->mode = modes[m];
            }
        }
        break;
    }
    case MYL_OPT_STRING: {
        wrong = myl_option_set_string(&scratch, opt, value, strlen(value));
        /* The algorithm list is read when connecting: read it now, with
         * connect's words for what is wrong. */
        myl_compress_plan plan;
        myl_error e;
        memset(&e, 0, sizeof e);
        if (!wrong && scratch.compression_algorithms &&
            myl_compress_plan_from(&scratch, &plan, &e) < 0) {
            snprintf(err, errsz, "option '%s=%s': %s", shown, value, e.message);
            return -1;
        }
        if (!wrong) (v = slot(h, opt))->text = value;
        break;
    }
    case MYL_OPT_INT: {
        /* Decimal digits only: strtod would also take "0x10", "1e1", "inf". */
        const char *p = value + (*value == '-' || *value == '+');
        size_t digits = strspn(p, "0123456789");
        double number = 0;
        if (digits == 0 || p[digits] != '\0' || digits > 9) {
            wrong = opt->rule;
            break;
        }
        for (size_t i = 0; i < digits; i++) number = number * 10 + (p[i] - '0');
        if (*value == '-') number = -number;
        wrong = myl_option_set_number(&scratch, opt, number);
        if (!wrong) (v = slot(h, opt))->number = number;
        break;
    }
    case MYL_OPT_BOOL:
    case MYL_OPT_FRONTEND: {
        int flag = 0;
        if (!is_switch(opt)) {
            wrong = opt->rule; /* no command-line option maps to the others */
            break;
        }
        if (!parse_flag(value, &flag)) {
            snprintf(err, errsz, "option '%s' takes 1 or 0 (on/off, true/false), not '%s'", shown,
                     value);
            return -1;
        }
        if (opt->kind == MYL_OPT_BOOL) wrong = myl_option_set_bool(&scratch, opt, flag);
        if (!wrong) (v = slot(h, opt))->flag = flag;
        break;
    }
    default:
        wrong = opt->rule; /* no command-line option maps to the other kinds */
        break;
    }
    if (wrong) {
        snprintf(err, errsz, "option '%s' %s, not '%s'", shown, wrong, value);
        return -1;
    }
    return 0;
}

/* Sets a TLS switch (flag 1: --ssl, 0: --skip-ssl), remembering how it was
 * spelled for the message about a contradiction. */
static void set_switch(host_options *h, const cli_option *c, int flag, const char *spelled)
{
    if (c->sw == SWITCH_SSL) {
        h->ssl = flag;
        h->ssl_switch = spelled;
    } else {
        h->verify_server_cert = flag;
    }
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

/* The options of the host program itself, which are no option of connect:
 * --auth-hook FILE (loaded once the Lua state exists) and
 * --prompt-timeout SECONDS.  Returns 1, or -1 with err. */
static int parse_host_only(host_options *h, const char *shown, const char *value, int argc,
                           char **argv, int *i, char *err, size_t errsz)
{
    if (!(value = option_value(shown, value, argc, argv, i, err, errsz))) return -1;
    if (strcmp(shown, "--auth-hook") == 0) {
        if (*value == '\0') {
            snprintf(err, errsz, "option '%s' needs a file name", shown);
            return -1;
        }
        h->auth_hook = value;
        return 1;
    }
    size_t digits = strspn(value, "0123456789");
    int seconds = 0;
    for (size_t k = 0; k < digits && k < 6; k++) seconds = seconds * 10 + (value[k] - '0');
    if (digits == 0 || digits > 5 || value[digits] != '\0' || seconds < 1 ||
        seconds > HOST_PROMPT_TIMEOUT_MAX) {
        snprintf(err, errsz, "option '%s' must be a whole number of seconds from 1 to %d, not '%s'",
                 shown, HOST_PROMPT_TIMEOUT_MAX, value);
        return -1;
    }
    h->prompt_timeout = seconds;
    return 1;
}

int host_options_parse(host_options *h, int argc, char **argv, int *i, char *err, size_t errsz)
{
    const char *arg = argv[*i];
    if (strcmp(arg, "-C") == 0) {
        host_option_value *v = slot(h, myl_option_find("compress", 8));
        v->flag = 1;
        return 1;
    }
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') return 0;

    /* The name, dashes for underscores, and the value after '=' if any. */
    char name[48];
    const char *eq = strchr(arg + 2, '=');
    size_t len = eq ? (size_t)(eq - (arg + 2)) : strlen(arg + 2);
    if (len >= sizeof name) return 0;
    for (size_t k = 0; k < len; k++) name[k] = arg[2 + k] == '_' ? '-' : arg[2 + k];
    name[len] = '\0';
    const char *value = eq ? eq + 1 : NULL;

    /* --skip-X, --disable-X, --enable-X: a boolean option set without a value. */
    static const char *const prefixes[] = {"skip-", "disable-", "enable-"};
    for (size_t p = 0; p < 3; p++) {
        size_t plen = strlen(prefixes[p]);
        if (strncmp(name, prefixes[p], plen) != 0) continue;
        const cli_option *c = find_cli(name + plen);
        if (!c) break; /* --enable-cleartext-plugin is its own name */
        const myl_option_info *opt = c->core ? myl_option_find(c->core, strlen(c->core)) : NULL;
        if (opt && !is_switch(opt)) return 0; /* --skip-ssl-ca is no option */
        if (value) {
            snprintf(err, errsz, "option '--%s' takes no value", name);
            return -1;
        }
        int flag = p == 2;
        if (opt) slot(h, opt)->flag = flag;
        else set_switch(h, c, flag, arg);
        return 1;
    }

    char shown[64];
    snprintf(shown, sizeof shown, "--%s", name);
    if (strcmp(name, "auth-hook") == 0 || strcmp(name, "prompt-timeout") == 0)
        return parse_host_only(h, shown, value, argc, argv, i, err, errsz);
    const cli_option *c = find_cli(name);
    if (!c) return 0;
    if (!c->core) { /* --ssl, --ssl-verify-server-cert: optionally =1 or =0 */
        int flag = 1;
        if (value && !parse_flag(value, &flag)) {
            snprintf(err, errsz, "option '%s' takes 1 or 0 (on/off, true/false), not '%s'", shown,
                     value);
            return -1;
        }
        set_switch(h, c, flag, arg);
        return 1;
    }
    const myl_option_info *opt = myl_option_find(c->core, strlen(c->core));
    if (is_switch(opt)) { /* --compress, --local-infile: a value only after '=' */
        return store(h, shown, opt, value ? value : "1", err, errsz) < 0 ? -1 : 1;
    }
    if (!(value = option_value(shown, value, argc, argv, i, err, errsz))) return -1;
    if (strcmp(opt->name, "server_public_key") == 0 && *value == '\0') {
        snprintf(err, errsz, "option '%s' needs a file name", shown);
        return -1;
    }
    if (strcmp(opt->name, "local_infile_dir") == 0 && *value == '\0') {
        snprintf(err, errsz, "option '%s' needs a directory name", shown);
        return -1;
    }
    return store(h, shown, opt, value, err, errsz) < 0 ? -1 : 1;
}

static size_t strength(const char *mode)
{
    for (size_t m = 0; m < NMODES; m++)
        if (strcmp(mode, modes[m]) == 0) return m;
    return MODE_PREFERRED;
}

/* "--ssl-mode=DISABLED", as messages show a mode. */
static const char *shown_mode(char *buf, size_t size, const char *mode)
{
    int k = snprintf(buf, size, "--ssl-mode=");
    for (size_t n = k > 0 ? (size_t)k : 0; *mode && n + 1 < size; mode++, n++) {
        buf[n] = (char)toupper((unsigned char)*mode);
        buf[n + 1] = '\0';
    }
    return buf;
}

int host_options_finish(host_options *h, char *err, size_t errsz)
{
    char asked_buf[40], refused_buf[40];
    const char *asked = NULL;   /* an option asking for TLS, for the message */
    const char *refused = NULL; /* an option refusing it */
    size_t want = NMODES;       /* NMODES: nothing said about TLS */
    if (h->mode) {
        want = strength(h->mode);
        if (want == MODE_DISABLED) refused = shown_mode(refused_buf, sizeof refused_buf, h->mode);
        else asked = shown_mode(asked_buf, sizeof asked_buf, h->mode);
    }
    if (h->ssl == 1) {
        if (!asked) asked = h->ssl_switch;
        if (want == NMODES || want < MODE_REQUIRED) want = MODE_REQUIRED;
    } else if (h->ssl == 0) {
        refused = h->ssl_switch;
        want = MODE_DISABLED;
    }
    if (h->verify_server_cert == 1) {
        if (!asked) asked = "--ssl-verify-server-cert";
        want = MODE_VERIFY_IDENTITY;
    }
    /* Asking for TLS and refusing it at once is a mistake to report, not
     * one to settle by the order of the options. */
    if (refused && asked) {
        snprintf(err, errsz, "'%s' contradicts '%s'", refused, asked);
        return -1;
    }
    if (want == NMODES) return 0;
    slot(h, myl_option_find("ssl_mode", 8))->text = modes[want];
    h->mode = modes[want];
    return 0;
}

void host_options_push(lua_State *L, const host_options *h)
{
    lua_createtable(L, 0, (int)h->nvalues);
    for (size_t k = 0; k < h->nvalues; k++) {
        const host_option_value *v = &h->values[k];
        switch (v->opt->kind) {
        case MYL_OPT_BOOL:
        case MYL_OPT_FRONTEND: /* local_infile: the command line gives true or false */
            lua_pushboolean(L, v->flag);
            break;
        case MYL_OPT_INT:
            lua_pushinteger(L, (lua_Integer)v->number);
            break;
        default:
            lua_pushstring(L, v->text);
            break;
        }
        lua_setfield(L, -2, v->opt->name);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, MYL_HOST_DEFAULTS);
}
