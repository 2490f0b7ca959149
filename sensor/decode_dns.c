/*
 * decode_dns -- DNS messages (UDP, TCP after its length prefix, mDNS, LLMNR):
 * header, first question, and up to PKT_DNS_MAX_ANSWERS answers.
 *
 * specification: RFC 1035 (sections 4.1 and 4.1.4, compression), RFC 3596 (AAAA)
 *
 *   |      ID       |QR|Opcode|AA|TC|RD|RA| Z|AD|CD| RCODE |
 *   |    QDCOUNT    |    ANCOUNT    |    NSCOUNT    |    ARCOUNT    |
 *   question: | name | type (2) | class (2) |
 *   answer:   | name | type (2) | class (2) | ttl (4) | rdlength (2) | rdata |
 *
 *   name: labels | len (1, < 64) | bytes |... ended by 0, or a pointer
 *         | 11 offset (14 bits) | to an earlier name in the message.
 *
 * Compression pointers must point strictly before the label that holds them (so
 * a chain cannot loop), and at most DECODE_DNS_MAX_JUMPS are followed; a name has
 * at most DECODE_DNS_MAX_LABELS labels.  Either limit is ANOM_DNS_POINTER_LOOP or
 * ANOM_DNS_MALFORMED.  Answer and question loops are capped too.
 */
#include "decode.h"

#include <string.h>

#define DNS_MAX_QUESTIONS 16 /* questions walked past the first */
#define DNS_MAX_RRS 64       /* answer records walked */

static size_t put_char(char *out, size_t cap, size_t o, uint8_t c, bool *binary)
{
    static const char hex[] = "0123456789abcdef";
    if (c >= 'A' && c <= 'Z')
        c = (uint8_t)(c - 'A' + 'a');
    if (c > 0x20 && c < 0x7f && c != '\\') {
        if (o + 1 < cap)
            out[o++] = (char)c;
        return o;
    }
    *binary = true;
    if (o + 4 < cap) {
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 15];
    }
    return o;
}

enum decode_rc decode_dns_name(struct rd msg, struct rd *r, char *out, size_t cap,
                               uint8_t *labels, uint8_t *longest, bool *binary, struct pkt *p)
{
    struct rd cur = *r;
    bool jumped = false;
    unsigned jumps = 0, nlabels = 0;
    uint8_t maxlen = 0;
    bool bin = false;
    size_t o = 0;
    if (cap)
        out[0] = '\0';
    for (;;) {
        size_t label_at = rd_offset(&msg, &cur);
        uint8_t len;
        if (!rd_u8(&cur, &len))
            return decode_short(p, ANOM_DNS_MALFORMED);
        if (len == 0)
            break;
        if ((len & 0xc0) == 0xc0) {
            uint8_t lo;
            if (!rd_u8(&cur, &lo))
                return decode_short(p, ANOM_DNS_MALFORMED);
            size_t target = (size_t)(len & 0x3f) << 8 | lo;
            if (target >= label_at || ++jumps > DECODE_DNS_MAX_JUMPS) {
                pkt_anomaly(p, ANOM_DNS_POINTER_LOOP);
                return DECODE_MALFORMED;
            }
            if (!jumped) {
                *r = cur; /* the name ends after the first pointer */
                jumped = true;
            }
            if (!rd_at(msg, target, &cur)) {
                pkt_anomaly(p, ANOM_DNS_MALFORMED);
                return DECODE_MALFORMED;
            }
            continue;
        }
        if (len & 0xc0) { /* 01/10: extended label types, obsolete */
            pkt_anomaly(p, ANOM_DNS_MALFORMED);
            return DECODE_MALFORMED;
        }
        const uint8_t *bytes;
        if (++nlabels > DECODE_DNS_MAX_LABELS) {
            pkt_anomaly(p, ANOM_DNS_MALFORMED);
            return DECODE_MALFORMED;
        }
        if (!rd_bytes(&cur, len, &bytes))
            return decode_short(p, ANOM_DNS_MALFORMED);
        if (len > maxlen)
            maxlen = len;
        if (nlabels > 1 && o + 1 < cap)
            out[o++] = '.';
        struct rd lab = rd_make(bytes, len);
        uint8_t c;
        while (rd_u8(&lab, &c))
            o = put_char(out, cap, o, c, &bin);
    }
    if (!jumped)
        *r = cur;
    if (cap)
        out[o < cap ? o : cap - 1] = '\0';
    if (labels)
        *labels = (uint8_t)WARD_MIN(nlabels, 255u);
    if (longest)
        *longest = maxlen;
    if (binary)
        *binary = bin;
    return DECODE_OK;
}

