/*
 * test_store -- the console store on SQLite :memory:: transactions (nested), the
 * sensors table (enrolment rules, revocation, heartbeats, silence), the events
 * table (latest revision wins, queries, counts, every field read back, rows
 * of older databases) and the errno mapping of a full database.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "event_json.h"
#include "keys.h"
#include "store.h"
#include "store_events.h"
#include "store_sensors.h"

static int setup(void **state)
{
    struct store *st = NULL;
    if (store_open(":memory:", &st) < 0)
        return -1;
    clock_fake_set(1763700000ULL * USEC_PER_SEC);
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    store_close(*state);
    clock_fake_off();
    return 0;
}

static struct keys_public pub_of(uint8_t seed)
{
    struct keys_public p;
    memset(p.curve_pk, seed, sizeof(p.curve_pk));
    memset(p.sign_pk, (uint8_t)(seed + 1), sizeof(p.sign_pk));
    return p;
}

static int64_t enrol(struct store *st, const char *name, uint8_t seed)
{
    struct keys_public p = pub_of(seed);
    assert_int_equal(store_sensors_add(st, name, &p, 1000), 0);
    struct sensor_row row;
    assert_int_equal(store_sensors_by_name(st, name, &row), 0);
    return row.id;
}

static void test_store_sensors_enrol_rules(void **state)
{
    struct store *st = *state;
    struct keys_public a = pub_of(1), b = pub_of(2);
    assert_int_equal(store_sensors_add(st, "edge-1", &a, 10), 0);
    assert_int_equal(store_sensors_add(st, "edge-1", &b, 11), -EEXIST);  /* same name */
    assert_int_equal(store_sensors_add(st, "edge-2", &a, 12), -EEXIST);  /* same key */
    assert_int_equal(store_sensors_add(st, "bad name", &b, 13), -EINVAL);
    assert_int_equal(store_sensors_add(st, "", &b, 13), -EINVAL);
    assert_false(store_sensors_name_ok("a/b"));
    assert_true(store_sensors_name_ok("ward.edge_1-a"));

    struct sensor_row row;
    assert_int_equal(store_sensors_by_curve(st, a.curve_pk, &row), 0);
    assert_string_equal(row.name, "edge-1");
    assert_memory_equal(row.pub.sign_pk, a.sign_pk, KEYS_SIGN_PK_LEN);
    assert_int_equal(row.enrolled_usec, 10);
    assert_false(row.revoked);
    assert_int_equal(store_sensors_by_name(st, "nope", &row), -ENOENT);
    assert_int_equal(store_sensors_by_curve(st, b.curve_pk, &row), -ENOENT);
}

static void test_store_sensors_revoke_and_reenrol(void **state)
{
    struct store *st = *state;
    int64_t id = enrol(st, "edge-1", 1);
    assert_int_equal(store_sensors_set_acked(st, id, 42), 0);
    assert_int_equal(store_sensors_revoke(st, "edge-1", 500), 0);
    assert_int_equal(store_sensors_revoke(st, "edge-1", 501), -EALREADY);
    assert_int_equal(store_sensors_revoke(st, "ghost", 501), -ENOENT);
    struct sensor_row row;
    assert_int_equal(store_sensors_by_name(st, "edge-1", &row), 0);
    assert_true(row.revoked);
    assert_int_equal(row.revoked_usec, 500);

    /* A revoked name comes back with new keys and a fresh sequence. */
    struct keys_public b = pub_of(7);
    assert_int_equal(store_sensors_add(st, "edge-1", &b, 600), 0);
    assert_int_equal(store_sensors_by_name(st, "edge-1", &row), 0);
    assert_false(row.revoked);
    assert_int_equal(row.id, id);
    assert_int_equal(row.acked_seq, 0);
    assert_memory_equal(row.pub.curve_pk, b.curve_pk, KEYS_CURVE_LEN);
}

static void test_store_sensors_heartbeat_and_silence(void **state)
{
    struct store *st = *state;
    int64_t id = enrol(st, "edge-1", 1);
    Ward__Heartbeat hb;
    ward__heartbeat__init(&hb);
    hb.next_seq = 101;
    hb.spool_records = 5;
    hb.spool_dropped = 2;
    hb.packets = 9999;
    hb.kernel_drops = 3;
    hb.flows = 77;
    hb.interface = (char *)(uintptr_t) "eth1";
    assert_int_equal(store_sensors_heartbeat(st, id, 123456, &hb), 0);
    assert_int_equal(store_sensors_set_silent(st, id, true, 200000), 0);
    struct sensor_row row;
    assert_int_equal(store_sensors_by_id(st, id, &row), 0);
    assert_int_equal(row.last_heartbeat_usec, 123456);
    assert_int_equal(row.sensor_next_seq, 101);
    assert_int_equal(row.spool_records, 5);
    assert_int_equal(row.spool_dropped, 2);
    assert_int_equal(row.packets, 9999);
    assert_int_equal(row.kernel_drops, 3);
    assert_true(row.silent);
    assert_int_equal(row.silent_since_usec, 200000);
    json_t *j = NULL;
    assert_int_equal(store_sensors_heartbeat_json(st, id, &j), 0);
    assert_int_equal(json_u64(j, "flows", 0), 77);
    assert_string_equal(json_str(j, "interface", ""), "eth1");
    json_decref(j);
    assert_int_equal(store_sensors_set_silent(st, id, false, 300000), 0);
    assert_int_equal(store_sensors_by_id(st, id, &row), 0);
    assert_false(row.silent);
    assert_int_equal(row.silent_since_usec, 0);
}

