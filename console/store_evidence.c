/*
 * store_evidence -- SQL of the evidence vault (see store_evidence.h).
 */
#include "store_evidence.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS evidence_chunk ("
    " sha256 TEXT NOT NULL, idx INTEGER NOT NULL, total INTEGER NOT NULL,"
    " size INTEGER NOT NULL, data BLOB NOT NULL, received_usec INTEGER NOT NULL,"
    " PRIMARY KEY (sha256, idx));"
    "CREATE TABLE IF NOT EXISTS evidence_item ("
    " id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, size INTEGER NOT NULL,"
    " first_usec INTEGER NOT NULL, last_usec INTEGER NOT NULL, sensor TEXT NOT NULL,"
    " hosts TEXT NOT NULL, event_uid TEXT NOT NULL, incident INTEGER NOT NULL,"
    " command_id INTEGER NOT NULL, collected_usec INTEGER NOT NULL,"
    " stored_usec INTEGER NOT NULL, path TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS evidence_item_event ON evidence_item (sensor, event_uid);"
    "CREATE INDEX IF NOT EXISTS evidence_item_incident ON evidence_item (incident);"
    "CREATE TABLE IF NOT EXISTS evidence_custody ("
    " sha256 TEXT NOT NULL, seq INTEGER NOT NULL, action TEXT NOT NULL, who TEXT NOT NULL,"
    " at_usec INTEGER NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL, PRIMARY KEY (sha256, seq));";

int store_evidence_init(struct store *st)
{
    return store_exec(st, SCHEMA);
}

static const char SQL_CHUNK_PUT[] =
    "INSERT OR IGNORE INTO evidence_chunk (sha256, idx, total, size, data, received_usec)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

int store_evidence_chunk_put(struct store *st, const char *sha256, uint32_t idx, uint32_t total,
                             uint64_t size, const void *data, size_t len, uint64_t now_usec)
{
    sqlite3_stmt *s = store_prepare(st, SQL_CHUNK_PUT);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, idx);
    sqlite3_bind_int64(s, 3, total);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)size);
    sqlite3_bind_blob64(s, 5, data ? data : "", len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)now_usec);
    return store_step_done(st, s, "evidence: storing a chunk");
}

static const char SQL_CHUNK_COUNT[] =
    "SELECT count(*), coalesce(sum(length(data)), 0) FROM evidence_chunk WHERE sha256 = ?1";

int store_evidence_chunk_count(struct store *st, const char *sha256, uint32_t *count,
                               uint64_t *bytes)
{
    sqlite3_stmt *s = store_prepare(st, SQL_CHUNK_COUNT);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        rc = store_fail(st, "evidence: counting chunks");
        store_stmt_done(s);
        return rc;
    }
    *count = (uint32_t)sqlite3_column_int64(s, 0);
    *bytes = (uint64_t)sqlite3_column_int64(s, 1);
    store_stmt_done(s);
    return 0;
}

static const char SQL_PARTIAL[] =
    "SELECT count(DISTINCT sha256), coalesce(sum(length(data)), 0) FROM evidence_chunk";

int store_evidence_partial_stats(struct store *st, uint32_t *items, uint64_t *bytes)
{
    sqlite3_stmt *s = store_prepare(st, SQL_PARTIAL);
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        rc = store_fail(st, "evidence: counting files in progress");
        store_stmt_done(s);
        return rc;
    }
    *items = (uint32_t)sqlite3_column_int64(s, 0);
    *bytes = (uint64_t)sqlite3_column_int64(s, 1);
    store_stmt_done(s);
    return 0;
}

static const char SQL_CHUNK_EACH[] =
    "SELECT idx, data FROM evidence_chunk WHERE sha256 = ?1 ORDER BY idx";

int store_evidence_chunk_each(struct store *st, const char *sha256, store_evidence_chunk_fn fn,
                              void *arg)
{
    sqlite3_stmt *s = store_prepare(st, SQL_CHUNK_EACH);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int r = fn(arg, (uint32_t)sqlite3_column_int64(s, 0), sqlite3_column_blob(s, 1),
                   (size_t)sqlite3_column_bytes(s, 1));
        if (r) {
            store_stmt_done(s);
            return r;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail(st, "evidence: reading chunks");
    store_stmt_done(s);
    return rc;
}

static const char SQL_CHUNK_DELETE[] = "DELETE FROM evidence_chunk WHERE sha256 = ?1";

int store_evidence_chunk_delete(struct store *st, const char *sha256)
{
    sqlite3_stmt *s = store_prepare(st, SQL_CHUNK_DELETE);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_TRANSIENT);
    return store_step_done(st, s, "evidence: deleting chunks");
}

