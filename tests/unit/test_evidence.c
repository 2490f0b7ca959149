/*
 * test_evidence -- event-triggered captures from synthetic packets: the pre- and
 * post-trigger windows, host filtering, the pcap read back by a reader written
 * here, the SHA-256 of the chunks, bounded chunks per tick, refused and
 * suppressed triggers, and on-demand captures.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clock.h"
#include "evidence.h"
#include "keys.h"
#include "rd.h"

#define SEC 1000000ULL

/* ---------------------------------------------------------------- a sink that keeps it all */

struct file {
    char sha[65];
    uint8_t *data;
    size_t size;
    uint32_t got;
    uint32_t total;
    char uid[64];
    uint64_t command_id;
    uint64_t incident;
    size_t nhosts;
};

struct collect {
    int events;
    int results;
    bool last_ok;
    char last_detail[256];
    struct file files[8];
    size_t nfiles;
    size_t chunks;
    size_t chunk_len;
};

static int collect_send(void *arg, const Ward__Message *m)
{
    struct collect *c = arg;
    if (m->kind_case == WARD__MESSAGE__KIND_EVENT)
        c->events++;
    if (m->kind_case == WARD__MESSAGE__KIND_RESULT) {
        c->results++;
        c->last_ok = m->result->ok;
        snprintf(c->last_detail, sizeof(c->last_detail), "%s", m->result->detail);
    }
    if (m->kind_case != WARD__MESSAGE__KIND_EVIDENCE)
        return 0;
    const Ward__EvidenceChunk *ch = m->evidence;
    struct file *f = NULL;
    for (size_t i = 0; i < c->nfiles; i++)
        if (!strcmp(c->files[i].sha, ch->sha256))
            f = &c->files[i];
    if (!f) {
        assert_true(c->nfiles < 8);
        f = &c->files[c->nfiles++];
        snprintf(f->sha, sizeof(f->sha), "%s", ch->sha256);
        f->data = calloc(1, ch->size);
        f->size = ch->size;
        f->total = ch->total;
        snprintf(f->uid, sizeof(f->uid), "%s", ch->event_uid);
        f->command_id = ch->command_id;
        f->incident = ch->incident;
        f->nhosts = ch->n_hosts;
    }
    assert_int_equal(ch->index, f->got); /* in order */
    /* Every chunk but the last has the first chunk's length. */
    if (ch->index == 0)
        c->chunk_len = ch->data.len;
    memcpy(f->data + (size_t)ch->index * c->chunk_len, ch->data.data, ch->data.len);
    f->got++;
    c->chunks++;
    return 0;
}

static void collect_fini(struct collect *c)
{
    for (size_t i = 0; i < c->nfiles; i++)
        free(c->files[i].data);
}

/* ---------------------------------------------------------------- packets */

static size_t frame4(uint8_t *buf, uint8_t s, uint8_t d, uint16_t seq)
{
    memset(buf, 0, 80);
    buf[12] = 0x08;
    buf[14] = 0x45;
    buf[23] = 6;
    buf[26] = 10, buf[29] = s;
    buf[30] = 10, buf[33] = d;
    buf[40] = (uint8_t)(seq >> 8);
    buf[41] = (uint8_t)seq;
    return 80;
}

/* Packets of one pcap file, read back by hand. */
struct pcap_pkt {
    uint64_t ts;
    uint8_t s, d;
};

static size_t read_pcap(const uint8_t *data, size_t len, struct pcap_pkt *out, size_t cap)
{
    struct rd r = rd_make(data, len);
    uint32_t magic = 0, snap = 0, link = 0;
    uint16_t vmaj = 0, vmin = 0;
    assert_true(rd_le32(&r, &magic));
    assert_int_equal(magic, 0xa1b2c3d4);
    assert_true(rd_le16(&r, &vmaj) && rd_le16(&r, &vmin));
    assert_int_equal(vmaj, 2);
    assert_int_equal(vmin, 4);
    assert_true(rd_skip(&r, 8) && rd_le32(&r, &snap) && rd_le32(&r, &link));
    assert_int_equal(link, 1);
    size_t n = 0;
    while (rd_left(&r)) {
        uint32_t sec = 0, usec = 0, incl = 0, orig = 0;
        uint8_t p[34] = {0};
        assert_true(rd_le32(&r, &sec) && rd_le32(&r, &usec) && rd_le32(&r, &incl) &&
                    rd_le32(&r, &orig));
        assert_true(incl <= orig && incl <= snap);
        assert_true(incl >= sizeof(p));
        assert_true(rd_copy(&r, p, sizeof(p)) && rd_skip(&r, incl - sizeof(p)));
        assert_true(n < cap);
        out[n].ts = (uint64_t)sec * SEC + usec;
        out[n].s = p[29];
        out[n].d = p[33];
        n++;
    }
    return n;
}

