/*
 * test_config -- configuration errors name the file and the line: syntax
 * errors, values that do not parse, unknown keys, duplicate keys and lines too
 * long for the parser; and the getters' defaults and units.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "config.h"

static struct config *parse_ok(const char *text)
{
    struct config *c = NULL;
    char err[CONFIG_ERR_LEN];
    int rc = config_parse("ward.conf", text, strlen(text), &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("unexpected parse error: %s", err);
    return c;
}

static void expect_parse_error(const char *text, const char *want)
{
    struct config *c = NULL;
    char err[CONFIG_ERR_LEN] = "";
    assert_int_equal(config_parse("ward.conf", text, strlen(text), &c, err, sizeof(err)),
                     -EINVAL);
    assert_null(c);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_config_syntax_error_names_line(void **state)
{
    (void)state;
    expect_parse_error("[console]\ndata_dir = /var/lib/ward\nthis is not a setting\n",
                       "ward.conf:3:");
    expect_parse_error("[console\nx = 1\n", "ward.conf:1:");
}

static void test_config_duplicate_key_names_both_lines(void **state)
{
    (void)state;
    expect_parse_error("[console]\nlisten = a\n\n; comment\nlisten = b\n",
                       "ward.conf:5: 'listen' in [console] already set on line 2");
}

static void test_config_over_long_line_names_line(void **state)
{
    (void)state;
    size_t n = 100000;
    char *text = malloc(n + 64);
    assert_non_null(text);
    int off = snprintf(text, 64, "[console]\nok = 1\nlong = ");
    memset(text + off, 'x', n);
    strcpy(text + off + n, "\nafter = 2\n");
    expect_parse_error(text, "ward.conf:3: line longer than");
    free(text);
}

static void test_config_bad_number_names_line(void **state)
{
    (void)state;
    struct config *c = parse_ok("[console]\n\nheartbeat = 10s\nmax = ten\nsize = 12Q\nflag = maybe\n");
    uint64_t v;
    bool b;
    assert_int_equal(config_get_u64(c, "console", "max", 5, &v), -EINVAL);
    assert_non_null(strstr(config_error(c), "ward.conf:4: [console] max: 'ten'"));
    assert_int_equal(config_get_size(c, "console", "size", 5, &v), -EINVAL);
    assert_non_null(strstr(config_error(c), "ward.conf:5:"));
    assert_int_equal(config_get_bool(c, "console", "flag", false, &b), -EINVAL);
    assert_non_null(strstr(config_error(c), "ward.conf:6:"));
    assert_int_equal(config_get_duration(c, "console", "heartbeat", 0, &v), 0);
    assert_int_equal(v, 10 * USEC_PER_SEC);
    config_free(c);
}

static void test_config_unknown_key_names_line(void **state)
{
    (void)state;
    struct config *c = parse_ok("[console]\ndata_dir = /x\n\n[roles]\nalice = admin\n"
                                "[console]\ndata_dri = /y\n");
    assert_string_equal(config_get_str(c, "console", "data_dir", "?"), "/x");
    assert_int_equal(config_get_str(c, "roles", "alice", "") != NULL, 1);
    assert_int_equal(config_check_unused(c, NULL), -EINVAL);
    assert_non_null(strstr(config_error(c), "ward.conf:7"));
    assert_non_null(strstr(config_error(c), "data_dri"));
    config_free(c);
}

static void test_config_duration_too_large_is_an_error(void **state)
{
    (void)state;
    struct config *c = parse_ok("[a]\nt = 999999999999d\nok = 1000000d\n");
    uint64_t v;
    assert_int_equal(config_get_duration(c, "a", "t", 0, &v), -EINVAL);
    assert_non_null(strstr(config_error(c), "ward.conf:2:"));
    assert_int_equal(config_get_duration(c, "a", "ok", 0, &v), 0);
    assert_int_equal(v, 1000000ULL * 86400 * USEC_PER_SEC);
    assert_int_equal(clock_parse_time("-0555555555555m", &v), -EINVAL);
    config_free(c);
}

static void test_config_defaults_and_units(void **state)
{
    (void)state;
    struct config *c = parse_ok("[a]\nsize = 64M\nt = 15m\nyes = on\nd = 0.5\n");
    uint64_t v;
    double d;
    bool b;
    assert_int_equal(config_get_size(c, "a", "size", 0, &v), 0);
    assert_int_equal(v, 64ULL << 20);
    assert_int_equal(config_get_duration(c, "a", "t", 0, &v), 0);
    assert_int_equal(v, 15 * 60 * USEC_PER_SEC);
    assert_int_equal(config_get_bool(c, "a", "yes", false, &b), 0);
    assert_true(b);
    assert_int_equal(config_get_double(c, "a", "d", 0, &d), 0);
    assert_true(d > 0.49 && d < 0.51);
    assert_int_equal(config_get_u64(c, "a", "missing", 7, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(config_check_unused(c, NULL), 0);
    config_free(c);
}

static void test_config_ports_reads_list_default_and_empty(void **state)
{
    (void)state;
    struct config *c = parse_ok("[d]\nports = 22, 80 ,\t443,65535,1\nnone =\n");
    uint16_t ports[8];
    size_t n = 99;
    assert_int_equal(config_get_ports(c, "d", "ports", "", ports, 8, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(ports[0], 22);
    assert_int_equal(ports[1], 80);
    assert_int_equal(ports[2], 443);
    assert_int_equal(ports[3], 65535);
    assert_int_equal(ports[4], 1);
    assert_int_equal(config_get_ports(c, "d", "none", "53", ports, 8, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(config_get_ports(c, "d", "absent", "53,123", ports, 8, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(ports[1], 123);
    assert_int_equal(config_get_ports(c, "d", "exact", "1,2,3", ports, 3, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(config_check_unused(c, NULL), 0);
    config_free(c);
}

static void test_config_ports_rejects_hostile_lists(void **state)
{
    (void)state;
    static const struct {
        const char *value; /* the setting */
        const char *want;  /* in the message */
    } bad[] = {
        {",", "empty item"},
        {"22,,23", "empty item"},
        {"22,", "empty item"},
        {" , 22", "empty item"},
        {"22 23", "'22 23' is not a port"},
        {"0", "'0' is not a port"},
        {"00", "'00' is not a port"},
        {"65536", "'65536' is not a port"},
        {"99999999999999999999999", "'99999999999999999999999' is not a port"},
        {"18446744073709551638", "is not a port"}, /* 2^64 + 22 */
        {"-1", "'-1' is not a port"},
        {"+22", "'+22' is not a port"},
        {"0x16", "'0x16' is not a port"},
        {"22abc", "'22abc' is not a port"},
        {"ssh", "'ssh' is not a port"},
        {"80-90", "'80-90' is not a port"},
        {"22;23", "'22;23' is not a port"},
        {"22,22", "port 22 is listed twice"},
        {"1,2,3,4,5", "more than 4 ports (at '5')"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "[detect.x]\n\nports = %s\n", bad[i].value);
        struct config *c = parse_ok(text);
        uint16_t ports[4];
        size_t n = 99;
        assert_int_equal(config_get_ports(c, "detect.x", "ports", "", ports, 4, &n), -EINVAL);
        assert_int_equal(n, 0);
        const char *err = config_error(c);
        if (!strstr(err, "ward.conf:3: [detect.x] ports: ") || !strstr(err, bad[i].want))
            fail_msg("'%s': error \"%s\" does not contain \"%s\"", bad[i].value, err,
                     bad[i].want);
        config_free(c);
    }
}

