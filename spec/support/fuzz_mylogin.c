/* libFuzzer target for the login path file, myl_mylogin_parse
 * (src/core/mylogin.c).  `make fuzz` builds and runs it.
 *
 * Input: a first byte choosing how the rest is used, then
 *   even: the bytes of a file as they are (header, lengths, chunks), so
 *         every length and bound is reached;
 *   odd:  plaintext, cut into chunks at each newline (or every 200 bytes)
 *         and encrypted here under a fixed key into a well-formed file, so
 *         the decrypted lines reach the option-file parser; a first byte
 *         with bit 1 set also flips one ciphertext byte chosen by the
 *         second byte (a damaged chunk among good ones).
 * Each file is copied into an exact-size heap buffer.  Checked, with
 * abort() on a violation:
 *   - every option has a non-empty key and a group, no longer than a line;
 *   - there are never more options than lines of plaintext;
 *   - an error names the file ("login file 'f.mylogin'" or "f.mylogin:");
 *   - a well-formed file with no flipped byte never fails to decrypt.
 *
 * With FUZZ_WRITE_SEEDS=DIR in the environment it writes its seed inputs
 * into DIR and exits. */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/mylogin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void violated(const char *what)
{
    fprintf(stderr, "fuzz_mylogin: property violated: %s\n", what);
    abort();
}

typedef struct counts {
    size_t items, lines;
} counts;

static int on_option(void *ud, const char *group, const char *key, const char *value,
                     const char *file, unsigned line)
{
    counts *c = ud;
    c->items++;
    size_t kl = strlen(key), gl = strlen(group);
    if (kl == 0) violated("an empty key");
    if (kl > MYL_OPTFILE_MAX_LINE || gl > MYL_OPTFILE_MAX_LINE) violated("a key or group longer than a line");
    if (value && strlen(value) > MYL_OPTFILE_MAX_LINE) violated("a value longer than a line");
    if (strcmp(file, "f.mylogin") != 0 || line == 0) violated("a wrong place");
    return 0;
}

static const unsigned char fixed_key[20] = {7, 1, 30, 12, 4, 19, 25, 0, 9, 16,
                                            2, 28, 13, 21, 6, 11, 31, 3, 18, 22};

/* The file for plaintext p[0..n): one chunk per line.  Returns its size. */
static size_t build(const uint8_t *p, size_t n, uint8_t *out, size_t cap, size_t *lines)
{
    unsigned char k16[16] = {0};
    for (int i = 0; i < 20; i++) k16[i % 16] ^= fixed_key[i];
    memset(out, 0, 4);
    memcpy(out + 4, fixed_key, 20);
    size_t w = 24;
    *lines = 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) abort();
    size_t i = 0;
    while (i < n) {
        size_t len = 0;
        while (i + len < n && len < 200 && p[i + len] != '\n') len++;
        if (i + len < n && p[i + len] == '\n') len++;
        int a = 0, b = 0;
        if (w + 4 + len + 16 > cap) break;
        if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k16, NULL) != 1 ||
            EVP_EncryptUpdate(ctx, out + w + 4, &a, p + i, (int)len) != 1 ||
            EVP_EncryptFinal_ex(ctx, out + w + 4 + a, &b) != 1)
            abort();
        unsigned clen = (unsigned)(a + b);
        out[w] = (uint8_t)clen;
        out[w + 1] = (uint8_t)(clen >> 8);
        out[w + 2] = (uint8_t)(clen >> 16);
        out[w + 3] = (uint8_t)(clen >> 24);
        w += 4 + clen;
        i += len;
        for (size_t j = 0; j < len; j++) *lines += p[i - len + j] == '\n';
        (*lines)++; /* a chunk without a newline is a line too */
    }
    EVP_CIPHER_CTX_free(ctx);
    return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    uint8_t mode = data[0];
    data++, size--;
    static uint8_t file[1 << 16];
    size_t n, lines;
    int flipped = 0;
    if (mode & 1) {
        if (size > 16384) size = 16384;
        size_t skip = (mode & 2) && size ? 1 : 0;
        n = build(data + skip, size - skip, file, sizeof file, &lines);
        if (skip && n > 24) {
            file[24 + data[0] % (n - 24)] ^= 0x5A;
            flipped = 1;
        }
    } else {
        if (size > sizeof file) size = sizeof file;
        memcpy(file, data, size);
        n = size;
        lines = size + 1; /* at most one line per byte */
    }
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) return 0;
    memcpy(copy, file, n);
    counts c = {0, lines};
    myl_optfile_hooks h = {on_option, NULL, &c};
    myl_error err;
    myl_error_clear(&err);
    int rc = myl_mylogin_parse(copy, n, "f.mylogin", &h, &err);
    free(copy);
    if (rc && strncmp(err.message, "login file 'f.mylogin'", 22) != 0 &&
        strncmp(err.message, "f.mylogin:", 10) != 0)
        violated("an error not naming the file");
    if ((mode & 1) && !flipped && rc && strstr(err.message, "login file 'f.mylogin'"))
        violated("a well-formed file refused");
    if (c.items > c.lines) violated("more options than lines");
    return 0;
}

static void write_seed(const char *dir, const char *name, const void *bytes, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(bytes, 1, n, f);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    if (!dir || !*dir) return 0;
    static const char plain[] = "\x01[client]\nuser = \"bob\"\npassword = \"p#w \\\" x\"\n"
                                "[backup]\nhost=db\nport=3307\n!include /x\n";
    write_seed(dir, "plain", plain, sizeof plain - 1);
    static const char damaged[] = "\x03\x07[client]\nuser=a\nhost=b\n";
    write_seed(dir, "damaged", damaged, sizeof damaged - 1);
    static uint8_t raw[1 + 4096];
    size_t lines;
    raw[0] = 0;
    size_t n = build((const uint8_t *)plain + 1, sizeof plain - 2, raw + 1, sizeof raw - 1, &lines);
    write_seed(dir, "raw", raw, n + 1);
    static const uint8_t lengths[] = {0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                      14, 15, 16, 17, 18, 19, 20, 0x10, 0, 0, 0, 1, 2, 3};
    write_seed(dir, "short-chunk", lengths, sizeof lengths);
    exit(0);
}
