/*
 * test_console_contain -- the console's containment module: the never-isolate
 * list refused with a message that names it, an incident required, no connected
 * sensor reported, isolations that reach their time limit marked expired, and
 * leak reports recorded against the isolation.
 */
#include <errno.h>
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
#include "store.h"
#include "store_contain.h"
#include "../../console/contain.h"

#define SEC 1000000ULL
#define T0 (1800000000ULL * SEC)

static int setup(void **state)
{
    struct console *c = calloc(1, sizeof(*c));
    char err[CONFIG_ERR_LEN];
    static const char conf[] = "[contain]\nnever_isolate = 10.0.2.0/24, 10.0.0.53\n"
                               "default_ttl = 30m\nmax_ttl = 2h\n";
    assert_int_equal(config_parse("console.conf", conf, strlen(conf), &c->cfg, err, sizeof(err)),
                     0);
    c->data_dir = "/nonexistent";
    assert_int_equal(store_open(":memory:", &c->store), 0);
    clock_fake_set(T0);
    assert_int_equal(audit_module.init(c), 0);
    assert_int_equal(incident_module.init(c), 0);
    assert_int_equal(contain_module.init(c), 0);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct console *c = *state;
    contain_module.fini(c);
    if (incident_module.fini)
        incident_module.fini(c);
    if (audit_module.fini)
        audit_module.fini(c);
    store_close(c->store);
    config_free(c->cfg);
    clock_fake_off();
    free(c);
    return 0;
}

static void test_console_contain_refuses_never_isolate(void **state)
{
    struct console *c = *state;
    char err[512] = "";
    json_t *reply = NULL;
    struct contain_req r = {"10.0.2.7", 1, 0, false, false, false};
    struct actor alice = {1000, "alice", ROLE_OPERATOR};
    assert_int_equal(contain_isolate_host(c, &alice, &r, &reply, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "never-isolate list"));
    assert_non_null(strstr(err, "10.0.2.0/24"));
    r.host = "10.0.0.53";
    assert_int_equal(contain_isolate_host(c, &alice, &r, &reply, err, sizeof(err)), -EPERM);
    /* The refusal is in the audit log. */
    json_t *rows = NULL;
    struct audit_query q = {0};
    assert_int_equal(audit_query(c->store, &q, &rows), 0);
    assert_true(json_array_size(rows) >= 2);
    json_decref(rows);
}

static void test_console_contain_needs_incident_and_sensor(void **state)
{
    struct console *c = *state;
    char err[512] = "";
    json_t *reply = NULL;
    struct actor alice = {1000, "alice", ROLE_OPERATOR};
    struct contain_req r = {"10.0.1.5", 0, 0, false, false, false};
    assert_int_equal(contain_isolate_host(c, &alice, &r, &reply, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "--incident"));
    r.incident = 99;
    assert_int_equal(contain_isolate_host(c, &alice, &r, &reply, err, sizeof(err)), -ENOENT);
    r.host = "not-an-address";
    assert_int_equal(contain_isolate_host(c, &alice, &r, &reply, err, sizeof(err)), -EINVAL);
    /* A release goes to every sensor when none is known: none is connected here. */
    r.host = "10.0.1.5";
    assert_int_equal(contain_release_host(c, &alice, &r, &reply, err, sizeof(err)), -ENOTCONN);
    assert_non_null(strstr(err, "no sensor is connected"));
    r.ttl_sec = 0;
    assert_int_equal(contain_capture_host(c, &alice, &r, &reply, err, sizeof(err)), -EINVAL);
}

static void test_console_contain_expires_and_records_leaks(void **state)
{
    struct console *c = *state;
    struct contain_host_row h = {0};
    snprintf(h.host, sizeof(h.host), "10.0.1.5");
    snprintf(h.state, sizeof(h.state), "active");
    snprintf(h.actor, sizeof(h.actor), "alice");
    h.command_id = 1;
    h.since_usec = T0;
    h.expires_usec = T0 + 60 * SEC;
    assert_int_equal(store_contain_host_put(c->store, &h), 0);

    /* A leak report from the sensor lands on the isolation. */
    Ward__Event ev;
    Ward__Message m;
    ward__event__init(&ev);
    ward__message__init(&m);
    ev.uid = (char *)(uintptr_t)"leak-10.0.1.5-1";
    ev.revision = 1;
    ev.kind = WARD__EVENT_KIND__ISOLATION_LEAK;
    ev.src = (char *)(uintptr_t)"10.0.1.5";
    ev.packets = 12;
    ev.last_usec = T0 + 5 * SEC;
    m.kind_case = WARD__MESSAGE__KIND_EVENT;
    m.event = &ev;
    struct msg_origin o = {"gw-1", 3, 1, 0};
    assert_int_equal(store_begin(c->store), 0);
    assert_int_equal(contain_module.on_message(c, &o, &m), 0);
    assert_int_equal(store_commit(c->store), 0);
    struct contain_host_row got;
    assert_int_equal(store_contain_host_get(c->store, "10.0.1.5", &got), 0);
    assert_int_equal(got.leak_packets, 12);

    /* A result for a command the console never sent is ignored. */
    Ward__CommandResult res;
    ward__command_result__init(&res);
    res.command_id = 777;
    res.ok = true;
    m.kind_case = WARD__MESSAGE__KIND_RESULT;
    m.result = &res;
    assert_int_equal(contain_module.on_message(c, &o, &m), 0);

    clock_fake_advance(59 * SEC);
    contain_module.on_tick(c, clock_now_usec());
    assert_int_equal(store_contain_host_get(c->store, "10.0.1.5", &got), 0);
    assert_string_equal(got.state, "active");
    clock_fake_advance(2 * SEC);
    contain_module.on_tick(c, clock_now_usec());
    assert_int_equal(store_contain_host_get(c->store, "10.0.1.5", &got), 0);
    assert_string_equal(got.state, "expired");
}

int main(void)
{
    assert_int_equal(keys_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_console_contain_refuses_never_isolate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_console_contain_needs_incident_and_sensor, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_console_contain_expires_and_records_leaks, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
