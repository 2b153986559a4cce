#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void myl_error_set(myl_error *e, int code, const char *fmt, ...)
{
    va_list ap;
    e->code = code;
    e->statement = 0;
    memcpy(e->sqlstate, "HY000", 6);
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
}

void myl_error_set_server(myl_error *e, int code, const char *sqlstate,
                          const char *msg, size_t msglen)
{
    e->code = code;
    e->statement = 0;
    memcpy(e->sqlstate, sqlstate ? sqlstate : "HY000", 5);
    e->sqlstate[5] = '\0';
    if (msglen >= sizeof e->message) msglen = sizeof e->message - 1;
    memcpy(e->message, msg, msglen);
    e->message[msglen] = '\0';
}

void myl_error_clear(myl_error *e)
{
    e->code = 0;
    e->statement = 0;
    e->sqlstate[0] = '\0';
    e->message[0] = '\0';
    e->statement = 0;
}
