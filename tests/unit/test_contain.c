/*
 * test_contain -- isolation through the sensor: state that survives a restart,
 * release at the time limit (injected clock), the never-isolate list, dry-run,
 * drills kept away from the real backend, the exec backend's calls, leak
 * reports, and the nft ruleset text.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "contain.h"

#define SEC 1000000ULL
#define T0 (1800000000ULL * SEC)

struct collect {
    int results;
    bool ok;
    char detail[512];
    char backend[16];
    int leaks;
    uint64_t leak_packets;
};

static int collect_send(void *arg, const Ward__Message *m)
{
    struct collect *c = arg;
    if (m->kind_case == WARD__MESSAGE__KIND_RESULT) {
        c->results++;
        c->ok = m->result->ok;
        snprintf(c->detail, sizeof(c->detail), "%s", m->result->detail);
        snprintf(c->backend, sizeof(c->backend), "%s", m->result->backend);
    } else if (m->kind_case == WARD__MESSAGE__KIND_EVENT &&
               m->event->kind == WARD__EVENT_KIND__ISOLATION_LEAK) {
        c->leaks++;
        c->leak_packets = m->event->packets;
    }
    return 0;
}

struct rig {
    char dir[64];
    char state[128];
    char script[128];
    char log[128];
    struct collect col;
    struct sink out;
    struct config *conf;
    struct contain_cfg cfg;
};

static int rig_setup(void **state)
{
    struct rig *g = calloc(1, sizeof(*g));
    snprintf(g->dir, sizeof(g->dir), "/tmp/ward-test-contain-XXXXXX");
    assert_non_null(mkdtemp(g->dir));
    snprintf(g->state, sizeof(g->state), "%s/contain.state", g->dir);
    snprintf(g->script, sizeof(g->script), "%s/hook.sh", g->dir);
    snprintf(g->log, sizeof(g->log), "%s/hook.log", g->dir);
    FILE *f = fopen(g->script, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\necho \"$1 $2 $3 ${WARD_TTL:-}\" >> '%s'\n"
               "[ \"$2\" = 10.9.9.9 ] && exit 3\nexit 0\n", g->log);
    fclose(f);
    chmod(g->script, 0755);
    g->out.send = collect_send;
    g->out.arg = &g->col;
    char text[1024];
    snprintf(text, sizeof(text),
             "[contain]\nbackend = exec\nexec = %s\nstate_file = %s\n"
             "management = 10.0.0.1\nnever_isolate = 10.0.2.0/24, 10.0.0.53\n"
             "default_ttl = 1h\nmax_ttl = 2h\nleak_grace = 2s\n",
             g->script, g->state);
    char err[CONFIG_ERR_LEN];
    assert_int_equal(config_parse("test.conf", text, strlen(text), &g->conf, err, sizeof(err)),
                     0);
    assert_int_equal(contain_config(g->conf, &g->cfg), 0);
    clock_fake_set(T0);
    *state = g;
    return 0;
}

static int rig_teardown(void **state)
{
    struct rig *g = *state;
    char cmd[256];
    contain_config_fini(&g->cfg);
    config_free(g->conf);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g->dir);
    assert_int_equal(system(cmd), 0);
    clock_fake_off();
    free(g);
    return 0;
}

static int isolate(struct contain *c, uint64_t id, const char *host, uint64_t ttl, bool dry,
                   bool drill, bool allow_real)
{
    Ward__Command cmd;
    Ward__Isolate is;
    ward__command__init(&cmd);
    ward__isolate__init(&is);
    cmd.id = id;
    cmd.kind_case = WARD__COMMAND__KIND_ISOLATE;
    cmd.isolate = &is;
    is.host = (char *)(uintptr_t)host;
    is.mac = (char *)(uintptr_t)"02:00:00:00:00:05";
    is.ttl_sec = ttl;
    is.dry_run = dry;
    is.drill = drill;
    is.allow_real = allow_real;
    is.incident = 7;
    return contain_command(c, &cmd);
}

static int release(struct contain *c, uint64_t id, const char *host)
{
    Ward__Command cmd;
    Ward__Release re;
    ward__command__init(&cmd);
    ward__release__init(&re);
    cmd.id = id;
    cmd.kind_case = WARD__COMMAND__KIND_RELEASE;
    cmd.release = &re;
    re.host = (char *)(uintptr_t)host;
    return contain_command(c, &cmd);
}

static int log_lines(const struct rig *g, const char *needle)
{
    char line[256];
    int n = 0;
    FILE *f = fopen(g->log, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, needle))
            n++;
    fclose(f);
    return n;
}

static struct addr A(const char *s)
{
    struct addr a;
    assert_int_equal(addr_parse(s, &a), 0);
    return a;
}

static void test_contain_isolate_survives_restart(void **state)
{
    struct rig *g = *state;
    struct contain *c;
    assert_int_equal(contain_open(&g->cfg, &g->out, &c), 0);
    assert_int_equal(log_lines(g, "setup - -"), 1);
    assert_int_equal(isolate(c, 1, "10.0.1.5", 600, false, false, false), 0);
    assert_true(g->col.ok);
    assert_string_equal(g->col.backend, "exec");
    assert_int_equal(log_lines(g, "isolate 10.0.1.5 02:00:00:00:00:05 600"), 1);
    assert_int_equal(contain_count(c), 1);
    contain_close(c);

    /* A restart re-applies it with the time that is left. */
    clock_fake_advance(100 * SEC);
    assert_int_equal(contain_open(&g->cfg, &g->out, &c), 0);
    assert_true(contain_is_isolated(c, &(struct addr){0}) == false);
    struct addr a = A("10.0.1.5");
    assert_true(contain_is_isolated(c, &a));
    assert_int_equal(log_lines(g, "isolate 10.0.1.5 02:00:00:00:00:05 500"), 1);
    contain_close(c);

    /* Down past its time limit: released at start. */
    clock_fake_advance(600 * SEC);
    assert_int_equal(contain_open(&g->cfg, &g->out, &c), 0);
    assert_false(contain_is_isolated(c, &a));
    assert_int_equal(log_lines(g, "release 10.0.1.5"), 1);
    contain_close(c);
}

