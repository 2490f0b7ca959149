/*
 * detect_lateral -- movement from one inside host to others: worm-like fan-out
 * on administration ports, remote service execution (PsExec and its kin) and the
 * SMBv1 exploits of the EternalBlue family.
 *
 *  - spread: one inside host starting sessions with `fanout_min` or more
 *    distinct inside hosts on 445/139/135/3389/22/5985/5986 (`ports`) within
 *    `window`.  A session counts from its first packet, SYN or mid-stream, so a
 *    capture that starts late still counts the spread.
 *  - psexec: over SMB to the same host, a TREE_CONNECT to ADMIN$ (or C$), a
 *    CREATE of an executable there, and service-control calls on the svcctl
 *    interface (CreateService or StartService), whether svcctl is reached
 *    through the SMB pipe or through DCE/RPC over TCP.  A service created
 *    remotely without the file copy, or a scheduled task registered remotely
 *    (ITaskSchedulerService, ATSVC: atexec), is reported as remote_service.
 *  - eternalblue: SMBv1 requests no Windows client sends: Trans2 SESSION_SETUP
 *    (the DoublePulsar channel), NT Transact with an undefined function together
 *    with Trans2 secondary requests (the EternalBlue pool grooming), or a
 *    DoublePulsar answer (multiplex id 81/82) from the target.
 *
 * SMB and DCE/RPC headers are read by decode_smb from each segment's payload;
 * only ports 445/139 and segments that start a DCE/RPC PDU are looked at.  State:
 * fixed-size keymaps of sources and of (source, target) pairs, LRU eviction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "decode_smb.h"
#include "detect.h"
#include "distinct.h"
#include "event.h"
#include "keymap.h"

#define LT_SECTION "detect.lateral"
#define LT_MAX_PORTS 16
#define LT_DEFAULT_PORTS "445,139,135,3389,22,5985,5986"
#define LT_SAMPLE 16
#define LT_FLOW_FLAGS 1      /* flow->det[] slot: per-flow SMB/RPC facts */
#define LT_FLOW_SVCCTL 1ULL  /* this flow bound or opened svcctl */
#define LT_FLOW_TASKS 2ULL   /* this flow bound a task scheduler interface */

enum lt_flag {
    LT_ADMIN_SHARE = 1u << 0, /* TREE_CONNECT to ADMIN$ or C$ */
    LT_EXE_WRITE = 1u << 1,   /* CREATE of an executable name */
    LT_SVCCTL = 1u << 2,      /* svcctl reached */
    LT_SVC_CREATE = 1u << 3,  /* CreateService */
    LT_SVC_START = 1u << 4,   /* StartService */
    LT_SVC_OPEN = 1u << 5,    /* OpenSCManager */
    LT_TX2_SETUP = 1u << 6,   /* Trans2 SESSION_SETUP request */
    LT_TX2_SECOND = 1u << 7,  /* Trans2 secondary request */
    LT_NT_ODD = 1u << 8,      /* NT Transact with an undefined function */
    LT_DP_REPLY = 1u << 9,    /* DoublePulsar answer from the target */
    LT_TASK_CREATE = 1u << 10, /* a scheduled task registered remotely */
};

struct lt_src {
    uint64_t window_start;   /* start of the counting window */
    uint64_t first_usec;     /* first session in the window */
    uint64_t last_usec;      /* latest session */
    uint64_t dsts[4];        /* sketch of inside targets */
    uint32_t sessions;       /* sessions started */
    uint16_t ports[8];       /* ports used */
    uint8_t n_ports;         /* entries in ports */
    struct addr sample[LT_SAMPLE]; /* first targets */
    uint8_t n_sample;        /* entries in sample */
    bool reported;           /* an event is out for this window */
    bool dirty;              /* grew since */
};

struct lt_pair_key {
    struct addr src; /* acting host */
    struct addr dst; /* target */
};

struct lt_pair {
    uint64_t first_usec;   /* first fact */
    uint64_t last_usec;    /* latest fact */
    uint32_t flags;        /* enum lt_flag */
    uint32_t smb1_exploit; /* exploit-shaped SMBv1 requests */
    uint32_t rpc_calls;    /* svcctl calls */
    char file[PKT_SHORT_MAX]; /* executable written */
    uint32_t reported;     /* flags already reported */
};

struct lateral {
    struct keymap *srcs;            /* addr -> lt_src */
    struct keymap *pairs;           /* lt_pair_key -> lt_pair */
    uint16_t ports[LT_MAX_PORTS];   /* administration ports */
    size_t n_ports;                 /* entries in ports */
    uint64_t fanout_min;            /* distinct targets for spread */
    uint64_t window_usec;           /* spread window */
    bool any_dirty;                 /* some reported source grew */
};

