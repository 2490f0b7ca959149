/*
 * evring -- fixed-size ring of recent packets (see evring.h).
 *
 * Two circular arrays, both allocated by evring_new(): descriptors (time, lengths,
 * offset) and a data area.  Records are FIFO, so the data of the oldest record
 * always starts where the used part of the data area starts; a record's bytes may
 * wrap around the end, and a visitor then gets them through a scratch copy.
 */
#include "evring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rd.h"

struct evring_desc {
    uint64_t ts_usec; /* packet time */
    size_t off;       /* start of its data in the data area */
    uint32_t caplen;  /* bytes stored */
    uint32_t wirelen; /* bytes on the wire */
};

struct evring_tap_slot {
    evring_tap_fn fn; /* callback */
    void *arg;        /* its state */
};

struct evring {
    int linktype;               /* pcap LINKTYPE_* of every frame */
    uint64_t window_usec;       /* keep at most this much packet time (0: unlimited) */
    struct evring_desc *desc;   /* descriptor ring */
    size_t ndesc;               /* its capacity */
    size_t head;                /* index of the oldest descriptor */
    size_t count;               /* descriptors in use */
    uint8_t *data;              /* data ring */
    size_t dcap;                /* its size */
    size_t used;                /* data bytes held */
    size_t wpos;                /* where the next record's data goes */
    uint8_t *scratch;           /* contiguous copy of a wrapped record */
    size_t max_rec;             /* largest record stored (dcap / 4) */
    struct evring_tap_slot taps[EVRING_MAX_TAPS]; /* registered taps */
    size_t ntaps;               /* taps in use */
    struct evring_stats st;     /* counters */
};

struct evring *evring_new(size_t bytes, uint64_t window_usec, int linktype)
{
    if (bytes < EVRING_MIN_BYTES)
        return NULL;
    struct evring *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->linktype = linktype;
    r->window_usec = window_usec;
    r->ndesc = bytes / EVRING_AVG_PACKET;
    size_t desc_bytes = r->ndesc * sizeof(*r->desc);
    /* The scratch copy takes a fifth of what is left, the data area the rest. */
    size_t rest = bytes - desc_bytes;
    r->max_rec = rest / 5;
    r->dcap = rest - r->max_rec;
    r->desc = calloc(r->ndesc, sizeof(*r->desc));
    r->data = malloc(r->dcap);
    r->scratch = malloc(r->max_rec);
    if (!r->desc || !r->data || !r->scratch) {
        evring_free(r);
        return NULL;
    }
    r->st.memory = sizeof(*r) + desc_bytes + r->dcap + r->max_rec;
    return r;
}

void evring_free(struct evring *r)
{
    if (!r)
        return;
    free(r->desc);
    free(r->data);
    free(r->scratch);
    free(r);
}

int evring_linktype(const struct evring *r)
{
    return r->linktype;
}

static void drop_oldest(struct evring *r)
{
    const struct evring_desc *d = &r->desc[r->head];
    r->used -= d->caplen;
    r->head = (r->head + 1) % r->ndesc;
    r->count--;
}

void evring_add(struct evring *r, uint64_t ts_usec, const uint8_t *data, uint32_t caplen,
                uint32_t wirelen)
{
    WARD_ASSERT(r);
    if (caplen > r->max_rec) {
        caplen = (uint32_t)r->max_rec;
        r->st.truncated++;
    }
    if (r->window_usec && ts_usec > r->window_usec) {
        uint64_t oldest = ts_usec - r->window_usec;
        while (r->count && r->desc[r->head].ts_usec < oldest) {
            drop_oldest(r);
            r->st.expired++;
        }
    }
    while (r->count && (r->count == r->ndesc || r->used + caplen > r->dcap)) {
        drop_oldest(r);
        r->st.overwritten++;
    }
    if (r->count == 0) {
        r->used = 0;
        r->wpos = 0;
    }
    struct evring_desc *d = &r->desc[(r->head + r->count) % r->ndesc];
    d->ts_usec = ts_usec;
    d->off = r->wpos;
    d->caplen = caplen;
    d->wirelen = wirelen;
    size_t first = WARD_MIN((size_t)caplen, r->dcap - r->wpos);
    if (caplen) {
        memcpy(r->data + r->wpos, data, first);
        if (first < caplen)
            memcpy(r->data, data + first, caplen - first);
    }
    r->wpos = (r->wpos + caplen) % r->dcap;
    r->used += caplen;
    r->count++;
    r->st.added++;

    struct evring_rec rec = {ts_usec, caplen, wirelen, data};
    for (size_t i = 0; i < r->ntaps; i++)
        r->taps[i].fn(r->taps[i].arg, &rec);
}

