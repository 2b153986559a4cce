/* Benchmark peer: the same workloads as scripts/bench/peer.lua, written
 * against libmariadb's C API, as a baseline for what the protocol costs a
 * client that builds no Lua values. scripts/bench/run builds and drives it:
 *
 *   cc -O2 $(pkg-config --cflags libmariadb) peer_libmariadb.c \
 *      $(pkg-config --libs libmariadb) -o peer_libmariadb
 *   peer_libmariadb WORKLOAD      (fetch, stream, point, insert, load, connect,
 *                                  each optionally with -tls, -zlib or -tls-zlib;
 *                                  connect-ed25519, connect-sha2, connect-peer;
 *                                  load-import; point-prep, fetch-prep,
 *                                  stream-prep, stream-cursor, insert-bulk)
 *
 * The connection and the sizes come from the same environment variables as
 * peer.lua (MYLUA_TEST_*, MYLUA_BENCH_*), and it prints the same result
 * line: "libmariadb WORKLOAD cpu=... wall=... rss_mb=... ops=... check=...".
 * cpu is user + system CPU of this process (getrusage) around the timed part
 * alone, wall its elapsed time, rss_mb the peak resident size (VmHWM).
 *
 * -tls: TLS with the CA in MYLUA_BENCH_SSL_CA (mysql_ssl_set: with a CA
 * libmariadb checks the chain), the server's name not checked
 * (MYSQL_OPT_SSL_VERIFY_SERVER_CERT off) and TLS enforced
 * (MYSQL_OPT_SSL_ENFORCE): mylua's ssl mode "required" with the same CA.  -zlib: MYSQL_OPT_COMPRESS, mylua's compress = true.
 *
 * connect-ed25519, connect-sha2 and connect-peer log in as peer.lua says
 * (the same MYLUA_BENCH_ED25519_* and MYLUA_BENCH_MYSQL8_* variables), the
 * first two through the client plugins libmariadb loads from its plugin
 * directory (client_ed25519.so, caching_sha2_password.so: the directory it
 * was built with, or MARIADB_PLUGIN_DIR); the plugin is loaded once, by
 * the first connection, before the timed part.
 *
 * load: the rows of bench_fetch into bench_load by multi-row INSERTs, as
 * peer.lua's fetch_row() makes them (h read from bench_fetch before the
 * timed part).  load-import: the same rows by the mariadb-import tool
 * (MYLUA_BENCH_MARIADB_IMPORT, default "mariadb-import") with --local, from
 * the file MYLUA_BENCH_LOAD_FILE (peer.lua load-file writes it); its cpu is
 * the user + system CPU of that child process (getrusage(RUSAGE_CHILDREN):
 * the same clock as the other workloads' getrusage), from exec to exit, connecting included; rss_mb
 * its peak resident size.  The line then starts "mariadb-import load".
 *
 * point-prep, fetch-prep, stream-prep, stream-cursor and insert-bulk are
 * point, fetch, stream and insert through prepared statements (the binary
 * protocol): each row fetched into buffers bound in the C type of its
 * column (mysql_stmt_bind_result), stored first (fetch-prep, point-prep:
 * mysql_stmt_store_result), read as it comes (stream-prep), or from a
 * server cursor of MYLUA_BENCH_FETCH_SIZE rows (stream-cursor); insert-bulk
 * binds arrays of MYLUA_BENCH_BATCH rows (STMT_ATTR_ARRAY_SIZE), which
 * libmariadb sends as MariaDB's COM_STMT_BULK_EXECUTE.
 *
 * "Reading every field" here means what a C program does at least: take each
 * value's pointer and length from the row (and touch its first byte). No
 * value is converted or copied in the timed part. The checks afterwards
 * parse every value and must print what peer.lua prints. */
#define _POSIX_C_SOURCE 200809L
#include <mysql.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TABLE "bench_fetch"
#define NCOLS 9
#define SELECT_ALL "SELECT * FROM " TABLE
#define INSERT_HEAD "INSERT INTO bench_insert (id, a, b, c, d, g, h) VALUES "
#define INSERT_CHECK_SQL                                                                      \
    "SELECT CONCAT_WS(':', COUNT(*), SUM(id), SUM(a), SUM(b), SUM(LENGTH(c)), SUM(CRC32(c)),"  \
    " CAST(SUM(d * 4) AS SIGNED), SUM(g IS NULL), SUM(g), SUM(LENGTH(h)), SUM(CRC32(h)))"    \
    " FROM bench_insert"
/* The load workload: as LOAD_HEAD and LOAD_CHECK_SQL in peer.lua. */
#define LOAD_TABLE "bench_load"
#define LOAD_HEAD "INSERT INTO " LOAD_TABLE " (id, a, b, c, d, e, f, g, h) VALUES "
#define LOAD_CHECK_SQL                                                                        \
    "SELECT CONCAT_WS(':', COUNT(*), SUM(id), SUM(r), BIT_XOR(r)) FROM ("                       \
    " SELECT id, CRC32(CONCAT_WS('|', id, a, b, c, d, e, f, IFNULL(g, 'N'), h)) AS r FROM %s) AS t"
#define EPOCH_2020 1577836800 /* 2020-01-01 00:00:00 UTC */

static struct {
    const char *host, *socket, *user, *password, *database;
    unsigned port;
    int use_socket;
    long long rows, point, insert_rows, batch, connects, fetch_size;
    int check;
    int tls, compress;  /* from the workload's name */
    const char *ssl_ca; /* MYLUA_BENCH_SSL_CA */
    const char *auth;      /* "ed25519", "sha2" or "peer" (connect-ed25519, ...), else NULL */
    const char *auth_path; /* for sha2 and peer: what the MySQL 8 peer says of the login */
    const char *statement; /* "-prep", "-bulk" or "-cursor": the workload through mysql_stmt_*, else NULL */
} conf;

/* Keeps the compiler from dropping reads whose results nobody uses. */
static volatile unsigned long long sink;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("peer_libmariadb: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static const char *env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static long long env_count(const char *name, const char *def)
{
    const char *s = env(name, def);
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || *end || n < 1) die("%s must be a positive integer, not '%s'", name, s);
    return n;
}

static long long to_ll(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || errno || end == s || *end) die("%s: not an integer: '%s'", what, s ? s : "NULL");
    return v;
}

static double to_double(const char *s, const char *what)
{
    char *end;
    double v = s ? strtod(s, &end) : 0;
    if (!s || end == s || *end) die("%s: not a number: '%s'", what, s ? s : "NULL");
    return v;
}

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = -1;
    if (f) {
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "VmHWM:", 6) == 0) kb = strtod(line + 6, NULL);
        fclose(f);
    }
    if (kb < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kb = (double)ru.ru_maxrss;
    }
    return kb / 1024;
}

