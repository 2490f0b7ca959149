/*
 * test_intel -- the console's intel module: indicator files checked line by
 * line (file:line named, nothing recorded from a bad one), a sensor's pushed set
 * rebuilt from the stored pushes (replace, per-sensor pushes, duplicates), the
 * ceiling, sensors' results recorded and audited only here, the mode's checks,
 * and an offline sensor's resend recording nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "console.h"
#include "incident.h"
#include "keys.h"
#include "log.h"
#include "store.h"
#include "store_contain.h"
#include "store_intel.h"
#include "store_sensors.h"
#include "../../console/contain.h"
#include "../../console/intel.h"

#define SEC 1000000ULL
#define T0 (1800000000ULL * SEC)

static const struct actor alice = {1000, "alice", ROLE_OPERATOR};

static struct console *open_console(const char *conf)
{
    struct console *c = calloc(1, sizeof(*c));
    char err[CONFIG_ERR_LEN];
    assert_non_null(c);
    assert_int_equal(config_parse("console.conf", conf, strlen(conf), &c->cfg, err, sizeof(err)),
                     0);
    c->data_dir = "/nonexistent";
    assert_int_equal(store_open(":memory:", &c->store), 0);
    clock_fake_set(T0);
    log_set_level(LOG_LEVEL_ERR);
    assert_int_equal(audit_module.init(c), 0);
    assert_int_equal(incident_module.init(c), 0);
    assert_int_equal(contain_module.init(c), 0);
    assert_int_equal(intel_module.init(c), 0);
    static const char *const names[] = {"s1", "s2"};
    for (size_t i = 0; i < 2; i++) {
        struct keys_public pub;
        memset(&pub, (int)i + 1, sizeof(pub));
        assert_int_equal(store_sensors_add(c->store, names[i], &pub, T0), 0);
    }
    return c;
}

static void close_console(struct console *c)
{
    intel_module.fini(c);
    contain_module.fini(c);
    if (incident_module.fini)
        incident_module.fini(c);
    if (audit_module.fini)
        audit_module.fini(c);
    store_close(c->store);
    config_free(c->cfg);
    clock_fake_off();
    free(c);
}

static int setup(void **state)
{
    *state = open_console("[intel]\nmax_entries = 6\n");
    return 0;
}

static int teardown(void **state)
{
    close_console(*state);
    return 0;
}

/* Calls verb (consumes args) as who; *reply is set on success (caller frees). */
static int call(struct console *c, const struct actor *who, const char *verb, json_t *args,
                json_t **reply, char *err, size_t cap)
{
    for (const struct ctl_cmd *k = intel_module.commands; k->verb; k++) {
        if (strcmp(k->verb, verb) != 0)
            continue;
        assert_true(who->role >= k->min_role);
        struct ctl_req req = {verb, args, who};
        int rc = k->fn(c, &req, reply, err, cap);
        json_decref(args);
        return rc;
    }
    fail_msg("no verb %s", verb);
    return -ENOENT;
}

static int push(struct console *c, const char *addrs, const char *names, bool replace,
                const char *sensor, char *err)
{
    json_t *reply = NULL;
    int rc = call(c, &alice, "intel.push",
                  json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "addresses", addrs, "addresses_file",
                            "feed.txt", "domains", names, "domains_file", "names.txt", "replace",
                            replace, "sensor", sensor ? sensor : ""),
                  &reply, err, 512);
    json_decref(reply);
    return rc;
}

/* The set sensor should hold, as "v=N a=x,y d=z" for short asserts. */
static const char *set_of(struct console *c, const char *sensor)
{
    static char out[512];
    json_t *s = NULL;
    assert_int_equal(intel_sensor_set(c, sensor, &s), 0);
    size_t n = (size_t)snprintf(out, sizeof(out), "v=%" PRIu64 " a=", json_u64(s, "version", 0));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(s, "addresses"), i, v) n +=
        (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? "," : "", json_string_value(v));
    n += (size_t)snprintf(out + n, sizeof(out) - n, " d=");
    json_array_foreach(json_object_get(s, "domains"), i, v) n +=
        (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? "," : "", json_string_value(v));
    json_decref(s);
    return out;
}

