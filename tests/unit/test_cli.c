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
#include <sys/wait.h>
#include <unistd.h>

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

static void test_cli_table_lines_up_wide_text(void **state)
{
    (void)state;
    static const struct cli_col cols[] = {
        {"HOST", "host", CLI_STR, 0},
        {"N", "n", CLI_INT, 0},
        {"NOTE", "note", CLI_STR, 8},
    };
    /* "护士站-3" is 8 columns in 12 bytes; "影像科工作站01" 14 columns, cut to 5+"...". */
    json_t *rows = json_pack("[{s:s,s:i,s:s},{s:s,s:i,s:s}]", "host", "护士站-3", "n", 5, "note",
                             "影像科工作站01", "host", "pacs", "n", 12, "note", "ok");
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    cli_print_table(f, cols, 3, rows);
    fclose(f);
    assert_string_equal(out, "HOST       N  NOTE\n"
                             "护士站-3   5  影像...\n"
                             "pacs      12  ok\n");
    free(out);
    json_decref(rows);
}

static void test_cli_clean_hostile_text(void **state)
{
    (void)state;
    /* A DHCP host name that would clear the screen and retitle the terminal. */
    char a[] = "ws\x1b[2J\x1b]0;pwned\x07-01\tx\r\n";
    cli_clean(a);
    assert_string_equal(a, "ws?[2J?]0;pwned -01 x  ");
    /* C1 controls (U+009B is a one-character CSI), DEL, invalid UTF-8. */
    char b[] = "a\xc2\x9b" "31mb\x7f" "c\xff\xc0\xaf" "d\xe4\xb8";
    cli_clean(b);
    assert_string_equal(b, "a?31mb?c???d??");
    /* Overlong NUL, a surrogate, and beyond U+10FFFF. */
    char c[] = "\xc0\x80|\xed\xa0\x80|\xf4\x90\x80\x80|é";
    cli_clean(c);
    assert_string_equal(c, "??|???|????|é");
    assert_int_equal(cli_text_width("é護x"), 4);
    assert_int_equal(cli_text_width("e\xcc\x81"), 1); /* e + combining acute */
    char d[] = "ab護cd";
    assert_int_equal(cli_text_cut(d, 3), 2); /* the wide character does not fit */
    assert_string_equal(d, "ab");
}

/* What a child that guarded its output printed, read back through a pipe. */
static void test_cli_guard_output_filters_controls(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        cli_guard_output();
        printf("host \x1b]0;owned\x07name\tx\n");
        printf("\xe4");   /* a character split across two writes... */
        fflush(stdout);
        printf("\xb8\xad\xff|\xc2\x9b|\n"); /* ...comes out whole */
        printf("cut \xe6\x96");                  /* never finished */
        exit(0);
    }
    close(fds[1]);
    char buf[256];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)n;
    buf[got] = '\0';
    close(fds[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_string_equal(buf, "host ?]0;owned?name\tx\n"
                             "中?|?|\n"
                             "cut ??");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_ages),
        cmocka_unit_test(test_cli_cells),
        cmocka_unit_test(test_cli_table_lines_up_wide_text),
        cmocka_unit_test(test_cli_clean_hostile_text),
        cmocka_unit_test(test_cli_guard_output_filters_controls),
        cmocka_unit_test(test_cli_table_aligns_and_cuts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
