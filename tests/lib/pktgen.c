/*
 * pktgen -- see pktgen.h.  Frames are built back to front in spirit: the payload
 * is copied at its final offset, then the headers in front of it are written with
 * the lengths and checksums the payload implies.
 */
#include "pktgen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ small writers */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t pktgen_csum_add(uint32_t sum, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)data[i] << 8 | data[i + 1];
    if (i < len)
        sum += (uint32_t)data[i] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum;
}

uint16_t pktgen_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* ------------------------------------------------------------------ endpoints */

static void mac_from_addr(uint8_t mac[6], const struct addr *a)
{
    size_t n = a->family == 6 ? 16 : 4;
    mac[0] = 0x02;
    mac[1] = 0x00;
    memcpy(mac + 2, a->b + n - 4, 4);
}

struct pktgen_ep pktgen_ep_make(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
    struct pktgen_ep ep;
    memset(&ep, 0, sizeof(ep));
    if (addr_parse(src, &ep.src) != 0 || addr_parse(dst, &ep.dst) != 0 ||
        ep.src.family != ep.dst.family) {
        fprintf(stderr, "pktgen: bad endpoint %s -> %s\n", src, dst);
        abort();
    }
    ep.sport = sport;
    ep.dport = dport;
    mac_from_addr(ep.src_mac, &ep.src);
    mac_from_addr(ep.dst_mac, &ep.dst);
    return ep;
}

struct pktgen_ep pktgen_ep_reverse(const struct pktgen_ep *ep)
{
    struct pktgen_ep r = *ep;
    r.src = ep->dst;
    r.dst = ep->src;
    r.sport = ep->dport;
    r.dport = ep->sport;
    memcpy(r.src_mac, ep->dst_mac, 6);
    memcpy(r.dst_mac, ep->src_mac, 6);
    return r;
}

/* ------------------------------------------------------------------ framing */

static size_t link_len(const struct pktgen_ep *ep)
{
    if (ep->raw_ip)
        return 0;
    return 14 + (ep->vlan || ep->vlan_inner ? 4 : 0) + (ep->vlan_inner ? 4 : 0);
}

static size_t ip_len(const struct pktgen_ep *ep)
{
    return ep->src.family == 6 ? 40 : 20;
}

static void write_link(uint8_t *out, const struct pktgen_ep *ep, uint16_t ethertype)
{
    if (ep->raw_ip)
        return;
    memcpy(out, ep->dst_mac, 6);
    memcpy(out + 6, ep->src_mac, 6);
    size_t o = 12;
    if (ep->vlan_inner) {
        put16(out + o, PKTGEN_ETH_QINQ);
        put16(out + o + 2, ep->vlan & 0x0fff);
        put16(out + o + 4, PKTGEN_ETH_VLAN);
        put16(out + o + 6, ep->vlan_inner & 0x0fff);
        o += 8;
    } else if (ep->vlan) {
        put16(out + o, PKTGEN_ETH_VLAN);
        put16(out + o + 2, ep->vlan & 0x0fff);
        o += 4;
    }
    put16(out + o, ethertype);
}

/* Pseudo-header sum for TCP/UDP/ICMPv6 over l4_len bytes. */
static uint32_t pseudo_sum(const struct pktgen_ep *ep, uint8_t proto, size_t l4_len)
{
    uint32_t sum = 0;
    uint8_t tail[8];
    if (ep->src.family == 6) {
        sum = pktgen_csum_add(sum, ep->src.b, 16);
        sum = pktgen_csum_add(sum, ep->dst.b, 16);
        put32(tail, (uint32_t)l4_len);
        tail[4] = tail[5] = tail[6] = 0;
        tail[7] = proto;
        sum = pktgen_csum_add(sum, tail, 8);
    } else {
        sum = pktgen_csum_add(sum, ep->src.b, 4);
        sum = pktgen_csum_add(sum, ep->dst.b, 4);
        tail[0] = 0;
        tail[1] = proto;
        put16(tail + 2, (uint16_t)l4_len);
        sum = pktgen_csum_add(sum, tail, 4);
    }
    return sum;
}

