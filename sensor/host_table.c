/*
 * host_table -- see host_table.h.
 *
 * Layout: a pool of struct host allocated once, a power-of-two bucket array of
 * pool indexes (chained through host.hnext), and a doubly-linked LRU list through
 * the pool (head = most recently seen).  Pool slots are handed out in order the
 * first time, so pages of an unused pool are never touched; freed slots are not
 * needed because a full table reuses its LRU tail in place.
 */
#include "host_table.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "hash.h"

#define NIL UINT32_MAX
#define HOST_ENDED_MAX 32 /* ended flows credited together, their entries prefetched first */

/* What an ended flow still owes its hosts (see host_table_flow_end). */
struct ended {
    struct addr a, b;     /* its originator and responder */
    uint32_t slot[2];     /* where they were last found */
    uint32_t pkts[2];     /* packets not yet credited, per direction */
    uint64_t bytes[2];    /* bytes not yet credited, per direction */
    uint64_t last_usec;   /* its last packet */
    bool unanswered;      /* a TCP attempt never answered: a failure of a */
};

struct host_table {
    struct host *pool;    /* cap entries */
    uint32_t *buckets;    /* nbuckets chain heads */
    uint32_t nbuckets;    /* power of two */
    uint32_t cap;         /* pool size */
    uint32_t used;        /* slots handed out (never decreases) */
    uint32_t head;        /* most recently seen */
    uint32_t tail;        /* least recently seen */
    uint64_t window_usec; /* window length */
    uint64_t seed;        /* hash key */
    uint64_t evictions;   /* hosts evicted because the pool was full */
    struct ended ended[HOST_ENDED_MAX]; /* ended flows not yet credited */
    size_t n_ended;       /* entries in ended */
};

struct host_table *host_table_new(size_t max_hosts, uint64_t window_usec)
{
    if (max_hosts == 0 || max_hosts > (1u << 28) || window_usec == 0)
        return NULL;
    if (max_hosts < 2)
        max_hosts = 2;
    struct host_table *ht = calloc(1, sizeof(*ht));
    if (!ht)
        return NULL;
    ht->cap = (uint32_t)max_hosts;
    ht->nbuckets = 1;
    while (ht->nbuckets < ht->cap * 2u)
        ht->nbuckets <<= 1;
    ht->pool = bigmem_calloc(ht->cap, sizeof(*ht->pool));
    ht->buckets = bigmem_calloc(ht->nbuckets, sizeof(*ht->buckets));
    if (!ht->pool || !ht->buckets) {
        host_table_free(ht);
        return NULL;
    }
    memset(ht->buckets, 0xff, sizeof(*ht->buckets) * ht->nbuckets);
    ht->head = ht->tail = NIL;
    ht->window_usec = window_usec;
    ht->seed = 0x5bd1e9955bd1e995ULL ^ (uint64_t)max_hosts;
    return ht;
}

void host_table_free(struct host_table *ht)
{
    if (!ht)
        return;
    bigmem_free(ht->pool, ht->cap, sizeof(*ht->pool));
    bigmem_free(ht->buckets, ht->nbuckets, sizeof(*ht->buckets));
    free(ht);
}

static uint64_t addr_hash(const struct host_table *ht, const struct addr *a)
{
    uint64_t h = hash_step(ht->seed, hash_word(a->b));
    if (a->family == 6)
        h = hash_step(h, hash_word(a->b + 8));
    return hash_mix64(h ^ a->family);
}

