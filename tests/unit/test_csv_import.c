/*
 * test_csv_import -- the register reader: headers (English and Chinese), quoting,
 * line numbers, every kind of bad row, and hostile text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "csv_import.h"

static int parse(const char *text, size_t len, json_t **rows, json_t **errors, char *err)
{
    return csv_import_parse(text, len, rows, errors, err, 256);
}

static const char *error_of(json_t *errors, uint64_t line)
{
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e) {
        if (json_u64(e, "line", 0) == line)
            return json_str(e, "error", "");
    }
    return NULL;
}

static void test_csv_import_good_rows_normalised(void **state)
{
    (void)state;
    static const char text[] = "ip,mac,hostname,criticality,purchase_year,system\n"
                               "10.0.0.1,00-0C-29-59-FD-21,a,1,2020,HIS\n"
                               "2001:DB8::1,000c.2959.fd22,b,,,\n"
                               ",00:0c:29:59:fd:23,\"quoted, name\",4,,PACS\n";
    json_t *rows, *errors;
    char err[256];
    assert_int_equal(parse(text, strlen(text), &rows, &errors, err), 0);
    assert_int_equal(json_array_size(rows), 3);
    assert_int_equal(json_array_size(errors), 0);
    json_t *r = json_array_get(rows, 0);
    assert_string_equal(json_str(r, "mac", ""), "00:0c:29:59:fd:21");
    assert_int_equal(json_u64(r, "criticality", 0), 1);
    assert_int_equal(json_u64(r, "purchase_year", 0), 2020);
    assert_int_equal(json_u64(r, "line", 0), 2);
    assert_string_equal(json_str(json_array_get(rows, 1), "ip", ""), "2001:db8::1");
    assert_string_equal(json_str(json_array_get(rows, 1), "mac", ""), "00:0c:29:59:fd:22");
    assert_string_equal(json_str(json_array_get(rows, 2), "hostname", ""), "quoted, name");
    json_decref(rows);
    json_decref(errors);
}

static void test_csv_import_chinese_header_bom_crlf(void **state)
{
    (void)state;
    static const char text[] = "\xef\xbb\xbfIP地址,科室,责任人,业务系统\r\n"
                               "10.0.0.1,放射科,李娜,PACS\r\n";
    json_t *rows, *errors;
    char err[256];
    assert_int_equal(parse(text, strlen(text), &rows, &errors, err), 0);
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(json_str(json_array_get(rows, 0), "department", ""), "放射科");
    assert_string_equal(json_str(json_array_get(rows, 0), "owner", ""), "李娜");
    json_decref(rows);
    json_decref(errors);
}

static void test_csv_import_each_bad_line_named(void **state)
{
    (void)state;
    static const char text[] = "ip,mac,criticality,purchase_year\n"
                               "10.0.0.256,,,\n"             /* 2 bad address */
                               "10.0.0.2,00:0c:29:zz:00:01,,\n" /* 3 bad MAC */
                               "10.0.0.3,,high,\n"            /* 4 criticality */
                               "10.0.0.4,,0,\n"               /* 5 criticality */
                               "10.0.0.5,,,1850\n"            /* 6 year */
                               "10.0.0.6,00:0c:29:00:00:01,,\n" /* 7 good */
                               "10.0.0.7,00:0C:29:00:00:01,,\n" /* 8 duplicate MAC */
                               "10.0.0.6,,,\n"                /* 9 duplicate address */
                               "10.0.0.9,,\n"                 /* 10 column count */
                               ",,,\n"                        /* 11 blank row: skipped */
                               "\"multi\nline\",,,\n"         /* 12-13: bad address, line 12 */
                               ",,2,\n"                       /* 14 neither */
                               "10.0.0.10,01:00:5e:00:00:01,,\n"; /* 15 multicast MAC */
    json_t *rows, *errors;
    char err[256];
    assert_int_equal(parse(text, strlen(text), &rows, &errors, err), 0);
    assert_int_equal(json_array_size(rows), 1);
    assert_non_null(strstr(error_of(errors, 2), "bad address '10.0.0.256'"));
    assert_non_null(strstr(error_of(errors, 3), "bad MAC"));
    assert_non_null(strstr(error_of(errors, 4), "unknown criticality 'high'"));
    assert_non_null(strstr(error_of(errors, 5), "unknown criticality '0'"));
    assert_non_null(strstr(error_of(errors, 6), "bad purchase year"));
    assert_non_null(strstr(error_of(errors, 8), "duplicate MAC 00:0c:29:00:00:01 (first on line 7)"));
    assert_non_null(strstr(error_of(errors, 9), "duplicate address 10.0.0.6"));
    assert_non_null(strstr(error_of(errors, 10), "wrong column count: 3 fields, the header has 4"));
    assert_null(error_of(errors, 11));
    assert_non_null(strstr(error_of(errors, 12), "bad address 'multi?line'"));
    assert_non_null(strstr(error_of(errors, 14), "needs an address or a MAC"));
    assert_non_null(strstr(error_of(errors, 15), "bad MAC"));
    assert_int_equal(json_array_size(errors), 11);
    json_decref(rows);
    json_decref(errors);
}

