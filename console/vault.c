/*
 * vault -- evidence reassembly, storage, custody, export and offline
 * verification (see vault.h).
 */
#include "vault.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "audit.h"
#include "clock.h"
#include "envelope.h"
#include "file.h"
#include "incident.h"
#include "log.h"
#include "store.h"
#include "store_contain.h"
#include "store_evidence.h"
#include "store_incidents.h"

struct vault {
    uint64_t max_partial_files; /* [evidence] max_partial_files: files in progress */
    uint64_t max_partial_bytes; /* [evidence] max_partial_bytes: their chunks' bytes */
    uint64_t max_file;          /* [evidence] max_file: largest file accepted */
    uint64_t stored;            /* files stored since start */
    uint64_t rejected;          /* files or chunks refused */
    uint64_t mislabelled;       /* files whose sensor named an incident or command not its own */
};

/* ---------------------------------------------------------------- helpers */

static bool sha_ok(const char *s)
{
    if (!s || strlen(s) != 64)
        return false;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

void vault_path(const char *data_dir, const char *sha256, char *out, size_t cap)
{
    snprintf(out, cap, "%s/vault/%.2s/%s.pcap", data_dir ? data_dir : ".", sha256, sha256);
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* Hashes a file; sets hex and size.  0 or negative errno. */
static int hash_path(const char *path, char hex[65], uint64_t *size)
{
    uint8_t buf[65536];
    uint8_t d[KEYS_SHA256_LEN];
    struct keys_sha256_ctx ctx;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    keys_sha256_init(&ctx);
    uint64_t total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = -errno;
            close(fd);
            return rc;
        }
        if (n == 0)
            break;
        keys_sha256_update(&ctx, buf, (size_t)n);
        total += (uint64_t)n;
    }
    close(fd);
    keys_sha256_final(&ctx, d);
    keys_hex(d, sizeof(d), hex, 65);
    *size = total;
    return 0;
}

/* ---------------------------------------------------------------- custody */

static void hash_field(struct keys_sha256_ctx *ctx, const char *s, size_t len)
{
    char pre[32];
    int n = snprintf(pre, sizeof(pre), "%zu:", len);
    keys_sha256_update(ctx, pre, (size_t)n);
    keys_sha256_update(ctx, s, len);
    keys_sha256_update(ctx, "\n", 1);
}

void vault_custody_hash(const char *prev_hash, const char *sha256, int64_t seq,
                        const char *action, const char *who, uint64_t at_usec,
                        const char *detail, char out[65])
{
    struct keys_sha256_ctx ctx;
    uint8_t d[KEYS_SHA256_LEN];
    char num[32];
    keys_sha256_init(&ctx);
    keys_sha256_update(&ctx, "WARD-CUSTODY-1\n", 15);
    hash_field(&ctx, prev_hash, strlen(prev_hash));
    hash_field(&ctx, sha256, strlen(sha256));
    snprintf(num, sizeof(num), "%" PRId64, seq);
    hash_field(&ctx, num, strlen(num));
    hash_field(&ctx, action, strlen(action));
    hash_field(&ctx, who, strlen(who));
    snprintf(num, sizeof(num), "%" PRIu64, at_usec);
    hash_field(&ctx, num, strlen(num));
    hash_field(&ctx, detail, strlen(detail));
    keys_sha256_final(&ctx, d);
    keys_hex(d, sizeof(d), out, 65);
}

int vault_custody_append(struct console *c, const char *sha256, int64_t item_id,
                         const char *action, const char *who, uint64_t at_usec,
                         const char *detail)
{
    struct evidence_custody last, e;
    int rc = store_evidence_custody_last(c->store, sha256, &last);
    if (rc && rc != -ENOENT)
        return rc;
    memset(&e, 0, sizeof(e));
    e.seq = rc == -ENOENT ? 1 : last.seq + 1;
    snprintf(e.prev_hash, sizeof(e.prev_hash), "%s", rc == -ENOENT ? VAULT_ZERO_HASH : last.hash);
    snprintf(e.action, sizeof(e.action), "%s", action);
    snprintf(e.who, sizeof(e.who), "%s", who);
    snprintf(e.detail, sizeof(e.detail), "%s", detail);
    e.at_usec = at_usec;
    vault_custody_hash(e.prev_hash, sha256, e.seq, e.action, e.who, e.at_usec, e.detail, e.hash);
    if ((rc = store_evidence_custody_insert(c->store, sha256, &e)) != 0)
        return rc;

    struct actor a = {0, "", ROLE_NONE};
    const struct actor *ward = console_ward_actor();
    snprintf(a.name, sizeof(a.name), "%s", who);
    if (!strcmp(who, ward->name))
        a = *ward;
    char verb[64];
    snprintf(verb, sizeof(verb), "evidence.%s", action);
    json_t *details = json_pack("{s:s, s:I, s:s, s:s}", "sha256", sha256, "seq",
                                (json_int_t)e.seq, "detail", e.detail, "custody_hash", e.hash);
    rc = audit_log(c, &a, verb, "evidence", item_id, details);
    json_decref(details);
    return rc;
}

