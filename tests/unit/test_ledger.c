/*
 * test_ledger -- the asset ledger on an in-memory store: merging reports across
 * sensors by MAC and address, history, new_asset events, the register (import,
 * claim), states and criticality for grading.
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
#include "control.h"
#include "keys.h"
#include "ledger.h"
#include "modules.h"
#include "store.h"
#include "store_events.h"
#include "store_sensors.h"

#define T0 (1763700000ULL * USEC_PER_SEC)
#define DAY (86400ULL * USEC_PER_SEC)

static const struct console_module *const test_modules[] = {&audit_module, &ledger_module,
                                                            NULL};
static const struct actor admin = {1000, "alice", ROLE_ADMIN};

struct fx {
    struct console c;       /* console under test */
    struct msg_origin o[2]; /* two enrolled sensors */
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof(*fx));
    clock_fake_set(T0);
    assert_int_equal(store_open(":memory:", &fx->c.store), 0);
    fx->c.modules = test_modules;
    assert_int_equal(modules_init(&fx->c), 0);
    static const char *const names[] = {"edge-1", "edge-2"};
    for (int i = 0; i < 2; i++) {
        struct keys_public p;
        memset(&p, i + 1, sizeof(p));
        assert_int_equal(store_sensors_add(fx->c.store, names[i], &p, T0), 0);
        struct sensor_row row;
        assert_int_equal(store_sensors_by_name(fx->c.store, names[i], &row), 0);
        fx->o[i].sensor = names[i];
        fx->o[i].seq = 1;
        fx->o[i].sensor_id = row.id;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    modules_fini(&fx->c);
    store_close(fx->c.store);
    clock_fake_off();
    free(fx);
    return 0;
}

/* One sensor report, as the module gets it inside a batch transaction. */
static void report(struct fx *fx, int sensor, const char *ip, const char *mac, const char *name,
                   const char *svc_spec)
{
    Ward__AssetUpdate u;
    Ward__Service svc[4];
    Ward__Service *sp[4];
    size_t n = 0;
    ward__asset_update__init(&u);
    u.ip = (char *)(uintptr_t)ip;
    u.mac = (char *)(uintptr_t)mac;
    u.hostname = (char *)(uintptr_t)name;
    u.hostname_source = (char *)(uintptr_t) "dhcp";
    u.os_guess = (char *)(uintptr_t) "windows";
    u.first_usec = T0 - 10 * USEC_PER_SEC;
    u.last_usec = T0;
    /* svc_spec: "6:22,17:53" */
    for (const char *p = svc_spec; p && *p && n < 4;) {
        unsigned proto, port;
        int used;
        if (sscanf(p, "%u:%u%n", &proto, &port, &used) != 2)
            break;
        ward__service__init(&svc[n]);
        svc[n].proto = proto;
        svc[n].port = port;
        svc[n].app = (char *)(uintptr_t) "";
        sp[n] = &svc[n];
        n++;
        p += used;
        if (*p == ',')
            p++;
    }
    u.n_services = n;
    u.services = sp;
    Ward__Message m;
    ward__message__init(&m);
    m.kind_case = WARD__MESSAGE__KIND_ASSET;
    m.asset = &u;
    assert_int_equal(store_begin(fx->c.store), 0);
    assert_int_equal(modules_message(&fx->c, &fx->o[sensor], &m), 0);
    assert_int_equal(store_commit(fx->c.store), 0);
}

/* Runs a control verb as admin; returns the reply's data (new ref) or NULL on error. */
static json_t *ctl(struct fx *fx, const char *verb, json_t *args, char *err, size_t errcap)
{
    json_t *req = json_object();
    json_object_set_new(req, "verb", json_string(verb));
    json_object_set_new(req, "args", args ? args : json_object());
    char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    json_t *reply = control_request(&fx->c, &admin, line, strlen(line));
    free(line);
    assert_non_null(reply);
    json_t *data = NULL;
    if (json_is_true(json_object_get(reply, "ok"))) {
        data = json_incref(json_object_get(reply, "data"));
    } else if (err) {
        snprintf(err, errcap, "%s", json_str(reply, "error", ""));
    }
    json_decref(reply);
    return data;
}