static void test_contain_releases_at_ttl(void **state)
{
    struct rig *g = *state;
    struct contain *c;
    assert_int_equal(contain_open(&g->cfg, &g->out, &c), 0);
    assert_int_equal(isolate(c, 1, "10.0.1.5", 5, false, false, false), 0);
    assert_int_equal(isolate(c, 2, "10.0.1.6", 0, false, false, false), 0); /* default 1h */
    assert_int_equal(isolate(c, 3, "10.0.1.7", 99999, false, false, false), 0);
    assert_non_null(strstr(g->col.detail, "7200 s")); /* capped at max_ttl */
    clock_fake_advance(4 * SEC);
    contain_tick(c);
    assert_int_equal(contain_count(c), 3);
    clock_fake_advance(2 * SEC);
    contain_tick(c);
    assert_int_equal(contain_count(c), 2);
    assert_int_equal(log_lines(g, "release 10.0.1.5"), 1);
    clock_fake_advance(3600 * SEC);
    contain_tick(c);
    assert_int_equal(contain_count(c), 1);
    assert_int_equal(release(c, 4, "10.0.1.7"), 0);
    assert_true(g->col.ok);
    assert_int_equal(contain_count(c), 0);
    contain_close(c);
    /* The state file agrees. */
    assert_int_equal(contain_open(&g->cfg, &g->out, &c), 0);
    assert_int_equal(contain_count(c), 0);
    contain_close(c);
}

static void test_contain_refuses_never_isolate(void **state)
{
    struct rig *g = *state;
    struct contain *c;
    assert_int_equal(contain_open(&g->cfg, &g->out, &c), 0);
    assert_int_equal(isolate(c, 1, "10.0.2.20", 0, false, false, false), -EPERM);
    assert_false(g->col.ok);
    assert_non_null(strstr(g->col.detail, "never_isolate"));
    assert_int_equal(isolate(c, 2, "10.0.0.53", 0, false, false, false), -EPERM);
    assert_int_equal(isolate(c, 3, "10.0.0.1", 0, false, false, false), -EPERM);
    assert_non_null(strstr(g->col.detail, "management"));
    assert_int_equal(isolate(c, 4, "bogus", 0, false, false, false), -EINVAL);
    assert_int_equal(contain_count(c), 0);
    assert_int_equal(log_lines(g, "isolate"), 0);
    contain_close(c);
}

