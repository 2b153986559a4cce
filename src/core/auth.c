/* The plugin table: every authentication method the client speaks. */
#include "auth.h"

#include <string.h>

static const myl_auth_plugin *const plugins[] = {
    &myl_auth_native_password,
};

const myl_auth_plugin *myl_auth_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof plugins / sizeof plugins[0]; i++) {
        const char *n = plugins[i]->name;
        if (strlen(n) == len && memcmp(n, name, len) == 0) return plugins[i];
    }
    return NULL;
}
