/* What the server-less framing and compression cases share
 * (test_framing.c, test_compress.c): a failing case records why and
 * returns 0, checks name the line, and each case prints "ok NAME" or
 * "not ok NAME: why".  The including file defines `fr`, the framer its
 * cases read with, before using EXPECT_ST. */
#ifndef MYL_FRAMER_CASES_H
#define MYL_FRAMER_CASES_H

#include <stdarg.h>
#include <stdio.h>

#include "../../src/core/packet.h"

static char why[1024];
static int ncases, nfailed;

/* Records why the current case failed; returns 0 so cases can
 * `return fail(...)`. */
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return 0;
}

static const char *status_name(myl_fr_status st)
{
    switch (st) {
    case MYL_FR_OK: return "ok";
    case MYL_FR_TIMEOUT: return "timeout";
    case MYL_FR_CLOSED: return "closed";
    case MYL_FR_IO_ERROR: return "io error";
    case MYL_FR_OUT_OF_ORDER: return "out of order";
    case MYL_FR_TOO_LARGE: return "too large";
    case MYL_FR_NOMEM: return "out of memory";
    case MYL_FR_NO_TRANSPORT: return "no transport";
    case MYL_FR_MALFORMED: return "malformed";
    }
    return "?";
}

/* Counts and prints the outcome of one case; `ok` is what it returned. */
static void report(const char *name, int ok)
{
    ok = ok && why[0] == '\0';
    ncases++;
    if (ok) {
        printf("ok %s\n", name);
    } else {
        nfailed++;
        printf("not ok %s: %s\n", name, why[0] ? why : "failed");
    }
    fflush(stdout);
}

#define EXPECT_ST(got, want)                                                               \
    do {                                                                                   \
        myl_fr_status got_ = (got);                                                        \
        if (got_ != (want))                                                                \
            return fail("line %d: status %s, expected %s (%s)", __LINE__, status_name(got_), \
                        status_name(want), myl_framer_errmsg(&fr));                        \
    } while (0)

#define EXPECT(cond)                                                                       \
    do {                                                                                   \
        if (!(cond)) return fail("line %d: %s", __LINE__, #cond);                          \
    } while (0)

#endif