static const char SQL_CHUNK_OLDEST[] =
    "SELECT sha256 FROM evidence_chunk GROUP BY sha256 ORDER BY min(received_usec) LIMIT 1";

int store_evidence_chunk_oldest(struct store *st, char out[65])
{
    sqlite3_stmt *s = store_prepare(st, SQL_CHUNK_OLDEST);
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        store_col_text(s, 0, out, 65);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_fail(st, "evidence: oldest file in progress");
    }
    store_stmt_done(s);
    return rc;
}

static const char SQL_ITEM_ADD[] =
    "INSERT INTO evidence_item (sha256, size, first_usec, last_usec, sensor, hosts, event_uid,"
    " incident, command_id, collected_usec, stored_usec, path)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

int store_evidence_item_add(struct store *st, struct evidence_item *it)
{
    struct evidence_item old;
    if (store_evidence_item_get(st, it->sha256, &old) == 0)
        return -EEXIST;
    sqlite3_stmt *s = store_prepare(st, SQL_ITEM_ADD);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, it->sha256, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)it->size);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)it->first_usec);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)it->last_usec);
    sqlite3_bind_text(s, 5, it->sensor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 6, it->hosts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 7, it->event_uid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 8, it->incident);
    sqlite3_bind_int64(s, 9, (sqlite3_int64)it->command_id);
    sqlite3_bind_int64(s, 10, (sqlite3_int64)it->collected_usec);
    sqlite3_bind_int64(s, 11, (sqlite3_int64)it->stored_usec);
    sqlite3_bind_text(s, 12, it->path, -1, SQLITE_TRANSIENT);
    int rc = store_step_done(st, s, "evidence: storing an item");
    if (rc == 0)
        it->id = sqlite3_last_insert_rowid(store_db(st));
    return rc;
}

#define ITEM_COLS                                                                            \
    "id, sha256, size, first_usec, last_usec, sensor, hosts, event_uid, incident, command_id," \
    " collected_usec, stored_usec, path"

static void read_item(sqlite3_stmt *s, struct evidence_item *it)
{
    memset(it, 0, sizeof(*it));
    it->id = sqlite3_column_int64(s, 0);
    store_col_text(s, 1, it->sha256, sizeof(it->sha256));
    it->size = (uint64_t)sqlite3_column_int64(s, 2);
    it->first_usec = (uint64_t)sqlite3_column_int64(s, 3);
    it->last_usec = (uint64_t)sqlite3_column_int64(s, 4);
    store_col_text(s, 5, it->sensor, sizeof(it->sensor));
    store_col_text(s, 6, it->hosts, sizeof(it->hosts));
    store_col_text(s, 7, it->event_uid, sizeof(it->event_uid));
    it->incident = sqlite3_column_int64(s, 8);
    it->command_id = (uint64_t)sqlite3_column_int64(s, 9);
    it->collected_usec = (uint64_t)sqlite3_column_int64(s, 10);
    it->stored_usec = (uint64_t)sqlite3_column_int64(s, 11);
    store_col_text(s, 12, it->path, sizeof(it->path));
}

static const char SQL_ITEM_GET[] = "SELECT " ITEM_COLS " FROM evidence_item WHERE sha256 = ?1";

int store_evidence_item_get(struct store *st, const char *sha256, struct evidence_item *out)
{
    sqlite3_stmt *s = store_prepare(st, SQL_ITEM_GET);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        read_item(s, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_fail(st, "evidence: reading an item");
    }
    store_stmt_done(s);
    return rc;
}

json_t *store_evidence_item_json(const struct evidence_item *it)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_set_u64(o, "id", (uint64_t)it->id);
    json_object_set_new(o, "sha256", json_string(it->sha256));
    json_set_u64(o, "size", it->size);
    json_set_time(o, "first", it->first_usec);
    json_set_time(o, "last", it->last_usec);
    json_set_u64(o, "first_usec", it->first_usec);
    json_set_u64(o, "last_usec", it->last_usec);
    json_object_set_new(o, "sensor", json_string(it->sensor));
    json_t *hosts = json_loads(it->hosts, 0, NULL);
    json_object_set_new(o, "hosts", hosts ? hosts : json_array());
    json_object_set_new(o, "event_uid", json_string(it->event_uid));
    json_set_u64(o, "incident", (uint64_t)it->incident);
    json_set_u64(o, "command_id", it->command_id);
    json_set_time(o, "collected", it->collected_usec);
    json_set_time(o, "stored", it->stored_usec);
    json_object_set_new(o, "path", json_string(it->path));
    return o;
}

static const char SQL_ITEMS_INCIDENT[] =
    "SELECT " ITEM_COLS " FROM evidence_item WHERE incident = ?1"
    " OR (sensor || char(31) || event_uid) IN (SELECT value FROM json_each(?2))"
    " ORDER BY id DESC";