static int lt_init(struct config *cfg, void **state)
{
    struct lateral *lt = calloc(1, sizeof(*lt));
    uint64_t max;
    int rc;
    *state = lt;
    if (!lt)
        return -ENOMEM;
    if ((rc = config_get_ports(cfg, LT_SECTION, "ports", LT_DEFAULT_PORTS, lt->ports,
                               LT_MAX_PORTS, &lt->n_ports)) < 0 ||
        (rc = config_get_u64(cfg, LT_SECTION, "fanout_min", 10, &lt->fanout_min)) < 0 ||
        (rc = config_get_duration(cfg, LT_SECTION, "window", 10 * 60 * USEC_PER_SEC,
                                  &lt->window_usec)) < 0 ||
        (rc = config_get_u64(cfg, LT_SECTION, "pairs_max", 16384, &max)) < 0)
        return rc;
    if (lt->fanout_min < 2)
        return config_fail(cfg, LT_SECTION, "fanout_min", "must be at least 2");
    if (max < 1 || max > (1u << 22))
        return config_fail(cfg, LT_SECTION, "pairs_max", "must be between 1 and 4194304");
    lt->srcs = keymap_new_sparse(max / 2 + 8, sizeof(struct addr), sizeof(struct lt_src));
    lt->pairs = keymap_new_sparse(max, sizeof(struct lt_pair_key), sizeof(struct lt_pair));
    return lt->srcs && lt->pairs ? 0 : -ENOMEM;
}

static void lt_fini(void *state)
{
    struct lateral *lt = state;
    if (!lt)
        return;
    keymap_free(lt->srcs);
    keymap_free(lt->pairs);
    free(lt);
}

static size_t lt_memory(const void *state)
{
    const struct lateral *lt = state;
    return sizeof(*lt) + keymap_memory(lt->srcs) + keymap_memory(lt->pairs);
}

static bool admin_port(const struct lateral *lt, uint16_t port)
{
    for (size_t i = 0; i < lt->n_ports; i++) {
        if (lt->ports[i] == port)
            return true;
    }
    return false;
}

static void report_spread(struct lateral *lt, struct detect_ctx *ctx, const struct addr *a,
                          struct lt_src *s)
{
    struct event_report r;
    char src[ADDR_STR_LEN], ports[64] = "";
    size_t n = 0;
    double targets = distinct_estimate(s->dsts, 4);
    (void)lt;
    event_report_init(&r, WARD__EVENT_KIND__LATERAL, "spread", EVENT_KEY_SRC | EVENT_KEY_SUBTYPE);
    r.src = *a;
    r.proto = 6;
    for (size_t i = 0; i < s->n_ports; i++) {
        event_report_port(&r, s->ports[i]);
        int w = snprintf(ports + n, sizeof(ports) - n, "%s%u", n ? "," : "", s->ports[i]);
        if (w > 0 && (size_t)w < sizeof(ports) - n)
            n += (size_t)w;
    }
    for (size_t i = 0; i < s->n_sample; i++)
        event_report_target(&r, &s->sample[i]);
    r.first_usec = s->first_usec;
    r.last_usec = s->last_usec;
    r.count = (uint64_t)(targets + 0.5);
    addr_format(a, src, sizeof(src));
    event_report_summary(&r, "%s contacted %.0f inside hosts on tcp/%s in %.0f s (%u sessions)",
                         src, targets, ports, (double)(s->last_usec - s->first_usec) / 1e6,
                         s->sessions);
    event_report_figure(&r, "targets", targets);
    event_report_figure(&r, "sessions", s->sessions);
    event_report_figure(&r, "window_seconds", (double)lt->window_usec / 1e6);
    r.severity = 70;
    r.confidence = 75;
    detect_report(ctx, &r);
    s->reported = true;
    s->dirty = false;
}

