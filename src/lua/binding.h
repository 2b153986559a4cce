/* Shared declarations of the Lua binding (mylua.core). */
#ifndef MYL_BINDING_H
#define MYL_BINDING_H

#include <lauxlib.h>
#include <lua.h>

#include "../core/conn.h"
#include "../core/infile.h"
#include "../core/result.h"
#include "../core/stmt.h"
#include "guard.h"

#define MYL_CONNECTION_MT "mylua.connection"
/* Registry key of a table of connection options (option names as in the
 * core's table) that mylua.connect uses for the keys its argument lacks: the
 * host program puts its command line's connection options there. */
#define MYL_HOST_DEFAULTS "mylua.host_defaults"
/* Registry key of the host program's terminal prompt for the dialog plugin:
 * a function(prompt, echo, last) -> answer, or nil and why when it has
 * nobody to ask (no terminal), raising when asking fails.
 * mylua.connect uses it, as a fallback asked only for the questions the
 * password does not answer, when the `auth` option has no dialog function. */
#define MYL_HOST_PROMPT "mylua.host_prompt"
#define MYL_RESULT_MT "mylua.result"
#define MYL_CURSOR_MT "mylua.cursor"
#define MYL_ERROR_MT "mylua.error"
#define MYL_STATEMENT_MT "mylua.statement"
#define MYL_TYPED_MT "mylua.typed"

/* The connection object.  It mirrors nothing of the core's state: who
 * reads the pending response is the core's business (myl_response_owner). */
typedef struct conn_ud {
    myl_conn *c; /* NULL once closed */
    myl_guard g;
    /* local_infile = function(name): the core's source calls it (infile.c);
     * the function is the object's user value 1. */
    myl_infile_hooks infile;
    lua_State *L; /* the thread of the call running now, for callbacks */
    unsigned stmt_cache; /* statement_cache = N: db:execute keeps N statements */
    uint64_t stmt_clock; /* counts db:execute calls, for the cache's LRU */
    /* The list of open connections (live.c), under its mutex. */
    struct conn_ud *live_prev, *live_next;
    int live, live_left_out;
    /* reconnect = true: a connection found lost between statements is
     * opened again before the next command (reconnect.c); the options it
     * was made with are its user value 2, for that and db:reconnect(). */
    int auto_reconnect;
    unsigned session_gen; /* counts reconnects: a cursor of an earlier session refuses */
    char host_info[320];  /* which host of a list answered; "" for a single host */
} conn_ud;

/* The statement object (statement.c).  It holds its connection object
 * alive through a user value; a cursor reading its rows holds it. */
typedef struct stmt_ud {
    myl_stmt *s;    /* NULL once closed */
    conn_ud *conn;  /* the connection object's memory */
    myl_guard g;    /* busy while its memory is decoded or a callback runs */
    unsigned execs; /* counts executions: a server cursor knows its own */
    uint64_t used;  /* when db:execute's cache last used it */
    /* The columns whose names table (user value UV_NAMES) its last result
     * got: results of the same columns share it instead of making their
     * own each execute.  A holder of them, so the address stays theirs. */
    myl_columns *names_for;
} stmt_ud;

/* A typed value (typed.c): mylua.decimal(s), date, datetime, time, blob.
 * The text is the object's user value, so s stays valid while it lives. */
typedef struct myl_typed {
    myl_param_kind kind;
    const char *s;
    size_t len;
    myl_datetime t; /* parsed at construction for the temporal kinds */
} myl_typed;

/* Row shapes. */
enum { ROW_KEYED, ROW_ARRAY, ROW_VALUES };

/* udata.c: userdata types and argument errors naming the method. */
/* Creates the metatable `tname` (with __name) holding `metamethods`; the
 * `methods` (may be NULL) go in a table that is the metatable's field
 * "methods" and is reached through __index: directly, or, when `index` is
 * given, as upvalue 1 of the __index closure `index` (which then serves
 * properties).  Records each method's name for the argument errors below.
 * Leaves the metatable on the stack (an existing one is left as it is). */
void myl_lua_new_type(lua_State *L, const char *tname, const luaL_Reg *methods,
                      const luaL_Reg *metamethods, lua_CFunction index);
/* Adds methods to the type `tname` made by myl_lua_new_type (a type that
 * hands out objects of another adds its constructor to it this way). */
void myl_lua_add_methods(lua_State *L, const char *tname, const luaL_Reg *methods);
/* Records the names of the functions of `l` found in the table at idx
 * (module functions: arguments are counted from the first). */
void myl_lua_name_functions(lua_State *L, int idx, const luaL_Reg *l);
/* Sets the functions of `l` in the table at idx and records their names, as
 * above (the module's groups of functions: clock, term, digest). */