static MYSQL *connect_db(void)
{
    MYSQL *m = mysql_init(NULL);
    if (!m) die("mysql_init: out of memory");
    unsigned int connect_timeout = 10, read_timeout = 300, write_timeout = 60;
    unsigned int protocol = conf.use_socket ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &read_timeout);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &write_timeout);
    mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (conf.tls) {
        my_bool on = 1, off = 0;
        mysql_ssl_set(m, NULL, NULL, conf.ssl_ca, NULL, NULL);
        mysql_optionsv(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &off);
        mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
    }
    if (conf.compress) mysql_options(m, MYSQL_OPT_COMPRESS, NULL);
    if (!mysql_real_connect(m, conf.use_socket ? "localhost" : conf.host, conf.user, conf.password,
                            conf.database, conf.port, conf.use_socket ? conf.socket : NULL, 0))
        die("connect: %s", mysql_error(m));
    return m;
}

static void query(MYSQL *m, const char *sql, size_t len)
{
    if (mysql_real_query(m, sql, (unsigned long)len)) die("query: %s", mysql_error(m));
}

/* The value a SHOW STATUS query names ("" when the server has none). */
static void session_status_like(MYSQL *m, const char *sql, char *out, size_t outsz)
{
    query(m, sql, strlen(sql));
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) die("%s: %s", sql, mysql_error(m));
    MYSQL_ROW row = mysql_fetch_row(res);
    snprintf(out, outsz, "%s", row && row[1] ? row[1] : "");
    mysql_free_result(res);
}

/* The value of a session status variable ("" when the server has none). */
static void session_status(MYSQL *m, const char *name, char *out, size_t outsz)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SHOW SESSION STATUS LIKE '%s'", name);
    session_status_like(m, sql, out, outsz);
}

/* What the server says of this session's transport, as peer.lua prints it:
 * "tls=VERSION/CIPHER" or "tls=none", then ",compression=ON" or OFF.  A
 * transport other than the workload asks for stops the run. */
static void transport_check(MYSQL *m, char *out, size_t outsz)
{
    char version[64], cipher[128], compression[16], tls[200];
    session_status(m, "Ssl_version", version, sizeof version);
    session_status(m, "Ssl_cipher", cipher, sizeof cipher);
    session_status(m, "Compression", compression, sizeof compression);
    if (version[0]) snprintf(tls, sizeof tls, "%s/%s", version, cipher);
    else snprintf(tls, sizeof tls, "none");
    if ((version[0] != 0) != conf.tls)
        die("the session's TLS is %s, the workload asks for %s", tls, conf.tls ? "TLS" : "none");
    if ((strcmp(compression, "ON") == 0) != conf.compress)
        die("the session's compression is %s, the workload asks for %s", compression,
            conf.compress ? "ON" : "OFF");
    snprintf(out, outsz, "tls=%s,compression=%s", tls, compression);
}

/* First value of the first row of a query, copied into out. */
static void first_value(MYSQL *m, const char *sql, char *out, size_t outsz)
{
    query(m, sql, strlen(sql));
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) die("query without a result: %s", mysql_error(m));
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row || !row[0]) die("no value from: %s", sql);
    snprintf(out, outsz, "%s", row[0]);
    mysql_free_result(res);
}

/* Who the first connection of connect-ed25519 is, or how the first of
 * connect-sha2 or connect-peer logged in, as peer.lua prints it; any other login stops the
 * run. */
static void auth_check(MYSQL *m, char *out, size_t outsz)
{
    char value[256];
    if (!conf.auth_path) {
        char want[256];
        first_value(m, "SELECT CURRENT_USER()", value, sizeof value);
        snprintf(want, sizeof want, "%s@%%", conf.user);
        if (strcmp(value, want) != 0) die("logged in as %s, not as %s", value, want);
        snprintf(out, outsz, "user=%s", value);
        return;
    }
    session_status_like(m, "SHOW STATUS LIKE 'peer_auth_path'", value, sizeof value);
    if (strcmp(value, conf.auth_path) != 0)
        die("the peer says the login went by \"%s\", not \"%s\"", value, conf.auth_path);
    snprintf(out, outsz, "auth=%s", value);
    for (char *p = out; *p; p++)
        if (*p == ' ') *p = '-';
}

/* Every value of a row: its pointer and length, and its first byte. */
static unsigned long long touch_row(MYSQL_ROW row, const unsigned long *len, unsigned n)
{
    unsigned long long t = 0;
    for (unsigned i = 0; i < n; i++) {
        t += len[i];
        if (row[i] && len[i]) t += (unsigned char)row[i][0];
    }
    return t;
}

/* ------------------------------------------------------------------------
 * The check of fetch: the same summary as summarise() in peer.lua.
 * ---------------------------------------------------------------------- */

struct summary {
    long long ids, a, b, clen, e, fus, flen, gnull, g, hlen;
    double d;
    uint32_t hash;
};

static long long cents(const char *s)
{
    const char *p = s;
    int neg = 0;
    if (*p == '-') neg = 1, p++;
    long long c = 0;
    const char *digits = p;
    while (*p >= '0' && *p <= '9') c = c * 10 + (*p++ - '0');
    if (p == digits || p[0] != '.' || !(p[1] >= '0' && p[1] <= '9') || !(p[2] >= '0' && p[2] <= '9') ||
        p[3])
        die("not a DECIMAL(12,2): '%s'", s);
    c = c * 100 + (p[1] - '0') * 10 + (p[2] - '0');
    return neg ? -c : c;
}

