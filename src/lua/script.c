/* The script splitter (src/core/sqlsplit.h) for Lua:
 *
 *   local s = core.sql_splitter(text)
 *   s:next([db]) -> first, last, line, unterminated, done
 *                   text:sub(first, last) is the statement, done the bytes
 *                   of text read so far (its delimiter included)
 *                -> nil                               at the end
 *                -> false, "line N: why"              a client command that
 *                                                     cannot run, a bad DELIMITER
 *   s:strip_comments(sql [, db]) -> sql without its comments, as the
 *                   client sends it by default (src/core/sqlstrip.h)
 *
 * db:execute_script (lua/mylua/script.lua) drives it one statement at a
 * time and passes the connection each time, so the statement after a SET
 * sql_mode is read with the backslash rule the server now applies (as the
 * mariadb client rereads the server's NO_BACKSLASH_ESCAPES flag), and
 * two-byte characters by the connection's charset.  The text is the
 * object's user value, so the splitter's pointer into it stays valid. */
#include "binding.h"
#include "../core/sqllex.h"
#include "../core/sqlsplit.h"
#include "../core/sqlstrip.h"

#define SPLITTER_MT "mylua.sql_splitter"

static int splitter_next(lua_State *L)
{
    myl_sqlsplit *s = myl_lua_check_self(L, SPLITTER_MT);
    if (!lua_isnoneornil(L, 2)) {
        conn_ud *cu = myl_lua_check_conn(L, 2);
        myl_escape_style st = myl_conn_escape_style(cu->c);
        if (st.no_backslash) s->lex_flags |= MYL_SQLLEX_NO_BACKSLASH;
        else s->lex_flags &= ~MYL_SQLLEX_NO_BACKSLASH;
        s->mb = st.charset->mb;
    }
    myl_sql_statement stmt;
    int r = myl_sqlsplit_next(s, &stmt);
    if (r == 0) {
        lua_pushnil(L);
        return 1;
    }
    if (r < 0) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, s->error);
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)stmt.start + 1);
    lua_pushinteger(L, (lua_Integer)(stmt.start + stmt.len));
    lua_pushinteger(L, (lua_Integer)stmt.line);
    lua_pushboolean(L, stmt.unterminated);
    lua_pushinteger(L, (lua_Integer)s->pos);
    return 5;
}

static int splitter_strip_comments(lua_State *L)
{
    myl_sqlsplit *s = myl_lua_check_self(L, SPLITTER_MT);
    size_t n;
    const char *sql = myl_lua_check_lstring(L, 2, &n);
    unsigned flags = s->lex_flags & MYL_SQLLEX_NO_BACKSLASH;
    myl_mb_kind mb = s->mb;
    if (!lua_isnoneornil(L, 3)) {
        conn_ud *cu = myl_lua_check_conn(L, 3);
        myl_escape_style st = myl_conn_escape_style(cu->c);
        flags = st.no_backslash ? MYL_SQLLEX_NO_BACKSLASH : 0;
        mb = st.charset->mb;
    }
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, n ? n : 1);
    luaL_pushresultsize(&b, myl_sql_strip_comments(sql, n, flags, mb, out));
    return 1;
}

static int splitter_tostring(lua_State *L)
{
    lua_pushfstring(L, "sql_splitter: %p", lua_touserdata(L, 1));
    return 1;
}

int myl_lua_sql_splitter(lua_State *L)
{
    size_t n;
    const char *text = myl_lua_check_lstring(L, 1, &n);
    myl_sqlsplit *s = lua_newuserdatauv(L, sizeof *s, 1);
    myl_sqlsplit_init(s, text, n, 0);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, SPLITTER_MT);
    return 1;
}

void myl_lua_script_init(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"next", splitter_next}, {"strip_comments", splitter_strip_comments}, {NULL, NULL}};
    static const luaL_Reg metamethods[] = {{"__tostring", splitter_tostring}, {NULL, NULL}};
    myl_lua_new_type(L, SPLITTER_MT, methods, metamethods, NULL);
    lua_pop(L, 1);
}
