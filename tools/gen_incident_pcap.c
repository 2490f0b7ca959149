/*
 * gen_incident_pcap -- a deterministic capture of a multi-host attack, for the
 * incident integration test (tests/integration/incidents.sh) and the operator
 * guide's walk-through, written with tests/lib/pktgen:
 *
 *   10.20.1.15 (workstation, segment 10.20.1.0/24) scans 200 TCP ports of the
 *              PACS server 10.20.5.10, all closed
 *   10.20.2.16 (workstation, 10.20.2.0/24) sweeps TCP 445 across 40 hosts of
 *              10.20.3.0/24, none answering
 *   10.20.3.17 (workstation, 10.20.3.0/24) scans 200 ports of 10.20.2.16
 * with some ordinary web traffic between, over about a minute of packet time.
 * Usage: gen_incident_pcap FILE
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pktgen.h"

#define T0 1763712000000000ULL /* 2025-11-21T08:00:00Z, packet time of the first packet */
#define STEP 2000ULL           /* usec between packets of one exchange */

static struct pktgen_pcap *w;
static uint64_t ts = T0;

static int vertical(const char *src, const char *dst, unsigned ports)
{
    for (unsigned p = 1; p <= ports; p++) {
        struct pktgen_ep ep = pktgen_ep_make(src, (uint16_t)(40000 + p), dst, (uint16_t)p);
        if (pktgen_session_syn_probe(w, &ts, STEP, &ep, false) < 0)
            return -EIO;
        ts += 50000;
    }
    return 0;
}

static int sweep(const char *src, const char *net24, unsigned hosts, uint16_t port)
{
    uint8_t frame[PKTGEN_MAX];
    for (unsigned h = 1; h <= hosts; h++) {
        char dst[32];
        snprintf(dst, sizeof(dst), "%s.%u", net24, h + 20);
        struct pktgen_ep ep = pktgen_ep_make(src, (uint16_t)(50000 + h), dst, port);
        size_t n = pktgen_tcp(frame, sizeof(frame), &ep, PKTGEN_SYN, 1000 * h, 0, NULL, 0);
        if (!n || pktgen_pcap_write(w, ts, frame, n) < 0)
            return -EIO;
        ts += 150000;
    }
    return 0;
}

static int web(const char *client, unsigned round)
{
    static const char req[] = "GET / HTTP/1.1\r\nHost: intranet.example\r\n\r\n";
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    struct pktgen_ep ep = pktgen_ep_make(client, (uint16_t)(33000 + round), "10.20.9.80", 80);
    return pktgen_session_tcp(w, &ts, STEP, &ep, req, sizeof(req) - 1, resp, sizeof(resp) - 1) <
                   0
               ? -EIO
               : 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_incident_pcap FILE\n");
        return 2;
    }
    w = pktgen_pcap_open(argv[1], PKTGEN_LINK_ETHERNET, 0);
    if (!w) {
        fprintf(stderr, "gen_incident_pcap: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    int rc = 0;
    for (unsigned r = 0; r < 5 && rc == 0; r++)
        rc = web("10.20.1.30", r);
    if (rc == 0)
        rc = vertical("10.20.1.15", "10.20.5.10", 200);
    for (unsigned r = 5; r < 10 && rc == 0; r++)
        rc = web("10.20.2.31", r);
    if (rc == 0)
        rc = sweep("10.20.2.16", "10.20.3", 40, 445);
    if (rc == 0)
        rc = vertical("10.20.3.17", "10.20.2.16", 200);
    if (pktgen_pcap_close(w) < 0 || rc < 0) {
        fprintf(stderr, "gen_incident_pcap: writing %s failed\n", argv[1]);
        return 1;
    }
    return 0;
}