static void test_contain_dry_run_and_drill_touch_nothing(void **state)
{
    struct rig *g = *state;
    struct contain *c;
    assert_int_equal(contain_open(&g->cfg, &g->out, &c), 0);
    assert_int_equal(isolate(c, 1, "10.0.1.5", 0, true, false, false), 0);
    assert_true(g->col.ok);
    assert_string_equal(g->col.backend, "dry-run");
    assert_int_equal(contain_count(c), 0);
    assert_int_equal(isolate(c, 2, "10.0.1.5", 0, false, true, false), 0);
    assert_string_equal(g->col.backend, "drill");
    assert_int_equal(contain_count(c), 1);
    assert_int_equal(release(c, 3, "10.0.1.5"), 0);
    assert_int_equal(log_lines(g, "10.0.1.5"), 0); /* the script never ran */
    assert_int_equal(isolate(c, 4, "10.0.1.5", 0, false, true, true), 0);
    assert_string_equal(g->col.backend, "exec");
    assert_int_equal(log_lines(g, "isolate 10.0.1.5"), 1);
    contain_close(c);
}

static void test_contain_reports_backend_failure(void **state)
{
    struct rig *g = *state;
    struct contain *c;
    assert_int_equal(contain_open(&g->cfg, &g->out, &c), 0);
    assert_int_equal(isolate(c, 1, "10.9.9.9", 0, false, false, false), -EIO);
    assert_false(g->col.ok);
    assert_non_null(strstr(g->col.detail, "exit status 3"));
    assert_int_equal(contain_count(c), 0);
    contain_close(c);
}

static void test_contain_expired_command_refused(void **state)
{
    struct rig *g = *state;
    struct contain *c;
    Ward__Command cmd;
    Ward__Release re;
    assert_int_equal(contain_open(&g->cfg, &g->out, &c), 0);
    ward__command__init(&cmd);
    ward__release__init(&re);
    cmd.kind_case = WARD__COMMAND__KIND_RELEASE;
    cmd.release = &re;
    re.host = (char *)(uintptr_t)"10.0.1.5";
    cmd.expires_usec = T0 - SEC;
    assert_int_equal(contain_command(c, &cmd), -ETIME);
    assert_false(g->col.ok);
    contain_close(c);
}

static size_t frame4(uint8_t *buf, const char *s, const char *d)
{
    struct addr a = A(s), b = A(d);
    memset(buf, 0, 60);
    buf[12] = 0x08;
    buf[14] = 0x45;
    buf[23] = 1;
    memcpy(buf + 26, a.b, 4);
    memcpy(buf + 30, b.b, 4);
    return 60;
}

static void test_contain_reports_leaks(void **state)
{
    struct rig *g = *state;
    struct contain *c;
    uint8_t f[60];
    struct evring *r = evring_new(1 << 20, 0, EVRING_LINK_ETHERNET);
    assert_int_equal(contain_open(&g->cfg, &g->out, &c), 0);
    assert_int_equal(contain_watch(c, r), 0);
    assert_int_equal(isolate(c, 1, "10.0.1.5", 0, false, false, false), 0);
    /* Within the grace period, and to management: not leaks. */
    evring_add(r, T0 + SEC, f, (uint32_t)frame4(f, "10.0.3.3", "10.0.1.5"), 60);
    evring_add(r, T0 + 5 * SEC, f, (uint32_t)frame4(f, "10.0.0.1", "10.0.1.5"), 60);
    evring_add(r, T0 + 5 * SEC, f, (uint32_t)frame4(f, "10.0.1.5", "10.0.0.1"), 60);
    contain_tick(c);
    assert_int_equal(g->col.leaks, 0);
    /* exec backend: any traffic of the host after the grace period is a leak. */
    evring_add(r, T0 + 6 * SEC, f, (uint32_t)frame4(f, "10.0.1.5", "10.0.3.3"), 60);
    evring_add(r, T0 + 6 * SEC, f, (uint32_t)frame4(f, "10.0.3.3", "10.0.1.5"), 60);
    contain_tick(c);
    assert_int_equal(g->col.leaks, 1);
    assert_int_equal(g->col.leak_packets, 2);
    contain_tick(c); /* nothing new: no new report */
    assert_int_equal(g->col.leaks, 1);
    contain_close(c);
    evring_free(r);
}

