/*
 * flow_table -- see flow_table.h.
 *
 * Layout, chosen for the per-packet cost: a pool of struct flow allocated once
 * (slots handed out in order the first time, so an unused pool costs no resident
 * memory), and an open-addressing index of 64-bit slots, each holding the upper
 * 32 bits of the flow's hash as a tag and the pool index + 1 (0 = empty).  The
 * index is at least twice the pool, probed linearly, and deletions shift later
 * entries back (no tombstones), so a lookup reads one or two index cache lines
 * and, when the tag matches, the flow itself.
 *
 * Open flows sit on an LRU list ordered by when they last moved to its head, which
 * a packet does at most once per FLOW_TABLE_LRU_GRAIN_USEC (a move touches two
 * other flows' memory); idle expiry walks it from the tail, so a flow may end up
 * to one grain after its idle timeout, and eviction takes the tail.  Closed flows (FIN both ways or
 * RST) and answered exchanges move to a FIFO "closing" list, still findable, and
 * end after FLOW_TABLE_CLOSED_USEC; a full table reuses those first.
 *
 * A server name longer than struct flow's short buffer goes to a slot of the name
 * store: one slot per pool slot at most, so it never runs out, handed out like
 * the pool's (in order, then from a free list), so that its resident memory
 * follows the long names that are live, not the pool size.
 */
#include "flow_table.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "hash.h"

#define NIL UINT32_MAX

#define FLOW_TABLE_LRU_GRAIN_USEC 1000000
#define INDEX_LINE 8 /* index entries per cache line (the index is page-aligned) */

enum { LIST_NONE = 0, LIST_OPEN, LIST_CLOSING };

struct flow_list {
    uint32_t head; /* newest */
    uint32_t tail; /* oldest */
};

struct flow_table {
    struct flow *pool;      /* cap flows */
    uint64_t *index;        /* nslots: tag << 32 | (pool index + 1), 0 empty */
    uint32_t mask;          /* nslots - 1 */
    uint32_t cap;           /* pool size */
    uint32_t used;          /* pool slots handed out so far */
    uint32_t free_head;     /* freed pool slots, chained through lru_next */
    char (*names)[PKT_NAME_MAX]; /* cap name slots, for names longer than FLOW_NAME_SHORT - 1 */
    uint32_t names_used;    /* name slots handed out so far */
    uint32_t names_free;    /* freed name slots, chained through their first 4 bytes */
    size_t live;            /* flows in the table */
    struct flow_list open;  /* LRU of open flows */
    struct flow_list closing; /* FIFO of closed flows */
    uint64_t idle_usec;     /* idle timeout */
    uint64_t active_usec;   /* active timeout */
    uint64_t seed;          /* hash key */
    uint64_t evictions;     /* open flows ended because the table was full */
    uint64_t created;       /* flows created */
    flow_end_fn on_end;     /* end callback */
    void *arg;              /* its argument */
};

struct flow_table *flow_table_new(size_t max_flows, uint64_t idle_usec, uint64_t active_usec,
                                  flow_end_fn on_end, void *arg)
{
    if (max_flows == 0 || max_flows > (1u << 28))
        return NULL;
    if (max_flows < 2)
        max_flows = 2;
    struct flow_table *ft = calloc(1, sizeof(*ft));
    if (!ft)
        return NULL;
    ft->cap = (uint32_t)max_flows;
    uint32_t nslots = 16;
    while (nslots < ft->cap * 2u)
        nslots <<= 1;
    ft->mask = nslots - 1;
    ft->pool = bigmem_calloc(ft->cap, sizeof(*ft->pool));
    ft->index = bigmem_calloc(nslots, sizeof(*ft->index));
    ft->names = bigmem_calloc(ft->cap, sizeof(*ft->names));
    if (!ft->pool || !ft->index || !ft->names) {
        flow_table_free(ft);
        return NULL;
    }
    ft->free_head = NIL;
    ft->names_free = NIL;
    ft->open.head = ft->open.tail = NIL;
    ft->closing.head = ft->closing.tail = NIL;
    ft->idle_usec = idle_usec ? idle_usec : FLOW_TABLE_DEFAULT_IDLE_USEC;
    ft->active_usec = active_usec ? active_usec : FLOW_TABLE_DEFAULT_ACTIVE_USEC;
    ft->seed = 0x243f6a8885a308d3ULL ^ ((uint64_t)max_flows << 17);
    ft->on_end = on_end;
    ft->arg = arg;
    return ft;
}

