/* Settings from option files (see settings.h). */
#include <stdio.h>
#include <string.h>

#include "defaults.h"
#include "optfile.h"
#include "settings.h"

static int from_file(void *ud, const char *key, const char *value, const char *file,
                     unsigned line, int own, myl_error *err)
{
    myl_settings *s = ud;
    char name[64];
    int loose, negated;
    size_t len = myl_optfile_key(key, name, sizeof name, &loose);
    const myl_clientopt *c = len ? myl_settings_lookup(name, len, &negated) : NULL;
    if (!c) {
        if (!own || loose) return 0;
        const char *near = len ? myl_clientopt_suggest(name, len) : NULL;
        myl_error_set(err, 2000, "%s:%u: unknown option '%.64s'%s%s%s", file, line, key,
                      near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
        return -1;
    }
    char shown[72];
    snprintf(shown, sizeof shown, "--%s", name);
    if (myl_settings_set(s, c, negated, value, shown, err) == 0) return 0;
    char why[sizeof err->message];
    memcpy(why, err->message, sizeof why);
    myl_error_set(err, 2000, "%s:%u: %s", file, line, why);
    return -1;
}

int myl_settings_read_files(myl_settings *s, struct myl_defaults *d, myl_error *err)
{
    d->option = from_file;
    d->ud = s;
    if (myl_defaults_read(d, err) < 0) return -1;
    return myl_settings_finish(s, err);
}