static void test_csv_import_bad_header_refused(void **state)
{
    (void)state;
    json_t *rows, *errors;
    char err[256];
    assert_int_equal(parse("", 0, &rows, &errors, err), -EINVAL);
    assert_non_null(strstr(err, "no header"));
    assert_int_equal(parse("owner,department\nx,y\n", 21, &rows, &errors, err), -EINVAL);
    assert_non_null(strstr(err, "needs an 'ip' or a 'mac'"));
    assert_int_equal(parse("ip,IP\n", 6, &rows, &errors, err), -EINVAL);
    assert_non_null(strstr(err, "appears twice"));
    assert_int_equal(parse("ip,colour\n", 10, &rows, &errors, err), -EINVAL);
    assert_non_null(strstr(err, "unknown column 'colour'"));
    assert_null(rows);
    assert_null(errors);
}

static void test_csv_import_hostile_fields(void **state)
{
    (void)state;
    char *text = malloc(4096);
    char longf[400];
    memset(longf, 'x', sizeof(longf) - 1);
    longf[sizeof(longf) - 1] = '\0';
    int n = snprintf(text, 4096, "ip,hostname\n10.0.0.1,%s\n10.0.0.2,bad\xff\xfeutf8\n"
                                 "10.0.0.3,over\xc0\xaflong\n10.0.0.4,nul\n", longf);
    text[n - 4] = '\0'; /* NUL inside the last field: "nul" -> "n\0l" */
    text[n - 4] = 'u';
    json_t *rows, *errors;
    char err[256];
    assert_int_equal(parse(text, (size_t)n, &rows, &errors, err), 0);
    assert_non_null(strstr(error_of(errors, 2), "longer than"));
    assert_non_null(strstr(error_of(errors, 3), "not UTF-8"));
    assert_non_null(strstr(error_of(errors, 4), "not UTF-8"));
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
    json_decref(errors);
    /* An embedded NUL byte is refused, not silently cut. */
    static const char nul[] = "ip,hostname\n10.0.0.5,a\0b\n";
    assert_int_equal(parse(nul, sizeof(nul) - 1, &rows, &errors, err), 0);
    assert_int_equal(json_array_size(rows), 0);
    assert_non_null(error_of(errors, 2));
    json_decref(rows);
    json_decref(errors);
    free(text);
}

static void test_csv_import_every_truncation(void **state)
{
    (void)state;
    static const char text[] = "\xef\xbb\xbfip,mac,hostname\r\n10.0.0.1,00:0c:29:00:00:01,\"a\"\"b\"\r\n"
                               "10.0.0.2,,\"unterminated\n";
    for (size_t n = 0; n <= sizeof(text) - 1; n++) {
        json_t *rows = NULL, *errors = NULL;
        char err[256];
        int rc = parse(text, n, &rows, &errors, err);
        assert_true(rc == 0 || rc == -EINVAL);
        json_decref(rows);
        json_decref(errors);
    }
}

static void test_csv_import_too_big(void **state)
{
    (void)state;
    json_t *rows, *errors;
    char err[256];
    assert_int_equal(parse("ip\n", CSV_IMPORT_MAX_BYTES + 1, &rows, &errors, err), -EFBIG);
}

static void test_csv_import_mac_forms(void **state)
{
    (void)state;
    char out[18];
    assert_int_equal(csv_import_mac("00:0C:29:59:FD:21", out, sizeof(out)), 0);
    assert_string_equal(out, "00:0c:29:59:fd:21");
    assert_int_equal(csv_import_mac("000c2959fd21", out, sizeof(out)), 0);
    assert_int_equal(csv_import_mac("00:00:00:00:00:00", out, sizeof(out)), -EINVAL);
    assert_int_equal(csv_import_mac("00:0c:29:59:fd", out, sizeof(out)), -EINVAL);
    assert_int_equal(csv_import_mac("00:0c:29:59:fd:21:22", out, sizeof(out)), -EINVAL);
    assert_int_equal(csv_import_mac("g0:0c:29:59:fd:21", out, sizeof(out)), -EINVAL);
    assert_int_equal(csv_import_mac("", out, sizeof(out)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_import_good_rows_normalised),
        cmocka_unit_test(test_csv_import_chinese_header_bom_crlf),
        cmocka_unit_test(test_csv_import_each_bad_line_named),
        cmocka_unit_test(test_csv_import_bad_header_refused),
        cmocka_unit_test(test_csv_import_hostile_fields),
        cmocka_unit_test(test_csv_import_every_truncation),
        cmocka_unit_test(test_csv_import_too_big),
        cmocka_unit_test(test_csv_import_mac_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
