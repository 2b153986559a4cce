/* st:execute_many (statement_many.c), a method of the statement object
 * (statement.c). */
#ifndef MYL_LUA_STATEMENT_MANY_H
#define MYL_LUA_STATEMENT_MANY_H

#include <lua.h>

int myl_lua_stmt_execute_many(lua_State *L);

#endif
