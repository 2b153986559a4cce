/* The host program's Lua allocator: small blocks from size classes in one
 * reserved range of address space, everything else from malloc. */
#ifndef MYL_HOST_LUA_ALLOC_H
#define MYL_HOST_LUA_ALLOC_H

#include <stddef.h>

/* Blocks of up to this many bytes come from the classes (one per 8 bytes). */
#define HOST_ALLOC_SMALL_MAX 512

typedef struct host_alloc host_alloc;

/* A new allocator with a range of up to `reserve` bytes of address space
 * (0: the default, tens of GiB, taken lazily); with less where the system
 * refuses that much, and with none at all (malloc for every block) where
 * it refuses any.  NULL only when out of memory. */
host_alloc *host_alloc_new(size_t reserve);

/* The lua_Alloc: `ud` is the host_alloc.  One Lua state, one thread. */
void *host_alloc_lua(void *ud, void *ptr, size_t osize, size_t nsize);

/* Whether p lies in the allocator's range (tests). */
int host_alloc_owns(const host_alloc *a, const void *p);

/* Frees the range; every block must have been freed (lua_close first). */
void host_alloc_free(host_alloc *a);

#endif