/*
 * Writes link + IP headers for an L4 part of l4_len bytes already at
 * out + link_len + ip_len.  Returns the frame length or 0.
 */
static size_t finish_ip(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint8_t proto,
                        size_t l4_len)
{
    size_t l2 = link_len(ep), l3 = ip_len(ep);
    if (l2 + l3 + l4_len > cap || l3 + l4_len > 65535)
        return 0;
    uint8_t *ip = out + l2;
    uint8_t ttl = ep->ttl ? ep->ttl : 64;
    if (ep->src.family == 6) {
        write_link(out, ep, PKTGEN_ETH_IP6);
        put32(ip, 0x60000000u);
        put16(ip + 4, (uint16_t)l4_len);
        ip[6] = proto;
        ip[7] = ttl;
        memcpy(ip + 8, ep->src.b, 16);
        memcpy(ip + 24, ep->dst.b, 16);
    } else {
        write_link(out, ep, PKTGEN_ETH_IP4);
        ip[0] = 0x45;
        ip[1] = 0;
        put16(ip + 2, (uint16_t)(l3 + l4_len));
        put16(ip + 4, ep->ip_id);
        put16(ip + 6, 0x4000); /* DF */
        ip[8] = ttl;
        ip[9] = proto;
        put16(ip + 10, 0);
        memcpy(ip + 12, ep->src.b, 4);
        memcpy(ip + 16, ep->dst.b, 4);
        put16(ip + 10, pktgen_csum_fold(pktgen_csum_add(0, ip, 20)));
    }
    return l2 + l3 + l4_len;
}

static bool fits(size_t cap, const struct pktgen_ep *ep, size_t l4_len)
{
    return link_len(ep) + ip_len(ep) + l4_len <= cap && ip_len(ep) + l4_len <= 65535;
}

size_t pktgen_tcp_opts(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint8_t flags,
                       uint32_t seq, uint32_t ack, const uint8_t *opts, size_t opts_len,
                       const void *payload, size_t len)
{
    if (opts_len > 40)
        return 0;
    size_t padded = (opts_len + 3) & ~(size_t)3;
    size_t thl = 20 + padded;
    if (!fits(cap, ep, thl + len))
        return 0;
    uint8_t *t = out + link_len(ep) + ip_len(ep);
    put16(t, ep->sport);
    put16(t + 2, ep->dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = (uint8_t)((thl / 4) << 4);
    t[13] = flags;
    put16(t + 14, 64240);
    put16(t + 16, 0);
    put16(t + 18, 0);
    if (opts_len)
        memcpy(t + 20, opts, opts_len);
    memset(t + 20 + opts_len, 1, padded - opts_len); /* NOP */
    if (len)
        memcpy(t + thl, payload, len);
    uint32_t sum = pseudo_sum(ep, PKTGEN_PROTO_TCP, thl + len);
    put16(t + 16, pktgen_csum_fold(pktgen_csum_add(sum, t, thl + len)));
    return finish_ip(out, cap, ep, PKTGEN_PROTO_TCP, thl + len);
}

size_t pktgen_tcp(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint8_t flags,
                  uint32_t seq, uint32_t ack, const void *payload, size_t len)
{
    /* MSS 1460, SACK-permitted, timestamps, NOP, window scale 7: 20 bytes. */
    static const uint8_t syn_opts[] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
                                       0, 0, 0, 0, 1, 3, 3, 7};
    if (flags & PKTGEN_SYN)
        return pktgen_tcp_opts(out, cap, ep, flags, seq, ack, syn_opts, sizeof(syn_opts),
                               payload, len);
    return pktgen_tcp_opts(out, cap, ep, flags, seq, ack, NULL, 0, payload, len);
}

