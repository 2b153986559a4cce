/* The login path file (~/.mylogin.cnf): decryption, and the reader with
 * MySQL's permission rule.  See mylogin.h for the format. */
#include "mylogin.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UNUSED_BYTES 4
#define FILE_KEY_BYTES 20
#define AES_KEY_BYTES 16
#define AES_BLOCK 16
#define LENGTH_BYTES 4

static int bad_file(myl_error *err, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* "login file 'NAME': " and what is wrong; returns -1. */
static int bad_file(myl_error *err, const char *name, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    myl_error_set(err, MYL_CR_UNKNOWN_ERROR, "login file '%s': %s", name, what);
    return -1;
}

/* The 20 bytes of the file folded into an AES-128 key, as MySQL's
 * my_aes_create_key does for a key longer than the cipher's. */
static void fold_key(const unsigned char *file_key, unsigned char key[AES_KEY_BYTES])
{
    memset(key, 0, AES_KEY_BYTES);
    for (size_t i = 0; i < FILE_KEY_BYTES; i++) key[i % AES_KEY_BYTES] ^= file_key[i];
}

/* Decrypts one chunk into out (room for len bytes); its plaintext length,
 * or -1 when it does not decrypt (the padding is wrong). */
static int decrypt_chunk(EVP_CIPHER_CTX *ctx, const unsigned char key[AES_KEY_BYTES],
                         const unsigned char *in, int len, unsigned char *out)
{
    int n = 0, tail = 0;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL) != 1) return -1;
    if (EVP_DecryptUpdate(ctx, out, &n, in, len) != 1) return -1;
    if (EVP_DecryptFinal_ex(ctx, out + n, &tail) != 1) return -1;
    return n + tail;
}

int myl_mylogin_parse(const unsigned char *data, size_t n, const char *name,
                      const myl_optfile_hooks *h, myl_error *err)
{
    if (n == 0) return 0; /* an empty file, as mysql_config_editor starts one: no options */
    if (n < MYL_MYLOGIN_HEADER)
        return bad_file(err, name, "cut short in its header (%zu of 24 bytes)", n);
    unsigned char key[AES_KEY_BYTES];
    fold_key(data + UNUSED_BYTES, key);
    /* The plaintext is shorter than the ciphertext (at least one byte of
     * padding goes; a newline may be added in its place); OpenSSL asks
     * for a block more than the input in the output of an update. */
    size_t cap = n - MYL_MYLOGIN_HEADER + AES_BLOCK, len = 0;
    unsigned char *text = malloc(cap);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int rc = 0;
    if (!text || !ctx) {
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "out of memory reading login file '%s'", name);
        rc = -1;
    }
    size_t pos = MYL_MYLOGIN_HEADER;
    while (rc == 0 && pos < n) {
        if (n - pos < LENGTH_BYTES) {
            rc = bad_file(err, name, "cut short in the length of the chunk at byte %zu", pos);
            break;
        }
        const unsigned char *p = data + pos;
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        if (u == 0 || u > MYL_MYLOGIN_MAX_CHUNK || u % AES_BLOCK != 0) {
            /* MySQL reads the length as signed: show it so */
            long long shown = u > INT32_MAX ? (long long)u - 4294967296LL : (long long)u;
            rc = bad_file(err, name,
                          "the chunk at byte %zu claims %lld bytes (not a multiple of 16 "
                          "from 16 to 4096): the file is damaged",
                          pos, shown);
            break;
        }
        int clen = (int)u;
        if (n - pos - LENGTH_BYTES < (size_t)clen) {
            rc = bad_file(err, name, "cut short in the chunk at byte %zu (it claims %lld bytes)",
                          pos, (long long)clen);
            break;
        }
        /* cap - len >= clen + 16: each chunk so far took more of n than of text */
        int got = decrypt_chunk(ctx, key, p + LENGTH_BYTES, clen, text + len);
        if (got < 0) {
            rc = bad_file(err, name,
                          "the chunk at byte %zu does not decrypt (another key, or damaged "
                          "bytes)",
                          pos);
            break;
        }
        len += (size_t)got;
        /* Each chunk is one line to MySQL: a chunk without its newline
         * must not run into the next one. */
        if (got > 0 && text[len - 1] != '\n') text[len++] = '\n';
        pos += LENGTH_BYTES + (size_t)clen;
    }
    if (rc == 0) {
        myl_optfile_hooks lines = {h->option, NULL, h->ud}; /* no includes in a login file */
        rc = myl_optfile_parse((const char *)text, len, name, 0, &lines, err);
    }
    EVP_CIPHER_CTX_free(ctx); /* it cleanses its key schedule */
    OPENSSL_cleanse(key, sizeof key);
    if (text) {
        OPENSSL_cleanse(text, cap);
        free(text);
    }
    return rc;
}

int myl_mylogin_read(const char *path, const myl_optfile_hooks *h, myl_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT) return MYL_MYLOGIN_MISSING;
        myl_error_set(err, MYL_CR_UNKNOWN_ERROR, "cannot read login file '%s': %s", path,
                      strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        myl_error_set(err, MYL_CR_UNKNOWN_ERROR, "cannot read login file '%s': %s", path,
                      strerror(errno));
        close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        myl_error_set(err, MYL_CR_UNKNOWN_ERROR, "login file '%s' is not a regular file", path);
        close(fd);
        return -1;
    }
    /* MySQL's rule (check_file_permissions): any access for group or
     * others and the file is skipped with a warning. */
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        myl_error_set(err, MYL_CR_UNKNOWN_ERROR,
                      "login file '%s' should be readable/writable only by its owner (mode "
                      "%03o); ignored",
                      path, (unsigned)(st.st_mode & 0777));
        close(fd);
        return MYL_MYLOGIN_REFUSED;
    }
    if ((size_t)st.st_size > MYL_MYLOGIN_MAX_BYTES) {
        myl_error_set(err, MYL_CR_UNKNOWN_ERROR,
                      "login file '%s' is larger than 1 MiB: not a login file", path);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size, got = 0;
    unsigned char *data = malloc(size ? size : 1);
    if (!data) {
        close(fd);
        myl_error_set(err, MYL_CR_OUT_OF_MEMORY, "out of memory reading login file '%s'", path);
        return -1;
    }
    int read_error = 0;
    while (got < size) {
        ssize_t k = read(fd, data + got, size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) read_error = errno;
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    int rc;
    if (read_error) {
        myl_error_set(err, MYL_CR_UNKNOWN_ERROR, "cannot read login file '%s': %s", path,
                      strerror(read_error));
        rc = -1;
    } else {
        /* a file that shrank meanwhile is read as it is now: cut short */
        rc = myl_mylogin_parse(data, got, path, h, err) ? -1 : MYL_MYLOGIN_READ;
    }
    OPENSSL_cleanse(data, size ? size : 1);
    free(data);
    return rc;
}

const char *myl_mylogin_default_path(char *buf, size_t size)
{
    const char *test = getenv("MYSQL_TEST_LOGIN_FILE");
    if (test && *test) {
        if (strlen(test) >= size) return NULL;
        strcpy(buf, test);
        return buf;
    }
    const char *home = getenv("HOME");
    char scratch[1024];
    struct passwd pw, *found = NULL;
    if ((!home || !*home) && getpwuid_r(geteuid(), &pw, scratch, sizeof scratch, &found) == 0 &&
        found)
        home = found->pw_dir;
    if (!home || !*home) return NULL;
    int w = snprintf(buf, size, "%s/.mylogin.cnf", home);
    return w > 0 && (size_t)w < size ? buf : NULL;
}