/* ---------------------------------------------------------------- chunks */

struct assembly {
    uint8_t *buf;     /* the whole file */
    uint64_t size;    /* its expected size */
    uint64_t off;     /* bytes placed */
    uint32_t next;    /* next expected index */
};

static int place_chunk(void *arg, uint32_t idx, const void *data, size_t len)
{
    struct assembly *a = arg;
    if (idx != a->next || len > a->size - a->off)
        return -EBADMSG;
    memcpy(a->buf + a->off, data, len);
    a->off += len;
    a->next++;
    return 0;
}

static int drop_partial(struct console *c, const char *sha, const char *why)
{
    log_warn("evidence: dropping incomplete file %s: %s", sha, why);
    json_t *d = json_pack("{s:s, s:s}", "sha256", sha, "reason", why);
    int rc = store_evidence_chunk_delete(c->store, sha);
    if (rc == 0)
        rc = audit_log(c, console_ward_actor(), "evidence.dropped", "evidence", 0, d);
    json_decref(d);
    return rc;
}

static int make_room(struct console *c, struct vault *v, size_t len)
{
    for (int tries = 0; tries < 8; tries++) {
        uint32_t items;
        uint64_t bytes;
        char oldest[65];
        int rc = store_evidence_partial_stats(c->store, &items, &bytes);
        if (rc)
            return rc;
        if (items < v->max_partial_files && bytes + len <= v->max_partial_bytes)
            return 0;
        if ((rc = store_evidence_chunk_oldest(c->store, oldest)) != 0)
            return rc == -ENOENT ? 0 : rc;
        if ((rc = drop_partial(c, oldest, "too many files in progress")) != 0)
            return rc;
    }
    return 0;
}

static json_t *hosts_json(const Ward__EvidenceChunk *ch)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < ch->n_hosts && i < 16; i++) {
        struct addr x;
        char buf[ADDR_STR_LEN];
        if (ch->hosts[i] && addr_parse(ch->hosts[i], &x) == 0)
            json_array_append_new(a, json_string(addr_format(&x, buf, sizeof(buf))));
    }
    return a;
}

/*
 * The incident a file belongs to, decided by the console, not by the sensor: an
 * on-demand capture belongs to the incident of the capture command the console
 * sent that sensor; an automatic capture belongs to no incident directly (it is
 * linked through its event).  A sensor naming an incident or a command the
 * console did not give it (a faulty or compromised sensor trying to plant a file
 * in someone else's case) keeps its file, unlinked, and the custody record says
 * what the sensor claimed.  Sets *command to the command id kept (0 if none) and
 * writes a note for the custody record ("" when the claim held).
 */
static int trusted_incident(struct console *c, const struct msg_origin *o,
                            const Ward__EvidenceChunk *ch, int64_t *incident, uint64_t *command,
                            char *note, size_t cap)
{
    *incident = 0;
    *command = 0;
    note[0] = '\0';
    if (ch->command_id == 0) {
        if (ch->incident != 0)
            snprintf(note, cap,
                     "; sensor named incident %" PRIu64 " for an automatic capture: ignored",
                     ch->incident);
        return 0;
    }
    struct contain_cmd_row cmd;
    int rc = store_contain_cmd_get(c->store, ch->command_id, &cmd);
    if (rc == 0 && strcmp(cmd.action, "capture") == 0)
        rc = store_contain_sent_to(c->store, ch->command_id, o->sensor);
    else if (rc == 0)
        rc = -ENOENT;
    if (rc == -ENOENT) {
        snprintf(note, cap,
                 "; sensor named capture command %" PRIu64 " (incident %" PRIu64
                 "), which the console did not send it: kept unlinked",
                 ch->command_id, ch->incident);
        return 0;
    }
    if (rc)
        return rc;
    *incident = cmd.incident;
    *command = ch->command_id;
    if ((uint64_t)cmd.incident != ch->incident)
        snprintf(note, cap,
                 "; sensor named incident %" PRIu64 ", command %" PRIu64 " was for incident %" PRId64,
                 ch->incident, ch->command_id, cmd.incident);
    return 0;
}

