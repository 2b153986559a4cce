/* The plugin table: every authentication method the client speaks. */
#include "auth.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static const myl_auth_plugin *const plugins[] = {
    &myl_auth_native_password, &myl_auth_caching_sha2_password, &myl_auth_sha256_password,
    &myl_auth_client_ed25519,  &myl_auth_parsec,                &myl_auth_clear_password,
    &myl_auth_dialog,
};

const myl_auth_plugin *myl_auth_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof plugins / sizeof plugins[0]; i++) {
        const char *n = plugins[i]->name;
        if (strlen(n) == len && memcmp(n, name, len) == 0) return plugins[i];
    }
    return NULL;
}

const char *myl_auth_list_next(const char *p, const char **name, size_t *len)
{
    while (*p == ' ' || *p == ',') p++;
    if (!*p) return NULL;
    const char *end = p;
    while (*end && *end != ',') end++;
    const char *last = end;
    while (last > p && last[-1] == ' ') last--;
    *name = p;
    *len = (size_t)(last - p);
    return end;
}

int myl_auth_allowed(const char *allowed, const char *name, size_t len)
{
    if (!allowed) return 1;
    const char *entry;
    size_t n;
    for (const char *p = allowed; (p = myl_auth_list_next(p, &entry, &n));)
        if (n == len && len > 0 && memcmp(entry, name, len) == 0) return 1;
    return 0;
}

void myl_buf_wipe(myl_buf *b)
{
    if (b->data) OPENSSL_cleanse(b->data, b->cap);
    myl_buf_free(b);
}
