/* The connection: its lifecycle, the commands and the response state
 * machine (READY -> HEAD -> ROWS -> ...).  Failures and packets that change
 * the state are conn_state.c's; login is handshake.c's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "conn_internal.h"
#include "options.h"
#include "rd.h"
#include "side.h"

/* Tables hold at most 4096 columns, but a SELECT list may be longer (MariaDB
 * returns 5000 expressions); a count past this is a hostile or broken peer. */
#define MAX_COLUMNS 65535
/* The names of a result's columns, all together: far beyond any real
 * result (65535 columns of long names), a bound on what a peer can make
 * the client keep. */
#define MAX_COLUMN_TEXT ((size_t)64 << 20)
/* Results of up to this many columns are read without a malloc for their
 * definitions but the one they are kept in; the scratch for their names
 * is kept up to COLUMN_TEXT_KEPT bytes. */
#define SMALL_COLUMNS 32
#define COLUMN_TEXT_KEPT ((size_t)64 << 10)
/* The last text result's column definitions are kept, to share its columns
 * with the next result of the same definitions, up to this many bytes. */
#define COLDEF_KEPT ((size_t)16 << 10)

/* Discarding a response nobody reads: at most this many bytes, within the
 * read timeout (or DRAIN_SECONDS without one); past either the connection
 * is closed instead, so an endless response cannot hold the client. */
#define DRAIN_BYTES (64u << 20)
#define DRAIN_SECONDS 30.0


/* ------------------------------------------------------------------ */
/* Columns */

/* A statement shares its columns with its results, and a program may
 * execute the statement on one thread while another frees an earlier
 * result of it (the Lua binding's worker threads do): the count changes
 * under a lock. */
static pthread_mutex_t columns_refs_mu = PTHREAD_MUTEX_INITIALIZER;

void myl_columns_free(myl_columns *cols)
{
    if (!cols) return;
    pthread_mutex_lock(&columns_refs_mu);
    unsigned left = --cols->refs;
    pthread_mutex_unlock(&columns_refs_mu);
    if (left == 0) free(cols);
}

myl_columns *myl_columns_ref(myl_columns *cols)
{
    if (!cols) return NULL;
    pthread_mutex_lock(&columns_refs_mu);
    cols->refs++;
    pthread_mutex_unlock(&columns_refs_mu);
    return cols;
}

myl_value_class myl_value_class_of(unsigned type, unsigned flags)
{
    switch (type) {
    case MYL_TYPE_TINY:
    case MYL_TYPE_SHORT:
    case MYL_TYPE_LONG:
    case MYL_TYPE_INT24:
    case MYL_TYPE_YEAR: return MYL_VALUE_INT; /* all fit in int64 even unsigned */
    case MYL_TYPE_LONGLONG: return flags & MYL_FLAG_UNSIGNED ? MYL_VALUE_UINT : MYL_VALUE_INT;
    case MYL_TYPE_FLOAT:
    case MYL_TYPE_DOUBLE: return MYL_VALUE_FLOAT;
    case MYL_TYPE_BIT: return MYL_VALUE_BIT;
    case MYL_TYPE_NULL: return MYL_VALUE_NULL;
    default: return MYL_VALUE_STRING;
    }
}

/* ------------------------------------------------------------------ */
/* Lifecycle */

myl_conn *myl_conn_new(void)
{
    myl_conn *c = calloc(1, sizeof *c);
    if (c) {
        c->state = MYL_STATE_CLOSED;
        c->last.info = c->last_info;
    }
    return c;
}

void myl_close(myl_conn *c)
{
    if (c->t && c->state == MYL_STATE_READY) {
        myl_conn_new_command(c);
        if (myl_out_begin(c, 1) == 0) {
            myl_buf_put_u8(&c->fr.out, MYL_COM_QUIT);
            double saved = c->write_timeout;
            if (c->write_timeout <= 0 || c->write_timeout > 1) c->write_timeout = 1;
            myl_send_out(c); /* best effort: the server frees the session sooner */
            c->write_timeout = saved;
        }
    }
    myl_conn_close_transport(c);
    myl_framer_free(&c->fr);
    myl_framer_reset(&c->fr, NULL);
    c->state = MYL_STATE_CLOSED;
    c->owner = NULL;
    c->compression = NULL;
}

