/*
 * evidence -- event-triggered and on-demand packet captures (see evidence.h).
 *
 * A slot goes FREE -> RECORDING (pre-window copied from the ring at the trigger,
 * then the tap appends matching packets) -> SHIPPING (closed at the end of the
 * window: hashed, chunks sent a few per tick) -> FREE.  The pcap is written by
 * hand in the classic format (the only <pcap.h> user is capture.c); every
 * integer little-endian, so the magic tells readers the byte order.
 */
#include "evidence.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "envelope.h"
#include "file.h"
#include "keys.h"
#include "log.h"

enum evcap_state { EVCAP_FREE = 0, EVCAP_RECORDING, EVCAP_SHIPPING };

#define EVCAP_MAX_HOSTS 2
#define EVCAP_UID_MAX 64

struct evcap {
    enum evcap_state state;              /* where the slot is in its life */
    struct addr hosts[EVCAP_MAX_HOSTS];  /* packets from or to these are kept */
    size_t nhosts;                       /* hosts in use */
    uint64_t start_usec;                 /* window start (packet time) */
    uint64_t end_usec;                   /* window end (packet time) */
    uint64_t first_usec;                 /* first packet written, 0 if none */
    uint64_t last_usec;                  /* last packet written */
    uint64_t packets;                    /* packets written */
    char event_uid[EVCAP_UID_MAX];       /* triggering event, "" for on-demand */
    uint64_t incident;                   /* on-demand: the incident named */
    uint64_t command_id;                 /* on-demand: the command */
    uint8_t *buf;                        /* the pcap file (max_file bytes, kept for reuse) */
    size_t len;                          /* bytes written */
    bool full;                           /* reached max_file */
    char sha_hex[2 * KEYS_SHA256_LEN + 1]; /* digest, once closed */
    uint32_t next_chunk;                 /* next chunk to send */
    uint32_t total;                      /* chunks in the file */
    uint64_t collected_usec;             /* wall clock at close */
};

struct evrecent {
    struct addr subject; /* host that triggered */
    uint64_t until_usec; /* no new trigger for it before this packet time */
};

struct evidence {
    struct evidence_cfg cfg;                  /* settings (dir borrowed from the config) */
    struct evring *ring;                      /* borrowed */
    struct sink next;                         /* where everything goes */
    struct evcap caps[EVIDENCE_MAX_CAPTURES]; /* slots (max_captures used) */
    struct evrecent recent[EVIDENCE_RECENT];  /* once-per-window memory (round robin) */
    size_t recent_next;                       /* next slot of recent[] to overwrite */
    size_t recording;                         /* slots in RECORDING */
    uint64_t now_usec;                        /* latest packet time seen */
    struct evidence_stats st;                 /* counters */
};

int evidence_config(struct config *cfg, struct evidence_cfg *out)
{
    uint64_t max_captures, chunks_per_tick, max_file, chunk;
    memset(out, 0, sizeof(*out));
    if (config_get_bool(cfg, "evidence", "enabled", true, &out->enabled) ||
        config_get_size(cfg, "evidence", "ring_bytes", 64u << 20, &out->ring_bytes) ||
        config_get_duration(cfg, "evidence", "ring_seconds", 120 * USEC_PER_SEC,
                            &out->ring_usec) ||
        config_get_duration(cfg, "evidence", "pre_seconds", 30 * USEC_PER_SEC,
                            &out->pre_usec) ||
        config_get_duration(cfg, "evidence", "post_seconds", 30 * USEC_PER_SEC,
                            &out->post_usec) ||
        config_get_u64(cfg, "evidence", "max_captures", 4, &max_captures) ||
        config_get_size(cfg, "evidence", "max_file", 8u << 20, &max_file) ||
        config_get_size(cfg, "evidence", "chunk_size", 256u << 10, &chunk) ||
        config_get_u64(cfg, "evidence", "chunks_per_tick", 8, &chunks_per_tick))
        return -EINVAL;
    if (out->ring_bytes < EVRING_MIN_BYTES || out->ring_bytes > (8ULL << 30))
        return config_fail(cfg, "evidence", "ring_bytes", "must be between 64K and 8G");
    if (max_captures < 1 || max_captures > EVIDENCE_MAX_CAPTURES)
        return config_fail(cfg, "evidence", "max_captures", "must be between 1 and %d",
                           EVIDENCE_MAX_CAPTURES);
    if (max_file < 4096 || max_file > (1ULL << 30))
        return config_fail(cfg, "evidence", "max_file", "must be between 4K and 1G");
    if (chunk < 1024 || chunk > ENVELOPE_MAX_CHUNK)
        return config_fail(cfg, "evidence", "chunk_size", "must be between 1K and %u",
                           ENVELOPE_MAX_CHUNK);
    if (chunks_per_tick < 1 || chunks_per_tick > 1024)
        return config_fail(cfg, "evidence", "chunks_per_tick", "must be between 1 and 1024");
    out->max_captures = (size_t)max_captures;
    out->max_file = (size_t)max_file;
    out->chunk_bytes = (size_t)chunk;
    out->chunks_per_tick = (unsigned)chunks_per_tick;
    out->dir = config_get_str(cfg, "evidence", "dir", "");
    return 0;
}