static int is_datetime6(const char *s, unsigned long len)
{
    static const char pat[] = "dddd-dd-dd dd:dd:dd.dddddd";
    if (len != sizeof pat - 1) return 0;
    for (unsigned long i = 0; i < len; i++) {
        if (pat[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != pat[i]) return 0;
    }
    return 1;
}

static uint32_t fnv(uint32_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static void summarise(MYSQL_RES *res, long long n, struct summary *s)
{
    memset(s, 0, sizeof *s);
    mysql_data_seek(res, 0);
    for (long long r = 1; r <= n; r++) {
        MYSQL_ROW row = mysql_fetch_row(res);
        unsigned long *len = mysql_fetch_lengths(res);
        if (!row) die("row %lld is missing", r);
        for (int i = 0; i < NCOLS; i++)
            if (!row[i] && i != 7) die("row %lld: column %d is NULL", r, i + 1);
        s->ids += to_ll(row[0], "id");
        s->a += to_ll(row[1], "a");
        s->b += to_ll(row[2], "b");
        s->clen += (long long)len[3];
        s->d += to_double(row[4], "d");
        s->e += cents(row[5]);
        if (!is_datetime6(row[6], len[6])) die("row %lld: DATETIME(6) value '%s'", r, row[6]);
        s->fus += to_ll(row[6] + 20, "microseconds");
        s->flen += (long long)len[6];
        if (!row[7]) s->gnull++;
        else s->g += to_ll(row[7], "g");
        s->hlen += (long long)len[8];
    }
    /* Sample rows 1, the middle one and the last, every column as text. */
    long long pick[3] = { 1, (n + 1) / 2, n };
    uint32_t h = 2166136261u;
    for (int k = 0; k < 3; k++) {
        mysql_data_seek(res, (unsigned long long)(pick[k] - 1));
        MYSQL_ROW row = mysql_fetch_row(res);
        if (!row) die("sample row %lld is missing", pick[k]);
        for (int i = 0; i < NCOLS; i++) {
            char num[64];
            const char *cell = row[i];
            if (!cell) cell = "NULL";
            else if (i == 4) {
                snprintf(num, sizeof num, "%.17g", to_double(cell, "d"));
                cell = num;
            }
            if (i > 0) h = fnv(h, ",", 1);
            h = fnv(h, cell, strlen(cell));
        }
    }
    s->hash = h;
}

static void verify_against_server(MYSQL *m, const struct summary *s, long long n)
{
    static const char sql[] =
        "SELECT COUNT(*), SUM(id), SUM(a), SUM(b), SUM(LENGTH(c)), SUM(e * 100),"
        " SUM(MICROSECOND(f)), SUM(LENGTH(f)), SUM(g IS NULL), SUM(g), SUM(LENGTH(h)), SUM(d)"
        " FROM " TABLE;
    query(m, sql, sizeof sql - 1);
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW q = res ? mysql_fetch_row(res) : NULL;
    if (!q) die("aggregates: %s", mysql_error(m));
    const long long got[11] = { n, s->ids, s->a, s->b, s->clen, s->e, s->fus, s->flen, s->gnull, s->g, s->hlen };
    static const char *what[11] = { "row count", "SUM(id)", "SUM(a)", "SUM(b)", "SUM(LENGTH(c))",
                                    "SUM(e)*100", "SUM(MICROSECOND(f))", "SUM(LENGTH(f))", "NULLs in g",
                                    "SUM(g)", "SUM(LENGTH(h))" };
    for (int i = 0; i < 11; i++) {
        long long want;
        if (i == 5) { /* DECIMAL text like "123.00" */
            char *dot = strchr(q[i], '.');
            if (dot && strspn(dot + 1, "0") != strlen(dot + 1)) die("SUM(e)*100 is '%s'", q[i]);
            char buf[64];
            snprintf(buf, sizeof buf, "%.*s", dot ? (int)(dot - q[i]) : (int)strlen(q[i]), q[i]);
            want = to_ll(buf, what[i]);
        } else {
            want = to_ll(q[i], what[i]);
        }
        if (want != got[i]) die("%s is %lld, the server says %s", what[i], got[i], q[i]);
    }
    double sd = to_double(q[11], "SUM(d)");
    if (fabs(sd - s->d) > 1e-9 * fabs(sd)) die("SUM(d) is %.17g, the server says %.17g", s->d, sd);
    mysql_free_result(res);
}

/* ------------------------------------------------------------------------
 * Workloads
 * ---------------------------------------------------------------------- */

/* The workload's full name and, for a variant, the transport check that
 * goes after its own (set by main). */
static const char *workload_name;
static const char *driver_name = "libmariadb";
static char transport_seen[300];

static void report_rss(const char *workload, double c0, double w0, double c1, double w1, double rss,
                       long long ops, const char *check);

/* The result line, under the full workload name main was given. */
static void report(const char *workload, double c0, double w0, double c1, double w1, long long ops,
                   const char *check)
{
    report_rss(workload, c0, w0, c1, w1, rss_mb(), ops, check);
}

static void report_rss(const char *workload, double c0, double w0, double c1, double w1, double rss,
                       long long ops, const char *check)
{
    (void)workload;
    printf("%s %s cpu=%.4f wall=%.4f rss_mb=%.1f ops=%lld check=%s%s%s\n", driver_name, workload_name,
           c1 - c0, w1 - w0, rss, ops, check, transport_seen[0] ? ":" : "", transport_seen);
}

static void run_fetch(MYSQL *m)
{
    double c0 = cpu_now(), w0 = wall_now();
    query(m, SELECT_ALL, sizeof SELECT_ALL - 1);
    MYSQL_RES *res = mysql_store_result(m);
    if (!res) die("store_result: %s", mysql_error(m));
    unsigned nf = mysql_num_fields(res);
    unsigned long long t = 0;
    long long n = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        t += touch_row(row, mysql_fetch_lengths(res), nf);
        n++;
    }
    double c1 = cpu_now(), w1 = wall_now();
    sink = t;
    if (n != conf.rows) die("fetched %lld rows, expected %lld", n, conf.rows);
    if (nf != NCOLS) die("%u columns, expected %d", nf, NCOLS);
    char check[512] = "skipped";
    if (conf.check) {
        struct summary s;
        summarise(res, n, &s);
        verify_against_server(m, &s, n);
        snprintf(check, sizeof check, "%lld:%lld:%lld:%lld:%.17g:%lld:%lld:%lld:%lld:%lld:%lld:%08x", s.ids, s.a,
                 s.b, s.clen, s.d, s.e, s.fus, s.flen, s.gnull, s.g, s.hlen, (unsigned)s.hash);
    }
    report("fetch", c0, w0, c1, w1, n, check);
    /* Freeing the result is outside the timed part, as the Lua peers never
     * free their rows. */
    mysql_free_result(res);
}

static void run_stream(MYSQL *m)
{
    double c0 = cpu_now(), w0 = wall_now();
    query(m, SELECT_ALL, sizeof SELECT_ALL - 1);
    MYSQL_RES *res = mysql_use_result(m);
    if (!res) die("use_result: %s", mysql_error(m));
    unsigned nf = mysql_num_fields(res);
    unsigned long long t = 0;
    long long n = 0, ids = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        t += touch_row(row, mysql_fetch_lengths(res), nf);
        ids += strtoll(row[0], NULL, 10);
        n++;
    }
    if (mysql_errno(m)) die("stream: %s", mysql_error(m));
    mysql_free_result(res);
    double c1 = cpu_now(), w1 = wall_now();
    sink = t;
    if (n != conf.rows) die("streamed %lld rows, expected %lld", n, conf.rows);
    char check[64];
    snprintf(check, sizeof check, "%lld:%lld", n, ids);
    report("stream", c0, w0, c1, w1, n, check);
}