size_t pktgen_udp(uint8_t *out, size_t cap, const struct pktgen_ep *ep, const void *payload,
                  size_t len)
{
    if (!fits(cap, ep, 8 + len) || 8 + len > 65535)
        return 0;
    uint8_t *u = out + link_len(ep) + ip_len(ep);
    put16(u, ep->sport);
    put16(u + 2, ep->dport);
    put16(u + 4, (uint16_t)(8 + len));
    put16(u + 6, 0);
    if (len)
        memcpy(u + 8, payload, len);
    uint16_t c = pktgen_csum_fold(
        pktgen_csum_add(pseudo_sum(ep, PKTGEN_PROTO_UDP, 8 + len), u, 8 + len));
    put16(u + 6, c ? c : 0xffff);
    return finish_ip(out, cap, ep, PKTGEN_PROTO_UDP, 8 + len);
}

size_t pktgen_icmp(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint8_t type,
                   uint8_t code, uint32_t rest, const void *body, size_t len)
{
    if (!fits(cap, ep, 8 + len))
        return 0;
    uint8_t *c = out + link_len(ep) + ip_len(ep);
    bool v6 = ep->src.family == 6;
    uint8_t proto = v6 ? PKTGEN_PROTO_ICMP6 : PKTGEN_PROTO_ICMP;
    c[0] = type;
    c[1] = code;
    put16(c + 2, 0);
    put32(c + 4, rest);
    if (len)
        memcpy(c + 8, body, len);
    uint32_t sum = v6 ? pseudo_sum(ep, proto, 8 + len) : 0;
    put16(c + 2, pktgen_csum_fold(pktgen_csum_add(sum, c, 8 + len)));
    return finish_ip(out, cap, ep, proto, 8 + len);
}

size_t pktgen_icmp_echo(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint16_t id,
                        uint16_t seq, size_t len)
{
    uint8_t body[1500];
    if (len > sizeof(body))
        return 0;
    for (size_t i = 0; i < len; i++)
        body[i] = (uint8_t)(0x10 + i);
    uint8_t type = ep->src.family == 6 ? 128 : 8;
    return pktgen_icmp(out, cap, ep, type, 0, (uint32_t)id << 16 | seq, body, len);
}

size_t pktgen_ip(uint8_t *out, size_t cap, const struct pktgen_ep *ep, uint8_t proto,
                 const void *l4, size_t len)
{
    if (!fits(cap, ep, len))
        return 0;
    if (len)
        memcpy(out + link_len(ep) + ip_len(ep), l4, len);
    return finish_ip(out, cap, ep, proto, len);
}

size_t pktgen_arp(uint8_t *out, size_t cap, uint16_t op, const uint8_t sha[6], uint32_t spa,
                  const uint8_t tha[6], uint32_t tpa, uint16_t vlan)
{
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    struct pktgen_ep ep;
    memset(&ep, 0, sizeof(ep));
    ep.vlan = vlan;
    memcpy(ep.src_mac, sha, 6);
    memcpy(ep.dst_mac, op == 1 ? bcast : tha, 6);
    size_t l2 = link_len(&ep);
    size_t n = l2 + 28 < 60 ? 60 : l2 + 28; /* pad to the Ethernet minimum */
    if (n > cap)
        return 0;
    memset(out, 0, n);
    write_link(out, &ep, PKTGEN_ETH_ARP);
    uint8_t *a = out + l2;
    put16(a, 1);      /* Ethernet */
    put16(a + 2, PKTGEN_ETH_IP4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, sha, 6);
    put32(a + 14, spa);
    memcpy(a + 18, tha, 6);
    put32(a + 24, tpa);
    return n;
}

/* ------------------------------------------------------------------ payloads */

/* Writes name as DNS labels at out; returns bytes or 0 if it does not fit / is bad. */
static size_t dns_name(uint8_t *out, size_t cap, const char *name)
{
    size_t o = 0;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || o + 1 + l + 1 > cap)
            return 0;
        out[o++] = (uint8_t)l;
        memcpy(out + o, p, l);
        o += l;
        p += l;
        if (*p == '.')
            p++;
    }
    if (o + 1 > cap)
        return 0;
    out[o++] = 0;
    return o;
}

