/* The host program's Lua allocator.
 *
 * Why not malloc: building rows makes a table and a few strings a row,
 * and the collector frees them as fast.  With glibc's malloc about a
 * fifth of the instructions of streaming rows go to malloc and free (a
 * sweep overflows the per-thread cache into the bins), and every block
 * carries an 8-byte header and is rounded to 16 bytes.  Lua tells
 * the allocator a block's size whenever it frees or resizes it, so small
 * blocks need no header: one free list per 8-byte size class, carved from
 * a range of address space reserved once and committed as it fills.
 *
 * Whose a block is, is decided by its address alone: inside the range it
 * is a class block, outside it is malloc's.  So a block keeps its owner
 * whatever sizes it goes through, and a class that cannot grow (the range
 * full, or never reserved) simply falls back to malloc.
 *
 * Userdata always come from malloc: C code may keep any type in them, and
 * malloc aligns to 16 bytes where the classes align to 8, enough for
 * Lua's own objects.
 *
 * Freed blocks go back to their class, never to the system: the range's
 * resident size stays at its peak, as malloc's heap mostly does.  Under
 * AddressSanitizer, free blocks and the range not handed out yet are
 * poisoned, and a freed block waits in a quarantine before it is handed
 * out again, as ASan's malloc does: a read or write past a block, or into
 * a block freed not long ago, is caught. */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS and MAP_NORESERVE on glibc */

#include "lua_alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <lua.h>

#if defined(__SANITIZE_ADDRESS__)
#define HOST_ALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HOST_ALLOC_ASAN 1
#endif
#endif

#ifdef HOST_ALLOC_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define CLASS_BYTES 8
#define NCLASSES (HOST_ALLOC_SMALL_MAX / CLASS_BYTES)
/* Address space asked for first, and the least worth having. */
#define RESERVE_DEFAULT ((size_t)1 << (sizeof(size_t) > 4 ? 35 : 28))
#define RESERVE_MIN ((size_t)16 << 20)
/* The range is made readable and writable this much at a time: one huge
 * page, and the range starts on a huge page's boundary. */
#define COMMIT_STEP ((size_t)2 << 20)

#ifdef HOST_ALLOC_ASAN
#define QUARANTINE_BLOCKS 262144
typedef struct held {
    void *p;
    size_t c;
} held;
#endif

struct host_alloc {
    void *map;           /* the mapping, and its size: the range aligned in it */
    size_t map_size;
    uint8_t *base, *end; /* the reserved range; both NULL without one */
    uint8_t *next;       /* the first byte never handed out */
    uint8_t *committed;  /* the end of the part that may be touched */
    void *free_list[NCLASSES + 1]; /* by class: blocks of class * 8 bytes */
#ifdef HOST_ALLOC_ASAN
    held quarantine[QUARANTINE_BLOCKS]; /* a ring: the oldest is released first */
    size_t quarantine_next;
#endif
};

static size_t class_of(size_t n) { return (n + CLASS_BYTES - 1) / CLASS_BYTES; }

int host_alloc_owns(const host_alloc *a, const void *p)
{
    const uint8_t *q = p;
    return q >= a->base && q < a->end;
}

host_alloc *host_alloc_new(size_t reserve)
{
    host_alloc *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    if (reserve == 0) reserve = RESERVE_DEFAULT;
    reserve &= ~(COMMIT_STEP - 1);
    /* PROT_NONE and MAP_NORESERVE: address space only, no memory is
     * committed until a step is made writable.  Less where the system
     * refuses that much (a ulimit -v, strict overcommit). */
    size_t size = reserve;
    while (size >= COMMIT_STEP) {
        size_t map_size = size + COMMIT_STEP;
        void *p = mmap(NULL, map_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED) {
            a->map = p;
            a->map_size = map_size;
            uintptr_t start = ((uintptr_t)p + COMMIT_STEP - 1) & ~(uintptr_t)(COMMIT_STEP - 1);
            a->base = a->next = a->committed = (uint8_t *)start;
            a->end = a->base + size;
#ifdef MADV_HUGEPAGE
            /* Huge pages where the system allows them: a million rows
             * touch a GiB, and 4 KiB page faults cost more CPU than
             * building the rows (a hint: refused, it changes nothing). */
            madvise(a->base, size, MADV_HUGEPAGE);
#endif
            break;
        }
        size = size / 4 >= RESERVE_MIN ? size / 4 : 0;
    }
    return a;
}

