/*
 * test_incident -- correlation into incidents and campaigns, grading as scope
 * grows, and the workflow's refusals, through the module's hooks and verbs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "incident.h"
#include "incident_fx.h"
#include "store.h"
#include "store_incidents.h"

#define PORTSCAN WARD__EVENT_KIND__PORTSCAN
#define LATERAL WARD__EVENT_KIND__LATERAL
#define BEACON WARD__EVENT_KIND__BEACON
#define EXFIL WARD__EVENT_KIND__EXFIL
#define BRUTE WARD__EVENT_KIND__BRUTEFORCE

static const char config_text[] = "[incidents]\n"
                                  "home_net = 10.0.0.0/8\n"
                                  "window = 1h\n"
                                  "[grading]\n"
                                  "core_hosts = 10.1.5.10\n";

static int setup(void **state)
{
    *state = incident_fx_open(config_text);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    incident_fx_close(*state);
    return 0;
}

static void feed(struct incident_fx *fx, const char *uid, Ward__EventKind kind, const char *src,
                 const char *dst, uint64_t at)
{
    struct incident_fx_event e = {.uid = uid, .kind = kind, .src = src, .dst = dst, .at_sec = at};
    assert_int_equal(incident_fx_event(fx, &e), 0);
}

static json_t *show(struct incident_fx *fx, int64_t id)
{
    json_t *r = NULL;
    char err[512];
    int rc = incident_fx_call(fx, &incident_fx_victor, "incident.show",
                              json_pack("{s:I}", "id", (json_int_t)id), &r, err, sizeof(err));
    if (rc)
        fail_msg("show %lld: %s", (long long)id, err);
    return r;
}

/* Calls verb on incident 1 with args; expects failure with msg in the error. */
static void refused(struct incident_fx *fx, const char *verb, json_t *args, const char *msg)
{
    char err[512];
    json_object_set_new(args, "id", json_integer(1));
    int rc = incident_fx_call(fx, &incident_fx_alice, verb, args, NULL, err, sizeof(err));
    assert_true(rc < 0);
    if (!strstr(err, msg))
        fail_msg("error '%s' does not say '%s'", err, msg);
}

static void ok(struct incident_fx *fx, const char *verb, json_t *args)
{
    char err[512];
    json_object_set_new(args, "id", json_integer(1));
    int rc = incident_fx_call(fx, &incident_fx_alice, verb, args, NULL, err, sizeof(err));
    if (rc)
        fail_msg("%s: %s", verb, err);
}

static void test_incident_same_host_joins_one(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "e1", BRUTE, "10.1.1.5", "10.1.1.20", 0);
    feed(fx, "e2", EXFIL, "10.1.1.20", "198.51.100.7", 60);
    feed(fx, "e3", EXFIL, "10.2.2.2", "198.51.100.99", 120);
    assert_int_equal(incident_fx_count(fx), 2);
    json_t *i1 = show(fx, 1);
    assert_int_equal(json_integer_value(json_object_get(i1, "events_total")), 2);
    assert_int_equal(json_array_size(json_object_get(i1, "hosts")), 3);
    assert_int_equal(json_array_size(json_object_get(i1, "techniques")), 2);
    json_decref(i1);
}

static void test_incident_window_separates(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "e1", BRUTE, "10.1.1.5", "10.1.1.20", 0);
    feed(fx, "e2", BRUTE, "10.1.1.5", "10.1.1.20", 3 * 3600);
    assert_int_equal(incident_fx_count(fx), 2);
}

static void test_incident_revision_updates_not_duplicates(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "e1", PORTSCAN, "10.1.1.5", "", 0);
    feed(fx, "e1", PORTSCAN, "10.1.1.5", "", 0);
    assert_int_equal(incident_fx_count(fx), 1);
    json_t *i1 = show(fx, 1);
    assert_int_equal(json_integer_value(json_object_get(i1, "events_total")), 1);
    json_decref(i1);
}

