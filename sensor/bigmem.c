/*
 * bigmem -- see bigmem.h.  Each block is its own anonymous mapping, zero and
 * not yet resident; madvise(MADV_HUGEPAGE) over its 2 MB-aligned interior lets
 * the page-fault handler map huge pages there (the kernel's transparent_hugepage
 * setting "madvise", as well as "always").  A refusal (no THP support) is
 * harmless: the block keeps small pages.
 */
#include "bigmem.h"

#include <stdint.h>
#include <sys/mman.h>

#define BIGMEM_HUGE_PAGE ((uintptr_t)2 << 20)

void *bigmem_calloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    size_t len = count * size;
    if (len == 0)
        len = 1;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (len >= BIGMEM_HUGE_MIN) {
        uintptr_t start = ((uintptr_t)p + BIGMEM_HUGE_PAGE - 1) & ~(BIGMEM_HUGE_PAGE - 1);
        uintptr_t end = ((uintptr_t)p + len) & ~(BIGMEM_HUGE_PAGE - 1);
#ifdef MADV_HUGEPAGE
        if (end > start)
            (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#endif
    }
    return p;
}

void bigmem_free(void *p, size_t count, size_t size)
{
    size_t len = count * size;
    if (p)
        munmap(p, len == 0 ? 1 : len);
}
