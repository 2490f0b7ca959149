/*
 * fuzz_decode -- the whole decode stack.  The first byte picks the link type
 * (low 4 bits, from the table below) and whether the capture claims the packet
 * was longer on the wire than captured (high bit: a snap-length cut); the rest
 * is the frame.  Every decoded packet is also run through decode_count().
 */
#include "fuzz.h"

#include <string.h>

#include "decode.h"

static const int links[16] = {
    DECODE_LINK_ETHERNET, DECODE_LINK_ETHERNET, DECODE_LINK_ETHERNET, DECODE_LINK_ETHERNET,
    DECODE_LINK_RAW,      DECODE_LINK_RAW_DLT,  DECODE_LINK_IPV4,     DECODE_LINK_IPV6,
    DECODE_LINK_LINUX_SLL, DECODE_LINK_LINUX_SLL2, DECODE_LINK_NULL,  DECODE_LINK_LOOP,
    DECODE_LINK_ETHERNET, DECODE_LINK_RAW,      DECODE_LINK_LINUX_SLL, 9999,
};

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    static struct pkt p;
    struct decode_stats st;
    if (size < 1 || size > (64u << 10))
        return 0;
    int link = links[data[0] & 0x0f];
    uint32_t caplen = (uint32_t)(size - 1);
    uint32_t wirelen = caplen + ((data[0] & 0x80) ? 1000u : 0u);
    memset(&st, 0, sizeof(st));
    enum decode_rc rc = decode_packet(link, data + 1, caplen, wirelen, 1, &p);
    decode_count(&st, &p, rc);
    if (st.packets != 1)
        __builtin_trap();
    /* Every string a decoder fills must be terminated within its field. */
    if ((p.layers & PKT_DNS) && !memchr(p.dns.qname, 0, sizeof(p.dns.qname)))
        __builtin_trap();
    if ((p.layers & PKT_TLS_HELLO) && !memchr(p.tls.sni, 0, sizeof(p.tls.sni)))
        __builtin_trap();
    if ((p.layers & PKT_HTTP) && (!memchr(p.http.host, 0, sizeof(p.http.host)) ||
                                  !memchr(p.http.user_agent, 0, sizeof(p.http.user_agent))))
        __builtin_trap();
    if ((p.layers & PKT_DHCP) && !memchr(p.dhcp.hostname, 0, sizeof(p.dhcp.hostname)))
        __builtin_trap();
    return 0;
}