/* The connect's authentication options, kept for COM_CHANGE_USER. */
static void forget_auth_options(myl_conn *c)
{
    free(c->auth_plugins);
    free(c->server_public_key);
    c->auth_plugins = c->server_public_key = NULL;
}

static int keep_auth_options(myl_conn *c, const myl_options *opt)
{
    forget_auth_options(c);
    c->allow_cleartext = opt->allow_cleartext;
    c->get_server_public_key = opt->get_server_public_key;
    c->connect_timeout = opt->connect_timeout;
    if (opt->auth_plugins && !(c->auth_plugins = strdup(opt->auth_plugins))) return -1;
    if (opt->server_public_key && !(c->server_public_key = strdup(opt->server_public_key)))
        return -1;
    return 0;
}

void myl_conn_free(myl_conn *c)
{
    if (!c) return;
    myl_close(c);
    myl_stmt_detach_all(c);
    myl_buf_free(&c->col_text);
    myl_buf_free(&c->coldef_last);
    myl_buf_free(&c->coldef_seen);
    myl_columns_free(c->coldef_cols);
    forget_auth_options(c);
    myl_infile_forget(c);
    myl_side_forget(c);
    free(c);
}

const myl_error *myl_conn_error(const myl_conn *c) { return &c->err; }
myl_state myl_conn_state(const myl_conn *c) { return c->state; }
const char *myl_server_version(const myl_conn *c) { return c->server_version; }
unsigned long myl_server_version_number(const myl_conn *c) { return c->version_number; }
uint32_t myl_thread_id(const myl_conn *c) { return c->thread_id; }
const char *myl_host_info(const myl_conn *c) { return c->host_info; }
const char *myl_conn_schema(const myl_conn *c) { return c->schema_known ? c->schema : NULL; }
const myl_tls_info *myl_conn_tls(const myl_conn *c)
{
    return c->t && c->tls_on ? &c->tls : NULL;
}
const char *myl_charset_name(const myl_conn *c) { return c->charset ? c->charset->name : ""; }
const char *myl_conn_compression(const myl_conn *c) { return c->compression; }
unsigned myl_server_status(const myl_conn *c) { return c->status; }
const myl_status *myl_last_status(const myl_conn *c) { return &c->last; }
int myl_more_results(const myl_conn *c) { return c->state == MYL_STATE_HEAD; }
const void *myl_response_owner(const myl_conn *c)
{
    return c->state == MYL_STATE_HEAD || c->state == MYL_STATE_ROWS ? c->owner : NULL;
}

void myl_abandon(myl_conn *c, const void *owner)
{
    if (owner && c->owner == owner) c->owner = NULL;
}

myl_escape_style myl_conn_escape_style(const myl_conn *c)
{
    myl_escape_style st;
    st.charset = c->charset ? c->charset : myl_charset_find(MYL_DEFAULT_CHARSET);
    st.no_backslash = (c->status & MYL_STATUS_NO_BACKSLASH_ESCAPES) != 0;
    return st;
}

static int run_simple_query(myl_conn *c, const char *sql);

/* Runs the init command, reading and discarding every result; on failure
 * the error is the server's (code, SQLSTATE, failing statement), its
 * message prefixed with "init_command failed: ". */
static int run_init_command(myl_conn *c, const char *sql)
{
    if (run_simple_query(c, sql) == 0) return 0;
    myl_error *e = &c->err;
    char msg[MYL_ERRMSG_SIZE];
    snprintf(msg, sizeof msg, "init_command failed: %.490s", e->message);
    memcpy(e->message, msg, sizeof msg);
    return -1;
}

