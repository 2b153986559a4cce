/* The connection object: mylua.connect{...} and the methods of db. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/defaults.h"
#include "../core/options.h"
#include "../core/settings.h"
#include "auth_hooks.h"
#include "binding.h"
#include "command_job.h"
#include "connect_job.h"
#include "infile_call.h"
#include "settings_push.h"
#include "worker.h"

/* The connection object's user values: 1 the LOCAL INFILE handler, 2 the
 * options to reconnect with, 3 the names of the last query's columns. */
#define UV_CONN_NAMES 3

#define MAX_ATTRS 32

conn_ud *myl_lua_check_conn(lua_State *L, int idx)
{
    conn_ud *cu = idx == 1 ? myl_lua_check_self(L, MYL_CONNECTION_MT)
                           : luaL_checkudata(L, idx, MYL_CONNECTION_MT);
    myl_guard_check(L, &cu->g, cu->c != NULL, "connection");
    return cu;
}

/* Cursors and results hold their connection alive through a user value and
 * see a closed one as cu->c == NULL: nothing here needs to know them. */
static void free_conn(conn_ud *cu)
{
    if (cu->c) {
        myl_lua_live_remove(cu);
        myl_conn_free(cu->c);
        cu->c = NULL;
    }
    cu->g.close_pending = 0;
}

void myl_lua_conn_unbusy(conn_ud *cu)
{
    if (myl_guard_leave(&cu->g)) free_conn(cu);
}

/* ---- options ---- */

/* Pushes a key as an error message shows it: at most 64 bytes, control
 * bytes (a NUL among them) written as \ddd, so "host\000x" is not shown as
 * the known "host". */
static const char *shown_name(lua_State *L, const char *k, size_t len)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < len && i < 64; i++) {
        unsigned char ch = (unsigned char)k[i];
        if (ch < 0x20 || ch == 0x7F) {
            char esc[8];
            snprintf(esc, sizeof esc, "\\%03u", ch);
            luaL_addstring(&b, esc);
        } else {
            luaL_addchar(&b, (char)ch);
        }
    }
    if (len > 64) luaL_addstring(&b, "...");
    luaL_pushresult(&b);
    return lua_tostring(L, -1);
}

/* Raises the error for a key of the options table that is not an option. */
static int unknown_option(lua_State *L, const char *k, size_t len)
{
    const char *name = shown_name(L, k, len);
    if (myl_option_planned(k, len))
        return luaL_error(L, "unknown option '%s' (not supported yet)", name);
    const char *near = myl_option_suggest(k, len);
    if (near) return luaL_error(L, "unknown option '%s' (did you mean '%s'?)", name, near);
    return luaL_error(L, "unknown option '%s'", name);
}

/* Options of the binding alone (the core never sees them). */
static int is_binding_option(const char *k, size_t len)
{
    static const char *const own[] = {"reconnect", "on_reconnect", "host_order", "require", NULL};
    for (int i = 0; own[i]; i++)
        if (strlen(own[i]) == len && memcmp(k, own[i], len) == 0) return 1;
    return (len == 15 && memcmp(k, "statement_cache", 15) == 0) ||
           (len == 17 && memcmp(k, "read_default_file", 17) == 0) ||
           (len == 18 && memcmp(k, "read_default_group", 18) == 0);
}

/* An option of read_default_file / read_default_group: a string without
 * NUL bytes, or NULL when not given. */
static const char *read_default_name(lua_State *L, const char *name)
{
    int ty = lua_getfield(L, 1, name);
    const char *v = NULL;
    size_t len = 0;
    if (ty == LUA_TSTRING) v = lua_tolstring(L, -1, &len);
    else if (ty != LUA_TNIL) luaL_error(L, "option '%s' must be a string", name);
    if (v && (len == 0 || memchr(v, 0, len)))
        luaL_error(L, "option '%s' must be a %s", name, len ? "string without NUL bytes"
                                                            : "non-empty string");
    lua_pop(L, 1); /* the table keeps the string alive */
    return v;
}

/* Pushes the options the option files give when the table asks for them
 * (read_default_file = path: only that file; read_default_group = name:
 * that group with [client], from the file or else from the files the
 * mariadb client reads), as Connector/C's MYSQL_READ_DEFAULT_FILE and
 * _GROUP do; an empty table otherwise.  Below the host's and the table's
 * own options (DESIGN "Seams" 8). */
static void push_file_defaults(lua_State *L)
{
    const char *file = read_default_name(L, "read_default_file");
    const char *group = read_default_name(L, "read_default_group");
    if (!file && !group) {
        lua_newtable(L);
        return;
    }
    static const char *const client_only[] = {"client", NULL};
    myl_defaults d;
    memset(&d, 0, sizeof d);
    d.defaults_file = file;
    d.groups = client_only;
    d.own_group = group && strcmp(group, "client") != 0 ? group : NULL;
    myl_settings s;
    myl_settings_init(&s, 0);
    myl_error err;
    memset(&err, 0, sizeof err);
    int rc = myl_settings_read_files(&s, &d, &err);
    if (rc == 0) myl_lua_push_settings(L, &s);
    myl_settings_free(&s);
    if (rc < 0) luaL_error(L, "%s", err.message);
}

/* statement_cache = N: how many statements db:execute keeps prepared. */
#define MAX_STMT_CACHE 1024
static unsigned read_stmt_cache(lua_State *L)
{
    unsigned n = 0;
    if (lua_getfield(L, 1, "statement_cache") != LUA_TNIL) {
        lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : -1;
        if (v < 0 || v > MAX_STMT_CACHE)
            luaL_error(L, "option 'statement_cache' must be an integer from 0 (off) to %d",
                       MAX_STMT_CACHE);
        n = (unsigned)v;
    }
    lua_pop(L, 1);
    return n;
}

/* Every key of the table must be a known option.  Only the table's own
 * keys are checked: a proxy table serving options from __index passes,
 * and its values are read (and checked) below like any others. */
static void check_option_names(lua_State *L, int t)
{
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING)
            luaL_error(L, "option names must be strings (got a %s key)", luaL_typename(L, -2));
        size_t len;
        const char *k = lua_tolstring(L, -2, &len);
        if (!myl_option_find(k, len) && !is_binding_option(k, len)) unknown_option(L, k, len);
        lua_pop(L, 1);
    }
}

static void check_stored(lua_State *L, const myl_option_info *opt, const char *wrong)
{
    if (wrong) luaL_error(L, "option '%s' %s", opt->name, wrong);
}

