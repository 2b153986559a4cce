/* Lua modules compiled into the host program (see scripts/embed-lua). */
#ifndef MYL_EMBEDDED_H
#define MYL_EMBEDDED_H

#include <stddef.h>

typedef struct myl_embedded_module {
    const char *name;   /* module name for require, e.g. "mylua.safe" */
    const char *source;
    size_t size;
} myl_embedded_module;

extern const myl_embedded_module myl_embedded_modules[];

#endif
