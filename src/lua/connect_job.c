/* The connect job (connect_job.h): pure C, no Lua. */
#include "connect_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "../core/options.h"
#include "../core/result.h"
#include "../core/row.h"

int myl_host_entry_parse(const char *s, size_t len, char *host, size_t hostcap, unsigned *port)
{
    while (len && (*s == ' ' || *s == '\t')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    *port = 0;
    if (len == 0 || memchr(s, 0, len)) return -1;
    const char *name = s, *colon = NULL;
    size_t nlen = len;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close || close == s + 1) return -1;
        name = s + 1;
        nlen = (size_t)(close - name);
        size_t rest = len - (size_t)(close + 1 - s);
        if (rest) {
            if (close[1] != ':') return -1;
            colon = close + 1;
        }
    } else {
        const char *first = memchr(s, ':', len);
        /* one colon: host:port; more: a bare IPv6 address */
        if (first && !memchr(first + 1, ':', len - (size_t)(first + 1 - s))) {
            colon = first;
            nlen = (size_t)(first - s);
        }
    }
    if (colon) {
        const char *p = colon + 1, *end = s + len;
        unsigned long v = 0;
        if (p == end) return -1;
        for (; p < end; p++) {
            if (*p < '0' || *p > '9') return -1;
            v = v * 10 + (unsigned long)(*p - '0');
            if (v > 65535) return -1;
        }
        if (v == 0) return -1;
        *port = (unsigned)v;
    }
    if (nlen == 0 || nlen >= hostcap) return -1;
    memcpy(host, name, nlen);
    host[nlen] = '\0';
    return 0;
}

/* A seed for the random order: nothing here needs more than "not the same
 * order every run". */
static unsigned long shuffle_seed(const void *salt)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 20) ^
           ((unsigned long)getpid() << 8) ^ (unsigned long)(size_t)salt;
}

static void shuffle(myl_connect_target *t, size_t n, unsigned long seed)
{
    unsigned long x = seed | 1;
    for (size_t i = n; i > 1; i--) {
        x ^= x << 13; /* xorshift */
        x ^= x >> 7;
        x ^= x << 17;
        size_t j = (size_t)(x % i);
        myl_connect_target tmp = t[i - 1];
        t[i - 1] = t[j];
        t[j] = tmp;
    }
}

/* ---- require = "writable" ---- */

/* Reads (name, value) rows of a SHOW ... WHERE query into the values of
 * the names asked for (lowercase; "" when the server has no such one). */
static int read_pairs(myl_conn *c, const char *sql, const char *const *names, char (*vals)[16])
{
    for (size_t i = 0; names[i]; i++) vals[i][0] = '\0';
    myl_result *r = myl_query(c, sql, strlen(sql));
    if (!r) return -1;
    for (size_t row = 0; r->cols && r->cols->n >= 2 && row < r->nrows; row++) {
        size_t n, nl = 0, vl = 0;
        const uint8_t *p = myl_result_row(r, row, &n), *name = NULL, *val = NULL;
        myl_row_iter it;
        myl_row_begin(&it, p, n);
        if (myl_row_next(&it, &name, &nl) != MYL_ROW_VALUE) continue;
        if (myl_row_next(&it, &val, &vl) != MYL_ROW_VALUE) continue;
        for (size_t i = 0; names[i]; i++) {
            if (strlen(names[i]) == nl && strncasecmp(names[i], (const char *)name, nl) == 0) {
                size_t k = vl < sizeof vals[i] - 1 ? vl : sizeof vals[i] - 1;
                memcpy(vals[i], val, k);
                vals[i][k] = '\0';
            }
        }
    }
    myl_result_free(r);
    return 0;
}

static int is_on(const char *v)
{
    return strcasecmp(v, "ON") == 0 || strcmp(v, "1") == 0;
}

/* 0 when the server takes writes; -1 with why (a reason, or the error of
 * the query that should have told). */
