/* Placeholder until the plugin lands: it refuses to log in. */
#include "auth.h"

static myl_auth_step not_built(myl_auth_ctx *ctx, int round, const uint8_t *data, size_t n,
                               myl_buf *out)
{
    (void)round, (void)data, (void)n, (void)out;
    myl_error_set(ctx->err, MYL_CR_AUTH_PLUGIN_CANNOT_LOAD, "plugin not built yet");
    return MYL_AUTH_FAILED;
}

const myl_auth_plugin myl_auth_clear_password = {"mysql_clear_password", not_built, NULL};

const myl_auth_plugin myl_auth_dialog = {"dialog", not_built, NULL};