static void test_config_ports_quotes_a_long_token_shortly(void **state)
{
    (void)state;
    char text[200];
    int off = snprintf(text, sizeof(text), "[d]\nports = 22,");
    memset(text + off, '7', 150);
    strcpy(text + off + 150, "\n");
    struct config *c = parse_ok(text);
    uint16_t ports[4];
    size_t n;
    assert_int_equal(config_get_ports(c, "d", "ports", "", ports, 4, &n), -EINVAL);
    assert_true(strlen(config_error(c)) < 120);
    assert_non_null(strstr(config_error(c), "is not a port"));
    config_free(c);
}

static void test_config_list_next_splits_at_commas_and_blanks(void **state)
{
    (void)state;
    const char *p = " ,a.example, 10.0.0.0/8\tb ,,c,";
    const char *want[] = {"a.example", "10.0.0.0/8", "b", "c"};
    const char *item;
    size_t n, i = 0;
    while ((item = config_list_next(&p, &n))) {
        assert_true(i < 4);
        assert_int_equal(n, strlen(want[i]));
        assert_memory_equal(item, want[i], n);
        i++;
    }
    assert_int_equal(i, 4);
    assert_null(config_list_next(&p, &n));
    p = "";
    assert_null(config_list_next(&p, &n));
    p = " , ,\t";
    assert_null(config_list_next(&p, &n));
}

static void test_config_load_names_missing_file(void **state)
{
    (void)state;
    struct config *c = NULL;
    char err[CONFIG_ERR_LEN];
    assert_int_equal(config_load("/nonexistent/ward.conf", &c, err, sizeof(err)), -ENOENT);
    assert_null(c);
    assert_non_null(strstr(err, "/nonexistent/ward.conf"));

    char path[] = "/tmp/ward-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "[console]\nlisten = tcp://127.0.0.1:1\nbad line\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    assert_int_equal(config_load(path, &c, err, sizeof(err)), -EINVAL);
    char want[64];
    snprintf(want, sizeof(want), "%s:3:", path);
    assert_non_null(strstr(err, want));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_syntax_error_names_line),
        cmocka_unit_test(test_config_duplicate_key_names_both_lines),
        cmocka_unit_test(test_config_over_long_line_names_line),
        cmocka_unit_test(test_config_bad_number_names_line),
        cmocka_unit_test(test_config_unknown_key_names_line),
        cmocka_unit_test(test_config_duration_too_large_is_an_error),
        cmocka_unit_test(test_config_defaults_and_units),
        cmocka_unit_test(test_config_ports_reads_list_default_and_empty),
        cmocka_unit_test(test_config_ports_rejects_hostile_lists),
        cmocka_unit_test(test_config_ports_quotes_a_long_token_shortly),
        cmocka_unit_test(test_config_list_next_splits_at_commas_and_blanks),
        cmocka_unit_test(test_config_load_names_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
