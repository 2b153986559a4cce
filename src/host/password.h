/* -p: the password asked for on the terminal, as the mariadb client asks
 * ("Enter password: ", no echo), on /dev/tty only: standard input belongs
 * to the script. */
#ifndef MYL_HOST_PASSWORD_H
#define MYL_HOST_PASSWORD_H

#include <stddef.h>

/* Reads one line into buf (size bytes, NUL-terminated, without its line
 * end).  Returns its length, or -1 with err (no terminal, a line too
 * long, end of input). */
long host_read_password(const char *prompt, char *buf, size_t size, char *err, size_t errsz);

#endif