static void run_point(MYSQL *m)
{
    long long found = 0, ids = 0, as = 0, hs = 0;
    unsigned long long t = 0;
    double c0 = cpu_now(), w0 = wall_now();
    for (long long i = 0; i < conf.point; i++) {
        char sql[96];
        int len = snprintf(sql, sizeof sql, "SELECT * FROM " TABLE " WHERE id = %lld", (i * 7919) % conf.rows + 1);
        query(m, sql, (size_t)len);
        MYSQL_RES *res = mysql_store_result(m);
        if (!res) die("store_result: %s", mysql_error(m));
        MYSQL_ROW row = mysql_fetch_row(res);
        if (row) {
            unsigned long *lens = mysql_fetch_lengths(res);
            t += touch_row(row, lens, mysql_num_fields(res));
            found++;
            ids += strtoll(row[0], NULL, 10);
            as += strtoll(row[1], NULL, 10);
            hs += (long long)lens[8];
        }
        mysql_free_result(res);
    }
    double c1 = cpu_now(), w1 = wall_now();
    sink = t;
    if (found != conf.point) die("%lld of %lld point selects found a row", found, conf.point);
    char check[128];
    snprintf(check, sizeof check, "%lld:%lld:%lld:%lld", found, ids, as, hs);
    report("point", c0, w0, c1, w1, conf.point, check);
}

/* ------------------------------------------------------------------------
 * Prepared statements: the binary protocol (mysql_stmt_*)
 * ---------------------------------------------------------------------- */

static MYSQL_STMT *prepare(MYSQL *m, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (!st) die("mysql_stmt_init: out of memory");
    if (mysql_stmt_prepare(st, sql, (unsigned long)strlen(sql))) die("prepare %s: %s", sql, mysql_stmt_error(st));
    return st;
}

/* One row of bench_fetch as a C program binds it: each column in the C
 * type of its SQL type, DECIMAL as its text, DATETIME(6) as MYSQL_TIME. */
struct bin_row {
    int id, a, g;
    long long b;
    double d;
    char c[84], e[32], h[404];
    MYSQL_TIME f;
    unsigned long len[NCOLS];
    my_bool is_null[NCOLS], error[NCOLS];
    MYSQL_BIND bind[NCOLS];
};

static void bind_row(MYSQL_STMT *st, struct bin_row *r)
{
    memset(r, 0, sizeof *r);
    if (mysql_stmt_field_count(st) != NCOLS) die("%u columns, expected %d", mysql_stmt_field_count(st), NCOLS);
    static const enum enum_field_types types[NCOLS] = {
        MYSQL_TYPE_LONG, MYSQL_TYPE_LONG, MYSQL_TYPE_LONGLONG, MYSQL_TYPE_STRING, MYSQL_TYPE_DOUBLE,
        MYSQL_TYPE_STRING, MYSQL_TYPE_DATETIME, MYSQL_TYPE_LONG, MYSQL_TYPE_STRING };
    void *bufs[NCOLS] = { &r->id, &r->a, &r->b, r->c, &r->d, r->e, &r->f, &r->g, r->h };
    unsigned long sizes[NCOLS] = { sizeof r->id, sizeof r->a, sizeof r->b, sizeof r->c, sizeof r->d,
                                   sizeof r->e, sizeof r->f, sizeof r->g, sizeof r->h };
    for (int i = 0; i < NCOLS; i++) {
        r->bind[i].buffer_type = types[i];
        r->bind[i].buffer = bufs[i];
        r->bind[i].buffer_length = sizes[i];
        r->bind[i].length = &r->len[i];
        r->bind[i].is_null = &r->is_null[i];
        r->bind[i].error = &r->error[i];
    }
    if (mysql_stmt_bind_result(st, r->bind)) die("bind_result: %s", mysql_stmt_error(st));
}

/* 1 with the next row in r, 0 at the end; a truncated value or an error
 * stops the run. */
static int fetch_bound(MYSQL_STMT *st)
{
    int rc = mysql_stmt_fetch(st);
    if (rc == 0) return 1;
    if (rc == MYSQL_NO_DATA) return 0;
    if (rc == MYSQL_DATA_TRUNCATED) die("fetch: a value did not fit its buffer");
    die("fetch: %s", mysql_stmt_error(st));
    return 0;
}

/* Every value of a bound row: its length (or NULL flag) and first byte. */
static unsigned long long touch_bound(const struct bin_row *r)
{
    return (unsigned long long)r->id + (unsigned long long)r->a + (unsigned long long)r->b +
           (unsigned long long)r->d + r->len[3] + (unsigned char)r->c[0] + r->len[5] +
           (unsigned char)r->e[0] + r->f.second_part + (r->is_null[7] ? 1u : (unsigned)r->g) + r->len[8] +
           (unsigned char)r->h[0];
}

/* Column i of a bound row as the text protocol shows it (d with %.17g, as
 * the check's sample rows print it); NULL as "NULL". */
static const char *bound_text(const struct bin_row *r, int i, char *out, size_t outsz)
{
    if (r->is_null[i]) return "NULL";
    switch (i) {
    case 0: snprintf(out, outsz, "%d", r->id); break;
    case 1: snprintf(out, outsz, "%d", r->a); break;
    case 2: snprintf(out, outsz, "%lld", r->b); break;
    case 3: snprintf(out, outsz, "%.*s", (int)r->len[3], r->c); break;
    case 4: snprintf(out, outsz, "%.17g", r->d); break;
    case 5: snprintf(out, outsz, "%.*s", (int)r->len[5], r->e); break;
    case 6:
        snprintf(out, outsz, "%04u-%02u-%02u %02u:%02u:%02u.%06lu", r->f.year, r->f.month, r->f.day, r->f.hour,
                 r->f.minute, r->f.second, r->f.second_part);
        break;
    case 7: snprintf(out, outsz, "%d", r->g); break;
    default: snprintf(out, outsz, "%.*s", (int)r->len[8], r->h); break;
    }
    return out;
}

/* The check of fetch-prep: summarise() over the stored binary rows. */
static void summarise_stmt(MYSQL_STMT *st, struct bin_row *r, long long n, struct summary *s)
{
    char f[64];
    memset(s, 0, sizeof *s);
    mysql_stmt_data_seek(st, 0);
    for (long long k = 1; k <= n; k++) {
        if (!fetch_bound(st)) die("row %lld is missing", k);
        for (int i = 0; i < NCOLS; i++)
            if (r->is_null[i] && i != 7) die("row %lld: column %d is NULL", k, i + 1);
        s->ids += r->id;
        s->a += r->a;
        s->b += r->b;
        s->clen += (long long)r->len[3];
        s->d += r->d;
        s->e += cents((snprintf(f, sizeof f, "%.*s", (int)r->len[5], r->e), f));
        s->fus += (long long)r->f.second_part;
        s->flen += (long long)strlen(bound_text(r, 6, f, sizeof f));
        if (r->is_null[7]) s->gnull++;
        else s->g += r->g;
        s->hlen += (long long)r->len[8];
    }
    long long pick[3] = { 1, (n + 1) / 2, n };
    uint32_t h = 2166136261u;
    for (int k = 0; k < 3; k++) {
        mysql_stmt_data_seek(st, (unsigned long long)(pick[k] - 1));
        if (!fetch_bound(st)) die("sample row %lld is missing", pick[k]);
        for (int i = 0; i < NCOLS; i++) {
            char cell[512];
            const char *t = bound_text(r, i, cell, sizeof cell);
            if (i > 0) h = fnv(h, ",", 1);
            h = fnv(h, t, strlen(t));
        }
    }
    s->hash = h;
}

