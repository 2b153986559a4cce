/* Huge-page blocks (bigmem.h). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS and madvise on glibc */
#include "bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/* Sanitizer builds keep every block in malloc, where the sanitizer sees
 * a read past its end. */
#if defined(MAP_ANONYMOUS) && defined(MADV_HUGEPAGE) && !defined(MYL_NO_BIGMEM)
#define MAP_BLOCKS 1
#endif

void *myl_bigmem_alloc(int *mapped)
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
        *mapped = 1;
        return block;
    }
#endif
    *mapped = 0;
    return malloc(MYL_BIGMEM_SIZE);
}

void myl_bigmem_free(void *p, int mapped)
{
#ifdef MAP_BLOCKS
    if (mapped) {
        munmap(p, MYL_BIGMEM_SIZE);
        return;
    }
#endif
    (void)mapped;
    free(p);
}
