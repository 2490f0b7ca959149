/*
 * decode_dhcp -- DHCP (BOOTP) messages: message type, client hardware address,
 * addresses, and the options the asset inventory wants.
 *
 * specification: RFC 2131 (message), RFC 2132 (options)
 *
 *   | op (1) | htype (1) | hlen (1) | hops (1) | xid (4) | secs (2) | flags (2) |
 *   | ciaddr (4) | yiaddr (4) | siaddr (4) | giaddr (4) | chaddr (16) |
 *   | sname (64) | file (128) | magic cookie 99.130.83.99 (4) | options... |
 *
 *   option: | code (1) | len (1) | value (len) |, except pad (0) and end (255).
 *
 * Options are walked at most DHCP_MAX_OPTIONS times; each step consumes at least
 * one byte.  An option running past the message is an anomaly.
 */
#include "decode.h"

#include <string.h>

#define DHCP_MAX_OPTIONS 255
#define DHCP_MAGIC 0x63825363u

/* Copies a printable-escaped option value into a fixed field. */
static void copy_text(char *out, size_t cap, struct rd v)
{
    size_t o = 0;
    uint8_t c;
    while (o + 1 < cap && rd_u8(&v, &c)) {
        if (c == 0)
            break;
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[o] = '\0';
}

enum decode_rc decode_dhcp(struct rd *r, struct pkt *p)
{
    struct pkt_dhcp *d = &p->dhcp;
    uint8_t op, htype, hlen, hops;
    uint32_t xid, ciaddr, yiaddr, magic;
    uint16_t secs, flags;
    if (!rd_u8(r, &op) || !rd_u8(r, &htype) || !rd_u8(r, &hlen) || !rd_u8(r, &hops) ||
        !rd_be32(r, &xid) || !rd_be16(r, &secs) || !rd_be16(r, &flags) ||
        !rd_be32(r, &ciaddr) || !rd_be32(r, &yiaddr) || !rd_skip(r, 8) ||
        !rd_copy(r, d->chaddr, 6) || !rd_skip(r, 10 + 64 + 128) || !rd_be32(r, &magic)) {
        if (!decode_snapped(p))
            pkt_anomaly(p, ANOM_DHCP_MALFORMED);
        return DECODE_TRUNCATED;
    }
    (void)hops;
    (void)xid;
    (void)secs;
    (void)flags;
    if ((op != 1 && op != 2) || magic != DHCP_MAGIC || (htype == 1 && hlen != 6)) {
        pkt_anomaly(p, ANOM_DHCP_MALFORMED);
        return DECODE_MALFORMED;
    }
    d->ciaddr = ciaddr ? addr_v4(ciaddr) : (struct addr){0};
    d->yiaddr = yiaddr ? addr_v4(yiaddr) : (struct addr){0};
    memset(&d->requested, 0, sizeof(d->requested));
    memset(&d->server_id, 0, sizeof(d->server_id));
    d->msg_type = 0;
    d->hostname[0] = '\0';
    d->vendor_class[0] = '\0';
    for (unsigned i = 0; i < DHCP_MAX_OPTIONS && rd_left(r) > 0; i++) {
        uint8_t code, len;
        struct rd v;
        uint32_t a;
        if (!rd_u8(r, &code))
            break;
        if (code == 0)
            continue;
        if (code == 255)
            break;
        if (!rd_u8(r, &len) || !rd_sub(r, len, &v)) {
            if (!decode_snapped(p))
                pkt_anomaly(p, ANOM_DHCP_MALFORMED);
            break; /* what came before is still good */
        }
        switch (code) {
        case 53:
            if (len != 1 || !rd_u8(&v, &d->msg_type))
                pkt_anomaly(p, ANOM_DHCP_MALFORMED);
            break;
        case 50:
            if (len == 4 && rd_be32(&v, &a))
                d->requested = addr_v4(a);
            break;
        case 54:
            if (len == 4 && rd_be32(&v, &a))
                d->server_id = addr_v4(a);
            break;
        case 12:
            copy_text(d->hostname, sizeof(d->hostname), v);
            break;
        case 60:
            copy_text(d->vendor_class, sizeof(d->vendor_class), v);
            break;
        default:
            break;
        }
    }
    p->layers |= PKT_DHCP;
    return DECODE_OK;
}