static void on_session(struct lateral *lt, struct detect_ctx *ctx, const struct addr *client,
                       const struct addr *server, uint16_t port)
{
    if (!detect_is_home(ctx, client) || !detect_is_home(ctx, server) || addr_eq(client, server))
        return;
    bool created;
    struct lt_src *s = keymap_get(lt->srcs, client, ctx->now_usec, true, &created);
    if (!created && !s->reported && ctx->now_usec > s->window_start + lt->window_usec) {
        memset(s, 0, sizeof(*s));
        created = true;
    }
    if (created) {
        s->window_start = ctx->now_usec;
        s->first_usec = ctx->now_usec;
    }
    s->last_usec = ctx->now_usec;
    s->sessions++;
    bool seen = false;
    for (size_t i = 0; i < s->n_ports; i++)
        seen = seen || s->ports[i] == port;
    if (!seen && s->n_ports < 8)
        s->ports[s->n_ports++] = port;
    if (!distinct_add(s->dsts, 4, keymap_hash(server, sizeof(*server), 9)))
        return;
    if (s->n_sample < LT_SAMPLE)
        s->sample[s->n_sample++] = *server;
    if (s->reported) {
        s->dirty = true;
        lt->any_dirty = true;
        return;
    }
    double need = detect_scaled(ctx, (double)lt->fanout_min);
    if (distinct_estimate(s->dsts, 4) + 0.5 >= (need < 2 ? 2 : need))
        report_spread(lt, ctx, client, s);
}

static struct lt_pair *pair_get(struct lateral *lt, struct detect_ctx *ctx,
                                const struct addr *src, const struct addr *dst,
                                struct lt_pair_key *k)
{
    bool created;
    memset(k, 0, sizeof(*k));
    k->src = *src;
    k->dst = *dst;
    struct lt_pair *lp = keymap_get(lt->pairs, k, ctx->now_usec, true, &created);
    if (created)
        lp->first_usec = ctx->now_usec;
    lp->last_usec = ctx->now_usec;
    return lp;
}

static bool executable_name(const char *name)
{
    static const char *const ext[] = {".exe", ".dll", ".bat", ".cmd", ".ps1", ".vbs", ".scr",
                                      ".sys"};
    size_t n = strlen(name);
    for (size_t i = 0; i < WARD_ARRAY_LEN(ext); i++) {
        size_t e = strlen(ext[i]);
        if (n > e && strcasecmp(name + n - e, ext[i]) == 0)
            return true;
    }
    return false;
}

static void svcctl_call(struct lt_pair *lp, uint16_t opnum)
{
    lp->rpc_calls++;
    switch (opnum) {
    case 12: /* RCreateServiceW */
    case 24: /* RCreateServiceA */
    case 44: /* RCreateServiceWOW64A */
    case 45: /* RCreateServiceWOW64W */
        lp->flags |= LT_SVC_CREATE;
        break;
    case 19: /* RStartServiceW */
    case 31: /* RStartServiceA */
        lp->flags |= LT_SVC_START;
        break;
    case 15: /* ROpenSCManagerW */
    case 27: /* ROpenSCManagerA */
        lp->flags |= LT_SVC_OPEN;
        break;
    default:
        break;
    }
}

static void report_pair(struct detect_ctx *ctx, const struct lt_pair_key *k, struct lt_pair *lp,
                        const char *subtype)
{
    struct event_report r;
    char src[ADDR_STR_LEN], dst[ADDR_STR_LEN];
    event_report_init(&r, WARD__EVENT_KIND__LATERAL, subtype, EVENT_KEY_SRC | EVENT_KEY_SUBTYPE);
    r.src = k->src;
    r.dst = k->dst;
    r.proto = 6;
    event_report_port(&r, 445);
    event_report_target(&r, &k->dst);
    r.first_usec = lp->first_usec;
    r.last_usec = lp->last_usec;
    addr_format(&k->src, src, sizeof(src));
    addr_format(&k->dst, dst, sizeof(dst));
    if (strcmp(subtype, "eternalblue") == 0) {
        r.count = lp->smb1_exploit;
        event_report_summary(&r, "%s sent %u SMBv1 exploit-shaped requests to %s (%s%s%s%s)", src,
                             lp->smb1_exploit, dst,
                             lp->flags & LT_TX2_SETUP ? "Trans2 SESSION_SETUP " : "",
                             lp->flags & LT_NT_ODD ? "NT Transact anomaly " : "",
                             lp->flags & LT_TX2_SECOND ? "Trans2 secondary " : "",
                             lp->flags & LT_DP_REPLY ? "DoublePulsar answer" : "");
        r.severity = 90;
        r.confidence = 90;
    } else {
        r.count = lp->rpc_calls;
        event_report_summary(&r, "%s ran %s on %s over SMB/RPC:%s%s%s%s%s%s", src,
                             lp->flags & LT_TASK_CREATE ? "a task" : "a service", dst,
                             lp->flags & LT_ADMIN_SHARE ? " ADMIN$ share" : "",
                             lp->flags & LT_EXE_WRITE ? ", wrote " : "",
                             lp->flags & LT_EXE_WRITE ? lp->file : "",
                             lp->flags & LT_SVC_CREATE ? ", CreateService" : "",
                             lp->flags & LT_SVC_START ? ", StartService" : "",
                             lp->flags & LT_TASK_CREATE ? ", task registered" : "");
        r.severity = 80;
        r.confidence = strcmp(subtype, "psexec") == 0 ? 90 : 75;
    }
    event_report_figure(&r, "admin_share", lp->flags & LT_ADMIN_SHARE ? 1 : 0);
    event_report_figure(&r, "executable_written", lp->flags & LT_EXE_WRITE ? 1 : 0);
    event_report_figure(&r, "svcctl_calls", lp->rpc_calls);
    event_report_figure(&r, "create_service", lp->flags & LT_SVC_CREATE ? 1 : 0);
    event_report_figure(&r, "start_service", lp->flags & LT_SVC_START ? 1 : 0);
    event_report_figure(&r, "smb1_exploit_requests", lp->smb1_exploit);
    event_report_figure(&r, "doublepulsar_answer", lp->flags & LT_DP_REPLY ? 1 : 0);
    detect_report(ctx, &r);
    lp->reported = lp->flags;
}

