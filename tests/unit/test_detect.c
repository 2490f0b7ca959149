/*
 * test_detect -- the engine's dispatch: a detector is called for the packets it
 * wants and for no others, in table order; what it wants is asked again when it
 * says it changed, after a reload and after an intelligence update; a prefetch
 * hook runs only for the packets it can do something for.  Fake detectors record
 * what reached them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "detect.h"

#define T0 (1700000000ULL * USEC_PER_SEC)

/* What one fake detector saw, and what it wants. */
struct fake {
    uint64_t wants;   /* returned by its wants() */
    bool until_first; /* wants DETECT_WANT_FIRST until it sees one, then nothing */
    unsigned packets; /* on_packet calls */
};

static struct fake fakes[3];
static unsigned asked[3];      /* wants() calls per fake */
static unsigned prefetches[3]; /* prefetch calls per fake */
static char order[64];         /* the fakes called for the latest packets, as letters */

static void note(size_t i)
{
    size_t n = strlen(order);
    if (n + 1 < sizeof(order)) {
        order[n] = (char)('a' + i);
        order[n + 1] = '\0';
    }
}

static int init_a(struct config *cfg, void **state)
{
    (void)cfg;
    *state = &fakes[0];
    return 0;
}

static int init_b(struct config *cfg, void **state)
{
    (void)cfg;
    *state = &fakes[1];
    return 0;
}

static int init_c(struct config *cfg, void **state)
{
    (void)cfg;
    *state = &fakes[2];
    return 0;
}

static void fake_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                        int dir)
{
    struct fake *fk = state;
    (void)p;
    fk->packets++;
    note((size_t)(fk - fakes));
    if (fk->until_first && f && f->pkts[dir] == 1) {
        fk->until_first = false;
        fk->wants = 0;
        ctx->wants_changed = true;
    }
}

static uint64_t fake_wants(const void *state)
{
    const struct fake *fk = state;
    asked[fk - fakes]++;
    return fk->until_first ? DETECT_WANT_FIRST : fk->wants;
}

static int fake_reload(void *state)
{
    struct fake *fk = state;
    fk->wants = PKT_UDP;
    return 0;
}

static int fake_intel(void *state, const struct detect_intel *u, char *detail, size_t cap)
{
    struct fake *fk = state;
    (void)u;
    fk->wants = PKT_DNS;
    snprintf(detail, cap, "ok");
    return 0;
}

static void fake_prefetch(const void *state, const struct pkt *p, const struct flow *f, int stage)
{
    const struct fake *fk = state;
    (void)p;
    (void)f;
    (void)stage;
    prefetches[fk - fakes]++;
}

static const struct detector fake_a = {
    .name = "a",
    .init = init_a,
    .on_packet = fake_packet,
    .wants = fake_wants,
    .reload = fake_reload,
    .intel = fake_intel,
    .prefetch = fake_prefetch,
    .prefetch_wants = DETECT_WANT_TCP_CONTROL,
};

static const struct detector fake_b = {
    .name = "b",
    .init = init_b,
    .on_packet = fake_packet,
    .wants = fake_wants,
};

/* No wants(): every packet; a prefetch hook with no mask: every packet too. */
static const struct detector fake_all = {
    .name = "c",
    .init = init_c,
    .on_packet = fake_packet,
    .prefetch = fake_prefetch,
};

static const struct detector *const table[] = {&fake_a, &fake_b, &fake_all};

static struct config *cfg;

static struct detect_engine *engine(size_t count)
{
    cfg = config_new_empty("test.conf");
    assert_non_null(cfg);
    struct detect_engine *de = detect_engine_new_table(cfg, NULL, NULL, NULL, table, count);
    assert_non_null(de);
    order[0] = '\0';
    return de;
}

static void done(struct detect_engine *de)
{
    detect_engine_free(de);
    config_free(cfg);
}

static int setup(void **state)
{
    (void)state;
    memset(fakes, 0, sizeof(fakes));
    memset(asked, 0, sizeof(asked));
    memset(prefetches, 0, sizeof(prefetches));
    return 0;
}

/* A TCP segment with flags and payload bytes at t seconds. */
static void tcp(struct pkt *p, unsigned t, uint8_t flags, uint32_t payload_len)
{
    memset(p, 0, sizeof(*p));
    p->ts_usec = T0 + t * USEC_PER_SEC;
    p->layers = PKT_ETH | PKT_IP4 | PKT_TCP;
    p->proto = 6;
    p->tcp.flags = flags;
    p->payload_len = payload_len;
}

