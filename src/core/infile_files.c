/* Placeholder until the file source lands: it refuses every file. */
#include "infile.h"

static int refuse(void *ud, const char *name, size_t len, void **src, myl_error *err)
{
    (void)ud, (void)name, (void)len, (void)src;
    myl_error_set(err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED, "file source not built yet");
    return -1;
}

static int no_data(void *ud, void *src, uint8_t *buf, size_t cap, size_t *n, myl_error *err)
{
    (void)ud, (void)src, (void)buf, (void)cap, (void)err;
    *n = 0;
    return 0;
}

static void nothing(void *ud, void *src) { (void)ud, (void)src; }

void myl_infile_files(myl_infile_hooks *h, const char *dir)
{
    h->open = refuse;
    h->read = no_data;
    h->close = nothing;
    h->ud = (void *)dir;
}