static int store_item(struct console *c, struct vault *v, const struct msg_origin *o,
                      const Ward__EvidenceChunk *ch)
{
    struct assembly a = {0};
    struct evidence_item it;
    char hex[65], detail[1200], times[2][40], note[200];
    uint8_t d[KEYS_SHA256_LEN];
    int rc;

    a.size = ch->size;
    a.buf = malloc(ch->size);
    if (!a.buf)
        return -ENOMEM;
    rc = store_evidence_chunk_each(c->store, ch->sha256, place_chunk, &a);
    if (rc == -EBADMSG || (rc == 0 && a.off != a.size)) {
        v->rejected++;
        snprintf(detail, sizeof(detail),
                 "chunks from sensor %s do not add up to %" PRIu64 " bytes", o->sensor,
                 ch->size);
        rc = drop_partial(c, ch->sha256, detail);
        goto out;
    }
    if (rc)
        goto out;
    keys_sha256(a.buf, a.size, d);
    keys_hex(d, sizeof(d), hex, sizeof(hex));
    if (strcmp(hex, ch->sha256) != 0) {
        v->rejected++;
        snprintf(detail, sizeof(detail),
                 "hash mismatch: sensor %s sent sha256 %s but the reassembled file hashes to %s",
                 o->sensor, ch->sha256, hex);
        log_err("evidence: %s", detail);
        rc = drop_partial(c, ch->sha256, detail);
        goto out;
    }

    memset(&it, 0, sizeof(it));
    snprintf(it.sha256, sizeof(it.sha256), "%s", hex);
    vault_path(c->data_dir, hex, it.path, sizeof(it.path));
    char dir[sizeof(it.path)];
    snprintf(dir, sizeof(dir), "%s", it.path);
    *strrchr(dir, '/') = '\0';
    if ((rc = mkdir_p(dir, 0750)) != 0 || (rc = file_replace(it.path, a.buf, a.size, 0640, FILE_SYNC)) != 0) {
        log_err("evidence: cannot write %s: %s", it.path, strerror(-rc));
        rc = rc == -ENOSPC ? -ENOSPC : -EIO;
        goto out;
    }
    it.size = a.size;
    it.first_usec = ch->first_usec;
    it.last_usec = ch->last_usec;
    snprintf(it.sensor, sizeof(it.sensor), "%s", o->sensor);
    json_t *hosts = hosts_json(ch);
    char *htext = hosts ? json_dumps(hosts, JSON_COMPACT) : NULL;
    snprintf(it.hosts, sizeof(it.hosts), "%s", htext ? htext : "[]");
    free(htext);
    snprintf(it.event_uid, sizeof(it.event_uid), "%s", ch->event_uid ? ch->event_uid : "");
    if ((rc = trusted_incident(c, o, ch, &it.incident, &it.command_id, note, sizeof(note))) != 0) {
        json_decref(hosts);
        goto out;
    }
    if (note[0]) {
        v->mislabelled++;
        log_warn("evidence: %s from sensor %s%s", hex, o->sensor, note);
    }
    it.collected_usec = ch->collected_usec;
    it.stored_usec = clock_now_usec();
    if ((rc = store_evidence_item_add(c->store, &it)) != 0 ||
        (rc = store_evidence_chunk_delete(c->store, hex)) != 0) {
        json_decref(hosts);
        goto out;
    }

    clock_format_iso(ch->first_usec, times[0], sizeof(times[0]));
    clock_format_iso(ch->last_usec, times[1], sizeof(times[1]));
    snprintf(detail, sizeof(detail), "pcap closed by sensor %s: packets %s .. %s, hosts %s%s%s%s",
             o->sensor, times[0], times[1], it.hosts, it.event_uid[0] ? ", event " : "",
             it.event_uid, note);
    rc = vault_custody_append(c, hex, it.id, "collected", o->sensor,
                              ch->collected_usec ? ch->collected_usec : it.stored_usec, detail);
    if (rc == 0) {
        snprintf(detail, sizeof(detail), "%u chunks, %" PRIu64 " bytes from sensor %s (seq %" PRIu64 ")",
                 ch->total, it.size, o->sensor, o->seq);
        rc = vault_custody_append(c, hex, it.id, "received", "ward", it.stored_usec, detail);
    }
    if (rc == 0)
        rc = vault_custody_append(c, hex, it.id, "verified", "ward", it.stored_usec,
                                  "SHA-256 of the reassembled file matches the sensor's");
    if (rc == 0) {
        snprintf(detail, sizeof(detail), "vault/%.2s/%s.pcap", hex, hex);
        rc = vault_custody_append(c, hex, it.id, "stored", "ward", it.stored_usec, detail);
    }
    if (rc == 0 && it.incident > 0 && incident_exists(c, it.incident) == 0) {
        json_t *det = json_pack("{s:s, s:I, s:s, s:O}", "sha256", hex, "size",
                                (json_int_t)it.size, "sensor", it.sensor, "hosts", hosts);
        rc = incident_record_action(c, it.incident, console_ward_actor(), "evidence.stored",
                                    det);
        json_decref(det);
    }
    json_decref(hosts);
    if (rc == 0) {
        v->stored++;
        log_info("evidence: stored %s (%" PRIu64 " bytes) from sensor %s", hex, it.size,
                 o->sensor);
    }
out:
    free(a.buf);
    return rc;
}

