/*
 * pkt -- one decoded packet, as the decoders leave it for the flow table and the
 * detectors.
 *
 * A struct pkt lives on the capture thread's stack (or in one reused slot) and is
 * valid until the next packet is read: every pointer and struct rd in it borrows
 * from the capture buffer.  Decoders fill only what they found; `layers` says
 * which parts are valid.  Application-layer fields are fixed-size copies
 * (truncated, NUL-terminated) so that no decoder allocates.
 *
 * The struct is large (application fields), so it is never zeroed per packet:
 * pkt_reset() clears `layers` and `anomalies` only, and a field is meaningful only
 * when its layer bit is set.
 */
#ifndef WARD_PKT_H
#define WARD_PKT_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "rd.h"

/* Which parts of struct pkt are valid. */
enum pkt_layer {
    PKT_ETH = 1u << 0,
    PKT_VLAN = 1u << 1,
    PKT_ARP = 1u << 2,
    PKT_IP4 = 1u << 3,
    PKT_IP6 = 1u << 4,
    PKT_TCP = 1u << 5,
    PKT_UDP = 1u << 6,
    PKT_ICMP = 1u << 7,   /* ICMPv4 */
    PKT_ICMP6 = 1u << 8,
    PKT_DNS = 1u << 9,
    PKT_DHCP = 1u << 10,
    PKT_TLS_HELLO = 1u << 11,
    PKT_HTTP = 1u << 12,
    PKT_ND = 1u << 13,    /* ICMPv6 neighbour discovery */
    PKT_ICMP_INNER = 1u << 14, /* ICMP error quoting an inner IP header */
    PKT_SMB = 1u << 15,
};

/* Named anomalies (bit numbers); detectors may alert on them.  Counted by reason. */
enum pkt_anomaly {
    ANOM_NONE = 0,
    ANOM_ETH_TRUNCATED,
    ANOM_VLAN_TOO_DEEP,
    ANOM_ARP_MALFORMED,
    ANOM_IP4_HLEN_TOO_SMALL,
    ANOM_IP4_LEN_PAST_CAPTURE,
    ANOM_IP4_LEN_TOO_SMALL,
    ANOM_IP4_BAD_OPTIONS,
    ANOM_IP4_FRAGMENT,
    ANOM_IP6_LEN_PAST_CAPTURE,
    ANOM_IP6_EXT_TOO_MANY,
    ANOM_IP6_EXT_MALFORMED,
    ANOM_TCP_HLEN_TOO_SMALL,
    ANOM_TCP_BAD_OPTIONS,
    ANOM_TCP_BAD_FLAGS,       /* SYN+FIN, null, xmas */
    ANOM_UDP_LEN_TOO_SMALL,
    ANOM_UDP_LEN_PAST_CAPTURE,
    ANOM_ICMP_TRUNCATED,
    ANOM_DNS_MALFORMED,
    ANOM_DNS_POINTER_LOOP,
    ANOM_DHCP_MALFORMED,
    ANOM_TLS_MALFORMED,
    ANOM_HTTP_MALFORMED,
    ANOM_SMB_MALFORMED,
    ANOM_LINKTYPE_UNSUPPORTED,
    ANOM_IP_BAD_VERSION,      /* IP version nibble does not match the ethertype */
    ANOM_IP4_TRUNCATED,       /* fewer captured bytes than an IPv4 header */
    ANOM_IP6_TRUNCATED,       /* fewer captured bytes than an IPv6 header */
    ANOM_TCP_TRUNCATED,       /* TCP header cut short on the wire (not by snaplen) */
    ANOM_UDP_TRUNCATED,       /* UDP header cut short on the wire */
    ANOM_ND_MALFORMED,        /* ICMPv6 neighbour discovery option with length 0 or past end */
    ANOM_LINK_TRUNCATED,      /* SLL/SLL2/loopback header cut short */
    ANOM_COUNT
};

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define PKT_NAME_MAX 256   /* DNS names, SNI, Host */
#define PKT_SHORT_MAX 64   /* DHCP host name, vendor class, HTTP method */
#define PKT_DNS_MAX_ANSWERS 8