/* fetch-prep: the whole table through a prepared SELECT, stored
 * (mysql_stmt_store_result), then every row fetched into the bound
 * buffers. */
static void run_fetch_prep(MYSQL *m)
{
    static struct bin_row r;
    double c0 = cpu_now(), w0 = wall_now();
    MYSQL_STMT *st = prepare(m, SELECT_ALL);
    if (mysql_stmt_execute(st)) die("execute: %s", mysql_stmt_error(st));
    bind_row(st, &r);
    if (mysql_stmt_store_result(st)) die("store_result: %s", mysql_stmt_error(st));
    unsigned long long t = 0;
    long long n = 0;
    while (fetch_bound(st)) {
        t += touch_bound(&r);
        n++;
    }
    double c1 = cpu_now(), w1 = wall_now();
    sink = t;
    if (n != conf.rows) die("fetched %lld rows, expected %lld", n, conf.rows);
    char check[512] = "skipped";
    if (conf.check) {
        struct summary s;
        summarise_stmt(st, &r, n, &s);
        verify_against_server(m, &s, n);
        snprintf(check, sizeof check, "%lld:%lld:%lld:%lld:%.17g:%lld:%lld:%lld:%lld:%lld:%lld:%08x", s.ids, s.a,
                 s.b, s.clen, s.d, s.e, s.fus, s.flen, s.gnull, s.g, s.hlen, (unsigned)s.hash);
    }
    report("fetch", c0, w0, c1, w1, n, check);
    mysql_stmt_close(st);
}

/* stream-prep and stream-cursor: the rows of a prepared SELECT fetched one
 * at a time, none kept: read off the connection as they come
 * (stream-prep), or from a server cursor (CURSOR_TYPE_READ_ONLY) in
 * batches of MYLUA_BENCH_FETCH_SIZE rows (stream-cursor). */
static void run_stream_prep(MYSQL *m, int server_cursor)
{
    static struct bin_row r;
    double c0 = cpu_now(), w0 = wall_now();
    MYSQL_STMT *st = prepare(m, SELECT_ALL);
    if (server_cursor) {
        unsigned long type = CURSOR_TYPE_READ_ONLY, rows = (unsigned long)conf.fetch_size;
        if (mysql_stmt_attr_set(st, STMT_ATTR_CURSOR_TYPE, &type) ||
            mysql_stmt_attr_set(st, STMT_ATTR_PREFETCH_ROWS, &rows))
            die("attr_set: %s", mysql_stmt_error(st));
    }
    if (mysql_stmt_execute(st)) die("execute: %s", mysql_stmt_error(st));
    bind_row(st, &r);
    unsigned long long t = 0;
    long long n = 0, ids = 0;
    while (fetch_bound(st)) {
        t += touch_bound(&r);
        ids += r.id;
        n++;
    }
    mysql_stmt_close(st);
    double c1 = cpu_now(), w1 = wall_now();
    sink = t;
    if (n != conf.rows) die("streamed %lld rows, expected %lld", n, conf.rows);
    char check[64];
    snprintf(check, sizeof check, "%lld:%lld", n, ids);
    report("stream", c0, w0, c1, w1, n, check);
}

/* point-prep: the point selects through one prepared statement, the id
 * bound as LONGLONG, each result stored, its row fetched and freed. */
static void run_point_prep(MYSQL *m)
{
    static struct bin_row r;
    long long found = 0, ids = 0, as = 0, hs = 0;
    unsigned long long t = 0;
    double c0 = cpu_now(), w0 = wall_now();
    MYSQL_STMT *st = prepare(m, "SELECT * FROM " TABLE " WHERE id = ?");
    long long id = 0;
    MYSQL_BIND param;
    memset(&param, 0, sizeof param);
    param.buffer_type = MYSQL_TYPE_LONGLONG;
    param.buffer = &id;
    if (mysql_stmt_bind_param(st, &param)) die("bind_param: %s", mysql_stmt_error(st));
    bind_row(st, &r);
    for (long long i = 0; i < conf.point; i++) {
        id = (i * 7919) % conf.rows + 1;
        if (mysql_stmt_execute(st)) die("execute: %s", mysql_stmt_error(st));
        if (mysql_stmt_store_result(st)) die("store_result: %s", mysql_stmt_error(st));
        if (fetch_bound(st)) {
            t += touch_bound(&r);
            found++;
            ids += r.id;
            as += r.a;
            hs += (long long)r.len[8];
        }
        mysql_stmt_free_result(st);
    }
    mysql_stmt_close(st);
    double c1 = cpu_now(), w1 = wall_now();
    sink = t;
    if (found != conf.point) die("%lld of %lld point selects found a row", found, conf.point);
    char check[128];
    snprintf(check, sizeof check, "%lld:%lld:%lld:%lld", found, ids, as, hs);
    report("point", c0, w0, c1, w1, conf.point, check);
}

struct buf {
    char *p;
    size_t len, cap;
};

static void reserve(struct buf *b, size_t more)
{
    if (b->len + more <= b->cap) return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) die("out of memory");
    b->p = p;
    b->cap = cap;
}

static void append_escaped(MYSQL *m, struct buf *b, const char *s, size_t n)
{
    reserve(b, 2 * n + 3);
    b->p[b->len++] = '\'';
    b->len += mysql_real_escape_string(m, b->p + b->len, s, (unsigned long)n);
    b->p[b->len++] = '\'';
}

/* Row k of the insert workload, as insert_row() in peer.lua makes it.
 * insert and insert-bulk make every row before the clock starts, as the
 * Lua and Node peers do: what is timed is the driver's work. */
struct insert_row {
    long long id, a, b, g;
    double d;
    char c[32], h[128];
    unsigned long clen, hlen;
    char g_indicator; /* STMT_INDICATOR_NULL for a NULL g (bound as is by insert-bulk) */
};

static struct insert_row *make_insert_rows(void)
{
    struct insert_row *rows = calloc((size_t)conf.insert_rows, sizeof *rows);
    if (!rows) die("out of memory");
    for (long long k = 1; k <= conf.insert_rows; k++) {
        struct insert_row *r = &rows[k - 1];
        r->id = k;
        r->a = (k * 37) % 100003 - 50000;
        r->b = k * 1000003 - 4000000000000LL;
        r->clen = (unsigned long)snprintf(r->c, sizeof r->c, "name-%lld", k % 1000);
        r->d = k / 4.0;
        r->g = k;
        r->g_indicator = k % 3 != 0 ? STMT_INDICATOR_NONE : STMT_INDICATOR_NULL;
        if (k % 10 == 0) {
            r->hlen = (unsigned long)snprintf(r->h, sizeof r->h, "it's a \\ test %lld", k);
        } else {
            int hl = snprintf(r->h, sizeof r->h, "row %lld ", k), x = (int)(k % 50);
            memset(r->h + hl, 'x', (size_t)x);
            r->hlen = (unsigned long)(hl + x);
        }
    }
    return rows;
}

