/* mylua: runs a Lua script with the mylua driver preloaded.
 *
 *   mylua [options] script.lua [args...]
 *   mylua [options] -e 'code' [-l mod] ... [script.lua [args...]]
 *   mylua [options] - [args...]         (the script on standard input)
 *   mylua [options] [-i]   the interactive prompt (repl.h): without a script
 *                          when stdin is a terminal, or after the script and
 *                          -e with -i
 *   mylua [options] migrate COMMAND ...   the migration runner of the
 *                          embedded mylua.migrate (its main(args) gives the
 *                          exit status); `mylua -- migrate` runs a file
 *
 * Options before the script: -e, -l and --traceback as lua's, -i,
 * --verbose and --quiet (the level mylua.log starts at), --lock,
 * --timeout, --hosts and --parallel (run.h), and the connection options of options.h (-h, -u, -p,
 * --ssl-mode, --compress, --auth-hook, ...), which mylua.connect takes as
 * defaults together with the option files' and the environment's.
 * Everything after the script name is the script's, which sees `arg` as
 * under lua.
 *
 * Exit codes (exit_codes.h): 0 success, 1 uncaught error (one line on
 * stderr; an --auth-hook file that fails counts as one; with --hosts, a
 * host whose run failed), 2 usage error (a
 * bad option, option file or argument), 3 --lock held by another run
 * (lock.h), 4 --timeout passed, 128 + the signal's number for SIGINT and
 * SIGTERM (cancel.h); os.exit(n) as usual.  As lua.c does, everything that
 * touches the Lua state runs under lua_pcall, and the state is always
 * closed before the program exits (os.exit included), so every connection
 * still open is closed with COM_QUIT by its finalizer. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/version.h"
#include "auth_hook.h"
#include "cancel.h"
#include "embedded.h"
#include "exit_codes.h"
#include "lock.h"
#include "options.h"
#include "prompt.h"
#include "repl.h"
#include "run.h"
#include "state.h"

#include "../lua/mylua_core.h"
#include "../lua/term.h"

/* The registry name of the error objects' metatable (src/lua/binding.h). */
#define ERROR_METATABLE "mylua.error"

static const char *progname = "mylua";

/* What main parsed, handed to the protected main. */
typedef struct host_args {
    int argc;
    char **argv;
    int script;    /* index of the script in argv, 0 when none */
    int migrate;   /* the script is the word `migrate`: the migration runner */
    int has_e;
    int interactive; /* -i, or no script with a terminal on stdin: the prompt */
    unsigned char *is_code; /* is_code[i]: argv[i] is what an -e or -l gives (ARG_CODE,
                               ARG_LIBRARY), not another option's value */
    host_options conn;      /* the connection options given */
    host_run run;           /* --lock and --timeout */
    int status;             /* set by the protected main when not 0 or 1 (the lock held) */
    int traceback;
    const char *log_level;  /* --verbose "debug", --quiet "error", NULL: mylua.log's default */
    int failed;    /* set by the protected main when a chunk failed */
} host_args;

/* What an argument is; the _JOINED forms are "-eCODE", "-lNAME". */
enum { ARG_OTHER, ARG_CODE, ARG_LIBRARY, ARG_CODE_JOINED, ARG_LIBRARY_JOINED };

/* The usage line; with the options when `full` (--help), else with a
 * pointer to --help, so a mistake is not buried under the whole list. */
static void usage(FILE *out, int full)
{
    if (!full) {
        fprintf(out, "usage: %s [options] [script.lua [args...]]\n"
                     "       %s [options] migrate COMMAND [...]\n"
                     "('%s --help' lists the options)\n", progname, progname, progname);
        return;
    }
    fprintf(out,
            "usage: %s [options] [script.lua [args...]]\n"
            "       %s [options] migrate COMMAND ...   schema migrations (migrate --help)\n"
            "  -e CODE                   run CODE (may be given several times)\n"
            "  -l NAME, -l G=NAME        require module NAME into global NAME (or G)\n"
            "  -i                        the interactive prompt after the script and -e\n"
            "                            (also without a script when stdin is a terminal)\n"
            "  --traceback               print a traceback with an uncaught error\n"
            "  --verbose                 mylua.log writes debug lines too\n"
            "  --quiet                   only errors: no info or warn lines, no progress\n"
            "  -V, --version             print the version and exit\n"
            "  -?, --help                print this help and exit\n"
            "  -                         read the script from standard input\n"
            "  --                        the next argument is the script\n"
            "%s\n",
            progname, progname, host_run_help);
    host_options_help(out);
}

