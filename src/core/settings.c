/* Settings read from text (see settings.h). */
#include "settings.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "optfile.h"

/* The mode names from weakest to strongest, as the core spells them. */
static const char *const modes[] = {"disabled", "preferred", "required", "verify_ca",
                                    "verify_identity"};
enum { MODE_DISABLED, MODE_PREFERRED, MODE_REQUIRED, MODE_VERIFY_CA, MODE_VERIFY_IDENTITY,
       NMODES };

static void wipe(char *p)
{
    if (p) OPENSSL_cleanse(p, strlen(p));
}

static void free_value(myl_setting *v)
{
    if (v->opt && strcmp(v->opt->name, "password") == 0) wipe(v->text);
    free(v->text);
    v->text = NULL;
}

void myl_settings_init(myl_settings *s, int source)
{
    memset(s, 0, sizeof *s);
    s->source = source;
    s->ssl = -1;
    s->verify_server_cert = -1;
}

void myl_settings_free(myl_settings *s)
{
    for (size_t i = 0; i < s->n; i++) free_value(&s->v[i]);
    s->n = 0;
}

/* The slot of option c, emptied; a new one when c has none yet. */
static myl_setting *slot(myl_settings *s, const myl_clientopt *c, const myl_option_info *opt)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i].cli == c || (opt && s->v[i].opt == opt)) {
            free_value(&s->v[i]);
            s->v[i].cli = c;
            s->v[i].source = s->source;
            return &s->v[i];
        }
    }
    /* Cannot overflow: there are fewer options than slots. */
    myl_setting *v = &s->v[s->n++];
    memset(v, 0, sizeof *v);
    v->cli = c;
    v->opt = opt;
    v->source = s->source;
    return v;
}

const myl_clientopt *myl_settings_lookup(const char *name, size_t len, int *negated)
{
    *negated = 0;
    const myl_clientopt *c = myl_clientopt_find(name, len);
    if (c) return c; /* enable-cleartext-plugin is its own name */
    static const char *const prefixes[] = {"skip-", "disable-", "enable-"};
    for (size_t p = 0; p < 3; p++) {
        size_t plen = strlen(prefixes[p]);
        if (len <= plen) continue;
        size_t k = 0;
        while (k < plen && (name[k] == '_' ? '-' : name[k]) == prefixes[p][k]) k++;
        if (k < plen) continue;
        c = myl_clientopt_find(name + plen, len - plen);
        if (!c || c->arg != MYL_CLI_ARG_NONE) return NULL; /* --skip-ssl-ca is no option */
        *negated = p < 2;
        return c;
    }
    return NULL;
}

