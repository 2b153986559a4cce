/* Typed values: mylua.decimal(s), date(s), datetime(s), time(s), blob(s).
 * A statement sends a plain Lua string as text; these say what the text
 * is, so it goes with the exact type (NEWDECIMAL, DATE, DATETIME, TIME,
 * BLOB).  Temporal text is parsed when the value is made, so a bad one
 * raises there, not at some later execute.  db:query and db:quote take
 * them too, as SQL literals (sql.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "binding.h"

typedef struct kind_info {
    const char *name; /* the constructor's name, and the value's .type */
    myl_param_kind kind;
    myl_bin_kind temporal; /* 0: not temporal */
} kind_info;

static const kind_info kinds[] = {
    {"decimal", MYL_PARAM_DECIMAL, 0},
    {"date", MYL_PARAM_DATE, MYL_BIN_DATE},
    {"datetime", MYL_PARAM_DATETIME, MYL_BIN_DATETIME},
    {"time", MYL_PARAM_TIME, MYL_BIN_TIME},
    {"blob", MYL_PARAM_BLOB, 0},
};
enum { NKINDS = sizeof kinds / sizeof kinds[0] };

static const kind_info *info_of(myl_param_kind k)
{
    for (int i = 0; i < NKINDS; i++)
        if (kinds[i].kind == k) return &kinds[i];
    return &kinds[0];
}

/* [+-]digits[.digits] or [+-].digits, with an optional exponent: what the
 * server reads as an exact decimal.  Anything else would be read as 0 with
 * a warning, or as an error far from where the value was made. */
static int is_decimal(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.') {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    if (!digits) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) i++;
        size_t exp = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, exp++;
        if (!exp) return 0;
    }
    return i == n;
}

/* Raises naming the value: at most 64 bytes of it, quoted, control bytes,
 * quotes and backslashes escaped. */
static int bad_value(lua_State *L, const char *what, const char *s, size_t n)
{
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (size_t i = 0; i < n && i < 64; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7F || ch == '"' || ch == '\\') {
            char esc[8];
            if (ch == '"' || ch == '\\') snprintf(esc, sizeof esc, "\\%c", ch);
            else snprintf(esc, sizeof esc, "\\%03u", (unsigned)ch);
            luaL_addstring(&b, esc);
        } else {
            luaL_addchar(&b, (char)ch);
        }
    }
    if (n > 64) luaL_addstring(&b, "...");
    luaL_pushresult(&b);
    return luaL_error(L, "bad argument #1 to '%s' (not a %s value: \"%s\")", what, what,
                      lua_tostring(L, -1));
}

/* The parser checks each field's range; a day the month does not have
 * (February 30) is caught here.  Zero parts stay allowed: whether the
 * server takes them is its sql_mode's business. */
static int day_exists(const myl_datetime *t)
{
    static const unsigned days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (t->month == 0 || t->day == 0 || t->month > 12) return 1;
    if (t->day > days[t->month - 1]) return 0;
    if (t->month == 2 && t->day == 29) {
        unsigned y = t->year;
        return y == 0 || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
    }
    return 1;
}

/* The constructor of kinds[upvalue 1]. */
static int make_typed(lua_State *L)
{
    const kind_info *ki = &kinds[lua_tointeger(L, lua_upvalueindex(1))];
    size_t n;
    const char *s;
    if (ki->kind == MYL_PARAM_DECIMAL && lua_type(L, 1) == LUA_TNUMBER && lua_isinteger(L, 1)) {
        s = lua_tolstring(L, 1, &n); /* an integer is an exact decimal */
    } else {
        if (lua_type(L, 1) != LUA_TSTRING) myl_lua_typeerror(L, 1, "string");
        s = lua_tolstring(L, 1, &n);
    }
    lua_settop(L, 1);
    myl_datetime t;
    memset(&t, 0, sizeof t);
    if (ki->temporal && (myl_parse_datetime(s, n, ki->temporal, &t) < 0 ||
                         (ki->temporal != MYL_BIN_TIME && !day_exists(&t))))
        return bad_value(L, ki->name, s, n);
    if (ki->kind == MYL_PARAM_DECIMAL && !is_decimal(s, n)) return bad_value(L, ki->name, s, n);
    myl_typed *tv = lua_newuserdatauv(L, sizeof *tv, 1);
    tv->kind = ki->kind;
    tv->s = s;
    tv->len = n;
    tv->t = t;
    lua_pushvalue(L, 1); /* keeps s alive: strings never move */
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, MYL_TYPED_MT);
    return 1;
}