static void append_row(MYSQL *m, struct buf *b, const struct insert_row *r)
{
    reserve(b, 128);
    b->len += (size_t)snprintf(b->p + b->len, 128, "(%lld,%lld,%lld,", r->id, r->a, r->b);
    append_escaped(m, b, r->c, r->clen);
    reserve(b, 128);
    if (r->g_indicator != STMT_INDICATOR_NULL)
        b->len += (size_t)snprintf(b->p + b->len, 128, ",%.17g,%lld,", r->d, r->g);
    else
        b->len += (size_t)snprintf(b->p + b->len, 128, ",%.17g,NULL,", r->d);
    append_escaped(m, b, r->h, r->hlen);
    reserve(b, 2);
    b->p[b->len++] = ')';
}

static void insert_check(MYSQL *m, double c0, double w0, double c1, double w1)
{
    char check[512];
    first_value(m, INSERT_CHECK_SQL, check, sizeof check);
    char prefix[32];
    int pl = snprintf(prefix, sizeof prefix, "%lld:", conf.insert_rows);
    if (strncmp(check, prefix, (size_t)pl) != 0)
        die("bench_insert holds %s, expected %lld rows", check, conf.insert_rows);
    report("insert", c0, w0, c1, w1, conf.insert_rows, check);
}

static void run_insert(MYSQL *m)
{
    static const char truncate[] = "TRUNCATE TABLE bench_insert";
    query(m, truncate, sizeof truncate - 1);
    struct insert_row *rows = make_insert_rows();
    struct buf b = { NULL, 0, 0 };
    double c0 = cpu_now(), w0 = wall_now();
    for (long long first = 1; first <= conf.insert_rows; first += conf.batch) {
        long long last = first + conf.batch - 1;
        if (last > conf.insert_rows) last = conf.insert_rows;
        b.len = 0;
        reserve(&b, sizeof INSERT_HEAD);
        memcpy(b.p, INSERT_HEAD, sizeof INSERT_HEAD - 1);
        b.len = sizeof INSERT_HEAD - 1;
        for (long long k = first; k <= last; k++) {
            if (k > first) {
                reserve(&b, 1);
                b.p[b.len++] = ',';
            }
            append_row(m, &b, &rows[k - 1]);
        }
        query(m, b.p, b.len);
    }
    double c1 = cpu_now(), w1 = wall_now();
    free(b.p);
    free(rows);
    insert_check(m, c0, w0, c1, w1);
}

/* insert-bulk: the rows of insert through one prepared INSERT with
 * MariaDB's array binding (STMT_ATTR_ARRAY_SIZE, bound row-wise with
 * STMT_ATTR_ROW_SIZE), MYLUA_BENCH_BATCH rows per execute, which
 * libmariadb sends as one COM_STMT_BULK_EXECUTE. */
static void run_insert_bulk(MYSQL *m)
{
    static const char truncate[] = "TRUNCATE TABLE bench_insert";
    query(m, truncate, sizeof truncate - 1);
    unsigned long caps = 0;
    if (mariadb_get_infov(m, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &caps) ||
        !(caps & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)))
        die("the server does not take bulk operations (STMT_BULK_OPERATIONS)");
    struct insert_row *rows = make_insert_rows();
    double c0 = cpu_now(), w0 = wall_now();
    MYSQL_STMT *st = prepare(m, "INSERT INTO bench_insert (id, a, b, c, d, g, h) VALUES (?,?,?,?,?,?,?)");
    size_t row_size = sizeof *rows;
    if (mysql_stmt_attr_set(st, STMT_ATTR_ROW_SIZE, &row_size)) die("attr_set: %s", mysql_stmt_error(st));
    for (long long first = 1; first <= conf.insert_rows; first += conf.batch) {
        long long last = first + conf.batch - 1;
        if (last > conf.insert_rows) last = conf.insert_rows;
        struct insert_row *r = &rows[first - 1];
        MYSQL_BIND bind[7];
        memset(bind, 0, sizeof bind);
        bind[0].buffer_type = MYSQL_TYPE_LONGLONG, bind[0].buffer = &r->id;
        bind[1].buffer_type = MYSQL_TYPE_LONGLONG, bind[1].buffer = &r->a;
        bind[2].buffer_type = MYSQL_TYPE_LONGLONG, bind[2].buffer = &r->b;
        bind[3].buffer_type = MYSQL_TYPE_STRING, bind[3].buffer = r->c, bind[3].length = &r->clen;
        bind[4].buffer_type = MYSQL_TYPE_DOUBLE, bind[4].buffer = &r->d;
        bind[5].buffer_type = MYSQL_TYPE_LONGLONG, bind[5].buffer = &r->g, bind[5].u.indicator = &r->g_indicator;
        bind[6].buffer_type = MYSQL_TYPE_STRING, bind[6].buffer = r->h, bind[6].length = &r->hlen;
        unsigned int n = (unsigned int)(last - first + 1);
        if (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &n)) die("attr_set: %s", mysql_stmt_error(st));
        if (mysql_stmt_bind_param(st, bind)) die("bind_param: %s", mysql_stmt_error(st));
        if (mysql_stmt_execute(st)) die("bulk execute: %s", mysql_stmt_error(st));
        if (mysql_stmt_affected_rows(st) != n)
            die("bulk execute: %llu rows affected, expected %u", (unsigned long long)mysql_stmt_affected_rows(st), n);
    }
    mysql_stmt_close(st);
    double c1 = cpu_now(), w1 = wall_now();
    free(rows);
    insert_check(m, c0, w0, c1, w1);
}

/* bench_fetch's h values in id order, in one buffer: value s (1-based) is
 * at h->p + off[s - 1], off[s] - off[s - 1] bytes. */
struct hcol {
    struct buf b;
    size_t *off;
};

static void read_h_column(MYSQL *m, struct hcol *h)
{
    static const char sql[] = "SELECT h FROM " TABLE " ORDER BY id";
    query(m, sql, sizeof sql - 1);
    MYSQL_RES *res = mysql_use_result(m);
    if (!res) die("%s: %s", sql, mysql_error(m));
    h->off = calloc((size_t)conf.rows + 1, sizeof *h->off);
    if (!h->off) die("out of memory");
    long long n = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        unsigned long *len = mysql_fetch_lengths(res);
        if (n >= conf.rows || !row[0]) die("%s: more rows than %lld, or a NULL", sql, conf.rows);
        reserve(&h->b, len[0]);
        memcpy(h->b.p + h->b.len, row[0], len[0]);
        h->b.len += len[0];
        h->off[++n] = h->b.len;
    }
    if (mysql_errno(m)) die("%s: %s", sql, mysql_error(m));
    mysql_free_result(res);
    if (n != conf.rows) die(TABLE " holds %lld rows, expected %lld", n, conf.rows);
}