static size_t dns_common(uint8_t *out, size_t cap, uint16_t id, uint16_t flags, uint16_t an,
                         const char *name, uint16_t qtype)
{
    if (cap < 12)
        return 0;
    put16(out, id);
    put16(out + 2, flags);
    put16(out + 4, 1);
    put16(out + 6, an);
    put16(out + 8, 0);
    put16(out + 10, 0);
    size_t n = dns_name(out + 12, cap - 12, name);
    if (n == 0 || 12 + n + 4 > cap)
        return 0;
    put16(out + 12 + n, qtype);
    put16(out + 12 + n + 2, 1);
    return 12 + n + 4;
}

size_t pktgen_dns_query(uint8_t *out, size_t cap, uint16_t id, const char *name, uint16_t qtype)
{
    return dns_common(out, cap, id, 0x0100 /* RD */, 0, name, qtype);
}

size_t pktgen_dns_response(uint8_t *out, size_t cap, uint16_t id, const char *name,
                           uint16_t qtype, uint8_t rcode, const struct addr *answers, size_t n,
                           uint32_t ttl)
{
    uint16_t flags = (uint16_t)(0x8180 | (rcode & 0x0f));
    size_t o = dns_common(out, cap, id, flags, (uint16_t)n, name, qtype);
    if (o == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t dl = answers[i].family == 6 ? 16 : 4;
        if (o + 12 + dl > cap)
            return 0;
        put16(out + o, 0xc00c); /* pointer to the question name */
        put16(out + o + 2, answers[i].family == 6 ? 28 : 1);
        put16(out + o + 4, 1);
        put32(out + o + 6, ttl);
        put16(out + o + 10, (uint16_t)dl);
        memcpy(out + o + 12, answers[i].b, dl);
        o += 12 + dl;
    }
    return o;
}

size_t pktgen_dhcp(uint8_t *out, size_t cap, uint8_t msg_type, uint32_t xid,
                   const uint8_t chaddr[6], const char *hostname, const char *vendor_class,
                   uint32_t requested, uint32_t yiaddr)
{
    size_t hl = hostname ? strlen(hostname) : 0, vl = vendor_class ? strlen(vendor_class) : 0;
    if (hl > 255 || vl > 255)
        return 0;
    size_t need = 240 + 3 + (hl ? 2 + hl : 0) + (vl ? 2 + vl : 0) + (requested ? 6 : 0) + 1;
    if (need < 300)
        need = 300;
    if (need > cap)
        return 0;
    memset(out, 0, need);
    bool reply = msg_type == 2 || msg_type == 5 || msg_type == 6;
    out[0] = reply ? 2 : 1; /* BOOTREPLY / BOOTREQUEST */
    out[1] = 1;
    out[2] = 6;
    put32(out + 4, xid);
    put32(out + 16, yiaddr);
    memcpy(out + 28, chaddr, 6);
    put32(out + 236, 0x63825363); /* magic cookie */
    size_t o = 240;
    out[o++] = 53;
    out[o++] = 1;
    out[o++] = msg_type;
    if (requested) {
        out[o++] = 50;
        out[o++] = 4;
        put32(out + o, requested);
        o += 4;
    }
    if (hl) {
        out[o++] = 12;
        out[o++] = (uint8_t)hl;
        memcpy(out + o, hostname, hl);
        o += hl;
    }
    if (vl) {
        out[o++] = 60;
        out[o++] = (uint8_t)vl;
        memcpy(out + o, vendor_class, vl);
        o += vl;
    }
    out[o++] = 255;
    return need;
}

