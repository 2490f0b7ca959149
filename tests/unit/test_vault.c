/*
 * test_vault -- the evidence vault: chunk reassembly (out of order, resent),
 * hash mismatch, the bound on files in progress, the custody chain, and an
 * export that verifies, then fails naming the file or the custody line once a
 * byte of a pcap or a custody line is changed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "console.h"
#include "incident.h"
#include "keys.h"
#include "store.h"
#include "store_contain.h"
#include "vault.h"

#define SEC 1000000ULL

struct rig {
    char dir[64];
    struct console c;
};

static int rig_setup(void **state)
{
    struct rig *g = calloc(1, sizeof(*g));
    char err[CONFIG_ERR_LEN];
    static const char conf[] = "[evidence]\nmax_partial_files = 2\nmax_file = 1M\n";
    snprintf(g->dir, sizeof(g->dir), "/tmp/ward-test-vault-XXXXXX");
    assert_non_null(mkdtemp(g->dir));
    assert_int_equal(config_parse("console.conf", conf, strlen(conf), &g->c.cfg, err, sizeof(err)),
                     0);
    g->c.data_dir = g->dir;
    assert_int_equal(keys_generate(&g->c.id), 0);
    assert_int_equal(store_open(":memory:", &g->c.store), 0);
    clock_fake_set(1800000000ULL * SEC);
    assert_int_equal(audit_module.init(&g->c), 0);
    assert_int_equal(incident_module.init(&g->c), 0);
    assert_int_equal(vault_module.init(&g->c), 0);
    assert_int_equal(store_contain_init(g->c.store), 0);
    *state = g;
    return 0;
}

static int rig_teardown(void **state)
{
    struct rig *g = *state;
    char cmd[128];
    vault_module.fini(&g->c);
    if (incident_module.fini)
        incident_module.fini(&g->c);
    if (audit_module.fini)
        audit_module.fini(&g->c);
    store_close(g->c.store);
    config_free(g->c.cfg);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g->dir);
    assert_int_equal(system(cmd), 0);
    clock_fake_off();
    free(g);
    return 0;
}

/* A small pcap-looking file whose bytes depend on seed. */
static size_t make_file(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * 7 + seed);
    return len;
}

static void sha_hex(const uint8_t *buf, size_t len, char hex[65])
{
    uint8_t d[32];
    keys_sha256(buf, len, d);
    keys_hex(d, 32, hex, 65);
}

/* Records that the console sent capture command id, for incident, to sensor. */
static void issue_capture(struct rig *g, uint64_t id, int64_t incident, const char *sensor)
{
    struct contain_cmd_row r = {0};
    r.id = id;
    snprintf(r.action, sizeof(r.action), "capture");
    snprintf(r.host, sizeof(r.host), "10.77.1.2");
    r.incident = incident;
    snprintf(r.actor, sizeof(r.actor), "alice");
    r.issued_usec = 1799999990ULL * SEC;
    r.ttl_sec = 10;
    assert_int_equal(store_contain_cmd_add(g->c.store, &r), 0);
    assert_int_equal(store_contain_result(g->c.store, id, sensor, "sent", "", "", r.issued_usec),
                     0);
}

/* Sends chunk idx of (buf, len) split in chunk-byte pieces, claiming sha, as
 * sensor, naming incident and capture command (0: an automatic capture). */
static int send_chunk_as(struct rig *g, const uint8_t *buf, size_t len, size_t chunk,
                         uint32_t idx, const char *sha, uint64_t incident, uint64_t command,
                         const char *sensor)
{
    static char host0[] = "10.77.1.2";
    static char *hosts[] = {host0};
    Ward__EvidenceChunk ch;
    Ward__Message m;
    ward__evidence_chunk__init(&ch);
    ward__message__init(&m);
    uint32_t total = (uint32_t)((len + chunk - 1) / chunk);
    size_t off = (size_t)idx * chunk;
    ch.sha256 = (char *)(uintptr_t)sha;
    ch.size = len;
    ch.index = idx;
    ch.total = total;
    ch.data.data = (uint8_t *)(uintptr_t)(buf + off);
    ch.data.len = len - off < chunk ? len - off : chunk;
    ch.event_uid = (char *)(uintptr_t)"portscan-1";
    ch.hosts = hosts;
    ch.n_hosts = 1;
    ch.first_usec = 1000 * SEC;
    ch.last_usec = 1010 * SEC;
    ch.incident = incident;
    ch.command_id = command;
    ch.collected_usec = 1799999999ULL * SEC;
    m.kind_case = WARD__MESSAGE__KIND_EVIDENCE;
    m.evidence = &ch;
    struct msg_origin o = {sensor, 7, 1, 0};
    assert_int_equal(store_begin(g->c.store), 0);
    int rc = vault_module.on_message(&g->c, &o, &m);
    if (rc == 0)
        assert_int_equal(store_commit(g->c.store), 0);
    else
        store_rollback(g->c.store);
    return rc;
}

