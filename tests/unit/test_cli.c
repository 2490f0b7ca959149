/*
 * test_cli -- wardctl's shared helpers: cells, ages, tables, JSON lines, and the
 * option parser every command uses.
 */
#include <errno.h>
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

/* ---------------------------------------------------------------- options */

static const struct cli_cmd parse_cmd = {"cmd", "cmd X Y [--options]", "a test command", NULL};

/* argv made of the words of line (getopt permutes it, so it is writable). */
struct words {
    int argc;          /* words */
    char *argv[16];    /* into buf, NULL after the last */
    char buf[256];     /* the words, NUL-separated */
};

static void words_make(struct words *w, const char *line)
{
    snprintf(w->buf, sizeof(w->buf), "%s", line);
    w->argc = 0;
    for (char *t = strtok(w->buf, " "); t && w->argc < 15; t = strtok(NULL, " "))
        w->argv[w->argc++] = t;
    w->argv[w->argc] = NULL;
}

/* cli_parse() over the words of line; what it printed to stderr lands in err. */
static int parse_line(const struct cli_syntax *syn, struct cli_opts *o, struct words *w,
                      const char *line, int *first, char *err, size_t cap)
{
    words_make(w, line);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    dup2(fileno(tmp), STDERR_FILENO);
    int rc = cli_parse(syn, o, w->argc, w->argv, first);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    rewind(tmp);
    size_t n = fread(err, 1, cap - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    return rc;
}

static int parse_factor(const char *arg, void *out)
{
    double *f = out;
    char *end;
    *f = strtod(arg, &end);
    return *end || end == arg || !(*f > 0 && *f <= 1) ? -EINVAL : 0;
}

static void test_cli_parse_stores_each_kind(void **state)
{
    (void)state;
    bool all = false;
    const char *sensor = NULL, *pick = NULL;
    uint64_t limit = 0;
    double factor = 0;
    const struct cli_opt opts[] = {
        CLI_FLAG("all", 'a', &all),
        CLI_STR("sensor", 0, &sensor),
        CLI_CHOICE("zombie", &pick, "zombie"),
        CLI_CHOICE("unclaimed", &pick, "unclaimed"),
        CLI_UINT("limit", 'n', &limit, 1, 100, "wants a number from 1 to 100"),
        CLI_FN("factor", 0, &factor, parse_factor, "give a number in (0, 1]"),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {&parse_cmd, opts, 2, 2, CLI_MIXED};
    struct cli_opts o = {"sock", false};
    struct words w;
    char err[512];
    int first = -1;
    assert_int_equal(parse_line(&syn, &o, &w,
                                "cmd X --sensor s1 -a --zombie --unclaimed -n 7 --json "
                                "--factor=0.25 Y",
                                &first, err, sizeof(err)),
                     0);
    assert_string_equal(err, "");
    assert_true(all);
    assert_string_equal(sensor, "s1");
    assert_string_equal(pick, "unclaimed"); /* the last given wins */
    assert_int_equal(limit, 7);
    assert_true(factor == 0.25);
    assert_true(o.json);
    /* getopt moved the operands after the options. */
    assert_int_equal(first, w.argc - 2);
    assert_string_equal(w.argv[first], "X");
    assert_string_equal(w.argv[first + 1], "Y");
}

static void test_cli_parse_options_first_stops_at_an_operand(void **state)
{
    (void)state;
    const struct cli_syntax syn = {&parse_cmd, NULL, 1, CLI_ARGS_ANY, CLI_OPTIONS_FIRST};
    struct cli_opts o = {"sock", false};
    struct words w;
    char err[512];
    int first = -1;
    assert_int_equal(parse_line(&syn, &o, &w, "cmd --json list --bogus", &first, err,
                                sizeof(err)),
                     0);
    assert_true(o.json);
    assert_int_equal(first, 2);
    assert_string_equal(w.argv[3], "--bogus"); /* an operand now: the command's to judge */
}

static void test_cli_parse_says_what_is_wrong(void **state)
{
    (void)state;
    uint64_t limit = 0, id = 0;
    double factor = 0;
    const struct cli_opt opts[] = {
        CLI_UINT("limit", 'n', &limit, 1, UINT64_MAX, "wants a positive number"),
        CLI_UINT("incident", 0, &id, 1, INT64_MAX, NULL),
        CLI_FN("factor", 0, &factor, parse_factor, "give a number in (0, 1]"),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {&parse_cmd, opts, 1, 1, CLI_MIXED};
    static const char usage[] = "usage: wardctl cmd X Y [--options]\n";
    static const struct {
        const char *line; /* the command line */
        const char *err;  /* what it prints: all of it, or (starting "~") a part */
    } cases[] = {
        {"cmd X --limit 0", "wardctl: --limit wants a positive number\n"},
        {"cmd X --limit -3", "wardctl: --limit wants a positive number\n"},
        {"cmd X -n 2x", "wardctl: --limit wants a positive number\n"},
        {"cmd X --limit 18446744073709551616", "wardctl: --limit wants a positive number\n"},
        {"cmd X --incident 0", usage},
        {"cmd X --incident 9223372036854775808", usage},
        {"cmd X --factor 2", "wardctl: --factor 2: give a number in (0, 1]\n"},
        {"cmd X --help", usage},
        {"cmd -h X", usage},
        {"cmd", usage},
        {"cmd X Y", usage},
        {"cmd X --bogus", "~cmd: unrecognized option '--bogus'\nusage: wardctl cmd"},
        {"cmd X --limit", "~cmd: option '--limit' requires an argument\nusage: wardctl cmd"},
    };
    for (size_t i = 0; i < WARD_ARRAY_LEN(cases); i++) {
        struct cli_opts o = {"sock", false};
        struct words w;
        char err[512];
        int first = -1;
        int rc = parse_line(&syn, &o, &w, cases[i].line, &first, err, sizeof(err));
        if (rc != 2 || (cases[i].err[0] == '~' ? !strstr(err, cases[i].err + 1)
                                               : strcmp(err, cases[i].err) != 0))
            fail_msg("%s: rc %d, printed \"%s\"", cases[i].line, rc, err);
        assert_int_equal(first, -1);
    }
    /* The largest a range allows is accepted, blanks and '+' before it as strtoull takes. */
    struct cli_opts o = {"sock", false};
    struct words w;
    char err[512];
    assert_int_equal(parse_line(&syn, &o, &w, "cmd X --incident +9223372036854775807", NULL, err,
                                sizeof(err)),
                     0);
    assert_int_equal(id, INT64_MAX);
}

static void test_cli_parse_spellings_of_one_option(void **state)
{
    (void)state;
    const char *dept = NULL, *pick = NULL, *host = NULL;
    const struct cli_opt opts[] = {
        CLI_STR("dept", 0, &dept),
        CLI_STR("department", 0, &dept),
        CLI_CHOICE("unclaimed", &pick, "unclaimed"),
        CLI_CHOICE("unseen", &pick, "unseen"),
        CLI_STR("host", 0, &host),
        CLI_OPTS_END,
    };
    const struct cli_syntax syn = {&parse_cmd, opts, 0, 0, CLI_MIXED};
    struct cli_opts o = {"sock", false};
    struct words w;
    char err[512];
    /* "--dep" fits both spellings of one option: not ambiguous. */
    assert_int_equal(parse_line(&syn, &o, &w, "cmd --dep ICU", NULL, err, sizeof(err)), 0);
    assert_string_equal(dept, "ICU");
    /* "--un" fits two options. */
    assert_int_equal(parse_line(&syn, &o, &w, "cmd --un", NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "'--un' is ambiguous; possibilities: '--unclaimed' '--unseen'"));
    /* --help comes after the command's own options unless the table places it. */
    assert_int_equal(parse_line(&syn, &o, &w, "cmd --h", NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "possibilities: '--host' '--help'"));
    const struct cli_opt first_opts[] = {CLI_JSON, CLI_HELP, CLI_STR("host", 0, &host),
                                         CLI_OPTS_END};
    const struct cli_syntax syn2 = {&parse_cmd, first_opts, 0, 0, CLI_MIXED};
    assert_int_equal(parse_line(&syn2, &o, &w, "cmd --h", NULL, err, sizeof(err)), 2);
    assert_non_null(strstr(err, "possibilities: '--help' '--host'"));
    assert_int_equal(parse_line(&syn2, &o, &w, "cmd --ho h2 --json", NULL, err, sizeof(err)), 0);
    assert_string_equal(host, "h2");
    assert_true(o.json);
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
        cmocka_unit_test(test_cli_parse_stores_each_kind),
        cmocka_unit_test(test_cli_parse_options_first_stops_at_an_operand),
        cmocka_unit_test(test_cli_parse_says_what_is_wrong),
        cmocka_unit_test(test_cli_parse_spellings_of_one_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