static void test_contain_nft_ruleset(void **state)
{
    (void)state;
    struct cidr_set mgmt;
    char text[4096];
    char bad[64];
    cidr_set_init(&mgmt);
    assert_int_equal(cidr_set_add_list(&mgmt, "10.0.0.1, 192.168.0.0/24, 2001:db8::/64", bad,
                                       sizeof(bad)),
                     0);
    assert_int_equal(contain_nft_ruleset("ward", &mgmt, text, sizeof(text)), 0);
    assert_non_null(strstr(text, "table inet ward {"));
    assert_non_null(strstr(text, "set mgmt4 { type ipv4_addr; flags interval; elements = { "));
    assert_non_null(strstr(text, "192.168.0.0/24"));
    assert_non_null(strstr(text, "2001:db8::/64"));
    assert_non_null(strstr(text, "ip saddr @isolated4 ip daddr != @mgmt4 counter drop"));
    assert_non_null(strstr(text, "hook forward"));
    assert_int_equal(contain_nft_ruleset("bad name;", &mgmt, text, sizeof(text)), -EINVAL);
    assert_int_equal(contain_nft_ruleset("ward", &mgmt, text, 100), -ENOSPC);
    cidr_set_fini(&mgmt);
}

/*
 * The nft backend for real, in a network namespace of this test's own (skipped
 * when one cannot be made): the table, sets and elements appear and go.
 */
static void test_contain_nft_in_private_netns(void **state)
{
    (void)state;
    struct cidr_set mgmt;
    char bad[64];
    char err[CONTAIN_ERR_LEN] = "";
    void *b = NULL;
    if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
        skip();
        return;
    }
    cidr_set_init(&mgmt);
    assert_int_equal(cidr_set_add_list(&mgmt, "10.0.0.1, 2001:db8::/64", bad, sizeof(bad)), 0);
    assert_int_equal(contain_nft_open("ward_test", &mgmt, false, &b), 0);
    int rc = contain_nft_ops.setup(b, err, sizeof(err));
    if (rc != 0 && strstr(err, "Operation not permitted")) {
        contain_nft_ops.close(b);
        cidr_set_fini(&mgmt);
        skip();
        return;
    }
    assert_string_equal(err, "");
    assert_int_equal(rc, 0);
    struct addr a = A("10.0.1.5");
    struct addr six = A("2001:db8:1::5");
    assert_int_equal(contain_nft_ops.isolate(b, &a, "", 60, err, sizeof(err)), 0);
    assert_int_equal(contain_nft_ops.isolate(b, &six, "", 60, err, sizeof(err)), 0);
    assert_int_equal(contain_nft_ops.isolate(b, &a, "", 90, err, sizeof(err)), 0); /* again */
    assert_int_equal(system("nft list set inet ward_test isolated4 | grep -q '10.0.1.5 timeout 1m30s'"),
                     0);
    assert_int_equal(contain_nft_ops.release(b, &a, "", err, sizeof(err)), 0);
    assert_int_equal(contain_nft_ops.release(b, &a, "", err, sizeof(err)), 0); /* again */
    assert_int_equal(system("nft list set inet ward_test isolated4 | grep -q 10.0.1.5"), 256);
    assert_int_equal(system("nft list set inet ward_test mgmt4 | grep -q 10.0.0.1"), 0);
    /* setup() again starts from an empty table. */
    assert_int_equal(contain_nft_ops.setup(b, err, sizeof(err)), 0);
    assert_int_equal(system("nft list set inet ward_test isolated6 | grep -q 2001:db8:1::5"), 256);
    contain_nft_ops.close(b);
    cidr_set_fini(&mgmt);
}

static void test_contain_config_errors(void **state)
{
    (void)state;
    const char *bad[] = {
        "[contain]\nbackend = iptables\n",
        "[contain]\nbackend = exec\n",
        "[contain]\nnever_isolate = 10.0.0.0/33\n",
        "[contain]\ndefault_ttl = 3d\nmax_ttl = 1d\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct config *conf;
        struct contain_cfg cfg;
        char err[CONFIG_ERR_LEN];
        assert_int_equal(config_parse("t.conf", bad[i], strlen(bad[i]), &conf, err, sizeof(err)),
                         0);
        assert_int_equal(contain_config(conf, &cfg), -EINVAL);
        assert_true(strlen(config_error(conf)) > 0);
        config_free(conf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_contain_isolate_survives_restart, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_contain_releases_at_ttl, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_contain_refuses_never_isolate, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_contain_dry_run_and_drill_touch_nothing, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_contain_reports_backend_failure, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_contain_expired_command_refused, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_contain_reports_leaks, rig_setup, rig_teardown),
        cmocka_unit_test(test_contain_nft_ruleset),
        cmocka_unit_test(test_contain_nft_in_private_netns),
        cmocka_unit_test(test_contain_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