static void check_pair(struct detect_ctx *ctx, const struct lt_pair_key *k, struct lt_pair *lp)
{
    if (lp->flags == lp->reported)
        return;
    uint32_t f = lp->flags;
    bool eb = (f & (LT_TX2_SETUP | LT_DP_REPLY)) ||
              ((f & LT_NT_ODD) && (f & LT_TX2_SECOND));
    bool psexec = (f & LT_ADMIN_SHARE) && (f & LT_EXE_WRITE) &&
                  (f & (LT_SVC_CREATE | LT_SVC_START));
    bool remote = (f & LT_SVC_CREATE) || ((f & LT_EXE_WRITE) && (f & LT_SVC_START)) ||
                  (f & LT_TASK_CREATE);
    if (eb)
        report_pair(ctx, k, lp, "eternalblue");
    if (psexec)
        report_pair(ctx, k, lp, "psexec");
    else if (remote)
        report_pair(ctx, k, lp, "remote_service");
}

static void rpc_facts(struct lt_pair *lp, struct flow *f, const struct dcerpc_info *rpc);

static WARD_NOINLINE void on_smb(struct lateral *lt, struct detect_ctx *ctx, const struct pkt *p,
                                 struct flow *f)
{
    struct pkt_smb smb;
    struct dcerpc_info rpc;
    struct lt_pair_key k;
    if (!decode_smb(p->payload, &smb, &rpc))
        return;
    if (smb.is_response) {
        /* DoublePulsar answers its ping with multiplex id 81 (0x51) or 82. */
        if (smb.version == 1 && smb.command == SMB1_TRANS2 && (smb.mid == 81 || smb.mid == 82)) {
            struct lt_pair *lp = pair_get(lt, ctx, &p->dst, &p->src, &k);
            lp->flags |= LT_DP_REPLY;
            check_pair(ctx, &k, lp);
        }
        return;
    }
    struct lt_pair *lp = pair_get(lt, ctx, &p->src, &p->dst, &k);
    if (smb.version == 1) {
        if (smb.command == SMB1_TRANS2 && smb.sub_command == SMB1_TRANS2_SESSION_SETUP) {
            lp->flags |= LT_TX2_SETUP;
            lp->smb1_exploit++;
        } else if (smb.command == SMB1_TRANS2_SECONDARY) {
            lp->flags |= LT_TX2_SECOND;
            lp->smb1_exploit++;
        } else if (smb.command == SMB1_NT_TRANSACT &&
                   (smb.sub_command == 0 || smb.sub_command > 8)) {
            lp->flags |= LT_NT_ODD;
            lp->smb1_exploit++;
        }
    }
    if (smb.tree[0] && (strcasecmp(smb.tree, "ADMIN$") == 0 || strcasecmp(smb.tree, "C$") == 0))
        lp->flags |= LT_ADMIN_SHARE;
    if (smb.pipe[0]) {
        if (strcasecmp(smb.pipe, "svcctl") == 0) {
            lp->flags |= LT_SVCCTL;
            if (f)
                f->det[LT_FLOW_FLAGS] |= LT_FLOW_SVCCTL;
        } else if (executable_name(smb.pipe) && (lp->flags & LT_ADMIN_SHARE)) {
            lp->flags |= LT_EXE_WRITE;
            snprintf(lp->file, sizeof(lp->file), "%s", smb.pipe);
        }
    }
    if (rpc.present && f)
        rpc_facts(lp, f, &rpc);
    check_pair(ctx, &k, lp);
}

