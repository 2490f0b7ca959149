/*
 * decode_eth -- link layers: Ethernet II with 802.1Q / 802.1ad (QinQ) tags,
 * Linux cooked capture v1 and v2, and BSD loopback; then the ethertype dispatch.
 *
 * specification: IEEE 802.3 / 802.1Q; tcpdump's LINKTYPE_LINUX_SLL(2) and
 * LINKTYPE_NULL/LOOP pages.
 *
 *   Ethernet      | dst mac (6) | src mac (6) | [0x8100|0x88a8|0x9100 tci (2)]... | type (2) |
 *   SLL (16)      | pkttype (2) | arphrd (2) | addr len (2) | addr (8) | protocol (2) |
 *   SLL2 (20)     | protocol (2) | reserved (2) | ifindex (4) | arphrd (2) | pkttype (1)
 *                 | addr len (1) | addr (8) |
 *   NULL / LOOP   | address family (4, host or network order) |
 */
#include "decode.h"

#include <string.h>

#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_IP4 0x0800
#define ETH_ARP 0x0806
#define ETH_IP6 0x86dd
#define VLAN_MAX_TAGS 4 /* deeper stacks are an anomaly (two is QinQ) */

/* VLAN tags, then the network layer. */
static enum decode_rc decode_vlans(struct rd *r, struct pkt *p, uint16_t type)
{
    unsigned tags = 0;
    while (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
        uint16_t tci;
        if (++tags > VLAN_MAX_TAGS) {
            pkt_anomaly(p, ANOM_VLAN_TOO_DEEP);
            return DECODE_MALFORMED;
        }
        if (!rd_be16(r, &tci) || !rd_be16(r, &type))
            return decode_short(p, ANOM_ETH_TRUNCATED);
        if (tags == 1)
            p->vlan = tci & 0x0fff;
        else if (tags == 2)
            p->vlan_inner = tci & 0x0fff;
        p->layers |= PKT_VLAN;
    }
    return decode_ethertype(r, p, type);
}

enum decode_rc decode_eth(struct rd *r, struct pkt *p)
{
    uint16_t type;
    if (!rd_copy(r, p->dst_mac, 6) || !rd_copy(r, p->src_mac, 6) || !rd_be16(r, &type))
        return decode_short(p, ANOM_ETH_TRUNCATED);
    p->layers |= PKT_ETH;
    return decode_vlans(r, p, type);
}

enum decode_rc decode_ethertype(struct rd *r, struct pkt *p, uint16_t type)
{
    p->ethertype = type;
    switch (type) {
    case ETH_IP4:
        return decode_ipv4(r, p);
    case ETH_IP6:
        return decode_ipv6(r, p);
    case ETH_ARP:
        return decode_arp(r, p);
    case ETH_VLAN:
    case ETH_QINQ:
    case ETH_QINQ_OLD:
        return decode_vlans(r, p, type);
    default:
        return DECODE_UNSUPPORTED; /* LLDP, STP, 802.3 lengths...: not ours, not bad */
    }
}

/* Cooked captures carry the sender's link address; keep it when it is a MAC. */
static void cooked_addr(struct pkt *p, uint16_t arphrd, uint16_t alen, const uint8_t *addr)
{
    if (arphrd == 1 && alen == 6) {
        memcpy(p->src_mac, addr, 6);
        memset(p->dst_mac, 0, 6);
        p->layers |= PKT_ETH;
    }
}

enum decode_rc decode_sll(struct rd *r, struct pkt *p)
{
    uint16_t pkttype, arphrd, alen, proto;
    const uint8_t *addr;
    if (!rd_be16(r, &pkttype) || !rd_be16(r, &arphrd) || !rd_be16(r, &alen) ||
        !rd_bytes(r, 8, &addr) || !rd_be16(r, &proto))
        return decode_short(p, ANOM_LINK_TRUNCATED);
    (void)pkttype;
    cooked_addr(p, arphrd, alen, addr);
    return decode_vlans(r, p, proto);
}

enum decode_rc decode_sll2(struct rd *r, struct pkt *p)
{
    uint16_t proto, reserved, arphrd;
    uint32_t ifindex;
    uint8_t pkttype, alen;
    const uint8_t *addr;
    if (!rd_be16(r, &proto) || !rd_be16(r, &reserved) || !rd_be32(r, &ifindex) ||
        !rd_be16(r, &arphrd) || !rd_u8(r, &pkttype) || !rd_u8(r, &alen) ||
        !rd_bytes(r, 8, &addr))
        return decode_short(p, ANOM_LINK_TRUNCATED);
    cooked_addr(p, arphrd, alen, addr);
    return decode_vlans(r, p, proto);
}

enum decode_rc decode_null(struct rd *r, struct pkt *p, bool network_order)
{
    uint32_t fam;
    bool ok = network_order ? rd_be32(r, &fam) : rd_le32(r, &fam);
    if (!ok)
        return decode_short(p, ANOM_LINK_TRUNCATED);
    /* The writer's byte order is unknown for NULL: accept either. */
    uint32_t swapped = __builtin_bswap32(fam);
    if (fam == 2 || (!network_order && swapped == 2))
        return decode_ipv4(r, p);
    if (fam == 24 || fam == 28 || fam == 30 ||
        (!network_order && (swapped == 24 || swapped == 28 || swapped == 30)))
        return decode_ipv6(r, p);
    return DECODE_UNSUPPORTED;
}
