/* The harness of the C test programs run by the specs (test-infile,
 * test-binrow, test-optfile): run(name, fn) prints "ok NAME", or "not ok
 * NAME: why" with what fail() said, and counts; main ends with
 * cases_summary().  helpers.c_cases turns each line into a test. */
#ifndef MYL_TEST_CASES_H
#define MYL_TEST_CASES_H

#include <stdarg.h>
#include <stdio.h>

static char why[1024];
static int ncases, nfailed;

/* Records why a case failed; returns 0 so a case can `return fail(...)`. */
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return 0;
}

static void run(const char *name, int (*fn)(void))
{
    why[0] = '\0';
    ncases++;
    if (fn()) {
        printf("ok %s\n", name);
    } else {
        nfailed++;
        printf("not ok %s: %s\n", name, why[0] ? why : "failed");
    }
    fflush(stdout);
}

/* The last line (on stderr) and the exit status: 0 only when all passed. */
static int cases_summary(void)
{
    fprintf(stderr, "%d cases, %d failed\n", ncases, nfailed);
    return nfailed ? 1 : 0;
}

#endif