void myl_lua_add_functions(lua_State *L, int idx, const luaL_Reg *l);
/* As luaL_argerror and luaL_typeerror, naming the running method or
 * function even when it was called through pcall ('query', not '?'). */
int myl_lua_argerror(lua_State *L, int arg, const char *extramsg);
int myl_lua_typeerror(lua_State *L, int arg, const char *tname);
/* As luaL_checkudata(L, 1, tname): "calling 'query' on bad self (...)". */
void *myl_lua_check_self(lua_State *L, const char *tname);
lua_Integer myl_lua_check_integer(lua_State *L, int arg);
const char *myl_lua_check_lstring(lua_State *L, int arg, size_t *len);
const char *myl_lua_opt_string(lua_State *L, int arg, const char *dflt);
void myl_lua_check_type(lua_State *L, int arg, int t);
void myl_lua_check_any(lua_State *L, int arg);
/* The first key of the options table at idx that is not one of `keys`
 * (NULL-terminated): the key, or the type name of a key that is no
 * string; NULL when every key is known.  Callers word the error. */
const char *myl_lua_unknown_key(lua_State *L, int idx, const char *const *keys);

/* errors.c */
void myl_lua_errors_init(lua_State *L);
/* 1 when the value at idx is an error object. */
int myl_lua_is_error(lua_State *L, int idx);
/* Pushes an error object {code, sqlstate, message}. */
void myl_lua_push_error(lua_State *L, int code, const char *sqlstate, const char *message);
/* Raises the error object for e.  Never returns. */
int myl_lua_raise(lua_State *L, const myl_error *e);
int myl_lua_raise_conn(lua_State *L, conn_ud *cu);

/* live.c: a connection joins the list of open ones once connected, and
 * leaves it before it is freed (live.h walks it). */
void myl_lua_live_add(conn_ud *cu);
void myl_lua_live_remove(conn_ud *cu);

/* connection.c */
void myl_lua_connection_init(lua_State *L);
int myl_lua_connect(lua_State *L);
conn_ud *myl_lua_check_conn(lua_State *L, int idx);
/* Ends a busy section of the connection, closing it if that was asked. */
void myl_lua_conn_unbusy(conn_ud *cu);
/* As myl_lua_check_conn, for a method about to send a command: with
 * reconnect = true, a connection found lost while idle (or left broken
 * by an earlier statement) is first opened again, or, when a transaction
 * was open, an error with transaction_lost = true is raised
 * (reconnect.c). */
conn_ud *myl_lua_conn_for_command(lua_State *L, int idx);
/* Opens the connection object at idx again with the options it was made
 * with (every host of its list, the same require), init_command run
 * again, the database it last selected selected; the object stays the
 * same.  Raises on failure, or when a stream is unfinished. */
void myl_lua_conn_reconnect(lua_State *L, int idx);
/* db:reconnect() */
int myl_lua_conn_reconnect_method(lua_State *L);

/* infile.c: makes the function at fn_idx the LOCAL INFILE source of the
 * connection object at conn_idx (its hooks in cu->infile, the function kept
 * as the object's user value). */
void myl_lua_infile_handler(lua_State *L, int conn_idx, int fn_idx);

/* sql.c: builds the statement text for sql + arguments from index `first`.
 * The escaping style is taken from the connection up front: building
 * allocates, a finalizer may then close the connection, so callers check
 * the connection again before they use it. */
void myl_lua_build_sql(lua_State *L, myl_escape_style style, int sql_idx, int first, int last);
/* Pushes the SQL literal for the value at idx. */
void myl_lua_push_literal(lua_State *L, myl_escape_style style, int idx);

/* digest.c: core.sha256(text), lowercase hex. */
void myl_lua_digest_register(lua_State *L, int idx);

/* script.c: core.sql_splitter(text), the script splitter execute_script
 * drives. */
void myl_lua_script_init(lua_State *L);
int myl_lua_sql_splitter(lua_State *L);

/* convert.c */
int myl_lua_row_mode(lua_State *L, int idx);
/* Pushes a names table (array of column name strings). */
void myl_lua_push_names(lua_State *L, const myl_columns *cols);
/* Pushes the columns metadata table. */
void myl_lua_push_columns(lua_State *L, const myl_columns *cols);
/* Decodes one text-protocol row.  ROW_KEYED/ROW_ARRAY push one table (or
 * refill the table at `target` when it is non-zero: fields it holds beyond
 * the row are the caller's to clear); ROW_VALUES pushes ncols values.
 * `checked`: walk the row with bounds checks (a row straight off the
 * wire); 0 for a row that was checked when it was stored.  Returns the
 * number of values pushed, or -1 for a malformed row (nothing pushed). */