void flow_table_free(struct flow_table *ft)
{
    if (!ft)
        return;
    bigmem_free(ft->pool, ft->cap, sizeof(*ft->pool));
    bigmem_free(ft->index, (size_t)ft->mask + 1, sizeof(*ft->index));
    bigmem_free(ft->names, ft->cap, sizeof(*ft->names));
    free(ft);
}

/* ------------------------------------------------------------------ keys */

/* The lookup key of a packet, in the packet's own direction. */
struct pkey {
    const struct addr *src; /* packet source */
    const struct addr *dst; /* packet destination */
    uint16_t sport;         /* source port (ICMP: echo id) */
    uint16_t dport;         /* destination port (ICMP: normalised type) */
    uint8_t proto;          /* IP protocol */
    bool ports_directional; /* TCP/UDP: ports swap with direction; ICMP: they do not */
    uint16_t vlan;          /* outer VLAN */
};

static uint8_t icmp_type_norm(uint8_t proto, uint8_t type)
{
    /* A request and its reply belong to one flow. */
    if (proto == 1 && (type == 0 || type == 13 || type == 14))
        return type == 0 ? 8 : 13;
    if (proto == 58 && type == 129)
        return 128;
    return type;
}

static void pkey_make(const struct pkt *p, struct pkey *k)
{
    k->src = &p->src;
    k->dst = &p->dst;
    k->proto = p->proto;
    k->vlan = p->vlan;
    k->ports_directional = true;
    if (p->layers & (PKT_TCP | PKT_UDP)) {
        k->sport = p->sport;
        k->dport = p->dport;
    } else if (p->layers & (PKT_ICMP | PKT_ICMP6)) {
        uint8_t t = icmp_type_norm(p->proto, p->icmp.type);
        bool echo = t == 8 || t == 128 || t == 13;
        k->sport = echo ? p->icmp.id : 0;
        k->dport = t;
        k->ports_directional = false;
    } else {
        k->sport = k->dport = 0;
    }
}

/* memcmp(a, b, 16), in two big-endian word compares instead of a call. */
static int addr_bytes_cmp(const uint8_t *a, const uint8_t *b)
{
    uint64_t x, y;
    for (int i = 0; i < 16; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            x = __builtin_bswap64(x);
            y = __builtin_bswap64(y);
#endif
            return x < y ? -1 : 1;
        }
    }
    return 0;
}

/* Symmetric hash: both directions of a flow hash alike. */
static uint64_t pkey_hash(const struct flow_table *ft, const struct pkey *k)
{
    const struct addr *lo = k->src, *hi = k->dst;
    uint16_t plo = k->sport, phi = k->dport;
    int c = addr_bytes_cmp(k->src->b, k->dst->b);
    if (c > 0 || (c == 0 && k->sport > k->dport)) {
        lo = k->dst;
        hi = k->src;
        if (k->ports_directional) {
            plo = k->dport;
            phi = k->sport;
        }
    }
    uint64_t tail = (uint64_t)plo << 48 | (uint64_t)phi << 32 | (uint64_t)k->proto << 16 |
                    (uint64_t)(k->vlan & 0xfff) << 4 | (uint64_t)(lo->family & 0xf);
    uint64_t h;
    if (lo->family == 4) {
        uint32_t a, b;
        memcpy(&a, lo->b, 4);
        memcpy(&b, hi->b, 4);
        h = hash_step(ft->seed, (uint64_t)a << 32 | b);
    } else {
        h = hash_step(ft->seed, hash_word(lo->b));
        h = hash_step(h, hash_word(lo->b + 8));
        h = hash_step(h, hash_word(hi->b));
        h = hash_step(h, hash_word(hi->b + 8));
    }
    return hash_mix64(h ^ tail);
}

