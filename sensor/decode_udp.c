/*
 * decode_udp -- UDP header.
 *
 * specification: RFC 768
 *
 *   |          Source Port          |       Destination Port        |
 *   |             Length            |            Checksum           |
 *
 * The length is checked three ways: >= 8, <= the IP payload on the wire, and the
 * payload is what was captured of it.  The first fragment of a fragmented
 * datagram carries a length past its own end; that is not an anomaly.
 */
#include "decode.h"

enum decode_rc decode_udp(struct rd *r, struct pkt *p)
{
    uint16_t sport, dport, len, csum;
    if (p->l4_len < 8 && !p->fragment) {
        pkt_anomaly(p, ANOM_UDP_TRUNCATED);
        return DECODE_MALFORMED;
    }
    if (!rd_be16(r, &sport) || !rd_be16(r, &dport) || !rd_be16(r, &len) || !rd_be16(r, &csum))
        return decode_short(p, ANOM_UDP_TRUNCATED);
    (void)csum;
    if (len < 8) {
        pkt_anomaly(p, ANOM_UDP_LEN_TOO_SMALL);
        return DECODE_MALFORMED;
    }
    if (len > p->l4_len && !p->fragment) {
        pkt_anomaly(p, ANOM_UDP_LEN_PAST_CAPTURE);
        return DECODE_MALFORMED;
    }
    p->sport = sport;
    p->dport = dport;
    p->layers |= PKT_UDP;
    p->payload_len = (uint32_t)len - 8;
    if (!rd_sub(r, WARD_MIN((size_t)p->payload_len, rd_left(r)), &p->payload))
        p->payload = rd_make(NULL, 0);
    return DECODE_OK;
}