static char *copy(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int no_memory(myl_error *err)
{
    myl_error_set(err, 2008, "out of memory reading the options");
    return -1;
}

static int wrong_value(myl_error *err, const char *shown, const char *rule, const char *value)
{
    myl_error_set(err, 2000, "option '%s' %s, not '%.200s'", shown, rule, value);
    return -1;
}

/* A whole number as my_getopt reads one: decimal digits and an optional
 * K, M, G or T (times 1024 each step).  0, or -1 for anything else. */
static int parse_number(const char *value, double *out)
{
    size_t digits = strspn(value, "0123456789");
    if (digits == 0 || digits > 15) return -1;
    double n = 0;
    for (size_t i = 0; i < digits; i++) n = n * 10 + (value[i] - '0');
    const char *suffix = value + digits;
    if (*suffix) {
        static const char units[] = "kmgt";
        const char *u = suffix[1] == '\0' ? strchr(units, *suffix | 0x20) : NULL;
        if (!u || !*u) return -1;
        for (const char *k = units; k <= u; k++) n *= 1024;
    }
    *out = n;
    return 0;
}

static void lowercase(char *p)
{
    for (; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
}

/* A switch's value: 1 without one (0 in its skip-/disable- form), else
 * as my_getopt takes booleans. */
static int switch_value(const char *shown, int negated, const char *value, int *flag,
                        myl_error *err)
{
    if (!value) {
        *flag = !negated;
        return 0;
    }
    if (negated) {
        myl_error_set(err, 2000, "option '%s' takes no value", shown);
        return -1;
    }
    if ((*flag = myl_optfile_bool(value)) < 0) {
        myl_error_set(err, 2000, "option '%s' takes 1 or 0 (on/off, true/false), not '%.200s'",
                      shown, value);
        return -1;
    }
    return 0;
}

static int set_host_value(myl_settings *s, const myl_clientopt *c, const char *value,
                          const char *shown, myl_error *err)
{
    if (strcmp(c->name, "prompt-timeout") == 0) {
        double n;
        if (parse_number(value, &n) < 0 || n < 1 || n > MYL_PROMPT_TIMEOUT_MAX) {
            myl_error_set(err, 2000,
                          "option '%s' must be a whole number of seconds from 1 to %d, not '%.200s'",
                          shown, MYL_PROMPT_TIMEOUT_MAX, value);
            return -1;
        }
    } else if (*value == '\0') {
        myl_error_set(err, 2000, "option '%s' needs a file name", shown);
        return -1;
    }
    char *text = copy(value, strlen(value));
    if (!text) return no_memory(err);
    slot(s, c, NULL)->text = text;
    return 0;
}

/* A value for the core option opt, checked by the core's setter on a
 * scratch myl_options. */
static int set_core_value(myl_settings *s, const myl_clientopt *c, const myl_option_info *opt,
                          int negated, const char *value, const char *shown, myl_error *err)
{
    myl_options scratch;
    myl_options_init(&scratch);
    int is_switch = opt->kind == MYL_OPT_BOOL || strcmp(opt->name, "local_infile") == 0;
    if (is_switch) {
        int flag;
        if (switch_value(shown, negated, value, &flag, err) < 0) return -1;
        if (opt->kind == MYL_OPT_BOOL) myl_option_set_bool(&scratch, opt, flag);
        slot(s, c, opt)->flag = flag;
        return 0;
    }
    if (!value) {
        myl_error_set(err, 2000, "option '%s' needs a value", shown);
        return -1;
    }
    const char *wrong = NULL;
    switch (opt->kind) {
    case MYL_OPT_STRING:
    case MYL_OPT_SSL_MODE:
    case MYL_OPT_PROTOCOL: {
        char *text = copy(value, strlen(value));
        if (!text) return no_memory(err);
        if (opt->kind != MYL_OPT_STRING) lowercase(text);
        if (opt->kind == MYL_OPT_PROTOCOL && (!strcmp(text, "pipe") || !strcmp(text, "memory"))) {
            myl_error_set(err, 2000,
                          "option '%s': %s is a Windows transport, not supported here (TCP or "
                          "SOCKET)", shown, value);
            free(text);
            return -1;
        }
        if (opt->kind == MYL_OPT_STRING && *text == '\0' &&
            (!strcmp(opt->name, "server_public_key") || !strcmp(opt->name, "local_infile_dir"))) {
            myl_error_set(err, 2000, "option '%s' needs a %s name", shown,
                          opt->name[0] == 's' ? "file" : "directory");
            free(text);
            return -1;
        }
        wrong = myl_option_set_string(&scratch, opt, text, strlen(text));
        if (opt->kind == MYL_OPT_PROTOCOL && wrong) wrong = "must be TCP or SOCKET";
        /* The algorithm list is read when connecting: read it now, with
         * connect's words for what is wrong. */
        myl_compress_plan plan;
        if (!wrong && scratch.compression_algorithms &&
            myl_compress_plan_from(&scratch, &plan, err) < 0) {
            char why[sizeof err->message];
            memcpy(why, err->message, sizeof why);
            myl_error_set(err, 2000, "option '%s=%.200s': %s", shown, value, why);
            free(text);
            return -1;
        }
        if (wrong) {
            free(text);
            break;
        }
        slot(s, c, opt)->text = text;
        return 0;
    }
    default: {
        double n;
        if (parse_number(value, &n) < 0) {
            wrong = opt->rule;
            break;
        }
        wrong = myl_option_set_number(&scratch, opt, n);
        if (!wrong) slot(s, c, opt)->number = n;
        break;
    }
    }
    return wrong ? wrong_value(err, shown, wrong, value) : 0;
}

int myl_settings_set(myl_settings *s, const myl_clientopt *c, int negated, const char *value,
                     const char *shown, myl_error *err)
{
    switch (c->kind) {
    case MYL_CLI_SSL:
    case MYL_CLI_VERIFY: {
        int flag;
        if (switch_value(shown, negated, value, &flag, err) < 0) return -1;
        if (c->kind == MYL_CLI_SSL) {
            s->ssl = flag;
            snprintf(s->ssl_switch, sizeof s->ssl_switch, "%s%s%s", shown, value ? "=" : "",
                     value ? value : "");
        } else {
            s->verify_server_cert = flag;
        }
        return 0;
    }
    case MYL_CLI_PASSWORD:
        if (!value) {
            /* asked for later, on the terminal: any earlier value goes */
            for (size_t i = 0; i < s->n; i++)
                if (s->v[i].cli == c) free_value(&s->v[i]), s->v[i] = s->v[--s->n];
            s->ask_password = 1;
            return 0;
        }
        s->ask_password = 0;
        break;
    case MYL_CLI_HOST:
        if (!value) {
            myl_error_set(err, 2000, "option '%s' needs a value", shown);
            return -1;
        }
        return set_host_value(s, c, value, shown, err);
    case MYL_CLI_CORE:
        break;
    }
    const myl_option_info *opt = myl_option_find(c->core, strlen(c->core));
    if (!opt) {
        /* an option of the client that this core does not have yet */
        myl_error_set(err, 2000, "option '%s' is not supported yet", shown);
        return -1;
    }
    return set_core_value(s, c, opt, negated, value, shown, err);
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
        buf[n] = (char)(*mode >= 'a' && *mode <= 'z' ? *mode - 32 : *mode);
        buf[n + 1] = '\0';
    }
    return buf;
}

const myl_setting *myl_settings_get(const myl_settings *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        const myl_setting *v = &s->v[i];
        if (v->opt ? strcmp(v->opt->name, name) == 0 : strcmp(v->cli->name, name) == 0) return v;
    }
    return NULL;
}