static json_t *assets(struct fx *fx, const char *state_name)
{
    json_t *args = json_object();
    if (state_name)
        json_object_set_new(args, "state", json_string(state_name));
    json_t *a = ctl(fx, "assets", args, NULL, 0);
    assert_non_null(a);
    return a;
}

static json_t *show(struct fx *fx, const char *addr)
{
    json_t *args = json_object();
    json_object_set_new(args, "addr", json_string(addr));
    return ctl(fx, "asset.show", args, NULL, 0);
}

static size_t events_of(struct fx *fx, const char *subtype)
{
    struct events_query q = {0};
    q.kind = "new_asset";
    json_t *a = NULL;
    assert_int_equal(store_events_query(fx->c.store, &q, &a), 0);
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(a, i, e) {
        if (!subtype || strcmp(json_str(e, "subtype", ""), subtype) == 0)
            n++;
    }
    json_decref(a);
    return n;
}

static bool history_has(json_t *asset, const char *kind, const char *new_value)
{
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(asset, "history"), i, h) {
        if (strcmp(json_str(h, "kind", ""), kind) == 0 &&
            (!new_value || strcmp(json_str(h, "new", ""), new_value) == 0))
            return true;
    }
    return false;
}

static void test_ledger_new_device_is_unclaimed_and_raises_new_asset(void **state)
{
    struct fx *fx = *state;
    report(fx, 0, "192.168.5.16", "60:c5:47:05:bc:8c", "MacBook-Air", "6:22");
    report(fx, 0, "192.168.5.16", "60:c5:47:05:bc:8c", "MacBook-Air", "6:22"); /* resent */
    json_t *a = assets(fx, "unclaimed");
    assert_int_equal(json_array_size(a), 1);
    json_t *r = json_array_get(a, 0);
    assert_string_equal(json_str(r, "state_zh", ""), "待认领");
    assert_string_equal(json_str(r, "hostname", ""), "MacBook-Air");
    json_decref(a);
    assert_int_equal(events_of(fx, "unregistered"), 1);
}

static void test_ledger_merges_sensors_by_mac_with_history(void **state)
{
    struct fx *fx = *state;
    report(fx, 0, "10.1.1.5", "00:0c:29:59:fd:21", "ubuntu2", "");
    report(fx, 1, "10.1.2.7", "00:0c:29:59:fd:21", "ubuntu2-new", "6:443");
    report(fx, 1, "fe80::20c:29ff:fe59:fd21", "00:0c:29:59:fd:21", "", "");
    json_t *a = assets(fx, NULL);
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
    json_t *s = show(fx, "00-0C-29-59-FD-21");
    assert_non_null(s);
    assert_string_equal(json_str(s, "ip", ""), "10.1.2.7");
    assert_string_equal(json_str(s, "ip6", ""), "fe80::20c:29ff:fe59:fd21");
    assert_string_equal(json_str(s, "sensor", ""), "edge-2");
    assert_true(history_has(s, "address_moved", "10.1.2.7"));
    assert_true(history_has(s, "hostname_changed", "ubuntu2-new"));
    assert_true(history_has(s, "service_opened", "tcp/443"));
    json_decref(s);
    assert_int_equal(events_of(fx, "unregistered"), 1);
}

static void test_ledger_address_row_joins_its_mac(void **state)
{
    struct fx *fx = *state;
    report(fx, 0, "10.1.1.9", "", "", "6:80");      /* MAC not shown yet */
    report(fx, 0, "", "48:d2:24:63:0a:de", "kevin-PC", ""); /* DHCP client, no lease */
    report(fx, 0, "10.1.1.9", "48:d2:24:63:0a:de", "", "");
    json_t *a = assets(fx, NULL);
    assert_int_equal(json_array_size(a), 1);
    json_t *r = json_array_get(a, 0);
    assert_string_equal(json_str(r, "hostname", ""), "kevin-PC");
    assert_string_equal(json_str(r, "ip", ""), "10.1.1.9");
    json_decref(a);
}

