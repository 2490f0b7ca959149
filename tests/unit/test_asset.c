/*
 * test_asset -- the sensor's passive inventory: each source of facts (ARP, ND,
 * DHCP, NetBIOS, SYN-ACK, UDP answers, TLS, HTTP), router MACs, rate limits,
 * eviction and hostile NetBIOS payloads.  Packets are built as decoded structs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "asset.h"
#include "asset_json.h"
#include "flow_table.h"

#define SEC 1000000ULL
#define T0 (1700000000ULL * SEC)

/* A sink that keeps every update as JSON. */
static int collect(void *arg, const Ward__Message *m)
{
    json_t *list = arg;
    assert_int_equal(m->kind_case, WARD__MESSAGE__KIND_ASSET);
    json_array_append_new(list, asset_json(m->asset, NULL));
    return 0;
}

struct fx {
    json_t *got;               /* updates so far */
    struct sink sink;          /* collect() into got */
    struct asset_tracker *t;   /* under test */
    struct oui_db *oui;        /* tiny registry */
    struct pkt p;              /* scratch packet */
};

static int setup_opts(void **state, size_t max_hosts)
{
    static const char reg[] = "MA-L,000C29,\"VMware, Inc.\",addr\n";
    struct fx *fx = calloc(1, sizeof(*fx));
    struct asset_opts o;
    assert_int_equal(asset_opts_read(NULL, &o), 0);
    o.max_hosts = max_hosts;
    o.max_macs = 2 * max_hosts;
    fx->got = json_array();
    fx->sink.send = collect;
    fx->sink.arg = fx->got;
    fx->oui = oui_new();
    assert_int_equal(oui_parse(fx->oui, reg, strlen(reg)), 0);
    fx->t = asset_tracker_new(&o, NULL, fx->oui, &fx->sink);
    assert_non_null(fx->t);
    *state = fx;
    return 0;
}

static int setup(void **state)
{
    return setup_opts(state, 64);
}

static int setup_small(void **state)
{
    return setup_opts(state, 2);
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    asset_tracker_free(fx->t);
    oui_free(fx->oui);
    json_decref(fx->got);
    free(fx);
    return 0;
}

static void mac_parse(const char *s, uint8_t out[6])
{
    unsigned v[6];
    assert_int_equal(sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]),
                     6);
    for (int i = 0; i < 6; i++)
        out[i] = (uint8_t)v[i];
}

static struct addr ip(const char *s)
{
    struct addr a;
    assert_int_equal(addr_parse(s, &a), 0);
    return a;
}

/* A fresh packet at T0 + sec from src_mac. */
static struct pkt *pkt(struct fx *fx, uint64_t sec, const char *src_mac)
{
    struct pkt *p = &fx->p;
    memset(p, 0, sizeof(*p));
    p->ts_usec = T0 + sec * SEC;
    p->layers = PKT_ETH;
    mac_parse(src_mac, p->src_mac);
    mac_parse("ff:ff:ff:ff:ff:ff", p->dst_mac);
    p->payload = rd_make(NULL, 0);
    return p;
}

static void l4(struct pkt *p, const char *src, const char *dst, uint8_t proto, uint16_t sport,
               uint16_t dport, uint8_t ttl)
{
    p->src = ip(src);
    p->dst = ip(dst);
    p->layers |= p->src.family == 4 ? PKT_IP4 : PKT_IP6;
    p->proto = proto;
    p->ttl = ttl;
    p->sport = sport;
    p->dport = dport;
    if (proto == 6) {
        p->layers |= PKT_TCP;
        p->tcp.wscale = 0xff;
    } else if (proto == 17) {
        p->layers |= PKT_UDP;
    }
}

/* The latest update about ip (or MAC when ip is ""), NULL if none. */
static json_t *latest(struct fx *fx, const char *addr, const char *mac)
{
    json_t *found = NULL;
    size_t i;
    json_t *u;
    json_array_foreach(fx->got, i, u) {
        if (strcmp(json_str(u, "ip", ""), addr) == 0 &&
            (!mac || strcmp(json_str(u, "mac", ""), mac) == 0))
            found = u;
    }
    return found;
}

static size_t count_for(struct fx *fx, const char *addr)
{
    size_t n = 0, i;
    json_t *u;
    json_array_foreach(fx->got, i, u) {
        if (strcmp(json_str(u, "ip", ""), addr) == 0)
            n++;
    }
    return n;
}

static bool has_service(json_t *u, const char *proto, unsigned port, const char *app)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(u, "services"), i, s) {
        if (strcmp(json_str(s, "proto", ""), proto) == 0 && json_u64(s, "port", 0) == port &&
            (!app || strcmp(json_str(s, "app", ""), app) == 0))
            return true;
    }
    return false;
}

