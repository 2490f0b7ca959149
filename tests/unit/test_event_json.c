/*
 * test_event_json -- the direct text writer gives byte for byte what jansson
 * prints for event_json()'s tree, over ordinary events and awkward ones
 * (escapes, invalid UTF-8, repeated or non-finite figures, huge numbers).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "event_json.h"

/* Asserts both writers agree on ev; a small starting buffer makes the text one grow. */
static void same_text(const Ward__Event *ev, const char *sensor)
{
    json_t *j = event_json(ev, sensor);
    assert_non_null(j);
    char *want = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_non_null(want);
    char small[16];
    struct event_json_buf b = {small, 0, sizeof(small), false};
    assert_int_equal(event_json_text(ev, sensor, &b), 0);
    assert_string_equal(b.data, want);
    assert_int_equal(b.len, strlen(want));
    event_json_buf_fini(&b);
    free(want);
}

static void test_event_json_text_matches_tree_for_plain_event(void **state)
{
    (void)state;
    Ward__Event ev;
    ward__event__init(&ev);
    same_text(&ev, NULL);
    same_text(&ev, "edge-1");
    uint32_t ports[] = {22, 80, 443};
    Ward__Figure f1, f2;
    ward__figure__init(&f1);
    ward__figure__init(&f2);
    f1.name = (char *)(uintptr_t) "targets";
    f1.value = 212;
    f2.name = (char *)(uintptr_t) "rate";
    f2.value = 0.1;
    Ward__Figure *figs[] = {&f1, &f2};
    char *targets[] = {(char *)(uintptr_t) "10.0.0.1", (char *)(uintptr_t) "10.0.0.2"};
    ev.kind = WARD__EVENT_KIND__PORTSCAN;
    ev.subtype = (char *)(uintptr_t) "vertical";
    ev.uid = (char *)(uintptr_t) "edge-1-42";
    ev.revision = 3;
    ev.src = (char *)(uintptr_t) "10.1.2.3";
    ev.dst = (char *)(uintptr_t) "10.1.9.9";
    ev.proto = 6;
    ev.n_ports = 3;
    ev.ports = ports;
    ev.first_usec = 1795000000123456ull;
    ev.last_usec = 1795000060000000ull;
    ev.packets = 1000;
    ev.bytes = 64000;
    ev.count = 7;
    ev.severity = 60;
    ev.confidence = 90;
    ev.summary = (char *)(uintptr_t) "vertical scan of 212 ports";
    ev.n_figures = 2;
    ev.figures = figs;
    ev.n_targets = 2;
    ev.targets = targets;
    ev.n_evidence = 1;
    ev.evidence = targets;
    ev.vlan = 12;
    ev.closed = true;
    same_text(&ev, "edge-1");
}

static void test_event_json_text_matches_tree_for_awkward_values(void **state)
{
    (void)state;
    Ward__Event ev;
    ward__event__init(&ev);
    Ward__Figure f[7];
    Ward__Figure *figs[7];
    static const struct {
        const char *name;
        double value;
    } fv[] = {
        {"a", 1.0}, {"b", NAN}, {"a", -0.0}, {"big", 1e300}, {"tiny", 1.5e-7}, {"\xff", 2.0},
        {"q\"\\\n", 1.0 / 3.0},
    };
    for (size_t i = 0; i < 7; i++) {
        ward__figure__init(&f[i]);
        f[i].name = (char *)(uintptr_t)fv[i].name;
        f[i].value = fv[i].value;
        figs[i] = &f[i];
    }
    char *ev_items[] = {(char *)(uintptr_t) "ok", (char *)(uintptr_t) "bad\xc0\xaf", NULL,
                        (char *)(uintptr_t) "caf\xc3\xa9 \xf0\x9f\x98\x80 /\x7f"};
    ev.kind = (Ward__EventKind)999;
    ev.uid = (char *)(uintptr_t) "u\x01\x1f\t\b\f\r";
    ev.src = (char *)(uintptr_t) "\xed\xa0\x80"; /* a surrogate: not valid UTF-8 */
    ev.summary = (char *)(uintptr_t) "quote \" back \\ slash / end";
    ev.domain = (char *)(uintptr_t) "\xe0\x80\x80"; /* overlong */
    ev.revision = UINT32_MAX;
    ev.packets = UINT64_MAX;
    ev.last_usec = 253402300800000000ull + 5; /* the year 10000 */
    ev.bytes = (uint64_t)INT64_MAX + 5;
    ev.n_figures = 7;
    ev.figures = figs;
    ev.n_evidence = 4;
    ev.evidence = ev_items;
    ev.n_targets = 4;
    ev.targets = ev_items;
    same_text(&ev, "sensor \xe2\x82\xac");
    same_text(&ev, "bad\x80");
}

static void test_event_json_text_matches_tree_for_random_events(void **state)
{
    (void)state;
    srand(7);
    static const char alphabet[] = "ab\"\\/\n\x01\xc3\xa9\xff\xe2\x82\xac\xf0\x9f\x98\x80 ";
    for (int n = 0; n < 500; n++) {
        char strs[6][24];
        for (size_t s = 0; s < 6; s++) {
            size_t len = (size_t)rand() % 20;
            for (size_t k = 0; k < len; k++)
                strs[s][k] = alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
            strs[s][len] = '\0';
        }
        Ward__Figure f[3];
        Ward__Figure *figs[3];
        for (size_t i = 0; i < 3; i++) {
            ward__figure__init(&f[i]);
            f[i].name = strs[(size_t)rand() % 3];
            f[i].value = (double)(rand() - RAND_MAX / 2) / (double)(rand() % 1000 + 1) *
                         pow(10.0, rand() % 40 - 20);
            figs[i] = &f[i];
        }
        char *items[] = {strs[3], strs[4]};
        Ward__Event ev;
        ward__event__init(&ev);
        ev.kind = (Ward__EventKind)(rand() % 14);
        ev.uid = strs[0];
        ev.subtype = strs[1];
        ev.summary = strs[2];
        ev.src = strs[3];
        ev.dst = strs[4];
        ev.src_mac = strs[5];
        ev.first_usec = (uint64_t)rand() * 1000003u;
        ev.last_usec = ev.first_usec + (uint64_t)rand();
        ev.severity = (uint32_t)rand() % 101;
        ev.n_figures = 3;
        ev.figures = figs;
        ev.n_targets = 2;
        ev.targets = items;
        same_text(&ev, rand() % 2 ? strs[5] : NULL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_json_text_matches_tree_for_plain_event),
        cmocka_unit_test(test_event_json_text_matches_tree_for_awkward_values),
        cmocka_unit_test(test_event_json_text_matches_tree_for_random_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
