/* local_infile = function(name) ... end (placeholder until it lands). */
#include "binding.h"

void myl_lua_infile_handler(lua_State *L, int conn_idx, int fn_idx)
{
    (void)conn_idx, (void)fn_idx;
    luaL_error(L, "option 'local_infile': handler functions are not supported yet");
}