static void test_incident_multi_host_attack_is_one_campaign(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "s1", PORTSCAN, "10.1.1.5", "", 0);
    feed(fx, "s2", PORTSCAN, "10.1.2.6", "", 30);
    feed(fx, "l1", LATERAL, "10.1.1.5", "10.1.3.7", 60);
    feed(fx, "b1", BEACON, "10.1.3.7", "203.0.113.9", 90);
    feed(fx, "b2", BEACON, "10.1.4.8", "203.0.113.9", 120);
    feed(fx, "s3", PORTSCAN, "10.1.4.8", "", 150);
    assert_int_equal(incident_fx_count(fx), 1);
    json_t *i1 = show(fx, 1);
    assert_true(json_is_true(json_object_get(i1, "campaign")));
    assert_int_equal(json_integer_value(json_object_get(i1, "events_total")), 6);
    assert_int_equal(json_integer_value(json_object_get(i1, "hosts_count")), 4);
    assert_int_equal(json_integer_value(json_object_get(i1, "segments_count")), 4);
    assert_non_null(strstr(json_str(i1, "title", ""), "Campaign"));
    /* Four segments reach the default rule for II. */
    assert_string_equal(json_str(i1, "level", ""), "II");
    json_decref(i1);
}

static void test_incident_bridging_event_merges(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "x1", EXFIL, "10.1.1.5", "198.51.100.1", 0);
    feed(fx, "x2", EXFIL, "10.1.7.7", "198.51.100.2", 10);
    assert_int_equal(incident_fx_count(fx), 2);
    feed(fx, "l1", LATERAL, "10.1.1.5", "10.1.7.7", 20);
    assert_int_equal(incident_fx_count(fx), 1);
    json_t *i2 = show(fx, 2);
    assert_string_equal(json_str(i2, "state", ""), "merged");
    assert_int_equal(json_integer_value(json_object_get(i2, "merged_into")), 1);
    assert_string_equal(json_str(json_array_get(json_object_get(i2, "clocks"), 0), "state", ""),
                        "none");
    json_decref(i2);
    json_t *i1 = show(fx, 1);
    assert_int_equal(json_integer_value(json_object_get(i1, "events_total")), 3);
    /* The merged incident's history is part of this one's timeline, in order. */
    bool x2 = false;
    json_int_t last_id = 0;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(i1, "timeline"), i, row) {
        json_int_t rid = json_integer_value(json_object_get(row, "id"));
        assert_true(rid > last_id);
        last_id = rid;
        if (strcmp(json_str(json_object_get(row, "details"), "uid", ""), "x2") == 0)
            x2 = true;
    }
    assert_true(x2);
    json_decref(i1);
    char err[256];
    assert_int_equal(incident_fx_call(fx, &incident_fx_alice, "incident.ack",
                                      json_pack("{s:i}", "id", 2), NULL, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "merged into incident 1"));
}

static void test_incident_single_workstation_scan_is_iv(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "s1", PORTSCAN, "10.1.1.5", "10.1.1.9", 0);
    json_t *i1 = show(fx, 1);
    assert_string_equal(json_str(i1, "level", ""), "IV");
    assert_string_equal(json_str(i1, "level_zh", ""), "一般");
    json_decref(i1);
}

static void test_incident_spread_to_core_is_at_least_ii(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "s1", PORTSCAN, "10.1.1.5", "", 0);
    json_t *i1 = show(fx, 1);
    assert_string_equal(json_str(i1, "level", ""), "IV");
    json_decref(i1);
    feed(fx, "l1", LATERAL, "10.1.1.5", "10.1.5.10", 60);
    i1 = show(fx, 1);
    assert_int_equal(json_integer_value(json_object_get(i1, "level_num")), 2);
    assert_string_equal(json_str(i1, "level_by", ""), "ward");
    assert_non_null(strstr(json_str(i1, "level_reason", ""), "10.1.5.10"));
    /* The raise is in the timeline, by Ward, with its reason. */
    json_t *tl = json_object_get(i1, "timeline");
    bool found = false;
    size_t i;
    json_t *row;
    json_array_foreach(tl, i, row) {
        if (strcmp(json_str(row, "action", ""), "incident.grade") == 0) {
            assert_string_equal(json_str(row, "actor", ""), "ward");
            const json_t *d = json_object_get(row, "details");
            assert_string_equal(json_str(d, "from", ""), "IV");
            assert_string_equal(json_str(d, "to", ""), "II");
            found = true;
        }
    }
    assert_true(found);
    json_decref(i1);
}

static void test_incident_ward_only_raises(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "l1", LATERAL, "10.1.1.5", "10.1.1.6", 0);
    json_t *i1 = show(fx, 1);
    assert_string_equal(json_str(i1, "level", ""), "III");
    json_decref(i1);
    refused(fx, "incident.grade", json_pack("{s:s}", "level", "IV"), "--reason");
    ok(fx, "incident.grade", json_pack("{s:s, s:s}", "level", "IV", "reason", "test lab"));
    /* More of the same does not undo a person's decision. */
    feed(fx, "l2", LATERAL, "10.1.1.5", "10.1.1.7", 10);
    i1 = show(fx, 1);
    assert_string_equal(json_str(i1, "level", ""), "IV");
    assert_string_equal(json_str(i1, "level_by", ""), "alice");
    json_decref(i1);
    /* A spread to a core host is new scope: Ward raises again. */
    feed(fx, "l3", LATERAL, "10.1.1.7", "10.1.5.10", 20);
    i1 = show(fx, 1);
    assert_string_equal(json_str(i1, "level", ""), "II");
    json_decref(i1);
}

