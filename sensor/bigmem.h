/*
 * bigmem -- zeroed allocations for the sensor's large tables (flows, hosts,
 * detector maps, assets): page-aligned, so that an entry whose size is a whole
 * number of cache lines starts on one, and backed by transparent huge pages where
 * the kernel offers them.
 *
 * Those tables are read at random, a few cache lines per packet, so with 4 KB
 * pages nearly every access also misses the TLB (and in a virtual machine a TLB
 * miss walks two page tables).  2 MB pages cut that cost; memory still becomes
 * resident only as it is first written, now 2 MB at a time.  Any thread.
 */
#ifndef WARD_BIGMEM_H
#define WARD_BIGMEM_H

#include <stddef.h>

#define BIGMEM_HUGE_MIN (4u << 20) /* blocks from this size on ask for huge pages */

/* Like calloc(count, size), page-aligned: NULL on overflow or out of memory.
 * Free it with bigmem_free() and the same count and size. */
void *bigmem_calloc(size_t count, size_t size);
/* Returns a block of bigmem_calloc(count, size); NULL does nothing. */
void bigmem_free(void *p, size_t count, size_t size);

#endif
