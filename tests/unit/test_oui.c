/*
 * test_oui -- the IEEE registry reader: quoting, prefix lengths, hostile lines.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "oui.h"

static const char sample[] =
    "Registry,Assignment,Organization Name,Organization Address\n"
    "MA-L,000C29,\"VMware, Inc.\",3401 Hillview Avenue Palo Alto CA US 94304 \r\n"
    "MA-L,F4BD9E,\"Cisco Systems, Inc\",80 West Tasman Drive San Jose CA US 94568 \n"
    "MA-L,70B3D5,IEEE Registration Authority,445 Hoes Lane Piscataway NJ US 08554 \n"
    "MA-S,70B3D5F2F,TELEPLATFORMS,\"Polbina st., 3/1 Moscow  RU 109388 \"\n"
    "MA-M,741AE09,\"Say \"\"Hi\"\" Ltd\",\n";

static void test_oui_parses_quoted_names(void **state)
{
    (void)state;
    struct oui_db *db = oui_new();
    assert_int_equal(oui_parse(db, sample, strlen(sample)), 0);
    assert_int_equal(oui_count(db), 5);
    const uint8_t vm[6] = {0x00, 0x0c, 0x29, 0x59, 0xfd, 0x21};
    const uint8_t cisco[6] = {0xf4, 0xbd, 0x9e, 1, 2, 3};
    assert_string_equal(oui_lookup(db, vm), "VMware, Inc.");
    assert_string_equal(oui_lookup(db, cisco), "Cisco Systems, Inc");
    oui_free(db);
}

static void test_oui_longest_prefix_wins(void **state)
{
    (void)state;
    struct oui_db *db = oui_new();
    assert_int_equal(oui_parse(db, sample, strlen(sample)), 0);
    const uint8_t mas[6] = {0x70, 0xb3, 0xd5, 0xf2, 0xf1, 0x23};
    const uint8_t mal[6] = {0x70, 0xb3, 0xd5, 0x11, 0x11, 0x11};
    const uint8_t mam[6] = {0x74, 0x1a, 0xe0, 0x9a, 0xbc, 0xde};
    assert_string_equal(oui_lookup(db, mas), "TELEPLATFORMS");
    assert_string_equal(oui_lookup(db, mal), "IEEE Registration Authority");
    assert_string_equal(oui_lookup(db, mam), "Say \"Hi\" Ltd");
    oui_free(db);
}

static void test_oui_local_and_multicast_have_no_vendor(void **state)
{
    (void)state;
    struct oui_db *db = oui_new();
    assert_int_equal(oui_parse(db, sample, strlen(sample)), 0);
    const uint8_t local[6] = {0x02, 0x0c, 0x29, 1, 2, 3};
    const uint8_t mcast[6] = {0x01, 0x0c, 0x29, 1, 2, 3};
    const uint8_t unknown[6] = {0x00, 0x11, 0x22, 1, 2, 3};
    assert_null(oui_lookup(db, local));
    assert_null(oui_lookup(db, mcast));
    assert_null(oui_lookup(db, unknown));
    assert_null(oui_lookup(NULL, unknown));
    oui_free(db);
}

static void test_oui_hostile_lines_are_skipped(void **state)
{
    (void)state;
    static const char bad[] = "MA-L,000C29,\"unterminated\n"
                              "MA-L,XYZ123,Bad Hex\n"
                              "MA-L,0C29,Too Short\n"
                              "MA-L\n"
                              ",,,\n"
                              "MA-L,00000000000000000000,Long\n"
                              "MA-L,001122,   \n"
                              "\x01\x02\xff\xfe,,\"\"\"\n"
                              "MA-L,A8BBCC,Good One\n";
    struct oui_db *db = oui_new();
    assert_int_equal(oui_parse(db, bad, strlen(bad)), 0);
    assert_int_equal(oui_count(db), 1);
    assert_int_equal(oui_bad_lines(db), 8);
    const uint8_t good[6] = {0xa8, 0xbb, 0xcc, 0, 0, 1};
    assert_string_equal(oui_lookup(db, good), "Good One");
    oui_free(db);
}

static void test_oui_long_name_is_cut(void **state)
{
    (void)state;
    char text[1024];
    char name[600];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(text, sizeof(text), "MA-L,A8BBCC,%s,addr\n", name);
    struct oui_db *db = oui_new();
    assert_int_equal(oui_parse(db, text, strlen(text)), 0);
    const uint8_t mac[6] = {0xa8, 0xbb, 0xcc, 0, 0, 1};
    assert_int_equal(strlen(oui_lookup(db, mac)), OUI_NAME_MAX - 1);
    oui_free(db);
}

static void test_oui_every_truncation(void **state)
{
    (void)state;
    for (size_t n = 0; n <= strlen(sample); n++) {
        struct oui_db *db = oui_new();
        assert_int_equal(oui_parse(db, sample, n), 0);
        assert_true(oui_count(db) <= 5);
        oui_free(db);
    }
}

static void test_oui_missing_file_is_an_error(void **state)
{
    (void)state;
    struct oui_db *db = oui_new();
    assert_int_equal(oui_load(db, "/nonexistent/oui.csv"), -ENOENT);
    assert_int_equal(oui_load_dir(db, "/nonexistent"), -ENOENT);
    oui_free(db);
}

static void test_oui_debian_registry(void **state)
{
    (void)state;
    FILE *f = fopen(OUI_DEFAULT_DIR "/oui.csv", "r");
    if (!f)
        skip();
    fclose(f);
    struct oui_db *db = oui_new();
    assert_int_equal(oui_load_dir(db, NULL), 0);
    assert_true(oui_count(db) > 20000);
    const uint8_t vm[6] = {0x00, 0x0c, 0x29, 0x59, 0xfd, 0x21};
    assert_non_null(oui_lookup(db, vm));
    assert_non_null(strstr(oui_lookup(db, vm), "VMware"));
    oui_free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oui_parses_quoted_names),
        cmocka_unit_test(test_oui_longest_prefix_wins),
        cmocka_unit_test(test_oui_local_and_multicast_have_no_vendor),
        cmocka_unit_test(test_oui_hostile_lines_are_skipped),
        cmocka_unit_test(test_oui_long_name_is_cut),
        cmocka_unit_test(test_oui_every_truncation),
        cmocka_unit_test(test_oui_missing_file_is_an_error),
        cmocka_unit_test(test_oui_debian_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