static void dhcp(struct fx *fx, uint64_t sec, const char *eth, const char *src, uint8_t type,
                 const char *chaddr, const char *yiaddr, const char *name, const char *vc)
{
    struct pkt *p = pkt(fx, sec, eth);
    l4(p, src, "255.255.255.255", 17, type == 2 || type == 5 || type == 6 ? 67 : 68,
       type == 2 || type == 5 || type == 6 ? 68 : 67, 64);
    p->layers |= PKT_DHCP;
    p->dhcp.msg_type = type;
    mac_parse(chaddr, p->dhcp.chaddr);
    if (yiaddr)
        p->dhcp.yiaddr = ip(yiaddr);
    if (type == 2 || type == 5 || type == 6)
        p->dhcp.server_id = ip(src);
    snprintf(p->dhcp.hostname, sizeof(p->dhcp.hostname), "%s", name ? name : "");
    snprintf(p->dhcp.vendor_class, sizeof(p->dhcp.vendor_class), "%s", vc ? vc : "");
    asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
}

static void test_asset_dhcp_dora_binds_name_mac_address(void **state)
{
    struct fx *fx = *state;
    const char *cli = "00:0c:29:59:fd:21";
    const char *srv = "00:0c:29:c0:60:a4";
    dhcp(fx, 0, cli, "0.0.0.0", 1, cli, NULL, "ubuntu2", NULL);
    dhcp(fx, 0, srv, "192.168.1.5", 2, cli, "192.168.1.10", NULL, NULL);
    dhcp(fx, 0, cli, "0.0.0.0", 3, cli, NULL, "ubuntu2", NULL);
    dhcp(fx, 0, srv, "192.168.1.5", 5, cli, "192.168.1.10", NULL, NULL);
    asset_tracker_flush(fx->t);

    json_t *c = latest(fx, "192.168.1.10", NULL);
    assert_non_null(c);
    assert_string_equal(json_str(c, "mac", ""), cli);
    assert_string_equal(json_str(c, "hostname", ""), "ubuntu2");
    assert_string_equal(json_str(c, "hostname_source", ""), "dhcp");
    assert_string_equal(json_str(c, "vendor", ""), "VMware, Inc.");
    json_t *s = latest(fx, "192.168.1.5", NULL);
    assert_non_null(s);
    assert_string_equal(json_str(s, "mac", ""), srv);
    assert_true(has_service(s, "udp", 67, "dhcp"));
    /* The offer alone binds nothing: no MAC-only record for a bound client. */
    assert_null(latest(fx, "", cli));
}

static void test_asset_dhcp_client_without_lease_is_kept_by_mac(void **state)
{
    struct fx *fx = *state;
    const char *cli = "bc:ee:7b:0c:b3:de";
    dhcp(fx, 0, cli, "0.0.0.0", 1, cli, NULL, "android-f7ca0f571270c52d", "dhcpcd-5.5.6");
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, "", cli);
    assert_non_null(u);
    assert_string_equal(json_str(u, "hostname", ""), "android-f7ca0f571270c52d");
    assert_string_equal(json_str(u, "dhcp_vendor_class", ""), "dhcpcd-5.5.6");
    assert_true(json_is_true(json_object_get(u, "is_new")));
}

static void test_asset_arp_binds_even_remote_space(void **state)
{
    struct fx *fx = *state;
    struct pkt *p = pkt(fx, 0, "00:26:f2:ac:d3:82");
    p->layers |= PKT_ARP;
    p->arp.op = 2;
    mac_parse("00:26:f2:ac:d3:82", p->arp.sha);
    p->arp.spa = ip("128.2.6.189");
    p->arp.tpa = ip("128.2.6.1");
    asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, "128.2.6.189", NULL);
    assert_non_null(u);
    assert_string_equal(json_str(u, "mac", ""), "00:26:f2:ac:d3:82");
}

static void test_asset_nd_advert_binds_target(void **state)
{
    struct fx *fx = *state;
    struct pkt *p = pkt(fx, 0, "00:26:f2:ac:d3:82");
    l4(p, "fe80::1", "ff02::1", 58, 0, 0, 255);
    p->layers |= PKT_ICMP6 | PKT_ND;
    p->nd.type = 136;
    p->nd.target = ip("2001:db8::5");
    p->nd.has_lladdr = true;
    mac_parse("00:26:f2:ac:d3:82", p->nd.lladdr);
    asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, "2001:db8::5", NULL);
    assert_non_null(u);
    assert_string_equal(json_str(u, "mac", ""), "00:26:f2:ac:d3:82");
    assert_non_null(latest(fx, "fe80::1", "00:26:f2:ac:d3:82"));
}

static void test_asset_syn_ack_is_a_service_with_os(void **state)
{
    struct fx *fx = *state;
    struct pkt *p = pkt(fx, 0, "00:26:f2:ac:d3:82");
    l4(p, "172.16.16.150", "172.16.16.128", 6, 135, 40000, 128);
    p->tcp.flags = TCP_SYN | TCP_ACK;
    p->tcp.window = 8192;
    strcpy(p->tcp.opt_order, "MNWNNS");
    asset_tracker_packet(fx->t, p, NULL, FLOW_RESP);
    /* A RST-ACK from a closed port is no service. */
    p = pkt(fx, 1, "00:26:f2:ac:d3:82");
    l4(p, "172.16.16.150", "172.16.16.128", 6, 22, 40001, 128);
    p->tcp.flags = TCP_RST | TCP_ACK;
    asset_tracker_packet(fx->t, p, NULL, FLOW_RESP);
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, "172.16.16.150", NULL);
    assert_non_null(u);
    assert_true(has_service(u, "tcp", 135, "msrpc"));
    assert_false(has_service(u, "tcp", 22, NULL));
    assert_string_equal(json_str(u, "os", ""), "windows");
    assert_string_equal(json_str(u, "mac", ""), "00:26:f2:ac:d3:82");
}

