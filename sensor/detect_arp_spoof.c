/*
 * detect_arp_spoof -- ARP cache poisoning and its IPv6 counterpart, neighbour
 * discovery spoofing: an address whose hardware address changes, one hardware
 * address claiming several addresses (the gateway's among them), a rogue router,
 * and gratuitous-ARP or unsolicited-advertisement storms.
 *
 * Every ARP request and reply states "spa is at sha".  The detector keeps the
 * latest binding per address and the addresses each MAC has claimed recently:
 *
 *  - rebind: an address bound to one MAC is claimed by another while the old
 *    binding is still fresh (seen within `rebind_window`): DHCP reuse after a
 *    lease expires is slower than that, poisoning is not.
 *  - multi_ip: one MAC claims `max_ips_per_mac` + 1 or more addresses within
 *    `rebind_window`; the classic "gateway is at me" announcement.  Addresses in
 *    `gateways` (or, when empty, the address whose MAC carries traffic to the
 *    outside) raise severity.  Routers doing proxy ARP belong in `ignore_macs`.
 *  - storm: `storm_count` gratuitous ARPs (announcements and broadcast
 *    replies) from one MAC within 10 seconds.
 *  - unsolicited: `unsolicited_count` unicast replies within a minute that answer
 *    no request seen in the 5 seconds before (arpspoof, ettercap refreshing
 *    their lies).
 *
 * IPv6 neighbour discovery (RFC 4861) states bindings too: a neighbour
 * advertisement with the Override flag and a target link-layer address, a
 * solicitation or router solicitation with a source link-layer address, and a
 * router advertisement (its source address at its link-layer address).  They
 * update the same bindings, so an IPv6 address taken from a fresh binding is an
 * `nd_rebind` (of the gateway when the old binding was a router's).  IPv6 claims
 * do not count toward multi_ip: one host has a link-local, a stable and several
 * temporary (privacy) addresses.  Duplicate address detection probes (source ::)
 * claim nothing.  Advertisements without Override (proxies, anycast) change no
 * cache and are ignored.  Further:
 *
 *  - rogue_router: a router advertisement with a non-zero router lifetime from a
 *    MAC other than the known router's while that router is fresh (advertised
 *    within 30 minutes).  The first router heard is learned; advertisements with
 *    lifetime 0 (Thread border routers and the like) never make a router.
 *  - nd_storm: `storm_count` unsolicited Override advertisements from one MAC
 *    within 10 seconds; ra_flood: `storm_count` router advertisements on the
 *    segment within 10 seconds, whatever their MACs (reported once a minute).
 *  - nd_redirect: an ICMPv6 redirect from a MAC other than a known router's.
 *  - nd_unsolicited: `unsolicited_count` unicast advertisements within a minute
 *    that answer no solicitation seen in the 5 seconds before.
 *  - dad_dos: `dad_answers` advertisements within a minute, from one MAC, for
 *    addresses another MAC was probing with duplicate address detection in the
 *    5 seconds before (every new address "already in use").
 *
 * The attacker is reported by MAC (src_mac) and, when it has claimed an address
 * nobody else had, by that address.  State: fixed-size keymaps, LRU eviction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "detect.h"
#include "event.h"
#include "keymap.h"

#define AS_SECTION "detect.arp_spoof"
#define AS_CLAIMS 8           /* addresses remembered per MAC */
#define AS_MAX_IGNORE 32      /* ignored MACs */
#define AS_STORM_USEC (10 * USEC_PER_SEC)
#define AS_ASK_USEC (5 * USEC_PER_SEC)       /* a reply this soon after a request answers it */
#define AS_UNSOL_USEC (60 * USEC_PER_SEC)    /* window for counting unsolicited replies */
#define AS_ROUTERS 4                         /* known IPv6 routers */
#define AS_ROUTER_USEC (30 * 60 * USEC_PER_SEC) /* a router is fresh this long after its RA */
#define AS_SUBTYPE_MAX 16
#define AS_MAX_ROGUES 3                      /* rogue routers reported a minute */
/* ICMPv6 neighbour discovery (RFC 4861 4.2, 4.4): NA flags in the first "rest" bytes. */
#define ND_RS 133
#define ND_RA 134
#define ND_NS 135
#define ND_NA 136
#define ND_REDIRECT 137
#define ND_NA_ROUTER 0x8000
#define ND_NA_SOLICITED 0x4000
#define ND_NA_OVERRIDE 0x2000

struct as_ask_key {
    struct addr target;    /* address asked about */
    struct addr requester; /* who asked */
};