static bool addr_same(const struct addr *a, const struct addr *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

/* FLOW_ORIG / FLOW_RESP if f is k's flow, -1 otherwise. */
static int key_match(const struct flow *f, const struct pkey *k)
{
    const struct flow_key *fk = &f->key;
    if (fk->proto != k->proto || fk->vlan != k->vlan)
        return -1;
    if (fk->port_a == k->sport && fk->port_b == k->dport && addr_same(&fk->a, k->src) &&
        addr_same(&fk->b, k->dst))
        return FLOW_ORIG;
    uint16_t ra = k->ports_directional ? k->dport : k->sport;
    uint16_t rb = k->ports_directional ? k->sport : k->dport;
    if (fk->port_a == ra && fk->port_b == rb && addr_same(&fk->a, k->dst) &&
        addr_same(&fk->b, k->src))
        return FLOW_RESP;
    return -1;
}

/* ------------------------------------------------------------------ lists */

static struct flow_list *list_of(struct flow_table *ft, const struct flow *f)
{
    return f->list == LIST_CLOSING ? &ft->closing : &ft->open;
}

static void list_unlink(struct flow_table *ft, uint32_t i)
{
    struct flow *f = &ft->pool[i];
    struct flow_list *l = list_of(ft, f);
    if (f->lru_prev != NIL)
        ft->pool[f->lru_prev].lru_next = f->lru_next;
    else
        l->head = f->lru_next;
    if (f->lru_next != NIL)
        ft->pool[f->lru_next].lru_prev = f->lru_prev;
    else
        l->tail = f->lru_prev;
    f->list = LIST_NONE;
}

static void list_push(struct flow_table *ft, uint32_t i, int which)
{
    struct flow *f = &ft->pool[i];
    f->list = (uint8_t)which;
    struct flow_list *l = list_of(ft, f);
    f->lru_prev = NIL;
    f->lru_next = l->head;
    if (l->head != NIL)
        ft->pool[l->head].lru_prev = i;
    l->head = i;
    if (l->tail == NIL)
        l->tail = i;
}

/* ------------------------------------------------------------------ index */

static void index_remove(struct flow_table *ft, uint32_t slot)
{
    /* Backward-shift deletion keeps every entry reachable from its home slot. */
    uint32_t i = slot;
    for (;;) {
        ft->index[i] = 0;
        uint32_t j = i;
        for (;;) {
            j = (j + 1) & ft->mask;
            uint64_t e = ft->index[j];
            if (e == 0)
                return;
            uint32_t idx = (uint32_t)e - 1;
            uint32_t home = (uint32_t)ft->pool[idx].hash & ft->mask;
            /* Move e back to i if its home is not cyclically within (i, j]. */
            bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays) {
                ft->index[i] = e;
                ft->pool[idx].slot = i;
                i = j;
                break;
            }
        }
    }
}

/* ------------------------------------------------------------------ names */

/* A free name slot.  There is always one: each flow holds at most one. */
static char *name_alloc(struct flow_table *ft)
{
    uint32_t n;
    if (ft->names_free != NIL) {
        n = ft->names_free;
        memcpy(&ft->names_free, ft->names[n], sizeof(ft->names_free));
    } else {
        n = ft->names_used++;
    }
    return ft->names[n];
}

static void name_release(struct flow_table *ft, struct flow *f)
{
    if (!f->name_long)
        return;
    uint32_t n = (uint32_t)(f->name_long - ft->names[0]) / PKT_NAME_MAX;
    memcpy(ft->names[n], &ft->names_free, sizeof(ft->names_free));
    ft->names_free = n;
    f->name_long = NULL;
}

