/*
 * test_osfp -- OS family guesses from TTL, SYN shape, DHCP vendor class, host name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "osfp.h"

static struct pkt_tcp syn(uint16_t window, const char *order)
{
    struct pkt_tcp t;
    memset(&t, 0, sizeof(t));
    t.flags = TCP_SYN;
    t.window = window;
    strncpy(t.opt_order, order, sizeof(t.opt_order));
    return t;
}

static void test_osfp_initial_ttl(void **state)
{
    (void)state;
    assert_int_equal(osfp_initial_ttl(0), 0);
    assert_int_equal(osfp_initial_ttl(1), 32);
    assert_int_equal(osfp_initial_ttl(57), 64);
    assert_int_equal(osfp_initial_ttl(64), 64);
    assert_int_equal(osfp_initial_ttl(65), 128);
    assert_int_equal(osfp_initial_ttl(120), 128);
    assert_int_equal(osfp_initial_ttl(200), 255);
    assert_int_equal(osfp_initial_ttl(255), 255);
}

static void test_osfp_syn_families(void **state)
{
    (void)state;
    struct pkt_tcp w = syn(64240, "MNWNNS");
    struct pkt_tcp l = syn(29200, "MSTNW");
    struct pkt_tcp m = syn(65535, "MNWNNTSEE");
    struct pkt_tcp i = syn(65535 - 1, "MNWNNTSEE");
    assert_string_equal(osfp_from_syn(127, &w).family, "windows");
    assert_int_equal(osfp_from_syn(127, &w).rank, OSFP_TCP);
    assert_string_equal(osfp_from_syn(63, &l).family, "linux");
    assert_int_equal(osfp_from_syn(63, &l).rank, OSFP_TCP);
    assert_string_equal(osfp_from_syn(64, &m).family, "macos");
    assert_string_equal(osfp_from_syn(64, &i).family, "ios");
    assert_string_equal(osfp_from_syn(254, &l).family, "network");
}

static void test_osfp_hostile_options(void **state)
{
    (void)state;
    struct pkt_tcp t;
    memset(&t, 'Z', sizeof(t)); /* opt_order with no terminator, odd values */
    struct osfp_guess g = osfp_from_syn(64, &t);
    assert_non_null(g.family);
    g = osfp_from_syn(0, &t);
    assert_string_equal(g.family, "unknown");
    assert_int_equal(g.rank, OSFP_NONE);
}

static void test_osfp_ttl_only(void **state)
{
    (void)state;
    assert_string_equal(osfp_from_ttl(128).family, "windows");
    assert_string_equal(osfp_from_ttl(61).family, "linux");
    assert_string_equal(osfp_from_ttl(250).family, "network");
    assert_int_equal(osfp_from_ttl(0).rank, OSFP_NONE);
    assert_int_equal(osfp_from_ttl(61).rank, OSFP_TTL);
}

static void test_osfp_dhcp_vendor_class(void **state)
{
    (void)state;
    assert_string_equal(osfp_from_dhcp("MSFT 5.0").family, "windows");
    assert_string_equal(osfp_from_dhcp("android-dhcp-13").family, "android");
    assert_string_equal(osfp_from_dhcp("dhcpcd-5.5.6").family, "linux");
    assert_int_equal(osfp_from_dhcp("MSFT 5.0").rank, OSFP_DHCP);
    assert_int_equal(osfp_from_dhcp("").rank, OSFP_NONE);
    assert_int_equal(osfp_from_dhcp(NULL).rank, OSFP_NONE);
    assert_int_equal(osfp_from_dhcp("\xff\xfe garbage").rank, OSFP_NONE);
}

static void test_osfp_hostname(void **state)
{
    (void)state;
    assert_string_equal(osfp_from_hostname("android-f7ca0f571270c52d").family, "android");
    assert_string_equal(osfp_from_hostname("Johns-iPhone").family, "ios");
    assert_string_equal(osfp_from_hostname("MacBook-Air").family, "macos");
    assert_string_equal(osfp_from_hostname("kevin-PC").family, "windows");
    assert_int_equal(osfp_from_hostname("ubuntu2").rank, OSFP_NONE);
    assert_int_equal(osfp_from_hostname(NULL).rank, OSFP_NONE);
    char longname[300];
    memset(longname, 'A', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(osfp_from_hostname(longname).rank, OSFP_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_osfp_initial_ttl),
        cmocka_unit_test(test_osfp_syn_families),
        cmocka_unit_test(test_osfp_hostile_options),
        cmocka_unit_test(test_osfp_ttl_only),
        cmocka_unit_test(test_osfp_dhcp_vendor_class),
        cmocka_unit_test(test_osfp_hostname),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