size_t pktgen_tls_client_hello(uint8_t *out, size_t cap, const char *sni)
{
    size_t sl = sni ? strlen(sni) : 0;
    if (sl > 255)
        return 0;
    size_t ext_sni = sni ? 4 + 2 + 1 + 2 + sl : 0;
    size_t ext_len = ext_sni + 8; /* + supported_groups with one group */
    size_t body = 2 + 32 + 1 + 2 + 4 + 1 + 1 + 2 + ext_len;
    size_t total = 5 + 4 + body;
    if (total > cap)
        return 0;
    uint8_t *p = out;
    p[0] = 22; /* handshake */
    put16(p + 1, 0x0301);
    put16(p + 3, (uint16_t)(4 + body));
    p[5] = 1; /* ClientHello */
    p[6] = (uint8_t)(body >> 16);
    put16(p + 7, (uint16_t)body);
    size_t o = 9;
    put16(p + o, 0x0303);
    o += 2;
    for (int i = 0; i < 32; i++)
        p[o++] = (uint8_t)(i * 7 + 1);
    p[o++] = 0; /* session id */
    put16(p + o, 4);
    put16(p + o + 2, 0x1301);
    put16(p + o + 4, 0xc02f);
    o += 6;
    p[o++] = 1; /* compression methods */
    p[o++] = 0;
    put16(p + o, (uint16_t)ext_len);
    o += 2;
    if (sni) {
        put16(p + o, 0); /* server_name */
        put16(p + o + 2, (uint16_t)(2 + 1 + 2 + sl));
        put16(p + o + 4, (uint16_t)(1 + 2 + sl));
        p[o + 6] = 0; /* host_name */
        put16(p + o + 7, (uint16_t)sl);
        memcpy(p + o + 9, sni, sl);
        o += ext_sni;
    }
    put16(p + o, 10); /* supported_groups: x25519 */
    put16(p + o + 2, 4);
    put16(p + o + 4, 2);
    put16(p + o + 6, 0x001d);
    o += 8;
    return o;
}

size_t pktgen_http_request(uint8_t *out, size_t cap, const char *method, const char *uri,
                           const char *host, const char *user_agent)
{
    int n;
    if (user_agent)
        n = snprintf((char *)out, cap, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n"
                                       "Accept: */*\r\n\r\n",
                     method, uri, host, user_agent);
    else
        n = snprintf((char *)out, cap, "%s %s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n\r\n",
                     method, uri, host);
    if (n < 0 || (size_t)n >= cap)
        return 0;
    return (size_t)n;
}

/* ------------------------------------------------------------------ pcap files */

struct pktgen_pcap {
    FILE *f;          /* output stream */
    bool own;         /* close f at the end */
    bool failed;      /* a write failed */
    uint32_t snaplen; /* records are cut to this */
    uint64_t count;   /* records written */
};

static struct pktgen_pcap *pcap_start(FILE *f, bool own, uint32_t linktype, uint32_t snaplen)
{
    struct pktgen_pcap *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->f = f;
    w->own = own;
    w->snaplen = snaplen ? snaplen : 262144;
    uint8_t h[24];
    le32(h, 0xa1b2c3d4);
    h[4] = 2; /* version 2.4, little-endian like the magic */
    h[5] = 0;
    h[6] = 4;
    h[7] = 0;
    le32(h + 8, 0);
    le32(h + 12, 0);
    le32(h + 16, w->snaplen);
    le32(h + 20, linktype);
    if (fwrite(h, 1, sizeof(h), f) != sizeof(h))
        w->failed = true;
    return w;
}

struct pktgen_pcap *pktgen_pcap_open(const char *path, uint32_t linktype, uint32_t snaplen)
{
    if (strcmp(path, "-") == 0)
        return pktgen_pcap_fdopen(stdout, linktype, snaplen);
    FILE *f = fopen(path, "wb");
    if (!f)
        return NULL;
    struct pktgen_pcap *w = pcap_start(f, true, linktype, snaplen);
    if (!w) {
        fclose(f);
        errno = ENOMEM;
    }
    return w;
}

struct pktgen_pcap *pktgen_pcap_fdopen(FILE *f, uint32_t linktype, uint32_t snaplen)
{
    return pcap_start(f, false, linktype, snaplen);
}