static int on_chunk(struct console *c, const struct msg_origin *o, const Ward__EvidenceChunk *ch)
{
    struct vault *v = c->mod[MOD_EVIDENCE];
    struct evidence_item it;
    const char *why = NULL;
    uint32_t count;
    uint64_t bytes;
    int rc;

    if (!sha_ok(ch->sha256))
        why = "sha256 is not 64 lower-case hex digits";
    else if (ch->total == 0 || ch->total > VAULT_MAX_CHUNKS || ch->index >= ch->total)
        why = "chunk index or total out of range";
    else if (ch->size == 0 || ch->size > v->max_file)
        why = "file size out of range (see [evidence] max_file)";
    else if (ch->data.len == 0 || ch->data.len > ENVELOPE_MAX_CHUNK || ch->data.len > ch->size)
        why = "chunk length out of range";
    else if ((uint64_t)ch->total > ch->size)
        why = "more chunks than bytes";
    if (why) {
        char esc[80];
        v->rejected++;
        log_warn("evidence: sensor %s: chunk of %s refused: %s", o->sensor,
                 log_escape(ch->sha256 ? ch->sha256 : "", ch->sha256 ? strlen(ch->sha256) : 0,
                            esc, sizeof(esc)),
                 why);
        return 0; /* data, not an error: the rest of the batch stands */
    }
    rc = store_evidence_item_get(c->store, ch->sha256, &it);
    if (rc == 0)
        return 0; /* stored already: a resend or the same capture twice */
    if (rc != -ENOENT)
        return rc;
    if ((rc = store_evidence_chunk_count(c->store, ch->sha256, &count, &bytes)) != 0)
        return rc;
    if (count == 0 && (rc = make_room(c, v, ch->data.len)) != 0)
        return rc;
    if ((rc = store_evidence_chunk_put(c->store, ch->sha256, ch->index, ch->total, ch->size,
                                       ch->data.data, ch->data.len, clock_now_usec())) != 0 ||
        (rc = store_evidence_chunk_count(c->store, ch->sha256, &count, &bytes)) != 0)
        return rc;
    if (count < ch->total)
        return 0;
    return store_item(c, v, o, ch);
}

/* ---------------------------------------------------------------- incident items */

int vault_incident_items(struct console *c, int64_t incident, json_t **items)
{
    /* Not incident_show(): it asks this module for the evidence (it would recurse). */
    json_t *events = NULL;
    if (store_incidents_events_json(c->store, incident, 100000, &events) != 0)
        events = NULL;
    int rc = store_evidence_items_json(c->store, incident, events, items);
    json_decref(events);
    return rc;
}

static int incident_source(struct console *c, int64_t incident, json_t **items)
{
    return vault_incident_items(c, incident, items);
}

/* ---------------------------------------------------------------- export */