static void test_asset_udp_answer_by_flow_direction(void **state)
{
    struct fx *fx = *state;
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.key.proto = 17;
    f.app = APP_UNKNOWN;
    struct pkt *p = pkt(fx, 0, "00:10:23:e0:00:a0");
    l4(p, "192.168.1.20", "192.168.1.9", 17, 40000, 7777, 64);
    asset_tracker_packet(fx->t, p, &f, FLOW_ORIG); /* the question: no service */
    p = pkt(fx, 0, "00:10:23:e0:00:b0");
    l4(p, "192.168.1.9", "192.168.1.20", 17, 7777, 40000, 64);
    asset_tracker_packet(fx->t, p, &f, FLOW_RESP);
    asset_tracker_flush(fx->t);
    assert_false(has_service(latest(fx, "192.168.1.20", NULL), "udp", 40000, NULL));
    assert_true(has_service(latest(fx, "192.168.1.9", NULL), "udp", 7777, ""));
}

static void test_asset_router_mac_not_given_to_forwarded_hosts(void **state)
{
    struct fx *fx = *state;
    const char *rtr = "4c:5e:0c:ea:03:65";
    struct pkt *p = pkt(fx, 0, rtr);
    l4(p, "10.9.9.9", "192.168.5.16", 6, 443, 50000, 50);
    p->tcp.flags = TCP_ACK;
    asset_tracker_packet(fx->t, p, NULL, FLOW_RESP);
    p = pkt(fx, 0, rtr);
    l4(p, "10.8.8.8", "192.168.5.16", 6, 443, 50001, 50);
    p->tcp.flags = TCP_ACK;
    asset_tracker_packet(fx->t, p, NULL, FLOW_RESP);
    /* The router's own address, bound by ARP. */
    p = pkt(fx, 0, rtr);
    p->layers |= PKT_ARP;
    p->arp.op = 2;
    mac_parse(rtr, p->arp.sha);
    p->arp.spa = ip("192.168.119.1");
    asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
    asset_tracker_flush(fx->t);
    assert_string_equal(json_str(latest(fx, "10.9.9.9", NULL), "mac", "?"), "");
    assert_string_equal(json_str(latest(fx, "10.8.8.8", NULL), "mac", "?"), "");
    assert_string_equal(json_str(latest(fx, "192.168.119.1", NULL), "mac", ""), rtr);
}

static void test_asset_remote_hosts_are_not_assets(void **state)
{
    struct fx *fx = *state;
    struct pkt *p = pkt(fx, 0, "b4:a5:ef:67:28:10");
    l4(p, "142.250.186.34", "192.168.1.93", 6, 443, 50000, 56);
    p->tcp.flags = TCP_SYN | TCP_ACK;
    asset_tracker_packet(fx->t, p, NULL, FLOW_RESP);
    asset_tracker_flush(fx->t);
    assert_int_equal(json_array_size(fx->got), 0);
}

static void test_asset_tls_and_user_agents_dedup_and_cap(void **state)
{
    struct fx *fx = *state;
    char name[64];
    for (int i = 0; i < 3 * ASSET_MAX_NAMES; i++) {
        struct pkt *p = pkt(fx, 0, "9c:b6:d0:d3:e3:33");
        l4(p, "192.168.2.126", "1.2.3.4", 6, 50000 + (uint16_t)i, 443, 64);
        p->tcp.flags = TCP_ACK | TCP_PSH;
        p->layers |= PKT_TLS_HELLO | PKT_HTTP;
        snprintf(name, sizeof(name), "host%d.example", i % (2 * ASSET_MAX_NAMES));
        snprintf(p->tls.sni, sizeof(p->tls.sni), "%s", name);
        snprintf(p->http.user_agent, sizeof(p->http.user_agent), "Agent\x01%d", i % 2);
        asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
    }
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, "192.168.2.126", NULL);
    assert_int_equal(json_array_size(json_object_get(u, "tls_names")), ASSET_MAX_NAMES);
    assert_int_equal(json_array_size(json_object_get(u, "user_agents")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(u, "user_agents"), 0)),
                        "Agent?0");
    struct asset_stats st;
    asset_tracker_stats(fx->t, &st);
    assert_true(st.dropped_items > 0);
}

static void test_asset_updates_are_rate_limited(void **state)
{
    struct fx *fx = *state;
    /* A host opening a new service every second for 2.5 minutes. */
    for (uint64_t s = 0; s < 150; s++) {
        struct pkt *p = pkt(fx, s, "00:10:23:e0:00:a0");
        l4(p, "192.168.115.75", "192.168.115.8", 6, (uint16_t)(1000 + s), 40000, 64);
        p->tcp.flags = TCP_SYN | TCP_ACK;
        asset_tracker_packet(fx->t, p, NULL, FLOW_RESP);
    }
    /* First sighting after 5 s, then the changes since at 65 s; the list is full at
       32 services (s = 31), so nothing changes after that: 2 updates in 150 s, not 150. */
    assert_int_equal(count_for(fx, "192.168.115.75"), 2);
    asset_tracker_flush(fx->t);
    assert_int_equal(count_for(fx, "192.168.115.75"), 3); /* the final last-seen */
    json_t *u = latest(fx, "192.168.115.75", NULL);
    assert_int_equal(json_array_size(json_object_get(u, "services")), ASSET_MAX_SERVICES);
    assert_true(json_is_false(json_object_get(u, "is_new")));
    /* Nothing pending: a second flush sends nothing. */
    asset_tracker_flush(fx->t);
    assert_int_equal(count_for(fx, "192.168.115.75"), 3);
}