struct pkt_arp {
    uint16_t op;        /* 1 request, 2 reply */
    uint8_t sha[6];     /* sender hardware address */
    uint8_t tha[6];     /* target hardware address */
    struct addr spa;    /* sender protocol address */
    struct addr tpa;    /* target protocol address */
};

struct pkt_tcp {
    uint8_t flags;      /* TCP_* */
    uint32_t seq;       /* sequence number */
    uint32_t ack;       /* acknowledgement number */
    uint16_t window;    /* raw window field */
    uint16_t mss;       /* MSS option, 0 if absent */
    uint8_t wscale;     /* window scale option, 0xff if absent */
    bool sack_ok;       /* SACK-permitted option present */
    bool has_ts;        /* timestamp option present */
    uint8_t opt_count;  /* options seen */
    char opt_order[16]; /* option kinds in order as letters (M,N,W,S,T,E), for OS guesses */
};

struct pkt_icmp {
    uint8_t type;       /* ICMP or ICMPv6 type */
    uint8_t code;       /* code */
    uint16_t id;        /* echo identifier */
    uint16_t seq;       /* echo sequence */
    /* For errors (unreachable, time exceeded): the quoted packet's header. */
    struct addr inner_src;  /* quoted source address */
    struct addr inner_dst;  /* quoted destination address */
    uint8_t inner_proto;    /* quoted protocol */
    uint16_t inner_sport;   /* quoted source port */
    uint16_t inner_dport;   /* quoted destination port */
};

struct pkt_nd {
    uint8_t type;          /* 133..137 */
    struct addr target;    /* NS/NA target address */
    uint8_t lladdr[6];     /* source/target link-layer address option */
    bool has_lladdr;       /* lladdr valid */
};

struct pkt_dns_answer {
    uint16_t type;         /* RR type */
    uint32_t ttl;          /* TTL */
    struct addr addr;      /* A/AAAA data, family 0 otherwise */
};

struct pkt_dns {
    uint16_t id;               /* transaction id */
    bool is_response;          /* QR bit */
    uint8_t opcode;            /* opcode */
    uint8_t rcode;             /* response code */
    uint16_t qdcount;          /* header counts */
    uint16_t ancount;
    uint16_t qtype;            /* first question's type */
    uint16_t qclass;           /* first question's class */
    char qname[PKT_NAME_MAX];  /* first question's name, dotted, lower case; non-printable
                                  bytes escaped as \xNN */
    uint16_t qname_len;        /* strlen(qname) */
    uint8_t qname_labels;      /* number of labels */
    uint8_t longest_label;     /* longest label length in bytes */
    bool qname_binary;         /* some label held non-printable bytes */
    uint8_t n_answers;         /* answers stored below */
    struct pkt_dns_answer answers[PKT_DNS_MAX_ANSWERS];
};

struct pkt_dhcp {
    uint8_t msg_type;                /* option 53: 1 DISCOVER ... 8 INFORM */
    uint8_t chaddr[6];               /* client hardware address */
    struct addr ciaddr;              /* client address */
    struct addr yiaddr;              /* "your" address (offer/ack) */
    struct addr requested;           /* option 50 */
    struct addr server_id;           /* option 54 */
    char hostname[PKT_SHORT_MAX];    /* option 12 */
    char vendor_class[PKT_SHORT_MAX];/* option 60 */
};

struct pkt_http {
    char method[16];                 /* GET, POST... */
    char uri[PKT_NAME_MAX];          /* request target, truncated */
    char host[PKT_NAME_MAX];         /* Host header */
    char user_agent[PKT_NAME_MAX];   /* User-Agent header */
};