static void test_ledger_address_taken_by_another_device(void **state)
{
    struct fx *fx = *state;
    report(fx, 0, "10.1.1.20", "00:11:22:33:44:55", "old", "");
    report(fx, 0, "10.1.1.20", "00:11:22:33:44:66", "new", "");
    json_t *a = assets(fx, NULL);
    assert_int_equal(json_array_size(a), 2);
    json_decref(a);
    json_t *s = show(fx, "00:11:22:33:44:55");
    assert_string_equal(json_str(s, "ip", "?"), "");
    assert_true(history_has(s, "address_moved", ""));
    json_decref(s);
    s = show(fx, "10.1.1.20");
    assert_string_equal(json_str(s, "mac", ""), "00:11:22:33:44:66");
    json_decref(s);
}

static const char register_csv[] =
    "\xef\xbb\xbfIP地址,MAC地址,主机名,科室,责任人,业务系统,重要程度,位置,品牌,型号,购置年份,保修\r\n"
    "10.1.5.10,00:50:56:aa:00:01,his-db-01,信息科,张伟,HIS,1,机房A-101,Dell,R740,2021,2026-12\r\n"
    "10.1.5.300,00:50:56:aa:00:02,bad-ip,信息科,张伟,EMR,2,,,,,\r\n"
    "10.1.5.12,00:50:56:aa:00:03,pacs-01,放射科,李娜,PACS,5,,,,,\r\n"
    "10.1.5.13,00:50:56:AA:00:01,dup-mac,检验科,王芳,LIS,2,,,,,\r\n"
    "10.1.5.14,00:50:56:aa:00:05,short\r\n"
    "10.1.5.15,00:50:56:aa:00:06,\"nurse, station 3\",护理部,赵敏,,3,住院楼5层,Lenovo,M720,2019,\r\n";