static void test_asset_quiet_host_is_refreshed_hourly(void **state)
{
    struct fx *fx = *state;
    for (uint64_t s = 0; s <= 3 * 3600; s += 10) {
        struct pkt *p = pkt(fx, s, "00:10:23:e0:00:a0");
        l4(p, "192.168.115.75", "192.168.115.8", 17, 40000, 53, 64);
        asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
    }
    size_t n = count_for(fx, "192.168.115.75");
    assert_true(n >= 3 && n <= 5);
}

static void test_asset_refresh_is_sent_when_due_without_traffic(void **state)
{
    struct fx *fx = *state;
    const char *a = "192.168.115.75";
    struct pkt *p = pkt(fx, 0, "00:10:23:e0:00:a0");
    l4(p, a, "192.168.115.8", 17, 40000, 53, 64);
    asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
    asset_tracker_tick(fx->t, T0 + 6 * SEC); /* first sighting */
    assert_int_equal(count_for(fx, a), 1);
    p = pkt(fx, 7, "00:10:23:e0:00:a0");
    l4(p, a, "192.168.115.8", 17, 40000, 53, 64);
    asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
    /* Silent since: the refresh still leaves once the hour is up, with the
       last sighting, from a tick on an idle capture. */
    asset_tracker_tick(fx->t, T0 + 3000 * SEC);
    assert_int_equal(count_for(fx, a), 1);
    asset_tracker_tick(fx->t, T0 + 3607 * SEC);
    assert_int_equal(count_for(fx, a), 2);
    assert_int_equal(json_u64(latest(fx, a, NULL), "last_usec", 0), T0 + 7 * SEC);
}

static void test_asset_table_full_evicts_least_recent(void **state)
{
    struct fx *fx = *state;
    char a[32];
    for (int i = 1; i <= 5; i++) {
        snprintf(a, sizeof(a), "10.0.0.%d", i);
        struct pkt *p = pkt(fx, 0, "00:10:23:e0:00:a0");
        l4(p, a, "10.0.0.100", 17, 40000, 53, 64);
        asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
    }
    asset_tracker_flush(fx->t);
    struct asset_stats st;
    asset_tracker_stats(fx->t, &st);
    assert_int_equal(st.hosts, 2);
    assert_int_equal(st.host_evictions, 3);
    assert_non_null(latest(fx, "10.0.0.5", NULL));
    assert_non_null(latest(fx, "10.0.0.4", NULL));
    assert_null(latest(fx, "10.0.0.1", NULL));
}

/* NetBIOS name registration for "WIN7-PC" <00> from 192.168.3.236. */
static const uint8_t nbns_reg[] = {
    0x80, 0x01, 0x29, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 'F',
    'H', 'E', 'J', 'E', 'O', 'D', 'H', 'C', 'N', 'F', 'A', 'E', 'D', 'C',
    'A', 'C', 'A', 'C', 'A', 'C', 'A', 'C', 'A', 'C', 'A', 'C', 'A', 'C',
    'A', 'A', 'A', 0x00, 0x00, 0x20, 0x00, 0x01, 192, 0x0c, 0x00, 0x20, 0x00, 0x01,
    0x00, 0x04, 0x93, 0xe0, 0x00, 0x06, 0x00, 0x00, 192, 168, 3, 236,
};

static void nbns(struct fx *fx, const uint8_t *data, size_t len)
{
    struct pkt *p = pkt(fx, 0, "3c:a9:f4:5a:03:84");
    l4(p, "192.168.3.236", "192.168.3.255", 17, 137, 137, 128);
    p->payload = rd_make(data, len);
    p->payload_len = (uint32_t)len;
    asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
}

static void test_asset_netbios_registration_names_host(void **state)
{
    struct fx *fx = *state;
    nbns(fx, nbns_reg, sizeof(nbns_reg));
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, "192.168.3.236", NULL);
    assert_string_equal(json_str(u, "hostname", ""), "WIN7-PC");
    assert_string_equal(json_str(u, "hostname_source", ""), "netbios");
}

static void test_asset_netbios_hostile(void **state)
{
    struct fx *fx = *state;
    uint8_t bad[sizeof(nbns_reg)];
    /* Every truncation, then every single-byte corruption: never a crash, never a
       name that is not the real one. */
    for (size_t n = 0; n < sizeof(nbns_reg); n++)
        nbns(fx, nbns_reg, n);
    for (size_t i = 0; i < sizeof(nbns_reg); i++) {
        memcpy(bad, nbns_reg, sizeof(bad));
        bad[i] ^= 0xff;
        nbns(fx, bad, sizeof(bad));
    }
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, "192.168.3.236", NULL);
    const char *name = json_str(u, "hostname", "");
    assert_true(name[0] == '\0' || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-!\"#$%&'()*"
                                                "+,./:;<=>?@[\\]^_`{|}~abcdefghijklmnopqrstuvwxyz") ==
                                       strlen(name));
}