static void test_intel_push_builds_canonical_set(void **state)
{
    struct console *c = *state;
    char err[512] = "";
    assert_int_equal(push(c, "# feed\n198.51.100.1\n\n203.0.113.77/24  # c2 range\n198.51.100.1\n",
                          "*.Evil.Example.\n", false, NULL, err),
                     0);
    assert_string_equal(set_of(c, "s1"), "v=1 a=198.51.100.1,203.0.113.0/24 d=evil.example");
    assert_string_equal(set_of(c, "s2"), "v=1 a=198.51.100.1,203.0.113.0/24 d=evil.example");
    /* Nobody is connected in a unit test: each sensor is noted unreachable. */
    json_t *res = NULL;
    assert_int_equal(store_contain_results_json(c->store, 1, &res), 0);
    assert_int_equal(json_array_size(res), 2);
    assert_string_equal(json_str(json_array_get(res, 0), "status", ""), "unreachable");
    json_decref(res);
    json_t *rows = NULL;
    struct audit_query q = {.action = "intel."};
    assert_int_equal(audit_query(c->store, &q, &rows), 0);
    assert_int_equal(json_array_size(rows), 1);
    assert_string_equal(json_str(json_array_get(rows, 0), "actor", ""), "alice");
    json_decref(rows);
}

static void test_intel_push_bad_line_names_file_and_line(void **state)
{
    struct console *c = *state;
    char err[512] = "";
    assert_int_equal(push(c, "198.51.100.1\n# ok so far\n300.1.1.1\n", "", false, NULL, err),
                     -EINVAL);
    assert_non_null(strstr(err, "feed.txt:3: '300.1.1.1' is not an IPv4/IPv6 address"));
    assert_int_equal(push(c, "", "good.example\nbad name.example\n", false, NULL, err), -EINVAL);
    assert_non_null(strstr(err, "names.txt:2:"));
    char long_line[700];
    memset(long_line, 'a', sizeof(long_line) - 1);
    long_line[sizeof(long_line) - 1] = '\0';
    assert_int_equal(push(c, "", long_line, false, NULL, err), -EINVAL);
    assert_non_null(strstr(err, "names.txt:1: line longer than"));
    assert_int_equal(push(c, "", "", false, NULL, err), -EINVAL);
    assert_non_null(strstr(err, "nothing to push"));
    assert_int_equal(push(c, "198.51.100.1\n", "", false, "nosuch", err), -ENOENT);
    assert_non_null(strstr(err, "no enrolled sensor 'nosuch'"));
    /* Nothing of any of them was recorded. */
    assert_string_equal(set_of(c, "s1"), "v=0 a= d=");
}

static void test_intel_push_replace_and_per_sensor(void **state)
{
    struct console *c = *state;
    char err[512] = "";
    assert_int_equal(push(c, "192.0.2.1\n", "", false, NULL, err), 0); /* 1: every sensor */
    assert_int_equal(push(c, "192.0.2.2\n", "", false, "s1", err), 0); /* 2: s1 only */
    assert_string_equal(set_of(c, "s1"), "v=2 a=192.0.2.1,192.0.2.2 d=");
    assert_string_equal(set_of(c, "s2"), "v=1 a=192.0.2.1 d=");
    assert_int_equal(push(c, "192.0.2.3\n", "", true, NULL, err), 0);  /* 3: replace all */
    assert_int_equal(push(c, "", "x.example\n", false, NULL, err), 0); /* 4 */
    assert_int_equal(push(c, "192.0.2.5\n", "", false, "s2", err), 0); /* 5: s2 only */
    assert_string_equal(set_of(c, "s1"), "v=4 a=192.0.2.3 d=x.example");
    assert_string_equal(set_of(c, "s2"), "v=5 a=192.0.2.3,192.0.2.5 d=x.example");
    /* --replace alone clears the pushed set (for s2 here). */
    assert_int_equal(push(c, "", "", true, "s2", err), 0); /* 6 */
    assert_string_equal(set_of(c, "s2"), "v=6 a= d=");
    assert_string_equal(set_of(c, "s1"), "v=4 a=192.0.2.3 d=x.example");
}

