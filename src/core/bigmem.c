/* Huge-page blocks (bigmem.h). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS and madvise on glibc */
#include "bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* Sanitizer builds keep every block in malloc, where the sanitizer sees
 * a read past its end. */
#if defined(MAP_ANONYMOUS) && defined(MADV_HUGEPAGE) && !defined(MYL_NO_BIGMEM)
#define MAP_BLOCKS 1
#endif

/* Less unused room than this stays: giving it back would split a huge
 * page for a few pages' worth. */
#define TRIM_SLACK ((size_t)64 << 10)

void *myl_bigmem_alloc(size_t *mapped)
{
#ifdef MAP_BLOCKS
    const size_t size = MYL_BIGMEM_SIZE;
    /* A huge page backs only an aligned range: map twice the size and keep
     * the aligned block inside, giving the rest back. */
    uint8_t *p = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        uint8_t *block = p + ((size - (uintptr_t)p % size) % size);
        size_t head = (size_t)(block - p);
        if (head) munmap(p, head);
        munmap(block + size, size - head);
        /* a request: where the kernel declines, the pages are 4 KiB ones */
        (void)madvise(block, size, MADV_HUGEPAGE);
        *mapped = size;
        return block;
    }
#endif
    *mapped = 0;
    return malloc(MYL_BIGMEM_SIZE);
}

void *myl_bigmem_trim(void *p, size_t used, size_t *mapped)
{
    if (!*mapped) {
        if (used == 0 || MYL_BIGMEM_SIZE - used < TRIM_SLACK) return p;
        void *q = realloc(p, used);
        return q ? q : p;
    }
#ifdef MAP_BLOCKS
    long page = sysconf(_SC_PAGESIZE);
    size_t keep = used;
    if (page > 0 && keep % (size_t)page) keep += (size_t)page - keep % (size_t)page;
    if (keep == 0) keep = page > 0 ? (size_t)page : MYL_BIGMEM_SIZE; /* the block stays a block */
    if (keep < *mapped && *mapped - keep >= TRIM_SLACK &&
        munmap((uint8_t *)p + keep, *mapped - keep) == 0)
        *mapped = keep;
#else
    (void)used;
#endif
    return p;
}

void myl_bigmem_free(void *p, size_t mapped)
{
#ifdef MAP_BLOCKS
    if (mapped) {
        munmap(p, mapped);
        return;
    }
#endif
    (void)mapped;
    free(p);
}
