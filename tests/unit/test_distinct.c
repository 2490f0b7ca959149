/*
 * test_distinct -- the linear-counting sketch: an estimate from a count of set
 * bits kept beside the bitmap is the estimate from the bitmap itself, exactly,
 * at every fill up to full; small sets count exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "distinct.h"

static void test_distinct_count_beside_bits_gives_the_same_estimate(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 2, 4, 8, 16};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint64_t words[16];
        size_t n = sizes[s], set = 0;
        memset(words, 0, sizeof(words));
        /* Far past full, so that the clamp at one zero bit is crossed too. */
        for (uint64_t i = 0; i < n * 64 * 8; i++) {
            if (distinct_add(words, n, distinct_mix(i)))
                set++;
            assert_int_equal(set, distinct_bits(words, n));
            /* Identical doubles, not merely close: thresholds compare them. */
            double a = distinct_estimate_set(n, set), b = distinct_estimate(words, n);
            assert_memory_equal(&a, &b, sizeof(a));
        }
        assert_int_equal(set, n * 64);
    }
}

static void test_distinct_small_sets_count_exactly(void **state)
{
    (void)state;
    uint64_t words[8];
    size_t set = 0;
    memset(words, 0, sizeof(words));
    const uint64_t ports[] = {22, 80, 443, 445, 3389};
    for (size_t i = 0; i < 5; i++) {
        set += distinct_add(words, 8, distinct_mix(ports[i]));
        set += distinct_add(words, 8, distinct_mix(ports[i])); /* again: not new */
    }
    assert_int_equal(set, 5);
    assert_int_equal((int)(distinct_estimate_set(8, set) + 0.5), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distinct_count_beside_bits_gives_the_same_estimate),
        cmocka_unit_test(test_distinct_small_sets_count_exactly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
