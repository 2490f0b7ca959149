/*
 * ward-assetgen -- writes a small hospital segment as a pcap, for the asset
 * inventory's integration test and demonstrations.
 *
 *   ward-assetgen OUT.pcap [PHASE]
 *
 * Phase 1 (default): a DHCP server 10.20.0.1 (also DNS) leases 10.20.0.31 to a
 * nurse station that calls itself "nurse-station-3"; a PACS server 10.20.0.10
 * announces itself by ARP and answers on TCP 104 (DICOM) and 443, but not 22; a
 * workstation 10.20.0.40 asks DNS, opens TLS to pacs.hospital.local and sends an
 * HTTP user agent.  Phase 2, an hour later: the PACS server also answers on TCP
 * 3389, and a new device 10.20.0.77 ("unknown-laptop") takes a lease.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pktgen.h"

#define SEC 1000000ULL

static const uint8_t mac_dhcp[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0xfe};
static const uint8_t mac_nurse[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x31};
static const uint8_t mac_pacs[6] = {0x00, 0x50, 0x56, 0xaa, 0x00, 0x10};
static const uint8_t mac_ws[6] = {0x00, 0x0c, 0x29, 0x00, 0x00, 0x40};
static const uint8_t mac_new[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x77};
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static uint8_t frame[PKTGEN_MAX];

static struct pktgen_ep ep(const uint8_t smac[6], const uint8_t dmac[6], const char *src,
                           uint16_t sport, const char *dst, uint16_t dport)
{
    struct pktgen_ep e = pktgen_ep_make(src, sport, dst, dport);
    memcpy(e.src_mac, smac, 6);
    memcpy(e.dst_mac, dmac, 6);
    return e;
}

static int put(struct pktgen_pcap *w, uint64_t *ts, size_t len)
{
    if (len == 0)
        return -EINVAL;
    int rc = pktgen_pcap_write(w, *ts, frame, len);
    *ts += 1000;
    return rc;
}

/* One DHCP exchange for a client: DISCOVER, OFFER, REQUEST, ACK. */
static int dora(struct pktgen_pcap *w, uint64_t *ts, const uint8_t mac[6], const char *name,
                uint32_t ip)
{
    uint8_t msg[1024];
    static const uint8_t types[] = {1, 2, 3, 5};
    int rc = 0;
    for (size_t i = 0; i < sizeof(types) && rc >= 0; i++) {
        bool server = types[i] == 2 || types[i] == 5;
        size_t n = pktgen_dhcp(msg, sizeof(msg), types[i], 0x1234u + (uint32_t)ip, mac,
                               server ? NULL : name, server ? NULL : "MSFT 5.0",
                               types[i] == 3 ? ip : 0, server ? ip : 0);
        struct pktgen_ep e = server ? ep(mac_dhcp, bcast, "10.20.0.1", 67, "255.255.255.255", 68)
                                    : ep(mac, bcast, "0.0.0.0", 68, "255.255.255.255", 67);
        e.ttl = server ? 64 : 128;
        rc = put(w, ts, pktgen_udp(frame, sizeof(frame), &e, msg, n));
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: ward-assetgen OUT.pcap [1|2]\n");
        return 2;
    }
    int phase = argc == 3 ? atoi(argv[2]) : 1;
    struct pktgen_pcap *w = pktgen_pcap_open(argv[1], PKTGEN_LINK_ETHERNET, 65535);
    if (!w) {
        fprintf(stderr, "ward-assetgen: cannot write %s\n", argv[1]);
        return 1;
    }
    uint64_t ts = (1763700000ULL + (phase == 2 ? 3600 : 0)) * SEC;
    int rc = 0;
    if (phase == 1) {
        rc = dora(w, &ts, mac_nurse, "nurse-station-3", 0x0a14001f); /* 10.20.0.31 */
        if (rc >= 0)
            rc = put(w, &ts, pktgen_arp(frame, sizeof(frame), 2, mac_pacs, 0x0a14000a, mac_ws,
                                        0x0a140028, 0));
        static const struct {
            uint16_t port;
            bool open;
        } probes[] = {{104, true}, {443, true}, {22, false}};
        for (size_t i = 0; rc >= 0 && i < sizeof(probes) / sizeof(probes[0]); i++) {
            struct pktgen_ep e = ep(mac_nurse, mac_pacs, "10.20.0.31", (uint16_t)(50000 + i),
                                    "10.20.0.10", probes[i].port);
            rc = pktgen_session_syn_probe(w, &ts, 1000, &e, probes[i].open);
        }
        if (rc >= 0) {
            struct addr ans = addr_v4(0x0a14000a); /* 10.20.0.10 */
            struct pktgen_ep e = ep(mac_ws, mac_dhcp, "10.20.0.40", 53000, "10.20.0.1", 53);
            rc = pktgen_session_dns(w, &ts, 1000, &e, 7, "pacs.hospital.local", 1, 0, &ans, 1);
        }
        if (rc >= 0) {
            uint8_t hello[2048];
            size_t n = pktgen_tls_client_hello(hello, sizeof(hello), "pacs.hospital.local");
            struct pktgen_ep e = ep(mac_ws, mac_pacs, "10.20.0.40", 53001, "10.20.0.10", 443);
            rc = pktgen_session_tcp(w, &ts, 1000, &e, hello, n, "ok", 2);
        }
        if (rc >= 0) {
            uint8_t req[1024];
            size_t n = pktgen_http_request(req, sizeof(req), "GET", "/worklist",
                                           "pacs.hospital.local", "WardTest-Viewer/1.0");
            struct pktgen_ep e = ep(mac_ws, mac_pacs, "10.20.0.40", 53002, "10.20.0.10", 104);
            rc = pktgen_session_tcp(w, &ts, 1000, &e, req, n, "HTTP/1.0 200 OK\r\n\r\n", 19);
        }
    } else {
        struct pktgen_ep e = ep(mac_nurse, mac_pacs, "10.20.0.31", 50100, "10.20.0.10", 3389);
        rc = pktgen_session_syn_probe(w, &ts, 1000, &e, true);
        if (rc >= 0)
            rc = dora(w, &ts, mac_new, "unknown-laptop", 0x0a14004d); /* 10.20.0.77 */
    }
    if (pktgen_pcap_close(w) < 0 || rc < 0) {
        fprintf(stderr, "ward-assetgen: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