/* struct addr is plain data with zeroed padding: compare it whole, inline. */
static inline bool same_addr(const struct addr *a, const struct addr *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

static uint32_t find(const struct host_table *ht, const struct addr *a, uint64_t h)
{
    for (uint32_t i = ht->buckets[h & (ht->nbuckets - 1)]; i != NIL; i = ht->pool[i].hnext) {
        if (same_addr(&ht->pool[i].addr, a))
            return i;
    }
    return NIL;
}

static void lru_unlink(struct host_table *ht, uint32_t i)
{
    struct host *e = &ht->pool[i];
    if (e->lru_prev != NIL)
        ht->pool[e->lru_prev].lru_next = e->lru_next;
    else
        ht->head = e->lru_next;
    if (e->lru_next != NIL)
        ht->pool[e->lru_next].lru_prev = e->lru_prev;
    else
        ht->tail = e->lru_prev;
}

static void lru_push_head(struct host_table *ht, uint32_t i)
{
    struct host *e = &ht->pool[i];
    e->lru_prev = NIL;
    e->lru_next = ht->head;
    if (ht->head != NIL)
        ht->pool[ht->head].lru_prev = i;
    ht->head = i;
    if (ht->tail == NIL)
        ht->tail = i;
}

static void bucket_remove(struct host_table *ht, uint32_t i)
{
    uint32_t *link = &ht->buckets[addr_hash(ht, &ht->pool[i].addr) & (ht->nbuckets - 1)];
    while (*link != NIL) {
        if (*link == i) {
            *link = ht->pool[i].hnext;
            return;
        }
        link = &ht->pool[*link].hnext;
    }
}

static uint64_t window_of(const struct host_table *ht, uint64_t now)
{
    return now - now % ht->window_usec;
}

/* Rolls h's window forward to the one holding now (nothing if it is current). */
static void roll(const struct host_table *ht, struct host *h, uint64_t now)
{
    if (now < h->win_start_usec + ht->window_usec)
        return; /* the common case, without a division */
    uint64_t start = window_of(ht, now);
    if (start <= h->win_start_usec)
        return;
    uint64_t gap = (start - h->win_start_usec) / ht->window_usec; /* windows ended */
    h->prev_peers_out = gap == 1 ? host_sketch_estimate(&h->peers_out) : 0;
    h->prev_ports_out = gap == 1 ? host_sketch_estimate(&h->ports_out) : 0;
    h->prev_conn_fail = gap == 1 ? h->conn_fail : 0;
    h->prev_bytes_out = gap == 1 ? h->bytes_out : 0;
    double v = (double)h->bytes_out;
    h->bytes_out_ewma = h->windows == 0 ? v : h->bytes_out_ewma + (v - h->bytes_out_ewma) / 8.0;
    /* Silent windows in between count as zero. */
    for (uint64_t k = 1; k < gap && k < 64; k++)
        h->bytes_out_ewma -= h->bytes_out_ewma / 8.0;
    h->windows += gap > UINT32_MAX - h->windows ? 0 : (uint32_t)gap;
    memset(&h->peers_out, 0, sizeof(h->peers_out));
    memset(&h->ports_out, 0, sizeof(h->ports_out));
    memset(&h->peers_in, 0, sizeof(h->peers_in));
    h->flows_out = h->flows_in = 0;
    h->conn_ok = h->conn_fail = h->conn_fail_in = 0;
    h->pkts_out = h->pkts_in = h->bytes_out = h->bytes_in = 0;
    h->win_start_usec = start;
}

#define HOST_LRU_GRAIN_USEC 1000000 /* move to the LRU head at most once a second */
#define HOST_CREDIT_USEC 1000000    /* a flow credits its hosts at most once a second */

/* Marks entry i seen at now without moving it: exact windows and last_usec
 * (which eviction reads before taking the LRU tail). */
static struct host *settle(struct host_table *ht, uint32_t i, uint64_t now)
{
    struct host *h = &ht->pool[i];
    roll(ht, h, now);
    if (now > h->last_usec)
        h->last_usec = now;
    return h;
}

/* Marks entry i seen at now: approximate LRU, exact windows. */
static struct host *seen(struct host_table *ht, uint32_t i, uint64_t now)
{
    struct host *h = &ht->pool[i];
    if (now >= h->lru_usec + HOST_LRU_GRAIN_USEC && ht->head != i) {
        lru_unlink(ht, i);
        lru_push_head(ht, i);
        h->lru_usec = now;
    }
    return settle(ht, i, now);
}

/* Finds or creates a's entry; sets *slot to its index. */
static uint32_t find_or_add(struct host_table *ht, const struct addr *a, uint64_t now)
{
    uint64_t hv = addr_hash(ht, a);
    uint32_t i = find(ht, a, hv);
    if (i != NIL)
        return i;
    if (ht->used < ht->cap) {
        i = ht->used++;
    } else {
        /* The tail is the least recently moved; skip any that were seen since. */
        for (int k = 0; k < 8; k++) {
            uint32_t t = ht->tail;
            if (ht->pool[t].last_usec < ht->pool[t].lru_usec + HOST_LRU_GRAIN_USEC)
                break;
            lru_unlink(ht, t);
            lru_push_head(ht, t);
            ht->pool[t].lru_usec = ht->pool[t].last_usec;
        }
        i = ht->tail;
        lru_unlink(ht, i);
        bucket_remove(ht, i);
        ht->evictions++;
    }
    struct host *e = &ht->pool[i];
    memset(e, 0, sizeof(*e));
    e->addr = *a;
    e->first_usec = now;
    e->lru_usec = now;
    e->win_start_usec = window_of(ht, now);
    uint32_t b = (uint32_t)(hv & (ht->nbuckets - 1));
    e->hnext = ht->buckets[b];
    ht->buckets[b] = i;
    lru_push_head(ht, i);
    return i;
}

/* a's entry via a remembered slot when it still holds a, else by lookup. */
static struct host *touch(struct host_table *ht, const struct addr *a, uint64_t now,
                          uint32_t *hint)
{
    uint32_t i = hint ? *hint : NIL;
    if (i == NIL || i >= ht->used || !same_addr(&ht->pool[i].addr, a)) {
        i = find_or_add(ht, a, now);
        if (hint)
            *hint = i;
    }
    return seen(ht, i, now);
}

bool host_sketch_add(struct host_sketch *s, uint64_t hash)
{
    uint32_t bit = (uint32_t)(hash_mix64(hash) % HOST_SKETCH_BITS);
    uint64_t m = 1ULL << (bit % 64);
    if (s->bits[bit / 64] & m)
        return false;
    s->bits[bit / 64] |= m;
    s->set++;
    return true;
}

uint32_t host_sketch_estimate(const struct host_sketch *s)
{
    if (s->set == 0)
        return 0;
    if (s->set >= HOST_SKETCH_BITS)
        return HOST_DISTINCT_MAX;
    double m = HOST_SKETCH_BITS;
    double est = -m * log((m - s->set) / m);
    if (est >= HOST_DISTINCT_MAX)
        return HOST_DISTINCT_MAX;
    return (uint32_t)(est + 0.5);
}

uint32_t host_peers_out(const struct host *h)
{
    return host_sketch_estimate(&h->peers_out);
}

uint32_t host_ports_out(const struct host *h)
{
    return host_sketch_estimate(&h->ports_out);
}

uint32_t host_peers_in(const struct host *h)
{
    return host_sketch_estimate(&h->peers_in);
}

static uint64_t addr_key(const struct addr *a)
{
    return hash_word(a->b) ^ hash_mix64(hash_word(a->b + 8) + a->family);
}

void host_table_prefetch_flow(const struct host_table *ht, const struct flow *f,
                              uint64_t now_usec)
{
    /* Only the packets that will touch the hosts: a flow's first answer and a due credit. */
    if (!f || (f->pkts[FLOW_RESP] != 0 && now_usec < f->host_due_usec))
        return;
    for (int k = 0; k < 2; k++) {
        uint32_t i = f->host_slot[k];
        if (i < ht->used) {
            __builtin_prefetch(&ht->pool[i]);
            __builtin_prefetch(&ht->pool[i].lru_usec);
        }
    }
}

void host_table_prefetch_addr(const struct host_table *ht, const struct addr *a, int stage)
{
    const uint32_t *bucket = &ht->buckets[addr_hash(ht, a) & (ht->nbuckets - 1)];
    if (stage == 0) {
        __builtin_prefetch(bucket);
    } else if (*bucket < ht->used) {
        /* A flow's first packet writes the sketches and counters too: all of it. */
        const char *e = (const char *)&ht->pool[*bucket];
        for (size_t off = 0; off < sizeof(struct host); off += 64)
            __builtin_prefetch(e + off);
        __builtin_prefetch(e + sizeof(struct host) - 1);
    }
}

/* Packet and byte counts of f not yet credited, per direction (0: key.a sent). */
struct credit {
    uint32_t pkts[2];  /* packets */
    uint64_t bytes[2]; /* IP bytes */
};

/* What f carried since its last credit; true if anything. */
static bool credit_due(const struct flow *f, struct credit *c)
{
    for (int k = 0; k < 2; k++) {
        c->pkts[k] = (uint32_t)f->pkts[k] - f->host_pkts[k];
        c->bytes[k] = f->bytes[k] - f->host_bytes[k];
    }
    return (c->pkts[0] | c->pkts[1]) != 0;
}

/* Takes what f carried since its last credit into c. */
static void credit_take(struct flow *f, struct credit *c)
{
    credit_due(f, c);
    for (int k = 0; k < 2; k++) {
        f->host_pkts[k] = (uint32_t)f->pkts[k];
        f->host_bytes[k] = f->bytes[k];
    }
}

/* a sent c's direction 0 to b, and b direction 1 to a. */
static void credit_give(struct host *a, struct host *b, const struct credit *c)
{
    a->pkts_out += c->pkts[FLOW_ORIG];
    a->bytes_out += c->bytes[FLOW_ORIG];
    a->pkts_in += c->pkts[FLOW_RESP];
    a->bytes_in += c->bytes[FLOW_RESP];
    b->pkts_out += c->pkts[FLOW_RESP];
    b->bytes_out += c->bytes[FLOW_RESP];
    b->pkts_in += c->pkts[FLOW_ORIG];
    b->bytes_in += c->bytes[FLOW_ORIG];
}

/* A packet without a flow: both hosts at once. */
static void packet_alone(struct host_table *ht, const struct pkt *p)
{
    struct host *s = touch(ht, &p->src, p->ts_usec, NULL);
    struct host *d = touch(ht, &p->dst, p->ts_usec, NULL);
    if (s == d)
        return;
    s->pkts_out++;
    s->bytes_out += p->ip_len;
    d->pkts_in++;
    d->bytes_in += p->ip_len;
}

void host_table_packet(struct host_table *ht, const struct pkt *p, struct flow *f, int dir)
{
    if (!(p->layers & (PKT_IP4 | PKT_IP6)))
        return;
    if (ht->n_ended)
        host_table_sync(ht); /* ended flows first, as if credited when they ended */
    if (!f) {
        packet_alone(ht, p);
        return;
    }
    uint64_t now = p->ts_usec;
    bool first = f->pkts[FLOW_ORIG] + f->pkts[FLOW_RESP] == 1;
    /* The responder's first answer decides a TCP attempt. */
    bool decides = dir == FLOW_RESP && (p->layers & PKT_TCP) && f->pkts[FLOW_RESP] == 1 &&
                   !f->midstream;
    if (!first && !decides && now < f->host_due_usec)
        return; /* the common case: the flow holds the counts */
    if (first)
        f->host_slot[0] = f->host_slot[1] = NIL; /* credits start at zero with the flow */
    f->host_due_usec = now + HOST_CREDIT_USEC;
    struct host *a = touch(ht, &f->key.a, now, &f->host_slot[0]);
    struct host *b = touch(ht, &f->key.b, now, &f->host_slot[1]);
    struct credit c;
    credit_take(f, &c);
    if (a == b)
        return; /* a packet to itself says nothing about peers */
    credit_give(a, b, &c);
    struct host *s = dir == FLOW_ORIG ? a : b;
    struct host *d = dir == FLOW_ORIG ? b : a;
    if (first) {
        /* The first packet of a flow: s opened it to d. */
        s->flows_out++;
        d->flows_in++;
        host_sketch_add(&s->peers_out, addr_key(&p->dst));
        host_sketch_add(&s->ports_out, 0x9000000000000000ULL | p->dport);
        host_sketch_add(&d->peers_in, addr_key(&p->src));
        return;
    }
    if (!decides)
        return;
    uint8_t fl = p->tcp.flags;
    if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
        d->conn_ok++;
    } else if (fl & TCP_RST) {
        d->conn_fail++;
        s->conn_fail_in++;
    }
}