static int copy_verified(const char *from, const char *to, const char *sha, char *err,
                         size_t errcap)
{
    char hex[65];
    uint64_t size;
    int rc = hash_path(from, hex, &size);
    if (rc) {
        snprintf(err, errcap, "cannot read vault file %s: %s", from, strerror(-rc));
        return rc;
    }
    if (strcmp(hex, sha) != 0) {
        snprintf(err, errcap, "vault file %s is corrupt: it hashes to %s", from, hex);
        return -EBADMSG;
    }
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    uint8_t buf[65536];
    rc = 0;
    if (in < 0 || out < 0) {
        rc = -errno;
        snprintf(err, errcap, "cannot copy %s to %s: %s", from, to, strerror(errno));
        goto out;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n < 0)
                rc = -errno;
            break;
        }
        if (write(out, buf, (size_t)n) != n) {
            rc = -EIO;
            break;
        }
    }
    if (rc == 0 && fsync(out) != 0)
        rc = -errno;
    if (rc)
        snprintf(err, errcap, "cannot copy %s to %s: %s", from, to, strerror(-rc));
out:
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return rc;
}

int vault_export(struct console *c, int64_t incident, const char *dir, const struct actor *who,
                 json_t **summary, char *err, size_t errcap)
{
    char path[4096], file[200], keyhex[2 * KEYS_SIGN_PK_LEN + 1];
    json_t *items = NULL;
    json_t *out_items = json_array();
    json_t *manifest = NULL;
    char *text = NULL;
    int rc;
    uint64_t now = clock_now_usec();

    if (!dir || dir[0] != '/') {
        snprintf(err, errcap, "the export directory must be an absolute path");
        rc = -EINVAL;
        goto out;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, VAULT_MANIFEST);
    if (access(path, F_OK) == 0) {
        snprintf(err, errcap, "%s holds an export already (%s)", dir, VAULT_MANIFEST);
        rc = -EEXIST;
        goto out;
    }
    if ((rc = vault_incident_items(c, incident, &items)) != 0) {
        snprintf(err, errcap, "cannot list the evidence of incident %" PRId64 ": %s", incident,
                 strerror(-rc));
        goto out;
    }
    if (json_array_size(items) == 0) {
        snprintf(err, errcap, "incident %" PRId64 " has no stored evidence", incident);
        rc = -ENOENT;
        goto out;
    }
    if ((rc = mkdir_p(dir, 0750)) != 0) {
        snprintf(err, errcap, "cannot create %s: %s", dir, strerror(-rc));
        goto out;
    }
    if ((rc = store_begin(c->store)) != 0) {
        snprintf(err, errcap, "database busy: %s", strerror(-rc));
        goto out;
    }
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        const char *sha = json_str(item, "sha256", "");
        const char *from = json_str(item, "path", "");
        char detail[4200];
        snprintf(file, sizeof(file), "%s.pcap", sha);
        snprintf(path, sizeof(path), "%s/%s", dir, file);
        if ((rc = copy_verified(from, path, sha, err, errcap)) != 0)
            break;
        snprintf(detail, sizeof(detail), "exported to %s for incident %" PRId64, dir, incident);
        if ((rc = vault_custody_append(c, sha, (int64_t)json_u64(item, "id", 0), "exported",
                                       who->name, now, detail)) != 0) {
            snprintf(err, errcap, "cannot record custody: %s", strerror(-rc));
            break;
        }
        json_t *custody = NULL;
        if ((rc = store_evidence_custody_json(c->store, sha, &custody)) != 0) {
            snprintf(err, errcap, "cannot read custody: %s", strerror(-rc));
            break;
        }
        json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:O, s:s, s:O, s:O, s:I, s:I, s:o}", "file",
                              file, "sha256", sha, "size", (json_int_t)json_u64(item, "size", 0),
                              "sensor", json_str(item, "sensor", ""), "hosts",
                              json_object_get(item, "hosts"), "event_uid",
                              json_str(item, "event_uid", ""), "first",
                              json_object_get(item, "first"), "last",
                              json_object_get(item, "last"), "first_usec",
                              (json_int_t)json_u64(item, "first_usec", 0), "last_usec",
                              (json_int_t)json_u64(item, "last_usec", 0), "custody", custody);
        json_array_append_new(out_items, o);
    }
    if (rc) {
        store_rollback(c->store);
        goto out;
    }
    keys_hex(c->id.pub.sign_pk, KEYS_SIGN_PK_LEN, keyhex, sizeof(keyhex));
    manifest = json_pack("{s:s, s:I, s:s, s:I, s:s, s:s, s:O}", "format", VAULT_FORMAT,
                         "incident", (json_int_t)incident, "exported",
                         clock_format_iso(now, path, 40), "exported_usec", (json_int_t)now,
                         "exported_by", who->name, "console_key", keyhex, "items", out_items);
    text = manifest ? json_dumps(manifest, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    if (!text) {
        store_rollback(c->store);
        snprintf(err, errcap, "out of memory writing the manifest");
        rc = -ENOMEM;
        goto out;
    }
    size_t tlen = strlen(text);
    uint8_t sig[KEYS_SIG_LEN];
    char sighex[2 * KEYS_SIG_LEN + 2];
    keys_sign(&c->id, (const uint8_t *)text, tlen, sig);
    keys_hex(sig, sizeof(sig), sighex, sizeof(sighex));
    strcat(sighex, "\n");
    snprintf(path, sizeof(path), "%s/%s", dir, VAULT_MANIFEST);
    if ((rc = file_replace(path, text, tlen, 0640, FILE_SYNC)) == 0) {
        snprintf(path, sizeof(path), "%s/%s", dir, VAULT_SIGNATURE);
        rc = file_replace(path, sighex, strlen(sighex), 0640, FILE_SYNC);
    }
    if (rc) {
        store_rollback(c->store);
        snprintf(err, errcap, "cannot write %s: %s", path, strerror(-rc));
        goto out;
    }
    json_t *det = json_pack("{s:s, s:I}", "dir", dir, "items", (json_int_t)json_array_size(out_items));
    if (incident_exists(c, incident) == 0)
        rc = incident_record_action(c, incident, who, "evidence.export", det);
    json_decref(det);
    if (rc == 0)
        rc = store_commit(c->store);
    else
        store_rollback(c->store);
    if (rc) {
        snprintf(err, errcap, "cannot record the export: %s", strerror(-rc));
        goto out;
    }
    *summary = json_pack("{s:s, s:I, s:s, s:s}", "dir", dir, "items",
                         (json_int_t)json_array_size(out_items), "manifest", VAULT_MANIFEST,
                         "console_key", keyhex);
out:
    free(text);
    json_decref(manifest);
    json_decref(out_items);
    json_decref(items);
    return rc;
}