static void test_incident_viewer_cannot_act(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "s1", PORTSCAN, "10.1.1.5", "", 0);
    char err[256];
    assert_int_equal(incident_fx_call(fx, &incident_fx_victor, "incident.ack",
                                      json_pack("{s:i}", "id", 1), NULL, err, sizeof(err)),
                     -EPERM);
}

static void test_incident_illegal_transitions_name_what_is_missing(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "s1", PORTSCAN, "10.1.1.5", "", 0);

    refused(fx, "incident.advance", json_pack("{s:s}", "state", "containing"),
            "incident 1 cannot go to containing from recorded: the next step is analysing");
    refused(fx, "incident.advance", json_pack("{s:s}", "state", "analysing"),
            "incident 1 cannot go to analysing: missing --systems (affected systems), --told "
            "(who was told)");
    refused(fx, "incident.advance",
            json_pack("{s:s, s:{s:s}}", "state", "analysing", "fields", "systems", "PC-17"),
            "missing --told (who was told)");
    refused(fx, "incident.advance",
            json_pack("{s:s, s:{s:s}}", "state", "analysing", "fields", "colour", "red"),
            "unknown field --colour");
    ok(fx, "incident.advance",
       json_pack("{s:s, s:{s:s, s:s}}", "state", "analysing", "fields", "systems", "PC-17",
                 "told", "duty officer"));

    refused(fx, "incident.advance",
            json_pack("{s:s, s:{s:s}}", "state", "containing", "fields", "cause", "worm"),
            "incident 1 cannot go to containing: missing --scope (scope), --risk (risk)");
    ok(fx, "incident.advance",
       json_pack("{s:s, s:{s:s, s:s, s:s}}", "state", "containing", "fields", "cause", "worm",
                 "scope", "one PC", "risk", "spread"));

    refused(fx, "incident.advance", json_pack("{s:s}", "state", "recovering"),
            "incident 1 cannot go to recovering: no containment action or decision recorded");
    ok(fx, "incident.advance",
       json_pack("{s:s, s:{s:s}}", "state", "recovering", "fields", "decision",
                 "not isolated: infusion pump console"));

    refused(fx, "incident.advance", json_pack("{s:s}", "state", "review"),
            "incident 1 cannot go to review: missing --restored (what was restored), --how");
    ok(fx, "incident.advance",
       json_pack("{s:s, s:{s:s, s:s}}", "state", "review", "fields", "restored", "PC-17",
                 "how", "reimaged"));

    refused(fx, "incident.advance", json_pack("{s:s}", "state", "closed"),
            "incident 1 cannot go to closed: missing --lessons (lessons learned), --followups");
    refused(fx, "incident.advance",
            json_pack("{s:s, s:{s:s, s:s}}", "state", "closed", "fields", "lessons", "patch",
                      "followups", "audit PCs"),
            "incident 1 cannot go to closed: missing --signoff (sign-off)");
    ok(fx, "incident.advance",
       json_pack("{s:s, s:{s:s, s:s, s:s}}", "state", "closed", "fields", "lessons", "patch",
                 "followups", "audit PCs", "signoff", "CISO Li"));

    refused(fx, "incident.advance", json_pack("{s:s}", "state", "analysing"),
            "incident 1 is closed; reopen it first");
    refused(fx, "incident.reopen", json_object(), "--reason");
    ok(fx, "incident.reopen", json_pack("{s:s}", "reason", "same worm seen again"));
    json_t *i1 = show(fx, 1);
    assert_string_equal(json_str(i1, "state", ""), "analysing");
    json_decref(i1);
    refused(fx, "incident.reopen", json_pack("{s:s}", "reason", "x"), "is not closed");
}