static void test_detect_unwanted_packet_is_not_passed(void **state)
{
    (void)state;
    fakes[0].wants = PKT_DNS;
    fakes[1].wants = PKT_TCP;
    struct detect_engine *de = engine(3);
    struct pkt p;
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.pkts[FLOW_ORIG] = 3;
    tcp(&p, 1, TCP_ACK, 100);
    detect_engine_packet(de, &p, &f, FLOW_ORIG);
    assert_int_equal(fakes[0].packets, 0); /* wants DNS only */
    assert_int_equal(fakes[1].packets, 1); /* wants TCP */
    assert_int_equal(fakes[2].packets, 1); /* no wants(): everything */
    assert_string_equal(order, "bc");

    p.layers = PKT_ETH | PKT_IP4 | PKT_UDP | PKT_DNS;
    order[0] = '\0';
    detect_engine_packet(de, &p, &f, FLOW_ORIG);
    assert_int_equal(fakes[0].packets, 1);
    assert_int_equal(fakes[1].packets, 1);
    assert_int_equal(fakes[2].packets, 2);
    assert_string_equal(order, "ac");
    done(de);
}

static void test_detect_wanted_packets_in_table_order(void **state)
{
    (void)state;
    fakes[0].wants = DETECT_WANT_ALL;
    fakes[1].wants = PKT_IP4;
    struct detect_engine *de = engine(3);
    struct pkt p;
    tcp(&p, 1, TCP_SYN, 0);
    detect_engine_packet(de, &p, NULL, FLOW_ORIG);
    detect_engine_packet(de, &p, NULL, FLOW_ORIG);
    assert_string_equal(order, "abcabc");
    done(de);
}

static void test_detect_flow_bits_follow_the_flow(void **state)
{
    (void)state;
    struct pkt p;
    struct flow f;
    tcp(&p, 1, TCP_ACK, 0);

    const struct {
        uint64_t wants;  /* what fake a wants */
        struct flow *f;  /* the packet's flow */
        int dir;         /* its direction */
        uint64_t pkts;   /* f->pkts[dir] */
        unsigned called; /* expected calls */
    } cases[] = {
        {DETECT_WANT_FIRST, &f, FLOW_ORIG, 1, 1},     {DETECT_WANT_FIRST, &f, FLOW_ORIG, 2, 0},
        {DETECT_WANT_FIRST, &f, FLOW_RESP, 1, 1},     {DETECT_WANT_ORIG, &f, FLOW_ORIG, 5, 1},
        {DETECT_WANT_ORIG, &f, FLOW_RESP, 5, 0},      {DETECT_WANT_RESP, &f, FLOW_RESP, 5, 1},
        {DETECT_WANT_FLOW, &f, FLOW_RESP, 5, 1},      {DETECT_WANT_FLOW, NULL, FLOW_ORIG, 0, 0},
        {DETECT_WANT_NO_FLOW, NULL, FLOW_ORIG, 0, 1}, {DETECT_WANT_NO_FLOW, &f, FLOW_ORIG, 2, 0},
        {DETECT_WANT_ORIG, NULL, FLOW_ORIG, 0, 0},    {DETECT_WANT_FIRST, NULL, FLOW_ORIG, 0, 0},
    };
    for (size_t i = 0; i < WARD_ARRAY_LEN(cases); i++) {
        memset(fakes, 0, sizeof(fakes));
        fakes[0].wants = cases[i].wants;
        struct detect_engine *de = engine(1);
        memset(&f, 0, sizeof(f));
        if (cases[i].f)
            f.pkts[cases[i].dir] = cases[i].pkts;
        detect_engine_packet(de, &p, cases[i].f, cases[i].dir);
        if (fakes[0].packets != cases[i].called)
            fail_msg("case %zu: %u calls, %u expected", i, fakes[0].packets, cases[i].called);
        done(de);
    }
}

