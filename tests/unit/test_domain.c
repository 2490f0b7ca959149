/*
 * test_domain -- registered domains from the Public Suffix List, the fallback
 * for unknown suffixes, trailing dots, a short output buffer, hostile lengths
 * (longer than a DNS name may be, dots only), and domain_is_within.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "domain.h"

static const char *reg(const char *name)
{
    static char out[300];
    const char *r = domain_registered(name, out, sizeof(out));
    return r ? r : "(null)";
}

static void test_domain_registered_by_suffix_list(void **state)
{
    (void)state;
    assert_string_equal(reg("www.example.com"), "example.com");
    assert_string_equal(reg("a.b.c.example.co.uk"), "example.co.uk");
    assert_string_equal(reg("example.com."), "example.com");
    assert_string_equal(reg("x.example.com.."), "example.com");
    assert_string_equal(reg("deep.sub.pirate.sea"), "pirate.sea"); /* no such suffix */
    assert_string_equal(reg("localhost"), "localhost");
    assert_null(domain_registered("", (char[8]){0}, 8));
    assert_null(domain_registered(NULL, (char[8]){0}, 8));
    char small[8];
    assert_string_equal(domain_registered("www.example.com", small, sizeof(small)), "example");
}

static void test_domain_hostile_lengths(void **state)
{
    (void)state;
    char name[400];
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    memcpy(name + 380, ".example.com", 12); /* beyond the 259 bytes looked at */
    char out[300];
    assert_non_null(domain_registered(name, out, sizeof(out)));
    assert_true(strlen(out) < 260);
    memset(name, '.', sizeof(name) - 1); /* dots only */
    assert_non_null(domain_registered(name, out, sizeof(out)));
    assert_string_equal(out, "");
}

static void test_domain_is_within(void **state)
{
    (void)state;
    assert_true(domain_is_within("a.example.com", "example.com"));
    assert_true(domain_is_within("example.com", "example.com"));
    assert_false(domain_is_within("badexample.com", "example.com"));
    assert_false(domain_is_within("com", "example.com"));
    assert_false(domain_is_within("example.com", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_registered_by_suffix_list),
        cmocka_unit_test(test_domain_hostile_lengths),
        cmocka_unit_test(test_domain_is_within),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