/* ---------------------------------------------------------------- pcap writing */

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

void evidence_pcap_header(uint8_t out[EVIDENCE_PCAP_HDR_LEN], int linktype)
{
    put_le32(out, 0xa1b2c3d4u);           /* magic: microsecond timestamps */
    out[4] = 2;                           /* version 2.4 */
    out[5] = 0;
    out[6] = 4;
    out[7] = 0;
    put_le32(out + 8, 0);                 /* thiszone */
    put_le32(out + 12, 0);                /* sigfigs */
    put_le32(out + 16, EVIDENCE_PCAP_SNAPLEN);
    put_le32(out + 20, (uint32_t)linktype);
}

static void cap_append(struct evidence *ev, struct evcap *c, const struct evring_rec *rec)
{
    size_t need = EVIDENCE_PCAP_REC_HDR_LEN + rec->caplen;
    if (c->full)
        return;
    if (c->len + need > ev->cfg.max_file) {
        c->full = true;
        ev->st.truncated++;
        return;
    }
    uint8_t *p = c->buf + c->len;
    put_le32(p, (uint32_t)(rec->ts_usec / USEC_PER_SEC));
    put_le32(p + 4, (uint32_t)(rec->ts_usec % USEC_PER_SEC));
    put_le32(p + 8, rec->caplen);
    put_le32(p + 12, rec->wirelen);
    memcpy(p + EVIDENCE_PCAP_REC_HDR_LEN, rec->data, rec->caplen);
    c->len += need;
    if (!c->packets)
        c->first_usec = rec->ts_usec;
    c->last_usec = rec->ts_usec;
    c->packets++;
}

static bool cap_matches(const struct evcap *c, const struct addr *src, const struct addr *dst)
{
    for (size_t i = 0; i < c->nhosts; i++)
        if (addr_eq(&c->hosts[i], src) || addr_eq(&c->hosts[i], dst))
            return true;
    return false;
}

/* The tap: every packet the ring stores. */
static void on_packet(void *arg, const struct evring_rec *rec)
{
    struct evidence *ev = arg;
    if (rec->ts_usec > ev->now_usec)
        ev->now_usec = rec->ts_usec;
    if (!ev->recording)
        return;
    struct addr src, dst;
    if (!evring_frame_addrs(evring_linktype(ev->ring), rec->data, rec->caplen, &src, &dst))
        return;
    for (size_t i = 0; i < ev->cfg.max_captures; i++) {
        struct evcap *c = &ev->caps[i];
        if (c->state == EVCAP_RECORDING && rec->ts_usec <= c->end_usec &&
            cap_matches(c, &src, &dst))
            cap_append(ev, c, rec);
    }
}

struct pre_walk {
    struct evidence *ev; /* owner */
    struct evcap *c;     /* capture being filled */
};

static int pre_visit(void *arg, const struct evring_rec *rec)
{
    struct pre_walk *w = arg;
    struct addr src, dst;
    if (evring_frame_addrs(evring_linktype(w->ev->ring), rec->data, rec->caplen, &src, &dst) &&
        cap_matches(w->c, &src, &dst))
        cap_append(w->ev, w->c, rec);
    return w->c->full ? 1 : 0;
}

/* ---------------------------------------------------------------- slots */

static struct evcap *slot_get(struct evidence *ev)
{
    for (size_t i = 0; i < ev->cfg.max_captures; i++) {
        struct evcap *c = &ev->caps[i];
        if (c->state != EVCAP_FREE)
            continue;
        if (!c->buf) {
            c->buf = malloc(ev->cfg.max_file);
            if (!c->buf)
                return NULL;
            ev->st.memory += ev->cfg.max_file;
        }
        uint8_t *buf = c->buf;
        memset(c, 0, sizeof(*c));
        c->buf = buf;
        return c;
    }
    return NULL;
}

static void slot_start(struct evidence *ev, struct evcap *c, uint64_t start, uint64_t end)
{
    c->start_usec = start;
    c->end_usec = end;
    evidence_pcap_header(c->buf, evring_linktype(ev->ring));
    c->len = EVIDENCE_PCAP_HDR_LEN;
    c->state = EVCAP_RECORDING;
    ev->recording++;
}

