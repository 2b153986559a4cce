/* --lock, --lock-method, --lock-stale, --timeout, --hosts and --parallel on the command line (run.h). */
#include "run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char host_run_help[] =
    "  --lock NAME        run only when no other run holds the server lock NAME\n"
    "                     (GET_LOCK, or on a Galera node a lock row); exit 3 when\n"
    "                     one does, or when the lock row is lost during the run\n"
    "  --lock-method M    auto (the default: a lock row on a Galera node, else\n"
    "                     GET_LOCK), get_lock or table\n"
    "  --lock-stale SECS  a lock row whose heartbeat is older is taken over\n"
    "                     (default 30)\n"
    "  --timeout SECONDS  end the run after SECONDS with exit 4, cancelling the\n"
    "                     statement in progress\n"
    "  --hosts FILE       run the script once per host listed in FILE (host[:port]\n"
    "                     a line, # comments), its output prefixed by the host;\n"
    "                     exit 1 when any host failed\n"
    "  --parallel N       with --hosts: N hosts at a time (default 10)\n";

/* The option's value: after '=' in the same argument, or the next one. */
static const char *value_of(const char *opt, int argc, char **argv, int *i, char *err,
                            size_t errsz)
{
    const char *arg = argv[*i];
    size_t n = strlen(opt);
    if (arg[n] == '=') return arg + n + 1;
    if (*i + 1 >= argc) {
        snprintf(err, errsz, "'%s' needs an argument", opt);
        return NULL;
    }
    return argv[++*i];
}

static int is_option(const char *arg, const char *opt)
{
    size_t n = strlen(opt);
    return strncmp(arg, opt, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int host_run_parse(host_run *r, int argc, char **argv, int *i, char *err, size_t errsz)
{
    const char *arg = argv[*i];
    if (is_option(arg, "--lock")) {
        const char *name = value_of("--lock", argc, argv, i, err, errsz);
        if (!name) return -1;
        if (!*name || strlen(name) > HOST_LOCK_NAME_MAX) {
            snprintf(err, errsz, "'--lock' needs a name of 1 to %d characters",
                     HOST_LOCK_NAME_MAX);
            return -1;
        }
        r->lock = name;
        return 1;
    }
    if (is_option(arg, "--lock-method")) {
        const char *m = value_of("--lock-method", argc, argv, i, err, errsz);
        if (!m) return -1;
        if (strcmp(m, "auto") != 0 && strcmp(m, "get_lock") != 0 && strcmp(m, "table") != 0) {
            snprintf(err, errsz, "'--lock-method' must be auto, get_lock or table (got '%.40s')", m);
            return -1;
        }
        r->lock_method = m;
        return 1;
    }
    if (is_option(arg, "--lock-stale")) {
        const char *v = value_of("--lock-stale", argc, argv, i, err, errsz);
        if (!v) return -1;
        char *end;
        double s = strtod(v, &end);
        if (end == v || *end || !isfinite(s) || s < 0.1 || s > HOST_LOCK_STALE_MAX) {
            snprintf(err, errsz, "'--lock-stale' must be a number of seconds from 0.1 to %.0f "
                     "(got '%.40s')", HOST_LOCK_STALE_MAX, v);
            return -1;
        }
        r->lock_stale = s;
        return 1;
    }
    if (is_option(arg, "--timeout")) {
        const char *v = value_of("--timeout", argc, argv, i, err, errsz);
        if (!v) return -1;
        char *end;
        double s = strtod(v, &end);
        if (end == v || *end || !isfinite(s) || s <= 0 || s > HOST_TIMEOUT_MAX) {
            snprintf(err, errsz, "'--timeout' must be a number of seconds above 0, at most "
                     "%.0f (got '%.40s')", HOST_TIMEOUT_MAX, v);
            return -1;
        }
        r->timeout = s;
        return 1;
    }
    if (is_option(arg, "--hosts")) {
        const char *file = value_of("--hosts", argc, argv, i, err, errsz);
        if (!file) return -1;
        if (!*file) {
            snprintf(err, errsz, "'--hosts' needs a file name");
            return -1;
        }
        r->hosts = file;
        return 1;
    }
    if (is_option(arg, "--parallel")) {
        const char *v = value_of("--parallel", argc, argv, i, err, errsz);
        if (!v) return -1;
        char *end;
        long n = strtol(v, &end, 10);
        if (end == v || *end || n < 1 || n > HOST_PARALLEL_MAX) {
            snprintf(err, errsz, "'--parallel' must be a whole number from 1 to %d (got '%.40s')",
                     HOST_PARALLEL_MAX, v);
            return -1;
        }
        r->parallel = (int)n;
        return 1;
    }
    return 0;
}
