/*
 * fuzz_asset -- payloads the asset tracker parses itself (NetBIOS name service,
 * mDNS responses) through asset_tracker_packet().  The first byte picks the port
 * and address family; the rest is the UDP payload.
 */
#include "fuzz.h"

#include <string.h>

#include "asset.h"

static int drop(void *arg, const Ward__Message *m)
{
    (void)arg;
    (void)m;
    return 0;
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    static struct pkt p;
    struct asset_opts o;
    struct sink out = {drop, NULL};

    if (size < 1 || size > (64u << 10))
        return 0;
    if (asset_opts_read(NULL, &o) < 0)
        return 0;
    o.max_hosts = 4;
    struct asset_tracker *t = asset_tracker_new(&o, NULL, NULL, &out);
    if (!t)
        return 0;
    memset(&p, 0, sizeof(p));
    p.ts_usec = 1000000;
    p.layers = PKT_ETH | PKT_UDP;
    p.src_mac[5] = 1;
    bool v6 = data[0] & 1;
    struct addr src = {0};
    src.family = v6 ? 6 : 4;
    if (v6) {
        src.b[0] = 0xfe;
        src.b[1] = 0x80;
        src.b[15] = 1;
    } else {
        src.b[0] = 192;
        src.b[1] = 168;
        src.b[3] = 1;
    }
    p.layers |= v6 ? PKT_IP6 : PKT_IP4;
    p.src = src;
    p.dst = src;
    p.dst.b[15] = 2;
    p.dst.b[3] = 2;
    p.proto = 17;
    p.ttl = 64;
    p.sport = data[0] & 2 ? 5353 : 137;
    p.dport = p.sport;
    p.payload = rd_make(data + 1, size - 1);
    p.payload_len = (uint32_t)(size - 1);
    asset_tracker_packet(t, &p, NULL, FLOW_ORIG);
    asset_tracker_flush(t);
    asset_tracker_free(t);
    return 0;
}
