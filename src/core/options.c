/* Connection defaults and the option table (see options.h). */
#include "options.h"

#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The login name, as the mariadb client takes it when no user is given:
 * $USER first (cron may not set it), then the password database.  A name
 * from the password database is copied into buf (getpwuid's own storage
 * is overwritten by the next call); "" when there is none. */
const char *myl_login_name(char *buf, size_t size)
{
    const char *u = getenv("USER");
    if (u && *u) return u;
    buf[0] = 0;
    struct passwd pw, *found = NULL;
    char scratch[1024];
    if (getpwuid_r(geteuid(), &pw, scratch, sizeof scratch, &found) == 0 && found &&
        found->pw_name && strlen(found->pw_name) < size)
        strcpy(buf, found->pw_name);
    return buf;
}

void myl_options_init(myl_options *o)
{
    memset(o, 0, sizeof *o);
    o->host = MYL_DEFAULT_HOST;
    o->port = MYL_DEFAULT_PORT;
    o->socket_path = MYL_DEFAULT_SOCKET;
    o->protocol = MYL_PROTOCOL_AUTO;
    o->user = NULL; /* the login name, looked up only when connecting needs it */
    o->password = "";
    o->database = NULL;
    o->charset = MYL_DEFAULT_CHARSET;
    o->collation = NULL;
    o->connect_timeout = MYL_DEFAULT_CONNECT_TIMEOUT;
    o->read_timeout = 0;
    o->write_timeout = MYL_DEFAULT_WRITE_TIMEOUT;
    o->multi_statements = 1;
    o->attrs = NULL;
    o->nattrs = 0;
    o->max_packet = MYL_DEFAULT_MAX_PACKET;
    o->max_result_bytes = 0;
}

#define FIELD(f) offsetof(myl_options, f)
#define YEAR_SECONDS 31536000.0
#define SECONDS_RULE "must be a number of seconds from 0 to 31536000"