struct as_binding {
    uint8_t mac[6];        /* current MAC */
    uint8_t old_mac[6];    /* the MAC before the latest change */
    uint64_t first_usec;   /* binding first seen */
    uint64_t last_usec;    /* binding last confirmed */
    uint32_t changes;      /* changes seen */
    bool router;           /* claimed by a router (RA, or NA with the router flag) */
    bool taken;            /* the current MAC took it from a fresh binding of old_mac */
};

struct as_probe {
    uint64_t usec;  /* latest duplicate address detection probe for the address */
    uint8_t mac[6]; /* who probed (Ethernet source) */
};

struct as_router {
    uint8_t mac[6];     /* advertising MAC */
    struct addr addr;   /* its (link-local) source address */
    uint64_t last_usec; /* its latest advertisement with a router lifetime */
};

struct as_mac_key {
    uint8_t mac[6]; /* hardware address */
    uint8_t pad[2]; /* zero */
};

struct as_mac {
    struct addr claims[AS_CLAIMS];   /* addresses claimed */
    uint64_t claim_usec[AS_CLAIMS];  /* when each was last claimed */
    uint8_t n_claims;                /* entries in claims */
    struct addr own;                 /* its own address, best guess */
    bool own_sure;                   /* own came from an ordinary broadcast request */
    uint64_t storm_start;            /* start of the gratuitous-ARP count */
    uint32_t gratuitous;             /* gratuitous ARPs since storm_start */
    uint32_t rebinds;                /* addresses it took from another MAC */
    uint64_t unsol_start;            /* start of the unsolicited-reply count */
    uint32_t unsolicited;            /* replies nobody asked for since unsol_start */
    struct addr victim_ip;           /* the latest address it took */
    uint8_t victim_mac[6];           /* and whose it was */
    uint64_t first_usec;             /* first suspicious claim */
    uint64_t last_usec;              /* latest suspicious claim */
    uint64_t dad_start;              /* start of the DAD-answer count */
    uint32_t dad_answers;            /* other hosts' DAD probes answered since dad_start */
    struct addr dad_target;          /* the latest address it answered for */
    uint16_t ra_lifetime;            /* router lifetime of its rogue advertisement, s */
    uint8_t router_mac[6];           /* the known router when it advertised */
    struct addr router_ip;           /* and that router's address */
    uint32_t ra_flood;               /* router advertisements on the segment in 10 s */
    uint32_t redirects;              /* ICMPv6 redirects it sent, not being a router */
    struct addr redirect_to;         /* the latest redirect's target (new first hop) */
    struct addr redirect_victim;     /* and the host it was sent to */
    bool nd;                         /* its latest storm was of advertisements, not ARP */
    bool gateway;                    /* claimed a gateway address */
    bool reported;                   /* an event is out */
    bool dirty;                      /* changed since the report */
    char subtype[AS_SUBTYPE_MAX];    /* what made it fire */
};

struct arp_spoof {
    struct keymap *bindings;              /* addr -> as_binding */
    struct keymap *macs;                  /* as_mac_key -> as_mac */
    struct keymap *asked;                 /* as_ask_key -> time of the request */
    struct keymap *probes;                /* IPv6 addr -> as_probe (DAD in progress) */
    struct as_router routers[AS_ROUTERS]; /* known IPv6 routers */
    size_t n_routers;                     /* entries in routers */
    uint64_t ra_start;                    /* start of the segment's RA count */
    uint32_t ra_count;                    /* router advertisements since ra_start */
    uint64_t ra_flood_usec;               /* when an RA flood was last flagged */
    uint64_t rogue_start;                 /* start of the minute counting rogue routers */
    uint32_t rogues;                      /* rogue routers flagged since rogue_start */
    uint64_t dad_answers;                 /* DAD answers per minute that make dad_dos */
    struct cidr_set gateways;             /* configured gateway addresses */
    uint8_t gw_mac[6];                    /* learned: MAC that carries outbound traffic */
    bool has_gw_mac;                      /* gw_mac valid */
    uint8_t ignore[AS_MAX_IGNORE][6];     /* MACs never reported */
    size_t n_ignore;                      /* entries in ignore */
    uint64_t rebind_window;               /* freshness of a binding */
    uint64_t max_ips;                     /* addresses one MAC may claim */
    uint64_t storm_count;                 /* gratuitous ARPs per 10 s */
    uint64_t unsolicited_count;           /* unicast replies nobody asked for, per minute */
    bool any_dirty;                       /* some reported MAC changed */
};