static int check_writable(myl_conn *c, myl_error *why)
{
    static const char *const vars[] = {"read_only", "super_read_only", "wsrep_on", NULL};
    static const char *const stat[] = {"wsrep_ready", "wsrep_local_state", NULL};
    char v[3][16], s[2][16];
    if (read_pairs(c, "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
                      "('read_only', 'super_read_only', 'wsrep_on')", vars, v)) {
        *why = *myl_conn_error(c);
        return -1;
    }
    if (is_on(v[0]) || is_on(v[1])) {
        myl_error_set(why, MYL_CR_CONN_HOST_ERROR, "the server is read-only (%s is ON); "
                      "require = \"writable\" skips it", is_on(v[0]) ? "read_only" : "super_read_only");
        return -1;
    }
    if (!is_on(v[2])) return 0; /* not a Galera node */
    if (read_pairs(c, "SHOW GLOBAL STATUS WHERE Variable_name IN "
                      "('wsrep_ready', 'wsrep_local_state')", stat, s)) {
        *why = *myl_conn_error(c);
        return -1;
    }
    if (!is_on(s[0]) || strcmp(s[1], "4") != 0) {
        myl_error_set(why, MYL_CR_CONN_HOST_ERROR, "the Galera node is not synced (wsrep_ready "
                      "%s, wsrep_local_state %s, 4 is synced); require = \"writable\" skips it",
                      s[0][0] ? s[0] : "?", s[1][0] ? s[1] : "?");
        return -1;
    }
    return 0;
}

/* ---- the job ---- */

static void name_target(const myl_connect_job *job, const myl_connect_target *t, char *out,
                        size_t cap)
{
    const char *h = t->host ? t->host : job->opt.host ? job->opt.host : MYL_DEFAULT_HOST;
    unsigned port = t->port ? t->port : job->opt.port ? job->opt.port : MYL_DEFAULT_PORT;
    if (strchr(h, ':')) snprintf(out, cap, "[%s]:%u", h, port);
    else snprintf(out, cap, "%s:%u", h, port);
}

/* The failure of a list: one line per host, in the order tried. */
static void list_failure(myl_connect_job *job)
{
    size_t cap = 96 + job->ntargets * (MYL_ERRMSG_SIZE + 300), len = 0;
    free(job->message);
    job->message = malloc(cap);
    if (!job->message) return;
    len += (size_t)snprintf(job->message, cap, "Can't connect to any of the %zu hosts:",
                            job->ntargets);
    for (size_t i = 0; i < job->ntargets && len < cap; i++) {
        char name[300];
        name_target(job, &job->targets[i], name, sizeof name);
        const myl_error *e = &job->targets[i].err;
        len += (size_t)snprintf(job->message + len, cap - len, "\n  %s: %s (%d)", name,
                                e->code ? e->message : "not tried", e->code);
    }
}

int myl_connect_job_run(myl_connect_job *job)
{
    myl_error_clear(&job->err);
    job->host_info[0] = '\0';
    if (!job->conn) {
        job->conn = myl_conn_new();
        if (!job->conn) {
            myl_error_set(&job->err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
            return -1;
        }
        job->conn_made = 1;
    }
    if (job->random_order) shuffle(job->targets, job->ntargets, shuffle_seed(job));
    for (size_t i = 0; i < job->ntargets; i++) myl_error_clear(&job->targets[i].err);
    double total = job->opt.connect_timeout;
    double deadline = total > 0 ? myl_now() + total : 0;
    for (size_t i = 0; i < job->ntargets; i++) {
        myl_connect_target *t = &job->targets[i];
        myl_options o = job->opt;
        if (job->is_list) {
            o.host = t->host;
            if (t->port) o.port = t->port;
        }
        if (deadline > 0) {
            o.connect_timeout = deadline - myl_now();
            if (o.connect_timeout <= 0) {
                myl_error_set(&t->err, MYL_CR_CONN_HOST_ERROR,
                              "not tried: connect_timeout (%g s) ran out on the hosts before it",
                              total);
                continue;
            }
        }
        int rc = myl_connect(job->conn, &o);
        if (rc < 0) t->err = *myl_conn_error(job->conn);
        if (rc == 0 && job->require == MYL_REQUIRE_WRITABLE && check_writable(job->conn, &t->err)) {
            myl_close(job->conn);
            rc = -1;
        }
        if (rc == 0) {
            job->used = i;
            if (job->is_list) {
                const char *info = myl_host_info(job->conn);
                const char *via = strstr(info, " via TCP/IP");
                char name[300];
                name_target(job, t, name, sizeof name);
                snprintf(job->host_info, sizeof job->host_info, "%s%s", via ? name : info,
                         via ? via : "");
            }
            return 0;
        }
    }
    const myl_error *last = &job->targets[job->ntargets ? job->ntargets - 1 : 0].err;
    job->err = *last;
    if (!job->err.code) myl_error_set(&job->err, MYL_CR_CONN_HOST_ERROR, "no host to connect to");
    if (job->is_list) list_failure(job);
    return -1;
}

void myl_connect_job_clear(myl_connect_job *job)
{
    if (job->conn_made && job->conn) myl_conn_free(job->conn);
    job->conn = NULL;
    job->conn_made = 0;
    free(job->message);
    job->message = NULL;
}