enum decode_rc decode_dns(struct rd *r, struct pkt *p)
{
    struct rd msg = *r;
    struct pkt_dns *d = &p->dns;
    uint16_t id, flags, qd, an, ns, ar;
    if (!rd_be16(r, &id) || !rd_be16(r, &flags) || !rd_be16(r, &qd) || !rd_be16(r, &an) ||
        !rd_be16(r, &ns) || !rd_be16(r, &ar)) {
        return decode_short(p, ANOM_DNS_MALFORMED);
    }
    (void)ns;
    (void)ar;
    d->id = id;
    d->is_response = flags & 0x8000;
    d->opcode = (uint8_t)((flags >> 11) & 0x0f);
    d->rcode = (uint8_t)(flags & 0x0f);
    d->qdcount = qd;
    d->ancount = an;
    d->qtype = d->qclass = 0;
    d->qname[0] = '\0';
    d->qname_len = 0;
    d->qname_labels = d->longest_label = 0;
    d->qname_binary = false;
    d->n_answers = 0;
    if (qd == 0 && an == 0 && !d->is_response) {
        pkt_anomaly(p, ANOM_DNS_MALFORMED); /* a query asking nothing */
        return DECODE_MALFORMED;
    }
    for (unsigned i = 0; i < qd && i < DNS_MAX_QUESTIONS; i++) {
        char scratch[8];
        uint16_t type, class;
        enum decode_rc rc;
        if (i == 0)
            rc = decode_dns_name(msg, r, d->qname, sizeof(d->qname), &d->qname_labels,
                                 &d->longest_label, &d->qname_binary, p);
        else
            rc = decode_dns_name(msg, r, scratch, sizeof(scratch), NULL, NULL, NULL, p);
        if (rc != DECODE_OK)
            return rc;
        if (!rd_be16(r, &type) || !rd_be16(r, &class)) {
            return decode_short(p, ANOM_DNS_MALFORMED);
        }
        if (i == 0) {
            d->qtype = type;
            d->qclass = class;
            d->qname_len = (uint16_t)strlen(d->qname);
        }
    }
    /* The message is usable from here: answers are a bonus. */
    p->layers |= PKT_DNS;
    if (qd > DNS_MAX_QUESTIONS)
        return DECODE_OK;
    for (unsigned i = 0; i < an && i < DNS_MAX_RRS; i++) {
        char scratch[8];
        uint16_t type, class, rdlen;
        uint32_t ttl;
        struct rd rdata;
        enum decode_rc rc = decode_dns_name(msg, r, scratch, sizeof(scratch), NULL, NULL, NULL, p);
        if (rc != DECODE_OK)
            return rc;
        if (!rd_be16(r, &type) || !rd_be16(r, &class) || !rd_be32(r, &ttl) ||
            !rd_be16(r, &rdlen) || !rd_sub(r, rdlen, &rdata)) {
            return decode_short(p, ANOM_DNS_MALFORMED);
        }
        if (d->n_answers >= PKT_DNS_MAX_ANSWERS)
            continue;
        struct pkt_dns_answer *a = &d->answers[d->n_answers++];
        memset(a, 0, sizeof(*a));
        a->type = type;
        a->ttl = ttl;
        if (type == 1 && rdlen == 4 && rd_copy(&rdata, a->addr.b, 4))
            a->addr.family = 4;
        else if (type == 28 && rdlen == 16 && rd_copy(&rdata, a->addr.b, 16))
            a->addr.family = 6;
    }
    return DECODE_OK;
}