static void check_sha(const struct file *f)
{
    uint8_t d[32];
    char hex[65];
    assert_int_equal(f->got, f->total);
    keys_sha256(f->data, f->size, d);
    assert_string_equal(keys_hex(d, 32, hex, sizeof(hex)), f->sha);
}

static void send_event(struct sink *s, const char *uid, const char *src, const char *dst,
                       uint64_t at)
{
    Ward__Event ev;
    Ward__Message m;
    ward__event__init(&ev);
    ward__message__init(&m);
    ev.uid = (char *)(uintptr_t)uid;
    ev.revision = 1;
    ev.kind = WARD__EVENT_KIND__PORTSCAN;
    ev.src = (char *)(uintptr_t)src;
    ev.dst = (char *)(uintptr_t)dst;
    ev.first_usec = at;
    ev.last_usec = at;
    m.kind_case = WARD__MESSAGE__KIND_EVENT;
    m.event = &ev;
    assert_int_equal(sink_send(s, &m), 0);
}

static struct evidence_cfg test_cfg(void)
{
    struct evidence_cfg cfg = {0};
    cfg.enabled = true;
    cfg.pre_usec = 10 * SEC;
    cfg.post_usec = 5 * SEC;
    cfg.max_captures = 2;
    cfg.max_file = 1 << 20;
    cfg.chunk_bytes = 1024;
    cfg.chunks_per_tick = 3;
    cfg.dir = "";
    return cfg;
}

struct rig {
    struct collect col;
    struct sink out;
    struct evring *ring;
    struct evidence *ev;
    struct sink in;
};

static void rig_init(struct rig *g, const struct evidence_cfg *cfg)
{
    memset(g, 0, sizeof(*g));
    g->out.send = collect_send;
    g->out.arg = &g->col;
    g->ring = evring_new(1 << 20, 120 * SEC, EVRING_LINK_ETHERNET);
    assert_non_null(g->ring);
    g->ev = evidence_new(cfg, g->ring, &g->out);
    assert_non_null(g->ev);
    g->in = evidence_sink(g->ev);
}

static void rig_fini(struct rig *g)
{
    evidence_free(g->ev);
    evring_free(g->ring);
    collect_fini(&g->col);
}

/* Host .5 talks to .9, host .6 to .7, one packet each per second from t0. */
static void traffic(struct rig *g, uint64_t from_sec, uint64_t to_sec)
{
    uint8_t f[80];
    for (uint64_t t = from_sec; t < to_sec; t++) {
        evring_add(g->ring, t * SEC, f, (uint32_t)frame4(f, 5, 9, (uint16_t)t), 80);
        evring_add(g->ring, t * SEC + 500000, f, (uint32_t)frame4(f, 6, 7, (uint16_t)t), 80);
        evidence_tick(g->ev, t * SEC + 500000);
    }
}

static void test_evidence_pre_and_post_windows(void **state)
{
    (void)state;
    struct evidence_cfg cfg = test_cfg();
    struct rig g;
    rig_init(&g, &cfg);
    traffic(&g, 1000, 1050);
    send_event(&g.in, "ev-1", "10.0.0.5", "", 1049 * SEC);
    assert_int_equal(g.col.events, 1); /* passed on at once */
    traffic(&g, 1050, 1070);
    evidence_flush(g.ev);
    assert_int_equal(g.col.nfiles, 1);
    struct file *f = &g.col.files[0];
    check_sha(f);
    assert_string_equal(f->uid, "ev-1");
    struct pcap_pkt p[64];
    size_t n = read_pcap(f->data, f->size, p, 64);
    /* 1039..1054 s: ten seconds before the trigger, five after, host .5 only. */
    assert_int_equal(n, 16);
    assert_int_equal(p[0].ts, 1039 * SEC);
    assert_int_equal(p[n - 1].ts, 1054 * SEC);
    for (size_t i = 0; i < n; i++)
        assert_true(p[i].s == 5 && p[i].d == 9);
    rig_fini(&g);
}

