/* mylua: runs a Lua script with the mylua driver preloaded.
 *
 *   mylua [options] script.lua [args...]
 *   mylua -e 'code' [-e 'code' ...] [script.lua [args...]]
 *
 * Exit codes: 0 success, 1 uncaught error (one line on stderr), 2 usage
 * error; os.exit(n) as usual. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/version.h"
#include "embedded.h"

#include "../lua/mylua_core.h"

static const char *progname = "mylua";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [options] [script.lua [args...]]\n"
            "  -e code        run code (may be given several times)\n"
            "  --traceback    print a traceback with an uncaught error\n"
            "  -V, --version  print the version and exit\n"
            "  --help         print this help and exit\n"
            "  -              read the script from standard input\n",
            progname);
}

/* Message handler: keeps error objects as they are (their __tostring gives
 * the line we print) and adds a traceback when one is wanted. */
static int msghandler(lua_State *L)
{
    int traceback = (int)lua_toboolean(L, lua_upvalueindex(1));
    const char *msg = luaL_tolstring(L, 1, NULL);
    if (!traceback) return 1;
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Prints the error of a failed chunk: one line (newlines inside a server
 * message become spaces) unless a traceback was asked for. */
static int report(lua_State *L, int status, int traceback)
{
    if (status != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        if (!msg) msg = "(error object is not a string)";
        if (!traceback && strpbrk(msg, "\r\n")) {
            luaL_gsub(L, msg, "\r\n", " ");
            msg = luaL_gsub(L, lua_tostring(L, -1), "\n", " ");
            msg = luaL_gsub(L, msg, "\r", " ");
        }
        fprintf(stderr, "%s: %s\n", progname, msg);
        fflush(stderr);
        lua_settop(L, 0);
    }
    return status;
}

static int docall(lua_State *L, int nargs, int traceback)
{
    int base = lua_gettop(L) - nargs;
    lua_pushboolean(L, traceback);
    lua_pushcclosure(L, msghandler, 1);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, 0, base);
    lua_remove(L, base);
    return status;
}

static void preload(lua_State *L)
{
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_mylua_core);
    lua_setfield(L, -2, "mylua.core");
    for (const myl_embedded_module *m = myl_embedded_modules; m->name; m++) {
        char chunkname[128];
        snprintf(chunkname, sizeof chunkname, "=[mylua] %s", m->name);
        if (luaL_loadbuffer(L, m->source, m->size, chunkname) != LUA_OK) {
            fprintf(stderr, "%s: %s\n", progname, lua_tostring(L, -1));
            exit(1);
        }
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

int main(int argc, char **argv)
{
    int traceback = getenv("MYLUA_TRACEBACK") != NULL;
    int script = 0;
    int has_e = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-e") == 0) {
            if (++i >= argc) {
                fprintf(stderr, "%s: '-e' needs an argument\n", progname);
                usage(stderr);
                return 2;
            }
            has_e = 1;
        } else if (strcmp(a, "--traceback") == 0) {
            traceback = 1;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            printf("mylua " MYL_VERSION " (%s)\n", LUA_RELEASE);
            return 0;
        } else if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--") == 0) {
            if (i + 1 < argc) script = i + 1;
            break;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "%s: unknown option '%s'\n", progname, a);
            usage(stderr);
            return 2;
        } else {
            script = i;
            break;
        }
    }
    if (!script && !has_e) {
        if (isatty(0)) {
            usage(stderr);
            return 2;
        }
    }

    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "%s: cannot create a Lua state: not enough memory\n", progname);
        return 1;
    }
    luaL_openlibs(L);
    preload(L);
    create_arg_table(L, argv, argc, script);

    int status = LUA_OK;
    for (int i = 1; i < (script ? script : argc) && status == LUA_OK; i++) {
        if (strcmp(argv[i], "-e") == 0) {
            const char *code = argv[++i];
            status = luaL_loadbuffer(L, code, strlen(code), "=(command line)");
            if (status == LUA_OK) status = docall(L, 0, traceback);
            report(L, status, traceback);
        }
    }
    if (status == LUA_OK && (script || !has_e)) {
        const char *fname = script ? argv[script] : NULL;
        if (fname && strcmp(fname, "-") == 0) fname = NULL; /* stdin */
        status = luaL_loadfile(L, fname);
        if (status == LUA_OK) {
            int nargs = 0;
            for (int i = script + 1; script && i < argc; i++, nargs++) lua_pushstring(L, argv[i]);
            status = docall(L, nargs, traceback);
        }
        report(L, status, traceback);
    }
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