int pktgen_pcap_write_len(struct pktgen_pcap *w, uint64_t ts_usec, const uint8_t *data,
                          size_t caplen, uint32_t wirelen)
{
    if (caplen > w->snaplen)
        caplen = w->snaplen;
    uint8_t h[16];
    le32(h, (uint32_t)(ts_usec / 1000000));
    le32(h + 4, (uint32_t)(ts_usec % 1000000));
    le32(h + 8, (uint32_t)caplen);
    le32(h + 12, wirelen);
    if (fwrite(h, 1, sizeof(h), w->f) != sizeof(h) ||
        (caplen && fwrite(data, 1, caplen, w->f) != caplen)) {
        w->failed = true;
        return -EIO;
    }
    w->count++;
    return 0;
}

int pktgen_pcap_write(struct pktgen_pcap *w, uint64_t ts_usec, const uint8_t *data, size_t len)
{
    return pktgen_pcap_write_len(w, ts_usec, data, len, (uint32_t)len);
}

uint64_t pktgen_pcap_count(const struct pktgen_pcap *w)
{
    return w->count;
}

int pktgen_pcap_close(struct pktgen_pcap *w)
{
    if (!w)
        return 0;
    bool bad = w->failed;
    if (fflush(w->f) != 0)
        bad = true;
    if (w->own && fclose(w->f) != 0)
        bad = true;
    free(w);
    return bad ? -EIO : 0;
}

/* ------------------------------------------------------------------ sessions */

/* One frame buffer for the session helpers (test code, single thread). */
static uint8_t session_buf[PKTGEN_MAX];

static int emit(struct pktgen_pcap *w, uint64_t *ts, uint64_t step, size_t n, int *count)
{
    if (n == 0)
        return -EINVAL;
    if (pktgen_pcap_write(w, *ts, session_buf, n) != 0)
        return -EIO;
    *ts += step;
    (*count)++;
    return 0;
}

int pktgen_session_tcp(struct pktgen_pcap *w, uint64_t *ts_usec, uint64_t step_usec,
                       const struct pktgen_ep *ep, const void *req, size_t req_len,
                       const void *resp, size_t resp_len)
{
    struct pktgen_ep c = *ep, s = pktgen_ep_reverse(ep);
    uint32_t cs = 1000u + ep->sport * 7u, ss = 5000u + ep->dport * 13u;
    uint8_t *b = session_buf;
    size_t cap = sizeof(session_buf);
    int n = 0, rc;
    const uint8_t *rp = resp;

    if ((rc = emit(w, ts_usec, step_usec, pktgen_tcp(b, cap, &c, PKTGEN_SYN, cs, 0, NULL, 0),
                   &n)) < 0)
        return rc;
    if ((rc = emit(w, ts_usec, step_usec,
                   pktgen_tcp(b, cap, &s, PKTGEN_SYN | PKTGEN_ACK, ss, cs + 1, NULL, 0), &n)) < 0)
        return rc;
    cs++;
    ss++;
    if ((rc = emit(w, ts_usec, step_usec, pktgen_tcp(b, cap, &c, PKTGEN_ACK, cs, ss, NULL, 0),
                   &n)) < 0)
        return rc;
    if (req_len) {
        if ((rc = emit(w, ts_usec, step_usec,
                       pktgen_tcp(b, cap, &c, PKTGEN_ACK | PKTGEN_PSH, cs, ss, req, req_len),
                       &n)) < 0)
            return rc;
        cs += (uint32_t)req_len;
        if ((rc = emit(w, ts_usec, step_usec,
                       pktgen_tcp(b, cap, &s, PKTGEN_ACK, ss, cs, NULL, 0), &n)) < 0)
            return rc;
    }
    for (size_t off = 0; off < resp_len;) {
        size_t seg = resp_len - off > 1448 ? 1448 : resp_len - off;
        if ((rc = emit(w, ts_usec, step_usec,
                       pktgen_tcp(b, cap, &s, PKTGEN_ACK | PKTGEN_PSH, ss, cs, rp + off, seg),
                       &n)) < 0)
            return rc;
        ss += (uint32_t)seg;
        off += seg;
        if ((rc = emit(w, ts_usec, step_usec,
                       pktgen_tcp(b, cap, &c, PKTGEN_ACK, cs, ss, NULL, 0), &n)) < 0)
            return rc;
    }
    if ((rc = emit(w, ts_usec, step_usec,
                   pktgen_tcp(b, cap, &c, PKTGEN_FIN | PKTGEN_ACK, cs, ss, NULL, 0), &n)) < 0)
        return rc;
    cs++;
    if ((rc = emit(w, ts_usec, step_usec,
                   pktgen_tcp(b, cap, &s, PKTGEN_FIN | PKTGEN_ACK, ss, cs, NULL, 0), &n)) < 0)
        return rc;
    ss++;
    if ((rc = emit(w, ts_usec, step_usec, pktgen_tcp(b, cap, &c, PKTGEN_ACK, cs, ss, NULL, 0),
                   &n)) < 0)
        return rc;
    return n;
}

