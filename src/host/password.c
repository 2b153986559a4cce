/* The password from the terminal (see password.h). */
#include "password.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

long host_read_password(const char *prompt, char *buf, size_t size, char *err, size_t errsz)
{
    int fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errsz, "the password was to be asked on the terminal, and there is none");
        return -1;
    }
    struct termios saved, quiet;
    int echo_off = tcgetattr(fd, &saved) == 0;
    if (echo_off) {
        quiet = saved;
        quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        echo_off = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    }
    write_all(fd, prompt, strlen(prompt));
    size_t n = 0;
    int done = 0, too_long = 0;
    while (!done) {
        char c;
        ssize_t k = read(fd, &c, 1);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        if (c == '\n' || c == '\r') done = 1;
        else if (n + 1 < size) buf[n++] = c;
        else too_long = 1;
    }
    buf[n] = '\0';
    if (echo_off) tcsetattr(fd, TCSAFLUSH, &saved);
    write_all(fd, "\n", 1);
    close(fd);
    if (!done || too_long) {
        volatile char *v = buf;
        for (size_t i = 0; i < size; i++) v[i] = 0;
        if (too_long) snprintf(err, errsz, "the password typed is longer than %zu bytes", size - 1);
        else snprintf(err, errsz, "no password was typed (end of input)");
        return -1;
    }
    return (long)n;
}