static void test_detect_packet_bits_payload_and_tcp_control(void **state)
{
    (void)state;
    const struct {
        uint64_t wants;   /* what fake a wants */
        uint8_t flags;    /* TCP flags */
        uint32_t payload; /* payload bytes */
        unsigned called;  /* expected calls */
    } cases[] = {
        {DETECT_WANT_PAYLOAD, TCP_ACK, 10, 1},
        {DETECT_WANT_PAYLOAD, TCP_ACK, 0, 0},
        {DETECT_WANT_TCP_CONTROL, TCP_SYN, 0, 1},
        {DETECT_WANT_TCP_CONTROL, TCP_SYN | TCP_ACK, 0, 1},
        {DETECT_WANT_TCP_CONTROL, TCP_RST | TCP_ACK, 0, 1},
        {DETECT_WANT_TCP_CONTROL, TCP_FIN | TCP_ACK, 0, 1},
        {DETECT_WANT_TCP_CONTROL, 0, 0, 1},                           /* NULL probe */
        {DETECT_WANT_TCP_CONTROL, TCP_FIN | TCP_PSH | TCP_URG, 0, 1}, /* Xmas */
        {DETECT_WANT_TCP_CONTROL, TCP_ACK, 0, 0},
        {DETECT_WANT_TCP_CONTROL, TCP_ACK | TCP_PSH, 500, 0},
    };
    for (size_t i = 0; i < WARD_ARRAY_LEN(cases); i++) {
        memset(fakes, 0, sizeof(fakes));
        fakes[0].wants = cases[i].wants;
        struct detect_engine *de = engine(1);
        struct pkt p;
        tcp(&p, 1, cases[i].flags, cases[i].payload);
        detect_engine_packet(de, &p, NULL, FLOW_ORIG);
        if (fakes[0].packets != cases[i].called)
            fail_msg("case %zu: %u calls, %u expected", i, fakes[0].packets, cases[i].called);
        done(de);
    }
    /* TCP_CONTROL is about TCP only: a UDP packet's stale flags do not count. */
    memset(fakes, 0, sizeof(fakes));
    fakes[0].wants = DETECT_WANT_TCP_CONTROL;
    struct detect_engine *de = engine(1);
    struct pkt p;
    tcp(&p, 1, TCP_SYN, 0);
    p.layers = PKT_ETH | PKT_IP4 | PKT_UDP;
    detect_engine_packet(de, &p, NULL, FLOW_ORIG);
    assert_int_equal(fakes[0].packets, 0);
    done(de);
}

static void test_detect_wants_change_when_the_detector_says_so(void **state)
{
    (void)state;
    fakes[0].until_first = true; /* like arp_spoof until it knows the gateway */
    fakes[1].wants = DETECT_WANT_FIRST;
    struct detect_engine *de = engine(2);
    unsigned before = asked[0];
    struct pkt p;
    struct flow f;
    memset(&f, 0, sizeof(f));
    tcp(&p, 1, TCP_SYN, 0);
    f.pkts[FLOW_ORIG] = 1;
    detect_engine_packet(de, &p, &f, FLOW_ORIG);
    assert_int_equal(fakes[0].packets, 1);
    assert_int_equal(asked[0], before + 1); /* it said so: asked once more */
    assert_int_equal(fakes[0].wants, 0);

    struct flow g;
    memset(&g, 0, sizeof(g));
    g.pkts[FLOW_ORIG] = 1;
    detect_engine_packet(de, &p, &g, FLOW_ORIG);
    assert_int_equal(fakes[0].packets, 1);  /* wants nothing now */
    assert_int_equal(fakes[1].packets, 2);  /* the other still gets first packets */
    assert_int_equal(asked[0], before + 1); /* nobody said anything changed */
    done(de);
}

static void test_detect_wants_asked_after_reload_and_intel(void **state)
{
    (void)state;
    fakes[0].wants = PKT_TCP;
    struct detect_engine *de = engine(1);
    struct pkt p;
    tcp(&p, 1, TCP_ACK, 0);
    p.layers = PKT_ETH | PKT_IP4 | PKT_UDP | PKT_DNS;
    detect_engine_packet(de, &p, NULL, FLOW_ORIG);
    assert_int_equal(fakes[0].packets, 0);

    assert_int_equal(detect_engine_reload(de), 0); /* now wants UDP */
    detect_engine_packet(de, &p, NULL, FLOW_ORIG);
    assert_int_equal(fakes[0].packets, 1);

    fakes[0].wants = PKT_TCP; /* changed behind the engine's back: not seen yet */
    detect_engine_packet(de, &p, NULL, FLOW_ORIG);
    assert_int_equal(fakes[0].packets, 2);

    char detail[16];
    struct detect_intel u;
    memset(&u, 0, sizeof(u));
    assert_int_equal(detect_engine_intel(de, &u, detail, sizeof(detail)), 0); /* wants DNS */
    p.layers = PKT_ETH | PKT_IP4 | PKT_TCP;
    detect_engine_packet(de, &p, NULL, FLOW_ORIG);
    assert_int_equal(fakes[0].packets, 2);
    p.layers = PKT_ETH | PKT_IP4 | PKT_UDP | PKT_DNS;
    detect_engine_packet(de, &p, NULL, FLOW_ORIG);
    assert_int_equal(fakes[0].packets, 3);
    done(de);
}