int evring_tap(struct evring *r, evring_tap_fn fn, void *arg)
{
    if (r->ntaps == EVRING_MAX_TAPS)
        return -ENOSPC;
    r->taps[r->ntaps].fn = fn;
    r->taps[r->ntaps].arg = arg;
    r->ntaps++;
    return 0;
}

int evring_each(struct evring *r, uint64_t since_usec, evring_visit_fn fn, void *arg)
{
    for (size_t i = 0; i < r->count; i++) {
        const struct evring_desc *d = &r->desc[(r->head + i) % r->ndesc];
        if (d->ts_usec < since_usec)
            continue;
        struct evring_rec rec = {d->ts_usec, d->caplen, d->wirelen, r->data + d->off};
        size_t first = r->dcap - d->off;
        if (d->caplen > first) {
            memcpy(r->scratch, r->data + d->off, first);
            memcpy(r->scratch + first, r->data, d->caplen - first);
            rec.data = r->scratch;
        }
        int rc = fn(arg, &rec);
        if (rc)
            return rc;
    }
    return 0;
}

void evring_get_stats(const struct evring *r, struct evring_stats *out)
{
    *out = r->st;
    out->records = r->count;
    out->data_bytes = r->used;
}

/* ---------------------------------------------------------------- addresses */

#define ETHERTYPE_IP4 0x0800
#define ETHERTYPE_IP6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define EVRING_MAX_VLAN 4

static bool ip_addrs(struct rd *r, struct addr *src, struct addr *dst)
{
    uint8_t v;
    if (!rd_peek_u8(r, 0, &v))
        return false;
    struct addr s = {0};
    struct addr d = {0};
    if (v >> 4 == 4) {
        if (!rd_skip(r, 12) || !rd_copy(r, s.b, 4) || !rd_copy(r, d.b, 4))
            return false;
        s.family = d.family = 4;
    } else if (v >> 4 == 6) {
        if (!rd_skip(r, 8) || !rd_copy(r, s.b, 16) || !rd_copy(r, d.b, 16))
            return false;
        s.family = d.family = 6;
    } else {
        return false;
    }
    *src = s;
    *dst = d;
    return true;
}

static bool ethertype_addrs(struct rd *r, uint16_t et, struct addr *src, struct addr *dst)
{
    for (int i = 0; i < EVRING_MAX_VLAN && (et == ETHERTYPE_VLAN || et == ETHERTYPE_QINQ); i++) {
        if (!rd_skip(r, 2) || !rd_be16(r, &et))
            return false;
    }
    if (et != ETHERTYPE_IP4 && et != ETHERTYPE_IP6)
        return false;
    return ip_addrs(r, src, dst);
}

bool evring_frame_addrs(int linktype, const uint8_t *data, size_t caplen, struct addr *src,
                        struct addr *dst)
{
    struct rd r = rd_make(data, caplen);
    uint16_t et;
    src->family = 0;
    dst->family = 0;
    switch (linktype) {
    case EVRING_LINK_ETHERNET:
        if (!rd_skip(&r, 12) || !rd_be16(&r, &et))
            return false;
        return ethertype_addrs(&r, et, src, dst);
    case EVRING_LINK_LINUX_SLL:
        if (!rd_skip(&r, 14) || !rd_be16(&r, &et))
            return false;
        return ethertype_addrs(&r, et, src, dst);
    case EVRING_LINK_LINUX_SLL2:
        if (!rd_be16(&r, &et) || !rd_skip(&r, 18))
            return false;
        return ethertype_addrs(&r, et, src, dst);
    case EVRING_LINK_NULL:
        if (!rd_skip(&r, 4))
            return false;
        return ip_addrs(&r, src, dst);
    case EVRING_LINK_RAW:
    case EVRING_LINK_IPV4:
    case EVRING_LINK_IPV6:
    case 12: /* DLT_RAW on OpenBSD */
    case 14: /* DLT_RAW elsewhere */
        return ip_addrs(&r, src, dst);
    default:
        return false;
    }
}