/* mDNS response from 192.168.5.64: printer-3.local A 192.168.5.64. */
static const uint8_t mdns_resp[] = {
    0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    9,    'p',  'r',  'i',  'n',  't',  'e',  'r',  '-',  '3',  5,    'l',
    'o',  'c',  'a',  'l',  0,    0x00, 0x01, 0x80, 0x01, 0x00, 0x00, 0x00,
    0x78, 0x00, 0x04, 192,  168,  5,    64,
};

static void mdns(struct fx *fx, const uint8_t *data, size_t len)
{
    struct pkt *p = pkt(fx, 0, "64:cc:2e:9c:3c:c9");
    l4(p, "192.168.5.64", "224.0.0.251", 17, 5353, 5353, 255);
    p->payload = rd_make(data, len);
    p->payload_len = (uint32_t)len;
    asset_tracker_packet(fx->t, p, NULL, FLOW_ORIG);
}

static void test_asset_mdns_response_names_host(void **state)
{
    struct fx *fx = *state;
    mdns(fx, mdns_resp, sizeof(mdns_resp));
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, "192.168.5.64", NULL);
    assert_string_equal(json_str(u, "hostname", ""), "printer-3");
    assert_string_equal(json_str(u, "hostname_source", ""), "mdns");
}

static void test_asset_mdns_hostile(void **state)
{
    struct fx *fx = *state;
    uint8_t bad[sizeof(mdns_resp)];
    /* A name that points at itself, and one that points past the end. */
    static const uint8_t loop[] = {0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                                   0x00, 0x00, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 1,
                                   0x00, 0x04, 192, 168, 5, 64};
    static const uint8_t past[] = {0x00, 0x00, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01,
                                   0x00, 0x00, 0x00, 0x00, 0xc3, 0xff};
    mdns(fx, loop, sizeof(loop));
    mdns(fx, past, sizeof(past));
    for (size_t n = 0; n < sizeof(mdns_resp); n++)
        mdns(fx, mdns_resp, n);
    for (size_t i = 0; i < sizeof(mdns_resp); i++) {
        memcpy(bad, mdns_resp, sizeof(bad));
        bad[i] ^= 0xff;
        mdns(fx, bad, sizeof(bad));
    }
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, "192.168.5.64", NULL);
    const char *name = json_str(u, "hostname", "");
    for (size_t i = 0; name[i]; i++)
        assert_true(name[i] > 0x20 && name[i] < 0x7f && name[i] != '.');
}

/* ------------------------------------------------------------------ per-flow memo */

/* A flow table for tests that follow packets through their flows. */
static struct flow_table *flows_new(size_t cap)
{
    struct flow_table *ft = flow_table_new(cap, 60 * SEC, 1800 * SEC, NULL, NULL);
    assert_non_null(ft);
    return ft;
}

/* One TCP packet of a connection, through its flow. */
static void tcp_pkt(struct fx *fx, struct flow_table *ft, uint64_t usec, const char *mac,
                    const char *src, const char *dst, uint16_t sport, uint16_t dport,
                    uint8_t ttl, uint8_t flags)
{
    struct pkt *p = pkt(fx, 0, mac);
    p->ts_usec = T0 + usec;
    l4(p, src, dst, 6, sport, dport, ttl);
    p->tcp.flags = flags;
    int dir;
    struct flow *f = flow_table_update(ft, p, &dir);
    assert_non_null(f);
    asset_tracker_packet(fx->t, p, f, dir);
}

static void test_asset_long_flow_keeps_last_seen(void **state)
{
    struct fx *fx = *state;
    struct flow_table *ft = flows_new(64);
    const char *cm = "00:10:23:e0:00:a0", *sm = "00:10:23:e0:00:b0";
    const char *c = "192.168.1.20", *s = "192.168.1.9";
    tcp_pkt(fx, ft, 0, cm, c, s, 40000, 8000, 64, TCP_SYN);
    tcp_pkt(fx, ft, 1000, sm, s, c, 8000, 40000, 128, TCP_SYN | TCP_ACK);
    tcp_pkt(fx, ft, 2000, cm, c, s, 40000, 8000, 64, TCP_ACK);
    /* Ten minutes of data both ways, a packet every 100 ms. */
    uint64_t last = 0;
    for (uint64_t us = 100000; us <= 600 * SEC; us += 100000) {
        tcp_pkt(fx, ft, us, sm, s, c, 8000, 40000, 128, TCP_ACK);
        tcp_pkt(fx, ft, us + 50, cm, c, s, 40000, 8000, 64, TCP_ACK);
        last = us;
    }
    struct asset_stats st;
    asset_tracker_stats(fx->t, &st);
    assert_true(st.memo_hits > 10000); /* nearly every data packet */
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, c, NULL);
    assert_non_null(u);
    assert_int_equal(json_u64(u, "last_usec", 0), T0 + last + 50);
    assert_int_equal(json_u64(u, "ttl", 0), 64);
    u = latest(fx, s, NULL);
    assert_non_null(u);
    assert_int_equal(json_u64(u, "last_usec", 0), T0 + last);
    assert_true(has_service(u, "tcp", 8000, NULL));
    assert_string_equal(json_str(u, "mac", ""), sm);
    flow_table_free(ft);
}