static void test_intel_push_ceiling(void **state)
{
    struct console *c = *state;
    char err[512] = "";
    /* max_entries = 6 in this console's config. */
    assert_int_equal(push(c,
                          "192.0.2.1\n192.0.2.2\n192.0.2.3\n192.0.2.4\n192.0.2.5\n192.0.2.6\n"
                          "192.0.2.7\n",
                          "", false, NULL, err),
                     -E2BIG);
    assert_non_null(strstr(err, "max_entries"));
    assert_int_equal(push(c, "192.0.2.1\n192.0.2.2\n192.0.2.3\n", "a.example\n", false, NULL, err),
                     0);
    assert_int_equal(push(c, "192.0.2.1\n", "b.example\nc.example\n", false, "s1", err), 0);
    assert_int_equal(push(c, "", "d.example\n", false, NULL, err), -E2BIG);
    assert_non_null(strstr(err, "sensor s1 would hold 7"));
    assert_string_equal(set_of(c, "s2"), "v=1 a=192.0.2.1,192.0.2.2,192.0.2.3 d=a.example");
    /* A replace makes room (the refused push took no version number). */
    assert_int_equal(push(c, "", "d.example\n", true, NULL, err), 0);
    assert_string_equal(set_of(c, "s1"), "v=3 a= d=d.example");
}

static void result(struct console *c, const char *sensor, uint64_t id, bool ok, const char *detail)
{
    Ward__CommandResult r;
    Ward__Message m;
    ward__command_result__init(&r);
    ward__message__init(&m);
    r.command_id = id;
    r.ok = ok;
    r.detail = (char *)(uintptr_t)detail;
    r.backend = (char *)(uintptr_t) "sensor";
    m.kind_case = WARD__MESSAGE__KIND_RESULT;
    m.result = &r;
    struct msg_origin o = {sensor, 1, 1, 0};
    assert_int_equal(store_begin(c->store), 0);
    assert_int_equal(contain_module.on_message(c, &o, &m), 0);
    assert_int_equal(intel_module.on_message(c, &o, &m), 0);
    assert_int_equal(store_commit(c->store), 0);
}

static void test_intel_results_recorded_here_only(void **state)
{
    struct console *c = *state;
    char err[512] = "";
    json_t *reply = NULL;
    assert_int_equal(push(c, "192.0.2.1\n", "", false, NULL, err), 0);
    result(c, "s1", 1, true, "added 1 addresses and 0 domains");
    result(c, "s2", 1, false, "refused: the pushed set would hold more than 3 indicators");
    assert_int_equal(
        call(c, &alice, "intel.list", json_pack("{s:b}", "full", 1), &reply, err, sizeof(err)), 0);
    json_t *p = json_array_get(json_object_get(reply, "pushes"), 0);
    assert_int_equal(json_u64(p, "id", 0), 1);
    assert_string_equal(json_str(p, "actor", ""), "alice");
    assert_string_equal(json_str(p, "sensor", ""), "*");
    json_t *sensors = json_object_get(p, "sensors");
    assert_int_equal(json_array_size(sensors), 2);
    assert_string_equal(json_str(json_array_get(sensors, 0), "status", ""), "ok");
    assert_string_equal(json_str(json_array_get(sensors, 1), "status", ""), "failed");
    assert_string_equal(json_string_value(json_array_get(json_object_get(p, "address_list"), 0)),
                        "192.0.2.1");
    json_decref(reply);
    /* One audit row per answer, under the sensor's name; contain wrote none. */
    json_t *rows = NULL;
    struct audit_query q = {.action = "intel.result"};
    assert_int_equal(audit_query(c->store, &q, &rows), 0);
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(json_str(json_array_get(rows, 0), "actor", ""), "s1");
    json_decref(rows);
    q.action = "contain.";
    assert_int_equal(audit_query(c->store, &q, &rows), 0);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    struct audit_verify_result v;
    assert_int_equal(audit_verify(c->store, &v), 0);
    assert_true(v.ok);
}

