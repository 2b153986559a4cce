/* query.c: the protocol core from C, without Lua (libmylua-core).
 *
 * Connects, runs one query and prints its columns and rows, tab-separated,
 * NULL as \N (as the mariadb client's --batch mode).
 *
 *   cc -o query query.c $(pkg-config --cflags --libs mylua-core)
 *   ./query 'SELECT 1 AS n, "one" AS word'
 *
 * Connection settings come from the environment, as scripts/demo sets them:
 * MYLUA_TEST_HOST, MYLUA_TEST_PORT, MYLUA_TEST_USER, MYLUA_TEST_PASSWORD,
 * MYLUA_TEST_DB (or MYLUA_TEST_SOCKET when MYLUA_TEST_HOST is empty).
 * Exits 1 with the server's or the client's error when anything fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mylua-core.h>

/* The variable's value, or NULL when unset or empty. */
static const char *setting(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void print_value(const uint8_t *v, size_t len)
{
    fwrite(v, 1, len, stdout);
}

static int print_result(const myl_result *r)
{
    if (!r->cols) {
        printf("%llu rows affected\n", (unsigned long long)r->status.affected_rows);
        return 0;
    }
    for (size_t i = 0; i < r->cols->n; i++)
        printf("%s%s", i ? "\t" : "", r->cols->col[i].name);
    printf("\n");
    for (size_t row = 0; row < r->nrows; row++) {
        size_t n;
        const uint8_t *p = myl_result_row(r, row, &n);
        myl_row_iter it;
        myl_row_begin(&it, p, n);
        for (size_t i = 0; i < r->cols->n; i++) {
            const uint8_t *v = NULL;
            size_t len = 0;
            if (i) printf("\t");
            /* a buffered result's rows were checked when they were read */
            if (myl_row_next_trusted(&it, &v, &len) == MYL_ROW_NULL)
                printf("\\N");
            else
                print_value(v, len);
        }
        printf("\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *sql = argc > 1 ? argv[1] : "SELECT VERSION() AS version";
    myl_options opt;
    myl_options_init(&opt);
    opt.host = setting("MYLUA_TEST_HOST");
    opt.socket_path = setting("MYLUA_TEST_SOCKET");
    if (!opt.host && opt.socket_path) opt.protocol = MYL_PROTOCOL_SOCKET;
    if (opt.host && setting("MYLUA_TEST_PORT")) opt.port = (unsigned)atoi(setting("MYLUA_TEST_PORT"));
    opt.user = setting("MYLUA_TEST_USER");
    opt.password = setting("MYLUA_TEST_PASSWORD") ? setting("MYLUA_TEST_PASSWORD") : "";
    opt.database = setting("MYLUA_TEST_DB");

    myl_conn *c = myl_conn_new();
    if (!c) {
        fprintf(stderr, "query: out of memory\n");
        return 1;
    }
    if (myl_connect(c, &opt) != 0) {
        fprintf(stderr, "query: cannot connect: %s\n", myl_conn_error(c)->message);
        myl_conn_free(c);
        return 1;
    }
    myl_result *results = myl_query(c, sql, strlen(sql));
    if (!results) {
        const myl_error *e = myl_conn_error(c);
        fprintf(stderr, "query: ERROR %d (%s): %s\n", e->code, e->sqlstate, e->message);
        myl_conn_free(c);
        return 1;
    }
    for (const myl_result *r = results; r; r = r->next) print_result(r);
    myl_result_free(results);
    myl_conn_free(c);
    return 0;
}
