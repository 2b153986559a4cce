/* The last TLS configuration built, kept for the next connect with the same
 * options.  Building one costs more client CPU than the rest of a TLS
 * connect (an OpenSSL context, and the CA file parsed: the system's store
 * holds some 140 certificates), and a job that connects again and again
 * does so with the same options.
 *
 * The configuration is shared by reference; OpenSSL allows one context to
 * serve many connections at once, and nothing changes it after it is
 * built.  It is reused only while every file it was built from is
 * unchanged (same device, inode, size and modification time), so a
 * rotated certificate or CA is read again.  Options naming a directory
 * (ssl_capath, ssl_crlpath) are never cached: OpenSSL reads such a
 * directory lazily and keeps what it read, so a file replaced in it would
 * go unnoticed. */
#include <openssl/x509.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tls_internal.h"

enum { KEY_FILES = 6 };

typedef struct file_id {
    int present;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

typedef struct cache_key {
    const char *text[11]; /* the string options, NULL when not given */
    int need_ca;
    file_id files[KEY_FILES];
} cache_key;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static myl_tls_config *cached;        /* one reference held here, or NULL */
static cache_key cached_key;          /* its strings are copies, owned here */

static void identify(const char *path, file_id *id)
{
    struct stat st;
    memset(id, 0, sizeof *id);
    if (!path || stat(path, &st) != 0) return;
    id->present = 1;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
}

static int cacheable(const myl_options *opt)
{
    return !opt->ssl_capath && !opt->ssl_crlpath;
}

static void make_key(const myl_options *opt, int need_ca, cache_key *k)
{
    const char *text[11] = {opt->ssl_ca,       opt->ssl_cert,        opt->ssl_key,
                            opt->ssl_cipher,   opt->ssl_ciphersuites, opt->tls_version,
                            opt->ssl_crl,      opt->ssl_fingerprint,  opt->ssl_fingerprint_list,
                            opt->ssl_capath,   opt->ssl_crlpath};
    memcpy(k->text, text, sizeof text);
    k->need_ca = need_ca;
    identify(opt->ssl_ca, &k->files[0]);
    identify(opt->ssl_cert, &k->files[1]);
    identify(opt->ssl_key, &k->files[2]);
    identify(opt->ssl_crl, &k->files[3]);
    identify(opt->ssl_fingerprint_list, &k->files[4]);
    /* the system's store, when it is used */
    identify(need_ca && !opt->ssl_ca ? X509_get_default_cert_file() : NULL, &k->files[5]);
}

static int same_text(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int same_file(const file_id *a, const file_id *b)
{
    return a->present == b->present && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int same_key(const cache_key *a, const cache_key *b)
{
    if (a->need_ca != b->need_ca) return 0;
    for (size_t i = 0; i < sizeof a->text / sizeof a->text[0]; i++)
        if (!same_text(a->text[i], b->text[i])) return 0;
    for (size_t i = 0; i < KEY_FILES; i++)
        if (!same_file(&a->files[i], &b->files[i])) return 0;
    return 1;
}

static void free_key_text(cache_key *k)
{
    for (size_t i = 0; i < sizeof k->text / sizeof k->text[0]; i++) {
        free((char *)k->text[i]);
        k->text[i] = NULL;
    }
}

/* Copies k's strings into the cache's key; 0, or -1 out of memory. */
static int keep_key(const cache_key *k)
{
    cache_key copy = *k;
    for (size_t i = 0; i < sizeof copy.text / sizeof copy.text[0]; i++) copy.text[i] = NULL;
    for (size_t i = 0; i < sizeof k->text / sizeof k->text[0]; i++) {
        if (!k->text[i]) continue;
        size_t n = strlen(k->text[i]) + 1;
        char *s = malloc(n);
        if (!s) {
            free_key_text(&copy);
            return -1;
        }
        memcpy(s, k->text[i], n);
        copy.text[i] = s;
    }
    free_key_text(&cached_key);
    cached_key = copy;
    return 0;
}

/* Drops one reference; the last frees.  Called with cache_lock held. */
static void unref_locked(myl_tls_config *cfg)
{
    if (cfg && --cfg->refs == 0) myl_tls_config_destroy(cfg);
}

myl_tls_config *myl_tls_config_new(const myl_options *opt, int need_ca, myl_error *err)
{
    if (!cacheable(opt)) return myl_tls_config_build(opt, need_ca, err);
    cache_key key;
    make_key(opt, need_ca, &key);
    pthread_mutex_lock(&cache_lock);
    if (cached && same_key(&key, &cached_key)) {
        cached->refs++;
        myl_tls_config *hit = cached;
        pthread_mutex_unlock(&cache_lock);
        return hit;
    }
    pthread_mutex_unlock(&cache_lock);
    /* Built outside the lock: it reads files, and other threads may connect
     * meanwhile. */
    myl_tls_config *cfg = myl_tls_config_build(opt, need_ca, err);
    if (!cfg) return NULL;
    pthread_mutex_lock(&cache_lock);
    unref_locked(cached);
    cached = NULL;
    if (keep_key(&key) == 0) {
        cfg->refs++; /* the cache's own reference */
        cached = cfg;
    }
    pthread_mutex_unlock(&cache_lock);
    return cfg;
}

void myl_tls_config_free(myl_tls_config *cfg)
{
    if (!cfg) return;
    pthread_mutex_lock(&cache_lock);
    unref_locked(cfg);
    pthread_mutex_unlock(&cache_lock);
}