int store_evidence_items_json(struct store *st, int64_t incident, const json_t *events,
                              json_t **out)
{
    /* (sensor, uid) pairs as "sensor\x1fuid" strings, matched with json_each. */
    json_t *keys = json_array();
    json_t *arr = json_array();
    char *keys_text = NULL;
    int rc = 0;
    if (!keys || !arr) {
        rc = -ENOMEM;
        goto out;
    }
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
        char key[256];
        snprintf(key, sizeof(key), "%s\x1f%s", json_str(e, "sensor", ""), json_str(e, "uid", ""));
        json_array_append_new(keys, json_string(key));
    }
    keys_text = json_dumps(keys, JSON_COMPACT);
    sqlite3_stmt *s = store_prepare(st, SQL_ITEMS_INCIDENT);
    if (!keys_text || !s) {
        rc = keys_text ? -EIO : -ENOMEM;
        goto out;
    }
    sqlite3_bind_int64(s, 1, incident);
    sqlite3_bind_text(s, 2, keys_text, -1, SQLITE_TRANSIENT);
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) {
        struct evidence_item it;
        read_item(s, &it);
        json_array_append_new(arr, store_evidence_item_json(&it));
    }
    if (r != SQLITE_DONE)
        rc = store_fail(st, "evidence: listing items");
    store_stmt_done(s);
out:
    free(keys_text);
    json_decref(keys);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

static const char SQL_CUSTODY_LAST[] =
    "SELECT seq, action, who, at_usec, detail, prev_hash, hash FROM evidence_custody"
    " WHERE sha256 = ?1 ORDER BY seq DESC LIMIT 1";
static const char SQL_CUSTODY_ALL[] =
    "SELECT seq, action, who, at_usec, detail, prev_hash, hash FROM evidence_custody"
    " WHERE sha256 = ?1 ORDER BY seq";

static void read_custody(sqlite3_stmt *s, struct evidence_custody *e)
{
    memset(e, 0, sizeof(*e));
    e->seq = sqlite3_column_int64(s, 0);
    store_col_text(s, 1, e->action, sizeof(e->action));
    store_col_text(s, 2, e->who, sizeof(e->who));
    e->at_usec = (uint64_t)sqlite3_column_int64(s, 3);
    store_col_text(s, 4, e->detail, sizeof(e->detail));
    store_col_text(s, 5, e->prev_hash, sizeof(e->prev_hash));
    store_col_text(s, 6, e->hash, sizeof(e->hash));
}

int store_evidence_custody_last(struct store *st, const char *sha256,
                                struct evidence_custody *out)
{
    sqlite3_stmt *s = store_prepare(st, SQL_CUSTODY_LAST);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        read_custody(s, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_fail(st, "evidence: reading custody");
    }
    store_stmt_done(s);
    return rc;
}

static const char SQL_CUSTODY_INSERT[] =
    "INSERT INTO evidence_custody (sha256, seq, action, who, at_usec, detail, prev_hash, hash)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

int store_evidence_custody_insert(struct store *st, const char *sha256,
                                  const struct evidence_custody *e)
{
    sqlite3_stmt *s = store_prepare(st, SQL_CUSTODY_INSERT);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, e->seq);
    sqlite3_bind_text(s, 3, e->action, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, e->who, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 5, (sqlite3_int64)e->at_usec);
    sqlite3_bind_text(s, 6, e->detail, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 7, e->prev_hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 8, e->hash, -1, SQLITE_TRANSIENT);
    return store_step_done(st, s, "evidence: appending custody");
}

int store_evidence_custody_json(struct store *st, const char *sha256, json_t **out)
{
    sqlite3_stmt *s = store_prepare(st, SQL_CUSTODY_ALL);
    json_t *arr = json_array();
    if (!s || !arr) {
        json_decref(arr);
        return s ? -ENOMEM : -EIO;
    }
    sqlite3_bind_text(s, 1, sha256, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct evidence_custody e;
        read_custody(s, &e);
        json_t *o = json_object();
        json_set_u64(o, "seq", (uint64_t)e.seq);
        json_object_set_new(o, "action", json_string(e.action));
        json_object_set_new(o, "who", json_string(e.who));
        json_set_u64(o, "at_usec", e.at_usec);
        json_set_time(o, "at", e.at_usec);
        json_object_set_new(o, "detail", json_string(e.detail));
        json_object_set_new(o, "prev_hash", json_string(e.prev_hash));
        json_object_set_new(o, "hash", json_string(e.hash));
        json_array_append_new(arr, o);
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail(st, "evidence: reading custody");
    store_stmt_done(s);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}
