/*
 * decode_tcp -- TCP header and options.
 *
 * specification: RFC 9293; options RFC 7323 (window scale, timestamps),
 * RFC 2018 (SACK)
 *
 *   |          Source Port          |       Destination Port        |
 *   |                        Sequence Number                        |
 *   |                    Acknowledgment Number                      |
 *   |  Data |       |C|E|U|A|P|R|S|F|                               |
 *   | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *   |           Checksum            |         Urgent Pointer        |
 *   |                    Options (offset > 5)                       |
 *
 * Options are TLVs after EOL (0) and NOP (1); a length under 2 or past the header
 * is an anomaly (it would loop a naive parser).  Flag combinations no stack sends
 * (SYN+FIN, none, FIN+PSH+URG "xmas") are flagged but the segment is kept: they
 * are what scanners send.
 */
#include "decode.h"

#include <string.h>

#define TCP_MAX_OPTIONS 40 /* bytes; caps the option loop */

static void note_opt(struct pkt_tcp *t, char c)
{
    if (t->opt_count < sizeof(t->opt_order) - 1) {
        t->opt_order[t->opt_count] = c;
        t->opt_order[t->opt_count + 1] = '\0';
    }
    if (t->opt_count < UINT8_MAX)
        t->opt_count++;
}

static bool parse_options(struct rd o, struct pkt_tcp *t)
{
    for (unsigned i = 0; i < TCP_MAX_OPTIONS && rd_left(&o) > 0; i++) {
        uint8_t kind, len;
        if (!rd_u8(&o, &kind))
            return false;
        if (kind == 0) {
            note_opt(t, 'E');
            return true;
        }
        if (kind == 1) {
            note_opt(t, 'N');
            continue;
        }
        struct rd v;
        if (!rd_u8(&o, &len) || len < 2 || !rd_sub(&o, (size_t)len - 2, &v))
            return false;
        switch (kind) {
        case 2:
            if (len != 4 || !rd_be16(&v, &t->mss))
                return false;
            note_opt(t, 'M');
            break;
        case 3:
            if (len != 3 || !rd_u8(&v, &t->wscale))
                return false;
            note_opt(t, 'W');
            break;
        case 4:
            if (len != 2)
                return false;
            t->sack_ok = true;
            note_opt(t, 'S');
            break;
        case 8:
            if (len != 10)
                return false;
            t->has_ts = true;
            note_opt(t, 'T');
            break;
        default:
            break; /* SACK blocks, MD5, TFO...: length already checked */
        }
    }
    return true;
}

enum decode_rc decode_tcp(struct rd *r, struct pkt *p)
{
    uint16_t sport, dport, win, csum, urg;
    uint32_t seq, ack;
    uint8_t off, flags;
    if (p->l4_len < 20 && !p->fragment) {
        pkt_anomaly(p, ANOM_TCP_TRUNCATED);
        return DECODE_MALFORMED;
    }
    if (!rd_be16(r, &sport) || !rd_be16(r, &dport) || !rd_be32(r, &seq) || !rd_be32(r, &ack) ||
        !rd_u8(r, &off) || !rd_u8(r, &flags) || !rd_be16(r, &win) || !rd_be16(r, &csum) ||
        !rd_be16(r, &urg))
        return decode_short(p, ANOM_TCP_TRUNCATED);
    (void)csum;
    (void)urg;
    size_t hlen = (size_t)(off >> 4) * 4;
    if (hlen < 20) {
        pkt_anomaly(p, ANOM_TCP_HLEN_TOO_SMALL);
        return DECODE_MALFORMED;
    }
    if (hlen > p->l4_len && !p->fragment) {
        pkt_anomaly(p, ANOM_TCP_TRUNCATED);
        return DECODE_MALFORMED;
    }
    struct pkt_tcp *t = &p->tcp;
    t->flags = flags;
    t->seq = seq;
    t->ack = ack;
    t->window = win;
    t->mss = 0;
    t->wscale = 0xff;
    t->sack_ok = false;
    t->has_ts = false;
    t->opt_count = 0;
    t->opt_order[0] = '\0';
    struct rd opts;
    bool cut = false; /* options cut by the snap length */
    if (!rd_sub(r, hlen - 20, &opts)) {
        if (!decode_snapped(p))
            return decode_short(p, ANOM_TCP_TRUNCATED);
        /* The snap length cut the options: keep the header, read what options there are. */
        if (!rd_sub(r, rd_left(r), &opts))
            return DECODE_TRUNCATED;
        cut = true;
    }
    p->sport = sport;
    p->dport = dport;
    p->layers |= PKT_TCP;
    if (hlen > 20 && !parse_options(opts, t) && !cut)
        pkt_anomaly(p, ANOM_TCP_BAD_OPTIONS); /* kept: the header itself is sound */
    uint8_t f6 = flags & 0x3f;
    if ((f6 & (TCP_SYN | TCP_FIN)) == (TCP_SYN | TCP_FIN) || f6 == 0 ||
        (f6 & (TCP_FIN | TCP_PSH | TCP_URG)) == (TCP_FIN | TCP_PSH | TCP_URG))
        pkt_anomaly(p, ANOM_TCP_BAD_FLAGS);
    p->payload_len = p->l4_len > hlen ? (uint32_t)(p->l4_len - hlen) : 0;
    if (!rd_sub(r, WARD_MIN((size_t)p->payload_len, rd_left(r)), &p->payload))
        p->payload = rd_make(NULL, 0);
    return DECODE_OK;
}