static bool parse_mac(const char *s, size_t n, uint8_t out[6])
{
    char buf[24];
    unsigned v[6];
    if (n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (sscanf(buf, "%2x:%2x:%2x:%2x:%2x:%2x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        out[i] = (uint8_t)v[i];
    return true;
}

static int as_init(struct config *cfg, void **state)
{
    struct arp_spoof *as = calloc(1, sizeof(*as));
    char bad[64] = "";
    int rc;
    *state = as;
    if (!as)
        return -ENOMEM;
    cidr_set_init(&as->gateways);
    if (cidr_set_add_list(&as->gateways, config_get_str(cfg, AS_SECTION, "gateways", ""), bad,
                          sizeof(bad)) < 0)
        return config_fail(cfg, AS_SECTION, "gateways", "'%s' is not an address or CIDR", bad);
    const char *p = config_get_str(cfg, AS_SECTION, "ignore_macs", "");
    const char *s;
    size_t n;
    while ((s = config_list_next(&p, &n))) {
        if (as->n_ignore >= AS_MAX_IGNORE || !parse_mac(s, n, as->ignore[as->n_ignore]))
            return config_fail(cfg, AS_SECTION, "ignore_macs",
                               "expected up to %d MACs like 00:11:22:33:44:55", AS_MAX_IGNORE);
        as->n_ignore++;
    }
    if ((rc = config_get_duration(cfg, AS_SECTION, "rebind_window", 10 * 60 * USEC_PER_SEC,
                                  &as->rebind_window)) < 0 ||
        (rc = config_get_u64(cfg, AS_SECTION, "max_ips_per_mac", 1, &as->max_ips)) < 0 ||
        (rc = config_get_u64(cfg, AS_SECTION, "storm_count", 50, &as->storm_count)) < 0 ||
        (rc = config_get_u64(cfg, AS_SECTION, "unsolicited_count", 10,
                             &as->unsolicited_count)) < 0 ||
        (rc = config_get_u64(cfg, AS_SECTION, "dad_answers", 3, &as->dad_answers)) < 0)
        return rc;
    if (as->max_ips < 1 || as->max_ips >= AS_CLAIMS)
        return config_fail(cfg, AS_SECTION, "max_ips_per_mac", "must be between 1 and %d",
                           AS_CLAIMS - 1);
    as->bindings = keymap_new_sparse(8192, sizeof(struct addr), sizeof(struct as_binding));
    as->macs = keymap_new_sparse(8192, sizeof(struct as_mac_key), sizeof(struct as_mac));
    as->asked = keymap_new_sparse(8192, sizeof(struct as_ask_key), sizeof(uint64_t));
    as->probes = keymap_new_sparse(1024, sizeof(struct addr), sizeof(struct as_probe));
    return as->bindings && as->macs && as->asked && as->probes ? 0 : -ENOMEM;
}

static void as_fini(void *state)
{
    struct arp_spoof *as = state;
    if (!as)
        return;
    keymap_free(as->bindings);
    keymap_free(as->macs);
    keymap_free(as->asked);
    keymap_free(as->probes);
    cidr_set_fini(&as->gateways);
    free(as);
}

static size_t as_memory(const void *state)
{
    const struct arp_spoof *as = state;
    return sizeof(*as) + keymap_memory(as->bindings) + keymap_memory(as->macs) +
           keymap_memory(as->asked) + keymap_memory(as->probes);
}

static uint64_t as_evictions(const void *state)
{
    const struct arp_spoof *as = state;
    return keymap_evictions(as->bindings) + keymap_evictions(as->macs) +
           keymap_evictions(as->asked) + keymap_evictions(as->probes);
}

static bool mac_zero(const uint8_t m[6])
{
    static const uint8_t z[6];
    return memcmp(m, z, 6) == 0;
}

static bool mac_ignored(const struct arp_spoof *as, const uint8_t m[6])
{
    if (mac_zero(m) || (m[0] & 1)) /* unset, or multicast/broadcast */
        return true;
    for (size_t i = 0; i < as->n_ignore; i++) {
        if (memcmp(as->ignore[i], m, 6) == 0)
            return true;
    }
    return false;
}

static void format_mac(const uint8_t m[6], char *out, size_t cap)
{
    snprintf(out, cap, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static const struct as_router *router_of(const struct arp_spoof *as, const uint8_t mac[6])
{
    for (size_t i = 0; i < as->n_routers; i++) {
        if (memcmp(as->routers[i].mac, mac, 6) == 0)
            return &as->routers[i];
    }
    return NULL;
}

/*
 * True if a looks like a gateway: configured, bound to a MAC that advertises
 * itself as an IPv6 router, or bound to the outbound MAC.
 */
static bool is_gateway(const struct arp_spoof *as, const struct addr *a, const uint8_t *old_mac)
{
    if (old_mac && router_of(as, old_mac))
        return true;
    if (as->gateways.count)
        return cidr_set_contains(&as->gateways, a);
    return as->has_gw_mac && old_mac && memcmp(old_mac, as->gw_mac, 6) == 0;
}

static void report(struct arp_spoof *as, struct detect_ctx *ctx, const struct as_mac_key *k,
                   struct as_mac *m)
{
    struct event_report r;
    char mac[24], ip[160], victim[ADDR_STR_LEN], vmac[24], own[ADDR_STR_LEN];
    char rip[ADDR_STR_LEN], rmac[24];
    event_report_init(&r, WARD__EVENT_KIND__ARP_SPOOF, m->subtype, EVENT_KEY_MAC);
    memcpy(r.src_mac, k->mac, 6);
    r.has_mac = true;
    /* The attacker's own address: the first one it claimed that it did not take. */
    if (m->own.family)
        r.src = m->own;
    r.dst = m->victim_ip;
    for (size_t i = 0; i < m->n_claims; i++)
        event_report_target(&r, &m->claims[i]);
    r.first_usec = m->first_usec;
    r.last_usec = m->last_usec;
    r.count = m->n_claims;
    format_mac(k->mac, mac, sizeof(mac));
    format_mac(m->victim_mac, vmac, sizeof(vmac));
    format_mac(m->router_mac, rmac, sizeof(rmac));
    addr_format(&m->victim_ip, victim, sizeof(victim));
    addr_format(&m->router_ip, rip, sizeof(rip));
    if (m->own.family)
        addr_format(&m->own, own, sizeof(own));
    else
        snprintf(own, sizeof(own), "?");
    if (strcmp(m->subtype, "rogue_router") == 0) {
        r.dst = m->router_ip;
        event_report_summary(&r, "%s (%s) advertises itself as a router (lifetime %u s) while "
                                 "%s (%s) is the segment's router",
                             mac, own, m->ra_lifetime, rmac, rip);
    } else if (strcmp(m->subtype, "nd_redirect") == 0) {
        char to[ADDR_STR_LEN];
        addr_format(&m->redirect_victim, victim, sizeof(victim));
        addr_format(&m->redirect_to, to, sizeof(to));
        r.dst = m->redirect_victim;
        event_report_summary(&r, "%s (%s) sent %u ICMPv6 redirects%s (the latest told %s to use "
                                 "%s); the segment's router is %s",
                             mac, own, m->redirects, m->gateway ? " in the router's name" : "",
                             victim, to, rmac);
    } else if (strcmp(m->subtype, "ra_flood") == 0) {
        event_report_summary(&r, "%u IPv6 router advertisements on the segment in 10 s, the "
                                 "latest from %s (%s)",
                             m->ra_flood, mac, own);
    } else if (strcmp(m->subtype, "dad_dos") == 0) {
        addr_format(&m->dad_target, victim, sizeof(victim));
        event_report_summary(&r, "%s (%s) answered %u duplicate address probes of other hosts "
                                 "within a minute (the latest for %s): no new IPv6 address "
                                 "can be used",
                             mac, own, m->dad_answers, victim);
    } else if (strcmp(m->subtype, "unsolicited") == 0 && !m->rebinds) {
        event_report_summary(&r, "%s (%s) sent %u ARP replies nobody asked for within a minute, "
                                 "claiming %u addresses",
                             mac, own, m->unsolicited, m->n_claims);
    } else if (strcmp(m->subtype, "nd_unsolicited") == 0 && !m->rebinds) {
        event_report_summary(&r, "%s (%s) sent %u neighbour advertisements nobody asked for "
                                 "within a minute",
                             mac, own, m->unsolicited);
    } else if (strcmp(m->subtype, "storm") == 0 || strcmp(m->subtype, "nd_storm") == 0) {
        event_report_summary(&r, "%s (%s) sent %u %s in 10 s", mac, own, m->gratuitous,
                             m->nd ? "unsolicited override neighbour advertisements"
                                   : "gratuitous ARPs");
    } else if (m->rebinds) {
        event_report_summary(&r, "%s (%s) claimed %s%s%s, bound to %s until now; it claims %u "
                                 "addresses",
                             mac, own, victim, m->gateway ? " (the gateway)" : "",
                             m->victim_ip.family == 6 ? " by neighbour discovery" : "", vmac,
                             m->n_claims);
    } else {
        ip[0] = '\0';
        size_t n = 0;
        for (size_t i = 0; i < m->n_claims && n + ADDR_STR_LEN + 2 < sizeof(ip); i++) {
            char a[ADDR_STR_LEN];
            addr_format(&m->claims[i], a, sizeof(a));
            n += (size_t)snprintf(ip + n, sizeof(ip) - n, "%s%s", n ? "," : "", a);
        }
        event_report_summary(&r, "%s claims %u addresses (%s)%s", mac, m->n_claims, ip,
                             m->gateway ? ", the gateway's among them" : "");
    }
    event_report_figure(&r, "claimed_addresses", m->n_claims);
    event_report_figure(&r, "rebinds", m->rebinds);
    event_report_figure(&r, "gratuitous", m->gratuitous);
    event_report_figure(&r, "unsolicited_replies", m->unsolicited);
    event_report_figure(&r, "gateway", m->gateway ? 1 : 0);
    if (m->ra_lifetime)
        event_report_figure(&r, "router_lifetime_s", m->ra_lifetime);
    if (m->ra_flood)
        event_report_figure(&r, "router_advertisements", m->ra_flood);
    if (m->dad_answers)
        event_report_figure(&r, "dad_answers", m->dad_answers);
    if (m->redirects)
        event_report_figure(&r, "redirects", m->redirects);
    r.severity = m->gateway ? 85 : 70;
    r.confidence = m->rebinds ? 90 : 75;
    detect_report(ctx, &r);
    m->reported = true;
    m->dirty = false;
    (void)as;
}

static void flag(struct arp_spoof *as, struct detect_ctx *ctx, const struct as_mac_key *k,
                 struct as_mac *m, const char *subtype)
{
    if (!m->first_usec)
        m->first_usec = ctx->now_usec;
    m->last_usec = ctx->now_usec;
    if (!m->reported || strcmp(m->subtype, "storm") == 0 || strcmp(m->subtype, "nd_storm") == 0)
        snprintf(m->subtype, sizeof(m->subtype), "%s", subtype);
    if (m->reported) {
        m->dirty = true;
        as->any_dirty = true;
        return;
    }
    report(as, ctx, k, m);
}

/*
 * "spa is at sha", as sha's entry m: updates spa's binding and m's claims.
 * Returns true when m took spa from another MAC's fresh binding.  router: the
 * claim came from a router (RA, or NA with the router flag).
 */
static bool claim(struct arp_spoof *as, struct detect_ctx *ctx, struct as_mac *m,
                  const struct addr *spa, const uint8_t sha[6], bool router)
{
    bool bcreated;
    struct as_binding *b = keymap_get(as->bindings, spa, ctx->now_usec, true, &bcreated);
    bool took = false;
    if (bcreated) {
        memcpy(b->mac, sha, 6);
        b->first_usec = ctx->now_usec;
    } else if (memcmp(b->mac, sha, 6) != 0) {
        bool fresh = ctx->now_usec <= b->last_usec + as->rebind_window;
        bool was_router = b->router;
        /*
         * Not a take: the owner answering again after a poisoner took its address
         * (poisoner and owner both answer; the binding flips back and forth), or
         * a known router claiming the address it advertises from.
         */
        bool restore = b->taken && memcmp(b->old_mac, sha, 6) == 0;
        const struct as_router *r = router_of(as, sha);
        bool own = r && addr_eq(&r->addr, spa);
        memcpy(b->old_mac, b->mac, 6);
        memcpy(b->mac, sha, 6);
        b->changes++;
        b->first_usec = ctx->now_usec;
        b->router = false;
        b->taken = false;
        if (fresh && !restore && !own) {
            took = true;
            b->taken = true;
            m->rebinds++;
            m->victim_ip = *spa;
            memcpy(m->victim_mac, b->old_mac, 6);
            if (was_router || is_gateway(as, spa, b->old_mac))
                m->gateway = true;
        }
    }
    if (router)
        b->router = true;
    b->last_usec = ctx->now_usec;

    /* Claims of this MAC: every IPv4 one, the IPv6 ones it took (hosts have many). */
    if (spa->family != 4 && !took)
        return took;
    size_t i;
    for (i = 0; i < m->n_claims; i++) {
        if (addr_eq(&m->claims[i], spa))
            break;
    }
    if (i == m->n_claims) {
        if (m->n_claims < AS_CLAIMS) {
            m->n_claims++;
        } else { /* forget the stalest claim */
            i = 0;
            for (size_t j = 1; j < AS_CLAIMS; j++) {
                if (m->claim_usec[j] < m->claim_usec[i])
                    i = j;
            }
        }
        m->claims[i] = *spa;
    }
    m->claim_usec[i] = ctx->now_usec;
    return took;
}

/* A request (ARP or neighbour solicitation) by requester for target's address. */
static void remember_ask(struct arp_spoof *as, struct detect_ctx *ctx, const struct addr *target,
                         const struct addr *requester)
{
    struct as_ask_key ak;
    memset(&ak, 0, sizeof(ak));
    ak.target = *target;
    ak.requester = *requester;
    uint64_t *t = keymap_get(as->asked, &ak, ctx->now_usec, true, NULL);
    *t = ctx->now_usec;
}

/* True if requester asked for target's address in the last AS_ASK_USEC. */
static bool was_asked(const struct arp_spoof *as, const struct detect_ctx *ctx,
                      const struct addr *target, const struct addr *requester)
{
    struct as_ask_key ak;
    memset(&ak, 0, sizeof(ak));
    ak.target = *target;
    ak.requester = *requester;
    const uint64_t *t = keymap_peek(as->asked, &ak);
    return t && ctx->now_usec <= *t + AS_ASK_USEC;
}

/* One more reply nobody asked for from m; flags subtype at unsolicited_count a minute. */
static void count_unsolicited(struct arp_spoof *as, struct detect_ctx *ctx,
                              const struct as_mac_key *k, struct as_mac *m, const char *subtype)
{
    if (ctx->now_usec > m->unsol_start + AS_UNSOL_USEC) {
        m->unsol_start = ctx->now_usec;
        m->unsolicited = 0;
    }
    if (++m->unsolicited >= detect_scaled(ctx, (double)as->unsolicited_count))
        flag(as, ctx, k, m, subtype);
}

static void on_arp(struct arp_spoof *as, struct detect_ctx *ctx, const struct pkt *p)
{
    const struct pkt_arp *a = &p->arp;
    if (a->spa.family != 4 || addr_v4_host(&a->spa) == 0 || mac_ignored(as, a->sha))
        return;
    struct as_mac_key k;
    memset(&k, 0, sizeof(k));
    memcpy(k.mac, a->sha, 6);
    bool created;
    struct as_mac *m = keymap_get(as->macs, &k, ctx->now_usec, true, &created);

    /* Gratuitous: an announcement (spa == tpa) or a reply nobody asked for (broadcast). */
    bool gratuitous = addr_eq(&a->spa, &a->tpa) ||
                      (a->op == 2 && p->dst_mac[0] == 0xff && p->dst_mac[1] == 0xff);
    if (gratuitous) {
        if (ctx->now_usec > m->storm_start + AS_STORM_USEC) {
            m->storm_start = ctx->now_usec;
            m->gratuitous = 0;
        }
        m->nd = false;
        if (++m->gratuitous >= detect_scaled(ctx, (double)as->storm_count))
            flag(as, ctx, &k, m, "storm");
    }

    /* Requests are remembered so that replies can be matched to them. */
    if (a->op == 1 && !gratuitous)
        remember_ask(as, ctx, &a->tpa, &a->spa);
    else if (a->op == 2 && !gratuitous && a->tpa.family == 4 &&
             !was_asked(as, ctx, &a->spa, &a->tpa))
        count_unsolicited(as, ctx, &k, m, "unsolicited");

    bool took = claim(as, ctx, m, &a->spa, a->sha, false);
    /* Its own address: what it asks from in ordinary broadcast requests. */
    bool ordinary = a->op == 1 && p->dst_mac[0] == 0xff && !addr_eq(&a->spa, &a->tpa);
    if (!took && (!m->own.family || (ordinary && !m->own_sure))) {
        m->own = a->spa;
        m->own_sure = ordinary;
    }
    unsigned recent = 0;
    for (size_t j = 0; j < m->n_claims; j++) {
        if (m->claims[j].family == 4 && m->claim_usec[j] + as->rebind_window >= ctx->now_usec)
            recent++;
        if (as->gateways.count && cidr_set_contains(&as->gateways, &m->claims[j]))
            m->gateway = true;
    }
    if (took)
        flag(as, ctx, &k, m, "rebind");
    else if (recent > as->max_ips)
        flag(as, ctx, &k, m, "multi_ip");
}

static bool addr_is_unspecified(const struct addr *a)
{
    static const uint8_t zero[16];
    return memcmp(a->b, zero, sizeof(zero)) == 0;
}

/* A router advertisement with a router lifetime from m: a known router, or a rogue. */
static void on_router(struct arp_spoof *as, struct detect_ctx *ctx, const struct as_mac_key *k,
                      struct as_mac *m, const struct addr *src, uint16_t lifetime)
{
    size_t fresh = AS_ROUTERS, stalest = 0;
    for (size_t i = 0; i < as->n_routers; i++) {
        struct as_router *r = &as->routers[i];
        if (memcmp(r->mac, k->mac, 6) == 0) {
            r->addr = *src;
            r->last_usec = ctx->now_usec;
            return;
        }
        if (r->last_usec + AS_ROUTER_USEC >= ctx->now_usec && fresh == AS_ROUTERS)
            fresh = i;
        if (r->last_usec < as->routers[stalest].last_usec)
            stalest = i;
    }
    if (fresh == AS_ROUTERS) {
        /* The first router heard, or the known ones went quiet: learn this one. */
        size_t i = as->n_routers < AS_ROUTERS ? as->n_routers++ : stalest;
        memcpy(as->routers[i].mac, k->mac, 6);
        as->routers[i].addr = *src;
        as->routers[i].last_usec = ctx->now_usec;
        return;
    }
    /* Advertisements from ever new MACs are a flood (ra_flood), not so many routers. */
    if (ctx->now_usec > as->rogue_start + AS_UNSOL_USEC) {
        as->rogue_start = ctx->now_usec;
        as->rogues = 0;
    }
    if (!m->ra_lifetime && ++as->rogues > AS_MAX_ROGUES)
        return;
    m->ra_lifetime = lifetime;
    memcpy(m->router_mac, as->routers[fresh].mac, 6);
    m->router_ip = as->routers[fresh].addr;
    m->gateway = true;
    flag(as, ctx, k, m, "rogue_router");
}

/*
 * An ICMPv6 redirect: only the first-hop router may send one (RFC 4861 8.1), so
 * one from another MAC while a router is known reroutes its victim (redir6).
 */
static void on_redirect(struct arp_spoof *as, struct detect_ctx *ctx, const struct pkt *p)
{
    if (!(p->layers & PKT_ETH) || !as->n_routers || router_of(as, p->src_mac) ||
        mac_ignored(as, p->src_mac))
        return;
    struct as_mac_key k;
    memset(&k, 0, sizeof(k));
    memcpy(k.mac, p->src_mac, 6);
    struct as_mac *m = keymap_get(as->macs, &k, ctx->now_usec, true, NULL);
    m->redirects++;
    m->redirect_to = p->nd.target;
    m->redirect_victim = p->dst;
    memcpy(m->router_mac, as->routers[0].mac, 6);
    m->router_ip = as->routers[0].addr;
    for (size_t i = 0; i < as->n_routers; i++) {
        if (addr_eq(&as->routers[i].addr, &p->src))
            m->gateway = true; /* sent from the router's own address: spoofed */
    }
    flag(as, ctx, &k, m, "nd_redirect");
}

/* IPv6 neighbour discovery: the same bindings as ARP, plus routers and DAD. */
static void on_nd(struct arp_spoof *as, struct detect_ctx *ctx, const struct pkt *p)
{
    const struct pkt_nd *nd = &p->nd;
    const struct addr *spa = &p->src;
    const uint8_t *sha = nd->lladdr;
    bool router = false, unsolicited = false;
    switch (nd->type) {
    case ND_NS:
        if (addr_is_unspecified(&p->src)) {
            /* Duplicate address detection: remember who probes for which address. */
            if (p->layers & PKT_ETH) {
                struct as_probe *pr = keymap_get(as->probes, &nd->target, ctx->now_usec, true,
                                                 NULL);
                pr->usec = ctx->now_usec;
                memcpy(pr->mac, p->src_mac, 6);
            }
            return;
        }
        remember_ask(as, ctx, &nd->target, &p->src);
        if (!nd->has_lladdr) /* a solicitation states its sender's link-layer address */
            return;
        break;
    case ND_RS:
        if (!nd->has_lladdr)
            return;
        break;
    case ND_NA:
        /* Without Override an advertisement changes no cache (proxies, anycast). */
        if (!(p->icmp.id & ND_NA_OVERRIDE) || !nd->has_lladdr)
            return;
        spa = &nd->target;
        router = (p->icmp.id & ND_NA_ROUTER) != 0;
        unsolicited = !(p->icmp.id & ND_NA_SOLICITED);
        break;
    case ND_RA:
        if (!nd->has_lladdr && !(p->layers & PKT_ETH))
            return;
        if (!nd->has_lladdr)
            sha = p->src_mac;
        router = p->icmp.seq > 0; /* router lifetime */
        break;
    case ND_REDIRECT:
        on_redirect(as, ctx, p);
        return;
    default:
        return;
    }
    if (spa->family != 6 || addr_is_unspecified(spa) || mac_ignored(as, sha))
        return;
    struct as_mac_key k;
    memset(&k, 0, sizeof(k));
    memcpy(k.mac, sha, 6);
    struct as_mac *m = keymap_get(as->macs, &k, ctx->now_usec, true, NULL);

    if (unsolicited) {
        if (ctx->now_usec > m->storm_start + AS_STORM_USEC) {
            m->storm_start = ctx->now_usec;
            m->gratuitous = 0;
        }
        m->nd = true;
        if (++m->gratuitous >= detect_scaled(ctx, (double)as->storm_count))
            flag(as, ctx, &k, m, "nd_storm");
    }
    /* A unicast advertisement answers a solicitation; one that answers none is a lie
     * pushed at its destination (ettercap refreshing a poisoned entry). */
    if (nd->type == ND_NA && p->dst.b[0] != 0xff && !was_asked(as, ctx, spa, &p->dst))
        count_unsolicited(as, ctx, &k, m, "nd_unsolicited");
    if (nd->type == ND_NA) {
        const struct as_probe *pr = keymap_peek(as->probes, spa);
        if (pr && ctx->now_usec <= pr->usec + AS_ASK_USEC && memcmp(pr->mac, sha, 6) != 0 &&
            (!(p->layers & PKT_ETH) || memcmp(pr->mac, p->src_mac, 6) != 0)) {
            if (ctx->now_usec > m->dad_start + AS_UNSOL_USEC) {
                m->dad_start = ctx->now_usec;
                m->dad_answers = 0;
            }
            m->dad_answers++;
            m->dad_target = *spa;
            if (m->dad_answers >= detect_scaled(ctx, (double)as->dad_answers))
                flag(as, ctx, &k, m, "dad_dos");
        }
    }

    bool took = claim(as, ctx, m, spa, sha, router);
    if (!took && !m->own.family)
        m->own = *spa;
    if (took)
        flag(as, ctx, &k, m, "nd_rebind");

    if (nd->type == ND_RA) {
        if (ctx->now_usec > as->ra_start + AS_STORM_USEC) {
            as->ra_start = ctx->now_usec;
            as->ra_count = 0;
        }
        if (++as->ra_count >= detect_scaled(ctx, (double)as->storm_count) &&
            (!as->ra_flood_usec || ctx->now_usec > as->ra_flood_usec + AS_UNSOL_USEC)) {
            as->ra_flood_usec = ctx->now_usec;
            m->ra_flood = as->ra_count;
            flag(as, ctx, &k, m, "ra_flood");
        }
        if (router)
            on_router(as, ctx, &k, m, &p->src, p->icmp.seq);
    }
}

static void as_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                      int dir)
{
    struct arp_spoof *as = state;
    if (p->layers & PKT_ARP) {
        on_arp(as, ctx, p);
        return;
    }
    if (p->layers & PKT_ND) {
        on_nd(as, ctx, p);
        return;
    }
    /* Learn the gateway's MAC from the first packet of outbound flows. */
    if (f && dir == FLOW_ORIG && f->pkts[FLOW_ORIG] == 1 && (p->layers & PKT_ETH) &&
        !as->has_gw_mac && !detect_is_home(ctx, &p->dst) && detect_is_home(ctx, &p->src) &&
        !(p->dst_mac[0] & 1)) {
        memcpy(as->gw_mac, p->dst_mac, 6);
        as->has_gw_mac = true;
        ctx->wants_changed = true;
    }
}

/* ARP and neighbour discovery; outbound first packets until the gateway is known. */
static uint64_t as_wants(const void *state)
{
    const struct arp_spoof *as = state;
    return PKT_ARP | PKT_ND | (as->has_gw_mac ? 0 : DETECT_WANT_FIRST);
}

static void as_tick(void *state, struct detect_ctx *ctx, uint64_t now_usec)
{
    struct arp_spoof *as = state;
    (void)now_usec;
    if (!as->any_dirty)
        return;
    as->any_dirty = false;
    for (size_t i = 0; i < keymap_slots(as->macs); i++) {
        const void *key;
        struct as_mac *m = keymap_at(as->macs, i, &key, NULL);
        if (m && m->dirty)
            report(as, ctx, key, m);
    }
}

const struct detector detect_arp_spoof = {
    .name = "arp_spoof",
    .init = as_init,
    .fini = as_fini,
    .on_packet = as_packet,
    .wants = as_wants,
    .on_tick = as_tick,
    .memory = as_memory,
    .evictions = as_evictions,
};
