/* libFuzzer target for the option-file parser, myl_optfile_parse
 * (src/core/optfile.c).  `make fuzz` builds and runs it.
 *
 * Input: the text of one file, copied into an exact-size heap buffer.
 * Checked, with abort() on a violation:
 *   - every option has a non-empty key and a group it came under, both
 *     NUL-terminated strings no longer than the line they came from;
 *   - a value is never longer than its line, and holds no newline that
 *     was not written as \n;
 *   - there are never more options and includes than lines;
 *   - an error's message names the file ("f.cnf:").
 *
 * With FUZZ_WRITE_SEEDS=DIR in the environment it writes its seed inputs
 * into DIR and exits. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/core/optfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void violated(const char *what)
{
    fprintf(stderr, "fuzz_optfile: property violated: %s\n", what);
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
    if (strcmp(file, "f.cnf") != 0 || line == 0 || line > c->lines) violated("a wrong place");
    return 0;
}

static int on_include(void *ud, const char *path, int is_dir, unsigned depth, myl_error *err)
{
    (void)is_dir;
    (void)err;
    counts *c = ud;
    c->items++;
    if (!*path || depth != 0) violated("an empty include path or a wrong depth");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    counts c = {0, 1};
    for (size_t i = 0; i < size; i++)
        if (text[i] == '\n') c.lines++;
    myl_optfile_hooks h = {on_option, on_include, &c};
    myl_error err;
    myl_error_clear(&err);
    int rc = myl_optfile_parse(text, size, "f.cnf", 0, &h, &err);
    if (rc && strncmp(err.message, "f.cnf:", 6) != 0) violated("an error not naming the file");
    if (c.items > c.lines) violated("more options than lines");
    free(text);
    return 0;
}

static void write_seed(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(text, 1, strlen(text), f);
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    if (!dir || !*dir) return 0;
    write_seed(dir, "basic", "# c\n[client]\nuser = bob\npassword='p w' # c\nflag\n");
    write_seed(dir, "escapes", "[c]\na=\"x\\ny\\s\\\\ \\\" # in\" # out\nb=ends\\\n");
    write_seed(dir, "includes", "!include /etc/x.cnf\n[c]\n!includedir /etc/conf.d\n!other y\n");
    write_seed(dir, "errors", "k=v\n[broken\n[c]\n=v\n!include \n");
    exit(0);
}
