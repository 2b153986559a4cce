/* The built-in LOCAL INFILE source: regular files, read as they are.
 *
 * Without a directory, the file the statement names (relative names are
 * relative to the working directory).  With one, only files beneath it:
 * the name is resolved by the kernel with openat2(2) and RESOLVE_BENEATH on
 * a descriptor of the directory, so ".." and symbolic links are followed
 * but can never lead out of it, and a link swapped in between a check and
 * the open cannot either (there is no separate check).  An absolute name
 * must lie under the directory as given or as its real path; the rest of
 * it is resolved beneath the directory the same way.  Kernels before 5.6
 * have no openat2 (ENOSYS): then the name is walked one component at a
 * time with O_NOFOLLOW, refusing every symbolic link and every "..", which
 * is as safe but stricter.
 *
 * Whatever the name, only a regular file is served: it is opened with
 * O_NONBLOCK (a FIFO without a writer must not hang the client, a device
 * must not be touched beyond its open) and O_NOCTTY, checked with fstat,
 * and only then switched back to blocking reads. */
#define _GNU_SOURCE /* syscall(2) */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/openat2.h>
#endif

#include "infile.h"

#define OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)

typedef struct file_src {
    int fd;
    char name[]; /* for messages */
} file_src;

/* The name as a C string; NULL when it holds a NUL byte or memory ran out
 * (err set). */
static char *c_name(const char *name, size_t len, myl_error *err)
{
    if (memchr(name, 0, len)) {
        myl_error_set(err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                      "LOAD DATA LOCAL INFILE: a file name holding a NUL byte is refused");
        return NULL;
    }
    char *s = malloc(len + 1);
    if (!s) {
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        return NULL;
    }
    memcpy(s, name, len);
    s[len] = '\0';
    return s;
}

static void cannot_open(myl_error *err, const char *name, int e)
{
    myl_error_set(err, MYL_CR_FILE_NOT_FOUND, "LOAD DATA LOCAL INFILE: cannot open '%.300s': %s",
                  name, strerror(e));
}

static void not_beneath(myl_error *err, const char *name, const char *dir)
{
    myl_error_set(err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                  "LOAD DATA LOCAL INFILE: '%.200s' is not under local_infile_dir '%.200s'", name,
                  dir);
}

/* openat2 with RESOLVE_BENEATH: the descriptor, or -1 with errno (ENOSYS
 * when the kernel or the headers do not have it). */
static int open_beneath(int dirfd, const char *rel)
{
#if defined(__linux__) && defined(SYS_openat2) && defined(RESOLVE_BENEATH)
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = OPEN_FLAGS;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd;
    do {
        fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
    } while (fd < 0 && errno == EAGAIN); /* a rename raced the lookup: retry */
    return (int)fd;
#else
    (void)dirfd, (void)rel;
    errno = ENOSYS;
    return -1;
#endif
}

/* Without openat2: one component at a time, never following a symbolic
 * link (O_NOFOLLOW makes opening one fail with ELOOP) and never going up.
 * EXDEV for either, as openat2 says for an escape. */
static int open_walking(int dirfd, const char *rel)
{
    char *copy = strdup(rel);
    if (!copy) return -1;
    int cur = dup(dirfd), fd = -1;
    char *save = NULL;
    char *part = strtok_r(copy, "/", &save);
    if (!part) errno = ENOENT; /* nothing left of the name: the directory itself */
    while (cur >= 0 && part) {
        char *next = strtok_r(NULL, "/", &save);
        if (strcmp(part, "..") == 0) {
            errno = EXDEV;
            break;
        }
        int flags = next ? O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC : OPEN_FLAGS | O_NOFOLLOW;
        int nfd = openat(cur, part, flags);
        if (nfd < 0) {
            if (errno == ELOOP) errno = EXDEV; /* a symbolic link: refused */
            break;
        }
        close(cur);
        cur = nfd;
        if (!next) {
            fd = cur;
            cur = -1;
        }
        part = next;
    }
    int e = errno;
    if (cur >= 0) close(cur);
    free(copy);
    errno = e;
    return fd;
}

