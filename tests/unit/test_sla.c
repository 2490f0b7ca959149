/*
 * test_sla -- the deadline clocks: the table's defaults, the config, and the
 * notifier: a real hook script called exactly once per (incident, clock, stage)
 * with the incident as JSON, and acknowledgement stopping the director clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "config.h"
#include "incident.h"
#include "incident_fx.h"
#include "sla.h"

#define MIN (60 * USEC_PER_SEC)

static void test_sla_defaults_follow_the_table(void **state)
{
    (void)state;
    struct sla_config cfg;
    sla_config_default(&cfg);
    struct sla_status s;
    sla_evaluate(&cfg, 2, SLA_DIRECTOR, INCIDENT_FX_T0, 0, INCIDENT_FX_T0 + 9 * MIN, false, &s);
    assert_int_equal(s.state, SLA_STATE_RUNNING);
    assert_int_equal(s.deadline_usec, INCIDENT_FX_T0 + 15 * MIN);
    char buf[32];
    assert_string_equal(sla_format(&s, buf, sizeof(buf)), "6m00s left");
    sla_evaluate(&cfg, 2, SLA_DIRECTOR, INCIDENT_FX_T0, 0, INCIDENT_FX_T0 + 11 * MIN, false, &s);
    assert_int_equal(s.state, SLA_STATE_WARNING);
    sla_evaluate(&cfg, 2, SLA_DIRECTOR, INCIDENT_FX_T0, 0, INCIDENT_FX_T0 + 18 * MIN, false, &s);
    assert_int_equal(s.state, SLA_STATE_OVERDUE);
    assert_string_equal(sla_format(&s, buf, sizeof(buf)), "3m00s over");
    sla_evaluate(&cfg, 2, SLA_DIRECTOR, INCIDENT_FX_T0, INCIDENT_FX_T0 + 20 * MIN,
                 INCIDENT_FX_T0 + 30 * MIN, false, &s);
    assert_int_equal(s.state, SLA_STATE_MET_LATE);
    sla_evaluate(&cfg, 2, SLA_LEADERSHIP, INCIDENT_FX_T0, 0, INCIDENT_FX_T0, false, &s);
    assert_int_equal(s.deadline_usec, INCIDENT_FX_T0 + 30 * MIN);
    sla_evaluate(&cfg, 1, SLA_LEADERSHIP, INCIDENT_FX_T0, 0, INCIDENT_FX_T0, false, &s);
    assert_int_equal(s.state, SLA_STATE_OVERDUE); /* "at once" */
    sla_evaluate(&cfg, 4, SLA_LEADERSHIP, INCIDENT_FX_T0, 0, INCIDENT_FX_T0, false, &s);
    assert_int_equal(s.state, SLA_STATE_NONE);
    sla_evaluate(&cfg, 4, SLA_HANDLING, INCIDENT_FX_T0, 0, INCIDENT_FX_T0, true, &s);
    assert_int_equal(s.state, SLA_STATE_MISSED);
    sla_evaluate(&cfg, 4, SLA_DIRECTOR, INCIDENT_FX_T0, 0, INCIDENT_FX_T0, false, &s);
    assert_true(s.deadline_usec > INCIDENT_FX_T0);
    assert_true(s.deadline_usec <= INCIDENT_FX_T0 + 24 * 60 * MIN);
}