struct pkt_tls {
    char sni[PKT_NAME_MAX];          /* server_name extension */
    uint16_t version;                /* ClientHello legacy version */
};

/* SMB header facts the lateral-movement detector needs (decode_smb.c). */
struct pkt_smb {
    uint8_t version;       /* 1 or 2 */
    uint16_t command;      /* SMB1 command byte or SMB2 command */
    uint16_t sub_command;  /* SMB1 Trans2 / NT Transact subcommand, SMB2: 0 */
    uint32_t status;       /* NT status */
    bool is_response;      /* server to client */
    uint16_t mid;          /* SMB1 multiplex id (EternalBlue markers), SMB2: low bits of msg id */
    char tree[PKT_SHORT_MAX]; /* SMB2 TREE_CONNECT path tail (e.g. "ADMIN$", "IPC$") */
    char pipe[PKT_SHORT_MAX]; /* SMB2 CREATE name (e.g. "svcctl", "PSEXESVC.exe") */
    uint16_t dcerpc_opnum; /* DCE/RPC request opnum in a WRITE/IOCTL, 0xffff if none */
    uint32_t trans_data_count; /* SMB1 transaction total data/param counts (anomalies) */
    uint32_t trans_param_count;
};

struct pkt {
    uint64_t ts_usec;        /* capture time (packet time; all logic uses this) */
    uint32_t caplen;         /* bytes captured */
    uint32_t wirelen;        /* bytes on the wire */
    uint32_t layers;         /* enum pkt_layer bits */
    uint64_t anomalies;      /* 1 << enum pkt_anomaly */

    uint8_t src_mac[6];      /* Ethernet source */
    uint8_t dst_mac[6];      /* Ethernet destination */
    uint16_t ethertype;      /* after VLAN tags */
    uint16_t vlan;           /* outer VLAN id, 0 if none */
    uint16_t vlan_inner;     /* inner VLAN id (QinQ), 0 if none */

    struct pkt_arp arp;      /* PKT_ARP */

    struct addr src;         /* IP source */
    struct addr dst;         /* IP destination */
    uint8_t proto;           /* IP protocol (after IPv6 extension headers) */
    uint8_t ttl;             /* TTL / hop limit */
    uint16_t ip_len;         /* IP total length (IPv6: 40 + payload length) */
    uint16_t l4_len;         /* transport header + data bytes on the wire, per the IP header */
    bool fragment;           /* a fragment (offset > 0 or MF); no L4 decode past the first */
    uint16_t sport;          /* TCP/UDP source port */
    uint16_t dport;          /* TCP/UDP destination port */

    struct pkt_tcp tcp;      /* PKT_TCP */
    struct pkt_icmp icmp;    /* PKT_ICMP, PKT_ICMP6 */
    struct pkt_nd nd;        /* PKT_ND */

    struct rd payload;       /* L4 payload (TCP/UDP data, ICMP data after the header) */
    uint32_t payload_len;    /* its length */

    struct pkt_dns dns;      /* PKT_DNS */
    struct pkt_dhcp dhcp;    /* PKT_DHCP */
    struct pkt_http http;    /* PKT_HTTP */
    struct pkt_tls tls;      /* PKT_TLS_HELLO */
    struct pkt_smb smb;      /* PKT_SMB */
};

static inline bool pkt_has(const struct pkt *p, enum pkt_layer l)
{
    return (p->layers & (uint32_t)l) != 0;
}

static inline void pkt_reset(struct pkt *p)
{
    p->layers = 0;
    p->anomalies = 0;
    p->vlan = 0;
    p->vlan_inner = 0;
    p->fragment = false;
    p->sport = 0;
    p->dport = 0;
    p->proto = 0;
    p->payload = rd_make(NULL, 0);
    p->payload_len = 0;
}

static inline void pkt_anomaly(struct pkt *p, enum pkt_anomaly a)
{
    p->anomalies |= 1ULL << a;
}

#endif
