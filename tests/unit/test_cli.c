/*
 * test_cli -- wardctl's shared printing helpers: cells, ages, tables, JSON lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static void test_cli_ages(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(cli_fmt_age(0, b, sizeof(b)), "0s");
    assert_string_equal(cli_fmt_age(59, b, sizeof(b)), "59s");
    assert_string_equal(cli_fmt_age(192, b, sizeof(b)), "3m12s");
    assert_string_equal(cli_fmt_age(7500, b, sizeof(b)), "2h5m");
    assert_string_equal(cli_fmt_age(3 * 86400 + 4 * 3600 + 5, b, sizeof(b)), "3d4h");
}

static void test_cli_cells(void **state)
{
    (void)state;
    char b[64];
    json_t *v = json_string("2026-11-21T06:49:22.123456Z");
    cli_cell(v, CLI_TIME, b, sizeof(b));
    assert_string_equal(b, "2026-11-21 06:49:22");
    json_decref(v);
    v = json_pack("[i,s,i]", 22, "x", 80);
    cli_cell(v, CLI_LIST, b, sizeof(b));
    assert_string_equal(b, "22,x,80");
    json_decref(v);
    v = json_string("two\nlines\tand tab");
    cli_cell(v, CLI_STR, b, sizeof(b));
    assert_string_equal(b, "two lines and tab");
    json_decref(v);
    cli_cell(NULL, CLI_STR, b, sizeof(b));
    assert_string_equal(b, "");
    v = json_true();
    cli_cell(v, CLI_BOOL, b, sizeof(b));
    assert_string_equal(b, "yes");
    json_decref(v);
    v = json_integer(125);
    cli_cell(v, CLI_AGE, b, sizeof(b));
    assert_string_equal(b, "2m5s");
    json_decref(v);
}

static void test_cli_table_aligns_and_cuts(void **state)
{
    (void)state;
    static const struct cli_col cols[] = {
        {"NAME", "name", CLI_STR, 0},
        {"N", "n", CLI_INT, 0},
        {"NOTE", "note", CLI_STR, 8},
    };
    json_t *rows = json_pack("[{s:s,s:i,s:s},{s:s,s:i,s:s}]", "name", "edge-1", "n", 5, "note",
                             "short", "name", "b", "n", 1234, "note", "much longer than eight");
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    cli_print_table(f, cols, 3, rows);
    fclose(f);
    assert_string_equal(out, "NAME       N  NOTE\n"
                             "edge-1     5  short\n"
                             "b       1234  much ...\n");
    free(out);
    json_decref(rows);

    f = open_memstream(&out, &len);
    json_t *empty = json_array();
    cli_print_table(f, cols, 3, empty);
    fclose(f);
    assert_string_equal(out, "(none)\n");
    free(out);
    json_decref(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_ages),
        cmocka_unit_test(test_cli_cells),
        cmocka_unit_test(test_cli_table_aligns_and_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