static void test_incident_record_action_counts_containment(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "s1", PORTSCAN, "10.1.1.5", "", 0);
    json_t *d = json_pack("{s:s}", "host", "10.1.1.5");
    assert_int_equal(incident_record_action(&fx->c, 1, &incident_fx_alice, "isolate.dry_run", d),
                     0);
    assert_int_equal(incident_record_action(&fx->c, 9, &incident_fx_alice, "isolate", d),
                     -ENOENT);
    json_t *i1 = show(fx, 1);
    assert_int_equal(json_integer_value(json_object_get(i1, "containment_actions")), 0);
    json_decref(i1);
    assert_int_equal(incident_record_action(&fx->c, 1, &incident_fx_alice, "isolate", d), 0);
    json_decref(d);
    i1 = show(fx, 1);
    assert_int_equal(json_integer_value(json_object_get(i1, "containment_actions")), 1);
    json_decref(i1);
}

static void test_incident_list_filters(void **state)
{
    struct incident_fx *fx = *state;
    feed(fx, "s1", PORTSCAN, "10.1.1.5", "", 0);
    feed(fx, "l1", LATERAL, "10.3.1.5", "10.3.1.6", 0);
    json_t *list = NULL;
    char err[256];
    assert_int_equal(incident_fx_call(fx, &incident_fx_victor, "incidents",
                                      json_pack("{s:s}", "level", "III"), &list, err,
                                      sizeof(err)),
                     0);
    assert_int_equal(json_array_size(list), 1);
    json_t *clocks = json_object_get(json_array_get(list, 0), "clocks");
    assert_int_equal(json_array_size(clocks), 3);
    assert_string_equal(json_str(json_array_get(clocks, 0), "text", ""), "1h00m left");
    json_decref(list);
}

/*
 * A batch correlates exactly as the same events one batch each would, and its
 * audit names the events that joined each incident in one row per incident
 * (incident.events), the row before a level raise holding the events before it.
 */
/* Incidents 1..3 of a and b are the same, timelines aside. */
static void assert_same_incidents(struct incident_fx *a_fx, struct incident_fx *b_fx)
{
    assert_int_equal(incident_fx_count(b_fx), incident_fx_count(a_fx));
    for (int64_t id = 1; id <= 3; id++) {
        json_t *a = show(a_fx, id), *b = show(b_fx, id);
        json_object_del(a, "timeline");
        json_object_del(b, "timeline");
        if (!json_equal(a, b)) {
            char *ta = json_dumps(a, JSON_SORT_KEYS), *tb = json_dumps(b, JSON_SORT_KEYS);
            fail_msg("incident %lld differs:\n%s\n%s", (long long)id, ta, tb);
        }
        json_decref(a);
        json_decref(b);
    }
}

static void test_incident_batch_same_as_event_by_event(void **state)
{
    struct incident_fx *one = *state;
    struct incident_fx *all = incident_fx_open(config_text);
    assert_non_null(all);
    const struct incident_fx_event evs[] = {
        {.uid = "s1", .kind = PORTSCAN, .src = "10.1.1.5", .at_sec = 0},
        {.uid = "s2", .kind = PORTSCAN, .src = "10.1.2.6", .at_sec = 30},
        {.uid = "s3", .kind = PORTSCAN, .src = "10.1.2.7", .dst = "10.1.1.5", .at_sec = 40},
        {.uid = "x1", .kind = EXFIL, .src = "10.1.7.7", .dst = "198.51.100.2", .at_sec = 50},
        {.uid = "x2", .kind = EXFIL, .src = "10.1.7.7", .dst = "198.51.100.3", .at_sec = 55},
        {.uid = "l1", .kind = LATERAL, .src = "10.1.1.5", .dst = "10.1.7.7", .at_sec = 60},
        {.uid = "s4", .kind = PORTSCAN, .src = "10.1.3.8", .at_sec = 70},
        {.uid = "l2", .kind = LATERAL, .src = "10.1.1.5", .dst = "10.1.5.10", .at_sec = 80},
        {.uid = "s1", .kind = PORTSCAN, .src = "10.1.1.5", .sensor = "edge-2", .at_sec = 90},
        {.uid = "b1", .kind = BRUTE, .src = "10.9.9.9", .dst = "10.9.9.10", .at_sec = 100},
    };
    for (size_t i = 0; i < WARD_ARRAY_LEN(evs); i++)
        assert_int_equal(incident_fx_event(one, &evs[i]), 0);
    assert_int_equal(incident_fx_batch(all, evs, WARD_ARRAY_LEN(evs)), 0);
    assert_same_incidents(one, all);
    /* Batches of 3 sharing one transaction (a group commit) come out the same. */
    struct incident_fx *grouped = incident_fx_open(config_text);
    assert_non_null(grouped);
    assert_int_equal(incident_fx_group(grouped, evs, WARD_ARRAY_LEN(evs), 3), 0);
    assert_same_incidents(one, grouped);
    incident_fx_close(grouped);

    json_t *i1 = show(all, 1);
    assert_string_equal(json_str(i1, "level", ""), "II");
    json_int_t events = 0, grade_id = 0, l2_id = 0, batched = 0;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(i1, "timeline"), i, row) {
        const char *action = json_str(row, "action", "");
        const json_t *d = json_object_get(row, "details");
        json_int_t rid = json_integer_value(json_object_get(row, "id"));
        if (strcmp(action, "incident.event") == 0) {
            events++;
            if (strcmp(json_str(d, "uid", ""), "l2") == 0)
                l2_id = rid;
        } else if (strcmp(action, "incident.events") == 0) {
            json_int_t n = json_integer_value(json_object_get(d, "count"));
            size_t named = 0, k;
            const char *sensor;
            json_t *uids, *uid;
            json_object_foreach(json_object_get(d, "events"), sensor, uids) {
                named += json_array_size(uids);
                json_array_foreach(uids, k, uid) {
                    if (strcmp(json_string_value(uid), "l2") == 0)
                        l2_id = rid;
                }
            }
            assert_int_equal(named, (size_t)n);
            events += n;
            batched++;
        } else if (strcmp(action, "incident.grade") == 0) {
            grade_id = rid;
        }
    }
    /* Every event of incidents 1 and 2 (merged into it) once; the batch in few rows. */
    assert_int_equal(events, 9);
    assert_true(batched >= 1);
    assert_true(grade_id > 0 && l2_id > grade_id);
    json_decref(i1);

    json_t *v = NULL;
    char err[256];
    assert_int_equal(incident_fx_call(all, &incident_fx_victor, "audit.verify", json_object(),
                                      &v, err, sizeof(err)),
                     0);
    assert_true(json_is_true(json_object_get(v, "ok")));
    json_decref(v);
    incident_fx_close(all);
}