/* Row s of bench_fetch, as fetch_row() in peer.lua makes it. */
static void append_load_row(MYSQL *m, struct buf *b, long long s, const struct hcol *h)
{
    static const char *const words[] = {"alpha", "bravo", "charlie", "delta", "echo"};
    char c[32], f[48];
    int clen = snprintf(c, sizeof c, "%s-%lld", words[s % 5], s % 100003);
    long long us = s * 37000123LL, cents = (s * 7177) % 10000000 - 5000000;
    long long abs_cents = cents < 0 ? -cents : cents;
    time_t t = (time_t)(EPOCH_2020 + us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t flen = strftime(f, sizeof f, "%Y-%m-%d %H:%M:%S", &tm);
    reserve(b, 160);
    b->len += (size_t)snprintf(b->p + b->len, 160, "(%lld,%lld,%lld,", s, (s * 7919) % 2000003 - 1000000,
                               (s * 2654435761LL) % 9000000000000LL - 4500000000000LL);
    append_escaped(m, b, c, (size_t)clen);
    reserve(b, 160);
    b->len += (size_t)snprintf(b->p + b->len, 160, ",%.17g,%s%lld.%02lld,'%.*s.%06lld',",
                               sqrt((double)s) * 1000.5 / 3, cents < 0 ? "-" : "", abs_cents / 100,
                               abs_cents % 100, (int)flen, f, us % 1000000);
    if (s % 2 == 0) b->len += (size_t)snprintf(b->p + b->len, 160, "NULL,");
    else b->len += (size_t)snprintf(b->p + b->len, 160, "%lld,", (s * 31) % 100003 - 50000);
    append_escaped(m, b, h->b.p + h->off[s - 1], h->off[s] - h->off[s - 1]);
    reserve(b, 2);
    b->p[b->len++] = ')';
}

/* bench_load must hold what bench_fetch holds; returns its check. */
static void load_check(MYSQL *m, char *check, size_t size)
{
    char sql[512], want[256];
    snprintf(sql, sizeof sql, LOAD_CHECK_SQL, LOAD_TABLE);
    first_value(m, sql, check, size);
    snprintf(sql, sizeof sql, LOAD_CHECK_SQL, TABLE);
    first_value(m, sql, want, sizeof want);
    if (strcmp(check, want) != 0) die(LOAD_TABLE " holds %s, " TABLE " %s", check, want);
}

static void run_load(MYSQL *m)
{
    static const char truncate[] = "TRUNCATE TABLE " LOAD_TABLE;
    query(m, truncate, sizeof truncate - 1);
    struct hcol h = {{NULL, 0, 0}, NULL};
    read_h_column(m, &h);
    struct buf b = {NULL, 0, 0};
    double c0 = cpu_now(), w0 = wall_now();
    for (long long first = 1; first <= conf.rows; first += conf.batch) {
        long long last = first + conf.batch - 1;
        if (last > conf.rows) last = conf.rows;
        b.len = 0;
        reserve(&b, sizeof LOAD_HEAD);
        memcpy(b.p, LOAD_HEAD, sizeof LOAD_HEAD - 1);
        b.len = sizeof LOAD_HEAD - 1;
        for (long long s = first; s <= last; s++) {
            if (s > first) {
                reserve(&b, 1);
                b.p[b.len++] = ',';
            }
            append_load_row(m, &b, s, &h);
        }
        query(m, b.p, b.len);
    }
    double c1 = cpu_now(), w1 = wall_now();
    free(b.p);
    free(h.b.p);
    free(h.off);
    char check[256];
    load_check(m, check, sizeof check);
    report("load", c0, w0, c1, w1, conf.rows, check);
}

/* mariadb-import --local of the prepared file, in a child process whose CPU
 * is the measure; this process only waits. */
static void run_import(MYSQL *m)
{
    static const char truncate[] = "TRUNCATE TABLE " LOAD_TABLE;
    query(m, truncate, sizeof truncate - 1);
    const char *tool = env("MYLUA_BENCH_MARIADB_IMPORT", "mariadb-import");
    const char *file = env("MYLUA_BENCH_LOAD_FILE", NULL);
    if (!file) die("load-import needs MYLUA_BENCH_LOAD_FILE (peer.lua load-file writes it)");
    char port[32], host[300], sock[300], user[300];
    snprintf(port, sizeof port, "--port=%u", conf.port);
    snprintf(host, sizeof host, "--host=%s", conf.host);
    snprintf(sock, sizeof sock, "--socket=%s", conf.socket ? conf.socket : "");
    snprintf(user, sizeof user, "--user=%s", conf.user);
    char *argv[12];
    int k = 0;
    argv[k++] = (char *)tool;
    argv[k++] = "--no-defaults"; /* first: no option file changes what is measured */
    argv[k++] = "--local";
    argv[k++] = conf.use_socket ? "--protocol=socket" : "--protocol=tcp";
    argv[k++] = conf.use_socket ? sock : host;
    if (!conf.use_socket) argv[k++] = port;
    argv[k++] = user;
    argv[k++] = (char *)conf.database;
    argv[k++] = (char *)file;
    argv[k] = NULL;
    fflush(stdout);
    double w0 = wall_now();
    pid_t pid = fork();
    if (pid < 0) die("fork: %s", strerror(errno));
    if (pid == 0) {
        /* Its report ("db.bench_load: Records: N ...") goes to stderr, so
         * stdout carries our result line alone; the password goes by the
         * environment, not the command line. */
        dup2(2, 1);
        setenv("MYSQL_PWD", conf.password, 1);
        execvp(tool, argv);
        fprintf(stderr, "peer_libmariadb: cannot run %s: %s\n", tool, strerror(errno));
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) < 0) die("waitpid: %s", strerror(errno));
    double w1 = wall_now();
    /* The only child this process had: its rusage alone. */
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("%s failed (status %d)", tool, status);
    double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6;
    char check[256];
    load_check(m, check, sizeof check);
    driver_name = "mariadb-import";
    report_rss("load", 0, w0, cpu, w1, (double)ru.ru_maxrss / 1024, conf.rows, check);
}