static void test_evidence_bounds_chunks_per_tick(void **state)
{
    (void)state;
    struct evidence_cfg cfg = test_cfg();
    cfg.pre_usec = 60 * SEC;
    cfg.chunk_bytes = 1024;
    cfg.chunks_per_tick = 2;
    struct rig g;
    rig_init(&g, &cfg);
    traffic(&g, 0, 100);
    send_event(&g.in, "ev-1", "10.0.0.5", "10.0.0.9", 99 * SEC);
    traffic(&g, 100, 106); /* window closes at 104 s: the tick at 105 closes and ships */
    assert_true(g.col.chunks > 0);
    size_t before = g.col.chunks;
    assert_true(before <= 2 * 2);
    evidence_tick(g.ev, 107 * SEC);
    assert_int_equal(g.col.chunks, before + 2);
    evidence_flush(g.ev);
    check_sha(&g.col.files[0]);
    assert_true(g.col.files[0].total > 2);
    assert_int_equal(g.col.files[0].nhosts, 2);
    rig_fini(&g);
}

static void test_evidence_one_capture_per_subject_window(void **state)
{
    (void)state;
    struct evidence_cfg cfg = test_cfg();
    struct rig g;
    rig_init(&g, &cfg);
    traffic(&g, 0, 20);
    send_event(&g.in, "ev-1", "10.0.0.5", "", 19 * SEC);
    send_event(&g.in, "ev-2", "10.0.0.5", "", 19 * SEC);
    struct evidence_stats st;
    evidence_get_stats(g.ev, &st);
    assert_int_equal(st.triggered, 1);
    assert_int_equal(st.suppressed, 1);
    /* Two slots: a third subject finds none free. */
    send_event(&g.in, "ev-3", "10.0.0.6", "", 19 * SEC);
    send_event(&g.in, "ev-4", "10.0.0.7", "", 19 * SEC);
    evidence_get_stats(g.ev, &st);
    assert_int_equal(st.triggered, 2);
    assert_int_equal(st.refused, 1);
    assert_int_equal(g.col.events, 4);
    /* After the window the subject may trigger again. */
    traffic(&g, 20, 60);
    send_event(&g.in, "ev-5", "10.0.0.5", "", 59 * SEC);
    evidence_get_stats(g.ev, &st);
    assert_int_equal(st.triggered, 3);
    evidence_flush(g.ev);
    assert_int_equal(g.col.nfiles, 3);
    rig_fini(&g);
}

static void test_evidence_capture_command(void **state)
{
    (void)state;
    struct evidence_cfg cfg = test_cfg();
    struct rig g;
    rig_init(&g, &cfg);
    traffic(&g, 0, 10);
    Ward__Command cmd;
    Ward__Capture cap;
    ward__command__init(&cmd);
    ward__capture__init(&cap);
    cmd.id = 42;
    cmd.kind_case = WARD__COMMAND__KIND_CAPTURE;
    cmd.capture = &cap;
    cap.host = (char *)(uintptr_t)"10.0.0.6";
    cap.seconds = 3;
    cap.incident = 7;
    assert_int_equal(evidence_command(g.ev, &cmd, 10 * SEC), 0);
    assert_int_equal(g.col.results, 1);
    assert_true(g.col.last_ok);
    traffic(&g, 10, 20);
    assert_int_equal(g.col.nfiles, 1);
    struct file *f = &g.col.files[0];
    check_sha(f);
    assert_int_equal(f->command_id, 42);
    assert_int_equal(f->incident, 7);
    struct pcap_pkt p[16];
    size_t n = read_pcap(f->data, f->size, p, 16);
    assert_int_equal(n, 3); /* 10.5, 11.5, 12.5 s */
    assert_int_equal(p[0].s, 6);

    cap.host = (char *)(uintptr_t)"not-an-address";
    assert_int_equal(evidence_command(g.ev, &cmd, 20 * SEC), -EINVAL);
    assert_false(g.col.last_ok);
    rig_fini(&g);
}

static void test_evidence_max_file_truncates(void **state)
{
    (void)state;
    struct evidence_cfg cfg = test_cfg();
    cfg.max_file = 4096;
    cfg.pre_usec = 100 * SEC;
    struct rig g;
    rig_init(&g, &cfg);
    traffic(&g, 0, 100);
    send_event(&g.in, "ev-1", "10.0.0.5", "", 99 * SEC);
    evidence_flush(g.ev);
    struct evidence_stats st;
    evidence_get_stats(g.ev, &st);
    assert_int_equal(st.truncated, 1);
    assert_true(g.col.files[0].size <= 4096);
    check_sha(&g.col.files[0]);
    rig_fini(&g);
}

int main(void)
{
    assert_int_equal(keys_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_evidence_pre_and_post_windows),
        cmocka_unit_test(test_evidence_bounds_chunks_per_tick),
        cmocka_unit_test(test_evidence_one_capture_per_subject_window),
        cmocka_unit_test(test_evidence_capture_command),
        cmocka_unit_test(test_evidence_max_file_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
