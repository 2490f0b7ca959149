/*
 * test_event -- the event table: one event per (kind, subject) per window,
 * revisions with the same uid no more often than the interval, closing on idle
 * and window ends, eviction of the oldest when full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "event.h"
#include "event_json.h"
#include "sink.h"

#define SEC USEC_PER_SEC
#define T0 (1700000000ULL * SEC)

struct seen {
    char uid[64];      /* uid */
    unsigned revision; /* revision */
    bool closed;       /* closed */
    uint64_t count;    /* count */
    char summary[256]; /* summary */
    size_t figures;    /* figures */
    char src[48];      /* src */
};

static struct seen seen[256];
static size_t n_seen;

static int capture(void *arg, const Ward__Message *m)
{
    (void)arg;
    assert_int_equal(m->kind_case, WARD__MESSAGE__KIND_EVENT);
    struct seen *s = &seen[n_seen++];
    snprintf(s->uid, sizeof(s->uid), "%s", m->event->uid);
    s->revision = m->event->revision;
    s->closed = m->event->closed;
    s->count = m->event->count;
    s->figures = m->event->n_figures;
    snprintf(s->summary, sizeof(s->summary), "%s", m->event->summary);
    snprintf(s->src, sizeof(s->src), "%s", m->event->src);
    return 0;
}

static const struct sink sink = {capture, NULL};

static void finding(struct event_report *r, const char *src, uint64_t count)
{
    event_report_init(r, WARD__EVENT_KIND__PORTSCAN, "horizontal", EVENT_KEY_SRC);
    assert_int_equal(addr_parse(src, &r->src), 0);
    r->count = count;
    event_report_figure(r, "targets", (double)count);
    event_report_summary(r, "%s contacted %llu hosts", src, (unsigned long long)count);
}

static int reset(void **state)
{
    (void)state;
    n_seen = 0;
    return 0;
}

static void test_event_revisions_share_a_uid(void **state)
{
    (void)state;
    struct event_table *et = event_table_new(16, &sink, 10 * SEC, 600 * SEC, 3600 * SEC);
    struct event_report r;
    for (unsigned i = 1; i <= 100; i++) {
        finding(&r, "10.1.2.3", i);
        assert_int_equal(event_table_report(et, &r, T0 + i * SEC), 0);
        event_table_tick(et, T0 + i * SEC);
    }
    event_table_flush(et, T0 + 200 * SEC);
    /* Revision 1 at once, then at most one per 10 s, then the closing one. */
    assert_true(n_seen >= 10 && n_seen <= 12);
    for (size_t i = 0; i < n_seen; i++) {
        assert_string_equal(seen[i].uid, seen[0].uid);
        assert_int_equal(seen[i].revision, i + 1);
        assert_int_equal(seen[i].closed, i == n_seen - 1);
    }
    assert_int_equal(seen[n_seen - 1].count, 100);
    assert_string_equal(seen[n_seen - 1].summary, "10.1.2.3 contacted 100 hosts");
    assert_int_equal(seen[0].figures, 1);
    struct event_stats st;
    event_table_stats(et, &st);
    assert_int_equal(st.opened, 1);
    assert_true(st.suppressed > 80);
    event_table_free(et);
}

static void test_event_idle_closes_and_reopens_with_new_uid(void **state)
{
    (void)state;
    struct event_table *et = event_table_new(16, &sink, 10 * SEC, 60 * SEC, 3600 * SEC);
    struct event_report r;
    finding(&r, "10.1.2.3", 5);
    event_table_report(et, &r, T0);
    event_table_tick(et, T0 + 61 * SEC);
    assert_int_equal(n_seen, 2);
    assert_true(seen[1].closed);
    finding(&r, "10.1.2.3", 7);
    r.first_usec = T0 + 70 * SEC;
    event_table_report(et, &r, T0 + 70 * SEC);
    assert_int_equal(n_seen, 3);
    assert_string_not_equal(seen[2].uid, seen[0].uid);
    assert_int_equal(seen[2].revision, 1);
    event_table_free(et);
}

static void test_event_subjects_are_separate(void **state)
{
    (void)state;
    struct event_table *et = event_table_new(16, &sink, 10 * SEC, 60 * SEC, 3600 * SEC);
    struct event_report r;
    finding(&r, "10.1.2.3", 5);
    event_table_report(et, &r, T0);
    finding(&r, "10.1.2.4", 5);
    event_table_report(et, &r, T0);
    r.kind = WARD__EVENT_KIND__LATERAL;
    event_table_report(et, &r, T0);
    assert_int_equal(event_table_count(et), 3);
    assert_string_not_equal(seen[0].uid, seen[1].uid);
    assert_non_null(strstr(seen[2].uid, "lateral-"));
    assert_true(event_table_is_open(et, &r));
    event_table_free(et);
}

static void test_event_full_table_closes_the_oldest(void **state)
{
    (void)state;
    struct event_table *et = event_table_new(8, &sink, 10 * SEC, 600 * SEC, 3600 * SEC);
    struct event_report r;
    char src[32];
    for (unsigned i = 0; i < 40; i++) {
        snprintf(src, sizeof(src), "10.9.0.%u", i + 1);
        finding(&r, src, i);
        event_table_report(et, &r, T0 + i * SEC);
    }
    struct event_stats st;
    event_table_stats(et, &st);
    assert_true(st.evictions >= 32);
    assert_true(event_table_count(et) <= 8);
    size_t closed = 0;
    for (size_t i = 0; i < n_seen; i++)
        closed += seen[i].closed;
    assert_int_equal(closed, st.evictions);
    event_table_free(et);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_event_revisions_share_a_uid, reset),
        cmocka_unit_test_setup(test_event_idle_closes_and_reopens_with_new_uid, reset),
        cmocka_unit_test_setup(test_event_subjects_are_separate, reset),
        cmocka_unit_test_setup(test_event_full_table_closes_the_oldest, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
