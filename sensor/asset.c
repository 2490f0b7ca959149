/*
 * asset -- see asset.h.
 *
 * Two fixed tables, each an array of slots, a chained hash index and an LRU list
 * (most recent first): hosts by (address, VLAN) and MACs.  The MAC table
 * remembers what DHCP clients said about themselves (host name, vendor class)
 * until their address is known, which host holds the MAC, and whether the MAC
 * sends for more than one IPv4 address or several IPv6 ones: such a MAC is a
 * router's, and the Ethernet source of a packet is then no evidence of whose
 * MAC it is.  ARP, neighbour discovery and DHCP bindings are taken as they come.
 *
 * Nothing here allocates after asset_tracker_new(); an update is built on the
 * stack from the slot and borrowed by the sink for the call.
 */
#include "asset.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bigmem.h"
#include "clock.h"
#include "hash.h"
#include "log.h"
#include "osfp.h"
#include "rd.h"

#define NIL UINT32_MAX
#define HUGE_PAGE_BYTES ((size_t)2 << 20) /* what bigmem backs by huge pages (2 MB-aligned) */
#define TICK_USEC 1000000ULL
#define GRACE_USEC (5 * 1000000ULL) /* a new host or MAC waits this long before its first update */
#define MAC_V6_TRACK 4 /* distinct IPv6 sources per MAC before it counts as a router */

enum mac_src {
    MAC_NONE = 0, /* no MAC known */
    MAC_WEAK = 1, /* Ethernet source of its packets */
    MAC_AUTH = 2, /* ARP, ND or DHCP binding */
};

enum name_src { NAME_NONE = 0, NAME_MDNS = 1, NAME_NETBIOS = 2, NAME_DHCP = 3 };

static const char *const name_src_str[] = {"", "mdns", "netbios", "dhcp"};

struct svc {
    uint16_t port;   /* port */
    uint8_t proto;   /* 6 or 17 */
    const char *app; /* static name or NULL */
};

struct host {
    /* Hot, one cache line: what the lookup reads and what every packet writes. */
    _Alignas(64) uint64_t last_usec; /* last seen */
    struct addr ip;        /* key: address */
    uint16_t vlan;         /* key: VLAN */
    bool used;             /* slot in use */
    uint8_t ttl;           /* TTL of its latest packet */
    uint32_t lru_tick;     /* LRU grain in which it last moved to the head */
    uint32_t ver;          /* version: new whenever learning from a packet again could differ */
    bool dirty;            /* changed since the last update */
    bool announced;        /* an update has been sent */
    uint8_t mac_src;       /* enum mac_src */
    uint8_t name_src;      /* enum name_src */
    uint8_t os_rank;       /* enum osfp_rank of os; OSFP_NONE exactly when os is NULL */
    uint8_t n_svc;         /* services in use */
    bool foreign;          /* outside home (bound by the link layer) */
    uint8_t svc_unnamed;   /* services in use without an application name */
    uint32_t mac_slot;     /* MAC slot that held mac when it was set (a hint), NIL if none */
    uint8_t mac[6];        /* MAC, valid if mac_src */
    /* Cold: changed when something about the host is learnt. */
    uint8_t n_tls;         /* TLS names in use */
    uint8_t n_ua;          /* user agents in use */
    const char *os;        /* family (static) or NULL */
    uint64_t first_usec;   /* first seen */
    uint64_t emit_usec;    /* packet time of the last update */
    uint64_t emit_last;    /* last_usec as of the last update */
    char hostname[PKT_SHORT_MAX];     /* host name */
    char vendor_class[PKT_SHORT_MAX]; /* DHCP option 60 */
};

/*
 * A host's lists, in an array of their own beside the hosts (same slot), valid
 * below its n_svc, n_tls and n_ua (not cleared on reuse).  Ten times the size of
 * the rest of the entry and read only when a service, name or agent is learnt
 * or sent: apart, the entries are four lines each and dense.
 */
struct host_lists {
    struct svc svc[ASSET_MAX_SERVICES];             /* services offered */
    char tls[ASSET_MAX_NAMES][ASSET_NAME_MAX];      /* TLS server names it asked for */
    char ua[ASSET_MAX_NAMES][ASSET_NAME_MAX];       /* HTTP user agents it sent */
};

struct mac_ent {
    /* Hot, one cache line: what the lookup reads and what every packet writes. */
    _Alignas(64) uint64_t last_usec; /* last seen */
    uint8_t mac[6];        /* key */
    bool used;             /* slot in use */
    bool device;           /* a DHCP client or ARP probe: a device even without an address */
    bool dirty;            /* changed since its MAC-only update */
    bool announced;        /* a MAC-only update has been sent */
    bool multi_v4;         /* sends for more than one IPv4 address */
    bool multi_v6;         /* sends for more than MAC_V6_TRACK IPv6 addresses */
    uint8_t n_v6;          /* IPv6 sources tracked */
    bool named;            /* hostname or vendor_class is set */
    uint32_t host;         /* host slot holding this MAC, NIL if none */
    uint32_t lru_tick;     /* LRU grain in which it last moved to the head */
    uint32_t ver;          /* version: new whenever learning from a packet again could differ */
    uint32_t v4_pkts[2];   /* packet counts of v4[] */
    /* Cold. */
    struct addr v4[2];     /* the two most frequent inside IPv4 sources (space-saving) */
    uint64_t first_usec;   /* first seen */
    struct addr v6[MAC_V6_TRACK]; /* IPv6 sources (not link-local) */
    char hostname[PKT_SHORT_MAX];     /* from DHCP */
    char vendor_class[PKT_SHORT_MAX]; /* from DHCP */
};

/*
 * Where a slot sits in its table's hash chain and LRU list, kept apart from the
 * entries (16 bytes a slot, a few hundred KB for both tables), so that walking a
 * chain past other keys, unhashing an evicted entry and LRU moves touch these
 * small arrays instead of other entries' cache lines.
 */
struct link {
    uint32_t hash;         /* full hash of the slot's key */
    uint32_t hnext;        /* hash chain */
    uint32_t prev, next;   /* LRU list, most recent first */
};

_Static_assert(offsetof(struct host, n_tls) <= 64, "struct host: hot part in one cache line");
_Static_assert(sizeof(struct host) == 256, "struct host: four lines, a power of two apart");
_Static_assert(offsetof(struct mac_ent, v4) <= 64, "struct mac_ent: hot part in one cache line");

struct asset_tracker {
    struct asset_opts o;          /* settings */
    const struct cidr_set *home;  /* inside addresses (borrowed), NULL/empty: private */
    const struct oui_db *oui;     /* vendors (borrowed) */
    struct oui_db *oui_owned;     /* loaded by asset_tracker_open() */
    struct cidr_set home_owned;   /* parsed by asset_tracker_open() */
    const struct sink *out;       /* where updates go */
    unsigned char *block;         /* every array below, one mapping (see asset_tracker_new()) */
    size_t block_len;             /* its length */
    struct host *hosts;           /* host slots */
    struct host_lists *lists;     /* their lists */
    struct link *hl;              /* their chain and LRU links */
    uint32_t *hidx;               /* host hash heads */
    uint32_t hmask;               /* host hash size - 1 */
    uint32_t h_head, h_tail;      /* host LRU: most recent first */
    uint32_t h_used;              /* host slots handed out (in order; never freed) */
    struct mac_ent *macs;         /* MAC slots */
    struct link *ml;              /* their chain and LRU links */
    uint32_t *midx;               /* MAC hash heads */
    uint32_t mmask;               /* MAC hash size - 1 */
    uint32_t m_head, m_tail;      /* MAC LRU */
    uint32_t m_used;              /* MAC slots handed out (in order; never freed) */
    uint64_t now_usec;            /* packet time of the latest packet */
    uint64_t next_tick_usec;      /* when to tick next */
    uint32_t foreign_gen;         /* bumped whenever a host outside home is created */
    uint32_t n_foreign;           /* hosts outside home in the table */
    uint32_t last_mac;            /* MAC slot of the latest lookup by Ethernet source */
    uint32_t macs_waiting;        /* MACs of devices not yet announced (the tick's MAC walk) */
    uint32_t ver_seq;             /* last version handed to a host or MAC entry */
    uint64_t next_due_usec;       /* no host is due for an update before this packet time */
    struct asset_stats st;        /* counters */
};

/* ------------------------------------------------------------------ names */