static void test_asset_ttl_change_mid_flow_is_seen(void **state)
{
    struct fx *fx = *state;
    struct flow_table *ft = flows_new(64);
    const char *cm = "00:10:23:e0:00:a0", *sm = "00:10:23:e0:00:b0";
    const char *c = "192.168.1.20", *s = "192.168.1.9";
    /* No OS from a TTL of 3 (link-scope looking), then the host's real TTL. */
    for (uint64_t i = 0; i < 20; i++)
        tcp_pkt(fx, ft, i * 1000, cm, c, s, 40000, 8000, 3, TCP_ACK);
    tcp_pkt(fx, ft, 20000, sm, s, c, 8000, 40000, 64, TCP_ACK);
    for (uint64_t i = 21; i < 40; i++)
        tcp_pkt(fx, ft, i * 1000, cm, c, s, 40000, 8000, 128, TCP_ACK);
    asset_tracker_flush(fx->t);
    json_t *u = latest(fx, c, NULL);
    assert_non_null(u);
    assert_int_equal(json_u64(u, "ttl", 0), 128);
    assert_string_equal(json_str(u, "os", ""), "windows");
    assert_int_equal(json_u64(u, "last_usec", 0), T0 + 39000);
    flow_table_free(ft);
}

static void test_asset_mac_change_mid_flow_is_seen(void **state)
{
    struct fx *fx = *state;
    struct flow_table *ft = flows_new(64);
    const char *c = "192.168.1.20", *s = "192.168.1.9";
    for (uint64_t i = 0; i < 10; i++)
        tcp_pkt(fx, ft, i * 1000, "00:10:23:e0:00:a0", c, s, 40000, 8000, 64, TCP_ACK);
    /* The same address from another NIC, then also a second address from it: a
       router's MAC, which no longer counts as the host's. */
    for (uint64_t i = 10; i < 20; i++)
        tcp_pkt(fx, ft, i * 1000, "00:10:23:e0:00:c0", c, s, 40000, 8000, 64, TCP_ACK);
    asset_tracker_flush(fx->t);
    assert_string_equal(json_str(latest(fx, c, NULL), "mac", ""), "00:10:23:e0:00:c0");
    flow_table_free(ft);
}

static void test_asset_port_app_by_port_and_protocol(void **state)
{
    (void)state;
    assert_string_equal(asset_port_app(6, 20), "ftp-data"); /* first */
    assert_string_equal(asset_port_app(6, 11112), "dicom");  /* last */
    assert_string_equal(asset_port_app(6, 53), "dns");
    assert_string_equal(asset_port_app(17, 53), "dns");
    assert_string_equal(asset_port_app(6, 443), "https");
    assert_string_equal(asset_port_app(17, 443), "quic");
    assert_string_equal(asset_port_app(17, 1900), "ssdp");
    assert_string_equal(asset_port_app(6, 1433), "mssql");
    assert_null(asset_port_app(6, 1900));
    assert_null(asset_port_app(17, 22));
    assert_null(asset_port_app(6, 0));
    assert_null(asset_port_app(17, 65535));
    assert_null(asset_port_app(1, 80));
}

static void test_asset_service_named_by_a_flow_seen_before_it(void **state)
{
    struct fx *fx = *state;
    struct flow_table *ft = flows_new(64);
    const char *sm = "00:10:23:e0:00:b0", *s = "192.168.1.9";
    /* A connection already open when capture began, its application recognised. */
    tcp_pkt(fx, ft, 0, "00:10:23:e0:00:a0", "192.168.1.20", s, 40000, 9999, 64, TCP_ACK);
    int dir;
    struct pkt *p = pkt(fx, 0, sm);
    l4(p, s, "192.168.1.20", 6, 9999, 40000, 64);
    struct flow *f = flow_table_update(ft, p, &dir);
    f->app = APP_HTTP;
    for (uint64_t i = 1; i < 10; i++)
        tcp_pkt(fx, ft, i * 1000, sm, s, "192.168.1.20", 9999, 40000, 64, TCP_ACK);
    /* A new connection to the same port is answered: an unnamed service... */
    tcp_pkt(fx, ft, 20000, "00:10:23:e0:00:c0", "192.168.1.21", s, 40001, 9999, 64, TCP_SYN);
    tcp_pkt(fx, ft, 21000, sm, s, "192.168.1.21", 9999, 40001, 64, TCP_SYN | TCP_ACK);
    /* ... which the next answer on the first connection names. */
    tcp_pkt(fx, ft, 22000, sm, s, "192.168.1.20", 9999, 40000, 64, TCP_ACK);
    asset_tracker_flush(fx->t);
    assert_true(has_service(latest(fx, s, NULL), "tcp", 9999, "http"));
    flow_table_free(ft);
}