/* The index of a's entry, through slot when it still holds a; created if absent. */
static uint32_t index_of(struct host_table *ht, const struct addr *a, uint64_t now,
                         uint32_t slot)
{
    if (slot < ht->used && same_addr(&ht->pool[slot].addr, a))
        return slot;
    return find_or_add(ht, a, now);
}

/* Credits one ended flow (see host_table_flow_end). */
static void credit_ended(struct host_table *ht, const struct ended *e)
{
    struct host *a = NULL;
    uint64_t now = e->last_usec;
    if (e->pkts[0] | e->pkts[1]) {
        struct credit c = {{e->pkts[0], e->pkts[1]}, {e->bytes[0], e->bytes[1]}};
        uint32_t ia = index_of(ht, &e->a, now, e->slot[0]);
        uint32_t ib = index_of(ht, &e->b, now, e->slot[1]);
        /* No LRU move (two neighbours' lines for a flow already over): eviction
           gives an entry seen since its last move another round. */
        a = settle(ht, ia, now);
        struct host *b = settle(ht, ib, now);
        if (a != b)
            credit_give(a, b, &c);
    }
    if (!e->unanswered)
        return;
    if (!a) {
        uint32_t i = find(ht, &e->a, addr_hash(ht, &e->a));
        if (i == NIL)
            return;
        a = &ht->pool[i];
    }
    /* Counted in the window of the attempt's last packet, if that is still current. */
    if (window_of(ht, now) == a->win_start_usec)
        a->conn_fail++;
}

