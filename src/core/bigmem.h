/* Blocks for the rows of big stored results, on huge pages where the
 * kernel offers them.  A fresh 4 KiB page costs a page fault on first
 * touch, and a million-row result touches tens of thousands of them; a
 * 2 MiB page is one fault.  Where huge pages are not to be had (another
 * system, a kernel that says never, a sanitizer build), a block is plain
 * malloc memory. */
#ifndef MYL_BIGMEM_H
#define MYL_BIGMEM_H

#include <stddef.h>

#define MYL_BIGMEM_SIZE ((size_t)2 << 20) /* one huge page of x86-64 and arm64 */

/* A block of MYL_BIGMEM_SIZE bytes, or NULL when out of memory.  *mapped
 * is how many bytes of it are mapped, 0 for a block from malloc: what
 * myl_bigmem_trim and myl_bigmem_free take. */
void *myl_bigmem_alloc(size_t *mapped);
/* Gives back what lies past the first `used` bytes, where that is worth
 * it; returns the block, which moves only if it came from malloc. */
void *myl_bigmem_trim(void *p, size_t used, size_t *mapped);
void myl_bigmem_free(void *p, size_t mapped);

#endif