/* Facts of one DCE/RPC PDU on flow f between the pair. */
static void rpc_facts(struct lt_pair *lp, struct flow *f, const struct dcerpc_info *rpc)
{
    if (rpc->svcctl) {
        lp->flags |= LT_SVCCTL;
        f->det[LT_FLOW_FLAGS] |= LT_FLOW_SVCCTL;
    }
    if (rpc->tasks)
        f->det[LT_FLOW_FLAGS] |= LT_FLOW_TASKS;
    if (rpc->ptype != DCERPC_REQUEST)
        return;
    if (f->det[LT_FLOW_FLAGS] & LT_FLOW_SVCCTL)
        svcctl_call(lp, rpc->opnum);
    /* SchRpcRegisterTask (1) or NetrJobAdd (0). */
    if ((f->det[LT_FLOW_FLAGS] & LT_FLOW_TASKS) && rpc->opnum <= 1) {
        lp->flags |= LT_TASK_CREATE;
        lp->rpc_calls++;
    }
}

/* DCE/RPC straight over TCP (ncacn_ip_tcp: the endpoint mapper hands out a port). */
static WARD_NOINLINE void on_rpc(struct lateral *lt, struct detect_ctx *ctx, const struct pkt *p,
                                 struct flow *f)
{
    struct dcerpc_info rpc;
    struct lt_pair_key k;
    if (!decode_dcerpc(p->payload, &rpc))
        return;
    if (!rpc.svcctl && !rpc.tasks &&
        (rpc.ptype != DCERPC_REQUEST || !(f->det[LT_FLOW_FLAGS] & (LT_FLOW_SVCCTL | LT_FLOW_TASKS))))
        return;
    struct lt_pair *lp = pair_get(lt, ctx, &p->src, &p->dst, &k);
    rpc_facts(lp, f, &rpc);
    check_pair(ctx, &k, lp);
}

/* A segment's payload: SMB, or DCE/RPC straight over TCP. */
static inline void payload(struct lateral *lt, struct detect_ctx *ctx, const struct pkt *p,
                           struct flow *f)
{
    if (p->payload_len < 16)
        return;
    if (p->dport == 445 || p->dport == 139 || p->sport == 445 || p->sport == 139) {
        on_smb(lt, ctx, p, f);
        return;
    }
    uint8_t v, minor;
    if (rd_peek_u8(&p->payload, 0, &v) && v == 5 && rd_peek_u8(&p->payload, 1, &minor) &&
        minor <= 1)
        on_rpc(lt, ctx, p, f);
}

/* A connection's first segment: a session to an admin port starts. */
static WARD_NOINLINE void first_segment(struct lateral *lt, struct detect_ctx *ctx,
                                        const struct pkt *p, struct flow *f)
{
    if (admin_port(lt, p->dport))
        on_session(lt, ctx, &p->src, &p->dst, p->dport);
    else if (admin_port(lt, p->sport) && f->midstream)
        on_session(lt, ctx, &p->dst, &p->src, p->sport);
    payload(lt, ctx, p, f);
}

static void lt_packet(void *state, struct detect_ctx *ctx, const struct pkt *p, struct flow *f,
                      int dir)
{
    struct lateral *lt = state;
    if (!(p->layers & PKT_TCP) || !f)
        return;
    int other = dir == FLOW_ORIG ? FLOW_RESP : FLOW_ORIG;
    if (f->pkts[dir] == 1 && f->pkts[other] == 0 && !(p->tcp.flags & TCP_RST))
        first_segment(lt, ctx, p, f);
    else
        payload(lt, ctx, p, f);
}

/* A session's first packet, and payload to parse. */
static uint64_t lt_wants(const void *state)
{
    (void)state;
    return DETECT_WANT_FIRST | DETECT_WANT_PAYLOAD;
}

static void lt_tick(void *state, struct detect_ctx *ctx, uint64_t now_usec)
{
    struct lateral *lt = state;
    (void)now_usec;
    if (!lt->any_dirty)
        return;
    lt->any_dirty = false;
    for (size_t i = 0; i < keymap_slots(lt->srcs); i++) {
        const void *key;
        struct lt_src *s = keymap_at(lt->srcs, i, &key, NULL);
        if (s && s->dirty)
            report_spread(lt, ctx, key, s);
    }
}

const struct detector detect_lateral = {
    .name = "lateral",
    .init = lt_init,
    .fini = lt_fini,
    .on_packet = lt_packet,
    .wants = lt_wants,
    .on_tick = lt_tick,
    .memory = lt_memory,
};