/* An on-demand capture by gw-1 for incident (command id = incident), or an
 * automatic one when incident is 0. */
static int send_chunk(struct rig *g, const uint8_t *buf, size_t len, size_t chunk, uint32_t idx,
                      const char *sha, uint64_t incident)
{
    struct contain_cmd_row r;
    if (incident && store_contain_cmd_get(g->c.store, incident, &r) == -ENOENT)
        issue_capture(g, incident, (int64_t)incident, "gw-1");
    return send_chunk_as(g, buf, len, chunk, idx, sha, incident, incident, "gw-1");
}

static void stored_file(struct rig *g, const char *sha, uint8_t *out, size_t cap, size_t *len)
{
    char path[256];
    vault_path(g->dir, sha, path, sizeof(path));
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(out, 1, cap, f);
    fclose(f);
}

static json_t *items_of(struct rig *g, int64_t incident)
{
    json_t *items = NULL;
    assert_int_equal(vault_incident_items(&g->c, incident, &items), 0);
    return items;
}

static void test_vault_reassembles_out_of_order(void **state)
{
    struct rig *g = *state;
    static uint8_t buf[10000], back[20000];
    char sha[65];
    size_t len = make_file(buf, sizeof(buf), 1), got;
    sha_hex(buf, len, sha);
    /* 10 chunks: sent backwards, the middle one twice (a resent batch). */
    for (int i = 9; i >= 0; i--) {
        assert_int_equal(send_chunk(g, buf, len, 1000, (uint32_t)i, sha, 5), 0);
        if (i == 5)
            assert_int_equal(send_chunk(g, buf, len, 1000, 5, sha, 5), 0);
        json_t *items = items_of(g, 5);
        assert_int_equal(json_array_size(items), i == 0 ? 1 : 0);
        json_decref(items);
    }
    stored_file(g, sha, back, sizeof(back), &got);
    assert_int_equal(got, len);
    assert_memory_equal(back, buf, len);
    /* A chunk of a stored file changes nothing. */
    assert_int_equal(send_chunk(g, buf, len, 1000, 3, sha, 5), 0);
    json_t *items = items_of(g, 5);
    assert_int_equal(json_array_size(items), 1);
    json_t *it = json_array_get(items, 0);
    assert_string_equal(json_str(it, "sha256", ""), sha);
    assert_string_equal(json_str(it, "sensor", ""), "gw-1");
    assert_string_equal(json_string_value(json_array_get(json_object_get(it, "hosts"), 0)),
                        "10.77.1.2");
    json_decref(items);

    /* Custody: collected, received, verified, stored, each chained and in the audit log. */
    json_t *rows = NULL;
    struct audit_query q = {0};
    q.object = "evidence";
    assert_int_equal(audit_query(g->c.store, &q, &rows), 0);
    assert_int_equal(json_array_size(rows), 4);
    assert_string_equal(json_str(json_array_get(rows, 0), "action", ""), "evidence.collected");
    assert_string_equal(json_str(json_array_get(rows, 3), "action", ""), "evidence.stored");
    json_decref(rows);
}

static void test_vault_refuses_hash_mismatch(void **state)
{
    struct rig *g = *state;
    static uint8_t buf[3000];
    char sha[65];
    size_t len = make_file(buf, sizeof(buf), 2);
    sha_hex(buf, len, sha);
    buf[100] ^= 1; /* the sensor's digest no longer matches the bytes */
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(send_chunk(g, buf, len, 1000, i, sha, 6), 0);
    json_t *items = items_of(g, 6);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    char path[256];
    vault_path(g->dir, sha, path, sizeof(path));
    assert_int_not_equal(access(path, F_OK), 0);
    json_t *rows = NULL;
    struct audit_query q = {0};
    q.action = "evidence.dropped";
    assert_int_equal(audit_query(g->c.store, &q, &rows), 0);
    assert_int_equal(json_array_size(rows), 1);
    json_decref(rows);
}