/* attrs: string keys to string values, into attrs[] (2 * MAX_ATTRS slots).
 * The strings live in the table, which stays on the stack. */
/* The strings are copied into a table left on the stack: the options an
 * __index function reads later may change the attrs table and let its
 * strings be collected before connect uses them. */
static size_t read_attrs(lua_State *L, const myl_option_info *opt, int t, const char **attrs)
{
    size_t n = 0;
    luaL_checkstack(L, 4, "too many options");
    lua_createtable(L, 2 * MAX_ATTRS, 0);
    int keep = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "option '%s' %s", opt->name, opt->rule);
        size_t klen, vlen;
        const char *k = lua_tolstring(L, -2, &klen);
        const char *v = lua_tolstring(L, -1, &vlen);
        if (memchr(k, 0, klen) || memchr(v, 0, vlen))
            luaL_error(L, "option '%s' contains a NUL byte", opt->name);
        if (n == MAX_ATTRS) luaL_error(L, "option '%s' has more than %d entries", opt->name, MAX_ATTRS);
        attrs[2 * n] = k;
        attrs[2 * n + 1] = v;
        lua_pushvalue(L, -2);
        lua_rawseti(L, keep, (lua_Integer)(2 * n + 1));
        lua_pushvalue(L, -1);
        lua_rawseti(L, keep, (lua_Integer)(2 * n + 2));
        n++;
        lua_pop(L, 1);
    }
    return n;
}

/* The ssl option: a table of the ssl_* options without their prefix
 * (ssl = { mode = "verify_identity", ca = "ca.pem" }), or a mode by name
 * (ssl = "required"), or a boolean (true: "required", false: "disabled"). */
static void read_ssl(lua_State *L, myl_options *o, int ty, int *mode_given)
{
    const myl_option_info *mode = myl_option_find("ssl_mode", 8);
    if (ty == LUA_TBOOLEAN) {
        o->ssl_mode = lua_toboolean(L, -1) ? MYL_SSL_REQUIRED : MYL_SSL_DISABLED;
        *mode_given = 1;
        return;
    }
    if (ty == LUA_TSTRING) {
        *mode_given = 1;
        size_t len;
        const char *v = lua_tolstring(L, -1, &len);
        if (myl_option_set_string(o, mode, v, len))
            luaL_error(L, "option 'ssl' must be a table, a boolean or a mode: %s", mode->rule + 8);
        return;
    }
    if (ty != LUA_TTABLE)
        luaL_error(L, "option 'ssl' must be a table, a boolean or a mode (got a %s)",
                   luaL_typename(L, -1));
    int t = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        char name[40];
        size_t len = 0;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &len) : NULL;
        const myl_option_info *opt = NULL;
        if (k && len < 24 && !memchr(k, 0, len)) {
            snprintf(name, sizeof name, "%s%s", strcmp(k, "tls_version") == 0 ? "" : "ssl_", k);
            opt = myl_option_find(name, strlen(name));
        }
        if (!opt || opt->kind == MYL_OPT_FRONTEND)
            luaL_error(L, "unknown key '%s' in option 'ssl' (expected mode, ca, capath, cert, key, "
                       "cipher, ciphersuites, tls_version, crl, crlpath, fingerprint, "
                       "fingerprint_list)", k ? shown_name(L, k, len) : luaL_typename(L, -2));
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "option 'ssl.%s' %s", k, opt->rule);
        size_t vlen;
        const char *v = lua_tolstring(L, -1, &vlen);
        const char *wrong = myl_option_set_string(o, opt, v, vlen);
        if (wrong) luaL_error(L, "option 'ssl.%s' %s", k, wrong);
        if (opt->kind == MYL_OPT_SSL_MODE) *mode_given = 1;
        lua_pop(L, 1); /* the value: the string stays alive in the table, on the stack */
    }
}

/* auth_plugins = { "caching_sha2_password", "client_ed25519" }: the list,
 * joined with commas as the core takes it (left on the stack). */
static void read_plugin_list(lua_State *L, int t)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    lua_Integer n = (lua_Integer)lua_rawlen(L, t);
    if (n == 0) luaL_error(L, "option 'auth_plugins' must name at least one plugin");
    for (lua_Integer i = 1; i <= n; i++) {
        size_t len = 0;
        lua_rawgeti(L, t, i);
        const char *name = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (!name || len == 0 || len > 64 || memchr(name, 0, len) || memchr(name, ',', len))
            luaL_error(L, "option 'auth_plugins' must be a list of plugin names (entry %d is "
                       "not one)", (int)i);
        lua_pop(L, 1);
        if (i > 1) luaL_addchar(&b, ',');
        luaL_addlstring(&b, name, len);
    }
    luaL_pushresult(&b);
}

/* Stores the option's value (top of the stack, of type ty) into o. */
static void read_option(lua_State *L, myl_options *o, const myl_option_info *opt, int ty,
                        const char **attrs, int *ssl_mode_given, int *auth_idx,
                        int *infile_idx)
{
    switch (opt->kind) {
    case MYL_OPT_STRING:
        if (ty == LUA_TTABLE && strcmp(opt->name, "auth_plugins") == 0) {
            read_plugin_list(L, lua_gettop(L));
            o->auth_plugins = lua_tostring(L, -1);
            break;
        }
        /* fall through */
    case MYL_OPT_PROTOCOL:
    case MYL_OPT_SSL_MODE: {
        if (ty != LUA_TSTRING) luaL_error(L, "option '%s' %s", opt->name, opt->rule);
        size_t len;
        const char *v = lua_tolstring(L, -1, &len);
        check_stored(L, opt, myl_option_set_string(o, opt, v, len));
        if (opt->kind == MYL_OPT_SSL_MODE) *ssl_mode_given = 1;
        break;
    }
    case MYL_OPT_PORT:
    case MYL_OPT_SECONDS:
    case MYL_OPT_BYTES:
    case MYL_OPT_INT:
        if (ty != LUA_TNUMBER) luaL_error(L, "option '%s' %s", opt->name, opt->rule);
        check_stored(L, opt, myl_option_set_number(o, opt, lua_tonumber(L, -1)));
        break;
    case MYL_OPT_BOOL:
        if (ty != LUA_TBOOLEAN) luaL_error(L, "option '%s' %s", opt->name, opt->rule);
        check_stored(L, opt, myl_option_set_bool(o, opt, lua_toboolean(L, -1)));
        break;
    case MYL_OPT_PAIRS:
        if (ty != LUA_TTABLE) luaL_error(L, "option '%s' %s", opt->name, opt->rule);
        o->nattrs = read_attrs(L, opt, lua_gettop(L), attrs);
        o->attrs = attrs;
        break;
    case MYL_OPT_FRONTEND:
        if (strcmp(opt->name, "ssl") == 0) {
            read_ssl(L, o, ty, ssl_mode_given);
        } else if (strcmp(opt->name, "auth") == 0) {
            *auth_idx = lua_gettop(L); /* read once every option is in */
        } else if (strcmp(opt->name, "local_infile") == 0) {
            if (ty == LUA_TBOOLEAN) o->local_infile = lua_toboolean(L, -1);
            else if (ty != LUA_TFUNCTION)
                luaL_error(L, "option 'local_infile' must be a boolean or a function (got a %s)",
                           luaL_typename(L, -1));
            *infile_idx = lua_gettop(L);
        } else {
            /* A transport opener (a test layer, say) replaces the plain
             * socket; it stays on the stack, so alive, until connect returns. */
            const myl_transport_opener *op = luaL_testudata(L, -1, MYL_TRANSPORT_OPENER_MT);
            if (!op || !op->open) luaL_error(L, "option 'transport' must be a transport opener");
            o->open_transport = op->open;
            o->open_ud = op->ud;
        }
        break;
    }
}