static void test_intel_mode_checks_and_records(void **state)
{
    struct console *c = *state;
    char err[512] = "";
    json_t *reply = NULL;
    assert_int_equal(
        call(c, &alice, "mode", json_pack("{s:f}", "factor", 0.5), &reply, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "heightened"));
    assert_int_equal(call(c, &alice, "mode",
                          json_pack("{s:b, s:f}", "heightened", 1, "factor", 0.0), &reply, err,
                          sizeof(err)),
                     -EINVAL);
    assert_int_equal(call(c, &alice, "mode",
                          json_pack("{s:b, s:f}", "heightened", 1, "factor", 1.5), &reply, err,
                          sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "at most 1"));
    assert_int_equal(
        call(c, &alice, "mode",
             json_pack("{s:b, s:f, s:s}", "heightened", 1, "factor", 0.25, "sensor", "s2"), &reply,
             err, sizeof(err)),
        0);
    json_decref(reply);
    struct intel_mode_row m;
    assert_int_equal(store_intel_mode_get(c->store, "s2", &m), 0);
    assert_true(m.heightened);
    assert_true(m.factor > 0.24 && m.factor < 0.26);
    assert_int_equal(store_intel_mode_get(c->store, "s1", &m), -ENOENT);
    /* For every sensor: it overrides the per-sensor one. */
    assert_int_equal(
        call(c, &alice, "mode", json_pack("{s:b}", "heightened", 0), &reply, err, sizeof(err)), 0);
    json_decref(reply);
    assert_int_equal(store_intel_mode_get(c->store, "s2", &m), 0);
    assert_false(m.heightened);
    assert_string_equal(m.sensor, "");
    json_t *rows = NULL;
    struct audit_query q = {.action = "mode.set"};
    assert_int_equal(audit_query(c->store, &q, &rows), 0);
    assert_int_equal(json_array_size(rows), 2);
    json_decref(rows);
}

static void test_intel_offline_resend_records_nothing(void **state)
{
    struct console *c = *state;
    char err[512] = "";
    assert_int_equal(push(c, "192.0.2.1\n", "", false, NULL, err), 0);
    /* s1's heartbeat says it has no pushed set: it is behind, but not connected. */
    struct sensor_row row;
    assert_int_equal(store_sensors_by_name(c->store, "s1", &row), 0);
    Ward__Heartbeat hb;
    ward__heartbeat__init(&hb);
    hb.factor = 1.0;
    assert_int_equal(store_sensors_heartbeat(c->store, row.id, T0 + SEC, &hb), 0);
    int sent = -1;
    assert_int_equal(intel_sync_sensor(c, "s1", T0 + 100 * SEC, &sent), 0);
    assert_int_equal(sent, 0);
    struct contain_cmd_row cmd;
    assert_int_equal(store_contain_cmd_get(c->store, 2, &cmd), -ENOENT);
    /* A sensor that never sent a heartbeat is left alone. */
    assert_int_equal(intel_sync_sensor(c, "s2", T0 + 100 * SEC, &sent), 0);
    assert_int_equal(sent, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_intel_push_builds_canonical_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intel_push_bad_line_names_file_and_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_intel_push_replace_and_per_sensor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intel_push_ceiling, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intel_results_recorded_here_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intel_mode_checks_and_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intel_offline_resend_records_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