static void test_sla_config_overrides_and_errors(void **state)
{
    (void)state;
    static const char good[] = "[deadlines]\nii_director = 10m\niv_leadership = 1d\n"
                               "i_leadership = none\nwarn_before = 2m\n"
                               "[notify]\ncommand = /usr/local/bin/page\ntimeout = 3s\n";
    static const char bad[] = "[deadlines]\nii_director = soon\n";
    static const char rel[] = "[notify]\ncommand = page.sh\n";
    struct config *cfg = NULL;
    char err[256];
    struct sla_config s;
    assert_int_equal(config_parse("t.conf", good, sizeof(good) - 1, &cfg, err, sizeof(err)), 0);
    assert_int_equal(sla_config_load(&s, cfg), 0);
    assert_int_equal(s.deadline_usec[2][SLA_DIRECTOR], 10 * MIN);
    assert_int_equal(s.deadline_usec[4][SLA_LEADERSHIP], 24 * 60 * MIN);
    assert_int_equal(s.deadline_usec[1][SLA_LEADERSHIP], SLA_NO_CLOCK);
    assert_int_equal(s.warn_before_usec, 2 * MIN);
    assert_string_equal(s.notify_cmd, "/usr/local/bin/page");
    config_free(cfg);
    assert_int_equal(config_parse("t.conf", bad, sizeof(bad) - 1, &cfg, err, sizeof(err)), 0);
    assert_int_equal(sla_config_load(&s, cfg), -EINVAL);
    assert_non_null(strstr(config_error(cfg), "t.conf:2"));
    config_free(cfg);
    assert_int_equal(config_parse("t.conf", rel, sizeof(rel) - 1, &cfg, err, sizeof(err)), 0);
    assert_int_equal(sla_config_load(&s, cfg), -EINVAL);
    assert_non_null(strstr(config_error(cfg), "absolute path"));
    config_free(cfg);
}

/* A scratch directory with hook.sh, which appends its stdin as one line to notices. */
struct hook {
    char dir[64];      /* mkdtemp */
    char script[128];  /* dir/hook.sh */
    char notices[128]; /* dir/notices */
    char config[512];  /* console config naming the hook */
    struct incident_fx *fx;
};

/* A hook running body, with [notify] timeout set to timeout. */
static int setup_hook_with(void **state, const char *body, const char *timeout)
{
    struct hook *h = calloc(1, sizeof(*h));
    snprintf(h->dir, sizeof(h->dir), "/tmp/ward-test-sla.XXXXXX");
    if (!mkdtemp(h->dir))
        return -1;
    snprintf(h->script, sizeof(h->script), "%s/hook.sh", h->dir);
    snprintf(h->notices, sizeof(h->notices), "%s/notices", h->dir);
    FILE *f = fopen(h->script, "w");
    if (!f)
        return -1;
    fprintf(f, "#!/bin/sh\ncat >> '%s'\n%s\n", h->notices, body);
    fclose(f);
    chmod(h->script, 0700);
    snprintf(h->config, sizeof(h->config),
             "[incidents]\nhome_net = 10.0.0.0/8\n[grading]\ncore_hosts = 10.1.5.10\n"
             "[notify]\ncommand = %s\ntimeout = %s\n",
             h->script, timeout);
    h->fx = incident_fx_open(h->config);
    *state = h;
    return h->fx ? 0 : -1;
}

static int setup_hook(void **state)
{
    return setup_hook_with(state, "exit 3", "10s");
}

/* A pager hook that hangs. */
static int setup_slow_hook(void **state)
{
    return setup_hook_with(state, "exec sleep 60", "1s");
}

static int teardown_hook(void **state)
{
    struct hook *h = *state;
    incident_fx_close(h->fx);
    unlink(h->notices);
    unlink(h->script);
    rmdir(h->dir);
    free(h);
    return 0;
}

/* Reads the notices file as a JSON array (one object per line). */
static json_t *notices(struct hook *h)
{
    json_t *arr = json_array();
    FILE *f = fopen(h->notices, "r");
    if (!f)
        return arr;
    char line[65536];
    while (fgets(line, sizeof(line), f)) {
        json_t *o = json_loads(line, 0, NULL);
        assert_non_null(o);
        json_array_append_new(arr, o);
    }
    fclose(f);
    return arr;
}

static size_t count(const json_t *arr, const char *clock, const char *stage)
{
    size_t n = 0, i;
    const json_t *o;
    json_array_foreach(arr, i, o) {
        if (strcmp(json_str(o, "clock", ""), clock) == 0 &&
            strcmp(json_str(o, "stage", ""), stage) == 0)
            n++;
    }
    return n;
}

