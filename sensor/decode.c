/*
 * decode -- link-type dispatch, the application-layer gate, and the counters.
 * The protocol decoders live in decode_<proto>.c; see decode.h.
 */
#include "decode.h"

#include <string.h>

bool decode_link_is_supported(int linktype)
{
    switch (linktype) {
    case DECODE_LINK_NULL:
    case DECODE_LINK_ETHERNET:
    case DECODE_LINK_RAW_DLT:
    case DECODE_LINK_RAW_DLT14:
    case DECODE_LINK_RAW:
    case DECODE_LINK_LOOP:
    case DECODE_LINK_LINUX_SLL:
    case DECODE_LINK_IPV4:
    case DECODE_LINK_IPV6:
    case DECODE_LINK_LINUX_SLL2:
        return true;
    default:
        return false;
    }
}

enum decode_rc decode_packet(int linktype, const uint8_t *data, uint32_t caplen,
                             uint32_t wirelen, uint64_t ts_usec, struct pkt *p)
{
    pkt_reset(p);
    p->ts_usec = ts_usec;
    p->caplen = caplen;
    p->wirelen = wirelen < caplen ? caplen : wirelen;
    struct rd r = rd_make(data, caplen);
    switch (linktype) {
    case DECODE_LINK_ETHERNET:
        return decode_eth(&r, p);
    case DECODE_LINK_RAW_DLT:
    case DECODE_LINK_RAW_DLT14:
    case DECODE_LINK_RAW:
        return decode_ip(&r, p);
    case DECODE_LINK_IPV4:
        return decode_ipv4(&r, p);
    case DECODE_LINK_IPV6:
        return decode_ipv6(&r, p);
    case DECODE_LINK_LINUX_SLL:
        return decode_sll(&r, p);
    case DECODE_LINK_LINUX_SLL2:
        return decode_sll2(&r, p);
    case DECODE_LINK_NULL:
        return decode_null(&r, p, false);
    case DECODE_LINK_LOOP:
        return decode_null(&r, p, true);
    default:
        pkt_anomaly(p, ANOM_LINKTYPE_UNSUPPORTED);
        return DECODE_UNSUPPORTED;
    }
}

/* First payload bytes of an HTTP/1.x request: a known method and a space. */
static bool looks_like_http(const struct rd *r)
{
    static const char *const methods[] = {"GET ",     "POST ",    "HEAD ",  "PUT ",
                                          "DELETE ",  "OPTIONS ", "PATCH ", "CONNECT ",
                                          "TRACE "};
    uint8_t c0;
    if (!rd_peek_u8(r, 0, &c0) || c0 < 'C' || c0 > 'T')
        return false;
    for (size_t i = 0; i < WARD_ARRAY_LEN(methods); i++) {
        size_t n = strlen(methods[i]);
        if (rd_left(r) >= n && memcmp(rd_peek_ptr(r), methods[i], n) == 0)
            return true;
    }
    return false;
}

void decode_app(struct pkt *p)
{
    if (p->payload_len == 0 || rd_left(&p->payload) == 0)
        return;
    struct rd r = p->payload;
    if (p->layers & PKT_UDP) {
        uint16_t s = p->sport, d = p->dport;
        if (s == 53 || d == 53 || s == 5353 || d == 5353 || s == 5355 || d == 5355)
            (void)decode_dns(&r, p);
        else if ((s == 67 || s == 68) && (d == 67 || d == 68))
            (void)decode_dhcp(&r, p);
        return;
    }
    if (!(p->layers & PKT_TCP))
        return;
    uint8_t c0;
    if (!rd_peek_u8(&r, 0, &c0))
        return;
    if (c0 == 22) {
        (void)decode_tls(&r, p);
    } else if (c0 >= 'C' && c0 <= 'T') {
        if (looks_like_http(&r))
            (void)decode_http(&r, p);
    } else if (p->sport == 53 || p->dport == 53) {
        /* DNS over TCP: a two-byte length, then the message. */
        uint16_t len;
        struct rd msg;
        if (rd_be16(&r, &len) && rd_sub(&r, WARD_MIN((size_t)len, rd_left(&r)), &msg))
            (void)decode_dns(&msg, p);
    }
}

