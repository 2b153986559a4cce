/* core.sha256(text): the SHA-256 of a string as lowercase hex, from
 * OpenSSL, which the core links already (the migrations' checksums). */
#include <openssl/evp.h>

#include "binding.h"

static int sha256_hex(lua_State *L)
{
    size_t n;
    const char *s = myl_lua_check_lstring(L, 1, &n);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!EVP_Digest(s, n, md, &len, EVP_sha256(), NULL)) return luaL_error(L, "sha256: OpenSSL failed");
    static const char digits[] = "0123456789abcdef";
    char hex[2 * EVP_MAX_MD_SIZE];
    for (unsigned int i = 0; i < len; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    lua_pushlstring(L, hex, 2 * (size_t)len);
    return 1;
}

void myl_lua_digest_register(lua_State *L, int idx)
{
    static const luaL_Reg functions[] = {{"sha256", sha256_hex}, {NULL, NULL}};
    myl_lua_add_functions(L, idx, functions);
}