/* What the options table (and the layers under it) ask for, read into
 * core options and the binding's own; every string they point to stays on
 * the stack. */
typedef struct connect_args {
    myl_options o;
    const char *attrs[2 * MAX_ATTRS];
    int auth_idx, infile_idx;
    int hosts_idx;    /* stack index of a host list (a table, or a string with commas); 0: none */
    int random_order; /* host_order = "random" */
    myl_require require;
} connect_args;

/* host = { ... } or "db1,db2:3307": a list; one name without a comma is a
 * single host, taken as it always was (no host:port parsing). */
static int is_host_list(lua_State *L, int ty)
{
    if (ty == LUA_TTABLE) return 1;
    if (ty != LUA_TSTRING) return 0;
    size_t len;
    const char *v = lua_tolstring(L, -1, &len);
    return memchr(v, ',', len) != NULL;
}

/* The index in `choices` of the option `name` of the table at base (0 when
 * absent); raises naming `rule` for any other value. */
static int pick(lua_State *L, int base, const char *name, const char *const *choices,
                const char *rule)
{
    int ty = lua_getfield(L, base, name), r = 0;
    if (ty != LUA_TNIL) {
        const char *v = ty == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        while (v && choices[r] && strcmp(choices[r], v) != 0) r++;
        if (!v || !choices[r]) luaL_error(L, "option '%s' must be %s", name, rule);
    }
    lua_pop(L, 1);
    return r;
}

/* Marks in `given` (by index in myl_option_table) the options that the
 * three layers from base hold as their own keys, so that the options no
 * layer names are not each looked up three times (most of a connect's own
 * work, with a few options given out of some seventy).  0 when that cannot
 * be known: a layer with a metatable (its __index may serve any option),
 * or one that is no table. */
#define MAX_OPTIONS 128
static int mark_given(lua_State *L, int base, unsigned char given[MAX_OPTIONS])
{
    memset(given, 0, MAX_OPTIONS);
    for (int t = base; t < base + 3; t++) {
        if (lua_type(L, t) != LUA_TTABLE) return 0;
        if (lua_getmetatable(L, t)) {
            lua_pop(L, 1);
            return 0;
        }
        lua_pushnil(L);
        while (lua_next(L, t)) {
            lua_pop(L, 1);
            if (lua_type(L, -1) != LUA_TSTRING) continue; /* never an option's name */
            size_t len;
            const char *k = lua_tolstring(L, -1, &len);
            const myl_option_info *opt = myl_option_find(k, len);
            ptrdiff_t i = opt ? opt - myl_option_table : MAX_OPTIONS;
            if (i < MAX_OPTIONS) given[i] = 1;
        }
    }
    return 1;
}

/* The options the table at base gives, over the host program's (base + 1)
 * and the option files' (base + 2), into a. */
static void read_connect_options(lua_State *L, int base, connect_args *a)
{
    myl_options *o = &a->o;
    myl_options_init(o);
    a->auth_idx = a->infile_idx = a->hosts_idx = 0;
    int socket_given = 0, protocol_given = 0, ssl_mode_given = 0;
    unsigned char given[MAX_OPTIONS];
    int known = mark_given(L, base, given);
    for (const myl_option_info *opt = myl_option_table; opt->name; opt++) {
        ptrdiff_t i = opt - myl_option_table;
        if (known && i < MAX_OPTIONS && !given[i]) continue; /* no layer names it */
        luaL_checkstack(L, 2, "too many options");
        int ty = lua_getfield(L, base, opt->name);
        int layer = 1;
        /* not in the script's table: the host program's value, then the
         * option files' */
        while (ty == LUA_TNIL && layer < 3) {
            lua_pop(L, 1);
            ty = lua_getfield(L, base + layer++, opt->name);
        }
        if (ty == LUA_TNIL) {
            lua_pop(L, 1);
            continue;
        }
        if (strcmp(opt->name, "host") == 0 && is_host_list(L, ty)) {
            a->hosts_idx = lua_gettop(L);
            continue;
        }
        read_option(L, o, opt, ty, a->attrs, &ssl_mode_given, &a->auth_idx, &a->infile_idx);
        if (strcmp(opt->name, "socket") == 0 && layer == 1) socket_given = 1;
        if (opt->kind == MYL_OPT_PROTOCOL) protocol_given = 1;
    }
    /* A socket path the table gives selects the socket unless a protocol
     * says otherwise.  One from the command line, the option files or the
     * environment is used, as by the mariadb client, when the host is
     * localhost (or none is given), so a script's own host still wins. */
    if (socket_given && !protocol_given) o->protocol = MYL_PROTOCOL_SOCKET;
    /* A CA given without a mode means "check the server against it" (as
     * MySQL 8's client does), and so does a pinned fingerprint: neither is
     * ever silently ignored, as it would be on a plain connection. */
    if (!ssl_mode_given && (o->ssl_ca || o->ssl_capath || o->ssl_fingerprint ||
                            o->ssl_fingerprint_list))
        o->ssl_mode = MYL_SSL_VERIFY_CA;

    a->random_order = pick(L, base, "host_order", (const char *const[]){"in order", "random", NULL},
                           "\"in order\" or \"random\"");
    a->require = (myl_require)pick(L, base, "require",
                                   (const char *const[]){"any", "writable", NULL},
                                   "\"any\" or \"writable\"");
}