static void run_connect(void)
{
    double c0 = cpu_now(), w0 = wall_now();
    for (long long i = 0; i < conf.connects; i++) mysql_close(connect_db());
    double c1 = cpu_now(), w1 = wall_now();
    char check[32];
    snprintf(check, sizeof check, "%lld", conf.connects);
    report("connect", c0, w0, c1, w1, conf.connects, check);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: peer_libmariadb fetch|stream|point|insert|load|connect[-tls|-zlib|-tls-zlib]"
                        "|connect-ed25519|connect-sha2|connect-peer|load-import"
                        "|point-prep|fetch-prep|stream-prep|stream-cursor|insert-bulk\n");
        return 2;
    }
    /* fetch, stream, ... with -tls, -zlib or -tls-zlib after it */
    workload_name = argv[1];
    int import = 0, refill = 0;
    char workload[16];
    size_t base = strspn(workload_name, "abcdefghijklmnopqrstuvwxyz");
    const char *variant = workload_name + base;
    if (base >= sizeof workload) die("unknown workload '%s'", workload_name);
    memcpy(workload, workload_name, base);
    workload[base] = '\0';
    if (strcmp(workload_name, "connect-ed25519") == 0) {
        conf.auth = "ed25519";
    } else if (strcmp(workload_name, "connect-sha2") == 0) {
        conf.auth = "sha2";
        conf.auth_path = "caching_sha2_password fast";
    } else if (strcmp(workload_name, "connect-peer") == 0) {
        conf.auth = "peer";
        conf.auth_path = "mysql_native_password";
    } else if (strcmp(workload_name, "load-import") == 0) {
        import = 1;
        workload_name = "load";
    } else if (strcmp(workload_name, "point-prep") == 0 || strcmp(workload_name, "fetch-prep") == 0 ||
               strcmp(workload_name, "stream-prep") == 0 || strcmp(workload_name, "stream-cursor") == 0 ||
               strcmp(workload_name, "insert-bulk") == 0) {
        conf.statement = variant;
    } else if (strcmp(workload_name, "stream-refill") == 0) {
        /* the Lua peers refill one row table; mysql_fetch_row always
         * hands out the same row buffer: this is stream */
        refill = 1;
    } else if (strcmp(variant, "") == 0) {
    } else if (strcmp(variant, "-tls") == 0) {
        conf.tls = 1;
    } else if (strcmp(variant, "-zlib") == 0) {
        conf.compress = 1;
    } else if (strcmp(variant, "-tls-zlib") == 0) {
        conf.tls = conf.compress = 1;
    } else {
        die("unknown workload '%s'", workload_name);
    }
    conf.ssl_ca = env("MYLUA_BENCH_SSL_CA", NULL);
    if (conf.tls && !conf.ssl_ca) die("%s needs MYLUA_BENCH_SSL_CA (the server's CA file)", workload_name);
    conf.host = env("MYLUA_TEST_HOST", "127.0.0.1");
    conf.port = (unsigned)env_count("MYLUA_TEST_PORT", "3306");
    conf.socket = env("MYLUA_TEST_SOCKET", NULL);
    conf.user = env("MYLUA_TEST_USER", "mylua");
    conf.password = env("MYLUA_TEST_PASSWORD", "");
    conf.database = env("MYLUA_TEST_DB", "mylua_test");
    const char *transport = env("MYLUA_BENCH_TRANSPORT", "tcp");
    if (strcmp(transport, "socket") == 0) {
        if (!conf.socket) die("MYLUA_BENCH_TRANSPORT=socket needs MYLUA_TEST_SOCKET");
        conf.use_socket = 1;
    } else if (strcmp(transport, "tcp") != 0) {
        die("MYLUA_BENCH_TRANSPORT must be tcp or socket");
    }
    conf.rows = env_count("MYLUA_BENCH_ROWS", "1000000");
    conf.point = env_count("MYLUA_BENCH_POINT", "20000");
    conf.insert_rows = env_count("MYLUA_BENCH_INSERT_ROWS", "200000");
    conf.batch = env_count("MYLUA_BENCH_BATCH", "1000");
    conf.connects = env_count("MYLUA_BENCH_CONNECTS", "500");
    conf.fetch_size = env_count("MYLUA_BENCH_FETCH_SIZE", "1000");
    conf.check = strcmp(env("MYLUA_BENCH_CHECK", "1"), "0") != 0;
    if (conf.auth && strcmp(conf.auth, "ed25519") == 0) {
        conf.user = env("MYLUA_BENCH_ED25519_USER", "mylua_bench_ed25519");
        conf.password = env("MYLUA_BENCH_ED25519_PASSWORD", "bench-ed25519-secret");
    } else if (conf.auth) { /* accounts of mysql8peer.py */
        if (conf.use_socket) {
            conf.socket = env("MYLUA_BENCH_MYSQL8_SOCKET", NULL);
            if (!conf.socket) die("%s over the socket needs MYLUA_BENCH_MYSQL8_SOCKET", workload_name);
        } else {
            conf.host = env("MYLUA_BENCH_MYSQL8_HOST", "127.0.0.1");
            conf.port = (unsigned)env_count("MYLUA_BENCH_MYSQL8_PORT", "0");
        }
        int sha2 = strcmp(conf.auth, "sha2") == 0;
        conf.user = sha2 ? "sha2" : "native";
        conf.password = sha2 ? "sha2-secret" : "native-secret";
    }

    if (mysql_library_init(0, NULL, NULL)) die("mysql_library_init failed");
    MYSQL *m = connect_db();
    char seen[sizeof transport_seen];
    if (conf.auth_path) {
        /* mysql8peer.py answers none of transport_check's queries: it
         * serves no TLS and no compression, and says how the login went. */
        auth_check(m, seen, sizeof seen);
    } else if (conf.auth) {
        char who[128], transport[sizeof seen - sizeof who - 2];
        auth_check(m, who, sizeof who);
        transport_check(m, transport, sizeof transport);
        snprintf(seen, sizeof seen, "%s:%s", who, transport);
    } else {
        transport_check(m, seen, sizeof seen);
    }
    /* A transport or login variant says in its check what it had. */
    if (*variant && !import && !conf.statement && !refill) memcpy(transport_seen, seen, sizeof seen);
    /* Warm the connection and the server's path with a tiny query (the
     * MySQL 8 peer has no tables). */
    char warm[64];
    first_value(m, conf.auth ? "SELECT 1" : "SELECT COUNT(*) FROM " TABLE " WHERE id <= 10", warm, sizeof warm);

    if (conf.statement && strcmp(workload, "fetch") == 0) run_fetch_prep(m);
    else if (conf.statement && strcmp(workload, "stream") == 0) run_stream_prep(m, strcmp(conf.statement, "-cursor") == 0);
    else if (conf.statement && strcmp(workload, "point") == 0) run_point_prep(m);
    else if (conf.statement && strcmp(workload, "insert") == 0) run_insert_bulk(m);
    else if (strcmp(workload, "fetch") == 0) run_fetch(m);
    else if (strcmp(workload, "stream") == 0) run_stream(m);
    else if (strcmp(workload, "point") == 0) run_point(m);
    else if (strcmp(workload, "insert") == 0) run_insert(m);
    else if (strcmp(workload, "load") == 0 && import) run_import(m);
    else if (strcmp(workload, "load") == 0) run_load(m);
    else if (strcmp(workload, "connect") == 0) run_connect();
    else die("unknown workload '%s' (fetch, stream, point, insert, load or connect)", workload);

    mysql_close(m);
    mysql_library_end();
    return 0;
}