int myl_lua_push_row(lua_State *L, const myl_columns *cols, const uint8_t *p, size_t n, int mode,
                     int names_idx, int target, int checked);
/* ROW_KEYED's names_idx is the stack index of the names table, or, negated,
 * that of the first of the names laid out one per stack slot (what
 * fetch_all does: a slot is cheaper to read than a table, row after row).
 * Pushes column i's name from there. */
static inline void myl_lua_push_name(lua_State *L, int names_idx, size_t i)
{
    if (names_idx > 0) lua_rawgeti(L, names_idx, (lua_Integer)i + 1);
    else lua_pushvalue(L, (int)i - names_idx);
}
/* The table a row goes into, on top of the stack (the refilled `target`
 * or a new one sized for the mode), its index returned; for ROW_VALUES
 * room for the values and 0. */
int myl_lua_row_target(lua_State *L, size_t ncols, int mode, int target);
/* convert_bin.c: the same for a binary-protocol row (cols->binary);
 * myl_lua_push_row hands such rows to it.  Every value comes out exactly
 * as the text protocol's row of the same data would (FLOAT with the
 * precision the server prints, temporal values as the server's text). */
int myl_lua_push_bin_row(lua_State *L, const myl_columns *cols, const uint8_t *p, size_t n,
                         int mode, int names_idx, int target, int checked);
/* Pushes the status fields into the table at idx. */
void myl_lua_set_status(lua_State *L, int idx, const myl_status *st);
void myl_lua_push_u64(lua_State *L, uint64_t v);

/* result.c */
void myl_lua_result_init(lua_State *L);
/* Pushes an empty (closed) result object and returns its slot; once the
 * slot holds a result (which the object then owns, with the results chained
 * after it), call myl_lua_result_ready on the object. */
myl_result **myl_lua_new_result(lua_State *L);
void myl_lua_result_ready(lua_State *L, int idx);
/* The same, giving the result the names table at names_idx (made for the
 * same columns) rather than making one; 0: make it.  And the result's
 * names table, pushed (nil when it has no result set). */
void myl_lua_result_ready_names(lua_State *L, int idx, int names_idx);
void myl_lua_result_push_names(lua_State *L, int idx);

/* statement.c: db:prepare, db:execute, the statement object, and the
 * typed values mylua.decimal/date/datetime/time/blob (typed.c).  Also adds
 * its methods to the connection's. */
void myl_lua_statement_init(lua_State *L);
/* The statement at idx, usable: raises for a closed one (or a closed or
 * busy connection); invalidated ones pass (the core then says 2056). */
stmt_ud *myl_lua_check_stmt(lua_State *L, int idx);
/* Ends a busy section of the statement, closing it if that was asked. */
void myl_lua_stmt_unbusy(stmt_ud *st);
/* Fills a block for n values from the arguments first..first+n-1: `small`
 * (room for MYL_LUA_STACK_PARAMS) when they fit, else one pushed on the
 * stack (freed by the GC); a value that cannot be bound raises naming its
 * argument.  The values must stay on the stack while used. */
#define MYL_LUA_STACK_PARAMS 16
myl_param *myl_lua_stmt_params(lua_State *L, int first, int n, myl_param *small);

/* typed.c */
void myl_lua_typed_init(lua_State *L);
/* Adds mylua.decimal, date, datetime, time, blob to the table at idx. */
void myl_lua_typed_register(lua_State *L, int idx);
/* Adds now, monotonic and sleep (clock.c), and printable, isatty, fsync,
 * ftruncate and host_log_level (term.c), to the module table at idx. */
void myl_lua_clock_register(lua_State *L, int idx);
void myl_lua_term_register(lua_State *L, int idx);
/* The typed value at idx, or NULL (balanced on the stack). */
const myl_typed *myl_lua_test_typed(lua_State *L, int idx);
/* Fills *p from the Lua value at idx: 0, or -1 for a type that cannot be
 * bound (a table, a function, ...; nothing raised).  Strings point into
 * the value, which must stay alive while *p is used. */
int myl_lua_to_param(lua_State *L, int idx, myl_param *p);

/* cursor.c */
/* Also adds db:cursor() to the connection's methods. */
void myl_lua_cursor_init(lua_State *L);
/* Pushes a cursor reading the statement at stmt_idx (st, of the connection
 * object at conn_idx): with fetch_size > 0 through a server cursor in
 * batches of that many rows, else streamed. */
void myl_lua_new_stmt_cursor(lua_State *L, int stmt_idx, int conn_idx, stmt_ud *st,
                             uint32_t fetch_size);

#endif