static void test_vault_bounds_files_in_progress(void **state)
{
    struct rig *g = *state;
    static uint8_t a[3000], b[3000], c[3000];
    char sa[65], sb[65], sc[65];
    make_file(a, sizeof(a), 3);
    make_file(b, sizeof(b), 4);
    make_file(c, sizeof(c), 5);
    sha_hex(a, sizeof(a), sa);
    sha_hex(b, sizeof(b), sb);
    sha_hex(c, sizeof(c), sc);
    assert_int_equal(send_chunk(g, a, sizeof(a), 1000, 0, sa, 7), 0);
    clock_fake_advance(SEC);
    assert_int_equal(send_chunk(g, b, sizeof(b), 1000, 0, sb, 7), 0);
    clock_fake_advance(SEC);
    assert_int_equal(send_chunk(g, c, sizeof(c), 1000, 0, sc, 7), 0); /* drops a, the oldest */
    for (uint32_t i = 1; i < 3; i++) {
        assert_int_equal(send_chunk(g, b, sizeof(b), 1000, i, sb, 7), 0);
        assert_int_equal(send_chunk(g, c, sizeof(c), 1000, i, sc, 7), 0);
    }
    json_t *items = items_of(g, 7);
    assert_int_equal(json_array_size(items), 2); /* b and c */
    json_decref(items);
    /* a lost its first chunk: the rest never make a file. */
    for (uint32_t i = 1; i < 3; i++)
        assert_int_equal(send_chunk(g, a, sizeof(a), 1000, i, sa, 7), 0);
    items = items_of(g, 7);
    assert_int_equal(json_array_size(items), 2);
    json_decref(items);
    json_t *rows = NULL;
    struct audit_query q = {0};
    q.action = "evidence.dropped";
    assert_int_equal(audit_query(g->c.store, &q, &rows), 0);
    assert_true(json_array_size(rows) >= 1);
    assert_string_equal(json_str(json_object_get(json_array_get(rows, 0), "details"), "sha256", ""),
                        sa);
    json_decref(rows);
}

static void test_vault_refuses_malformed_chunks(void **state)
{
    struct rig *g = *state;
    static uint8_t buf[2000000];
    char sha[65];
    make_file(buf, 3000, 6);
    sha_hex(buf, 3000, sha);
    assert_int_equal(send_chunk(g, buf, 3000, 1000, 0, "not-a-hash", 8), 0);
    assert_int_equal(send_chunk(g, buf, 3000, 1000, 0, "../../../../../../../../etc/passwd", 8), 0);
    assert_int_equal(send_chunk(g, buf, sizeof(buf), 1 << 20, 0, sha, 8), 0); /* > max_file */
    json_t *items = items_of(g, 8);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
}

/* Replaces the first occurrence of from by to (same length) in path. */
static void patch_file(const char *path, const char *from, const char *to)
{
    static char text[1 << 20];
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    char *p = strstr(text, from);
    assert_non_null(p);
    assert_int_equal(strlen(from), strlen(to));
    memcpy(p, to, strlen(to));
    f = fopen(path, "wb");
    fwrite(text, 1, n, f);
    fclose(f);
}

static bool report_says(const json_t *report, const char *needle)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(report, "problems"), i, p)
        if (strstr(json_string_value(p), needle))
            return true;
    return false;
}

static void test_vault_export_verify_and_tamper(void **state)
{
    struct rig *g = *state;
    static uint8_t buf[5000];
    char sha[65], out[128], path[256], err[256];
    size_t len = make_file(buf, sizeof(buf), 9);
    sha_hex(buf, len, sha);
    for (uint32_t i = 0; i < 5; i++)
        assert_int_equal(send_chunk(g, buf, len, 1000, i, sha, 9), 0);
    snprintf(out, sizeof(out), "%s/export", g->dir);
    struct actor alice = {1000, "alice", ROLE_OPERATOR};
    json_t *summary = NULL;
    assert_int_equal(vault_export(&g->c, 9, out, &alice, &summary, err, sizeof(err)), 0);
    assert_int_equal(json_u64(summary, "items", 0), 1);
    json_decref(summary);
    /* A second export into the same place is refused. */
    assert_int_equal(vault_export(&g->c, 9, out, &alice, &summary, err, sizeof(err)), -EEXIST);

    json_t *report = NULL;
    assert_int_equal(vault_verify_dir(out, NULL, &report), 0);
    assert_true(json_is_true(json_object_get(report, "ok")));
    assert_int_equal(json_u64(json_array_get(json_object_get(report, "items"), 0), "custody", 0),
                     5);
    json_decref(report);
    /* The right key given explicitly; then a wrong one. */
    assert_int_equal(vault_verify_dir(out, g->c.id.pub.sign_pk, &report), 0);
    assert_true(json_is_true(json_object_get(report, "ok")));
    json_decref(report);
    uint8_t other[32] = {1};
    assert_int_equal(vault_verify_dir(out, other, &report), 0);
    assert_false(json_is_true(json_object_get(report, "ok")));
    json_decref(report);

    /* One byte of the pcap. */
    snprintf(path, sizeof(path), "%s/%s.pcap", out, sha);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, 100, SEEK_SET);
    fputc(0x42 ^ buf[100], f);
    fclose(f);
    assert_int_equal(vault_verify_dir(out, NULL, &report), 0);
    assert_false(json_is_true(json_object_get(report, "ok")));
    char needle[128];
    snprintf(needle, sizeof(needle), "file %s.pcap: sha256 is", sha);
    assert_true(report_says(report, needle));
    assert_false(report_says(report, "custody"));
    json_decref(report);
    f = fopen(path, "r+b");
    fseek(f, 100, SEEK_SET);
    fputc(buf[100], f);
    fclose(f);

    /* One custody line: the exporter's name. */
    snprintf(path, sizeof(path), "%s/%s", out, VAULT_MANIFEST);
    patch_file(path, "\"who\": \"alice\"", "\"who\": \"mally\"");
    assert_int_equal(vault_verify_dir(out, NULL, &report), 0);
    assert_false(json_is_true(json_object_get(report, "ok")));
    assert_true(report_says(report, "custody line 5 (exported by mally): hash does not match"));
    assert_true(report_says(report, "manifest.sig: the signature does not match"));
    assert_false(report_says(report, "sha256 is"));
    json_decref(report);
}

