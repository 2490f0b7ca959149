/*
 * test_grade -- incident levels from the rules: techniques alone, scope (hosts,
 * segments), criticality, spread reaching core hosts, and the [grading] config.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "grade.h"

static uint32_t bit(Ward__EventKind k)
{
    return 1u << (unsigned)k;
}

static void test_grade_single_scan_is_iv(void **state)
{
    (void)state;
    struct grade_rules r;
    grade_rules_default(&r);
    struct grade_facts f = {.kinds = bit(WARD__EVENT_KIND__PORTSCAN), .hosts = 1, .sources = 1,
                            .segments = 1};
    f.crit[4] = 1;
    struct grade_result g;
    grade_compute(&r, &f, &g);
    assert_int_equal(g.level, 4);
    assert_non_null(strstr(g.reason, "portscan"));
    grade_rules_fini(&r);
}

static void test_grade_spread_to_core_is_ii(void **state)
{
    (void)state;
    struct grade_rules r;
    grade_rules_default(&r);
    struct grade_facts f = {.kinds = bit(WARD__EVENT_KIND__LATERAL) |
                                     bit(WARD__EVENT_KIND__PORTSCAN),
                            .hosts = 3, .sources = 2, .segments = 2, .spreading = true};
    f.crit[1] = 1;
    f.crit[4] = 2;
    snprintf(f.core_host, sizeof(f.core_host), "10.1.5.10");
    struct grade_result g;
    grade_compute(&r, &f, &g);
    assert_int_equal(g.level, 2);
    assert_non_null(strstr(g.reason, "10.1.5.10"));
    f.crit[1] = 3;
    grade_compute(&r, &f, &g);
    assert_int_equal(g.level, 1);
    grade_rules_fini(&r);
}

static void test_grade_scope_raises(void **state)
{
    (void)state;
    struct grade_rules r;
    grade_rules_default(&r);
    struct grade_facts f = {.kinds = bit(WARD__EVENT_KIND__BEACON), .hosts = 5, .sources = 5,
                            .segments = 1};
    struct grade_result g;
    grade_compute(&r, &f, &g);
    assert_int_equal(g.level, 3);
    f.segments = 4;
    grade_compute(&r, &f, &g);
    assert_int_equal(g.level, 2);
    assert_non_null(strstr(g.reason, "4 segments"));
    grade_rules_fini(&r);
}

static void test_grade_config_overrides(void **state)
{
    (void)state;
    static const char text[] = "[grading]\n"
                               "technique.portscan = III\n"
                               "core_hosts = 10.1.5.0/24, 10.9.9.9\n"
                               "default_criticality = 3\n"
                               "hosts_iii = 0\n";
    struct config *cfg = NULL;
    char err[256];
    assert_int_equal(config_parse("t.conf", text, sizeof(text) - 1, &cfg, err, sizeof(err)), 0);
    struct grade_rules r;
    assert_int_equal(grade_rules_load(&r, cfg), 0);
    assert_int_equal(r.technique[WARD__EVENT_KIND__PORTSCAN], 3);
    assert_int_equal(r.hosts[3], 0);
    assert_int_equal(grade_criticality(&r, NULL, "10.1.5.77"), 1);
    assert_int_equal(grade_criticality(&r, NULL, "10.9.9.9"), 1);
    assert_int_equal(grade_criticality(&r, NULL, "10.2.0.1"), 3);
    grade_rules_fini(&r);
    config_free(cfg);
}

static void test_grade_config_error_names_line(void **state)
{
    (void)state;
    static const char text[] = "[grading]\ncore_spread = V\n";
    struct config *cfg = NULL;
    char err[256];
    assert_int_equal(config_parse("t.conf", text, sizeof(text) - 1, &cfg, err, sizeof(err)), 0);
    struct grade_rules r;
    assert_int_equal(grade_rules_load(&r, cfg), -EINVAL);
    assert_non_null(strstr(config_error(cfg), "t.conf:2"));
    config_free(cfg);
}

static int ledger(struct console *c, const char *addr)
{
    (void)c;
    return strcmp(addr, "10.3.3.3") == 0 ? 1 : 0;
}

static void test_grade_criticality_source_first(void **state)
{
    (void)state;
    struct grade_rules r;
    grade_rules_default(&r);
    grade_set_criticality_source(ledger);
    assert_int_equal(grade_criticality(&r, NULL, "10.3.3.3"), 1);
    assert_int_equal(grade_criticality(&r, NULL, "10.3.3.4"), 4);
    grade_set_criticality_source(NULL);
    assert_int_equal(grade_criticality(&r, NULL, "10.3.3.3"), 4);
    grade_rules_fini(&r);
}

static void test_grade_level_names(void **state)
{
    (void)state;
    int l;
    assert_int_equal(grade_level_parse("ii", &l), 0);
    assert_int_equal(l, 2);
    assert_int_equal(grade_level_parse("4", &l), 0);
    assert_int_equal(l, 4);
    assert_int_equal(grade_level_parse("V", &l), -EINVAL);
    assert_string_equal(grade_level_name_zh(1), "特别重大");
    assert_string_equal(grade_level_name(3), "III");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grade_single_scan_is_iv),
        cmocka_unit_test(test_grade_spread_to_core_is_ii),
        cmocka_unit_test(test_grade_scope_raises),
        cmocka_unit_test(test_grade_config_overrides),
        cmocka_unit_test(test_grade_config_error_names_line),
        cmocka_unit_test(test_grade_criticality_source_first),
        cmocka_unit_test(test_grade_level_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
