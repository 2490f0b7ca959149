/*
 * store_audit -- the audit log's tables.  `audit` holds the rows of the hash
 * chain with explicit ids (never reused: the next id comes from the head, not
 * from SQLite); `audit_head` holds one row with the last id and hash.
 */
#include "store_audit.h"

#include <errno.h>
#include <string.h>

#include "store_int.h"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS audit ("
    " id INTEGER PRIMARY KEY,"
    " time_usec INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " uid INTEGER NOT NULL,"
    " role TEXT NOT NULL,"
    " action TEXT NOT NULL,"
    " object TEXT NOT NULL,"
    " object_id INTEGER NOT NULL,"
    " details TEXT NOT NULL,"
    " prev_hash TEXT NOT NULL,"
    " hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_object ON audit(object, object_id);"
    "CREATE TABLE IF NOT EXISTS audit_head ("
    " one INTEGER PRIMARY KEY CHECK (one = 1),"
    " last_id INTEGER NOT NULL,"
    " hash TEXT NOT NULL);";

int store_audit_create(struct store *st)
{
    return store_exec(st, schema_sql);
}

int store_audit_head(struct store *st, int64_t *last_id, char hash[65])
{
    static const char sql[] = "SELECT last_id, hash FROM audit_head WHERE one = 1";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    *last_id = 0;
    hash[0] = '\0';
    if (rc == SQLITE_ROW) {
        *last_id = sqlite3_column_int64(s, 0);
        const unsigned char *h = sqlite3_column_text(s, 1);
        if (h) {
            strncpy(hash, (const char *)h, 64);
            hash[64] = '\0';
        }
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = store_fail(st, "audit: reading the head");
    }
    sqlite3_reset(s);
    return rc;
}

int store_audit_set_head(struct store *st, int64_t last_id, const char *hash)
{
    static const char sql[] = "INSERT INTO audit_head(one, last_id, hash) VALUES (1, ?1, ?2)"
                              " ON CONFLICT(one) DO UPDATE SET last_id = ?1, hash = ?2";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, last_id);
    sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, "audit: writing the head");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int store_audit_insert(struct store *st, const struct store_audit_row *r)
{
    static const char sql[] =
        "INSERT INTO audit(id, time_usec, actor, uid, role, action, object, object_id,"
        " details, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, r->id);
    sqlite3_bind_int64(s, 2, r->time_usec);
    sqlite3_bind_text(s, 3, r->actor, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, r->uid);
    sqlite3_bind_text(s, 5, r->role, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, r->action, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, r->object, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, r->object_id);
    sqlite3_bind_text(s, 9, r->details, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 10, r->prev_hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 11, r->hash, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc == SQLITE_CONSTRAINT)
        rc = -EEXIST;
    else
        rc = store_fail(st, "audit: appending a row");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : "";
}

static void row_from(sqlite3_stmt *s, struct store_audit_row *r)
{
    r->id = sqlite3_column_int64(s, 0);
    r->time_usec = sqlite3_column_int64(s, 1);
    r->actor = col_text(s, 2);
    r->uid = sqlite3_column_int64(s, 3);
    r->role = col_text(s, 4);
    r->action = col_text(s, 5);
    r->object = col_text(s, 6);
    r->object_id = sqlite3_column_int64(s, 7);
    r->details = col_text(s, 8);
    r->prev_hash = col_text(s, 9);
    r->hash = col_text(s, 10);
}

#define ROW_COLS                                                                           \
    "id, time_usec, actor, uid, role, action, object, object_id, details, prev_hash, hash"

int store_audit_each(struct store *st, store_audit_fn fn, void *arg)
{
    /*
     * Not cached: a verify walk may run while a caller's statement is live, and
     * it is rare.  CAST keeps a text value typed into an integer column visible.
     */
    static const char sql[] = "SELECT " ROW_COLS " FROM audit ORDER BY id";
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        return store_fail(st, "audit: walking the log");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_audit_row r;
        row_from(s, &r);
        int frc = fn(arg, &r);
        if (frc) {
            sqlite3_finalize(s);
            return frc;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail(st, "audit: walking the log");
    sqlite3_finalize(s);
    return rc;
}

int store_audit_query(struct store *st, const char *object, int64_t object_id,
                      const char *action, int64_t after_id, uint64_t limit, json_t **out)
{
    static const char sql[] =
        "SELECT " ROW_COLS " FROM audit WHERE id > ?1"
        " AND (?2 IS NULL OR object = ?2) AND (?3 = 0 OR object_id = ?3)"
        " AND (?4 IS NULL OR action = ?4 OR (substr(?4, -1) = '.' AND"
        "      substr(action, 1, length(?4)) = ?4))"
        " ORDER BY id LIMIT ?5";
    *out = NULL;
    json_t *arr = json_array();
    if (!arr)
        return -ENOMEM;
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s) {
        json_decref(arr);
        return -EIO;
    }
    sqlite3_bind_int64(s, 1, after_id);
    if (object)
        sqlite3_bind_text(s, 2, object, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, object ? object_id : 0);
    if (action)
        sqlite3_bind_text(s, 4, action, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, limit ? (int64_t)WARD_MIN(limit, (uint64_t)INT64_MAX) : 1000);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_audit_row r;
        row_from(s, &r);
        json_t *details = json_loads(r.details, 0, NULL);
        json_t *o = json_pack("{s:I, s:I, s:s, s:I, s:s, s:s, s:s, s:I, s:o, s:s, s:s}",
                              "id", (json_int_t)r.id, "time_usec", (json_int_t)r.time_usec,
                              "actor", r.actor, "uid", (json_int_t)r.uid, "role", r.role,
                              "action", r.action, "object", r.object, "object_id",
                              (json_int_t)r.object_id, "details",
                              details ? details : json_string(r.details), "prev_hash",
                              r.prev_hash, "hash", r.hash);
        if (!o) {
            rc = SQLITE_NOMEM;
            break;
        }
        json_set_time(o, "time", r.time_usec > 0 ? (uint64_t)r.time_usec : 0);
        json_array_append_new(arr, o);
    }
    if (rc == SQLITE_DONE) {
        rc = 0;
        *out = arr;
    } else {
        rc = rc == SQLITE_NOMEM ? -ENOMEM : store_fail(st, "audit: listing");
        json_decref(arr);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int store_audit_savepoint(struct store *st)
{
    return store_exec(st, "SAVEPOINT audit_append");
}

int store_audit_release(struct store *st)
{
    return store_exec(st, "RELEASE audit_append");
}

void store_audit_rollback_to(struct store *st)
{
    /* Both log their own failure; there is nothing more a caller could do. */
    if (store_exec(st, "ROLLBACK TO audit_append") == 0 &&
        store_exec(st, "RELEASE audit_append") != 0)
        return;
}