int pktgen_session_syn_probe(struct pktgen_pcap *w, uint64_t *ts_usec, uint64_t step_usec,
                             const struct pktgen_ep *ep, bool open)
{
    struct pktgen_ep c = *ep, s = pktgen_ep_reverse(ep);
    uint32_t cs = 0x1000u + ep->dport, ss = 0x9000u + ep->sport;
    uint8_t *b = session_buf;
    size_t cap = sizeof(session_buf);
    int n = 0, rc;
    if ((rc = emit(w, ts_usec, step_usec, pktgen_tcp(b, cap, &c, PKTGEN_SYN, cs, 0, NULL, 0),
                   &n)) < 0)
        return rc;
    if (open) {
        if ((rc = emit(w, ts_usec, step_usec,
                       pktgen_tcp(b, cap, &s, PKTGEN_SYN | PKTGEN_ACK, ss, cs + 1, NULL, 0),
                       &n)) < 0)
            return rc;
        if ((rc = emit(w, ts_usec, step_usec,
                       pktgen_tcp(b, cap, &c, PKTGEN_RST, cs + 1, 0, NULL, 0), &n)) < 0)
            return rc;
    } else {
        if ((rc = emit(w, ts_usec, step_usec,
                       pktgen_tcp(b, cap, &s, PKTGEN_RST | PKTGEN_ACK, 0, cs + 1, NULL, 0),
                       &n)) < 0)
            return rc;
    }
    return n;
}

int pktgen_session_dns(struct pktgen_pcap *w, uint64_t *ts_usec, uint64_t step_usec,
                       const struct pktgen_ep *ep, uint16_t id, const char *name,
                       uint16_t qtype, uint8_t rcode, const struct addr *answers, size_t n)
{
    uint8_t msg[1500];
    struct pktgen_ep s = pktgen_ep_reverse(ep);
    int count = 0, rc;
    size_t ml = pktgen_dns_query(msg, sizeof(msg), id, name, qtype);
    if (ml == 0)
        return -EINVAL;
    if ((rc = emit(w, ts_usec, step_usec, pktgen_udp(session_buf, sizeof(session_buf), ep, msg, ml),
                   &count)) < 0)
        return rc;
    ml = pktgen_dns_response(msg, sizeof(msg), id, name, qtype, rcode, answers, n, 300);
    if (ml == 0)
        return -EINVAL;
    if ((rc = emit(w, ts_usec, step_usec, pktgen_udp(session_buf, sizeof(session_buf), &s, msg, ml),
                   &count)) < 0)
        return rc;
    return count;
}

/* ------------------------------------------------------------------ rng */

uint64_t pktgen_rng_next(struct pktgen_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint32_t pktgen_rng_below(struct pktgen_rng *r, uint32_t n)
{
    return (uint32_t)(((pktgen_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}