static Ward__Event make_event(const char *uid, uint32_t rev, Ward__EventKind kind,
                              const char *src, uint64_t last)
{
    Ward__Event ev;
    ward__event__init(&ev);
    ev.uid = (char *)(uintptr_t)uid;
    ev.revision = rev;
    ev.kind = kind;
    ev.src = (char *)(uintptr_t)src;
    ev.dst = (char *)(uintptr_t) "10.0.0.9";
    ev.first_usec = last - 1000;
    ev.last_usec = last;
    ev.count = rev * 10;
    ev.severity = 50;
    ev.summary = (char *)(uintptr_t) "test event";
    return ev;
}

static void test_store_events_latest_revision_wins(void **state)
{
    struct store *st = *state;
    int64_t sid = enrol(st, "edge-1", 1);
    struct msg_origin o = {"edge-1", 1, sid, 0};
    Ward__Event e1 = make_event("u1", 1, WARD__EVENT_KIND__PORTSCAN, "10.0.0.1", 5000);
    Ward__Event e2 = make_event("u1", 2, WARD__EVENT_KIND__PORTSCAN, "10.0.0.1", 6000);
    int64_t r1 = 0, r2 = 0, r3 = 0;
    assert_int_equal(store_events_upsert(st, &o, &e1, 1, &r1), 0);
    assert_true(r1 > 0);
    assert_int_equal(store_events_upsert(st, &o, &e2, 2, &r2), 0);
    assert_int_equal(r2, r1);
    /* A resent older revision changes nothing but still names the row. */
    assert_int_equal(store_events_upsert(st, &o, &e1, 3, &r3), 0);
    assert_int_equal(r3, r1);
    uint64_t n = 0;
    assert_int_equal(store_events_count(st, &n), 0);
    assert_int_equal(n, 1);
    json_t *j = NULL;
    assert_int_equal(store_events_get(st, r1, &j), 0);
    assert_int_equal(json_u64(j, "revision", 0), 2);
    assert_int_equal(json_u64(j, "count", 0), 20);
    assert_string_equal(json_str(j, "kind", ""), "portscan");
    assert_string_equal(json_str(j, "sensor", ""), "edge-1");
    assert_int_equal(json_u64(j, "id", 0), (uint64_t)r1);
    json_decref(j);
    assert_int_equal(store_events_get(st, 999, &j), -ENOENT);

    Ward__Event bad = make_event("", 1, WARD__EVENT_KIND__PORTSCAN, "10.0.0.1", 1);
    assert_int_equal(store_events_upsert(st, &o, &bad, 1, &r3), -EINVAL);
}