const myl_option_info myl_option_table[] = {
    {"host", MYL_OPT_STRING, FIELD(host), 0, 0, "must be a string"},
    {"port", MYL_OPT_PORT, FIELD(port), 1, 65535, "must be an integer from 1 to 65535"},
    {"socket", MYL_OPT_STRING, FIELD(socket_path), 0, 0, "must be a string"},
    {"protocol", MYL_OPT_PROTOCOL, FIELD(protocol), 0, 0, "must be \"tcp\" or \"socket\""},
    {"user", MYL_OPT_STRING, FIELD(user), 0, 0, "must be a string"},
    {"password", MYL_OPT_STRING, FIELD(password), 0, 0, "must be a string"},
    {"database", MYL_OPT_STRING, FIELD(database), 0, 0, "must be a string"},
    {"charset", MYL_OPT_STRING, FIELD(charset), 0, 0, "must be a string"},
    {"collation", MYL_OPT_STRING, FIELD(collation), 0, 0, "must be a string"},
    {"connect_timeout", MYL_OPT_SECONDS, FIELD(connect_timeout), 0, YEAR_SECONDS, SECONDS_RULE},
    {"read_timeout", MYL_OPT_SECONDS, FIELD(read_timeout), 0, YEAR_SECONDS, SECONDS_RULE},
    {"write_timeout", MYL_OPT_SECONDS, FIELD(write_timeout), 0, YEAR_SECONDS, SECONDS_RULE},
    {"multi_statements", MYL_OPT_BOOL, FIELD(multi_statements), 0, 0, "must be a boolean"},
    {"attrs", MYL_OPT_PAIRS, 0, 0, 0, "must be a table mapping strings to strings"},
    {"max_packet", MYL_OPT_BYTES, FIELD(max_packet), (double)MYL_MIN_MAX_PACKET,
     (double)MYL_MAX_MAX_PACKET, "must be an integer from 1024 to 1073741824 (bytes)"},
    {"max_result_bytes", MYL_OPT_BYTES, FIELD(max_result_bytes), 0, 9007199254740992.0,
     "must be an integer from 0 (no limit) to 2^53 (bytes)"},
    {"transport", MYL_OPT_FRONTEND, 0, 0, 0, "is not understood here"},
    {"ssl_mode", MYL_OPT_SSL_MODE, FIELD(ssl_mode), 0, 0,
     "must be \"disabled\", \"preferred\", \"required\", \"verify_ca\" or \"verify_identity\""},
    {"ssl_ca", MYL_OPT_STRING, FIELD(ssl_ca), 0, 0, "must be a string"},
    {"ssl_capath", MYL_OPT_STRING, FIELD(ssl_capath), 0, 0, "must be a string"},
    {"ssl_cert", MYL_OPT_STRING, FIELD(ssl_cert), 0, 0, "must be a string"},
    {"ssl_key", MYL_OPT_STRING, FIELD(ssl_key), 0, 0, "must be a string"},
    {"ssl_cipher", MYL_OPT_STRING, FIELD(ssl_cipher), 0, 0, "must be a string"},
    {"ssl_ciphersuites", MYL_OPT_STRING, FIELD(ssl_ciphersuites), 0, 0, "must be a string"},
    {"tls_version", MYL_OPT_STRING, FIELD(tls_version), 0, 0, "must be a string"},
    {"ssl_crl", MYL_OPT_STRING, FIELD(ssl_crl), 0, 0, "must be a string"},
    {"ssl_crlpath", MYL_OPT_STRING, FIELD(ssl_crlpath), 0, 0, "must be a string"},
    {"ssl_fingerprint", MYL_OPT_STRING, FIELD(ssl_fingerprint), 0, 0, "must be a string"},
    {"ssl_fingerprint_list", MYL_OPT_STRING, FIELD(ssl_fingerprint_list), 0, 0, "must be a string"},
    {"ssl", MYL_OPT_FRONTEND, 0, 0, 0, "is not understood here"},
    {"compress", MYL_OPT_BOOL, FIELD(compress), 0, 0, "must be a boolean"},
    {"compression_algorithms", MYL_OPT_STRING, FIELD(compression_algorithms), 0, 0,
     "must be a string"},
    {"compression_level", MYL_OPT_INT, FIELD(compression_level), 1, 9,
     "must be an integer from 1 to 9"},
    {"zstd_compression_level", MYL_OPT_INT, FIELD(zstd_compression_level), 1, 22,
     "must be an integer from 1 to 22"},
    {"allow_cleartext", MYL_OPT_BOOL, FIELD(allow_cleartext), 0, 0, "must be a boolean"},
    {"server_public_key", MYL_OPT_STRING, FIELD(server_public_key), 0, 0, "must be a string"},
    {"get_server_public_key", MYL_OPT_BOOL, FIELD(get_server_public_key), 0, 0,
     "must be a boolean"},
    {"auth_plugins", MYL_OPT_STRING, FIELD(auth_plugins), 0, 0,
     "must be a list of plugin names"},
    {"auth", MYL_OPT_FRONTEND, 0, 0, 0, "is not understood here"},
    {"local_infile", MYL_OPT_FRONTEND, 0, 0, 0, "must be a boolean or a function"},
    {"local_infile_dir", MYL_OPT_STRING, FIELD(local_infile_dir), 0, 0, "must be a string"},
    {"init_command", MYL_OPT_STRING, FIELD(init_command), 0, 0, "must be a string"},
    {"bind_address", MYL_OPT_STRING, FIELD(bind_address), 0, 0, "must be a string"},
    {NULL, MYL_OPT_FRONTEND, 0, 0, 0, NULL},
};

/* Names of options for features that do not exist yet (none now:
 * reconnect, the last, is the binding's; see connection.c). */
static const char *const planned[] = {
    NULL,
};