const char *asset_port_app(uint8_t proto, uint16_t port)
{
    /* By port, then protocol: a binary search (every SYN-ACK and UDP answer asks). */
    static const struct {
        uint16_t port;
        uint8_t proto;
        const char *app;
    } ports[] = {
        {20, 6, "ftp-data"},  {21, 6, "ftp"},         {22, 6, "ssh"},          {23, 6, "telnet"},
        {25, 6, "smtp"},      {53, 6, "dns"},         {53, 17, "dns"},         {67, 17, "dhcp"},
        {68, 17, "dhcp"},     {69, 17, "tftp"},       {80, 6, "http"},         {88, 6, "kerberos"},
        {88, 17, "kerberos"}, {104, 6, "dicom"},      {110, 6, "pop3"},        {123, 17, "ntp"},
        {135, 6, "msrpc"},    {137, 17, "netbios-ns"}, {138, 17, "netbios-dgm"},
        {139, 6, "netbios-ssn"}, {143, 6, "imap"},    {161, 17, "snmp"},       {389, 6, "ldap"},
        {389, 17, "ldap"},    {443, 6, "https"},      {443, 17, "quic"},       {445, 6, "smb"},
        {465, 6, "smtps"},    {500, 17, "isakmp"},    {514, 17, "syslog"},     {587, 6, "smtp"},
        {631, 6, "ipp"},      {636, 6, "ldaps"},      {993, 6, "imaps"},       {995, 6, "pop3s"},
        {1433, 6, "mssql"},   {1521, 6, "oracle"},    {1812, 17, "radius"},    {1900, 17, "ssdp"},
        {2575, 6, "hl7"},     {3268, 6, "ldap-gc"},   {3306, 6, "mysql"},      {3389, 6, "rdp"},
        {3702, 17, "ws-discovery"}, {5060, 6, "sip"}, {5060, 17, "sip"},      {5353, 17, "mdns"},
        {5355, 17, "llmnr"},  {5432, 6, "postgres"},  {5900, 6, "vnc"},        {5985, 6, "winrm"},
        {8080, 6, "http-alt"}, {8443, 6, "https-alt"}, {9100, 6, "jetdirect"},
        {11112, 6, "dicom"},
    };
    uint32_t key = (uint32_t)port << 8 | proto;
    size_t lo = 0, hi = WARD_ARRAY_LEN(ports);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint32_t k = (uint32_t)ports[mid].port << 8 | ports[mid].proto;
        if (k == key)
            return ports[mid].app;
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *asset_flow_app(uint8_t app)
{
    static const char *const names[APP_COUNT] = {
        [APP_DNS] = "dns",       [APP_HTTP] = "http",     [APP_TLS] = "tls",
        [APP_SSH] = "ssh",       [APP_SMB] = "smb",       [APP_RDP] = "rdp",
        [APP_FTP] = "ftp",       [APP_TELNET] = "telnet", [APP_DHCP] = "dhcp",
        [APP_NTP] = "ntp",       [APP_KERBEROS] = "kerberos", [APP_LDAP] = "ldap",
        [APP_MSSQL] = "mssql",   [APP_MYSQL] = "mysql",   [APP_POSTGRES] = "postgres",
        [APP_SMTP] = "smtp",     [APP_QUIC] = "quic",     [APP_MDNS] = "mdns",
        [APP_NETBIOS] = "netbios", [APP_SSDP] = "ssdp",
    };
    return app < APP_COUNT ? names[app] : NULL;
}

/* ------------------------------------------------------------------ options */

int asset_opts_read(struct config *cfg, struct asset_opts *o)
{
    uint64_t hosts, macs;

    memset(o, 0, sizeof(*o));
    o->enabled = true;
    o->max_hosts = ASSET_DEFAULT_HOSTS;
    o->interval_usec = ASSET_DEFAULT_INTERVAL_USEC;
    o->refresh_usec = ASSET_DEFAULT_REFRESH_USEC;
    if (!cfg) {
        o->max_macs = 2 * o->max_hosts;
        return 0;
    }
    if (config_get_bool(cfg, "assets", "enabled", true, &o->enabled) < 0 ||
        config_get_u64(cfg, "assets", "max_hosts", ASSET_DEFAULT_HOSTS, &hosts) < 0 ||
        config_get_u64(cfg, "assets", "max_macs", 0, &macs) < 0 ||
        config_get_duration(cfg, "assets", "update_interval", ASSET_DEFAULT_INTERVAL_USEC,
                            &o->interval_usec) < 0 ||
        config_get_duration(cfg, "assets", "refresh", ASSET_DEFAULT_REFRESH_USEC,
                            &o->refresh_usec) < 0)
        return -EINVAL;
    if (hosts < 1 || hosts > 1000000)
        return config_fail(cfg, "assets", "max_hosts", "max_hosts must be 1..1000000");
    if (macs > 2000000)
        return config_fail(cfg, "assets", "max_macs", "max_macs must be at most 2000000");
    o->max_hosts = (size_t)hosts;
    o->max_macs = macs ? (size_t)macs : 2 * o->max_hosts;
    o->oui_dir = config_get_str(cfg, "assets", "oui_dir", NULL);
    return 0;
}

/* ------------------------------------------------------------------ tables */

/* memcmp(a, b, 6) == 0 without the call: the per-packet paths compare a few
 * MACs each, and the call costs more than the compare. */
static inline bool mac_eq(const uint8_t a[6], const uint8_t b[6])
{
    uint32_t a0, b0;
    uint16_t a1, b1;
    memcpy(&a0, a, 4);
    memcpy(&b0, b, 4);
    memcpy(&a1, a + 4, 2);
    memcpy(&b1, b + 4, 2);
    return ((a0 ^ b0) | (uint32_t)(a1 ^ b1)) == 0;
}

static uint32_t host_hash(const struct addr *a, uint16_t vlan)
{
    uint64_t h = hash_step((uint64_t)a->family << 16 | vlan, hash_word(a->b));
    return (uint32_t)hash_mix64(h ^ hash_word(a->b + 8));
}

static uint32_t mac_hash(const uint8_t mac[6])
{
    uint64_t w = 0;
    memcpy(&w, mac, 6);
    return (uint32_t)hash_mix64(w ^ 0x6a09e667f3bcc908ULL);
}

/* n rounded up to whole cache lines. */
static size_t line_up(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

static uint32_t pow2_at_least(size_t n)
{
    uint32_t s = 16;
    while (s < n && s < (1u << 30))
        s <<= 1;
    return s;
}

/* LRU helpers over any slot array with prev/next fields. */
#define LRU_UNLINK(arr, head, tail, i)                                                       \
    do {                                                                                     \
        uint32_t p_ = (arr)[i].prev, n_ = (arr)[i].next;                                     \
        if (p_ != NIL)                                                                       \
            (arr)[p_].next = n_;                                                             \
        else                                                                                 \
            (head) = n_;                                                                     \
        if (n_ != NIL)                                                                       \
            (arr)[n_].prev = p_;                                                             \
        else                                                                                 \
            (tail) = p_;                                                                     \
    } while (0)

#define LRU_PUSH(arr, head, tail, i)                                                         \
    do {                                                                                     \
        (arr)[i].prev = NIL;                                                                 \
        (arr)[i].next = (head);                                                              \
        if ((head) != NIL)                                                                   \
            (arr)[head].prev = (i);                                                          \
        (head) = (i);                                                                        \
        if ((tail) == NIL)                                                                   \
            (tail) = (i);                                                                    \
    } while (0)

/*
 * The LRU lists are ordered by the grain (about a second of packet time) in
 * which each entry was last seen: an entry moves to the head on its first touch
 * in a grain and stays put for the rest of it.  A move touches two neighbours'
 * cache lines, and most packets of a busy host would make one; the tail is still
 * the entry seen longest ago, to the grain, so busy hosts are never evicted.
 */
#define LRU_GRAIN_SHIFT 20 /* 2^20 usec */

static uint32_t lru_tick_of(uint64_t usec)
{
    return (uint32_t)(usec >> LRU_GRAIN_SHIFT);
}

/*
 * Versions: an entry gets a new one (from one counter, so never a version it had
 * before) whenever it changes in a way that could make learning again from a
 * packet it has already learnt from do something.  A flow remembers the versions
 * its source's entries had (asset_ver), and while they are unchanged the next
 * packets of the same kind need only bring the last-seen time and counts up to
 * date (see memo_apply()).
 */
static void host_bump(struct asset_tracker *t, struct host *h)
{
    h->ver = ++t->ver_seq;
}

static void mac_bump(struct asset_tracker *t, struct mac_ent *m)
{
    m->ver = ++t->ver_seq;
}

/* Marks h changed, and lowers the bound on when the next update can be due. */
static void host_dirty(struct asset_tracker *t, struct host *h)
{
    h->dirty = true;
    uint64_t due = h->announced ? h->emit_usec + t->o.interval_usec
                                : h->first_usec + WARD_MIN(GRACE_USEC, t->o.interval_usec);
    if (due < t->next_due_usec)
        t->next_due_usec = due;
}

/* Moves host slot i to the LRU head in grain tick (its first sighting in it).
 * Out of line: once a grain per entry, and it would weigh on every caller. */
__attribute__((noinline)) static void host_regrain(struct asset_tracker *t, uint32_t i, uint32_t tick)
{
    t->hosts[i].lru_tick = tick;
    if (t->hosts[i].announced && t->now_usec >= t->hosts[i].emit_usec + t->o.refresh_usec &&
        t->now_usec < t->next_due_usec)
        t->next_due_usec = t->now_usec; /* may be due for a refresh: see emit_due() */
    if (t->h_head == i)
        return;
    LRU_UNLINK(t->hl, t->h_head, t->h_tail, i);
    LRU_PUSH(t->hl, t->h_head, t->h_tail, i);
}

/* Marks host slot i seen now: to the LRU head once per grain. */
static inline void host_touch(struct asset_tracker *t, uint32_t i)
{
    uint32_t tick = lru_tick_of(t->now_usec);
    if (t->hosts[i].lru_tick != tick)
        host_regrain(t, i, tick);
}

/* The same for MAC slot i. */
__attribute__((noinline)) static void mac_regrain(struct asset_tracker *t, uint32_t i, uint32_t tick)
{
    t->macs[i].lru_tick = tick;
    if (t->m_head == i)
        return;
    LRU_UNLINK(t->ml, t->m_head, t->m_tail, i);
    LRU_PUSH(t->ml, t->m_head, t->m_tail, i);
}

/* The same for MAC slot i, and brings its last_usec up to date. */
static inline void mac_touch(struct asset_tracker *t, uint32_t i)
{
    uint32_t tick = lru_tick_of(t->now_usec);
    t->macs[i].last_usec = t->now_usec;
    if (t->macs[i].lru_tick != tick)
        mac_regrain(t, i, tick);
}

/* The host of (a, vlan), whose host_hash() is hh, or NULL. */
static struct host *host_find(struct asset_tracker *t, const struct addr *a, uint16_t vlan,
                              uint32_t hh)
{
    for (uint32_t i = t->hidx[hh & t->hmask]; i != NIL; i = t->hl[i].hnext) {
        struct host *h = &t->hosts[i];
        if (t->hl[i].hash == hh && h->vlan == vlan && addr_eq(&h->ip, a))
            return h;
    }
    return NULL;
}

static void mac_unhold(struct asset_tracker *t, struct host *h);
static bool is_home(const struct asset_tracker *t, const struct addr *a);

static void host_unhash(struct asset_tracker *t, uint32_t i)
{
    uint32_t *pp = &t->hidx[t->hl[i].hash & t->hmask];
    while (*pp != NIL && *pp != i)
        pp = &t->hl[*pp].hnext;
    if (*pp == i)
        *pp = t->hl[i].hnext;
}

static struct host *host_get(struct asset_tracker *t, const struct addr *a, uint16_t vlan,
                             bool create)
{
    uint32_t hh = host_hash(a, vlan);
    struct host *h = host_find(t, a, vlan, hh);
    if (h) {
        host_touch(t, (uint32_t)(h - t->hosts));
        return h;
    }
    if (!create)
        return NULL;
    uint32_t i;
    if (t->h_used < t->o.max_hosts) {
        i = t->h_used++;
    } else {
        i = t->h_tail;
        WARD_ASSERT(i != NIL);
        LRU_UNLINK(t->hl, t->h_head, t->h_tail, i);
        mac_unhold(t, &t->hosts[i]);
        host_unhash(t, i);
        t->st.host_evictions++;
        t->st.hosts--;
        if (t->hosts[i].foreign)
            t->n_foreign--;
        /* The next eviction, a few packets on, may come from a flow whose host
           was evicted under it, which no lookup prefetch foresaw: what evicting
           the new tail will touch is fetched now (its entry, cleared for the
           newcomer, its hash bucket, its LRU neighbour).  Written out here: GCC
           takes a function of nothing but loads and prefetches for pure and drops
           its calls. */
        uint32_t v = t->h_tail;
        if (v != NIL) {
            const char *vh = (const char *)&t->hosts[v];
            __builtin_prefetch(vh, 1);
            __builtin_prefetch(vh + 64, 1);
            __builtin_prefetch(vh + 128, 1);
            __builtin_prefetch(vh + 192, 1);
            __builtin_prefetch(&t->hidx[t->hl[v].hash & t->hmask]);
            if (t->hl[v].prev != NIL)
                __builtin_prefetch(&t->hl[t->hl[v].prev], 1);
        }
    }
    h = &t->hosts[i];
    /* The lists are read only below their counts (in the entry): not cleared. */
    memset(h, 0, sizeof(*h));
    h->used = true;
    h->ip = *a;
    h->vlan = vlan;
    h->mac_slot = NIL;
    h->first_usec = h->last_usec = t->now_usec;
    host_bump(t, h);
    host_dirty(t, h);
    h->lru_tick = lru_tick_of(t->now_usec);
    if (!is_home(t, a)) {
        h->foreign = true;
        t->n_foreign++;
        t->foreign_gen++; /* "not an asset" cached in flows may be stale now */
    }
    t->hl[i].hash = hh;
    t->hl[i].hnext = t->hidx[t->hl[i].hash & t->hmask];
    t->hidx[t->hl[i].hash & t->hmask] = i;
    LRU_PUSH(t->hl, t->h_head, t->h_tail, i);
    t->st.hosts++;
    return h;
}

/* Looks a MAC up without touching its recency. */
static struct mac_ent *mac_find(struct asset_tracker *t, const uint8_t mac[6])
{
    uint32_t mh = mac_hash(mac);
    for (uint32_t i = t->midx[mh & t->mmask]; i != NIL; i = t->ml[i].hnext) {
        if (t->ml[i].hash == mh && mac_eq(t->macs[i].mac, mac))
            return &t->macs[i];
    }
    return NULL;
}

static struct mac_ent *mac_get(struct asset_tracker *t, const uint8_t mac[6], bool create)
{
    uint32_t mh = mac_hash(mac);
    for (uint32_t i = t->midx[mh & t->mmask]; i != NIL; i = t->ml[i].hnext) {
        if (t->ml[i].hash == mh && mac_eq(t->macs[i].mac, mac)) {
            mac_touch(t, i);
            return &t->macs[i];
        }
    }
    if (!create)
        return NULL;
    uint32_t i;
    if (t->m_used < t->o.max_macs) {
        i = t->m_used++;
    } else {
        i = t->m_tail;
        WARD_ASSERT(i != NIL);
        LRU_UNLINK(t->ml, t->m_head, t->m_tail, i);
        struct mac_ent *old = &t->macs[i];
        if (old->device && !old->announced)
            t->macs_waiting--;
        uint32_t *pp = &t->midx[t->ml[i].hash & t->mmask];
        while (*pp != NIL && *pp != i)
            pp = &t->ml[*pp].hnext;
        if (*pp == i)
            *pp = t->ml[i].hnext;
        t->st.mac_evictions++;
        t->st.macs--;
    }
    struct mac_ent *m = &t->macs[i];
    memset(m, 0, sizeof(*m));
    m->used = true;
    memcpy(m->mac, mac, 6);
    m->host = NIL;
    m->first_usec = m->last_usec = t->now_usec;
    mac_bump(t, m);
    m->lru_tick = lru_tick_of(t->now_usec);
    t->ml[i].hash = mh;
    t->ml[i].hnext = t->midx[mh & t->mmask];
    t->midx[mh & t->mmask] = i;
    LRU_PUSH(t->ml, t->m_head, t->m_tail, i);
    t->st.macs++;
    return m;
}

/* The entry of h's MAC (h->mac_src set), or NULL: the slot h remembers while
 * it still holds that MAC, else looked up.  Touches nothing. */
static struct mac_ent *mac_of_host(struct asset_tracker *t, const struct host *h)
{
    if (h->mac_slot < t->o.max_macs) {
        struct mac_ent *m = &t->macs[h->mac_slot];
        if (m->used && mac_eq(m->mac, h->mac))
            return m;
    }
    return mac_find(t, h->mac);
}

/* Marks m a device (DHCP client, ARP probe). */
static void mac_set_device(struct asset_tracker *t, struct mac_ent *m)
{
    if (!m->device && !m->announced)
        t->macs_waiting++;
    m->device = true;
}

/*
 * The MAC entry whose `host` points at h no longer does.  No new version: the
 * next host seen from that MAC takes it, and a memo that stands for such a
 * packet does that itself (MEMO_CLAIM).
 */
static void mac_unhold(struct asset_tracker *t, struct host *h)
{
    if (h->mac_src == MAC_NONE)
        return;
    struct mac_ent *m = mac_of_host(t, h);
    if (m && m->host == (uint32_t)(h - t->hosts))
        m->host = NIL;
}

struct asset_tracker *asset_tracker_new(const struct asset_opts *o, const struct cidr_set *home,
                                        const struct oui_db *oui, const struct sink *out)
{
    struct asset_tracker *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->o = *o;
    if (t->o.max_hosts == 0)
        t->o.max_hosts = 1;
    if (t->o.max_macs == 0)
        t->o.max_macs = 2 * t->o.max_hosts;
    t->home = home;
    t->oui = oui;
    t->out = out;
    cidr_set_init(&t->home_owned);
    uint32_t hsize = pow2_at_least(2 * t->o.max_hosts);
    uint32_t msize = pow2_at_least(2 * t->o.max_macs);
    t->hmask = hsize - 1;
    t->mmask = msize - 1;
    /*
     * Every array in one mapping, the large, seldom read lists first: bigmem
     * backs a block by huge pages between its 2 MB boundaries, and 2 MB of slack
     * at the end (never touched, so never resident) keeps the arrays every packet
     * reads, after the lists, between them, where a lookup costs no TLB miss.
     * (Apart, the 1 MB of host entries and the MAC table would be too small.)
     */
    size_t nh = t->o.max_hosts, nm = t->o.max_macs;
    size_t at_hosts = line_up(nh * sizeof(*t->lists));
    size_t at_macs = at_hosts + line_up(nh * sizeof(*t->hosts));
    size_t at_hl = at_macs + line_up(nm * sizeof(*t->macs));
    size_t at_ml = at_hl + line_up(nh * sizeof(*t->hl));
    size_t at_hidx = at_ml + line_up(nm * sizeof(*t->ml));
    size_t at_midx = at_hidx + line_up(hsize * sizeof(*t->hidx));
    t->block_len = at_midx + line_up(msize * sizeof(*t->midx)) + HUGE_PAGE_BYTES;
    t->block = bigmem_calloc(1, t->block_len);
    if (!t->block) {
        asset_tracker_free(t);
        return NULL;
    }
    t->lists = (struct host_lists *)(void *)t->block;
    t->hosts = (struct host *)(void *)(t->block + at_hosts);
    t->macs = (struct mac_ent *)(void *)(t->block + at_macs);
    t->hl = (struct link *)(void *)(t->block + at_hl);
    t->ml = (struct link *)(void *)(t->block + at_ml);
    t->hidx = (uint32_t *)(void *)(t->block + at_hidx);
    t->midx = (uint32_t *)(void *)(t->block + at_midx);
    memset(t->hidx, 0xff, hsize * sizeof(*t->hidx));
    memset(t->midx, 0xff, msize * sizeof(*t->midx));
    t->h_head = t->h_tail = t->m_head = t->m_tail = NIL;
    t->foreign_gen = 1; /* a new flow's zero never matches */
    return t;
}

int asset_tracker_open(struct config *cfg, const char *home_net_override,
                       const struct sink *out, struct asset_tracker **tracker)
{
    struct asset_opts o;
    char bad[128];
    int rc;

    *tracker = NULL;
    rc = asset_opts_read(cfg, &o);
    if (rc < 0)
        return rc;
    if (!o.enabled)
        return 0;
    const char *home = home_net_override;
    if (!home && cfg)
        home = config_get_str(cfg, "detect", "home_net", NULL);
    struct oui_db *oui = oui_new();
    if (!oui)
        return -ENOMEM;
    if (oui_load_dir(oui, o.oui_dir) < 0)
        log_warn("asset: no IEEE registry in %s: MAC vendors will be empty",
                 o.oui_dir ? o.oui_dir : OUI_DEFAULT_DIR);
    struct asset_tracker *t = asset_tracker_new(&o, NULL, oui, out);
    if (!t) {
        oui_free(oui);
        return -ENOMEM;
    }
    t->oui_owned = oui;
    if (home && home[0]) {
        rc = cidr_set_add_list(&t->home_owned, home, bad, sizeof(bad));
        if (rc < 0) {
            if (cfg && !home_net_override)
                config_fail(cfg, "detect", "home_net", "bad address or prefix '%s'", bad);
            else
                log_err("asset: bad home network '%s'", bad);
            asset_tracker_free(t);
            return rc;
        }
        t->home = &t->home_owned;
    }
    *tracker = t;
    return 0;
}

void asset_tracker_free(struct asset_tracker *t)
{
    if (!t)
        return;
    bigmem_free(t->block, 1, t->block_len);
    oui_free(t->oui_owned);
    cidr_set_fini(&t->home_owned);
    free(t);
}

void asset_tracker_stats(const struct asset_tracker *t, struct asset_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (t)
        *out = t->st;
}

size_t asset_tracker_memory(const struct asset_tracker *t)
{
    if (!t)
        return 0;
    return sizeof(*t) +
           t->o.max_hosts * (sizeof(*t->hosts) + sizeof(*t->lists) + sizeof(*t->hl)) +
           t->o.max_macs * (sizeof(*t->macs) + sizeof(*t->ml)) +
           (t->hmask + 1 + t->mmask + 1) * sizeof(uint32_t);
}

/* ------------------------------------------------------------------ learning */

static bool mac_is_unicast(const uint8_t mac[6])
{
    static const uint8_t zero[6];
    return (mac[0] & 0x01) == 0 && !mac_eq(mac, zero);
}

static bool addr_is_unspecified(const struct addr *a)
{
    uint64_t w[2];
    memcpy(w, a->b, sizeof(w));
    return a->family == 0 || (w[0] | w[1]) == 0;
}

static bool addr_is_link_local6(const struct addr *a)
{
    return a->family == 6 && a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80;
}

/* True if a can be a host's own address (not 0.0.0.0, multicast or broadcast). */
static bool addr_usable(const struct addr *a)
{
    return a->family != 0 && !addr_is_unspecified(a) && !addr_is_multicast_or_broadcast(a);
}

static bool is_home(const struct asset_tracker *t, const struct addr *a)
{
    if (t->home && t->home->count > 0)
        return cidr_set_contains(t->home, a) || addr_is_link_local6(a);
    return addr_is_private(a);
}

/* Copies a string field if it differs; true if it changed. */
static bool set_str(char *dst, size_t cap, const char *src)
{
    if (strncmp(dst, src, cap - 1) == 0)
        return false;
    snprintf(dst, cap, "%s", src);
    return true;
}

/*
 * Keeps the best guess, the first of its rank (no flapping).  A guess always
 * names a family, so os is set exactly when os_rank is not OSFP_NONE, and only
 * the hot line is read.
 */
static void set_os(struct asset_tracker *t, struct host *h, struct osfp_guess g)
{
    if (g.rank <= h->os_rank) /* OSFP_NONE too */
        return;
    h->os = g.family;
    h->os_rank = (uint8_t)g.rank;
    host_dirty(t, h);
}

static void host_set_name(struct asset_tracker *t, struct host *h, const char *name,
                          enum name_src src)
{
    if (!name[0] || src < h->name_src)
        return;
    if (set_str(h->hostname, sizeof(h->hostname), name) || h->name_src != src) {
        host_dirty(t, h);
        host_bump(t, h);
    }
    h->name_src = (uint8_t)src;
    set_os(t, h, osfp_from_hostname(name));
}

static void host_set_vendor_class(struct asset_tracker *t, struct host *h, const char *vc)
{
    if (!vc[0])
        return;
    if (set_str(h->vendor_class, sizeof(h->vendor_class), vc)) {
        host_dirty(t, h);
        host_bump(t, h);
    }
    set_os(t, h, osfp_from_dhcp(vc));
}

/*
 * Notes that mac sent a packet from address a (router detection).  Only inside
 * IPv4 addresses count: a gateway sends for the whole Internet and for its own
 * inside address, and that one address is its own.
 */
static void mac_note_source(struct asset_tracker *t, struct mac_ent *m, const struct addr *a,
                            bool home)
{
    if (a->family == 4 && home) {
        int k;
        if (m->v4[0].family == 0 || addr_eq(&m->v4[0], a)) {
            k = 0;
        } else if (m->v4[1].family == 0 || addr_eq(&m->v4[1], a)) {
            k = 1;
        } else {
            k = 1; /* a third source takes the place of the second, with its count */
        }
        if (!addr_eq(&m->v4[k], a))
            m->v4[k] = *a;
        if (m->v4_pkts[k] < UINT32_MAX)
            m->v4_pkts[k]++;
        if (m->v4_pkts[1] > m->v4_pkts[0]) {
            struct addr ta = m->v4[0];
            uint32_t tn = m->v4_pkts[0];
            m->v4[0] = m->v4[1];
            m->v4_pkts[0] = m->v4_pkts[1];
            m->v4[1] = ta;
            m->v4_pkts[1] = tn;
        }
        if (k == 1 && !m->multi_v4) {
            m->multi_v4 = true;
            mac_bump(t, m);
            if (m->host != NIL)
                host_dirty(t, &t->hosts[m->host]); /* its MAC may no longer be reported */
        }
    } else if (a->family == 6 && !addr_is_link_local6(a) && !m->multi_v6) {
        for (uint8_t i = 0; i < m->n_v6; i++) {
            if (addr_eq(&m->v6[i], a))
                return;
        }
        if (m->n_v6 < MAC_V6_TRACK) {
            m->v6[m->n_v6++] = *a;
        } else {
            m->multi_v6 = true;
            mac_bump(t, m);
            if (m->host != NIL)
                host_dirty(t, &t->hosts[m->host]);
        }
    }
}

/* Gives host h the MAC mac from evidence of strength src; known is mac's entry,
 * already touched for this packet, or NULL. */
static void host_set_mac(struct asset_tracker *t, struct host *h, const uint8_t mac[6],
                         enum mac_src src, struct mac_ent *known)
{
    if (!mac_is_unicast(mac) || src < h->mac_src)
        return;
    bool same = h->mac_src != MAC_NONE && mac_eq(h->mac, mac);
    if (!same) {
        mac_unhold(t, h);
        memcpy(h->mac, mac, 6);
        host_dirty(t, h);
    }
    if (!same || h->mac_src != src)
        host_bump(t, h);
    h->mac_src = (uint8_t)src;
    struct mac_ent *m = known ? known : mac_get(t, mac, true);
    uint32_t hi = (uint32_t)(h - t->hosts);
    h->mac_slot = (uint32_t)(m - t->macs);
    if ((src == MAC_AUTH || m->host == NIL) && m->host != hi) {
        /* Once held, the MAC is taken from a holder only by a binding: learning
           from a packet of another host seen through it could then differ. */
        if (m->host != NIL)
            mac_bump(t, m);
        m->host = hi;
    }
    if (!m->named)
        return; /* spares the cold half of the entry */
    if (m->hostname[0])
        host_set_name(t, h, m->hostname, NAME_DHCP);
    if (m->vendor_class[0])
        host_set_vendor_class(t, h, m->vendor_class);
}

/* A link-layer binding of address a to mac: the host is created even if remote. */
static void link_bind(struct asset_tracker *t, const struct addr *a, uint16_t vlan,
                 const uint8_t mac[6])
{
    if (!addr_usable(a) || !mac_is_unicast(mac))
        return;
    struct host *h = host_get(t, a, vlan, true);
    h->last_usec = t->now_usec;
    host_set_mac(t, h, mac, MAC_AUTH, NULL);
}

static void add_service(struct asset_tracker *t, struct host *h, uint8_t proto, uint16_t port,
                        const char *app)
{
    struct svc *svc = t->lists[h - t->hosts].svc;
    for (uint8_t i = 0; i < h->n_svc; i++) {
        if (svc[i].proto == proto && svc[i].port == port) {
            if (!svc[i].app && app) {
                svc[i].app = app;
                h->svc_unnamed--;
                host_dirty(t, h);
            }
            return;
        }
    }
    if (h->n_svc >= ASSET_MAX_SERVICES) {
        t->st.dropped_items++;
        return;
    }
    svc[h->n_svc].proto = proto;
    svc[h->n_svc].port = port;
    svc[h->n_svc].app = app;
    h->n_svc++;
    if (!app) {
        h->svc_unnamed++;
        host_bump(t, h); /* flows answered from that port may name it */
    }
    host_dirty(t, h);
}

/* Names the application of a service already known (recognised after the handshake). */
static void svc_set_app(struct asset_tracker *t, struct host *h, uint8_t proto, uint16_t port,
                        const char *app)
{
    /* Every response packet asks: the hot line answers "nothing to name" for most. */
    if (!h->svc_unnamed || !app)
        return;
    struct svc *svc = t->lists[h - t->hosts].svc;
    for (uint8_t i = 0; i < h->n_svc; i++) {
        if (svc[i].proto == proto && svc[i].port == port && !svc[i].app) {
            svc[i].app = app;
            h->svc_unnamed--;
            host_dirty(t, h);
        }
    }
}

/* True if cleaning name (below) gives kept, an entry of a list. */
static bool name_kept(const char *kept, const char *name)
{
    size_t k = strlen(kept); /* printable, 1..ASSET_NAME_MAX - 1 bytes */
    return strncmp(kept, name, k) == 0 && (name[k] == '\0' || k == ASSET_NAME_MAX - 1);
}

static void add_name(struct asset_tracker *t, struct host *h, char list[][ASSET_NAME_MAX],
                     uint8_t *n, const char *name)
{
    char clean[ASSET_NAME_MAX];
    size_t k = 0;

    /* Most names come again: found as they are, they need no cleaning. */
    for (uint8_t i = 0; i < *n; i++) {
        if (name_kept(list[i], name))
            return;
    }
    /* Wire text: keep printable ASCII only (decoders already escape most). */
    for (size_t i = 0; name[i] && k + 1 < sizeof(clean); i++) {
        unsigned char ch = (unsigned char)name[i];
        clean[k++] = (char)(ch >= 0x20 && ch < 0x7f ? ch : '?');
    }
    clean[k] = '\0';
    if (k == 0)
        return;
    for (uint8_t i = 0; i < *n; i++) {
        if (strcmp(list[i], clean) == 0)
            return;
    }
    if (*n >= ASSET_MAX_NAMES) {
        t->st.dropped_items++;
        return;
    }
    memcpy(list[*n], clean, k + 1);
    (*n)++;
    host_dirty(t, h);
}

/* The TLS server name and HTTP user agent p carries, into the lists of its source h. */
static void learn_names(struct asset_tracker *t, struct host *h, const struct pkt *p)
{
    struct host_lists *hl = &t->lists[h - t->hosts];
    if (pkt_has(p, PKT_TLS_HELLO) && p->tls.sni[0])
        add_name(t, h, hl->tls, &h->n_tls, p->tls.sni);
    if (pkt_has(p, PKT_HTTP) && p->http.user_agent[0])
        add_name(t, h, hl->ua, &h->n_ua, p->http.user_agent);
}

/*
 * NetBIOS name service (RFC 1002 4.2): a registration or refresh request, or a
 * positive query response, names the sender.  The name is 32 bytes of "half-
 * ASCII" after a length byte of 32; the 16th decoded byte is the suffix (0x00
 * workstation, 0x20 server).  Group names (domains) carry the G flag in NB_FLAGS.
 */
static bool netbios_name(struct rd r, const struct addr *src, char *out, size_t cap)
{
    uint16_t id, flags, qd, an, ns, ar;
    uint8_t len;
    const uint8_t *enc;
    char name[16];

    if (!rd_be16(&r, &id) || !rd_be16(&r, &flags) || !rd_be16(&r, &qd) || !rd_be16(&r, &an) ||
        !rd_be16(&r, &ns) || !rd_be16(&r, &ar))
        return false;
    unsigned opcode = (flags >> 11) & 0xf;
    bool response = (flags & 0x8000) != 0;
    unsigned rcode = flags & 0xf;
    bool registration = !response && (opcode == 5 || opcode == 8 || opcode == 9) && qd == 1 &&
                        ar == 1;
    bool answer = response && opcode == 0 && rcode == 0 && an == 1 && qd == 0;
    if (!registration && !answer)
        return false;
    if (!rd_u8(&r, &len) || len != 32 || !rd_bytes(&r, 32, &enc))
        return false;
    for (int i = 0; i < 16; i++) {
        int hi = enc[2 * i] - 'A';
        int lo = enc[2 * i + 1] - 'A';
        if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
            return false;
        name[i] = (char)(hi << 4 | lo);
    }
    uint8_t end;
    uint16_t type, class, rdlen, nbflags;
    uint32_t ttl;
    if (!rd_u8(&r, &end) || end != 0 || !rd_be16(&r, &type) || !rd_be16(&r, &class))
        return false;
    if (registration) {
        /* The additional record: a pointer (0xc00c) or the name again. */
        uint8_t b0;
        if (!rd_peek_u8(&r, 0, &b0))
            return false;
        if ((b0 & 0xc0) == 0xc0) {
            if (!rd_skip(&r, 2))
                return false;
        } else if (!rd_skip(&r, 34)) {
            return false;
        }
        if (!rd_be16(&r, &type) || !rd_be16(&r, &class))
            return false;
    }
    if (type != 0x20 || !rd_be32(&r, &ttl) || !rd_be16(&r, &rdlen) || rdlen < 6 ||
        !rd_be16(&r, &nbflags))
        return false;
    uint8_t ip[4];
    if (!rd_copy(&r, ip, 4))
        return false;
    if (nbflags & 0x8000)
        return false; /* group name */
    if (src->family != 4 || memcmp(src->b, ip, 4) != 0)
        return false; /* about someone else */
    unsigned char suffix = (unsigned char)name[15];
    if (suffix != 0x00 && suffix != 0x20)
        return false;
    int n = 15;
    while (n > 0 && name[n - 1] == ' ')
        n--;
    if (n == 0)
        return false;
    size_t k = 0;
    for (int i = 0; i < n && k + 1 < cap; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch < 0x21 || ch > 0x7e)
            return false;
        out[k++] = (char)ch;
    }
    out[k] = '\0';
    return true;
}

/*
 * Reads a DNS name (RFC 1035 4.1.4, with compression) at r inside the message msg
 * into out as dotted text.  Each pass consumes a label or follows a pointer;
 * pointers are capped, so a loop ends.  False on anything malformed.
 */
static bool dns_name(struct rd msg, struct rd *r, char *out, size_t cap)
{
    struct rd cur = *r;
    bool jumped = false;
    size_t k = 0;
    int jumps = 0;

    out[0] = '\0';
    for (int labels = 0; labels < 64; labels++) {
        uint8_t len;
        if (!rd_u8(&cur, &len))
            return false;
        if ((len & 0xc0) == 0xc0) {
            uint8_t lo;
            if (!rd_u8(&cur, &lo) || ++jumps > 16)
                return false;
            if (!jumped)
                *r = cur;
            jumped = true;
            if (!rd_at(msg, (size_t)(len & 0x3f) << 8 | lo, &cur))
                return false;
            continue;
        }
        if (len & 0xc0)
            return false;
        if (len == 0) {
            if (!jumped)
                *r = cur;
            return true;
        }
        const uint8_t *b;
        if (!rd_bytes(&cur, len, &b))
            return false;
        if (k + len + 2 > cap)
            return false;
        if (k)
            out[k++] = '.';
        for (uint8_t i = 0; i < len; i++)
            out[k++] = (char)b[i];
        out[k] = '\0';
    }
    return false;
}

/*
 * mDNS (RFC 6762): a response from the host holding an A or AAAA record for one
 * of its own addresses names it: "printer-3.local" gives "printer-3".
 */
static bool mdns_name(struct rd r, const struct addr *src, char *out, size_t cap)
{
    struct rd msg = r;
    uint16_t id, flags, qd, an, ns, ar;
    char name[256];

    if (!rd_be16(&r, &id) || !rd_be16(&r, &flags) || !rd_be16(&r, &qd) || !rd_be16(&r, &an) ||
        !rd_be16(&r, &ns) || !rd_be16(&r, &ar))
        return false;
    if (!(flags & 0x8000) || qd > 16)
        return false;
    for (uint16_t i = 0; i < qd; i++) {
        if (!dns_name(msg, &r, name, sizeof(name)) || !rd_skip(&r, 4))
            return false;
    }
    unsigned records = (unsigned)an + ns + ar;
    for (unsigned i = 0; i < records && i < 32; i++) {
        uint16_t type, class, rdlen;
        uint32_t ttl;
        struct rd data;
        if (!dns_name(msg, &r, name, sizeof(name)) || !rd_be16(&r, &type) ||
            !rd_be16(&r, &class) || !rd_be32(&r, &ttl) || !rd_be16(&r, &rdlen) ||
            !rd_sub(&r, rdlen, &data))
            return false;
        bool mine = (type == 1 && rdlen == 4 && src->family == 4 &&
                     memcmp(rd_peek_ptr(&data), src->b, 4) == 0) ||
                    (type == 28 && rdlen == 16 && src->family == 6 &&
                     memcmp(rd_peek_ptr(&data), src->b, 16) == 0);
        size_t n = strlen(name);
        if (!mine || n <= 6 || strcasecmp(name + n - 6, ".local") != 0)
            continue;
        name[n - 6] = '\0';
        if (strchr(name, '.') || n - 6 + 1 > cap)
            continue;
        bool printable = true;
        for (size_t j = 0; name[j]; j++)
            printable &= name[j] > 0x20 && name[j] < 0x7f;
        if (!printable)
            continue;
        memcpy(out, name, n - 6 + 1);
        return true;
    }
    return false;
}

static void learn_dhcp(struct asset_tracker *t, const struct pkt *p)
{
    const struct pkt_dhcp *d = &p->dhcp;
    uint8_t type = d->msg_type;

    if (type == 1 || type == 3 || type == 4 || type == 7 || type == 8) {
        if (!mac_is_unicast(d->chaddr))
            return;
        struct mac_ent *m = mac_get(t, d->chaddr, true);
        bool changed = !m->device;
        mac_set_device(t, m);
        if (d->hostname[0])
            changed |= set_str(m->hostname, sizeof(m->hostname), d->hostname);
        if (d->vendor_class[0])
            changed |= set_str(m->vendor_class, sizeof(m->vendor_class), d->vendor_class);
        m->named = m->hostname[0] || m->vendor_class[0];
        if (changed) {
            m->dirty = true;
            mac_bump(t, m);
        }
        if ((type == 3 || type == 7 || type == 8) && addr_usable(&d->ciaddr))
            link_bind(t, &d->ciaddr, p->vlan, d->chaddr);
        if (m->host != NIL) {
            struct host *h = &t->hosts[m->host];
            if (m->hostname[0])
                host_set_name(t, h, m->hostname, NAME_DHCP);
            if (m->vendor_class[0])
                host_set_vendor_class(t, h, m->vendor_class);
        }
        return;
    }
    if (type == 2 || type == 5 || type == 6) {
        if (type == 5 && addr_usable(&d->yiaddr))
            link_bind(t, &d->yiaddr, p->vlan, d->chaddr);
        if (addr_usable(&p->src)) {
            if (pkt_has(p, PKT_ETH) && d->server_id.family && addr_eq(&d->server_id, &p->src))
                link_bind(t, &p->src, p->vlan, p->src_mac);
            struct host *h = host_get(t, &p->src, p->vlan, is_home(t, &p->src) ||
                                                              d->server_id.family != 0);
            if (h)
                add_service(t, h, 17, 67, "dhcp");
        }
    }
}

static void learn_link(struct asset_tracker *t, const struct pkt *p)
{
    if (pkt_has(p, PKT_ARP)) {
        const struct pkt_arp *a = &p->arp;
        if (addr_usable(&a->spa)) {
            link_bind(t, &a->spa, p->vlan, a->sha);
        } else if (mac_is_unicast(a->sha)) {
            struct mac_ent *m = mac_get(t, a->sha, true); /* ARP probe (RFC 5227) */
            if (!m->device)
                m->dirty = true;
            mac_set_device(t, m);
        }
    }
    if (pkt_has(p, PKT_ND) && p->nd.has_lladdr) {
        if (p->nd.type == 136)
            link_bind(t, &p->nd.target, p->vlan, p->nd.lladdr);
        else if (p->nd.type >= 133 && p->nd.type <= 135)
            link_bind(t, &p->src, p->vlan, p->nd.lladdr);
    }
    if (pkt_has(p, PKT_DHCP))
        learn_dhcp(t, p);
}

static bool mac_is_router(const struct mac_ent *m, const struct addr *a)
{
    return a->family == 4 ? m->multi_v4 : m->multi_v6;
}

/*
 * True if mac, seen as the Ethernet source of h's packets, is worse evidence than
 * the MAC h has: a router's MAC does not replace a MAC that sends only for h
 * (a capture point that sees both the host's own frames and routed copies).
 */
static bool weak_mac_worse(struct asset_tracker *t, const struct host *h, const uint8_t mac[6])
{
    if (h->mac_src != MAC_WEAK || mac_eq(h->mac, mac))
        return false;
    const struct mac_ent *now = mac_find(t, mac);
    const struct mac_ent *had = mac_of_host(t, h);
    return now && had && mac_is_router(now, &h->ip) && !mac_is_router(had, &h->ip);
}

static const char *service_app(const struct pkt *p, const struct flow *f)
{
    const char *app = asset_port_app(p->proto, p->sport);
    if (!app && f && f->app != APP_UNKNOWN)
        app = asset_flow_app(f->app);
    return app;
}

/*
 * The MAC entry of the Ethernet source of p, touched: the one f remembers for
 * this direction when it still holds that MAC, else the last one looked up or
 * the one the source's host h (may be NULL) remembers when either holds it,
 * else looked up; remembered in f.
 */
static struct mac_ent *src_mac_ent(struct asset_tracker *t, const struct pkt *p, struct flow *f,
                                   int dir, const struct host *h)
{
    if (f) {
        uint32_t i = f->asset_mac[dir];
        if (i != 0 && i <= t->o.max_macs) {
            struct mac_ent *m = &t->macs[i - 1];
            if (m->used && mac_eq(m->mac, p->src_mac)) {
                mac_touch(t, i - 1);
                return m;
            }
        }
    }
    struct mac_ent *m = &t->macs[t->last_mac]; /* a gateway's MAC comes again and again */
    if (m->used && mac_eq(m->mac, p->src_mac)) {
        mac_touch(t, t->last_mac);
    } else if (h && h->mac_src != MAC_NONE && h->mac_slot < t->o.max_macs &&
               t->macs[h->mac_slot].used &&
               mac_eq(t->macs[h->mac_slot].mac, p->src_mac)) {
        m = &t->macs[h->mac_slot]; /* a host's own MAC, on its next flow */
        mac_touch(t, h->mac_slot);
    } else {
        m = mac_get(t, p->src_mac, true);
    }
    t->last_mac = (uint32_t)(m - t->macs);
    if (f)
        f->asset_mac[dir] = t->last_mac + 1;
    return m;
}

#define HOST_NONE UINT32_MAX /* flow->asset_host[]: the source is not an asset */

/*
 * The host of the source of p (created if it is inside), touched, or NULL: the
 * slot f remembers for this direction when it still holds that host, or its
 * remembered "not an asset" while no host outside home has been created since.
 */
static struct host *src_host(struct asset_tracker *t, const struct pkt *p, struct flow *f,
                             int dir, bool home)
{
    if (f) {
        uint32_t i = f->asset_host[dir];
        if (i == HOST_NONE && f->asset_gen == t->foreign_gen)
            return NULL;
        if (i != 0 && i <= t->o.max_hosts) {
            struct host *h = &t->hosts[i - 1];
            if (h->used && h->vlan == p->vlan && addr_eq(&h->ip, &p->src)) {
                host_touch(t, i - 1);
                return h;
            }
        }
    }
    /* Outside home only link-layer bindings make hosts: none, nothing to find. */
    struct host *h = home || t->n_foreign ? host_get(t, &p->src, p->vlan, home) : NULL;
    if (f) {
        if (h) {
            f->asset_host[dir] = (uint32_t)(h - t->hosts) + 1;
        } else {
            f->asset_host[dir] = HOST_NONE;
            f->asset_gen = t->foreign_gen;
        }
    }
    return h;
}

void asset_tracker_prefetch_flow(const struct asset_tracker *t, const struct pkt *p,
                                 const struct flow *f)
{
    (void)p;
    if (!t || !f)
        return;
    /* Both sides' entries: telling which side p comes from would read the flow's
       key, a line that may still be on its way, and the other side's entries are
       most often a remote host (none) and the gateway's MAC (cached anyway). */
    size_t h0 = f->asset_host[FLOW_ORIG] - 1u, h1 = f->asset_host[FLOW_RESP] - 1u;
    size_t m0 = f->asset_mac[FLOW_ORIG] - 1u, m1 = f->asset_mac[FLOW_RESP] - 1u;
    if (h0 < t->o.max_hosts)
        __builtin_prefetch(&t->hosts[h0]);
    if (h1 < t->o.max_hosts)
        __builtin_prefetch(&t->hosts[h1]);
    if (m0 < t->o.max_macs)
        __builtin_prefetch(&t->macs[m0]);
    if (m1 < t->o.max_macs)
        __builtin_prefetch(&t->macs[m1]);
}

void asset_tracker_prefetch_lookup(const struct asset_tracker *t, const struct pkt *p, int stage)
{
    if (!t || !(p->layers & (PKT_IP4 | PKT_IP6)))
        return;
    const uint32_t *hb = NULL, *mb = NULL;
    if (is_home(t, &p->src) || t->n_foreign)
        hb = &t->hidx[host_hash(&p->src, p->vlan) & t->hmask];
    if ((p->layers & PKT_ETH) && !mac_eq(t->macs[t->last_mac].mac, p->src_mac))
        mb = &t->midx[mac_hash(p->src_mac) & t->mmask];
    /* A full host table evicts its LRU tail for a source it does not hold. */
    uint32_t v = hb && t->h_used == t->o.max_hosts ? t->h_tail : NIL;
    if (stage == 0) {
        if (hb)
            __builtin_prefetch(hb);
        if (mb)
            __builtin_prefetch(mb);
        if (v != NIL) {
            __builtin_prefetch(&t->hosts[v]);
            __builtin_prefetch(&t->hl[v]);
        }
        return;
    }
    if (hb && *hb < t->o.max_hosts) {
        __builtin_prefetch(&t->hl[*hb]);
        __builtin_prefetch(&t->hosts[*hb]);
    }
    if (mb && *mb < t->o.max_macs) {
        __builtin_prefetch(&t->ml[*mb]);
        __builtin_prefetch(&t->macs[*mb]);
    }
    if (v != NIL) {
        const struct host *h = &t->hosts[v];
        __builtin_prefetch(&t->hidx[t->hl[v].hash & t->hmask]);
        if (t->hl[v].prev != NIL)
            __builtin_prefetch(&t->hl[t->hl[v].prev]);
        if (h->mac_src != MAC_NONE && h->mac_slot < t->o.max_macs)
            __builtin_prefetch(&t->macs[h->mac_slot]);
        for (size_t off = 64; off < sizeof(*h); off += 64)
            __builtin_prefetch((const char *)h + off, 1);
    }
}

/* What learn_ip() found out about the source of a packet, for memo_make(). */
struct learnt {
    struct host *h;     /* its host, or NULL (not an asset) */
    struct mac_ent *m;  /* the entry of its Ethernet unicast source MAC, or NULL */
    bool home;          /* it is inside */
    bool ttl_ok;        /* its TTL says something about its OS (set if h is) */
};

/* Learns from the IP source of p; false if there is none to learn from (*l unset). */
static bool learn_ip(struct asset_tracker *t, const struct pkt *p, struct flow *f, int dir,
                     struct learnt *l)
{
    if (!pkt_has(p, PKT_IP4) && !pkt_has(p, PKT_IP6))
        return false;
    if (!addr_usable(&p->src))
        return false;
    bool eth = pkt_has(p, PKT_ETH) && mac_is_unicast(p->src_mac);
    l->home = is_home(t, &p->src);
    /* The host first: the MAC it remembers usually spares the MAC lookup.  The
       two tables' recency and evictions are independent of each other. */
    struct host *h = src_host(t, p, f, dir, l->home);
    struct mac_ent *sm = NULL;
    if (eth) {
        sm = src_mac_ent(t, p, f, dir, h);
        mac_note_source(t, sm, &p->src, l->home);
    }
    l->h = h;
    l->m = sm;
    if (!h)
        return true;
    /* Multicast and link-scope traffic (mDNS, SSDP, LLMNR, ND) is sent with fixed
       TTLs (1, 4, 255) whatever the OS: no guess from those. */
    bool ttl_ok = p->proto != 58 && p->ttl > 4 && !addr_is_multicast_or_broadcast(&p->dst);
    l->ttl_ok = ttl_ok;
    h->last_usec = t->now_usec;
    h->ttl = p->ttl;
    if (eth && h->mac_src <= MAC_WEAK && !weak_mac_worse(t, h, p->src_mac))
        host_set_mac(t, h, p->src_mac, MAC_WEAK, sm);

    if (pkt_has(p, PKT_TCP)) {
        uint8_t fl = p->tcp.flags;
        if ((fl & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
            add_service(t, h, 6, p->sport, service_app(p, f));
            set_os(t, h, osfp_from_syn(p->ttl, &p->tcp));
        } else if (fl & TCP_SYN) {
            set_os(t, h, osfp_from_syn(p->ttl, &p->tcp));
        } else if (ttl_ok) {
            set_os(t, h, osfp_from_ttl(p->ttl));
        }
        /* The application may be recognised after the handshake. */
        if (f && dir == FLOW_RESP && f->app != APP_UNKNOWN)
            svc_set_app(t, h, 6, p->sport, asset_flow_app(f->app));
    } else if (pkt_has(p, PKT_UDP)) {
        bool answer = false;
        if (f && f->key.proto == 17)
            answer = dir == FLOW_RESP;
        else
            answer = asset_port_app(17, p->sport) && p->dport >= 1024;
        if (pkt_has(p, PKT_DNS) && p->dns.is_response && p->sport != p->dport)
            answer = true;
        if (!answer && !f && p->sport == 5353 && pkt_has(p, PKT_DNS) && p->dns.is_response)
            answer = true;
        if (answer && p->sport != 0)
            add_service(t, h, 17, p->sport, service_app(p, f));
        if (ttl_ok)
            set_os(t, h, osfp_from_ttl(p->ttl));
        if (p->sport == 5353) {
            char name[PKT_SHORT_MAX];
            if (mdns_name(p->payload, &p->src, name, sizeof(name)))
                host_set_name(t, h, name, NAME_MDNS);
        }
        if (p->sport == 137 || p->dport == 137) {
            char name[PKT_SHORT_MAX];
            if (netbios_name(p->payload, &p->src, name, sizeof(name)))
                host_set_name(t, h, name, NAME_NETBIOS);
        }
    } else if (ttl_ok) {
        set_os(t, h, osfp_from_ttl(p->ttl));
    }
    if (p->layers & (PKT_TLS_HELLO | PKT_HTTP))
        learn_names(t, h, p);
    return true;
}

/*
 * Per-flow memo.  Once a packet of a flow has been learnt from in full, the next
 * packets from the same side, of the same kind, with the same TTL and source MAC,
 * while the flow's application and the versions of the source's host and MAC
 * entries are unchanged, would find nothing new: learning from them again only
 * brings the last-seen times, the TTL, the MAC's packet count and the LRU
 * grains up to date, and that is all memo_apply() does.  A memo is made only
 * from a packet that took that same path, and not when the outcome of learning
 * again depends on more than those two entries: a host seen through a MAC it
 * does not hold (router evidence, weak_mac_worse()), a MAC already sending for
 * several inside addresses (the space-saving counts order them), a per-host
 * list that was full.
 */

/* Layers read by learning that a memo does not stand for.  (A TLS server name or
   an HTTP user agent goes to the lists, which learning reads nowhere else: a
   memo stands for the rest of such a packet, see memo_apply().) */
#define MEMO_NEVER (PKT_ARP | PKT_ND | PKT_DHCP | PKT_DNS)

/*
 * What a memo holds.  The Ethernet and transport bits are the packet's own layer
 * bits, so that one compare of p->layers tells whether p is of the memo's kind.
 */
enum memo_how {
    MEMO_ETH = PKT_ETH,   /* from an Ethernet unicast source: the MAC in asset_mac[] */
    MEMO_ON = 0x02,       /* a memo is held */
    MEMO_COUNT = 0x04,    /* ... counted for its inside IPv4 source */
    MEMO_HOST = 0x08,     /* the source is the host in asset_host[] */
    MEMO_CLAIM = 0x10,    /* ... and it has the MAC by MAC_WEAK: takes the MAC if no host holds it */
    MEMO_TCP = PKT_TCP,   /* a TCP packet */
    MEMO_UDP = PKT_UDP,   /* a UDP packet */
};

#define MEMO_LAYERS (MEMO_ETH | MEMO_TCP | MEMO_UDP) /* the layer bits of a memo */
/* The layers a packet must have exactly as its memo says (MEMO_NEVER: none). */
#define MEMO_LOOK (MEMO_NEVER | MEMO_LAYERS)

_Static_assert(MEMO_LAYERS <= UINT8_MAX && ((MEMO_ON | MEMO_COUNT | MEMO_HOST | MEMO_CLAIM) & MEMO_LAYERS) == 0,
               "memo bits: the layer bits fit in asset_how and the others are not among them");

/* UDP ports whose payload is read for names: never through a memo. */
static bool memo_udp_named(const struct pkt *p)
{
    return p->sport == 5353 || p->sport == 137 || p->dport == 137;
}

/* True if set_os(h, g) would change h. */
static bool os_would_change(const struct host *h, struct osfp_guess g)
{
    return g.rank > h->os_rank;
}

/*
 * After p has been learnt from in full: the memo of f for dir.  Learning from a
 * packet of any kind does all that learning from one of the memo's kind (same
 * layers, no MEMO_NEVER layer, no SYN, no named UDP port) would, and more,
 * except that a SYN or SYN-ACK guesses the OS from its shape instead of its TTL:
 * after one, a memo is made only if the TTL's guess would change nothing.
 */
static void memo_make(struct asset_tracker *t, const struct pkt *p, struct flow *f, int dir,
                      const struct learnt *l)
{
    uint8_t how = MEMO_ON | (uint8_t)(p->layers & (MEMO_TCP | MEMO_UDP));
    uint32_t ver = 0;
    struct mac_ent *m = l->m;
    struct host *h = l->h;

    /* learn_ip() left f pointing at both entries (no later lookup in it evicts). */
    f->asset_how[dir] = 0;
    if (pkt_has(p, PKT_ETH)) {
        /* A multicast or zero source MAC is no MAC: no memo, so that a packet's
           Ethernet layer alone says it is of the memo's kind. */
        if (!m)
            return;
        how |= MEMO_ETH;
        ver += m->ver;
        if (p->src.family == 4 && l->home) {
            if (m->multi_v4)
                return;
            how |= MEMO_COUNT;
        }
    }
    if (h) {
        if (m && h->mac_src == MAC_WEAK && !mac_eq(h->mac, p->src_mac))
            return;
        if ((p->layers & PKT_TCP) && (p->tcp.flags & TCP_SYN) && l->ttl_ok &&
            os_would_change(h, osfp_from_ttl(p->ttl)))
            return;
        how |= MEMO_HOST;
        if (m && h->mac_src == MAC_WEAK)
            how |= MEMO_CLAIM; /* learning gives it the MAC by host_set_mac() */
        ver += h->ver;
    } else if (f->asset_gen != t->foreign_gen) {
        return; /* not so: learn_ip() has just checked */
    }
    f->asset_ver[dir] = ver;
    f->asset_ttl[dir] = p->ttl;
    f->asset_app[dir] = f->app;
    f->asset_how[dir] = how;
}

/*
 * Learns from p through the memo of f for dir, if it holds; false if it does not.
 * Two out of three packets come this way: a few compares, the versions of the
 * entries the memo names, and the stores learning would make.
 */
static inline bool memo_apply(struct asset_tracker *t, const struct pkt *p, struct flow *f,
                              int dir)
{
    uint8_t how = f->asset_how[dir];
    if (!how || p->ttl != f->asset_ttl[dir] || f->app != f->asset_app[dir] ||
        (p->layers & MEMO_LOOK) != (how & MEMO_LAYERS))
        return false;
    if ((how & MEMO_TCP) ? (p->tcp.flags & TCP_SYN) != 0 : (how & MEMO_UDP) && memo_udp_named(p))
        return false;
    uint32_t ver = 0, mi = f->asset_mac[dir] - 1, hi = f->asset_host[dir] - 1;
    struct mac_ent *m = NULL;
    struct host *h = NULL;
    if (how & MEMO_ETH) {
        m = &t->macs[mi];
        if (!mac_eq(m->mac, p->src_mac))
            return false;
        ver += m->ver;
    }
    if (how & MEMO_HOST) {
        h = &t->hosts[hi];
        ver += h->ver;
    } else if (f->asset_gen != t->foreign_gen) {
        return false;
    }
    if (ver != f->asset_ver[dir])
        return false;
    /* What mac_touch() and host_touch() do, with the time read once (the
       stores below could alias it). */
    uint64_t now = t->now_usec;
    uint32_t tick = lru_tick_of(now);
    uint8_t ttl = p->ttl;
    if (m) {
        m->last_usec = now;
        if (m->lru_tick != tick)
            mac_regrain(t, mi, tick);
        if ((how & MEMO_COUNT) && m->v4_pkts[0] < UINT32_MAX)
            m->v4_pkts[0]++;
        if ((how & MEMO_CLAIM) && m->host == NIL)
            m->host = hi; /* its holder was evicted (mac_unhold()) */
    }
    if (h) {
        if (h->lru_tick != tick)
            host_regrain(t, hi, tick);
        h->last_usec = now;
        h->ttl = ttl;
        if (p->layers & (PKT_TLS_HELLO | PKT_HTTP))
            learn_names(t, h, p); /* as learning would, last */
    }
    t->st.memo_hits++;
    return true;
}

/* Learns from p in full (no memo, or it does not hold), and makes f's memo. */
__attribute__((noinline)) static void learn_packet(struct asset_tracker *t, const struct pkt *p,
                                                   struct flow *f, int dir)
{
    uint64_t dropped = t->st.dropped_items;
    struct learnt l;
    learn_link(t, p);
    bool ip = learn_ip(t, p, f, dir, &l);
    if (!f || t->st.dropped_items != dropped || ((p->layers & PKT_UDP) && memo_udp_named(p)))
        return;
    if (ip)
        memo_make(t, p, f, dir, &l);
    else
        f->asset_how[dir] = 0;
}

/* ------------------------------------------------------------------ updates */

static void format_mac(const uint8_t mac[6], char *out, size_t cap)
{
    snprintf(out, cap, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

/* True if the MAC of h may be reported: bound by the link layer, or not a router's. */
static bool host_mac_ok(struct asset_tracker *t, const struct host *h)
{
    if (h->mac_src == MAC_AUTH)
        return true;
    if (h->mac_src != MAC_WEAK)
        return false;
    if (addr_is_link_local6(&h->ip))
        return true;
    const struct mac_ent *m = mac_of_host(t, h);
    if (!m)
        return true;
    if (m->host != NIL && m->host != (uint32_t)(h - t->hosts) &&
        t->hosts[m->host].mac_src == MAC_AUTH)
        return false; /* another address owns it by ARP/DHCP: we are behind a router */
    if (h->ip.family != 4)
        return !m->multi_v6;
    /* A MAC sending for several inside addresses is still one host's when that host
       sends nearly all of it (a DNS proxy answering now and then for the gateway). */
    return !m->multi_v4 ||
           (addr_eq(&m->v4[0], &h->ip) && m->v4_pkts[0] >= 4 * (uint64_t)m->v4_pkts[1]);
}

static void send_update(struct asset_tracker *t, Ward__AssetUpdate *u)
{
    Ward__Message m;
    ward__message__init(&m);
    m.created_usec = clock_now_usec();
    m.kind_case = WARD__MESSAGE__KIND_ASSET;
    m.asset = u;
    if (sink_send(t->out, &m) < 0)
        t->st.send_errors++;
    else
        t->st.updates++;
}

static void emit_host(struct asset_tracker *t, struct host *h)
{
    struct host_lists *hl = &t->lists[h - t->hosts];
    Ward__AssetUpdate u;
    Ward__Service svc[ASSET_MAX_SERVICES];
    Ward__Service *svcp[ASSET_MAX_SERVICES];
    char *tls[ASSET_MAX_NAMES];
    char *ua[ASSET_MAX_NAMES];
    char ip[ADDR_STR_LEN];
    char mac[18] = "";
    char vendor[OUI_NAME_MAX] = "";
    char empty[1] = "";

    ward__asset_update__init(&u);
    addr_format(&h->ip, ip, sizeof(ip));
    u.ip = ip;
    if (host_mac_ok(t, h)) {
        format_mac(h->mac, mac, sizeof(mac));
        const char *v = oui_lookup(t->oui, h->mac);
        if (v)
            snprintf(vendor, sizeof(vendor), "%s", v);
    }
    u.mac = mac;
    u.vendor = vendor;
    u.hostname = h->hostname;
    u.hostname_source = (char *)(uintptr_t)name_src_str[h->name_src];
    for (uint8_t i = 0; i < h->n_svc; i++) {
        ward__service__init(&svc[i]);
        svc[i].proto = hl->svc[i].proto;
        svc[i].port = hl->svc[i].port;
        svc[i].app = hl->svc[i].app ? (char *)(uintptr_t)hl->svc[i].app : empty;
        svcp[i] = &svc[i];
    }
    u.n_services = h->n_svc;
    u.services = svcp;
    u.os_guess = (char *)(uintptr_t)(h->os ? h->os : "unknown");
    u.ttl = h->ttl;
    for (uint8_t i = 0; i < h->n_tls; i++)
        tls[i] = hl->tls[i];
    u.n_tls_names = h->n_tls;
    u.tls_names = tls;
    for (uint8_t i = 0; i < h->n_ua; i++)
        ua[i] = hl->ua[i];
    u.n_user_agents = h->n_ua;
    u.user_agents = ua;
    u.first_usec = h->first_usec;
    u.last_usec = h->last_usec;
    u.vlan = h->vlan;
    u.dhcp_vendor_class = h->vendor_class;
    u.is_new = !h->announced;
    send_update(t, &u);
    h->announced = true;
    h->dirty = false;
    h->emit_usec = t->now_usec;
    h->emit_last = h->last_usec;
}

static void emit_mac(struct asset_tracker *t, struct mac_ent *m)
{
    Ward__AssetUpdate u;
    char mac[18];
    char vendor[OUI_NAME_MAX] = "";
    char empty[1] = "";

    ward__asset_update__init(&u);
    format_mac(m->mac, mac, sizeof(mac));
    const char *v = oui_lookup(t->oui, m->mac);
    if (v)
        snprintf(vendor, sizeof(vendor), "%s", v);
    u.ip = empty;
    u.mac = mac;
    u.vendor = vendor;
    u.hostname = m->hostname;
    u.hostname_source = (char *)(uintptr_t)(m->hostname[0] ? "dhcp" : "");
    struct osfp_guess g = osfp_from_dhcp(m->vendor_class);
    if (g.rank == OSFP_NONE)
        g = osfp_from_hostname(m->hostname);
    u.os_guess = (char *)(uintptr_t)g.family;
    u.first_usec = m->first_usec;
    u.last_usec = m->last_usec;
    u.dhcp_vendor_class = m->vendor_class;
    u.is_new = !m->announced;
    send_update(t, &u);
    if (m->device && !m->announced)
        t->macs_waiting--;
    m->announced = true;
    m->dirty = false;
}

/*
 * The hosts' part of a tick walks the whole table only when one may be due:
 * next_due_usec is a lower bound on when one can be, set by the walk and lowered
 * by every change (host_dirty()).  A host past its refresh time that has not been
 * seen since its last update becomes due when it is seen again: host_touch()
 * notices, as that sighting is its first in a new LRU grain.
 */
static void emit_due(struct asset_tracker *t, bool all)
{
    unsigned sent = 0;
    uint64_t next = UINT64_MAX;
    bool walk = all || t->o.learn_every_packet || t->now_usec >= t->next_due_usec;
    /* Oldest first, so that a burst limit favours hosts waiting longest. */
    for (uint32_t i = walk ? t->h_tail : NIL; i != NIL; i = t->hl[i].prev) {
        struct host *h = &t->hosts[i];
        bool due;
        uint64_t when;
        if (all) {
            due = h->dirty || h->last_usec > h->emit_last;
            when = 0;
        } else if (!h->announced) {
            when = h->first_usec + WARD_MIN(GRACE_USEC, t->o.interval_usec);
            due = t->now_usec >= when;
        } else if (h->dirty) {
            when = h->emit_usec + t->o.interval_usec;
            due = t->now_usec >= when;
        } else {
            when = h->emit_usec + t->o.refresh_usec;
            due = h->last_usec > h->emit_last && t->now_usec >= when;
        }
        if (!due) {
            if (when > t->now_usec)
                next = WARD_MIN(next, when);
            continue;
        }
        if (!all && sent >= ASSET_MAX_PER_TICK) {
            t->next_due_usec = 0; /* the rest at the next tick */
            return;
        }
        emit_host(t, h);
        sent++;
        next = WARD_MIN(next, t->now_usec + t->o.refresh_usec);
    }
    if (walk)
        t->next_due_usec = next;
    /* Between ticks only a device never announced can be due: most ticks none. */
    for (uint32_t i = all || t->macs_waiting ? t->m_tail : NIL; i != NIL; i = t->ml[i].prev) {
        struct mac_ent *m = &t->macs[i];
        if (!m->device || m->host != NIL || !m->dirty)
            continue;
        if (!all && (m->announced || t->now_usec < m->first_usec + t->o.interval_usec))
            continue; /* give DHCP time to bind an address; later changes wait for the end */
        if (!all && sent >= ASSET_MAX_PER_TICK)
            return;
        emit_mac(t, m);
        sent++;
    }
}

void asset_tracker_tick(struct asset_tracker *t, uint64_t now_usec)
{
    if (!t)
        return;
    if (now_usec > t->now_usec)
        t->now_usec = now_usec;
    t->next_tick_usec = t->now_usec + TICK_USEC;
    emit_due(t, false);
}

void asset_tracker_flush(struct asset_tracker *t)
{
    if (!t)
        return;
    emit_due(t, true);
}

void asset_tracker_packet(struct asset_tracker *t, const struct pkt *p, struct flow *f, int dir)
{
    if (!t)
        return;
    if (p->ts_usec > t->now_usec)
        t->now_usec = p->ts_usec;
    if (!f || t->o.learn_every_packet || !memo_apply(t, p, f, dir))
        learn_packet(t, p, f, dir);
    if (t->now_usec >= t->next_tick_usec)
        asset_tracker_tick(t, t->now_usec);
}
