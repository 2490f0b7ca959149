/*
 * test_sink -- sink_result() builds the command result a console reads: the
 * command's id, ok, backend and detail, stamped with the time it was done; and
 * the sink's own return code comes back to the caller.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "sink.h"

struct seen {
    int calls;             /* messages received */
    int rc;                /* what send() returns */
    Ward__Message m;       /* the last message (its pointers are stale after the call) */
    Ward__CommandResult r; /* a copy of its result */
    char backend[32];      /* its backend, copied */
    char detail[128];      /* its detail, copied */
};

static int keep(void *arg, const Ward__Message *m)
{
    struct seen *s = arg;
    s->calls++;
    s->m = *m;
    if (m->kind_case == WARD__MESSAGE__KIND_RESULT && m->result) {
        s->r = *m->result;
        snprintf(s->backend, sizeof(s->backend), "%s", m->result->backend);
        snprintf(s->detail, sizeof(s->detail), "%s", m->result->detail);
    }
    return s->rc;
}

static void test_sink_result_fills_the_command_result(void **state)
{
    (void)state;
    struct seen seen = {0};
    struct sink out = {keep, &seen};
    clock_fake_set(1700000000123456ULL);
    assert_int_equal(sink_result(&out, 42, true, "nft", "10.1.2.3 isolated for 3600 s"), 0);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.m.kind_case, WARD__MESSAGE__KIND_RESULT);
    assert_int_equal(seen.m.created_usec, 1700000000123456ULL);
    assert_int_equal(seen.r.command_id, 42);
    assert_true(seen.r.ok);
    assert_int_equal(seen.r.done_usec, 1700000000123456ULL);
    assert_string_equal(seen.backend, "nft");
    assert_string_equal(seen.detail, "10.1.2.3 isolated for 3600 s");
    clock_fake_off();
}

static void test_sink_result_returns_the_sinks_code(void **state)
{
    (void)state;
    struct seen seen = {.rc = -ENOSPC};
    struct sink out = {keep, &seen};
    assert_int_equal(sink_result(&out, 7, false, "capture", "refused"), -ENOSPC);
    assert_false(seen.r.ok);
    assert_int_equal(sink_result(NULL, 7, false, "sensor", "no sink"), 0);
    assert_int_equal(seen.calls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_result_fills_the_command_result),
        cmocka_unit_test(test_sink_result_returns_the_sinks_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
