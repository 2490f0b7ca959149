/*
 * test_sensors -- sensor liveness on an injected clock: a sensor missing three
 * heartbeat intervals raises one sensor_silent event (and an audit row); its
 * next heartbeat closes that event; a sensor never heard from, or revoked, is
 * not an alarm; a console restart does not raise alarms by itself.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "console.h"
#include "modules.h"
#include "sensors.h"
#include "store.h"
#include "store_events.h"
#include "store_sensors.h"

#define T0 (1763700000ULL * USEC_PER_SEC)

static const struct console_module *const mods[] = {&audit_module, &sensors_module, NULL};

static int setup(void **state)
{
    struct console *c = calloc(1, sizeof(*c));
    static const char text[] = "[console]\nheartbeat_interval = 10s\n";
    char err[256];
    if (!c || config_parse("t.conf", text, sizeof(text) - 1, &c->cfg, err, sizeof(err)) < 0)
        return -1;
    clock_fake_set(T0);
    c->modules = mods;
    if (store_open(":memory:", &c->store) < 0 || modules_init(c) < 0)
        return -1;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct console *c = *state;
    modules_fini(c);
    store_close(c->store);
    config_free(c->cfg);
    free(c);
    clock_fake_off();
    return 0;
}

static int64_t enrol(struct console *c, const char *name, uint8_t seed)
{
    struct keys_public p;
    memset(p.curve_pk, seed, sizeof(p.curve_pk));
    memset(p.sign_pk, seed, sizeof(p.sign_pk));
    assert_int_equal(store_sensors_add(c->store, name, &p, clock_now_usec()), 0);
    struct sensor_row row;
    assert_int_equal(store_sensors_by_name(c->store, name, &row), 0);
    return row.id;
}

static void heartbeat(struct console *c, int64_t id)
{
    Ward__Heartbeat hb;
    ward__heartbeat__init(&hb);
    assert_int_equal(store_sensors_heartbeat(c->store, id, clock_now_usec(), &hb), 0);
}

/* Advances the fake clock one second at a time, ticking the modules. */
static void run_for(struct console *c, uint64_t sec)
{
    for (uint64_t i = 0; i < sec; i++) {
        clock_fake_advance(USEC_PER_SEC);
        modules_tick(c, clock_now_usec());
    }
}

static json_t *silent_events(struct console *c)
{
    struct events_query q = {"sensor_silent", 0, NULL, NULL, 0};
    json_t *arr = NULL;
    assert_int_equal(store_events_query(c->store, &q, &arr), 0);
    return arr;
}

static void test_sensors_silence_raised_once_and_closed_on_return(void **state)
{
    struct console *c = *state;
    int64_t id = enrol(c, "edge-1", 1);
    heartbeat(c, id);
    run_for(c, 30); /* exactly three intervals: not yet */
    json_t *ev = silent_events(c);
    assert_int_equal(json_array_size(ev), 0);
    json_decref(ev);

    run_for(c, 1);
    ev = silent_events(c);
    assert_int_equal(json_array_size(ev), 1);
    const json_t *e = json_array_get(ev, 0);
    assert_string_equal(json_str(e, "sensor", ""), "edge-1");
    assert_false(json_is_true(json_object_get(e, "closed")));
    assert_non_null(strstr(json_str(e, "summary", ""), "silent"));
    json_decref(ev);
    struct sensor_row row;
    assert_int_equal(store_sensors_by_id(c->store, id, &row), 0);
    assert_true(row.silent);

    run_for(c, 120); /* still silent: still one event */
    ev = silent_events(c);
    assert_int_equal(json_array_size(ev), 1);
    json_decref(ev);

    heartbeat(c, id); /* it is back */
    run_for(c, 1);
    ev = silent_events(c);
    assert_int_equal(json_array_size(ev), 1);
    e = json_array_get(ev, 0);
    assert_true(json_is_true(json_object_get(e, "closed")));
    assert_int_equal(json_u64(e, "revision", 0), 2);
    assert_non_null(strstr(json_str(e, "summary", ""), "back"));
    json_decref(ev);
    assert_int_equal(store_sensors_by_id(c->store, id, &row), 0);
    assert_false(row.silent);

    /* Ward's own actions are in the audit log. */
    struct audit_query aq = {"sensor", 0, "sensor.", 0, 0};
    json_t *rows = NULL;
    assert_int_equal(audit_query(c->store, &aq, &rows), 0);
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(json_str(json_array_get(rows, 0), "action", ""), "sensor.silent");
    assert_string_equal(json_str(json_array_get(rows, 0), "actor", ""), "ward");
    assert_string_equal(json_str(json_array_get(rows, 1), "action", ""), "sensor.back");
    json_decref(rows);

    /* A second silence is a new event. */
    run_for(c, 40);
    ev = silent_events(c);
    assert_int_equal(json_array_size(ev), 2);
    json_decref(ev);
}

static void test_sensors_never_seen_and_revoked_are_not_alarms(void **state)
{
    struct console *c = *state;
    enrol(c, "never", 1);
    int64_t id = enrol(c, "gone", 2);
    heartbeat(c, id);
    assert_int_equal(store_sensors_revoke(c->store, "gone", clock_now_usec()), 0);
    run_for(c, 100);
    json_t *ev = silent_events(c);
    assert_int_equal(json_array_size(ev), 0);
    json_decref(ev);
}

static void test_sensors_console_restart_gives_sensors_time(void **state)
{
    struct console *c = *state;
    int64_t id = enrol(c, "edge-1", 1);
    heartbeat(c, id);
    /* The console was down for an hour; it starts again now. */
    clock_fake_advance(3600 * USEC_PER_SEC);
    modules_fini(c);
    assert_int_equal(modules_init(c), 0);
    run_for(c, 25);
    json_t *ev = silent_events(c);
    assert_int_equal(json_array_size(ev), 0); /* within three intervals of the start */
    json_decref(ev);
    run_for(c, 10);
    ev = silent_events(c);
    assert_int_equal(json_array_size(ev), 1);
    json_decref(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sensors_silence_raised_once_and_closed_on_return,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_sensors_never_seen_and_revoked_are_not_alarms, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sensors_console_restart_gives_sensors_time, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
