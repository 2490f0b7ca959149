/*
 * test_domain -- registered domains from the Public Suffix List, the fallback
 * for unknown suffixes, trailing dots, a short output buffer, hostile lengths
 * (longer than a DNS name may be, dots only), and domain_is_within; and that the
 * answers, remembered or not, are always libpsl's own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <libpsl.h>

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

/* domain_registered(name) as libpsl's psl_registrable_domain() gives it. */
static void expect_libpsl(const psl_ctx_t *psl, const char *name)
{
    char out[300];
    const char *want = psl_registrable_domain(psl, name);
    const char *got = domain_registered(name, out, sizeof(out));
    assert_non_null(got);
    if (want)
        assert_string_equal(got, want);
}

static void test_domain_registered_matches_libpsl(void **state)
{
    (void)state;
    psl_ctx_t *owned = psl_latest(NULL);
    const psl_ctx_t *psl = owned ? owned : psl_builtin();
    assert_non_null(psl);
    static const char *const names[] = {
        "www.example.com", "a.example.com", "example.com", "com",
        "a.b.c.example.co.uk", "example.co.uk", "co.uk", "uk",
        "www.ck", "a.www.ck", "b.a.ck", "a.ck", /* exception and wildcard rules */
        "forgot.his.name", "a.forgot.his.name", "his.name", "x.his.name",
        "bucket.s3.amazonaws.com", "a.b.s3.amazonaws.com", "s3.amazonaws.com",
        "deep.sub.pirate.sea", "pirate.sea", "a..b.example.com",
        "x.github.io", "github.io", "a.b.blogspot.co.uk",
    };
    /* Twice: first asked of libpsl, then answered from what was remembered. */
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            expect_libpsl(psl, names[i]);
    }
    /* More distinct suffixes than remembered answers: slots are taken over. */
    char name[64];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3000; i++) {
            snprintf(name, sizeof(name), "h%d.z%d.example%d.co.uk", i, i % 7, i % 1500);
            expect_libpsl(psl, name);
        }
    }
    /* A suffix too long to remember is asked every time, with the same answer. */
    char longname[200];
    memset(longname, 'q', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    memcpy(longname + 150, ".example.github.io", 19);
    expect_libpsl(psl, longname);
    expect_libpsl(psl, longname);
    psl_free(owned);
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
        cmocka_unit_test(test_domain_registered_matches_libpsl),
        cmocka_unit_test(test_domain_hostile_lengths),
        cmocka_unit_test(test_domain_is_within),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