/* ---------------------------------------------------------------- verification */

static void problem(json_t *report, const char *fmt, ...) WARD_PRINTF(2, 3);
static void problem(json_t *report, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    json_array_append_new(json_object_get(report, "problems"), json_string(buf));
    json_object_set_new(report, "ok", json_false());
}

static bool name_ok(const char *f)
{
    return f && f[0] && f[0] != '.' && !strchr(f, '/') && strlen(f) < 200;
}

static void check_custody(json_t *report, const char *sha, const json_t *custody)
{
    char expect[65];
    const char *prev = VAULT_ZERO_HASH;
    size_t i;
    json_t *e;
    if (!json_is_array(custody) || json_array_size(custody) == 0) {
        problem(report, "item %.12s: no custody chain", sha);
        return;
    }
    json_array_foreach(custody, i, e) {
        const char *action = json_str(e, "action", "");
        const char *who = json_str(e, "who", "");
        const char *p = json_str(e, "prev_hash", "");
        const char *h = json_str(e, "hash", "");
        int64_t seq = (int64_t)json_u64(e, "seq", 0);
        if (seq != (int64_t)i + 1)
            problem(report, "item %.12s: custody line %zu (%s by %s): seq is %" PRId64
                    ", expected %zu (a line was removed, added or moved)",
                    sha, i + 1, action, who, seq, i + 1);
        if (strcmp(p, prev) != 0)
            problem(report, "item %.12s: custody line %zu (%s by %s): prev_hash does not link "
                    "to line %zu",
                    sha, i + 1, action, who, i);
        vault_custody_hash(p, sha, seq, action, who, json_u64(e, "at_usec", 0),
                           json_str(e, "detail", ""), expect);
        if (strcmp(expect, h) != 0)
            problem(report, "item %.12s: custody line %zu (%s by %s): hash does not match its "
                    "contents",
                    sha, i + 1, action, who);
        prev = h;
    }
}

