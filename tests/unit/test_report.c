/*
 * test_report -- a full walk from detection to closed; the disposition report
 * (Markdown and HTML) holds every action of the timeline, the deadline
 * compliance, the evidence hashes and the level's Chinese name, and escapes
 * what people and the network wrote.
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

#include "clock.h"
#include "incident.h"
#include "incident_fx.h"
#include "report.h"

#define MIN (60 * USEC_PER_SEC)
#define HASH "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static const char config_text[] = "[incidents]\nhome_net = 10.0.0.0/8\n"
                                  "[grading]\ncore_hosts = 10.1.5.10\n";

static void act(struct incident_fx *fx, const char *verb, json_t *args)
{
    char err[512];
    json_object_set_new(args, "id", json_integer(1));
    clock_fake_advance(2 * MIN);
    if (incident_fx_call(fx, &incident_fx_alice, verb, args, NULL, err, sizeof(err)))
        fail_msg("%s: %s", verb, err);
}

static char *report(struct incident_fx *fx, const char *format)
{
    json_t *r = NULL;
    char err[512];
    if (incident_fx_call(fx, &incident_fx_victor, "report",
                         json_pack("{s:i, s:s}", "id", 1, "format", format), &r, err,
                         sizeof(err)))
        fail_msg("report: %s", err);
    char *text = strdup(json_str(r, "text", ""));
    json_decref(r);
    return text;
}

static void expect(const char *text, const char *what)
{
    if (!strstr(text, what))
        fail_msg("report lacks '%s'", what);
}

static void test_report_full_walk_holds_every_action(void **state)
{
    (void)state;
    struct incident_fx *fx = incident_fx_open(config_text);
    assert_non_null(fx);
    struct incident_fx_event e1 = {.uid = "s1", .kind = WARD__EVENT_KIND__PORTSCAN,
                                   .src = "10.1.1.5", .evidence = HASH};
    struct incident_fx_event e2 = {.uid = "l1", .kind = WARD__EVENT_KIND__LATERAL,
                                   .src = "10.1.1.5", .dst = "10.1.5.10", .at_sec = 60};
    assert_int_equal(incident_fx_event(fx, &e1), 0);
    assert_int_equal(incident_fx_event(fx, &e2), 0);

    act(fx, "incident.ack", json_object());
    act(fx, "incident.assign", json_pack("{s:s}", "user", "bob"));
    act(fx, "incident.notify", json_pack("{s:s, s:s}", "to", "leadership", "note",
                                         "phoned the duty director"));
    act(fx, "incident.note", json_pack("{s:s}", "text", "PACS team told | on call"));
    act(fx, "incident.advance",
        json_pack("{s:s, s:{s:s, s:s}}", "state", "analysing", "fields", "systems",
                  "PACS server 10.1.5.10, workstation PC-17", "told", "IT director Wang"));
    act(fx, "incident.advance",
        json_pack("{s:s, s:{s:s, s:s, s:s}}", "state", "containing", "fields", "cause",
                  "phishing mail on PC-17", "scope", "two hosts", "risk",
                  "image archive encryption"));
    json_t *d = json_pack("{s:s, s:s}", "host", "10.1.1.5", "backend", "nft");
    clock_fake_advance(MIN);
    assert_int_equal(incident_record_action(&fx->c, 1, &incident_fx_alice, "isolate", d), 0);
    json_decref(d);
    act(fx, "incident.advance", json_pack("{s:s, s:{s:s}}", "state", "recovering", "fields",
                                          "action", "disabled the account <jdoe>"));
    act(fx, "incident.advance", json_pack("{s:s, s:{s:s, s:s}}", "state", "review", "fields",
                                          "restored", "PC-17", "how", "reimaged from gold image"));
    act(fx, "incident.advance",
        json_pack("{s:s, s:{s:s, s:s, s:s}}", "state", "closed", "fields", "lessons",
                  "macro policy too loose", "followups", "block macros by GPO", "signoff",
                  "CISO Li"));

    char *md = report(fx, "md");
    expect(md, "# Incident 1 disposition report");
    expect(md, "II 重大");
    expect(md, "incident opened");
    expect(md, "lateral event from 10.1.1.5 to 10.1.5.10");
    expect(md, "level IV -> II");
    expect(md, "acknowledged");
    expect(md, "assigned to bob");
    expect(md, "reported to the leadership: phoned the duty director");
    expect(md, "note: PACS team told \\| on call");
    expect(md, "recorded -> analysing");
    expect(md, "analysing -> containing");
    expect(md, "action isolate");
    expect(md, "disabled the account \\<jdoe>");
    expect(md, "containing -> recovering");
    expect(md, "recovering -> review");
    expect(md, "review -> closed");
    expect(md, HASH);
    expect(md, "Report to IT director");
    expect(md, "| met |");
    expect(md, "phishing mail on PC-17");
    expect(md, "block macros by GPO");
    expect(md, "CISO Li");
    /* Every audit row of the incident is a timeline row. */
    json_t *i1 = NULL;
    char err[256];
    assert_int_equal(incident_fx_call(fx, &incident_fx_victor, "incident.show",
                                      json_pack("{s:i}", "id", 1), &i1, err, sizeof(err)),
                     0);
    size_t i;
    const json_t *row;
    json_array_foreach(json_object_get(i1, "timeline"), i, row) {
        if (strcmp(json_str(row, "action", ""), "incident.report") == 0)
            continue; /* recorded after this report was written */
        char needle[48];
        snprintf(needle, sizeof(needle), "| %lld | %s |",
                 (long long)json_integer_value(json_object_get(row, "id")),
                 json_str(row, "time", ""));
        expect(md, needle);
    }
    assert_true(json_array_size(json_object_get(i1, "timeline")) >= 14);
    json_decref(i1);
    if (getenv("WARD_TEST_SHOW_REPORT"))
        fputs(md, stdout);
    free(md);

    /* The compromised-endpoint report of the first workstation. */
    json_t *r = NULL;
    assert_int_equal(incident_fx_call(fx, &incident_fx_victor, "report",
                                      json_pack("{s:i, s:s, s:s}", "id", 1, "format", "md",
                                                "host", "10.1.1.5"),
                                      &r, err, sizeof(err)),
                     0);
    const char *ep = json_str(r, "text", "");
    expect(ep, "Compromised endpoint report: 10.1.1.5");
    expect(ep, "attacking other hosts");
    expect(ep, "action isolate");
    expect(ep, "lateral");
    expect(ep, "phishing mail on PC-17");
    json_decref(r);
    assert_int_equal(incident_fx_call(fx, &incident_fx_victor, "report",
                                      json_pack("{s:i, s:s}", "id", 1, "host", "10.9.9.9"), &r,
                                      err, sizeof(err)),
                     -ENOENT);
    assert_non_null(strstr(err, "does not involve host 10.9.9.9"));

    char *html = report(fx, "html");
    expect(html, "<!DOCTYPE html>");
    expect(html, "<meta charset=\"utf-8\">");
    expect(html, "disabled the account &lt;jdoe&gt;");
    expect(html, "重大");
    free(html);
    incident_fx_close(fx);
}

static void test_report_describes_a_batch_of_events(void **state)
{
    (void)state;
    json_t *row = json_pack("{s:s, s:{s:i, s:{s:i, s:i}, s:{s:[s, s], s:[s]}}}", "action",
                            "incident.events", "details", "count", 3, "kinds", "lateral", 1,
                            "portscan", 2, "events", "edge-1", "s1", "l1", "edge-2", "s9");
    char text[512];
    assert_int_equal(report_describe(row, text, sizeof(text)), 0);
    assert_string_equal(text, "3 events joined (lateral 1, portscan 2): edge-1/s1, edge-1/l1, "
                              "edge-2/s9");
    json_decref(row);
}

static void test_report_rejects_bad_format(void **state)
{
    (void)state;
    enum report_format f;
    assert_int_equal(report_format_parse("pdf", &f), -EINVAL);
    assert_int_equal(report_format_parse("html", &f), 0);
    char *out = NULL;
    json_t *notobj = json_array();
    assert_int_equal(report_render(notobj, REPORT_MD, 0, &out), -EINVAL);
    json_decref(notobj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_full_walk_holds_every_action),
        cmocka_unit_test(test_report_rejects_bad_format),
        cmocka_unit_test(test_report_describes_a_batch_of_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