static int is_mylua_error(lua_State *L, int idx)
{
    int yes = 0;
    if (lua_type(L, idx) == LUA_TTABLE && lua_getmetatable(L, idx)) {
        luaL_getmetatable(L, ERROR_METATABLE);
        yes = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    return yes;
}

/* Message handler: turns the error value into the text we print.  A mylua
 * error object is placed where it was raised ("script.lua:12: ERROR 1064
 * (42000): ..."), a Lua error string has its position already; a traceback
 * follows when one is wanted. */
static int msghandler(lua_State *L)
{
    int traceback = (int)lua_toboolean(L, lua_upvalueindex(1));
    const char *msg;
    if (is_mylua_error(L, 1)) {
        lua_getfield(L, 1, "where");
        const char *where = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        const char *text = luaL_tolstring(L, 1, NULL);
        msg = where && *where ? lua_pushfstring(L, "%s %s", where, text) : text;
    } else if (lua_type(L, 1) == LUA_TSTRING || lua_type(L, 1) == LUA_TNUMBER ||
               luaL_getmetafield(L, 1, "__tostring") != LUA_TNIL) {
        msg = luaL_tolstring(L, 1, NULL);
    } else {
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    host_cancel_word_error(L); /* a stop's reason first */
    msg = lua_tostring(L, -1);
    if (traceback) luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Prints the error of a failed chunk (the value on top, which the message
 * handler made a string): "mylua: " and one line, or the traceback. */
static void report(lua_State *L, int traceback)
{
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    if (!msg) msg = "(error object is not a string)", len = strlen(msg);
    msg = myl_lua_push_printable(L, msg, len, traceback);
    fprintf(stderr, "%s: %s\n", progname, msg);
    fflush(stderr);
    lua_pop(L, 2);
}

/* Calls the chunk below its nargs arguments, keeping nresults results;
 * returns the status (the error on top when it failed). */
static int docall_results(lua_State *L, int nargs, int nresults, int traceback)
{
    int base = lua_gettop(L) - nargs;
    lua_pushboolean(L, traceback);
    lua_pushcclosure(L, msghandler, 1);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

static int docall(lua_State *L, int nargs, int traceback)
{
    return docall_results(L, nargs, 0, traceback);
}

/* -l NAME or -l G=NAME, as lua 5.4 takes it: G = require(NAME), G being
 * NAME up to a '-' when not given ("-l mod-v2" sets mod). */
static int dolibrary(lua_State *L, const char *spec, int traceback)
{
    const char *eq = strchr(spec, '=');
    const char *modname = eq ? eq + 1 : spec;
    size_t globlen = eq ? (size_t)(eq - spec) : strcspn(spec, "-");
    lua_getglobal(L, "require");
    lua_pushstring(L, modname);
    int status = docall_results(L, 1, 1, traceback);
    if (status == LUA_OK) {
        lua_pushlstring(L, spec, globlen);
        lua_insert(L, -2);
        lua_setglobal(L, lua_tostring(L, -2));
        lua_pop(L, 1);
    }
    return status;
}

/* os.exit(code) as the standard one, but always closing the state first
 * (os.exit(code, true)): finalizers run, so open connections say COM_QUIT
 * instead of being dropped, and buffered files are flushed. */
static int closing; /* the state is being closed: a finalizer calling
                       os.exit then must not close it a second time */

static int host_exit(lua_State *L)
{
    int status;
    if (lua_isboolean(L, 1))
        status = lua_toboolean(L, 1) ? EXIT_SUCCESS : EXIT_FAILURE;
    else
        status = (int)luaL_optinteger(L, 1, EXIT_SUCCESS);
    if (!closing) {
        closing = 1;
        host_cancel_quiet(L); /* no stop hook on a state being closed */
        host_state_close(L);
    }
    exit(status);
}

static void replace_os_exit(lua_State *L)
{
    lua_getglobal(L, "os");
    lua_pushcfunction(L, host_exit);
    lua_setfield(L, -2, "exit");
    lua_pop(L, 1);
}

/* Registers mylua.core and the compiled-in Lua modules in package.preload;
 * raises if one of them does not load. */
static void preload(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_mylua_core);
    lua_setfield(L, -2, "mylua.core");
    for (const myl_embedded_module *m = myl_embedded_modules; m->name; m++) {
        char chunkname[128];
        snprintf(chunkname, sizeof chunkname, "=[mylua] %s", m->name);
        if (luaL_loadbuffer(L, m->source, m->size, chunkname) != LUA_OK) lua_error(L);
        lua_setfield(L, -2, m->name);
    }
    lua_pop(L, 1);
}

/* arg as lua.c builds it: script at 0, its arguments from 1, the
 * interpreter and options at negative indices. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script)
{
    lua_createtable(L, argc - script, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

/* `mylua migrate ...`: require("mylua.migrate").main(args), args being
 * what follows the word; main connects as mylua.connect() with no table
 * (the command line's options) and returns the exit status, having said
 * what went wrong.  The status goes to a->status. */
static int run_migrate(lua_State *L, host_args *a)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "mylua.migrate");
    int status = docall_results(L, 1, 1, a->traceback);
    if (status == LUA_OK) {
        lua_getfield(L, -1, "main");
        lua_remove(L, -2);
        lua_createtable(L, a->argc - a->script, 0);
        for (int i = a->script + 1; i < a->argc; i++) {
            lua_pushstring(L, a->argv[i]);
            lua_rawseti(L, -2, i - a->script);
        }
        status = docall_results(L, 1, 1, a->traceback);
    }
    if (status != LUA_OK) {
        report(L, a->traceback);
        return status;
    }
    a->status = (int)luaL_optinteger(L, -1, HOST_EXIT_ERROR);
    lua_pop(L, 1);
    return LUA_OK;
}

/* --hosts FILE: the loaded script (on top) runs once per host through
 * require("mylua.hosts").run(FILE, N, script, args...), whose status (1
 * when a host failed; it said which) goes to a->status. */
static int run_hosts(lua_State *L, host_args *a)
{
    int chunk = lua_gettop(L);
    luaL_checkstack(L, a->argc + 8, "too many script arguments");
    lua_getglobal(L, "require");
    lua_pushliteral(L, "mylua.hosts");
    int status = docall_results(L, 1, 1, a->traceback);
    if (status != LUA_OK) return status;
    lua_getfield(L, -1, "run");
    lua_remove(L, -2);
    lua_pushstring(L, a->run.hosts);
    lua_pushinteger(L, a->run.parallel ? a->run.parallel : HOST_PARALLEL_DEFAULT);
    lua_pushvalue(L, chunk);
    int nargs = 3;
    for (int i = a->script + 1; i < a->argc; i++, nargs++) lua_pushstring(L, a->argv[i]);
    status = docall_results(L, nargs, 1, a->traceback);
    if (status == LUA_OK) {
        if (lua_tointeger(L, -1) != 0) a->status = HOST_EXIT_ERROR;
        lua_pop(L, 1);
    }
    lua_remove(L, chunk);
    return status;
}

/* The protected main: sets the state up, runs each -e, then the script.
 * A failing chunk is reported here and sets a->failed. */
static int pmain(lua_State *L)
{
    host_args *a = lua_touserdata(L, 1);
    int argc = a->argc, script = a->script, traceback = a->traceback;
    char **argv = a->argv;
    lua_settop(L, 0);
    luaL_checkversion(L);
    luaL_openlibs(L);
    replace_os_exit(L);
    preload(L);
    host_cancel_register(L);
    create_arg_table(L, argv, argc, script);
    host_options_push(L, &a->conn);
    if (a->log_level) {
        lua_pushstring(L, a->log_level);
        lua_setfield(L, LUA_REGISTRYINDEX, MYL_HOST_LOG_LEVEL);
    }
    host_prompt_register(L, a->conn.prompt_timeout);

    /* The auth hook first: no chunk runs when it fails. */
    int status = LUA_OK;
    if (a->conn.auth_hook) {
        lua_pushcfunction(L, host_auth_hook_install);
        lua_pushstring(L, a->conn.auth_hook);
        status = docall(L, 1, traceback);
        if (status != LUA_OK) report(L, traceback);
    }
    if (status == LUA_OK && a->run.lock) {
        a->status = host_lock_take(L, &a->run);
        if (a->status != HOST_EXIT_OK) status = LUA_ERRRUN; /* reported */
    }
    for (int i = 1; i < (script ? script : argc) && status == LUA_OK; i++) {
        int kind = a->is_code[i];
        const char *text = argv[i] + (kind >= ARG_CODE_JOINED ? 2 : 0);
        if (kind == ARG_CODE || kind == ARG_CODE_JOINED) {
            status = luaL_loadbuffer(L, text, strlen(text), "=(command line)");
            if (status == LUA_OK) status = docall(L, 0, traceback);
            if (status != LUA_OK) report(L, traceback);
        } else if (kind == ARG_LIBRARY || kind == ARG_LIBRARY_JOINED) {
            status = dolibrary(L, text, traceback);
            if (status != LUA_OK) report(L, traceback);
        }
    }
    if (status == LUA_OK && a->migrate) {
        status = run_migrate(L, a);
    } else if (status == LUA_OK && (script || (!a->has_e && !a->interactive))) {
        const char *fname = script ? argv[script] : NULL;
        if (fname && strcmp(fname, "-") == 0) fname = NULL; /* stdin */
        status = luaL_loadfile(L, fname);
        if (status == LUA_OK && a->run.hosts) {
            status = run_hosts(L, a);
        } else if (status == LUA_OK) {
            int nargs = 0;
            luaL_checkstack(L, argc, "too many script arguments");
            for (int i = script + 1; script && i < argc; i++, nargs++) lua_pushstring(L, argv[i]);
            status = docall(L, nargs, traceback);
        }
        if (status != LUA_OK) report(L, traceback);
    }
    if (status == LUA_OK && a->interactive) host_repl_run(L, traceback);
    host_cancel_quiet(L);
    host_lock_release(L);
    a->failed = status != LUA_OK;
    return 0;
}

/* A usage error: the message, the usage text, exit status 2. */
static int usage_error(const char *fmt, const char *what)
{
    fprintf(stderr, "%s: ", progname);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    usage(stderr, 0);
    return HOST_EXIT_USAGE;
}

/* -e CODE / -eCODE and -l NAME / -lNAME: marks the argument that is the
 * code or the module.  1, 0 when arg is neither, or a usage error's status. */
static int code_or_library(host_args *a, int *i, int *status)
{
    char **argv = a->argv;
    const char *arg = argv[*i];
    if (arg[0] != '-' || (arg[1] != 'e' && arg[1] != 'l')) return 0;
    int kind = arg[1] == 'e' ? ARG_CODE : ARG_LIBRARY;
    if (arg[2] != '\0') {
        kind += ARG_CODE_JOINED - ARG_CODE; /* lua's own "-eCODE" */
    } else if (++*i >= a->argc) {
        *status = usage_error("option '%s' needs an argument", arg);
        return 1;
    }
    a->is_code[*i] = (unsigned char)kind;
    if (kind == ARG_CODE || kind == ARG_CODE_JOINED) a->has_e = 1;
    return 1;
}

/* Reads the options before the script into a; returns -1 when the program
 * goes on, or the exit status (--help, --version, --print-defaults, a usage
 * error).  Options of the program come before the connection options, so
 * a new one goes in the chain below. */
static int parse_args(host_args *a)
{
    int argc = a->argc;
    char **argv = a->argv;
    char err[512];
    int first = 1 + host_options_leading(&a->conn, argc, argv);
    if (a->conn.print_defaults) {
        if (host_options_print_defaults(&a->conn, argc, argv, first, err, sizeof err) < 0)
            return usage_error("%s", err);
        return 0;
    }
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        int got, status = -1;
        if (code_or_library(a, &i, &status)) {
            if (status >= 0) return status;
        } else if (strcmp(arg, "-i") == 0) {
            a->interactive = 1;
        } else if (strcmp(arg, "--traceback") == 0) {
            a->traceback = 1;
        } else if (strcmp(arg, "--verbose") == 0 || strcmp(arg, "--quiet") == 0) {
            a->log_level = arg[2] == 'v' ? "debug" : "error"; /* the last one given wins */
        } else if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
            printf("mylua " MYL_VERSION " (%s)\n", LUA_RELEASE);
            return 0;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-?") == 0) {
            usage(stdout, 1);
            return 0;
        } else if (strcmp(arg, "--") == 0) {
            if (i + 1 < argc) a->script = i + 1;
            break;
        } else if (host_options_is_leading(arg)) {
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(arg, "="), arg);
            int needs_value = strcmp(name, "--no-defaults") && strcmp(name, "--print-defaults");
            if (needs_value && !strchr(arg, '='))
                return usage_error("option '%s' takes its value after '=' (as the mariadb "
                                   "client), and comes first on the command line", name);
            return usage_error("option '%s' must come first on the command line, before the "
                               "other options (see --help)", name);
        } else if ((got = host_options_parse(&a->conn, argc, argv, &i, err, sizeof err)) != 0 ||
                   (got = host_run_parse(&a->run, argc, argv, &i, err, sizeof err)) != 0) {
            if (got < 0) return usage_error("%s", err);
        } else if (arg[0] == '-' && arg[1] != '\0') {
            char near[96];
            fprintf(stderr, "%s: unknown option '%s'%s\n", progname, arg,
                    host_options_suggest(arg, near, sizeof near));
            usage(stderr, 0);
            return HOST_EXIT_USAGE;
        } else {
            a->script = i;
            a->migrate = strcmp(arg, "migrate") == 0;
            break;
        }
    }
    if (a->run.hosts && (!a->script || a->migrate))
        return usage_error("%s", "option '--hosts' runs a script: name one (not migrate)");
    if (a->run.parallel && !a->run.hosts)
        return usage_error("%s", "option '--parallel' goes with '--hosts'");
    if (host_options_finish(&a->conn, err, sizeof err) < 0) return usage_error("%s", err);
    if (!a->script && !a->has_e && isatty(0)) a->interactive = 1;
    if (host_options_ask_password(&a->conn, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", progname, err);
        return HOST_EXIT_ERROR;
    }
    return -1;
}

