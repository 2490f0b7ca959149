/*
 * decode_tls -- the TLS ClientHello, for its server name (SNI).
 *
 * specification: RFC 8446 section 4.1.2 (ClientHello), RFC 6066 section 3 (SNI)
 *
 *   record:      | type 22 (1) | version (2) | length (2) |
 *   handshake:   | msg type 1 (1) | length (3) |
 *   ClientHello: | version (2) | random (32) | session id <0..32> (1+n)
 *                | cipher suites <2..2^16-2> (2+n) | compression <1..255> (1+n)
 *                | extensions <0..2^16-1> (2+n) |
 *   extension:   | type (2) | length (2) | data |
 *   server_name: | list length (2) | name type 0 (1) | name length (2) | name |
 *
 * Only what is in this segment is read: a ClientHello split over segments yields
 * no SNI but is not an anomaly.  Lengths that contradict their container are.
 */
#include "decode.h"

#define TLS_MAX_EXTENSIONS 128

static void copy_name(char *out, size_t cap, struct rd v)
{
    size_t o = 0;
    uint8_t c;
    while (o + 1 < cap && rd_u8(&v, &c)) {
        if (c >= 'A' && c <= 'Z')
            c = (uint8_t)(c - 'A' + 'a');
        out[o++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[o] = '\0';
}

static enum decode_rc malformed(struct pkt *p)
{
    pkt_anomaly(p, ANOM_TLS_MALFORMED);
    return DECODE_MALFORMED;
}

enum decode_rc decode_tls(struct rd *r, struct pkt *p)
{
    uint8_t type, hs_type, len_hi;
    uint16_t rec_ver, rec_len, len_lo, ver, l16;
    uint8_t l8;
    if (!rd_u8(r, &type) || !rd_be16(r, &rec_ver) || !rd_be16(r, &rec_len))
        return DECODE_TRUNCATED;
    if (type != 22 || rec_ver >> 8 != 3)
        return DECODE_UNSUPPORTED; /* not a handshake record: nothing to say */
    /* The record may continue in the next segment; read what is here. */
    struct rd rec;
    if (!rd_sub(r, WARD_MIN((size_t)rec_len, rd_left(r)), &rec))
        return DECODE_TRUNCATED;
    if (!rd_u8(&rec, &hs_type) || !rd_u8(&rec, &len_hi) || !rd_be16(&rec, &len_lo))
        return DECODE_TRUNCATED;
    if (hs_type != 1)
        return DECODE_UNSUPPORTED; /* ServerHello etc. */
    size_t hs_len = (size_t)len_hi << 16 | len_lo;
    if (hs_len < 2 + 32 + 1 + 2 + 2 + 1 + 1) /* the smallest possible ClientHello */
        return malformed(p);
    struct rd ch;
    if (!rd_sub(&rec, WARD_MIN(hs_len, rd_left(&rec)), &ch))
        return DECODE_TRUNCATED;
    p->tls.sni[0] = '\0';
    if (!rd_be16(&ch, &ver) || !rd_skip(&ch, 32))
        return DECODE_TRUNCATED;
    p->tls.version = ver;
    p->layers |= PKT_TLS_HELLO;
    if (!rd_u8(&ch, &l8))
        return DECODE_TRUNCATED;
    if (l8 > 32)
        return malformed(p);
    if (!rd_skip(&ch, l8) || !rd_be16(&ch, &l16))
        return DECODE_TRUNCATED;
    if (l16 < 2 || l16 & 1)
        return malformed(p);
    if (!rd_skip(&ch, l16) || !rd_u8(&ch, &l8))
        return DECODE_TRUNCATED;
    if (l8 < 1)
        return malformed(p);
    if (!rd_skip(&ch, l8))
        return DECODE_TRUNCATED;
    if (rd_left(&ch) == 0)
        return DECODE_OK; /* no extensions */
    struct rd exts;
    if (!rd_be16(&ch, &l16))
        return DECODE_TRUNCATED;
    if (!rd_sub(&ch, WARD_MIN((size_t)l16, rd_left(&ch)), &exts))
        return DECODE_TRUNCATED;
    for (unsigned i = 0; i < TLS_MAX_EXTENSIONS && rd_left(&exts) > 0; i++) {
        uint16_t et, el;
        struct rd ev;
        if (!rd_be16(&exts, &et) || !rd_be16(&exts, &el) || !rd_sub(&exts, el, &ev))
            return DECODE_TRUNCATED;
        if (et != 0)
            continue;
        uint16_t list_len, name_len;
        uint8_t name_type;
        struct rd list, name;
        if (!rd_be16(&ev, &list_len) || !rd_sub(&ev, list_len, &list))
            return malformed(p);
        if (!rd_u8(&list, &name_type) || !rd_be16(&list, &name_len) ||
            !rd_sub(&list, name_len, &name) || name_type != 0 || name_len == 0)
            return malformed(p);
        copy_name(p->tls.sni, sizeof(p->tls.sni), name);
        return DECODE_OK;
    }
    return DECODE_OK;
}