static int name_is(const char *known, const char *name, size_t len)
{
    return strlen(known) == len && memcmp(known, name, len) == 0;
}

const myl_option_info *myl_option_find(const char *name, size_t len)
{
    for (const myl_option_info *opt = myl_option_table; opt->name; opt++)
        if (name_is(opt->name, name, len)) return opt;
    return NULL;
}

int myl_option_planned(const char *name, size_t len)
{
    for (size_t i = 0; planned[i]; i++)
        if (name_is(planned[i], name, len)) return 1;
    return 0;
}

size_t myl_option_distance(const char *a, size_t na, const char *b, size_t nb, size_t limit)
{
    enum { MAXN = 32 };
    if (na >= MAXN || nb >= MAXN) return limit + 1;
    if ((na > nb ? na - nb : nb - na) > limit) return limit + 1;
    size_t d[MAXN][MAXN];
    for (size_t i = 0; i <= na; i++) d[i][0] = i;
    for (size_t j = 0; j <= nb; j++) d[0][j] = j;
    for (size_t i = 1; i <= na; i++) {
        for (size_t j = 1; j <= nb; j++) {
            size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[na][nb];
}

const char *myl_option_suggest(const char *name, size_t len)
{
    const char *best = NULL;
    size_t best_d = 3; /* farther than 2 edits is not a typo */
    for (const myl_option_info *opt = myl_option_table; opt->name; opt++) {
        size_t d = myl_option_distance(name, len, opt->name, strlen(opt->name), 2);
        if (d < best_d) {
            best_d = d;
            best = opt->name;
        }
    }
    return best;
}

static void *field(myl_options *o, const myl_option_info *opt)
{
    return (char *)o + opt->offset;
}

const char *myl_option_set_string(myl_options *o, const myl_option_info *opt, const char *s,
                                  size_t len)
{
    if (memchr(s, 0, len)) return "contains a NUL byte";
    switch (opt->kind) {
    case MYL_OPT_STRING:
        *(const char **)field(o, opt) = s;
        return NULL;
    case MYL_OPT_SSL_MODE: {
        static const char *const modes[] = {"preferred", "disabled", "required", "verify_ca",
                                            "verify_identity"};
        for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
            if (strcmp(s, modes[i]) == 0) {
                o->ssl_mode = (myl_ssl_mode)i;
                return NULL;
            }
        }
        return opt->rule;
    }
    case MYL_OPT_PROTOCOL:
        if (strcmp(s, "tcp") == 0) o->protocol = MYL_PROTOCOL_TCP;
        else if (strcmp(s, "socket") == 0) o->protocol = MYL_PROTOCOL_SOCKET;
        else return opt->rule;
        return NULL;
    default:
        return opt->rule;
    }
}

const char *myl_option_set_number(myl_options *o, const myl_option_info *opt, double v)
{
    if (!(v >= opt->min && v <= opt->max)) return opt->rule; /* also NaN */
    switch (opt->kind) {
    case MYL_OPT_SECONDS:
        *(double *)field(o, opt) = v;
        return NULL;
    case MYL_OPT_PORT:
        if (v != (double)(unsigned)v) return opt->rule;
        *(unsigned *)field(o, opt) = (unsigned)v;
        return NULL;
    case MYL_OPT_INT:
        if (v != (double)(int)v) return opt->rule;
        *(int *)field(o, opt) = (int)v;
        return NULL;
    case MYL_OPT_BYTES:
        if (v > (double)SIZE_MAX || v != (double)(size_t)v) return opt->rule;
        *(size_t *)field(o, opt) = (size_t)v;
        return NULL;
    default:
        return opt->rule;
    }
}

const char *myl_option_set_bool(myl_options *o, const myl_option_info *opt, int v)
{
    if (opt->kind != MYL_OPT_BOOL) return opt->rule;
    *(int *)field(o, opt) = v != 0;
    return NULL;
}
