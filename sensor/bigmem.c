/*
 * bigmem -- see bigmem.h.  calloc() serves blocks this large from their own
 * anonymous mapping, zero and not yet resident; madvise(MADV_HUGEPAGE) over its
 * 2 MB-aligned interior lets the page-fault handler map huge pages there (the
 * kernel's transparent_hugepage setting "madvise", as well as "always").  A
 * refusal (no THP support) is harmless: the block keeps small pages.
 */
#include "bigmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define BIGMEM_HUGE_PAGE ((uintptr_t)2 << 20)

void *bigmem_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    void *p = calloc(count, size);
    if (!p || count * size < BIGMEM_HUGE_MIN)
        return p;
    uintptr_t start = ((uintptr_t)p + BIGMEM_HUGE_PAGE - 1) & ~(BIGMEM_HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + count * size) & ~(BIGMEM_HUGE_PAGE - 1);
#ifdef MADV_HUGEPAGE
    if (end > start)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#endif
    return p;
}