int myl_connect(myl_conn *c, const myl_options *opt)
{
    if (c->state != MYL_STATE_CLOSED) myl_close(c);
    myl_error_clear(&c->err);
    myl_conn_clear_last(c);
    c->compression = NULL;
    c->charset = myl_charset_find(opt->charset ? opt->charset : MYL_DEFAULT_CHARSET);
    if (!c->charset) {
        myl_error_set(&c->err, 2019, "Can't initialize character set %s",
                      opt->charset ? opt->charset : "");
        return -1;
    }
    if (opt->max_packet > MAX_PACKET) {
        myl_error_set(&c->err, MYL_CR_UNKNOWN_ERROR,
                      "Invalid max_packet %zu: at most %u bytes (1 GiB) are allowed",
                      opt->max_packet, MAX_PACKET);
        return -1;
    }
    c->frontend_auth = 0;
    if (keep_auth_options(c, opt) || myl_infile_setup(c, opt) || myl_side_keep(c, opt)) {
        myl_error_set(&c->err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return -1;
    }
    c->max_packet = opt->max_packet ? opt->max_packet : MYL_DEFAULT_MAX_PACKET;
    c->read_timeout = opt->read_timeout;
    c->write_timeout = opt->write_timeout;
    c->op_deadline = myl_capped(c, opt->connect_timeout > 0 ? myl_now() + opt->connect_timeout : 0);
    myl_stmt_new_session(c, "the connection was opened again");
    c->schema_known = 0;
    if (opt->database && *opt->database && strlen(opt->database) < sizeof c->schema) {
        memcpy(c->schema, opt->database, strlen(opt->database) + 1);
        c->schema_known = 1;
    }
    c->state = MYL_STATE_READY;
    c->owner = NULL;
    c->result_no = 0;
    c->max_result_bytes = opt->max_result_bytes;
    /* A small ceiling until logged in: a greeting or an auth packet is tiny. */
    myl_framer_reset(&c->fr, NULL);
    c->fr.max_packet = HANDSHAKE_MAX_PACKET;
    int rc = myl_open_and_authenticate(c, opt);
    if (rc == 0) c->fr.max_packet = c->max_packet;
    if (rc == 0 && opt->collation && *opt->collation) {
        char sql[200];
        snprintf(sql, sizeof sql, "SET NAMES %s COLLATE '%.64s'", c->charset->name,
                 opt->collation);
        if (strchr(opt->collation, '\'')) {
            myl_error_set(&c->err, 2019, "Invalid collation name");
            rc = -1;
        } else {
            rc = run_simple_query(c, sql);
        }
    }
    /* The init command is a query like any other: bounded by the read and
     * write timeouts, not by connect_timeout (as Connector/C). */
    c->op_deadline = 0;
    if (rc == 0 && opt->init_command && *opt->init_command) rc = run_init_command(c, opt->init_command);
    if (rc) {
        myl_conn_close_transport(c);
        c->state = MYL_STATE_CLOSED;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Commands */

static int out_of_sync(myl_conn *c)
{
    myl_error_set(&c->err, MYL_CR_COMMANDS_OUT_OF_SYNC,
                  "Commands out of sync; you can't run this command now (the response to an "
                  "earlier command is still being read: read it to the end or close what reads it)");
    return -1;
}

static int drain_abandoned(myl_conn *c);

/* Checks that a new command may start and resets the sequence. */
static int begin_command(myl_conn *c)
{
    int ok = 1;
    switch (c->state) {
    case MYL_STATE_READY: break;
    case MYL_STATE_HEAD:
    case MYL_STATE_ROWS:
        if (c->owner) {
            out_of_sync(c);
            ok = 0;
        } else if (drain_abandoned(c)) { /* its owner went away without reading it */
            ok = 0;
        }
        break;
    case MYL_STATE_BROKEN:
        myl_error_set(&c->err, MYL_CR_SERVER_GONE_ERROR, "Server has gone away (%s)",
                      c->broken_cause[0] ? c->broken_cause : "connection broken");
        ok = 0;
        break;
    default:
        myl_error_set(&c->err, MYL_CR_SERVER_GONE_ERROR, "Server has gone away (connection closed)");
        ok = 0;
    }
    myl_infile_command(c, ok);
    if (!ok) return -1;
    myl_error_clear(&c->err);
    c->cmd_binary = c->cmd_cursor = 0;
    c->fetching = c->exec_stmt = NULL;
    c->row_held = 0;
    if (c->nstmt_close && myl_stmt_flush_closes(c)) return -1;
    myl_conn_new_command(c);
    /* Give back a buffer a huge packet grew, once nothing is pending in it. */
    myl_framer_shrink(&c->fr, 4u << 20);
    return 0;
}

int myl_conn_begin(myl_conn *c) { return begin_command(c); }

int myl_conn_usable(myl_conn *c)
{
    if (c->state != MYL_STATE_BROKEN && c->state != MYL_STATE_CLOSED) return 0;
    return begin_command(c);
}

static int send_command(myl_conn *c, uint8_t cmd, const void *arg, size_t len,
                        const void *owner)
{
    if (begin_command(c) || myl_out_begin(c, 1 + len)) return -1;
    if (cmd == MYL_COM_QUERY) myl_infile_statement(c, arg, len);
    myl_buf_put_u8(&c->fr.out, cmd);
    if (len) myl_buf_put(&c->fr.out, arg, len);
    c->result_no = 0; /* before sending: an error read when the send fails is this command's */
    if (myl_send_out(c)) return -1;
    c->state = MYL_STATE_HEAD;
    c->owner = owner;
    return 0;
}

int myl_conn_read_ok(myl_conn *c)
{
    const uint8_t *p;
    size_t n;
    if (myl_read_packet(c, &p, &n)) return -1;
    switch (myl_classify(MYL_WAIT_OK, p, n, c->caps)) {
    case MYL_PKT_ERR: return myl_conn_server_error(c, p, n);
    case MYL_PKT_OK:
        if (myl_conn_handle_ok(c, p, n)) return -1;
        /* a simple command has one reply, whatever its flags say */
        myl_conn_set_response_state(c, MYL_STATE_READY);
        return 0;
    case MYL_PKT_EOF: { /* COM_PING on some old servers */
        unsigned w, s;
        if (myl_parse_eof(p, n, &w, &s)) return myl_conn_malformed(c, "EOF packet");
        myl_conn_keep_status(c, s);
        myl_conn_set_response_state(c, MYL_STATE_READY);
        return 0;
    }
    default: return myl_conn_malformed(c, "expected an OK packet");
    }
}

static int simple_command(myl_conn *c, uint8_t cmd, const void *arg, size_t len)
{
    if (send_command(c, cmd, arg, len, c)) return -1;
    return myl_conn_read_ok(c);
}

int myl_ping(myl_conn *c) { return simple_command(c, MYL_COM_PING, NULL, 0); }

int myl_select_db(myl_conn *c, const char *db, size_t len)
{
    if (simple_command(c, MYL_COM_INIT_DB, db, len)) return -1;
    /* known now even from a server that does not track the schema */
    if (len < sizeof c->schema && !memchr(db, 0, len)) {
        memcpy(c->schema, db, len);
        c->schema[len] = '\0';
        c->schema_known = 1;
    }
    return 0;
}

int myl_kill(myl_conn *c, uint32_t id)
{
    uint8_t a[4] = {(uint8_t)id, (uint8_t)(id >> 8), (uint8_t)(id >> 16), (uint8_t)(id >> 24)};
    return simple_command(c, MYL_COM_PROCESS_KILL, a, 4);
}

int myl_reset_connection(myl_conn *c)
{
    int rc = simple_command(c, MYL_COM_RESET_CONNECTION, NULL, 0);
    /* Once the command went out, the server may have dropped the session's
     * statements, whatever the reply says. */
    if (rc == 0 || c->state == MYL_STATE_BROKEN) myl_stmt_new_session(c, "the connection was reset");
    return rc;
}

int myl_send_query(myl_conn *c, const char *sql, size_t len, const void *owner)
{
    return send_command(c, MYL_COM_QUERY, sql, len, owner);
}

int myl_conn_read_columns_end(myl_conn *c, unsigned *eof_status)
{
    if (c->caps & MYL_CLIENT_DEPRECATE_EOF) return 0;
    const uint8_t *p;
    size_t n;
    unsigned w, st;
    if (myl_read_packet(c, &p, &n)) return -1;
    myl_pkt kind = myl_classify(MYL_WAIT_COLUMNS_END, p, n, c->caps);
    if (kind == MYL_PKT_ERR) return myl_conn_server_error(c, p, n);
    if (kind != MYL_PKT_EOF) return myl_conn_malformed(c, "expected EOF after columns");
    if (!eof_status) return 0;
    if (myl_parse_eof(p, n, &w, &st)) return myl_conn_malformed(c, "EOF packet");
    *eof_status = st;
    return 0;
}

/* One column definition (p, n), the i-th: its fields into cols[i], its six
 * strings into strs (their offsets at offs[i * 6]).  0, or -1 with the
 * connection's error set. */
static int take_coldef(myl_conn *c, const uint8_t *p, size_t n, size_t i, myl_column *cols,
                       size_t *offs, myl_buf *strs)
{
    myl_coldef d;
    myl_pkt kind = myl_classify(MYL_WAIT_COLUMN, p, n, c->caps);
    if (kind == MYL_PKT_ERR) return myl_conn_server_error(c, p, n);
    if (kind != MYL_PKT_COLUMN || myl_parse_coldef(p, n, &d))
        return myl_conn_malformed(c, "column definition");
    const uint8_t *s[6] = {d.catalog, d.db, d.table, d.org_table, d.name, d.org_name};
    size_t l[6] = {d.catalog_len, d.db_len, d.table_len, d.org_table_len, d.name_len,
                   d.org_name_len};
    size_t total = 6; /* each string and its NUL */
    for (int k = 0; k < 6; k++) total += l[k];
    if (strs->len + total - 1 > MAX_COLUMN_TEXT) /* the last string past the ceiling */
        return myl_conn_broken(c, MYL_CR_NET_PACKET_TOO_LARGE,
                               "Got column definitions bigger than 64 MiB in all");
    if (myl_buf_reserve(strs, total)) return myl_conn_oom(c);
    for (int k = 0; k < 6; k++) {
        offs[i * 6 + k] = strs->len;
        if (l[k]) myl_buf_put(strs, s[k], l[k]);
        myl_buf_put_u8(strs, 0);
    }
    cols[i].name_len = d.name_len;
    cols[i].charset = d.charset;
    cols[i].length = d.length;
    cols[i].type = d.type;
    cols[i].flags = d.flags;
    cols[i].decimals = d.decimals;
    cols[i].vclass = myl_value_class_of(d.type, d.flags);
    return 0;
}

/* The packet at *pos of a list kept by keep_coldef (its length, then its
 * bytes); *pos moves past it. */
static const uint8_t *kept_coldef(const myl_buf *kept, size_t *pos, size_t *n)
{
    memcpy(n, kept->data + *pos, sizeof *n);
    const uint8_t *p = kept->data + *pos + sizeof *n;
    *pos += sizeof *n + *n;
    return p;
}

/* Appends a packet to `list` (its length, then its bytes); -1 when the list
 * would pass COLDEF_KEPT bytes (it is then not kept) or memory runs out. */
static int keep_coldef(myl_buf *list, const uint8_t *p, size_t n)
{
    if (n > COLDEF_KEPT || list->len + sizeof n + n > COLDEF_KEPT ||
        myl_buf_reserve(list, sizeof n + n))
        return -1;
    myl_buf_put(list, &n, sizeof n);
    if (n) myl_buf_put(list, p, n);
    return 0;
}

/* Reads ncols column definitions into new columns.  With `reuse` (text
 * results), definitions that are the same bytes as the last ones so read
 * give the same columns, shared (one reference more), instead of being
 * parsed and copied again: a query run thousands of times reads the same
 * definitions as often, and making its columns was a fifth of a point
 * select's instructions. */
static int read_columns(myl_conn *c, size_t ncols, myl_columns **out, unsigned *eof_status,
                        int reuse)
{
    /* Scratch that lives as long as the connection, and arrays on the
     * stack for the usual few columns: a statement executed thousands of
     * times reads its columns as often, and mallocs were a third of it. */
    myl_buf strs = c->col_text;
    strs.len = 0;
    myl_buf seen = c->coldef_seen; /* this result's definitions, to keep for the next */
    seen.len = 0;
    int keep = reuse;
    const myl_buf *last = &c->coldef_last;
    size_t last_pos = 0, matched = 0;
    int same = reuse && c->coldef_cols && c->coldef_cols->n == ncols;
    myl_column small_cols[SMALL_COLUMNS];
    size_t small_offs[SMALL_COLUMNS * 6];
    int small = ncols <= SMALL_COLUMNS;
    myl_column *cols = small ? small_cols : calloc(ncols, sizeof *cols);
    size_t *offs = small ? small_offs : calloc(ncols * 6, sizeof *offs);
    if (!cols || !offs) {
        if (!small) {
            free(cols);
            free(offs);
        }
        return myl_conn_oom(c);
    }
    if (small) memset(cols, 0, ncols * sizeof *cols);
    int rc = 0;
    for (size_t i = 0; i < ncols && rc == 0; i++) {
        const uint8_t *p;
        size_t n;
        if (myl_read_packet(c, &p, &n)) {
            rc = -1;
            break;
        }
        if (keep && keep_coldef(&seen, p, n)) keep = 0;
        if (same) {
            size_t ln, at = last_pos;
            const uint8_t *lp = kept_coldef(last, &at, &ln);
            if (ln == n && memcmp(lp, p, n) == 0) { /* checked when it was first read */
                last_pos = at;
                matched++;
                continue;
            }
            /* Different after all: the definitions matched so far are
             * made from the kept copies, this one and the rest as read. */
            same = 0;
            size_t pos = 0;
            for (size_t j = 0; j < matched && rc == 0; j++) {
                size_t jn;
                const uint8_t *jp = kept_coldef(last, &pos, &jn);
                rc = take_coldef(c, jp, jn, j, cols, offs, &strs);
            }
            if (rc) break;
        }
        rc = take_coldef(c, p, n, i, cols, offs, &strs);
    }
    if (rc == 0) rc = myl_conn_read_columns_end(c, eof_status);
    myl_columns *res = NULL;
    if (rc == 0 && same) {
        *out = myl_columns_ref(c->coldef_cols);
    } else if (rc == 0) {
        res = malloc(sizeof *res + ncols * sizeof *cols + strs.len);
        if (!res) rc = myl_conn_oom(c);
    }
    if (res) {
        res->n = ncols;
        res->refs = 1;
        res->binary = 0;
        res->col = (myl_column *)(res + 1);
        char *base = (char *)(res->col + ncols);
        if (strs.len) memcpy(base, strs.data, strs.len);
        for (size_t i = 0; i < ncols; i++) {
            myl_column *col = &res->col[i];
            *col = cols[i];
            col->catalog = base + offs[i * 6 + 0];
            col->db = base + offs[i * 6 + 1];
            col->table = base + offs[i * 6 + 2];
            col->org_table = base + offs[i * 6 + 3];
            col->name = base + offs[i * 6 + 4];
            col->org_name = base + offs[i * 6 + 5];
        }
        *out = res;
        if (keep) { /* the next result compares its definitions with these */
            myl_columns_free(c->coldef_cols);
            c->coldef_cols = myl_columns_ref(res);
            myl_buf swap = c->coldef_last;
            c->coldef_last = seen;
            seen = swap;
        }
    }
    if (!small) {
        free(cols);
        free(offs);
    }
    if (strs.cap > COLUMN_TEXT_KEPT) myl_buf_free(&strs); /* a rare huge one is not kept */
    c->col_text = strs;
    c->coldef_seen = seen;
    return rc;
}

int myl_conn_read_columns(myl_conn *c, size_t ncols, myl_columns **out, unsigned *eof_status)
{
    return read_columns(c, ncols, out, eof_status, 0);
}

/* Reads a result's head, and its column definitions, under one deadline
 * (the whole response's when one is set, else read_timeout from now), so a
 * server sending 4096 columns slowly cannot stretch the read timeout 4096
 * times. */
static int read_head(myl_conn *c, myl_columns **cols)
{
    myl_conn_clear_last(c);
    c->result_no++;
    const uint8_t *p;
    size_t n;
    if (myl_read_packet(c, &p, &n)) return -1;
    switch (myl_classify(MYL_WAIT_RESULT, p, n, c->caps)) {
    case MYL_PKT_OK: /* a statement without a result set */
        return myl_conn_handle_ok(c, p, n) ? -1 : 0;
    case MYL_PKT_ERR: /* the statement failed */
        return myl_conn_server_error(c, p, n);
    case MYL_PKT_LOCAL_INFILE: /* the server asks for a file's data */
        return myl_infile_request(c, p, n);
    case MYL_PKT_RESULT_SET: { /* a column count, then the column definitions */
        myl_rd r = myl_rd_init(p, n);
        uint64_t ncols = myl_rd_lenenc(&r, NULL);
        int metadata = 1;
        if (c->caps & MYL_MARIADB_CLIENT_CACHE_METADATA) metadata = myl_rd_u8(&r);
        if (r.bad || myl_rd_left(&r) != 0 || ncols == 0 || metadata > 1)
            return myl_conn_malformed(c, "column count");
        if (ncols > MAX_COLUMNS) {
            char msg[120];
            snprintf(msg, sizeof msg, "Malformed packet (a result of %llu columns; at most %d are accepted)",
                     (unsigned long long)ncols, MAX_COLUMNS);
            return myl_conn_broken(c, MYL_CR_MALFORMED_PACKET, msg);
        }
        unsigned eof_status = 0;
        if (!metadata) { /* the statement's, unchanged since it last got them */
            if (myl_stmt_known_columns(c, (size_t)ncols, cols, &eof_status)) return -1;
        } else {
            /* A text result's columns may be shared with the one before
             * (read_columns): never changed once made. */
            int text = !c->cmd_binary && !c->exec_stmt;
            if (read_columns(c, (size_t)ncols, cols, &eof_status, text)) return -1;
            if (!text) (*cols)->binary = c->cmd_binary;
            if (c->exec_stmt && c->result_no == 1) myl_stmt_learn_columns(c, *cols);
        }
        c->ncols = (size_t)ncols;
        c->state = MYL_STATE_ROWS;
        if (c->cmd_cursor && myl_stmt_cursor_head(c, eof_status) < 0) {
            myl_columns_free(*cols);
            *cols = NULL;
            return -1;
        }
        return 1;
    }
    default:
        return myl_conn_malformed(c, n ? "result head" : "empty result head");
    }
}

int myl_read_head(myl_conn *c, const void *owner, myl_columns **cols)
{
    *cols = NULL;
    if (c->state == MYL_STATE_BROKEN || c->state == MYL_STATE_CLOSED) return begin_command(c);
    if (c->state == MYL_STATE_READY) {
        myl_error_set(&c->err, MYL_CR_COMMANDS_OUT_OF_SYNC,
                      "Commands out of sync; no result is pending");
        return -1;
    }
    if (c->owner != owner || c->state != MYL_STATE_HEAD) return out_of_sync(c);
    int bounded_here = c->response_deadline <= 0;
    if (bounded_here) myl_bound_response(c, 1);
    int rc = read_head(c, cols);
    if (bounded_here) myl_bound_response(c, 0);
    return rc;
}

int myl_read_row(myl_conn *c, const void *owner, const uint8_t **row, size_t *len)
{
    if (c->state == MYL_STATE_BROKEN || c->state == MYL_STATE_CLOSED) return begin_command(c);
    if (c->state != MYL_STATE_ROWS) return 0; /* the result already ended */
    if (c->owner != owner) return out_of_sync(c);
    if (c->row_held) { /* read while looking for a cursor (stmt.c) */
        c->row_held = 0;
        *row = c->held_row;
        *len = c->held_len;
        return 1;
    }
    const uint8_t *p;
    size_t n;
    if (myl_read_packet(c, &p, &n)) return -1;
    switch (myl_classify(MYL_WAIT_ROW, p, n, c->caps)) {
    case MYL_PKT_ROW:
        *row = p;
        *len = n;
        return 1;
    case MYL_PKT_EOF:
        /* The end of the rows: an OK packet with the 0xFE header under
         * DEPRECATE_EOF, else a classic EOF packet. */
        if (c->caps & MYL_CLIENT_DEPRECATE_EOF) {
            myl_ok ok;
            if (myl_parse_ok(p, n, c->caps, &ok))
                return myl_conn_malformed(c, "a row or the end of the rows, starting with 0xFE");
            if (myl_conn_handle_ok(c, p, n)) return -1;
            if (c->fetching) myl_stmt_rows_ended(c, ok.status);
            return 0;
        }
        unsigned w, s;
        if (myl_parse_eof(p, n, &w, &s)) return myl_conn_malformed(c, "end of the rows");
        myl_conn_clear_last(c);
        c->last.warnings = w;
        myl_conn_keep_status(c, s);
        myl_conn_set_response_state(c, s & MYL_STATUS_MORE_RESULTS_EXISTS ? MYL_STATE_HEAD : MYL_STATE_READY);
        if (c->fetching) myl_stmt_rows_ended(c, s);
        return 0;
    case MYL_PKT_ERR: /* the statement failed while producing rows */
        return myl_conn_server_error(c, p, n);
    default:
        return myl_conn_malformed(c, "text row: starts with 0xFE but is no end-of-rows packet");
    }
}

/* Reads the rest of the response away within `budget` bytes and the
 * deadline already set; past the budget the connection is closed. */
static int discard_within(myl_conn *c, size_t budget)
{
    int failed = 0;
    uint64_t start = c->bytes_read;
    while (c->state == MYL_STATE_ROWS || c->state == MYL_STATE_HEAD) {
        if (c->state == MYL_STATE_ROWS) {
            const uint8_t *p;
            size_t n;
            int rc = myl_read_row(c, c->owner, &p, &n);
            if (rc < 0) failed = 1;
        } else {
            myl_columns *cols;
            if (myl_read_head(c, c->owner, &cols) < 0) failed = 1;
            myl_columns_free(cols);
        }
        if (c->state == MYL_STATE_BROKEN) return -1;
        if (budget && c->bytes_read - start > budget && (c->state == MYL_STATE_ROWS || c->state == MYL_STATE_HEAD)) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "Lost connection to server: an unread response was longer than %zu bytes "
                     "and the connection was closed rather than read it all", budget);
            return myl_conn_broken(c, MYL_CR_SERVER_LOST, msg);
        }
    }
    return failed ? -1 : 0;
}

/* Discards under one deadline and a byte budget. */
static int discard_bounded(myl_conn *c)
{
    double saved_read = c->read_timeout;
    if (c->read_timeout <= 0) c->read_timeout = DRAIN_SECONDS;
    myl_bound_response(c, 1);
    int rc = discard_within(c, DRAIN_BYTES);
    myl_bound_response(c, 0);
    c->read_timeout = saved_read;
    return rc;
}

static int drain_abandoned(myl_conn *c)
{
    int rc = discard_bounded(c);
    if (c->state == MYL_STATE_BROKEN || c->state == MYL_STATE_CLOSED) return begin_command(c);
    (void)rc; /* a server error in a response nobody reads concerns nobody */
    return 0;
}

int myl_discard(myl_conn *c, const void *owner)
{
    if ((c->state == MYL_STATE_ROWS || c->state == MYL_STATE_HEAD) && c->owner != owner)
        return out_of_sync(c);
    return discard_bounded(c);
}

void myl_conn_discard_after_error(myl_conn *c)
{
    if (c->state != MYL_STATE_HEAD && c->state != MYL_STATE_ROWS) return;
    myl_error first = c->err;
    discard_bounded(c);
    c->err = first; /* the error the caller reports is the one that stopped it */
}

static int run_simple_query(myl_conn *c, const char *sql)
{
    if (myl_send_query(c, sql, strlen(sql), c)) return -1;
    myl_columns *cols = NULL;
    int rc = myl_read_head(c, c, &cols);
    myl_columns_free(cols);
    if (rc < 0) return -1;
    return myl_discard(c, c);
}