void host_alloc_free(host_alloc *a)
{
    if (!a) return;
    if (a->base) {
        UNPOISON(a->base, (size_t)(a->committed - a->base));
        munmap(a->map, a->map_size);
    }
    free(a);
}

/* Makes at least `bytes` more of the range writable; 0 when the range is
 * full or the system refuses. */
static int commit_more(host_alloc *a, size_t bytes)
{
    size_t step = bytes > COMMIT_STEP ? bytes : COMMIT_STEP;
    step = (step + COMMIT_STEP - 1) & ~(COMMIT_STEP - 1);
    if ((size_t)(a->end - a->committed) < step) return 0;
    if (mprotect(a->committed, step, PROT_READ | PROT_WRITE) != 0) return 0;
    POISON(a->committed, step); /* until handed out */
    a->committed += step;
    return 1;
}

/* A block of class c for n bytes, or NULL (the caller then uses malloc). */
static void *take(host_alloc *a, size_t c, size_t n)
{
    void *p = a->free_list[c];
    if (p) {
        memcpy(&a->free_list[c], p, sizeof p); /* the link in its first bytes */
        UNPOISON(p, n);
        return p;
    }
    size_t bytes = c * CLASS_BYTES;
    if ((size_t)(a->committed - a->next) < bytes && !commit_more(a, bytes)) return NULL;
    p = a->next;
    a->next += bytes;
    UNPOISON(p, n);
    return p;
}

/* Puts the block p into the free list of class c, its link in its first
 * bytes and the rest poisoned. */
static void release(host_alloc *a, void *p, size_t c)
{
    POISON(p, c * CLASS_BYTES);
    UNPOISON(p, sizeof(void *));
    memcpy(p, &a->free_list[c], sizeof p);
    a->free_list[c] = p;
}

/* A freed block of class c: into its free list, or under ASan poisoned
 * whole into the quarantine, releasing the oldest block held there. */
static void give(host_alloc *a, void *p, size_t c)
{
#ifdef HOST_ALLOC_ASAN
    POISON(p, c * CLASS_BYTES);
    held *h = &a->quarantine[a->quarantine_next];
    if (h->p) release(a, h->p, h->c);
    h->p = p;
    h->c = c;
    a->quarantine_next = (a->quarantine_next + 1) % QUARANTINE_BLOCKS;
#else
    release(a, p, c);
#endif
}

void *host_alloc_lua(void *ud, void *ptr, size_t osize, size_t nsize)
{
    host_alloc *a = ud;
    if (!ptr) { /* a new block; osize tells the kind of object */
        if (nsize == 0) return NULL;
        if (nsize <= HOST_ALLOC_SMALL_MAX && osize != LUA_TUSERDATA) {
            void *p = take(a, class_of(nsize), nsize);
            if (p) return p;
        }
        return malloc(nsize);
    }
    if (!host_alloc_owns(a, ptr)) {
        if (nsize == 0) {
            free(ptr);
            return NULL;
        }
        void *q = realloc(ptr, nsize);
        /* Lua counts on a shrink never failing: the block is kept */
        return q ? q : nsize <= osize ? ptr : NULL;
    }
    size_t oc = class_of(osize);
    if (nsize == 0) {
        give(a, ptr, oc);
        return NULL;
    }
    if (nsize <= osize || class_of(nsize) == oc) {
        /* the block is large enough: it stays, its class size at least
         * osize and at most what it was made with */
        if (nsize < osize) POISON((uint8_t *)ptr + nsize, osize - nsize);
        else UNPOISON(ptr, nsize);
        return ptr;
    }
    void *q = nsize <= HOST_ALLOC_SMALL_MAX ? take(a, class_of(nsize), nsize) : NULL;
    if (!q) q = malloc(nsize);
    if (!q) return NULL;
    memcpy(q, ptr, osize);
    give(a, ptr, oc);
    return q;
}
