/* Settings as connect's options (see settings_push.h). */
#include "settings_push.h"

void myl_lua_push_settings(lua_State *L, const myl_settings *s)
{
    lua_createtable(L, 0, (int)s->n);
    for (size_t k = 0; k < s->n; k++) {
        const myl_setting *v = &s->v[k];
        if (!v->opt) continue;
        switch (v->opt->kind) {
        case MYL_OPT_BOOL:
        case MYL_OPT_FRONTEND: /* local_infile: files and the command line give true or false */
            lua_pushboolean(L, v->flag);
            break;
        case MYL_OPT_SECONDS:
        case MYL_OPT_PORT:
        case MYL_OPT_INT:
        case MYL_OPT_BYTES:
            lua_pushinteger(L, (lua_Integer)v->number);
            break;
        default:
            lua_pushstring(L, v->text);
            break;
        }
        lua_setfield(L, -2, v->opt->name);
    }
}