const myl_typed *myl_lua_test_typed(lua_State *L, int idx)
{
    return luaL_testudata(L, idx, MYL_TYPED_MT);
}

static int typed_tostring(lua_State *L)
{
    const myl_typed *tv = luaL_checkudata(L, 1, MYL_TYPED_MT);
    lua_getiuservalue(L, 1, 1);
    (void)tv;
    return 1;
}

static int typed_eq(lua_State *L)
{
    const myl_typed *a = myl_lua_test_typed(L, 1), *b = myl_lua_test_typed(L, 2);
    lua_pushboolean(L, a && b && a->kind == b->kind && a->len == b->len &&
                           memcmp(a->s, b->s, a->len) == 0);
    return 1;
}

static int typed_len(lua_State *L)
{
    const myl_typed *tv = luaL_checkudata(L, 1, MYL_TYPED_MT);
    lua_pushinteger(L, (lua_Integer)tv->len);
    return 1;
}

/* v.value: the text (or bytes); v.type: "decimal", "date", ... */
static int typed_index(lua_State *L)
{
    const myl_typed *tv = luaL_checkudata(L, 1, MYL_TYPED_MT);
    const char *k = lua_tostring(L, 2);
    if (k && strcmp(k, "value") == 0) lua_getiuservalue(L, 1, 1);
    else if (k && strcmp(k, "type") == 0) lua_pushstring(L, info_of(tv->kind)->name);
    else lua_pushnil(L);
    return 1;
}

static const luaL_Reg typed_metamethods[] = {
    {"__tostring", typed_tostring},
    {"__eq", typed_eq},
    {"__len", typed_len},
    {"__index", typed_index},
    {NULL, NULL},
};

void myl_lua_typed_init(lua_State *L)
{
    myl_lua_new_type(L, MYL_TYPED_MT, NULL, typed_metamethods, NULL);
    lua_pop(L, 1);
}

void myl_lua_typed_register(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    for (int i = 0; i < NKINDS; i++) {
        lua_pushinteger(L, i);
        lua_pushcclosure(L, make_typed, 1);
        lua_setfield(L, idx, kinds[i].name);
    }
    /* names for argument errors (each closure is its own function) */
    luaL_Reg names[NKINDS + 1];
    for (int i = 0; i < NKINDS; i++) names[i] = (luaL_Reg){kinds[i].name, make_typed};
    names[NKINDS] = (luaL_Reg){NULL, NULL};
    myl_lua_name_functions(L, idx, names);
}

int myl_lua_to_param(lua_State *L, int idx, myl_param *p)
{
    /* Only the fields the kind uses are set: this runs for every value of
     * execute_many. */
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        p->kind = MYL_PARAM_NULL;
        return 0;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != NULL) return -1;
        p->kind = MYL_PARAM_NULL; /* mylua.null */
        return 0;
    case LUA_TBOOLEAN:
        p->kind = MYL_PARAM_BOOL;
        p->i = lua_toboolean(L, idx);
        return 0;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            p->kind = MYL_PARAM_INT;
            p->i = (int64_t)lua_tointeger(L, idx);
        } else {
            p->kind = MYL_PARAM_DOUBLE;
            p->d = (double)lua_tonumber(L, idx);
            if (!isfinite(p->d)) return -1;
        }
        return 0;
    case LUA_TSTRING:
        p->kind = MYL_PARAM_STRING;
        p->s = lua_tolstring(L, idx, &p->len);
        return 0;
    case LUA_TUSERDATA: {
        const myl_typed *tv = myl_lua_test_typed(L, idx);
        if (!tv) return -1;
        p->kind = tv->kind;
        p->s = tv->s;
        p->len = tv->len;
        p->t = tv->t;
        return 0;
    }
    default:
        return -1;
    }
}