static void test_asset_routed_copies_take_the_mac_once_it_is_a_router_too(void **state)
{
    struct fx *fx = *state;
    struct flow_table *ft = flows_new(64);
    const char *own = "00:10:23:e0:00:a0", *rtr = "00:10:23:e0:00:f0";
    const char *h = "fe80::50"; /* link-local: its MAC is reported even if a router's */
    char a[32];
    tcp_pkt(fx, ft, 0, own, h, "fe80::99", 40000, 8000, 64, TCP_ACK);
    /* The router's MAC sends for several IPv6 addresses... */
    for (int i = 1; i <= 5; i++) {
        snprintf(a, sizeof(a), "fd00::%d", i);
        tcp_pkt(fx, ft, 1000 * (uint64_t)i, rtr, a, "fd00::99", 40001, 8000, 64, TCP_ACK);
    }
    /* ... and carries copies of h's packets: h keeps its own MAC. */
    for (uint64_t i = 0; i < 50; i++)
        tcp_pkt(fx, ft, 10000 + i * 1000, rtr, h, "fe80::98", 40003, 8000, 63, TCP_ACK);
    /* Once h's own MAC also sends for several addresses, neither is better
       evidence: the next copy gives h the MAC it came from. */
    for (int i = 11; i <= 15; i++) {
        snprintf(a, sizeof(a), "fd00::%d", i);
        tcp_pkt(fx, ft, 60000 + 1000 * (uint64_t)i, own, a, "fd00::99", 40004, 8000, 64,
                TCP_ACK);
    }
    tcp_pkt(fx, ft, 90000, rtr, h, "fe80::98", 40003, 8000, 63, TCP_ACK);
    asset_tracker_flush(fx->t);
    assert_string_equal(json_str(latest(fx, h, NULL), "mac", ""), rtr);
    flow_table_free(ft);
}

/* A tiny deterministic generator (xorshift64*). */
static uint64_t rnd(uint64_t *st)
{
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    return *st * 0x2545f4914f6cdd1dULL;
}

struct sess {
    int c, s;          /* client and server address index */
    int cm, sm;        /* their usual MAC index */
    uint8_t ct, st;    /* their usual TTL */
    uint8_t proto;     /* 6, 17 or 1 */
    uint16_t cp, sp;   /* ports */
    uint16_t vlan;     /* VLAN */
};

static const char *const memo_addrs[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4",
                                         "10.0.0.5", "10.0.0.6", "192.0.2.7", "198.51.100.8",
                                         "fd00::1", "fd00::2", "2001:db8::9", "224.0.0.251"};
static const char *const memo_macs[] = {"00:10:23:e0:00:01", "00:10:23:e0:00:02",
                                        "00:10:23:e0:00:03", "00:10:23:e0:00:04",
                                        "00:1b:17:00:00:01", "01:00:5e:00:00:fb"};
static const uint8_t memo_ttls[] = {64, 63, 128, 255, 1, 3};
static const uint16_t memo_ports[] = {80, 443, 8000, 53, 123, 5353, 137, 40000, 50000, 7777};

static void sess_new(uint64_t *st, struct sess *x)
{
    x->c = (int)(rnd(st) % 11);
    x->s = (int)(rnd(st) % WARD_ARRAY_LEN(memo_addrs));
    x->cm = (int)(rnd(st) % 5);
    x->sm = (int)(rnd(st) % 5);
    x->ct = memo_ttls[rnd(st) % 3];
    x->st = memo_ttls[rnd(st) % 4];
    x->proto = (uint8_t[]){6, 6, 6, 17, 17, 1}[rnd(st) % 6];
    x->cp = memo_ports[rnd(st) % WARD_ARRAY_LEN(memo_ports)];
    x->sp = memo_ports[rnd(st) % WARD_ARRAY_LEN(memo_ports)];
    x->vlan = rnd(st) % 8 == 0 ? 5 : 0;
}