static void test_detect_prefetch_only_where_it_can_help(void **state)
{
    (void)state;
    struct detect_engine *de = engine(3);
    struct pkt p;
    tcp(&p, 1, TCP_ACK, 1000); /* mid-flow data: fake a's hook has nothing to do */
    detect_engine_prefetch(de, &p, NULL, 0);
    detect_engine_prefetch(de, &p, NULL, 1);
    assert_int_equal(prefetches[0], 0);
    assert_int_equal(prefetches[2], 2); /* prefetch_wants 0: every packet */
    tcp(&p, 1, TCP_SYN, 0);
    detect_engine_prefetch(de, &p, NULL, 0);
    assert_int_equal(prefetches[0], 1);
    assert_int_equal(prefetches[2], 3);
    assert_int_equal(prefetches[1], 0); /* no hook */
    done(de);
}

static void test_detect_ioc_wants_follow_its_lists(void **state)
{
    (void)state;
    struct config *c = config_new_empty("test.conf");
    void *ioc = NULL;
    char detail[256];
    assert_int_equal(detect_ioc.init(c, &ioc), 0);
    assert_int_equal(detect_ioc.wants(ioc), 0); /* nothing to match: no packet */

    const char *const addrs[] = {"203.0.113.5"};
    struct detect_intel u = {addrs, 1, NULL, 0, true, 1, 0};
    assert_int_equal(detect_ioc.intel(ioc, &u, detail, sizeof(detail)), 0);
    uint64_t w = detect_ioc.wants(ioc);
    assert_true(w & DETECT_WANT_FIRST);
    assert_true(w & DETECT_WANT_NO_FLOW);
    assert_false(w & PKT_DNS);

    const char *const names[] = {"evil.example"};
    struct detect_intel v = {NULL, 0, names, 1, true, 2, 0};
    assert_int_equal(detect_ioc.intel(ioc, &v, detail, sizeof(detail)), 0);
    w = detect_ioc.wants(ioc);
    assert_false(w & DETECT_WANT_FIRST); /* the addresses were replaced */
    assert_int_equal(w & (PKT_DNS | PKT_TLS_HELLO | PKT_HTTP), PKT_DNS | PKT_TLS_HELLO | PKT_HTTP);
    detect_ioc.fini(ioc);
    config_free(c);
}

static void test_detect_arp_spoof_wants_first_packets_until_gateway_known(void **state)
{
    (void)state;
    struct config *c = config_new_empty("test.conf");
    void *as = NULL;
    assert_int_equal(detect_arp_spoof.init(c, &as), 0);
    uint64_t w = detect_arp_spoof.wants(as);
    assert_int_equal(w, PKT_ARP | PKT_ND | DETECT_WANT_FIRST);

    struct detect_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.factor = 1.0;
    struct pkt p;
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.pkts[FLOW_ORIG] = 1;
    tcp(&p, 1, TCP_SYN, 0);
    assert_int_equal(addr_parse("10.0.0.5", &p.src), 0);
    assert_int_equal(addr_parse("198.51.100.7", &p.dst), 0);
    const uint8_t gw[6] = {0x00, 0x50, 0x56, 0xf9, 0xf5, 0x54};
    memcpy(p.dst_mac, gw, sizeof(gw));
    ctx.now_usec = p.ts_usec;
    detect_arp_spoof.on_packet(as, &ctx, &p, &f, FLOW_ORIG);
    assert_true(ctx.wants_changed); /* it learned the gateway */
    assert_int_equal(detect_arp_spoof.wants(as), PKT_ARP | PKT_ND);
    detect_arp_spoof.fini(as);
    config_free(c);
}

static void test_detect_builtin_detectors_still_run(void **state)
{
    (void)state;
    struct config *c = config_new_empty("test.conf");
    assert_non_null(c);
    struct detect_engine *de = detect_engine_new(c, NULL, NULL, NULL);
    assert_non_null(de);
    struct pkt p;
    tcp(&p, 1, TCP_ACK, 10);
    detect_engine_packet(de, &p, NULL, FLOW_ORIG);
    detect_engine_flush(de, p.ts_usec);
    detect_engine_free(de);
    config_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_detect_unwanted_packet_is_not_passed, setup),
        cmocka_unit_test_setup(test_detect_wanted_packets_in_table_order, setup),
        cmocka_unit_test_setup(test_detect_flow_bits_follow_the_flow, setup),
        cmocka_unit_test_setup(test_detect_packet_bits_payload_and_tcp_control, setup),
        cmocka_unit_test_setup(test_detect_wants_change_when_the_detector_says_so, setup),
        cmocka_unit_test_setup(test_detect_wants_asked_after_reload_and_intel, setup),
        cmocka_unit_test_setup(test_detect_prefetch_only_where_it_can_help, setup),
        cmocka_unit_test_setup(test_detect_ioc_wants_follow_its_lists, setup),
        cmocka_unit_test_setup(test_detect_arp_spoof_wants_first_packets_until_gateway_known,
                               setup),
        cmocka_unit_test_setup(test_detect_builtin_detectors_still_run, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