static void write_copy(const struct evidence *ev, const struct evcap *c)
{
    char path[4096];
    if (!ev->cfg.dir || !ev->cfg.dir[0])
        return;
    snprintf(path, sizeof(path), "%s/%s.pcap", ev->cfg.dir, c->sha_hex);
    int rc = file_replace(path, c->buf, c->len, 0640, 0);
    if (rc < 0)
        log_warn("evidence: cannot write %s: %s", path, strerror(-rc));
}

static void slot_close(struct evidence *ev, struct evcap *c)
{
    uint8_t digest[KEYS_SHA256_LEN];
    ev->recording--;
    if (!c->packets) {
        c->state = EVCAP_FREE; /* nothing seen: nothing to ship */
        return;
    }
    keys_sha256(c->buf, c->len, digest);
    keys_hex(digest, sizeof(digest), c->sha_hex, sizeof(c->sha_hex));
    c->total = (uint32_t)((c->len + ev->cfg.chunk_bytes - 1) / ev->cfg.chunk_bytes);
    c->next_chunk = 0;
    c->collected_usec = clock_now_usec();
    c->state = EVCAP_SHIPPING;
    ev->st.files++;
    write_copy(ev, c);
}

/* Sends one chunk of c; false if the sink refused it (it is retried later). */
static bool send_chunk(struct evidence *ev, struct evcap *c)
{
    char hostbuf[EVCAP_MAX_HOSTS][ADDR_STR_LEN];
    char *hosts[EVCAP_MAX_HOSTS];
    Ward__EvidenceChunk ch;
    Ward__Message m;

    ward__evidence_chunk__init(&ch);
    ward__message__init(&m);
    size_t off = (size_t)c->next_chunk * ev->cfg.chunk_bytes;
    ch.sha256 = c->sha_hex;
    ch.size = c->len;
    ch.index = c->next_chunk;
    ch.total = c->total;
    ch.data.data = c->buf + off;
    ch.data.len = WARD_MIN(ev->cfg.chunk_bytes, c->len - off);
    ch.event_uid = c->event_uid;
    for (size_t i = 0; i < c->nhosts; i++)
        hosts[i] = addr_format(&c->hosts[i], hostbuf[i], sizeof(hostbuf[i]));
    ch.hosts = hosts;
    ch.n_hosts = c->nhosts;
    ch.first_usec = c->first_usec;
    ch.last_usec = c->last_usec;
    ch.incident = c->incident;
    ch.command_id = c->command_id;
    ch.collected_usec = c->collected_usec;
    m.created_usec = clock_now_usec();
    m.kind_case = WARD__MESSAGE__KIND_EVIDENCE;
    m.evidence = &ch;
    if (sink_send(&ev->next, &m) != 0) {
        ev->st.send_errors++;
        return false;
    }
    ev->st.chunks++;
    if (++c->next_chunk == c->total)
        c->state = EVCAP_FREE;
    return true;
}

static void ship(struct evidence *ev, unsigned budget)
{
    for (size_t i = 0; i < ev->cfg.max_captures && budget; i++) {
        struct evcap *c = &ev->caps[i];
        while (c->state == EVCAP_SHIPPING && budget) {
            budget--;
            if (!send_chunk(ev, c))
                return;
        }
    }
}

/* ---------------------------------------------------------------- triggers */

static bool recent_has(const struct evidence *ev, const struct addr *subject, uint64_t now)
{
    for (size_t i = 0; i < EVIDENCE_RECENT; i++)
        if (ev->recent[i].until_usec > now && addr_eq(&ev->recent[i].subject, subject))
            return true;
    return false;
}

static void trigger(struct evidence *ev, const Ward__Event *e)
{
    struct addr hosts[EVCAP_MAX_HOSTS];
    size_t n = 0;
    if (e->kind == WARD__EVENT_KIND__NEW_ASSET || e->kind == WARD__EVENT_KIND__SENSOR_SILENT ||
        e->kind == WARD__EVENT_KIND__ISOLATION_LEAK || e->closed)
        return;
    if (e->src && e->src[0] && addr_parse(e->src, &hosts[n]) == 0)
        n++;
    if (e->dst && e->dst[0] && addr_parse(e->dst, &hosts[n]) == 0)
        n++;
    if (!n)
        return;
    uint64_t at = e->last_usec ? e->last_usec : ev->now_usec;
    if (recent_has(ev, &hosts[0], at)) {
        ev->st.suppressed++;
        return;
    }
    struct evcap *c = slot_get(ev);
    if (!c) {
        ev->st.refused++;
        return;
    }
    memcpy(c->hosts, hosts, n * sizeof(hosts[0]));
    c->nhosts = n;
    snprintf(c->event_uid, sizeof(c->event_uid), "%s", e->uid ? e->uid : "");
    uint64_t start = at > ev->cfg.pre_usec ? at - ev->cfg.pre_usec : 0;
    slot_start(ev, c, start, at + ev->cfg.post_usec);
    struct pre_walk w = {ev, c};
    evring_each(ev->ring, start, pre_visit, &w);

    struct evrecent *r = &ev->recent[ev->recent_next];
    ev->recent_next = (ev->recent_next + 1) % EVIDENCE_RECENT;
    r->subject = hosts[0];
    r->until_usec = at + ev->cfg.pre_usec + ev->cfg.post_usec;
    ev->st.triggered++;
}