/* The packets of seed's random traffic into tracker t through table ft. */
static void memo_traffic(struct fx *fx, struct asset_tracker *t, struct flow_table *ft,
                         uint64_t seed, uint64_t odd_every, int names)
{
    uint64_t st = seed;
    struct sess ss[12];
    uint64_t us = 0;
    for (size_t i = 0; i < WARD_ARRAY_LEN(ss); i++)
        sess_new(&st, &ss[i]);
    for (int n = 0; n < 40000; n++) {
        struct sess *x = &ss[rnd(&st) % WARD_ARRAY_LEN(ss)];
        if (rnd(&st) % 200 == 0)
            sess_new(&st, x);
        us += rnd(&st) % 300000;
        bool back = rnd(&st) % 2;
        bool odd = rnd(&st) % odd_every == 0; /* another MAC or TTL than usual */
        int mi = odd && rnd(&st) % 2 ? (int)(rnd(&st) % 6) : back ? x->sm : x->cm;
        uint8_t ttl = odd && rnd(&st) % 2 ? memo_ttls[rnd(&st) % 6] : back ? x->st : x->ct;
        struct pkt *p = pkt(fx, 0, memo_macs[mi]);
        p->ts_usec = T0 + us;
        if (rnd(&st) % 50 == 0) {
            /* ARP reply or announcement binding an address to a MAC. */
            p->layers |= PKT_ARP;
            p->arp.op = 2;
            mac_parse(memo_macs[mi], p->arp.sha);
            p->arp.spa = ip(memo_addrs[rnd(&st) % 8]);
            asset_tracker_packet(t, p, NULL, FLOW_ORIG);
            continue;
        }
        const char *src = memo_addrs[back ? x->s : x->c], *dst = memo_addrs[back ? x->c : x->s];
        l4(p, src, dst, x->proto, back ? x->sp : x->cp, back ? x->cp : x->sp, ttl);
        p->vlan = x->vlan;
        if (x->proto == 1)
            p->layers |= PKT_ICMP;
        if (x->proto == 6) {
            uint64_t r = rnd(&st) % 40;
            p->tcp.flags = r == 0 ? TCP_SYN : r == 1 ? TCP_SYN | TCP_ACK : TCP_ACK;
            if (r == 2) {
                p->layers |= PKT_HTTP;
                snprintf(p->http.user_agent, sizeof(p->http.user_agent), "agent/%d",
                         (int)(rnd(&st) % (uint64_t)names));
            } else if (r == 3) {
                p->layers |= PKT_TLS_HELLO;
                snprintf(p->tls.sni, sizeof(p->tls.sni), "s%d.example",
                         (int)(rnd(&st) % (uint64_t)names));
            }
        } else if (x->proto == 17 && (x->sp == 53 || x->cp == 53) && rnd(&st) % 2) {
            p->layers |= PKT_DNS;
            p->dns.is_response = back;
        }
        int dir;
        struct flow *f = flow_table_update(ft, p, &dir);
        if (rnd(&st) % 4 == 0 && f && f->app == APP_UNKNOWN)
            f->app = APP_HTTP; /* recognised after a few packets */
        asset_tracker_packet(t, p, f, dir);
    }
    asset_tracker_flush(t);
}

static void test_asset_memo_learns_as_every_packet_would(void **state)
{
    struct fx *fx = *state;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        json_t *got[2];
        struct asset_stats st[2];
        for (int k = 0; k < 2; k++) {
            struct asset_opts o;
            assert_int_equal(asset_opts_read(NULL, &o), 0);
            o.max_hosts = seed % 2 ? 4 : 64; /* with and without evictions */
            o.max_macs = seed % 3 ? 3 : 64;
            o.interval_usec = 10 * SEC;
            o.refresh_usec = 60 * SEC;
            o.learn_every_packet = k == 1;
            got[k] = json_array();
            struct sink sink = {.send = collect, .arg = got[k]};
            struct asset_tracker *t = asset_tracker_new(&o, NULL, fx->oui, &sink);
            assert_non_null(t);
            struct flow_table *ft = flows_new(seed % 2 ? 8 : 256);
            /* Three names fit a host's lists; twelve overflow them. */
            memo_traffic(fx, t, ft, seed * 0x9e3779b97f4a7c15ULL,
                         (uint64_t[]){3, 10, 30, 100}[seed % 4], seed % 4 < 2 ? 3 : 12);
            asset_tracker_stats(t, &st[k]);
            asset_tracker_free(t);
            flow_table_free(ft);
        }
        assert_true(st[0].memo_hits > 500);
        assert_int_equal(st[1].memo_hits, 0);
        assert_true(json_array_size(got[0]) > 10);
        if (!json_equal(got[0], got[1])) {
            size_t i;
            for (i = 0; i < json_array_size(got[0]) && i < json_array_size(got[1]); i++) {
                if (!json_equal(json_array_get(got[0], i), json_array_get(got[1], i)))
                    break;
            }
            char *a = json_dumps(json_array_get(got[0], i), JSON_COMPACT);
            char *b = json_dumps(json_array_get(got[1], i), JSON_COMPACT);
            print_message("seed %llu update %zu differs:\n memo  %s\n every %s\n",
                          (unsigned long long)seed, i, a ? a : "-", b ? b : "-");
            free(a);
            free(b);
            fail();
        }
        /* Every count but the memo's own is the same. */
        st[1].memo_hits = st[0].memo_hits;
        assert_memory_equal(&st[0], &st[1], sizeof(st[0]));
        json_decref(got[0]);
        json_decref(got[1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_asset_dhcp_dora_binds_name_mac_address, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_asset_dhcp_client_without_lease_is_kept_by_mac,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_arp_binds_even_remote_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_nd_advert_binds_target, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_syn_ack_is_a_service_with_os, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_asset_udp_answer_by_flow_direction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_router_mac_not_given_to_forwarded_hosts,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_remote_hosts_are_not_assets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_tls_and_user_agents_dedup_and_cap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_asset_updates_are_rate_limited, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_quiet_host_is_refreshed_hourly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_asset_refresh_is_sent_when_due_without_traffic,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_table_full_evicts_least_recent, setup_small,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_asset_netbios_registration_names_host, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_asset_netbios_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_mdns_response_names_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_mdns_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_long_flow_keeps_last_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_ttl_change_mid_flow_is_seen, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_asset_mac_change_mid_flow_is_seen, setup,
                                        teardown),
        cmocka_unit_test(test_asset_port_app_by_port_and_protocol),
        cmocka_unit_test_setup_teardown(test_asset_service_named_by_a_flow_seen_before_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_asset_routed_copies_take_the_mac_once_it_is_a_router_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_asset_memo_learns_as_every_packet_would, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