/* A level II incident: lateral movement reaching the core host. */
static void make_level_ii(struct hook *h)
{
    struct incident_fx_event e = {.uid = "l1", .kind = WARD__EVENT_KIND__LATERAL,
                                  .src = "10.1.1.5", .dst = "10.1.5.10"};
    assert_int_equal(incident_fx_event(h->fx, &e), 0);
}

/* Lets the notifiers started finish: the console never waits for them, and a
 * tick records the outcome of those that ended. */
static void settle(struct hook *h)
{
    for (int i = 0; i < 2000 && incident_notifiers_running(&h->fx->c) > 0; i++) {
        struct timespec nap = {0, 5 * 1000 * 1000};
        nanosleep(&nap, NULL);
        incident_module.on_tick(&h->fx->c, clock_now_usec());
    }
    assert_int_equal(incident_notifiers_running(&h->fx->c), 0);
}

/* Ticks every 30 s until minutes after T0, then settles. */
static void run_until(struct hook *h, unsigned minutes)
{
    while (clock_now_usec() < INCIDENT_FX_T0 + minutes * MIN) {
        clock_fake_advance(30 * USEC_PER_SEC);
        incident_module.on_tick(&h->fx->c, clock_now_usec());
    }
    settle(h);
}

static void test_sla_unacknowledged_ii_notifies_once(void **state)
{
    struct hook *h = *state;
    make_level_ii(h);
    run_until(h, 14);
    json_t *arr = notices(h);
    assert_int_equal(count(arr, "director", "warning"), 1);
    assert_int_equal(count(arr, "director", "overdue"), 0);
    json_decref(arr);

    run_until(h, 20);
    arr = notices(h);
    assert_int_equal(count(arr, "director", "overdue"), 1);
    assert_int_equal(json_array_size(arr), 2);
    const json_t *n = json_array_get(arr, 1);
    assert_string_equal(json_str(n, "type", ""), "deadline");
    assert_int_equal(json_integer_value(json_object_get(n, "incident_id")), 1);
    assert_string_equal(json_str(n, "deadline", ""), "2025-11-21T08:15:00.000000Z");
    const json_t *inc = json_object_get(n, "incident");
    assert_string_equal(json_str(inc, "level", ""), "II");
    assert_string_equal(json_str(inc, "state", ""), "recorded");
    assert_int_equal(json_array_size(json_object_get(inc, "hosts")), 2);
    assert_int_equal(json_array_size(json_object_get(inc, "clocks")), 3);
    json_decref(arr);

    /* The calls and the hook's exit status are in the audit log. */
    json_t *i1 = NULL;
    char err[256];
    assert_int_equal(incident_fx_call(h->fx, &incident_fx_alice, "incident.show",
                                      json_pack("{s:i}", "id", 1), &i1, err, sizeof(err)),
                     0);
    size_t escalations = 0, outcomes = 0, i;
    const json_t *row;
    json_array_foreach(json_object_get(i1, "timeline"), i, row) {
        const char *action = json_str(row, "action", "");
        const json_t *d = json_object_get(row, "details");
        if (strcmp(action, "incident.escalate") == 0) {
            escalations++;
            assert_string_equal(json_str(row, "actor", ""), "ward");
            assert_true(json_integer_value(json_object_get(d, "pid")) > 0);
        } else if (strcmp(action, "incident.notified") == 0) {
            outcomes++;
            assert_string_equal(json_str(row, "actor", ""), "ward");
            assert_int_equal(json_integer_value(json_object_get(d, "exit_status")), 3);
        }
    }
    assert_int_equal(escalations, 2);
    assert_int_equal(outcomes, 2);
    json_decref(i1);
}

