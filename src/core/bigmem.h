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

/* A block of MYL_BIGMEM_SIZE bytes, or NULL when out of memory; *mapped
 * says how myl_bigmem_free must give it back. */
void *myl_bigmem_alloc(int *mapped);
void myl_bigmem_free(void *p, int mapped);

#endif