/* A database from before links referred to event rows keeps its links. */
static void test_incident_links_from_event_copies(void **state)
{
    (void)state;
    struct store *st = NULL;
    assert_int_equal(store_open(":memory:", &st), 0);
    assert_int_equal(
        store_exec(st,
                   "INSERT INTO sensors(id, name, curve_pk, sign_pk, enrolled_usec)"
                   " VALUES (4, 'edge-1', x'01', x'02', 1);"
                   "INSERT INTO events(id, sensor_id, uid, revision, kind, first_usec, last_usec,"
                   " received_usec, body) VALUES (9, 4, 'e1', 1, 'portscan', 1, 2, 3, '{}');"
                   "CREATE TABLE incident_events (sensor TEXT NOT NULL, uid TEXT NOT NULL,"
                   " incident INTEGER NOT NULL, kind TEXT NOT NULL, src TEXT NOT NULL,"
                   " dst TEXT NOT NULL, first_usec INTEGER NOT NULL, last_usec INTEGER NOT NULL,"
                   " severity INTEGER NOT NULL, summary TEXT NOT NULL, event TEXT NOT NULL,"
                   " received_usec INTEGER NOT NULL, PRIMARY KEY (sensor, uid));"
                   "INSERT INTO incident_events VALUES ('edge-1', 'e1', 7, 'portscan', '', '', 1,"
                   " 2, 0, '', '{}', 5);"),
        0);
    assert_int_equal(store_incidents_create(st), 0);
    int64_t owner = 0;
    assert_int_equal(store_incidents_event_owner(st, 9, &owner), 0);
    assert_int_equal(owner, 7);
    assert_int_equal(store_incidents_create(st), 0); /* again: nothing left to move */
    assert_int_equal(store_incidents_event_owner(st, 9, &owner), 0);
    store_close(st);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_incident_same_host_joins_one),
        T(test_incident_window_separates),
        T(test_incident_revision_updates_not_duplicates),
        T(test_incident_multi_host_attack_is_one_campaign),
        T(test_incident_bridging_event_merges),
        T(test_incident_single_workstation_scan_is_iv),
        T(test_incident_spread_to_core_is_at_least_ii),
        T(test_incident_ward_only_raises),
        T(test_incident_viewer_cannot_act),
        T(test_incident_illegal_transitions_name_what_is_missing),
        T(test_incident_record_action_counts_containment),
        T(test_incident_list_filters),
        T(test_incident_batch_same_as_event_by_event),
        cmocka_unit_test(test_incident_links_from_event_copies),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