#define CONNECT_JOB_MT "mylua.connect_job"
#define MAX_HOSTS 64
#define MAX_HOST_NAME 256

static int connect_job_gc(lua_State *L)
{
    myl_connect_job *job = luaL_checkudata(L, 1, CONNECT_JOB_MT);
    /* a job whose coroutine was never resumed (the state is closing) may
     * still run on its worker */
    if (job->in_flight) myl_lua_offload_drain();
    job->in_flight = 0;
    myl_connect_job_clear(job);
    return 0;
}

/* Raises the error for one entry of the host list. */
static int bad_host_entry(lua_State *L, const char *s, size_t len)
{
    return luaL_error(L, "option 'host': '%s' is not a host (expected name, name:port, "
                      "[IPv6] or [IPv6]:port)", shown_name(L, s, len));
}

/* Pushes the job for a (a userdata owning what the job makes: its __gc
 * frees the connection it did not hand over), its targets parsed from the
 * host list (at most MAX_HOSTS) or the single host. */
static myl_connect_job *push_job(lua_State *L, const connect_args *a)
{
    size_t n = 1;
    int list = a->hosts_idx;
    const char *text = NULL;
    size_t text_len = 0;
    if (list && lua_type(L, list) == LUA_TTABLE) {
        n = (size_t)lua_rawlen(L, list);
        if (n == 0) luaL_error(L, "option 'host' must name at least one host");
    } else if (list) {
        text = lua_tolstring(L, list, &text_len);
        n = 1;
        for (size_t i = 0; i < text_len; i++) n += text[i] == ',';
    }
    if (n > MAX_HOSTS) luaL_error(L, "option 'host' names more than %d hosts", MAX_HOSTS);
    size_t size = sizeof(myl_connect_job) + n * (sizeof(myl_connect_target) + MAX_HOST_NAME);
    myl_connect_job *job = lua_newuserdatauv(L, size, 0);
    memset(job, 0, size);
    luaL_setmetatable(L, CONNECT_JOB_MT);
    job->opt = a->o;
    job->targets = (myl_connect_target *)(job + 1);
    job->ntargets = n;
    job->is_list = list != 0;
    job->random_order = a->random_order;
    job->require = a->require;
    char *names = (char *)(job->targets + n);
    for (size_t i = 0; list && i < n; i++) {
        const char *s;
        size_t len;
        if (text) {
            const char *comma = memchr(text, ',', text_len);
            len = comma ? (size_t)(comma - text) : text_len;
            s = text;
            text += len + (comma != NULL);
            text_len -= len + (comma != NULL);
        } else {
            lua_rawgeti(L, list, (lua_Integer)(i + 1));
            if (lua_type(L, -1) != LUA_TSTRING)
                luaL_error(L, "option 'host' must be a host name or a list of them (entry %d is "
                           "a %s)", (int)(i + 1), luaL_typename(L, -1));
            s = lua_tolstring(L, -1, &len);
            lua_pop(L, 1); /* the list keeps it */
        }
        char *host = names + i * MAX_HOST_NAME;
        if (myl_host_entry_parse(s, len, host, MAX_HOST_NAME, &job->targets[i].port))
            bad_host_entry(L, s, len);
        job->targets[i].host = host;
    }
    return job;
}

/* Raises the job's failure: the core's error for a single host; for a
 * list, every host on its own line, with err.hosts = { { host =, code =,
 * message = }, ... } in the order tried. */
static int raise_job_error(lua_State *L, const myl_connect_job *job)
{
    if (!job->is_list || !job->message) {
        myl_error e = job->err;
        myl_lua_push_error(L, e.code, e.sqlstate, e.message);
        if (e.statement > 0) { /* which statement of init_command failed */
            lua_pushinteger(L, (lua_Integer)e.statement);
            lua_setfield(L, -2, "statement");
        }
        return lua_error(L);
    }
    myl_lua_push_error(L, job->err.code, job->err.sqlstate, job->message);
    lua_createtable(L, (int)job->ntargets, 0);
    for (size_t i = 0; i < job->ntargets; i++) {
        const myl_connect_target *t = &job->targets[i];
        lua_createtable(L, 0, 4);
        lua_pushstring(L, t->host);
        lua_setfield(L, -2, "host");
        lua_pushinteger(L, t->port ? t->port : job->opt.port ? job->opt.port : MYL_DEFAULT_PORT);
        lua_setfield(L, -2, "port");
        lua_pushinteger(L, t->err.code);
        lua_setfield(L, -2, "code");
        lua_pushstring(L, t->err.code ? t->err.message : "not tried");
        lua_setfield(L, -2, "message");
        lua_rawseti(L, -2, (lua_Integer)(i + 1));
    }
    lua_setfield(L, -2, "hosts");
    return lua_error(L);
}

/* The host that answered, for db.host_info (a list's "host:port via ..."). */
static void keep_host_info(conn_ud *cu, const myl_connect_job *job)
{
    snprintf(cu->host_info, sizeof cu->host_info, "%s", job->host_info);
}

static void run_connect_job(void *arg)
{
    myl_connect_job *job = arg;
    job->rc = myl_connect_job_run(job);
}

/* After the job, on the calling thread: the connection object at obj gets
 * the connection, or the job's failure is raised (a callback's own error
 * first, when auth is given). */
static int connect_finish(lua_State *L, int obj, myl_connect_job *job, lua_auth *auth)
{
    job->in_flight = 0;
    if (job->rc < 0) {
        if (auth) myl_lua_auth_finish(L, auth);
        return raise_job_error(L, job);
    }
    conn_ud *cu = lua_touserdata(L, obj);
    cu->c = job->conn; /* handed over: the job no longer frees it */
    job->conn = NULL;
    job->conn_made = 0;
    keep_host_info(cu, job);
    myl_lua_live_add(cu);
    lua_settop(L, obj);
    return 1;
}

/* The continuation of an offloaded connect: ctx holds the stack indices
 * of the connection object and of the job (below CTX_SPAN, so both fit a
 * 32-bit lua_KContext). */
#define CTX_SPAN 32768
static int connect_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    int obj = (int)(ctx / CTX_SPAN), job_idx = (int)(ctx % CTX_SPAN);
    return connect_finish(L, obj, luaL_checkudata(L, job_idx, CONNECT_JOB_MT), NULL);
}