/* Whether a custody row of the file sha says needle. */
static bool custody_says(struct rig *g, const char *sha, const char *needle)
{
    json_t *rows = NULL, *r;
    struct audit_query q = {0};
    q.object = "evidence";
    assert_int_equal(audit_query(g->c.store, &q, &rows), 0);
    size_t i;
    bool found = false;
    json_array_foreach(rows, i, r) {
        char *text = json_dumps(r, JSON_COMPACT);
        if (text && strstr(text, sha) && strstr(text, needle))
            found = true;
        free(text);
    }
    json_decref(rows);
    return found;
}

static void test_vault_links_only_captures_the_console_sent(void **state)
{
    struct rig *g = *state;
    static uint8_t a[500], b[500], c[500], d[500];
    char sa[65], sb[65], sc[65], sd[65];
    sha_hex(a, make_file(a, sizeof(a), 21), sa);
    sha_hex(b, make_file(b, sizeof(b), 22), sb);
    sha_hex(c, make_file(c, sizeof(c), 23), sc);
    sha_hex(d, make_file(d, sizeof(d), 24), sd);
    issue_capture(g, 40, 5, "gw-1");
    issue_capture(g, 41, 6, "gw-9");

    /* gw-2 claims gw-1's command: kept, but in no incident. */
    assert_int_equal(send_chunk_as(g, a, sizeof(a), 1000, 0, sa, 5, 40, "gw-2"), 0);
    /* gw-1 names an incident for a capture nobody asked for. */
    assert_int_equal(send_chunk_as(g, b, sizeof(b), 1000, 0, sb, 5, 0, "gw-1"), 0);
    /* gw-1 names a command that does not exist. */
    assert_int_equal(send_chunk_as(g, c, sizeof(c), 1000, 0, sc, 5, 99, "gw-1"), 0);
    json_t *items = items_of(g, 5);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    assert_true(custody_says(g, sa, "which the console did not send it"));
    assert_true(custody_says(g, sb, "for an automatic capture: ignored"));
    assert_true(custody_says(g, sc, "which the console did not send it"));

    /* gw-1 answers its own command but names another incident: the command's wins. */
    assert_int_equal(send_chunk_as(g, d, sizeof(d), 1000, 0, sd, 6, 40, "gw-1"), 0);
    items = items_of(g, 5);
    assert_int_equal(json_array_size(items), 1);
    assert_string_equal(json_str(json_array_get(items, 0), "sha256", ""), sd);
    json_decref(items);
    items = items_of(g, 6);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    assert_true(custody_says(g, sd, "sensor named incident 6, command 40 was for incident 5"));
}

static void test_vault_custody_hash_is_stable(void **state)
{
    (void)state;
    char a[65], b[65];
    vault_custody_hash(VAULT_ZERO_HASH, "ab", 1, "collected", "gw-1", 5, "x", a);
    vault_custody_hash(VAULT_ZERO_HASH, "ab", 1, "collected", "gw-1", 5, "x", b);
    assert_string_equal(a, b);
    /* Moving a byte between fields changes the hash (fields are length-prefixed). */
    vault_custody_hash(VAULT_ZERO_HASH, "ab", 1, "collecte", "dgw-1", 5, "x", b);
    assert_string_not_equal(a, b);
}

int main(void)
{
    assert_int_equal(keys_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_vault_reassembles_out_of_order, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_vault_refuses_hash_mismatch, rig_setup, rig_teardown),
        cmocka_unit_test_setup_teardown(test_vault_bounds_files_in_progress, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_vault_refuses_malformed_chunks, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_vault_export_verify_and_tamper, rig_setup,
                                        rig_teardown),
        cmocka_unit_test_setup_teardown(test_vault_links_only_captures_the_console_sent,
                                        rig_setup, rig_teardown),
        cmocka_unit_test(test_vault_custody_hash_is_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