static void test_store_events_query_filters(void **state)
{
    struct store *st = *state;
    int64_t s1 = enrol(st, "edge-1", 1), s2 = enrol(st, "edge-2", 3);
    struct msg_origin o1 = {"edge-1", 1, s1, 0}, o2 = {"edge-2", 1, s2, 0};
    Ward__Event a = make_event("a", 1, WARD__EVENT_KIND__PORTSCAN, "10.0.0.1", 1000);
    Ward__Event b = make_event("b", 1, WARD__EVENT_KIND__BRUTEFORCE, "10.0.0.2", 2000);
    Ward__Event c = make_event("c", 1, WARD__EVENT_KIND__PORTSCAN, "10.0.0.3", 3000);
    int64_t id;
    assert_int_equal(store_events_upsert(st, &o1, &a, 1, &id), 0);
    assert_int_equal(store_events_upsert(st, &o1, &b, 1, &id), 0);
    assert_int_equal(store_events_upsert(st, &o2, &c, 1, &id), 0);

    struct {
        struct events_query q;
        size_t want;
        const char *first_uid;
    } cases[] = {
        {{NULL, 0, NULL, NULL, 0}, 3, "c"},
        {{"portscan", 0, NULL, NULL, 0}, 2, "c"},
        {{NULL, 2000, NULL, NULL, 0}, 2, "c"},
        {{NULL, 0, "10.0.0.2", NULL, 0}, 1, "b"},
        {{NULL, 0, "10.0.0.9", NULL, 0}, 3, "c"}, /* dst matches too */
        {{NULL, 0, NULL, "edge-1", 0}, 2, "b"},
        {{NULL, 0, NULL, "nobody", 0}, 0, NULL},
        {{NULL, 0, NULL, NULL, 1}, 1, "c"},
        {{"bruteforce", 2500, NULL, NULL, 0}, 0, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *arr = NULL;
        assert_int_equal(store_events_query(st, &cases[i].q, &arr), 0);
        assert_int_equal(json_array_size(arr), cases[i].want);
        if (cases[i].first_uid)
            assert_string_equal(json_str(json_array_get(arr, 0), "uid", ""), cases[i].first_uid);
        json_decref(arr);
    }
    json_t *kinds = NULL;
    assert_int_equal(store_events_count_by_kind(st, &kinds), 0);
    assert_int_equal(json_u64(kinds, "portscan", 0), 2);
    assert_int_equal(json_u64(kinds, "bruteforce", 0), 1);
    json_decref(kinds);
}

static void test_store_events_console_made(void **state)
{
    struct store *st = *state;
    int64_t sid = enrol(st, "edge-1", 1);
    Ward__Event ev = make_event("sensor_silent-1", 1, WARD__EVENT_KIND__SENSOR_SILENT, "", 100);
    int64_t id = 0;
    assert_int_equal(store_events_console(st, sid, &ev, &id), 0);
    json_t *j = NULL;
    assert_int_equal(store_events_get(st, id, &j), 0);
    assert_string_equal(json_str(j, "kind", ""), "sensor_silent");
    assert_string_equal(json_str(j, "sensor", ""), "edge-1");
    json_decref(j);
    assert_int_equal(store_events_console(st, 9999, &ev, &id), -ENOENT);
}

/* The event read back, less what the store adds, is the event's own JSON. */
static void assert_reads_back(struct store *st, int64_t id, const Ward__Event *ev)
{
    json_t *j = NULL;
    assert_int_equal(store_events_get(st, id, &j), 0);
    assert_int_equal(json_u64(j, "id", 0), (uint64_t)id);
    assert_non_null(json_object_get(j, "received"));
    json_object_del(j, "id");
    json_object_del(j, "received");
    json_t *want = event_json(ev, "edge-1");
    char *got_text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    char *want_text = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(got_text, want_text);
    free(got_text);
    free(want_text);
    json_decref(want);
    json_decref(j);
}

static void test_store_events_every_field_reads_back(void **state)
{
    struct store *st = *state;
    int64_t sid = enrol(st, "edge-1", 1);
    struct msg_origin o = {"edge-1", 1, sid, 0};
    Ward__Event ev = make_event("all", 3, WARD__EVENT_KIND__LATERAL, "10.0.0.1", 5000000);
    uint32_t ports[] = {22, 445, 3389};
    Ward__Figure f1, f2;
    ward__figure__init(&f1);
    ward__figure__init(&f2);
    f1.name = (char *)(uintptr_t) "targets";
    f1.value = 12;
    f2.name = (char *)(uintptr_t) "ratio";
    f2.value = 0.25;
    Ward__Figure *figs[] = {&f1, &f2};
    char *targets[] = {(char *)(uintptr_t) "10.0.0.7", (char *)(uintptr_t) "10.0.0.8"};
    char *evidence[] = {(char *)(uintptr_t) "ab12"};
    ev.subtype = (char *)(uintptr_t) "psexec";
    ev.src_mac = (char *)(uintptr_t) "02:00:00:00:00:01";
    ev.proto = 6;
    ev.n_ports = 3;
    ev.ports = ports;
    ev.packets = 77;
    ev.bytes = UINT64_MAX; /* more than its column holds: the body keeps it */
    ev.confidence = 85;
    ev.n_figures = 2;
    ev.figures = figs;
    ev.n_evidence = 1;
    ev.evidence = evidence;
    ev.n_targets = 2;
    ev.targets = targets;
    ev.domain = (char *)(uintptr_t) "example.org";
    ev.vlan = 12;
    ev.closed = true;
    int64_t id;
    assert_int_equal(store_events_upsert(st, &o, &ev, 1, &id), 0);
    assert_reads_back(st, id, &ev);
    /* The same through a query. */
    struct events_query q = {0};
    json_t *arr = NULL;
    assert_int_equal(store_events_query(st, &q, &arr), 0);
    assert_int_equal(json_array_size(arr), 1);
    assert_int_equal(json_u64(json_array_get(arr, 0), "vlan", 0), 12);
    assert_string_equal(json_str(json_array_get(arr, 0), "domain", ""), "example.org");
    json_decref(arr);
    /* An event with nothing but a uid. */
    Ward__Event bare;
    ward__event__init(&bare);
    bare.uid = (char *)(uintptr_t) "bare";
    assert_int_equal(store_events_upsert(st, &o, &bare, 1, &id), 0);
    assert_reads_back(st, id, &bare);
}

/* A database whose events hold JSON text in a json column keeps reading them. */
static void test_store_events_json_column_still_read(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_store_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/ward.db", dir);
    struct store *st = NULL;
    assert_int_equal(store_open(path, &st), 0);
    int64_t sid = enrol(st, "edge-1", 1);
    assert_int_equal(store_exec(st, "ALTER TABLE events RENAME COLUMN body TO json;"
                                    "INSERT INTO events(id, sensor_id, uid, revision, kind,"
                                    " first_usec, last_usec, received_usec, json) VALUES (5, 1,"
                                    " 'old', 1, 'beacon', 1, 2, 3,"
                                    " '{\"kind\":\"beacon\",\"uid\":\"old\",\"vlan\":4}')"),
                     0);
    store_close(st);
    assert_int_equal(store_open(path, &st), 0);
    json_t *j = NULL;
    assert_int_equal(store_events_get(st, 5, &j), 0);
    assert_string_equal(json_str(j, "kind", ""), "beacon");
    assert_int_equal(json_u64(j, "vlan", 0), 4);
    json_decref(j);
    struct msg_origin o = {"edge-1", 1, sid, 0};
    Ward__Event ev = make_event("new", 1, WARD__EVENT_KIND__PORTSCAN, "10.0.0.1", 5000000);
    int64_t id;
    assert_int_equal(store_events_upsert(st, &o, &ev, 1, &id), 0);
    assert_reads_back(st, id, &ev);
    store_close(st);
    unlink(path);
    char side[80];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    rmdir(dir);
}

static void test_store_transactions_nest(void **state)
{
    struct store *st = *state;
    struct keys_public a = pub_of(1), b = pub_of(3), c = pub_of(5);
    assert_false(store_in_tx(st));
    assert_int_equal(store_begin(st), 0);
    assert_true(store_in_tx(st));
    assert_int_equal(store_sensors_add(st, "outer", &a, 1), 0);
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_sensors_add(st, "inner", &b, 1), 0);
    store_rollback(st); /* undoes inner only */
    assert_true(store_in_tx(st));
    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_sensors_add(st, "kept", &c, 1), 0);
    assert_int_equal(store_commit(st), 0);
    assert_int_equal(store_commit(st), 0);
    assert_false(store_in_tx(st));
    struct sensor_row row;
    assert_int_equal(store_sensors_by_name(st, "outer", &row), 0);
    assert_int_equal(store_sensors_by_name(st, "kept", &row), 0);
    assert_int_equal(store_sensors_by_name(st, "inner", &row), -ENOENT);

    assert_int_equal(store_begin(st), 0);
    assert_int_equal(store_sensors_revoke(st, "outer", 2), 0);
    store_rollback(st);
    assert_false(store_in_tx(st));
    assert_int_equal(store_sensors_by_name(st, "outer", &row), 0);
    assert_false(row.revoked);
}