static void test_sla_ack_stops_director_clock(void **state)
{
    struct hook *h = *state;
    make_level_ii(h);
    run_until(h, 5);
    char err[256];
    assert_int_equal(incident_fx_call(h->fx, &incident_fx_alice, "incident.ack",
                                      json_pack("{s:i}", "id", 1), NULL, err, sizeof(err)),
                     0);
    run_until(h, 20);
    json_t *arr = notices(h);
    assert_int_equal(count(arr, "director", "warning"), 0);
    assert_int_equal(count(arr, "director", "overdue"), 0);
    json_decref(arr);
    /* Leadership (30 min) still runs, and notify --to leadership stops it. */
    run_until(h, 26);
    arr = notices(h);
    assert_int_equal(count(arr, "leadership", "warning"), 1);
    json_decref(arr);
    assert_int_equal(incident_fx_call(h->fx, &incident_fx_alice, "incident.notify",
                                      json_pack("{s:i, s:s}", "id", 1, "to", "leadership"),
                                      NULL, err, sizeof(err)),
                     0);
    run_until(h, 40);
    arr = notices(h);
    assert_int_equal(count(arr, "leadership", "overdue"), 0);
    json_decref(arr);
    assert_int_equal(incident_fx_call(h->fx, &incident_fx_alice, "incident.notify",
                                      json_pack("{s:i, s:s}", "id", 1, "to", "everyone"),
                                      NULL, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "director or leadership"));
}

static void test_sla_late_tick_skips_stale_warning(void **state)
{
    struct hook *h = *state;
    make_level_ii(h);
    clock_fake_advance(16 * MIN);
    incident_module.on_tick(&h->fx->c, clock_now_usec());
    incident_module.on_tick(&h->fx->c, clock_now_usec());
    settle(h);
    json_t *arr = notices(h);
    assert_int_equal(count(arr, "director", "warning"), 0);
    assert_int_equal(count(arr, "director", "overdue"), 1);
    assert_int_equal(count(arr, "leadership", "warning"), 0);
    json_decref(arr);
}

static void test_sla_slow_notifier_does_not_block(void **state)
{
    struct hook *h = *state;
    make_level_ii(h);
    clock_fake_advance(14 * MIN);
    incident_module.on_tick(&h->fx->c, clock_now_usec());
    /* The tick started the hook and came back while it still runs. */
    assert_int_equal(incident_notifiers_running(&h->fx->c), 1);
    settle(h); /* until [notify] timeout kills it */
    json_t *i1 = NULL;
    char err[256];
    assert_int_equal(incident_fx_call(h->fx, &incident_fx_alice, "incident.show",
                                      json_pack("{s:i}", "id", 1), &i1, err, sizeof(err)),
                     0);
    size_t killed = 0, i;
    const json_t *row;
    json_array_foreach(json_object_get(i1, "timeline"), i, row) {
        if (strcmp(json_str(row, "action", ""), "incident.notified") == 0 &&
            strcmp(json_str(json_object_get(row, "details"), "error", ""), strerror(ETIMEDOUT)) ==
                0)
            killed++;
    }
    assert_int_equal(killed, 1);
    json_decref(i1);
    json_t *arr = notices(h);
    assert_int_equal(count(arr, "director", "warning"), 1); /* it did get the notice */
    json_decref(arr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sla_defaults_follow_the_table),
        cmocka_unit_test(test_sla_config_overrides_and_errors),
        cmocka_unit_test_setup_teardown(test_sla_unacknowledged_ii_notifies_once, setup_hook,
                                        teardown_hook),
        cmocka_unit_test_setup_teardown(test_sla_slow_notifier_does_not_block, setup_slow_hook,
                                        teardown_hook),
        cmocka_unit_test_setup_teardown(test_sla_ack_stops_director_clock, setup_hook,
                                        teardown_hook),
        cmocka_unit_test_setup_teardown(test_sla_late_tick_skips_stale_warning, setup_hook,
                                        teardown_hook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