/* Keeps s as f's name unless f has one already. */
static void name_copy(struct flow_table *ft, struct flow *f, const char *s)
{
    if (flow_name(f)[0] || !s[0])
        return;
    size_t n = strnlen(s, PKT_NAME_MAX - 1);
    char *dst = f->name_short;
    if (n >= sizeof(f->name_short))
        dst = f->name_long = name_alloc(ft);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* ------------------------------------------------------------------ flows */

/* Ends flow i: callback, then unlink and free its slot. */
static void end_flow(struct flow_table *ft, uint32_t i, enum flow_end_reason why)
{
    struct flow *f = &ft->pool[i];
    if (f->end_reason == FLOW_END_NONE)
        f->end_reason = (uint8_t)why;
    if (ft->on_end)
        ft->on_end(ft->arg, f);
    name_release(ft, f);
    list_unlink(ft, i);
    index_remove(ft, f->slot);
    f->lru_next = ft->free_head;
    ft->free_head = i;
    ft->live--;
}

static enum flow_end_reason closed_reason(const struct flow *f)
{
    if (f->key.proto != 6)
        return FLOW_END_ANSWERED;
    return (f->flags[0] | f->flags[1]) & TCP_RST ? FLOW_END_RST : FLOW_END_FIN;
}

/* A free pool slot, ending a flow if the table is full. */
static uint32_t alloc_slot(struct flow_table *ft)
{
    if (ft->free_head != NIL) {
        uint32_t i = ft->free_head;
        ft->free_head = ft->pool[i].lru_next;
        return i;
    }
    if (ft->used < ft->cap)
        return ft->used++;
    if (ft->closing.tail != NIL) {
        end_flow(ft, ft->closing.tail, closed_reason(&ft->pool[ft->closing.tail]));
    } else {
        ft->evictions++;
        end_flow(ft, ft->open.tail, FLOW_END_EVICTED);
    }
    uint32_t i = ft->free_head;
    ft->free_head = ft->pool[i].lru_next;
    return i;
}

/* ------------------------------------------------------------------ classification */

static enum flow_app app_by_port(uint8_t proto, uint16_t port)
{
    switch (port) {
    case 53:
        return APP_DNS;
    case 80:
    case 8080:
    case 8000:
        return proto == 6 ? APP_HTTP : APP_UNKNOWN;
    case 443:
    case 8443:
        return proto == 6 ? APP_TLS : APP_QUIC;
    case 22:
        return APP_SSH;
    case 139:
    case 445:
        return APP_SMB;
    case 3389:
        return APP_RDP;
    case 21:
        return APP_FTP;
    case 23:
        return APP_TELNET;
    case 67:
    case 68:
        return APP_DHCP;
    case 123:
        return APP_NTP;
    case 88:
        return APP_KERBEROS;
    case 389:
    case 636:
        return APP_LDAP;
    case 1433:
        return APP_MSSQL;
    case 3306:
        return APP_MYSQL;
    case 5432:
        return APP_POSTGRES;
    case 25:
    case 587:
        return APP_SMTP;
    case 5353:
        return APP_MDNS;
    case 137:
    case 138:
        return APP_NETBIOS;
    case 1900:
        return APP_SSDP;
    default:
        return APP_UNKNOWN;
    }
}

enum flow_app flow_table_app_by_port(uint8_t proto, uint16_t sport, uint16_t dport)
{
    if (proto != 6 && proto != 17)
        return APP_UNKNOWN;
    enum flow_app app = app_by_port(proto, dport);
    if (app == APP_UNKNOWN && sport < 1024)
        app = app_by_port(proto, sport);
    return app;
}

static void classify(struct flow_table *ft, struct flow *f, const struct pkt *p)
{
    if (p->layers & PKT_TLS_HELLO) {
        f->app = APP_TLS;
        name_copy(ft, f, p->tls.sni);
    } else if (p->layers & PKT_HTTP) {
        f->app = APP_HTTP;
        name_copy(ft, f, p->http.host);
    } else if (p->layers & PKT_DNS) {
        if (f->app != APP_MDNS)
            f->app = APP_DNS;
        name_copy(ft, f, p->dns.qname);
    } else if (p->layers & PKT_DHCP) {
        f->app = APP_DHCP;
    } else if (p->layers & PKT_SMB) {
        f->app = APP_SMB;
    }
}

/* ------------------------------------------------------------------ update */

/* A UDP or ICMP flow of one request and one answer at a time (FLOW_TABLE_CLOSED_USEC). */
static bool is_exchange(const struct flow *f)
{
    switch (f->key.proto) {
    case 17:
        return f->app == APP_DNS || f->app == APP_NTP;
    case 1:
        return f->key.port_b == 8 || f->key.port_b == 13; /* echo, timestamp */
    case 58:
        return f->key.port_b == 128; /* echo */
    default:
        return false;
    }
}

/* Moves exchange i to the closing list once every request is answered, and back
 * to the open list when a new request comes. */
static void track_exchange(struct flow_table *ft, uint32_t i, uint64_t now)
{
    struct flow *f = &ft->pool[i];
    bool answered = f->pkts[FLOW_RESP] >= f->pkts[FLOW_ORIG];
    if (answered == (f->list == LIST_CLOSING))
        return;
    list_unlink(ft, i);
    if (answered) {
        f->close_usec = now;
        list_push(ft, i, LIST_CLOSING);
    } else {
        f->close_usec = 0;
        f->lru_usec = now;
        list_push(ft, i, LIST_OPEN);
    }
}

static void start_flow(struct flow *f, const struct pkey *k, const struct pkt *p)
{
    memset(f, 0, offsetof(struct flow, hash)); /* every public field but the name */
    f->name_long = NULL; /* released when the flow that held the slot ended */
    f->name_short[0] = '\0';
    f->key.a = *k->src;
    f->key.b = *k->dst;
    f->key.port_a = k->sport;
    f->key.port_b = k->dport;
    f->key.proto = k->proto;
    f->key.vlan = k->vlan;
    f->first_usec = f->last_usec = p->ts_usec;
    f->orig_ttl = p->ttl;
    f->state = FLOW_NEW;
    f->app = (uint8_t)flow_table_app_by_port(k->proto, k->sport, k->dport);
    if (p->layers & PKT_TCP) {
        uint8_t fl = p->tcp.flags;
        if ((fl & (TCP_SYN | TCP_ACK)) != TCP_SYN)
            f->midstream = true;
    }
}

/* TCP state after packet p in direction dir. */
static void tcp_track(struct flow *f, const struct pkt *p, int dir)
{
    uint8_t fl = p->tcp.flags;
    if (fl & TCP_RST) {
        f->state = FLOW_CLOSED;
        return;
    }
    switch (f->state) {
    case FLOW_NEW:
        if ((fl & (TCP_SYN | TCP_ACK)) == TCP_SYN)
            f->state = FLOW_SYN_SENT;
        else
            f->state = FLOW_ESTABLISHED; /* mid-stream pickup */
        break;
    case FLOW_SYN_SENT:
        if (dir == FLOW_RESP && (fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
            f->state = FLOW_SYN_RCVD;
        break;
    case FLOW_SYN_RCVD:
        if (dir == FLOW_ORIG && (fl & TCP_ACK) && !(fl & TCP_SYN))
            f->state = FLOW_ESTABLISHED;
        break;
    default:
        break;
    }
    if (fl & TCP_FIN) {
        if ((f->flags[0] & TCP_FIN) && (f->flags[1] & TCP_FIN))
            f->state = FLOW_CLOSED;
        else if (f->state != FLOW_CLOSED)
            f->state = FLOW_CLOSING;
    }
}

/* Inserts a new flow for k at index slot; returns its pool index. */
static uint32_t insert(struct flow_table *ft, const struct pkey *k, const struct pkt *p,
                       uint64_t h)
{
    uint32_t i = alloc_slot(ft);
    /* Ending a flow may have shifted index entries: probe again for a free slot. */
    uint32_t s = (uint32_t)h & ft->mask;
    while (ft->index[s] != 0)
        s = (s + 1) & ft->mask;
    struct flow *f = &ft->pool[i];
    start_flow(f, k, p);
    f->hash = h;
    f->slot = s;
    f->lru_usec = p->ts_usec;
    ft->index[s] = (h >> 32) << 32 | (uint64_t)(i + 1);
    list_push(ft, i, LIST_OPEN);
    ft->live++;
    ft->created++;
    return i;
}

uint64_t flow_table_hash(const struct flow_table *ft, const struct pkt *p)
{
    struct pkey k;
    if (!(p->layers & (PKT_IP4 | PKT_IP6)))
        return 0;
    pkey_make(p, &k);
    return pkey_hash(ft, &k);
}

void flow_table_prefetch_slot(const struct flow_table *ft, uint64_t hash)
{
    __builtin_prefetch(&ft->index[(uint32_t)hash & ft->mask]);
}

/*
 * The flow the index probably holds for hash: the first entry with its tag along
 * the probe sequence, looking no further than the index line that was prefetched
 * (a probe that runs on into the next line is rare and is simply not
 * prefetched).  NULL if none.
 */
static const struct flow *guess(const struct flow_table *ft, uint64_t hash)
{
    uint32_t s = (uint32_t)hash & ft->mask;
    uint32_t tag = (uint32_t)(hash >> 32);
    do {
        uint64_t e = ft->index[s];
        if (e == 0)
            return NULL;
        if ((uint32_t)(e >> 32) == tag)
            return &ft->pool[(uint32_t)e - 1];
        s = (s + 1) & ft->mask;
    } while (s % INDEX_LINE != 0);
    return NULL;
}

const struct flow *flow_table_prefetch_flow(const struct flow_table *ft, uint64_t hash)
{
    const struct flow *g = guess(ft, hash);
    if (g) {
        __builtin_prefetch(g);
        __builtin_prefetch((const char *)g + 64);
    }
    return g;
}

const struct flow *flow_table_guess(const struct flow_table *ft, uint64_t hash)
{
    return guess(ft, hash);
}

struct flow *flow_table_update(struct flow_table *ft, const struct pkt *p, int *dir)
{
    return flow_table_update_hashed(ft, p, flow_table_hash(ft, p), dir);
}

struct flow *flow_table_update_hashed(struct flow_table *ft, const struct pkt *p, uint64_t h,
                                      int *dir)
{
    if (!(p->layers & (PKT_IP4 | PKT_IP6)))
        return NULL;
    struct pkey k;
    pkey_make(p, &k);
    uint32_t tag = (uint32_t)(h >> 32);
    uint32_t s = (uint32_t)h & ft->mask;
    uint32_t i = NIL;
    int d = FLOW_ORIG;
    for (;;) {
        uint64_t e = ft->index[s];
        if (e == 0)
            break;
        if ((uint32_t)(e >> 32) == tag) {
            uint32_t idx = (uint32_t)e - 1;
            int m = key_match(&ft->pool[idx], &k);
            if (m >= 0) {
                i = idx;
                d = m;
                break;
            }
        }
        s = (s + 1) & ft->mask;
    }

    if (i != NIL) {
        struct flow *f = &ft->pool[i];
        bool restart = false;
        if (f->state == FLOW_CLOSED && (p->layers & PKT_TCP) &&
            (p->tcp.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
            end_flow(ft, i, closed_reason(f)); /* the 5-tuple is reused */
            restart = true;
        } else if (p->ts_usec >= f->first_usec + ft->active_usec) {
            end_flow(ft, i, FLOW_END_ACTIVE);
            restart = true;
        }
        if (restart) {
            i = insert(ft, &k, p, h);
            d = FLOW_ORIG;
        } else if (f->list == LIST_OPEN && p->ts_usec >= f->lru_usec + FLOW_TABLE_LRU_GRAIN_USEC &&
                   ft->open.head != i) {
            /* At most once per grain: most packets leave the list alone. */
            list_unlink(ft, i);
            list_push(ft, i, LIST_OPEN);
            f->lru_usec = p->ts_usec;
        }
    } else {
        i = insert(ft, &k, p, h);
    }

    struct flow *f = &ft->pool[i];
    if (p->ts_usec > f->last_usec)
        f->last_usec = p->ts_usec;
    f->pkts[d]++;
    f->bytes[d] += p->ip_len;
    f->payload[d] += p->payload_len;
    if (d == FLOW_RESP && f->pkts[d] == 1)
        f->resp_ttl = p->ttl;
    if (p->layers & PKT_TCP) {
        uint8_t fl = p->tcp.flags;
        f->flags[d] |= fl;
        if (d == FLOW_ORIG && (fl & (TCP_SYN | TCP_ACK)) == TCP_SYN)
            f->syn_count++;
        if (f->state != FLOW_CLOSED) {
            tcp_track(f, p, d);
            if (f->state == FLOW_CLOSED) {
                f->close_usec = p->ts_usec;
                list_unlink(ft, i);
                list_push(ft, i, LIST_CLOSING);
            }
        }
    } else {
        if (f->state == FLOW_NEW && d == FLOW_RESP)
            f->state = FLOW_ESTABLISHED;
        if (is_exchange(f))
            track_exchange(ft, i, p->ts_usec);
    }
    if (p->layers & (PKT_TLS_HELLO | PKT_HTTP | PKT_DNS | PKT_DHCP | PKT_SMB))
        classify(ft, f, p);
    *dir = d;
    return f;
}

/*
 * Flows end in bursts from a list's tail, cold: while one ends (its callback
 * reads most of it), the next one up the list is fetched whole.  Always inlined:
 * GCC takes a function that only reads and prefetches for one without effect
 * and drops its calls, prefetches and all.
 */
static inline __attribute__((always_inline)) void prefetch_next_to_end(
    const struct flow_table *ft, const struct flow *f)
{
    if (f->lru_prev == NIL)
        return;
    const char *g = (const char *)&ft->pool[f->lru_prev];
    for (size_t off = 0; off < sizeof(struct flow); off += 64)
        __builtin_prefetch(g + off);
    __builtin_prefetch(g + sizeof(struct flow) - 1);
}

void flow_table_expire(struct flow_table *ft, uint64_t now_usec)
{
    while (ft->closing.tail != NIL) {
        struct flow *f = &ft->pool[ft->closing.tail];
        if (f->close_usec + FLOW_TABLE_CLOSED_USEC > now_usec)
            break;
        prefetch_next_to_end(ft, f);
        end_flow(ft, ft->closing.tail, closed_reason(f));
    }
    while (ft->open.tail != NIL) {
        struct flow *f = &ft->pool[ft->open.tail];
        if (f->last_usec + ft->idle_usec > now_usec)
            break;
        prefetch_next_to_end(ft, f);
        end_flow(ft, ft->open.tail, FLOW_END_IDLE);
    }
}

void flow_table_flush(struct flow_table *ft)
{
    while (ft->closing.tail != NIL)
        end_flow(ft, ft->closing.tail, closed_reason(&ft->pool[ft->closing.tail]));
    while (ft->open.tail != NIL)
        end_flow(ft, ft->open.tail, FLOW_END_SHUTDOWN);
}

size_t flow_table_count(const struct flow_table *ft)
{
    return ft->live;
}

uint64_t flow_table_evictions(const struct flow_table *ft)
{
    return ft->evictions;
}

uint64_t flow_table_created(const struct flow_table *ft)
{
    return ft->created;
}

size_t flow_table_memory(const struct flow_table *ft)
{
    return sizeof(*ft) + (size_t)ft->cap * sizeof(*ft->pool) +
           ((size_t)ft->mask + 1) * sizeof(*ft->index) +
           (size_t)ft->names_used * sizeof(*ft->names);
}
