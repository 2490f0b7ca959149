/*
 * test_bigmem -- large table allocations: zeroed, writable end to end, and
 * refused on size overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bigmem.h"

static void test_bigmem_zeroed_and_writable(void **state)
{
    (void)state;
    size_t sizes[] = {64, BIGMEM_HUGE_MIN - 1, BIGMEM_HUGE_MIN, 3 * BIGMEM_HUGE_MIN + 4097};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint8_t *p = bigmem_calloc(sizes[k], 1);
        assert_non_null(p);
        for (size_t i = 0; i < sizes[k]; i += 4096)
            assert_int_equal(p[i], 0);
        assert_int_equal(p[sizes[k] - 1], 0);
        assert_int_equal((uintptr_t)p % 4096, 0);
        memset(p, 0xa5, sizes[k]);
        assert_int_equal(p[sizes[k] - 1], 0xa5);
        bigmem_free(p, sizes[k], 1);
    }
}

static void test_bigmem_overflow_refused(void **state)
{
    (void)state;
    assert_null(bigmem_calloc(SIZE_MAX / 2, 4));
    bigmem_free(NULL, 1, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bigmem_zeroed_and_writable),
        cmocka_unit_test(test_bigmem_overflow_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
