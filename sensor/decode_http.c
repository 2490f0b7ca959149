/*
 * decode_http -- the HTTP/1.x request line and the Host and User-Agent headers.
 *
 * specification: RFC 9112 sections 3 (request line) and 5 (field lines)
 *
 *   request-line = method SP request-target SP HTTP-version CRLF
 *   field-line   = field-name ":" OWS field-value OWS CRLF
 *
 * Only the segment at hand is read (the gate in decode.c has already seen a known
 * method).  Header lines are walked at most HTTP_MAX_LINES times; a request line
 * without a version, or an over-long method, is an anomaly.  Values are copied
 * truncated, with control bytes replaced.
 */
#include "decode.h"

#include <string.h>
#include <strings.h>

#define HTTP_MAX_LINES 64

/* The next line (without CR LF) as a sub-reader; false if no line end is here. */
static bool next_line(struct rd *r, struct rd *line)
{
    size_t len;
    if (!rd_find(r, '\n', &len))
        return false;
    struct rd l;
    if (!rd_sub(r, len, &l) || !rd_skip(r, 1))
        return false;
    uint8_t last;
    if (len && rd_peek_u8(&l, len - 1, &last) && last == '\r') {
        struct rd whole = l;
        if (!rd_sub(&whole, len - 1, &l))
            return false;
    }
    *line = l;
    return true;
}

static void copy_value(char *out, size_t cap, struct rd v)
{
    uint8_t c;
    while (rd_peek_u8(&v, 0, &c) && (c == ' ' || c == '\t') && rd_skip(&v, 1))
        ;
    size_t o = 0;
    while (o + 1 < cap && rd_u8(&v, &c))
        out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
        o--;
    out[o] = '\0';
}

/* Reads up to the next space into out; false if there is no space. */
static bool token(struct rd *r, char *out, size_t cap)
{
    size_t n;
    struct rd t;
    if (!rd_find(r, ' ', &n) || !rd_sub(r, n, &t) || !rd_skip(r, 1))
        return false;
    copy_value(out, cap, t);
    return true;
}

static bool name_is(struct rd name, const char *want)
{
    size_t n = strlen(want);
    return rd_left(&name) == n && strncasecmp((const char *)rd_peek_ptr(&name), want, n) == 0;
}

enum decode_rc decode_http(struct rd *r, struct pkt *p)
{
    struct pkt_http *h = &p->http;
    struct rd line;
    if (!next_line(r, &line))
        return DECODE_TRUNCATED; /* a request line longer than the segment */
    h->host[0] = h->user_agent[0] = '\0';
    size_t sp;
    if (!rd_find(&line, ' ', &sp) || sp >= sizeof(h->method)) {
        pkt_anomaly(p, ANOM_HTTP_MALFORMED); /* no method, or one longer than any real one */
        return DECODE_MALFORMED;
    }
    if (!token(&line, h->method, sizeof(h->method)) || !token(&line, h->uri, sizeof(h->uri)) ||
        rd_left(&line) < 8 || memcmp(rd_peek_ptr(&line), "HTTP/", 5) != 0) {
        pkt_anomaly(p, ANOM_HTTP_MALFORMED);
        return DECODE_MALFORMED;
    }
    p->layers |= PKT_HTTP;
    for (unsigned i = 0; i < HTTP_MAX_LINES && next_line(r, &line); i++) {
        if (rd_left(&line) == 0)
            break; /* end of the header section */
        size_t colon;
        struct rd name;
        if (!rd_find(&line, ':', &colon)) {
            pkt_anomaly(p, ANOM_HTTP_MALFORMED);
            break;
        }
        if (!rd_sub(&line, colon, &name) || !rd_skip(&line, 1))
            break;
        if (name_is(name, "host"))
            copy_value(h->host, sizeof(h->host), line);
        else if (name_is(name, "user-agent"))
            copy_value(h->user_agent, sizeof(h->user_agent), line);
    }
    return DECODE_OK;
}