int myl_settings_finish(myl_settings *s, myl_error *err)
{
    char asked_buf[40], refused_buf[40];
    const char *asked = NULL;   /* an option asking for TLS, for the message */
    const char *refused = NULL; /* an option refusing it */
    size_t want = NMODES;       /* NMODES: nothing said about TLS */
    const myl_setting *mode = myl_settings_get(s, "ssl_mode");
    if (mode) {
        want = strength(mode->text);
        if (want == MODE_DISABLED) refused = shown_mode(refused_buf, sizeof refused_buf, mode->text);
        else asked = shown_mode(asked_buf, sizeof asked_buf, mode->text);
    }
    if (s->ssl == 1) {
        if (!asked) asked = s->ssl_switch;
        if (want == NMODES || want < MODE_REQUIRED) want = MODE_REQUIRED;
    } else if (s->ssl == 0) {
        refused = s->ssl_switch;
        want = MODE_DISABLED;
    }
    if (s->verify_server_cert == 1) {
        if (!asked) asked = "--ssl-verify-server-cert";
        want = MODE_VERIFY_IDENTITY;
    }
    /* Asking for TLS and refusing it at once is a mistake to report, not
     * one to settle by the order of the options. */
    if (refused && asked) {
        myl_error_set(err, 2000, "'%s' contradicts '%s'", refused, asked);
        return -1;
    }
    s->ssl = s->verify_server_cert = -1;
    if (want == NMODES) return 0;
    const myl_option_info *opt = myl_option_find("ssl_mode", 8);
    char *text = copy(modes[want], strlen(modes[want]));
    if (!text) return no_memory(err);
    slot(s, myl_clientopt_find("ssl-mode", 8), opt)->text = text;
    return 0;
}

int myl_settings_merge(myl_settings *dst, const myl_settings *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const myl_setting *from = &src->v[i];
        char *text = NULL;
        if (from->text && !(text = copy(from->text, strlen(from->text)))) return -1;
        myl_setting *to = slot(dst, from->cli, from->opt);
        to->text = text;
        to->number = from->number;
        to->flag = from->flag;
        to->source = from->source;
    }
    if (src->ask_password) {
        const myl_clientopt *c = myl_clientopt_find("password", 8);
        for (size_t i = 0; i < dst->n; i++)
            if (dst->v[i].cli == c) free_value(&dst->v[i]), dst->v[i] = dst->v[--dst->n];
        dst->ask_password = 1;
    } else if (myl_settings_get(src, "password")) {
        dst->ask_password = 0;
    }
    return 0;
}

int myl_settings_set_password(myl_settings *s, const char *text, size_t len, int source)
{
    char *p = copy(text, len);
    if (!p) return -1;
    const myl_clientopt *c = myl_clientopt_find("password", 8);
    int saved = s->source;
    s->source = source;
    slot(s, c, myl_option_find("password", 8))->text = p;
    s->source = saved;
    s->ask_password = 0;
    return 0;
}
