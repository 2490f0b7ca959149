/*
 * gen_intel_pcap -- a deterministic capture for the outbreak test
 * (tests/integration/intel_push.sh), written with tests/lib/pktgen:
 *
 *   a quiet exchange every half second of packet time for 30 s (10.40.0.20
 *   asks the inside resolver 10.40.0.53 for intranet.example), so a paced
 *   replay keeps the sensor running; and at +16 s the compromised host
 *   10.40.0.9 opens a TLS session to 198.51.100.201 and at +18 s asks for
 *   c2.outbreak-example.net.  Neither indicator is in any file list: only an
 *   indicator pushed from the console can match them.
 * Usage: gen_intel_pcap FILE
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pktgen.h"

#define T0 1763712000000000ULL /* 2025-11-21T08:00:00Z, packet time of the first packet */
#define SEC 1000000ULL
#define STEP 2000ULL /* usec between packets of one exchange */

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_intel_pcap FILE\n");
        return 2;
    }
    struct pktgen_pcap *w = pktgen_pcap_open(argv[1], PKTGEN_LINK_ETHERNET, 0);
    if (!w) {
        fprintf(stderr, "gen_intel_pcap: cannot write %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    int rc = 0;
    static const uint8_t hello[] = {0x16, 0x03, 0x01};
    for (unsigned i = 0; i < 60 && rc >= 0; i++) {
        uint64_t ts = T0 + i * SEC / 2;
        struct pktgen_ep dns =
            pktgen_ep_make("10.40.0.20", (uint16_t)(40000 + i), "10.40.0.53", 53);
        struct addr ans = addr_v4(0x0a280050); /* 10.40.0.80 */
        rc = pktgen_session_dns(w, &ts, STEP, &dns, (uint16_t)(i + 1), "intranet.example", 1, 0,
                                &ans, 1);
        if (rc >= 0 && i == 32) {
            uint8_t req[512];
            size_t n = pktgen_tls_client_hello(req, sizeof(req), "updates.example.com");
            struct pktgen_ep ep = pktgen_ep_make("10.40.0.9", 51515, "198.51.100.201", 443);
            rc = pktgen_session_tcp(w, &ts, STEP, &ep, req, n, hello, sizeof(hello));
        }
        if (rc >= 0 && i == 36) {
            struct pktgen_ep q = pktgen_ep_make("10.40.0.9", 53535, "10.40.0.53", 53);
            rc =
                pktgen_session_dns(w, &ts, STEP, &q, 777, "c2.outbreak-example.net", 1, 0, &ans, 1);
        }
    }
    if (pktgen_pcap_close(w) < 0 || rc < 0) {
        fprintf(stderr, "gen_intel_pcap: cannot write %s\n", argv[1]);
        return 1;
    }
    return 0;
}