int main(int argc, char **argv)
{
    host_args a;
    memset(&a, 0, sizeof a);
    a.argc = argc;
    a.argv = argv;
    a.traceback = getenv("MYLUA_TRACEBACK") != NULL;
    host_options_init(&a.conn);
    a.is_code = calloc((size_t)argc + 1, 1);
    if (!a.is_code) {
        fprintf(stderr, "%s: not enough memory\n", progname);
        return 1;
    }
    int done = parse_args(&a);
    if (done >= 0) {
        host_options_free(&a.conn);
        free(a.is_code);
        return done;
    }

    lua_State *L = host_state_new();
    if (!L) {
        fprintf(stderr, "%s: cannot create a Lua state: not enough memory\n", progname);
        host_options_free(&a.conn);
        free(a.is_code);
        return 1;
    }
    if (host_cancel_start(L, a.run.timeout) < 0) {
        host_state_close(L);
        free(a.is_code);
        return HOST_EXIT_ERROR;
    }
    lua_pushcfunction(L, pmain);
    lua_pushlightuserdata(L, &a);
    int status = lua_pcall(L, 1, 0, 0);
    host_cancel_quiet(L);
    if (status != LUA_OK) { /* setting up failed, or out of memory */
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "%s: %s\n", progname, msg ? msg : "(error object is not a string)");
        fflush(stderr);
        a.failed = 1;
    }
    closing = 1;
    host_state_close(L);
    host_options_free(&a.conn);
    free(a.is_code);
    if (a.status) return host_cancel_finish(a.status);
    return host_cancel_finish(a.failed ? HOST_EXIT_ERROR : HOST_EXIT_OK);
}