void host_table_sync(struct host_table *ht)
{
    /* Flows end in bursts (at each tick) and their hosts are cold: fetch every
       entry the burst will write first, then write them, in the order they ended. */
    for (size_t k = 0; k < ht->n_ended; k++) {
        for (int d = 0; d < 2; d++) {
            uint32_t i = ht->ended[k].slot[d];
            if (i < ht->used) {
                const char *e = (const char *)&ht->pool[i];
                for (size_t off = 0; off < sizeof(struct host); off += 64)
                    __builtin_prefetch(e + off);
            }
        }
    }
    for (size_t k = 0; k < ht->n_ended; k++)
        credit_ended(ht, &ht->ended[k]);
    ht->n_ended = 0;
}

void host_table_flow_end(struct host_table *ht, const struct flow *f)
{
    struct ended e;
    struct credit c;
    memset(&e, 0, sizeof(e));
    if (credit_due(f, &c)) {
        for (int k = 0; k < 2; k++) {
            e.pkts[k] = c.pkts[k];
            e.bytes[k] = c.bytes[k];
        }
    }
    e.unanswered = f->key.proto == 6 && !f->midstream && f->pkts[FLOW_RESP] == 0 &&
                   (f->flags[FLOW_ORIG] & TCP_SYN);
    if (!(e.pkts[0] | e.pkts[1]) && !e.unanswered)
        return;
    e.a = f->key.a;
    e.b = f->key.b;
    e.slot[0] = f->host_slot[0];
    e.slot[1] = f->host_slot[1];
    e.last_usec = f->last_usec;
    ht->ended[ht->n_ended++] = e;
    if (ht->n_ended == HOST_ENDED_MAX)
        host_table_sync(ht);
}

const struct host *host_table_peek(struct host_table *ht, const struct addr *a)
{
    host_table_sync(ht);
    uint32_t i = find(ht, a, addr_hash(ht, a));
    return i == NIL ? NULL : &ht->pool[i];
}

bool host_table_window_is_current(const struct host_table *ht, const struct host *h,
                                  uint64_t now_usec)
{
    return window_of(ht, now_usec) == h->win_start_usec;
}

int host_table_each(struct host_table *ht, host_visit_fn fn, void *arg)
{
    host_table_sync(ht);
    for (uint32_t i = ht->head; i != NIL; i = ht->pool[i].lru_next) {
        int rc = fn(arg, &ht->pool[i]);
        if (rc)
            return rc;
    }
    return 0;
}

size_t host_table_count(struct host_table *ht)
{
    host_table_sync(ht);
    return ht->used;
}

uint64_t host_table_evictions(const struct host_table *ht)
{
    return ht->evictions;
}

size_t host_table_memory(const struct host_table *ht)
{
    return sizeof(*ht) + (size_t)ht->cap * sizeof(*ht->pool) +
           (size_t)ht->nbuckets * sizeof(*ht->buckets);
}

uint64_t host_table_window_usec(const struct host_table *ht)
{
    return ht->window_usec;
}