static void test_ledger_import_names_bad_lines_and_keeps_good(void **state)
{
    struct fx *fx = *state;
    json_t *args = json_object();
    json_object_set_new(args, "csv", json_string(register_csv));
    json_object_set_new(args, "name", json_string("register.csv"));
    char err[256] = "";
    json_t *r = ctl(fx, "assets.import", args, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(json_u64(r, "imported", 9), 2);
    json_t *errors = json_object_get(r, "errors");
    assert_int_equal(json_array_size(errors), 4);
    static const struct {
        uint64_t line;
        const char *needle;
    } want[] = {{3, "bad address '10.1.5.300'"},
                {4, "unknown criticality '5'"},
                {5, "duplicate MAC 00:50:56:aa:00:01 (first on line 2)"},
                {6, "wrong column count"}};
    for (size_t i = 0; i < 4; i++) {
        json_t *e = json_array_get(errors, i);
        assert_int_equal(json_u64(e, "line", 0), want[i].line);
        assert_non_null(strstr(json_str(e, "error", ""), want[i].needle));
    }
    json_decref(r);

    json_t *s = show(fx, "10.1.5.15");
    assert_non_null(s);
    assert_string_equal(json_str(s, "hostname", ""), "nurse, station 3");
    assert_string_equal(json_str(s, "location", ""), "住院楼5层");
    assert_string_equal(json_str(s, "state", ""), "unseen");
    json_decref(s);
    int k = 0;
    assert_int_equal(asset_criticality(&fx->c, "10.1.5.10", &k), 0);
    assert_int_equal(k, 1);
    assert_int_equal(ledger_criticality(&fx->c, "10.1.5.15"), 3);
    assert_int_equal(asset_criticality(&fx->c, "10.9.9.9", &k), -ENOENT);

    struct audit_query q = {0};
    q.action = "asset.import";
    json_t *rows = NULL;
    assert_int_equal(audit_query(fx->c.store, &q, &rows), 0);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
}

static void test_ledger_import_refuses_unreadable_file(void **state)
{
    struct fx *fx = *state;
    json_t *args = json_object();
    json_object_set_new(args, "csv", json_string("addr,who\n10.0.0.1,x\n"));
    char err[256] = "";
    assert_null(ctl(fx, "assets.import", args, err, sizeof(err)));
    assert_non_null(strstr(err, "unknown column 'addr'"));
}

static void test_ledger_registered_server_new_service_raises_event(void **state)
{
    struct fx *fx = *state;
    json_t *args = json_object();
    json_object_set_new(args, "csv", json_string("ip,mac,system,criticality\n"
                                                 "10.1.5.10,00:50:56:aa:00:01,HIS,\n"));
    json_t *r = ctl(fx, "assets.import", args, NULL, 0);
    json_decref(r);
    report(fx, 0, "10.1.5.10", "00:50:56:aa:00:01", "", "6:1433");  /* first sight: baseline */
    assert_int_equal(events_of(fx, NULL), 0);
    report(fx, 0, "10.1.5.10", "00:50:56:aa:00:01", "", "6:1433,6:3389");
    assert_int_equal(events_of(fx, "new_service"), 1);
    assert_int_equal(ledger_criticality(&fx->c, "10.1.5.10"), 1); /* core system, no number */
    json_t *a = assets(fx, "registered");
    assert_int_equal(json_array_size(a), 1);
    json_decref(a);
}

static void test_ledger_claim_and_zombie(void **state)
{
    struct fx *fx = *state;
    report(fx, 0, "10.1.7.7", "00:50:56:aa:00:77", "lis-01", "6:80");
    json_t *args = json_object();
    json_object_set_new(args, "addr", json_string("10.1.7.7"));
    json_object_set_new(args, "owner", json_string("王芳"));
    json_object_set_new(args, "department", json_string("检验科"));
    json_object_set_new(args, "system", json_string("LIS"));
    json_object_set_new(args, "criticality", json_integer(2));
    json_t *r = ctl(fx, "assets.claim", args, NULL, 0);
    assert_non_null(r);
    assert_string_equal(json_str(r, "state", ""), "registered");
    assert_string_equal(json_str(r, "owner", ""), "王芳");
    json_decref(r);
    assert_int_equal(ledger_criticality(&fx->c, "10.1.7.7"), 2);

    char err[256];
    args = json_object();
    json_object_set_new(args, "addr", json_string("10.9.9.9"));
    assert_null(ctl(fx, "assets.claim", args, err, sizeof(err)));
    assert_non_null(strstr(err, "no asset"));
    args = json_object();
    json_object_set_new(args, "addr", json_string("10.1.7.7"));
    json_object_set_new(args, "criticality", json_integer(7));
    assert_null(ctl(fx, "assets.claim", args, err, sizeof(err)));
    assert_non_null(strstr(err, "criticality"));

    clock_fake_set(T0 + 31 * DAY);
    json_t *z = assets(fx, "zombie");
    assert_int_equal(json_array_size(z), 1);
    assert_string_equal(json_str(json_array_get(z, 0), "state_zh", ""), "僵尸");
    json_decref(z);
    report(fx, 0, "10.1.7.7", "00:50:56:aa:00:77", "", "");
    z = assets(fx, "zombie");
    assert_int_equal(json_array_size(z), 0);
    json_decref(z);
}

static void test_ledger_hostile_reports_are_ignored(void **state)
{
    struct fx *fx = *state;
    report(fx, 0, "", "", "nobody", "");
    report(fx, 0, "not-an-address", "zz:zz", "junk", "");
    report(fx, 0, "", "01:00:5e:00:00:01", "multicast", "");
    json_t *a = assets(fx, NULL);
    assert_int_equal(json_array_size(a), 0);
    json_decref(a);
    char err[256];
    json_t *args = json_object();
    json_object_set_new(args, "addr", json_string("\x01;DROP TABLE assets"));
    assert_null(ctl(fx, "asset.show", args, err, sizeof(err)));
    assert_non_null(strstr(err, "neither an address nor a MAC"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ledger_new_device_is_unclaimed_and_raises_new_asset,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_merges_sensors_by_mac_with_history, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ledger_address_row_joins_its_mac, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_address_taken_by_another_device, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ledger_import_names_bad_lines_and_keeps_good, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ledger_import_refuses_unreadable_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ledger_registered_server_new_service_raises_event,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_claim_and_zombie, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_hostile_reports_are_ignored, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