/* The part of an absolute `name` under `base` (without the slashes that
 * separate them), or NULL when it is not under it. */
static const char *under(const char *name, const char *base)
{
    size_t n = strlen(base);
    while (n > 1 && base[n - 1] == '/') n--;
    if (n == 1 && base[0] == '/') n = 0; /* the root: every absolute name */
    if (strncmp(name, base, n) != 0 || name[n] != '/') return NULL;
    name += n;
    while (*name == '/') name++;
    return name;
}

/* Opens `name` beneath `dir`: a descriptor, or -1 with err set. */
static int open_in_dir(const char *dir, const char *name, myl_error *err)
{
    const char *rel = name;
    if (name[0] == '/') {
        char *real = realpath(dir, NULL);
        rel = under(name, dir);
        if (!rel && real) rel = under(name, real);
        free(real);
        if (!rel) {
            not_beneath(err, name, dir);
            return -1;
        }
    }
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        myl_error_set(err, MYL_CR_FILE_NOT_FOUND,
                      "LOAD DATA LOCAL INFILE: cannot open '%.200s': local_infile_dir '%.200s': %s",
                      name, dir, strerror(errno));
        return -1;
    }
    int fd = *rel ? open_beneath(dirfd, rel) : (errno = EISDIR, -1);
    if (fd < 0 && errno == ENOSYS) fd = open_walking(dirfd, rel);
    int e = errno;
    close(dirfd);
    if (fd >= 0) return fd;
    if (e == EXDEV) not_beneath(err, name, dir);
    else cannot_open(err, name, e);
    return -1;
}

static int files_open(void *ud, const char *name, size_t len, void **src, myl_error *err)
{
    const char *dir = ud;
    char *path = c_name(name, len, err);
    if (!path) return -1;
    int fd;
    if (dir) {
        fd = open_in_dir(dir, path, err);
    } else {
        fd = open(path, OPEN_FLAGS);
        if (fd < 0) cannot_open(err, path, errno);
    }
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) != 0) {
        cannot_open(err, path, errno);
        close(fd);
        fd = -1;
    } else if (fd >= 0 && !S_ISREG(st.st_mode)) {
        myl_error_set(err, MYL_CR_LOAD_DATA_LOCAL_INFILE_REJECTED,
                      "LOAD DATA LOCAL INFILE: '%.300s' is not a regular file (%s)", path,
                      S_ISDIR(st.st_mode) ? "a directory"
                      : S_ISFIFO(st.st_mode) ? "a FIFO"
                      : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                      : S_ISSOCK(st.st_mode) ? "a socket" : "not a file");
        close(fd);
        fd = -1;
    }
    if (fd >= 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
            cannot_open(err, path, errno);
            close(fd);
            fd = -1;
        }
    }
    file_src *f = fd >= 0 ? malloc(sizeof *f + len + 1) : NULL;
    if (fd >= 0 && !f) {
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "Client run out of memory");
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        free(path);
        return -1;
    }
    f->fd = fd;
    memcpy(f->name, path, len + 1);
    free(path);
    *src = f;
    return 0;
}

static int files_read(void *ud, void *src, uint8_t *buf, size_t cap, size_t *n, myl_error *err)
{
    (void)ud;
    file_src *f = src;
    if (cap > SSIZE_MAX) cap = SSIZE_MAX;
    ssize_t got;
    do {
        got = read(f->fd, buf, cap);
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
        myl_error_set(err, MYL_CR_FILE_READ, "LOAD DATA LOCAL INFILE: error reading '%.300s': %s",
                      f->name, strerror(errno));
        return -1;
    }
    *n = (size_t)got;
    return 0;
}

static void files_close(void *ud, void *src)
{
    (void)ud;
    file_src *f = src;
    close(f->fd);
    free(f);
}

void myl_infile_files(myl_infile_hooks *h, const char *dir)
{
    h->open = files_open;
    h->read = files_read;
    h->close = files_close;
    h->ud = (void *)dir;
}