int vault_verify_manifest(const uint8_t *manifest, size_t len, const uint8_t *sig,
                          const uint8_t *expect_pk, vault_file_fn hash_file, void *arg,
                          json_t **report)
{
    json_error_t jerr;
    uint8_t pk[KEYS_SIGN_PK_LEN];
    json_t *r = json_pack("{s:b, s:[], s:[]}", "ok", 1, "items", "problems");
    if (!r)
        return -ENOMEM;
    *report = r;
    json_t *m = json_loadb((const char *)manifest, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!m || !json_is_object(m)) {
        problem(r, "%s: not a JSON object (line %d: %s)", VAULT_MANIFEST, jerr.line, jerr.text);
        json_decref(m);
        return 0;
    }
    if (strcmp(json_str(m, "format", ""), VAULT_FORMAT) != 0)
        problem(r, "%s: format is not %s", VAULT_MANIFEST, VAULT_FORMAT);
    const char *key = json_str(m, "console_key", "");
    json_object_set_new(r, "console_key", json_string(key));
    bool have_key = keys_unhex(key, pk, sizeof(pk)) == 0;
    if (!have_key)
        problem(r, "%s: console_key is not an Ed25519 public key in hex", VAULT_MANIFEST);
    if (expect_pk && have_key && memcmp(expect_pk, pk, sizeof(pk)) != 0)
        problem(r, "%s: signed by console key %s, not the key given with --key", VAULT_MANIFEST,
                key);
    if (!sig)
        problem(r, "%s: missing or not 128 hex digits", VAULT_SIGNATURE);
    else if (have_key && !keys_verify(expect_pk ? expect_pk : pk, manifest, len, sig))
        problem(r, "%s: the signature does not match %s (it was changed after export or "
                "signed by another key)",
                VAULT_SIGNATURE, VAULT_MANIFEST);

    json_t *items = json_object_get(m, "items");
    if (!json_is_array(items) || json_array_size(items) == 0)
        problem(r, "%s: no items", VAULT_MANIFEST);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        const char *file = json_str(it, "file", "");
        const char *sha = json_str(it, "sha256", "");
        uint64_t size = json_u64(it, "size", 0);
        char got[65] = "";
        uint64_t got_size = 0;
        bool ok = true;
        size_t before = json_array_size(json_object_get(r, "problems"));
        if (!name_ok(file) || !sha_ok(sha)) {
            problem(r, "item %zu: bad file name or sha256 in the manifest", i + 1);
            continue;
        }
        int rc = hash_file(arg, file, got, &got_size);
        if (rc)
            problem(r, "file %s: cannot read it: %s", file, strerror(-rc));
        else if (strcmp(got, sha) != 0)
            problem(r, "file %s: sha256 is %s, the manifest says %s", file, got, sha);
        else if (got_size != size)
            problem(r, "file %s: %" PRIu64 " bytes, the manifest says %" PRIu64, file, got_size,
                    size);
        json_t *custody = json_object_get(it, "custody");
        check_custody(r, sha, custody);
        ok = json_array_size(json_object_get(r, "problems")) == before;
        json_array_append_new(json_object_get(r, "items"),
                              json_pack("{s:s, s:s, s:b, s:I}", "file", file, "sha256", sha,
                                        "ok", ok, "custody",
                                        (json_int_t)json_array_size(custody)));
    }
    json_decref(m);
    return 0;
}

struct dir_files {
    const char *dir; /* bundle directory */
};

static int dir_hash(void *arg, const char *name, char out_hex[65], uint64_t *size)
{
    const struct dir_files *d = arg;
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", d->dir, name);
    return hash_path(path, out_hex, size);
}

