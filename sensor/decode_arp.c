/*
 * decode_arp -- ARP for IPv4 over Ethernet.
 *
 * specification: RFC 826
 *
 *   | htype (2) | ptype (2) | hlen (1) | plen (1) | op (2) |
 *   | sender mac (6) | sender ip (4) | target mac (6) | target ip (4) |
 *
 * Anything but Ethernet/IPv4 (htype 1, ptype 0x0800, 6/4) is left undecoded;
 * impossible sizes or opcodes are an anomaly (spoofing tools craft such frames).
 */
#include "decode.h"

#include <string.h>

enum decode_rc decode_arp(struct rd *r, struct pkt *p)
{
    uint16_t htype, ptype, op;
    uint8_t hlen, plen;
    uint32_t spa, tpa;
    if (!rd_be16(r, &htype) || !rd_be16(r, &ptype) || !rd_u8(r, &hlen) || !rd_u8(r, &plen) ||
        !rd_be16(r, &op))
        return decode_short(p, ANOM_ARP_MALFORMED);
    if (htype != 1 || ptype != 0x0800)
        return DECODE_UNSUPPORTED;
    if (hlen != 6 || plen != 4 || op == 0 || op > 2) {
        pkt_anomaly(p, ANOM_ARP_MALFORMED);
        return DECODE_MALFORMED;
    }
    if (!rd_copy(r, p->arp.sha, 6) || !rd_be32(r, &spa) || !rd_copy(r, p->arp.tha, 6) ||
        !rd_be32(r, &tpa))
        return decode_short(p, ANOM_ARP_MALFORMED);
    p->arp.op = op;
    p->arp.spa = addr_v4(spa);
    p->arp.tpa = addr_v4(tpa);
    p->layers |= PKT_ARP;
    return DECODE_OK;
}