void decode_count(struct decode_stats *st, const struct pkt *p, enum decode_rc rc)
{
    st->packets++;
    st->bytes += p->wirelen;
    if ((unsigned)rc < DECODE_RC_COUNT)
        st->rc[rc]++;
    uint64_t a = p->anomalies;
    while (a) {
        unsigned bit = (unsigned)__builtin_ctzll(a);
        if (bit < ANOM_COUNT)
            st->anomalies[bit]++;
        a &= a - 1;
    }
}

const char *decode_rc_name(enum decode_rc rc)
{
    switch (rc) {
    case DECODE_OK:
        return "ok";
    case DECODE_TRUNCATED:
        return "truncated";
    case DECODE_MALFORMED:
        return "malformed";
    case DECODE_UNSUPPORTED:
        return "unsupported";
    default:
        return "unknown";
    }
}

const char *decode_anomaly_name(enum pkt_anomaly a)
{
    static const char *const names[ANOM_COUNT] = {
        [ANOM_NONE] = "none",
        [ANOM_ETH_TRUNCATED] = "eth_truncated",
        [ANOM_VLAN_TOO_DEEP] = "vlan_too_deep",
        [ANOM_ARP_MALFORMED] = "arp_malformed",
        [ANOM_IP4_HLEN_TOO_SMALL] = "ip4_hlen_too_small",
        [ANOM_IP4_LEN_PAST_CAPTURE] = "ip4_len_past_capture",
        [ANOM_IP4_LEN_TOO_SMALL] = "ip4_len_too_small",
        [ANOM_IP4_BAD_OPTIONS] = "ip4_bad_options",
        [ANOM_IP4_FRAGMENT] = "ip4_fragment",
        [ANOM_IP6_LEN_PAST_CAPTURE] = "ip6_len_past_capture",
        [ANOM_IP6_EXT_TOO_MANY] = "ip6_ext_too_many",
        [ANOM_IP6_EXT_MALFORMED] = "ip6_ext_malformed",
        [ANOM_TCP_HLEN_TOO_SMALL] = "tcp_hlen_too_small",
        [ANOM_TCP_BAD_OPTIONS] = "tcp_bad_options",
        [ANOM_TCP_BAD_FLAGS] = "tcp_bad_flags",
        [ANOM_UDP_LEN_TOO_SMALL] = "udp_len_too_small",
        [ANOM_UDP_LEN_PAST_CAPTURE] = "udp_len_past_capture",
        [ANOM_ICMP_TRUNCATED] = "icmp_truncated",
        [ANOM_DNS_MALFORMED] = "dns_malformed",
        [ANOM_DNS_POINTER_LOOP] = "dns_pointer_loop",
        [ANOM_DHCP_MALFORMED] = "dhcp_malformed",
        [ANOM_TLS_MALFORMED] = "tls_malformed",
        [ANOM_HTTP_MALFORMED] = "http_malformed",
        [ANOM_SMB_MALFORMED] = "smb_malformed",
        [ANOM_LINKTYPE_UNSUPPORTED] = "linktype_unsupported",
        [ANOM_IP_BAD_VERSION] = "ip_bad_version",
        [ANOM_IP4_TRUNCATED] = "ip4_truncated",
        [ANOM_IP6_TRUNCATED] = "ip6_truncated",
        [ANOM_TCP_TRUNCATED] = "tcp_truncated",
        [ANOM_UDP_TRUNCATED] = "udp_truncated",
        [ANOM_ND_MALFORMED] = "nd_malformed",
        [ANOM_LINK_TRUNCATED] = "link_truncated",
    };
    if ((unsigned)a >= ANOM_COUNT || !names[a])
        return "unknown";
    return names[a];
}

enum decode_rc decode_l4(struct rd *r, struct pkt *p)
{
    enum decode_rc rc;
    switch (p->proto) {
    case 6:
        rc = decode_tcp(r, p);
        break;
    case 17:
        rc = decode_udp(r, p);
        break;
    case 1:
        return p->layers & PKT_IP4 ? decode_icmp(r, p) : DECODE_OK;
    case 58:
        return p->layers & PKT_IP6 ? decode_icmp6(r, p) : DECODE_OK;
    default:
        return DECODE_OK; /* GRE, ESP, SCTP...: the IP layer is what we use */
    }
    if (rc == DECODE_OK && !p->fragment)
        decode_app(p);
    return rc;
}