int myl_lua_connect(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_settop(L, 0);
        lua_newtable(L);
    }
    myl_lua_check_type(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    check_option_names(L, 1);
    unsigned stmt_cache = read_stmt_cache(L);
    /* Index 2: the defaults the host program took from its command line
     * (DESIGN "Seams" 8), under the script's own options. */
    if (lua_getfield(L, LUA_REGISTRYINDEX, MYL_HOST_DEFAULTS) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    /* Index 3: what read_default_file / read_default_group read, below both. */
    push_file_defaults(L);
    int auto_reconnect = 0;
    if (lua_getfield(L, 1, "reconnect") != LUA_TNIL) {
        if (!lua_isboolean(L, -1)) luaL_error(L, "option 'reconnect' must be a boolean");
        auto_reconnect = lua_toboolean(L, -1);
    }
    int hook = lua_getfield(L, 1, "on_reconnect");
    if (hook != LUA_TNIL && hook != LUA_TFUNCTION)
        luaL_error(L, "option 'on_reconnect' must be a function");
    lua_pop(L, 2);

    /* The defaults, then each option the table gives.  Values read stay on
     * the stack until connect returns: an __index function may have made
     * them, and nothing else would keep them alive. */
    connect_args a;
    read_connect_options(L, 1, &a);

    /* Prompts and Lua plugins; what they refer to stays on the stack. */
    lua_auth auth;
    myl_lua_auth_init(L, &auth, a.auth_idx);
    a.o.auth_hooks = &auth.hooks;

    /* The object exists (closed) before anything is allocated, so __gc can
     * always clean up. */
    conn_ud *cu = lua_newuserdatauv(L, sizeof *cu, UV_CONN_NAMES);
    memset(cu, 0, sizeof *cu);
    luaL_setmetatable(L, MYL_CONNECTION_MT);
    int obj = lua_gettop(L);
    cu->L = L;
    cu->stmt_cache = stmt_cache;
    cu->auto_reconnect = auto_reconnect;
    /* local_infile = function(name): the handler lives with the object */
    if (a.infile_idx && lua_type(L, a.infile_idx) == LUA_TFUNCTION) {
        if (a.o.local_infile_dir)
            luaL_error(L, "option 'local_infile_dir' applies to local_infile = true, not to a "
                       "handler function (which decides itself)");
        myl_lua_infile_handler(L, obj, a.infile_idx);
        a.o.local_infile_hooks = &cu->infile;
    }
    /* What db:reconnect() reads the options from again: the three layers. */
    lua_createtable(L, 3, 2);
    for (int i = 1; i <= 3; i++) {
        lua_pushvalue(L, i);
        lua_rawseti(L, -2, i);
    }
    if (hook == LUA_TFUNCTION) {
        lua_getfield(L, 1, "on_reconnect");
        lua_setfield(L, -2, "on_reconnect");
    }
    lua_setiuservalue(L, obj, 2);

    myl_connect_job *job = push_job(L, &a);
    /* Under mylua.parallel the login runs on the task's worker thread
     * (worker.h) while other tasks go on, unless it may call Lua: the
     * script's auth callbacks, or a LOCAL INFILE handler (init_command).
     * The host program's terminal prompt is not offered to a task: many
     * logins at once cannot share one terminal. */
    int job_idx = lua_gettop(L);
    if (!auth.table && !(a.infile_idx && lua_type(L, a.infile_idx) == LUA_TFUNCTION) &&
        job_idx < CTX_SPAN && myl_lua_can_offload(L)) {
        job->opt.auth_hooks = NULL;
        job->in_flight = 1;
        lua_KContext ctx = (lua_KContext)obj * CTX_SPAN + job_idx;
        return myl_lua_offload(L, run_connect_job, job, connect_done, ctx);
    }
    run_connect_job(job);
    return connect_finish(L, obj, job, &auth);
}

void myl_lua_conn_reconnect(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    conn_ud *cu = myl_lua_check_conn(L, idx);
    if (myl_response_owner(cu->c))
        luaL_error(L, "reconnect: a stream of this connection is unfinished (read it to the end "
                   "or close its cursor first)");
    if (lua_getiuservalue(L, idx, 2) != LUA_TTABLE)
        luaL_error(L, "reconnect: this connection has no options to reconnect with");
    int saved = lua_gettop(L);
    int base = saved + 1;
    luaL_checkstack(L, 8, "reconnect");
    for (int i = 1; i <= 3; i++) lua_rawgeti(L, saved, i);
    connect_args a;
    read_connect_options(L, base, &a);
    /* The database the session used (the server reports USE and select_db
     * alike), copied: the connect overwrites the core's. */
    cu = myl_lua_check_conn(L, idx); /* reading options may have run a finalizer */
    const char *schema = myl_conn_schema(cu->c);
    if (schema) a.o.database = *schema ? lua_pushstring(L, schema) : NULL;
    lua_auth auth;
    myl_lua_auth_init(L, &auth, a.auth_idx);
    a.o.auth_hooks = &auth.hooks;
    cu = myl_lua_check_conn(L, idx); /* a finalizer may have closed it meanwhile */
    if (lua_getiuservalue(L, idx, 1) == LUA_TFUNCTION) a.o.local_infile_hooks = &cu->infile;
    myl_connect_job *job = push_job(L, &a);
    cu = myl_lua_check_conn(L, idx);
    /* The same core connection is opened again: statements prepared on it
     * learn that their session ended; the walk of live connections leaves
     * it alone meanwhile. */
    myl_lua_live_remove(cu);
    job->conn = cu->c;
    cu->g.doing = "reconnects";
    myl_guard_enter(&cu->g);
    int rc = myl_connect_job_run(job);
    job->conn = NULL; /* never the job's to free */
    cu->g.doing = NULL;
    cu->session_gen++;
    cu->host_info[0] = '\0';
    myl_lua_conn_unbusy(cu);
    if (rc < 0) {
        myl_lua_auth_finish(L, &auth);
        raise_job_error(L, job);
    }
    if (!cu->c) luaL_error(L, "reconnect: the connection was closed by an auth callback");
    keep_host_info(cu, job);
    myl_lua_live_add(cu);
    lua_settop(L, saved - 1);
}

/* The end of an offloaded change_user (no auth callback ran). */
static int change_user_done(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    myl_command_job *j = myl_command_job_end(ctx);
    if (j->rc < 0) {
        /* the server has ended the session: the object says so too */
        if (myl_guard_close(&j->cu->g)) free_conn(j->cu);
        return myl_lua_raise(L, &j->e);
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* db:change_user{ user =, password =, database =, charset =, auth = }: a
 * new login on this connection (the connect's auth_plugins,
 * allow_cleartext and RSA key options still hold).  On failure the
 * connection is closed, as the server closes it. */
static int conn_change_user(lua_State *L)
{
    myl_lua_check_conn(L, 1);
    myl_lua_check_type(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    static const char *const keys[] = {"user", "password", "database", "charset", "auth", NULL};
    const char *unknown = myl_lua_unknown_key(L, 2, keys);
    if (unknown)
        luaL_error(L, "change_user: unknown option '%s' (expected user, password, database, "
                   "charset, auth)", unknown);
    myl_options o;
    myl_options_init(&o);
    o.password = "";
    const char **fields[] = {&o.user, &o.password, &o.database, &o.charset};
    for (int i = 0; i < 4; i++) {
        int ty = lua_getfield(L, 2, keys[i]); /* stays on the stack */
        if (ty == LUA_TNIL) continue;
        size_t len = 0;
        const char *v = ty == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
        if (!v) luaL_error(L, "change_user: option '%s' must be a string", keys[i]);
        if (memchr(v, 0, len)) luaL_error(L, "change_user: option '%s' contains a NUL byte", keys[i]);
        *fields[i] = v;
    }
    if (lua_getfield(L, 2, "auth") == LUA_TNIL) {
        /* the host program's auth hook, as for a connect */
        lua_pop(L, 1);
        if (lua_getfield(L, LUA_REGISTRYINDEX, MYL_HOST_DEFAULTS) == LUA_TTABLE)
            lua_getfield(L, -1, "auth");
        else
            lua_pushnil(L);
    }
    lua_auth auth;
    myl_lua_auth_init(L, &auth, lua_gettop(L));
    o.auth_hooks = &auth.hooks;
    /* Under mylua.parallel the login runs on the task's worker unless it
     * may call Lua (the script's auth callbacks); the host program's
     * terminal prompt is not offered to a task, as for a connect. */
    if (!auth.table && myl_lua_can_offload(L)) {
        int offload;
        myl_command_job *j = myl_command_job_new(L, NULL, MYL_CMD_CHANGE_USER, &offload);
        j->opt = o;
        j->opt.auth_hooks = NULL;
        conn_ud *cu = myl_lua_check_conn(L, 1); /* a finalizer may have run meanwhile */
        return myl_command_job_start(L, cu, j, 1, "changes user", change_user_done);
    }
    conn_ud *cu = myl_lua_check_conn(L, 1); /* a finalizer may have run meanwhile */
    cu->g.doing = "changes user";
    myl_guard_enter(&cu->g);
    int rc = myl_change_user(cu->c, &o);
    myl_error e = *myl_conn_error(cu->c);
    cu->g.doing = NULL;
    myl_lua_conn_unbusy(cu);
    if (rc < 0) {
        /* the server has ended the session: the object says so too */
        if (myl_guard_close(&cu->g)) free_conn(cu);
        myl_lua_auth_finish(L, &auth);
        return myl_lua_raise(L, &e);
    }
    if (!cu->c) luaL_error(L, "change_user: the connection was closed by an auth callback");
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- methods ---- */

/* The SQL text of db:query and cur:execute must be a string: a number
 * would otherwise be sent as its text. */
static void check_sql(lua_State *L, int idx)
{
    if (lua_type(L, idx) != LUA_TSTRING) myl_lua_typeerror(L, idx, "string");
}

/* db:query's network part, a job (worker.h): on the task's worker thread
 * under mylua.parallel, inline otherwise.  It lives in a userdata on the
 * calling thread's stack, under the result object it fills. */
typedef struct query_job {
    myl_conn *c;
    const char *sql; /* the statement text, on the stack below */
    size_t n;
    myl_result *res;
    myl_error e;
    myl_result **slot; /* the result object's, on the stack below */
    myl_lua_infile_call call;
    int in_flight; /* handed to a worker and its continuation not run yet */
} query_job;

static void run_query(void *arg)
{
    query_job *j = arg;
    j->res = myl_query(j->c, j->sql, j->n);
    if (!j->res) j->e = *myl_conn_error(j->c);
}

/* The names table of the last query's columns, the connection object's
 * user value UV_CONN_NAMES: a userdata holding those columns (one
 * reference, so their address stays theirs), the table its user value.
 * The core shares the columns of a result whose definitions are the same
 * bytes as the last one's (a query run again), and such a result takes the
 * same names table instead of making its own, as a statement's results do. */
#define NAMES_CACHE_MT "mylua.names_cache"
typedef struct names_cache {
    myl_columns *cols;
} names_cache;

static int names_cache_gc(lua_State *L)
{
    names_cache *nc = lua_touserdata(L, 1);
    myl_columns_free(nc->cols);
    nc->cols = NULL;
    return 0;
}

/* Makes the result object on top ready: its names from the connection
 * object at conn_idx when its columns are the last query's, else made, and
 * kept there for the next. */
static void result_ready(lua_State *L, int conn_idx, myl_columns *cols)
{
    int res = lua_gettop(L);
    if (!cols) {
        myl_lua_result_ready(L, res);
        return;
    }
    names_cache *nc = NULL;
    if (lua_getiuservalue(L, conn_idx, UV_CONN_NAMES) == LUA_TUSERDATA) {
        nc = lua_touserdata(L, -1);
        if (nc->cols == cols && lua_getiuservalue(L, -1, 1) == LUA_TTABLE) {
            myl_lua_result_ready_names(L, res, lua_gettop(L));
            lua_settop(L, res);
            return;
        }
    }
    lua_settop(L, res);
    myl_lua_result_ready(L, res);
    myl_lua_result_push_names(L, res);
    if (lua_type(L, -1) != LUA_TTABLE) {
        lua_settop(L, res);
        return;
    }
    if (!nc) {
        nc = lua_newuserdatauv(L, sizeof *nc, 1);
        nc->cols = NULL;
        if (luaL_newmetatable(L, NAMES_CACHE_MT)) {
            lua_pushcfunction(L, names_cache_gc);
            lua_setfield(L, -2, "__gc");
        }
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, conn_idx, UV_CONN_NAMES);
    } else {
        lua_getiuservalue(L, conn_idx, UV_CONN_NAMES);
    }
    lua_pushvalue(L, -2);
    lua_setiuservalue(L, -2, 1);
    myl_columns_free(nc->cols);
    nc->cols = myl_columns_ref(cols);
    lua_settop(L, res);
}

/* The Lua part, after the job; the stack holds the connection object at
 * 1, ..., the result object, and above it the job's userdata when it has
 * one. */
static int query_finish(lua_State *L, query_job *j, int has_ud)
{
    j->in_flight = 0;
    *j->slot = j->res;
    j->res = NULL; /* the result object's now */
    if (myl_lua_infile_end(L, &j->call)) return lua_error(L); /* the callback's own error */
    if (!*j->slot) return myl_lua_raise(L, &j->e);
    if (has_ud) lua_pop(L, 1);
    result_ready(L, 1, (*j->slot)->cols);
    return 1;
}

/* The job's userdata under mylua.parallel: when its coroutine is never
 * resumed (the run was stopped, the state closed), the result the job
 * read is freed here, once no job runs any more. */
#define QUERY_JOB_MT "mylua.query_job"
static int query_job_gc(lua_State *L)
{
    query_job *j = lua_touserdata(L, 1);
    /* only a job whose coroutine was never resumed may still run: waiting
     * for every job in the process would stall the scheduler */
    if (j->in_flight) myl_lua_offload_drain();
    j->in_flight = 0;
    if (j->res) myl_result_free(j->res);
    j->res = NULL;
    return 0;
}

static query_job *new_query_job(lua_State *L)
{
    query_job *j = lua_newuserdatauv(L, sizeof *j, 0);
    memset(j, 0, sizeof *j);
    if (luaL_newmetatable(L, QUERY_JOB_MT)) {
        lua_pushcfunction(L, query_job_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return j;
}

static int query_done(lua_State *L, int status, lua_KContext job_idx)
{
    (void)status;
    return query_finish(L, lua_touserdata(L, (int)job_idx), 1);
}

static int conn_query(lua_State *L)
{
    conn_ud *cu = myl_lua_conn_for_command(L, 1);
    check_sql(L, 2);
    myl_lua_build_sql(L, myl_conn_escape_style(cu->c), 2, 3, lua_gettop(L));
    size_t n;
    const char *sql = lua_tolstring(L, -1, &n);
    /* Allocate before draining: a collection here may orphan a stream. */
    myl_result **slot = myl_lua_new_result(L);
    /* Under mylua.parallel the job outlives this C frame: it goes in a
     * userdata on the coroutine's stack. */
    query_job local, *j = &local;
    int offload = myl_lua_can_offload(L);
    if (offload) j = new_query_job(L);
    else memset(j, 0, sizeof *j);
    int job_idx = lua_gettop(L);
    cu = myl_lua_check_conn(L, 1); /* a finalizer may have closed it meanwhile */
    j->c = cu->c;
    j->sql = sql;
    j->n = n;
    j->slot = slot;
    /* A LOAD DATA LOCAL INFILE statement runs its source meanwhile: a Lua
     * handler runs on this thread, so the query does too. */
    myl_lua_infile_begin(L, 1, cu, &j->call, NULL);
    if (!offload || j->call.handler) {
        run_query(j);
        return query_finish(L, j, offload);
    }
    cu->g.doing = "runs a query";
    j->in_flight = 1;
    return myl_lua_offload(L, run_query, j, query_done, job_idx);
}

static int conn_quote(lua_State *L)
{
    conn_ud *cu = myl_lua_check_conn(L, 1);
    myl_lua_check_any(L, 2);
    myl_lua_push_literal(L, myl_conn_escape_style(cu->c), 2);
    return 1;
}

static int conn_escape(lua_State *L)
{
    myl_lua_check_conn(L, 1);
    size_t n;
    const char *s = myl_lua_check_lstring(L, 2, &n); /* may allocate: check again after */
    myl_escape_style st = myl_conn_escape_style(myl_lua_check_conn(L, 1)->c);
    luaL_Buffer b;
    char *dst = luaL_buffinitsize(L, &b, 2 * n + 1);
    luaL_pushresultsize(&b, myl_escape(dst, s, n, st.charset->mb, st.no_backslash));
    return 1;
}

static int conn_quote_name(lua_State *L)
{
    myl_lua_check_conn(L, 1);
    size_t n;
    const char *s = myl_lua_check_lstring(L, 2, &n);
    if (n == 0) myl_lua_argerror(L, 2, "empty identifier");
    if (memchr(s, 0, n)) myl_lua_argerror(L, 2, "identifier contains a NUL byte");
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '`');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '`') luaL_addchar(&b, '`');
        luaL_addchar(&b, s[i]);
    }
    luaL_addchar(&b, '`');
    luaL_pushresult(&b);
    return 1;
}

/* ping, select_db, kill and reset: a job each (command_job.h), handed to
 * the task's worker under mylua.parallel. */
static int conn_ping(lua_State *L)
{
    myl_lua_conn_for_command(L, 1);
    myl_command_job local;
    int offload;
    myl_command_job *j = myl_command_job_new(L, &local, MYL_CMD_PING, &offload);
    conn_ud *cu = myl_lua_check_conn(L, 1); /* a finalizer may have closed it meanwhile */
    return myl_command_job_start(L, cu, j, offload, "pings the server", myl_command_job_done);
}

static int conn_select_db(lua_State *L)
{
    myl_lua_check_conn(L, 1);
    size_t n;
    const char *db = myl_lua_check_lstring(L, 2, &n); /* stays on the stack */
    myl_lua_conn_for_command(L, 1);
    myl_command_job local;
    int offload;
    myl_command_job *j = myl_command_job_new(L, &local, MYL_CMD_SELECT_DB, &offload);
    j->text = db;
    j->len = n;
    conn_ud *cu = myl_lua_check_conn(L, 1); /* the conversion may have run a finalizer */
    return myl_command_job_start(L, cu, j, offload, "selects a database", myl_command_job_done);
}

static int conn_kill(lua_State *L)
{
    myl_lua_conn_for_command(L, 1);
    lua_Integer id = myl_lua_check_integer(L, 2);
    if (id < 0 || id > 0xFFFFFFFF) myl_lua_argerror(L, 2, "thread id out of range");
    myl_command_job local;
    int offload;
    myl_command_job *j = myl_command_job_new(L, &local, MYL_CMD_KILL, &offload);
    j->id = (uint32_t)id;
    conn_ud *cu = myl_lua_check_conn(L, 1);
    return myl_command_job_start(L, cu, j, offload, "kills a session", myl_command_job_done);
}

static int conn_reset(lua_State *L)
{
    myl_lua_conn_for_command(L, 1);
    myl_command_job local;
    int offload;
    myl_command_job *j = myl_command_job_new(L, &local, MYL_CMD_RESET, &offload);
    conn_ud *cu = myl_lua_check_conn(L, 1);
    return myl_command_job_start(L, cu, j, offload, "resets the session", myl_command_job_done);
}

/* __gc: an unreachable connection cannot be in the middle of a decode. */
static int conn_gc(lua_State *L)
{
    conn_ud *cu = luaL_checkudata(L, 1, MYL_CONNECTION_MT);
    /* Busy at collection: the state is closing under a suspended query
     * whose job may still use the connection (worker.h). */
    if (cu->g.busy) myl_lua_offload_drain();
    free_conn(cu);
    return 0;
}

/* close() and __close: idempotent; deferred while a row is being decoded. */
static int conn_close(lua_State *L)
{
    conn_ud *cu = myl_lua_check_self(L, MYL_CONNECTION_MT);
    if (myl_guard_close(&cu->g)) free_conn(cu);
    lua_pushboolean(L, 1);
    return 1;
}

static int conn_tostring(lua_State *L)
{
    conn_ud *cu = luaL_checkudata(L, 1, MYL_CONNECTION_MT);
    if (myl_guard_closed(&cu->g, cu->c != NULL)) lua_pushliteral(L, "mylua.connection (closed)");
    else lua_pushfstring(L, "mylua.connection (%s, thread %d)", myl_host_info(cu->c),
                         (int)myl_thread_id(cu->c));
    return 1;
}

/* db.tls: nil for a session in clear, else what was negotiated and how
 * the server's certificate came to be trusted. */
static void push_tls(lua_State *L, const myl_tls_info *tls)
{
    static const char *const how[] = {NULL, "ca", "fingerprint", "server proof"};
    if (!tls) {
        lua_pushnil(L);
        return;
    }
    lua_createtable(L, 0, 6);
    lua_pushstring(L, tls->version);
    lua_setfield(L, -2, "version");
    lua_pushstring(L, tls->cipher);
    lua_setfield(L, -2, "cipher");
    lua_pushstring(L, tls->subject);
    lua_setfield(L, -2, "subject");
    lua_pushstring(L, tls->issuer);
    lua_setfield(L, -2, "issuer");
    lua_pushstring(L, tls->fingerprint);
    lua_setfield(L, -2, "fingerprint");
    if (tls->verified > MYL_TLS_NOT_VERIFIED && tls->verified <= MYL_TLS_BY_PROOF)
        lua_pushstring(L, how[tls->verified]);
    else
        lua_pushboolean(L, 0);
    lua_setfield(L, -2, "verified");
}

/* db.field: methods first, then the connection's properties. */
static int conn_index(lua_State *L)
{
    conn_ud *cu = luaL_checkudata(L, 1, MYL_CONNECTION_MT);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    const char *k = lua_tostring(L, 2);
    if (!k) return 0;
    if (strcmp(k, "closed") == 0) {
        lua_pushboolean(L, myl_guard_closed(&cu->g, cu->c != NULL));
        return 1;
    }
    if (strcmp(k, "broken") == 0) { /* lost, timed out or out of step; a closed one is not */
        lua_pushboolean(L, !myl_guard_closed(&cu->g, cu->c != NULL) &&
                               myl_conn_state(cu->c) == MYL_STATE_BROKEN);
        return 1;
    }
    if (myl_guard_closed(&cu->g, cu->c != NULL)) {
        if (strcmp(k, "server_version") == 0 || strcmp(k, "thread_id") == 0 ||
            strcmp(k, "host_info") == 0 || strcmp(k, "charset") == 0 ||
            strcmp(k, "status") == 0 || strcmp(k, "server_version_number") == 0 ||
            strcmp(k, "tls") == 0 || strcmp(k, "compression") == 0)
            return luaL_error(L, "attempt to use a closed connection");
        return 0;
    }
    if (strcmp(k, "server_version") == 0) lua_pushstring(L, myl_server_version(cu->c));
    else if (strcmp(k, "server_version_number") == 0)
        lua_pushinteger(L, (lua_Integer)myl_server_version_number(cu->c));
    else if (strcmp(k, "thread_id") == 0) lua_pushinteger(L, myl_thread_id(cu->c));
    else if (strcmp(k, "host_info") == 0)
        lua_pushstring(L, cu->host_info[0] ? cu->host_info : myl_host_info(cu->c));
    else if (strcmp(k, "charset") == 0) lua_pushstring(L, myl_charset_name(cu->c));
    else if (strcmp(k, "status") == 0) lua_pushinteger(L, myl_server_status(cu->c));
    else if (strcmp(k, "tls") == 0) push_tls(L, myl_conn_tls(cu->c));
    else if (strcmp(k, "compression") == 0) { /* "zlib", "zstd", or nil */
        const char *z = myl_conn_compression(cu->c);
        if (z) lua_pushstring(L, z);
        else lua_pushnil(L);
    }
    else return 0;
    return 1;
}

static const luaL_Reg conn_methods[] = {
    {"query", conn_query},
    {"quote", conn_quote},
    {"escape", conn_escape},
    {"quote_name", conn_quote_name},
    {"ping", conn_ping},
    {"select_db", conn_select_db},
    {"kill", conn_kill},
    {"reset", conn_reset},
    {"change_user", conn_change_user},
    {"reconnect", myl_lua_conn_reconnect_method},
    {"load", myl_lua_conn_load},
    {"close", conn_close},
    {NULL, NULL},
};

/* __close cannot fail (closing sends COM_QUIT and ignores the outcome), so
 * it is close() itself. */
static const luaL_Reg conn_metamethods[] = {
    {"__gc", conn_gc},
    {"__close", conn_close},
    {"__tostring", conn_tostring},
    {NULL, NULL},
};

void myl_lua_connection_init(lua_State *L)
{
    /* The metatable's "methods" is where the Lua layer adds its methods. */
    myl_lua_new_type(L, MYL_CONNECTION_MT, conn_methods, conn_metamethods, conn_index);
    lua_pop(L, 1);
    luaL_newmetatable(L, CONNECT_JOB_MT);
    lua_pushcfunction(L, connect_job_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}