static void test_store_full_database_is_enospc(void **state)
{
    struct store *st = *state;
    int64_t sid = enrol(st, "edge-1", 1);
    struct msg_origin o = {"edge-1", 1, sid, 0};
    assert_int_equal(store_exec(st, "PRAGMA max_page_count = 40"), 0);
    char uid[32];
    char summary[2000];
    memset(summary, 'x', sizeof(summary) - 1);
    summary[sizeof(summary) - 1] = '\0';
    int rc = 0;
    for (int i = 0; i < 10000 && rc == 0; i++) {
        snprintf(uid, sizeof(uid), "u%d", i);
        Ward__Event ev = make_event(uid, 1, WARD__EVENT_KIND__FLOOD, "10.0.0.1", 1);
        ev.summary = summary;
        int64_t id;
        rc = store_events_upsert(st, &o, &ev, 1, &id);
    }
    assert_int_equal(rc, -ENOSPC);
}

static void test_store_bad_sql_is_an_error(void **state)
{
    struct store *st = *state;
    assert_int_equal(store_exec(st, "CREATE TABLE t (a);"), 0);
    assert_int_equal(store_exec(st, "INSERT INTO nosuch VALUES (1)"), -EIO);
    assert_int_equal(store_exec(st, "CREATE UNIQUE INDEX tu ON t(a); INSERT INTO t VALUES (1);"
                                    " INSERT INTO t VALUES (1)"),
                     -EEXIST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_sensors_enrol_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sensors_revoke_and_reenrol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_sensors_heartbeat_and_silence, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_events_latest_revision_wins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_events_query_filters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_events_console_made, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_events_every_field_reads_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_events_json_column_still_read, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_store_transactions_nest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_full_database_is_enospc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_bad_sql_is_an_error, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