static int read_small(const char *path, size_t max, uint8_t **out, size_t *len)
{
    struct stat stb;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &stb) != 0 || stb.st_size < 0 || (uint64_t)stb.st_size > max) {
        close(fd);
        return -EFBIG;
    }
    uint8_t *buf = malloc((size_t)stb.st_size + 1);
    if (!buf) {
        close(fd);
        return -ENOMEM;
    }
    size_t off = 0;
    while (off < (size_t)stb.st_size) {
        ssize_t n = read(fd, buf + off, (size_t)stb.st_size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    close(fd);
    buf[off] = '\0';
    *out = buf;
    *len = off;
    return 0;
}

int vault_verify_dir(const char *dir, const uint8_t *expect_pk, json_t **report)
{
    char path[4096];
    uint8_t *manifest = NULL, *sigtext = NULL;
    size_t mlen = 0, slen = 0;
    uint8_t sig[KEYS_SIG_LEN];
    bool have_sig = false;
    snprintf(path, sizeof(path), "%s/%s", dir, VAULT_SIGNATURE);
    if (read_small(path, 1024, &sigtext, &slen) == 0) {
        while (slen && (sigtext[slen - 1] == '\n' || sigtext[slen - 1] == '\r'))
            sigtext[--slen] = '\0';
        have_sig = slen == 2 * KEYS_SIG_LEN &&
                   keys_unhex((const char *)sigtext, sig, sizeof(sig)) == 0;
    }
    free(sigtext);
    snprintf(path, sizeof(path), "%s/%s", dir, VAULT_MANIFEST);
    int rc = read_small(path, VAULT_MANIFEST_MAX, &manifest, &mlen);
    if (rc) {
        json_t *r = json_pack("{s:b, s:[], s:[s+]}", "ok", 0, "items", "problems", path,
                              ": cannot read it: ", strerror(-rc));
        if (!r)
            return -ENOMEM;
        *report = r;
        return 0;
    }
    struct dir_files d = {dir};
    rc = vault_verify_manifest(manifest, mlen, have_sig ? sig : NULL, expect_pk, dir_hash, &d,
                               report);
    free(manifest);
    return rc;
}

/* ---------------------------------------------------------------- module */

static int vault_init(struct console *c)
{
    struct vault *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    int rc;
    if (config_get_u64(c->cfg, "evidence", "max_partial_files", 16, &v->max_partial_files) ||
        config_get_size(c->cfg, "evidence", "max_partial_bytes", 256u << 20,
                        &v->max_partial_bytes) ||
        config_get_size(c->cfg, "evidence", "max_file", 64u << 20, &v->max_file)) {
        log_err("evidence: %s", config_error(c->cfg));
        free(v);
        return -EINVAL;
    }
    if ((rc = store_evidence_init(c->store)) != 0) {
        free(v);
        return rc;
    }
    c->mod[MOD_EVIDENCE] = v;
    incident_set_evidence_source(incident_source);
    return 0;
}

static void vault_fini(struct console *c)
{
    incident_set_evidence_source(NULL);
    free(c->mod[MOD_EVIDENCE]);
    c->mod[MOD_EVIDENCE] = NULL;
}

static int vault_on_message(struct console *c, const struct msg_origin *o, const Ward__Message *m)
{
    if (m->kind_case != WARD__MESSAGE__KIND_EVIDENCE || !m->evidence)
        return 0;
    return on_chunk(c, o, m->evidence);
}

static int64_t arg_incident(const struct ctl_req *req, char *err, size_t errcap)
{
    json_t *v = json_object_get(req->args, "incident");
    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        snprintf(err, errcap, "an incident id (a positive number) is needed");
        return -1;
    }
    return (int64_t)json_integer_value(v);
}

static int verb_list(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                     size_t errcap)
{
    int64_t id = arg_incident(req, err, errcap);
    if (id < 0)
        return -EINVAL;
    json_t *items = NULL;
    int rc = vault_incident_items(c, id, &items);
    if (rc) {
        snprintf(err, errcap, "cannot list evidence: %s", strerror(-rc));
        return rc;
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        json_t *custody = NULL;
        if (store_evidence_custody_json(c->store, json_str(it, "sha256", ""), &custody) == 0)
            json_object_set_new(it, "custody", custody);
    }
    *reply = items;
    return 0;
}

static int verb_export(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                       size_t errcap)
{
    int64_t id = arg_incident(req, err, errcap);
    if (id < 0)
        return -EINVAL;
    return vault_export(c, id, json_str(req->args, "dir", ""), req->actor, reply, err, errcap);
}

static const struct ctl_cmd vault_cmds[] = {
    {"evidence.list", ROLE_VIEWER, verb_list},
    {"evidence.export", ROLE_OPERATOR, verb_export},
    {NULL, ROLE_NONE, NULL},
};

const struct console_module vault_module = {
    .name = "evidence",
    .init = vault_init,
    .fini = vault_fini,
    .on_message = vault_on_message,
    .on_tick = NULL,
    .commands = vault_cmds,
};