static int evidence_send(void *arg, const Ward__Message *m)
{
    struct evidence *ev = arg;
    /* The event goes first: evidence never delays it. */
    int rc = sink_send(&ev->next, m);
    if (ev->cfg.enabled && m->kind_case == WARD__MESSAGE__KIND_EVENT && m->event &&
        m->event->revision <= 1)
        trigger(ev, m->event);
    return rc;
}

/* ---------------------------------------------------------------- public */

struct evidence *evidence_new(const struct evidence_cfg *cfg, struct evring *ring,
                              const struct sink *next)
{
    struct evidence *ev = calloc(1, sizeof(*ev));
    if (!ev)
        return NULL;
    ev->cfg = *cfg;
    if (ev->cfg.max_captures > EVIDENCE_MAX_CAPTURES)
        ev->cfg.max_captures = EVIDENCE_MAX_CAPTURES;
    ev->ring = ring;
    ev->next = *next;
    if (evring_tap(ring, on_packet, ev) != 0) {
        free(ev);
        return NULL;
    }
    return ev;
}

void evidence_free(struct evidence *ev)
{
    if (!ev)
        return;
    for (size_t i = 0; i < EVIDENCE_MAX_CAPTURES; i++)
        free(ev->caps[i].buf);
    free(ev);
}

struct sink evidence_sink(struct evidence *ev)
{
    struct sink s = {evidence_send, ev};
    return s;
}

void evidence_tick(struct evidence *ev, uint64_t now_usec)
{
    if (now_usec > ev->now_usec)
        ev->now_usec = now_usec;
    for (size_t i = 0; i < ev->cfg.max_captures; i++) {
        struct evcap *c = &ev->caps[i];
        if (c->state == EVCAP_RECORDING && now_usec > c->end_usec)
            slot_close(ev, c);
    }
    ship(ev, ev->cfg.chunks_per_tick);
}

void evidence_flush(struct evidence *ev)
{
    for (size_t i = 0; i < ev->cfg.max_captures; i++)
        if (ev->caps[i].state == EVCAP_RECORDING)
            slot_close(ev, &ev->caps[i]);
    /* Bounded by what is held: every slot's chunks, once; a refusing sink stops it. */
    ship(ev, (unsigned)WARD_MIN((uint64_t)UINT32_MAX,
                                (uint64_t)ev->cfg.max_captures *
                                    (ev->cfg.max_file / ev->cfg.chunk_bytes + 1)));
}

static void answer(struct evidence *ev, const Ward__Command *cmd, bool ok, const char *detail)
{
    (void)sink_result(&ev->next, cmd->id, ok, "capture", detail);
}

int evidence_command(struct evidence *ev, const Ward__Command *cmd, uint64_t now_usec)
{
    char detail[256];
    struct addr host;
    const Ward__Capture *cap = cmd->capture;
    WARD_ASSERT(cmd->kind_case == WARD__COMMAND__KIND_CAPTURE);
    if (!cap || !cap->host || addr_parse(cap->host, &host) != 0 || cap->seconds == 0 ||
        cap->seconds > 3600) {
        answer(ev, cmd, false, "capture needs a host address and 1..3600 seconds");
        return -EINVAL;
    }
    struct evcap *c = slot_get(ev);
    if (!c) {
        ev->st.refused++;
        snprintf(detail, sizeof(detail), "capture of %s refused: all %zu capture slots busy",
                 cap->host, ev->cfg.max_captures);
        answer(ev, cmd, false, detail);
        return -EBUSY;
    }
    if (ev->now_usec > now_usec)
        now_usec = ev->now_usec;
    c->hosts[0] = host;
    c->nhosts = 1;
    c->incident = cap->incident;
    c->command_id = cmd->id;
    slot_start(ev, c, now_usec, now_usec + (uint64_t)cap->seconds * USEC_PER_SEC);
    ev->st.on_demand++;
    snprintf(detail, sizeof(detail), "recording %s for %u s", cap->host, cap->seconds);
    answer(ev, cmd, true, detail);
    return 0;
}

void evidence_get_stats(const struct evidence *ev, struct evidence_stats *out)
{
    *out = ev->st;
    out->active = 0;
    for (size_t i = 0; i < ev->cfg.max_captures; i++)
        if (ev->caps[i].state != EVCAP_FREE)
            out->active++;
}
