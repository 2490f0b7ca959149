/*
 * test_sensor -- ward-sensor's command line (sensor_opts_parse) and the offline
 * JSON-lines sink: what each option sets, what implies what, and that usage
 * errors are refused rather than guessed.
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

#include "sensor.h"
#include "sink_jsonl.h"

static int parse(struct sensor_opts *o, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    static char bufs[32][128];
    argv[argc] = strcpy(bufs[argc], "ward-sensor");
    argc++;
    for (; *args && argc < 31; args++, argc++)
        argv[argc] = strcpy(bufs[argc], *args);
    argv[argc] = NULL;
    return sensor_opts_parse(argc, argv, o);
}

static void test_sensor_opts_offline(void **state)
{
    (void)state;
    struct sensor_opts o;
    const char *a[] = {"-r", "x.pcap", "-o", "jsonl", "--home-net", "10.0.0.0/8", "-f", "tcp",
                       "-s", "1500", "-B", "64M", "-v", NULL};
    assert_int_equal(parse(&o, a), 0);
    assert_string_equal(o.file, "x.pcap");
    assert_null(o.iface);
    assert_string_equal(o.output, "jsonl");
    assert_string_equal(o.home_net, "10.0.0.0/8");
    assert_string_equal(o.filter, "tcp");
    assert_int_equal(o.snaplen, 1500);
    assert_int_equal(o.buffer_bytes, 64u << 20);
    assert_int_equal(o.verbose, 1);
    assert_int_equal(o.promisc, -1);
    assert_false(o.replay);
}

static void test_sensor_opts_implications(void **state)
{
    (void)state;
    struct sensor_opts o;
    const char *speed[] = {"-r", "x.pcap", "--speed", "10", "-o", "jsonl", NULL};
    assert_int_equal(parse(&o, speed), 0);
    assert_true(o.replay);
    assert_true(o.speed == 10.0);
    const char *replay[] = {"-r", "x.pcap", "--replay", "-o", "jsonl", NULL};
    assert_int_equal(parse(&o, replay), 0);
    assert_true(o.speed == 1.0);
    const char *assets[] = {"-r", "x.pcap", "--assets", NULL};
    assert_int_equal(parse(&o, assets), 0);
    assert_string_equal(o.output, "jsonl");
    assert_true(o.assets);
    const char *live[] = {"-i", "eth1", "--no-promisc", "--immediate", "-u", "ward", NULL};
    assert_int_equal(parse(&o, live), 0);
    assert_int_equal(o.promisc, 0);
    assert_int_equal(o.immediate, 1);
    assert_string_equal(o.user, "ward");
    const char *console[] = {"-i", "eth1", "--console", "tcp://10.0.0.5:7400", "--keys", "k",
                             "--console-key", "c.pub", "--name", "edge-1", "--spool", "s",
                             NULL};
    assert_int_equal(parse(&o, console), 0);
    assert_string_equal(o.console, "tcp://10.0.0.5:7400");
    assert_string_equal(o.name, "edge-1");
    assert_string_equal(o.spool, "s");
}

static void test_sensor_opts_usage_errors(void **state)
{
    (void)state;
    struct sensor_opts o;
    static const char *const bad[][8] = {
        {"-r", "x", "-i", "eth0", NULL},           /* both sources */
        {"-i", "eth0", "--replay", NULL},           /* pacing a live capture */
        {"-r", "x", "-o", "xml", NULL},             /* unknown output */
        {"-r", "x", "-s", "10", NULL},              /* snaplen too small */
        {"-r", "x", "-s", "70000000", NULL},        /* snaplen too large */
        {"-r", "x", "-B", "lots", NULL},            /* bad size */
        {"-r", "x", "--speed", "0", NULL},          /* speed must be > 0 */
        {"-r", "x", "--speed", "-3", NULL},
        {"-r", "x", "-o", "jsonl", "--console", "tcp://h:1", NULL}, /* two outputs */
        {"-r", "x", "--bogus", NULL},
        {"-r", NULL},                               /* missing value */
        {"-r", "x", "stray", NULL},
    };
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(parse(&o, bad[i]), -EINVAL);
    fclose(stderr);
    stderr = saved;
}

static void test_sensor_opts_help(void **state)
{
    (void)state;
    struct sensor_opts o;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    const char *h[] = {"--help", NULL};
    int rc = parse(&o, h);
    const char *v[] = {"--version", NULL};
    int rv = parse(&o, v);
    fclose(stdout);
    stdout = saved;
    assert_int_equal(rc, 1);
    assert_int_equal(rv, 1);
}

static void test_sensor_sink_jsonl_writes_events_only(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    struct sink_jsonl j;
    struct sink s = sink_jsonl_init(&j, f, "edge-1", false, false);

    Ward__Event ev;
    Ward__Message m;
    ward__event__init(&ev);
    ward__message__init(&m);
    char src[] = "10.0.0.5", summary[] = "a scan";
    ev.kind = WARD__EVENT_KIND__PORTSCAN;
    ev.src = src;
    ev.summary = summary;
    ev.revision = 1;
    m.kind_case = WARD__MESSAGE__KIND_EVENT;
    m.event = &ev;
    assert_int_equal(sink_send(&s, &m), 0);

    Ward__AssetUpdate a;
    ward__asset_update__init(&a);
    char ip[] = "10.0.0.9";
    a.ip = ip;
    m.kind_case = WARD__MESSAGE__KIND_ASSET;
    m.asset = &a;
    assert_int_equal(sink_send(&s, &m), 0);
    fclose(f);
    assert_int_equal(j.events, 1);
    assert_int_equal(j.skipped, 1);
    assert_non_null(strstr(buf, "\"kind\":\"portscan\""));
    assert_non_null(strstr(buf, "\"sensor\":\"edge-1\""));
    assert_null(strstr(buf, "10.0.0.9"));
    assert_int_equal(buf[len - 1], '\n');
    free(buf);

    /* With assets on, the asset update is a line of its own. */
    f = open_memstream(&buf, &len);
    s = sink_jsonl_init(&j, f, NULL, true, false);
    assert_int_equal(sink_send(&s, &m), 0);
    fclose(f);
    assert_non_null(strstr(buf, "\"type\":\"asset\""));
    assert_non_null(strstr(buf, "10.0.0.9"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sensor_opts_offline),
        cmocka_unit_test(test_sensor_opts_implications),
        cmocka_unit_test(test_sensor_opts_usage_errors),
        cmocka_unit_test(test_sensor_opts_help),
        cmocka_unit_test(test_sensor_sink_jsonl_writes_events_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
