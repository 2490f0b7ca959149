/*
 * store_intel -- SQL of indicator pushes and modes (see store_intel.h).
 */
#include "store_intel.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS intel_push ("
    " id INTEGER PRIMARY KEY, actor TEXT NOT NULL, issued_usec INTEGER NOT NULL,"
    " sensor TEXT NOT NULL, replace INTEGER NOT NULL, addresses TEXT NOT NULL,"
    " domains TEXT NOT NULL, n_addresses INTEGER NOT NULL, n_domains INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS intel_push_sensor ON intel_push (sensor, id);"
    "CREATE TABLE IF NOT EXISTS intel_mode ("
    " sensor TEXT PRIMARY KEY, heightened INTEGER NOT NULL, factor REAL NOT NULL,"
    " command_id INTEGER NOT NULL, actor TEXT NOT NULL, at_usec INTEGER NOT NULL);";

int store_intel_init(struct store *st)
{
    return store_exec(st, SCHEMA);
}

static const char SQL_PUSH_ADD[] =
    "INSERT INTO intel_push (id, actor, issued_usec, sensor, replace, addresses, domains,"
    " n_addresses, n_domains) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

int store_intel_push_add(struct store *st, const struct intel_push_row *r)
{
    sqlite3_stmt *s = store_prepare(st, SQL_PUSH_ADD);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)r->id);
    sqlite3_bind_text(s, 2, r->actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)r->issued_usec);
    sqlite3_bind_text(s, 4, r->sensor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 5, r->replace);
    sqlite3_bind_text(s, 6, r->addresses ? r->addresses : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 7, r->domains ? r->domains : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 8, (sqlite3_int64)r->n_addresses);
    sqlite3_bind_int64(s, 9, (sqlite3_int64)r->n_domains);
    return store_step_done(st, s, "intel: recording a push");
}

#define PUSH_COLS                                                                                  \
    "id, actor, issued_usec, sensor, replace, addresses, domains, n_addresses,"                    \
    " n_domains"

static void read_push(sqlite3_stmt *s, struct intel_push_row *r)
{
    memset(r, 0, sizeof(*r));
    r->id = (uint64_t)sqlite3_column_int64(s, 0);
    store_col_text(s, 1, r->actor, sizeof(r->actor));
    r->issued_usec = (uint64_t)sqlite3_column_int64(s, 2);
    store_col_text(s, 3, r->sensor, sizeof(r->sensor));
    r->replace = sqlite3_column_int(s, 4) != 0;
    r->addresses = (const char *)sqlite3_column_text(s, 5);
    r->domains = (const char *)sqlite3_column_text(s, 6);
    r->n_addresses = (uint64_t)sqlite3_column_int64(s, 7);
    r->n_domains = (uint64_t)sqlite3_column_int64(s, 8);
}

static const char SQL_PUSHES_FOR[] =
    "SELECT " PUSH_COLS " FROM intel_push WHERE sensor IN ('', ?1) AND id >= coalesce("
    "(SELECT max(id) FROM intel_push WHERE replace = 1 AND sensor IN ('', ?1)), 0) ORDER BY id";

int store_intel_pushes_for(struct store *st, const char *sensor, store_intel_push_fn fn, void *arg)
{
    /* Its own statement: fn may read the store (the cache shares one per SQL text). */
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_db(st), SQL_PUSHES_FOR, -1, &s, NULL) != SQLITE_OK)
        return store_fail(st, "intel: reading pushes");
    sqlite3_bind_text(s, 1, sensor, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct intel_push_row r;
        read_push(s, &r);
        if ((rc = fn(arg, &r)) != 0)
            break;
    }
    if (rc == SQLITE_DONE)
        rc = 0;
    else if (rc > 0)
        rc = store_fail(st, "intel: reading pushes");
    sqlite3_finalize(s);
    return rc;
}

static const char SQL_VERSION_FOR[] =
    "SELECT coalesce(max(id), 0) FROM intel_push WHERE sensor IN ('', ?1)";

int store_intel_version_for(struct store *st, const char *sensor, uint64_t *out)
{
    sqlite3_stmt *s = store_prepare(st, SQL_VERSION_FOR);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sensor, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(s, 0);
        rc = 0;
    } else {
        rc = store_fail(st, "intel: reading the version");
    }
    store_stmt_done(s);
    return rc;
}

static json_t *lines_json(const char *text)
{
    json_t *a = json_array();
    while (a && text && *text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        if (n)
            json_array_append_new(a, json_stringn(text, n));
        text += n + (nl ? 1 : 0);
    }
    return a;
}

static const char SQL_PUSHES[] = "SELECT " PUSH_COLS " FROM intel_push ORDER BY id DESC LIMIT ?1";

int store_intel_pushes_json(struct store *st, size_t limit, bool full, json_t **out)
{
    sqlite3_stmt *s = store_prepare(st, SQL_PUSHES);
    json_t *arr = json_array();
    if (!s || !arr) {
        json_decref(arr);
        return s ? -ENOMEM : -EIO;
    }
    sqlite3_bind_int64(s, 1, (sqlite3_int64)limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct intel_push_row r;
        read_push(s, &r);
        json_t *o =
            json_pack("{s:I, s:s, s:s, s:b, s:I, s:I}", "id", (json_int_t)r.id, "actor", r.actor,
                      "sensor", r.sensor[0] ? r.sensor : "*", "replace", r.replace, "addresses",
                      (json_int_t)r.n_addresses, "domains", (json_int_t)r.n_domains);
        if (!o)
            continue;
        json_set_time(o, "issued", r.issued_usec);
        if (full) {
            json_object_set_new(o, "address_list", lines_json(r.addresses));
            json_object_set_new(o, "domain_list", lines_json(r.domains));
        }
        json_array_append_new(arr, o);
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail(st, "intel: listing pushes");
    store_stmt_done(s);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

static const char SQL_MODE_CLEAR[] = "DELETE FROM intel_mode WHERE sensor <> ''";
static const char SQL_MODE_SET[] =
    "INSERT OR REPLACE INTO intel_mode (sensor, heightened, factor, command_id, actor, at_usec)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

int store_intel_mode_set(struct store *st, const struct intel_mode_row *m)
{
    sqlite3_stmt *s;
    int rc;
    if (!m->sensor[0]) {
        if (!(s = store_prepare(st, SQL_MODE_CLEAR)))
            return -EIO;
        if ((rc = store_step_done(st, s, "intel: clearing per-sensor modes")) != 0)
            return rc;
    }
    if (!(s = store_prepare(st, SQL_MODE_SET)))
        return -EIO;
    sqlite3_bind_text(s, 1, m->sensor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 2, m->heightened);
    sqlite3_bind_double(s, 3, m->factor);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)m->command_id);
    sqlite3_bind_text(s, 5, m->actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)m->at_usec);
    return store_step_done(st, s, "intel: recording a mode");
}

static const char SQL_MODE_GET[] =
    "SELECT sensor, heightened, factor, command_id, actor, at_usec FROM intel_mode"
    " WHERE sensor IN ('', ?1) ORDER BY sensor DESC LIMIT 1";

int store_intel_mode_get(struct store *st, const char *sensor, struct intel_mode_row *out)
{
    sqlite3_stmt *s = store_prepare(st, SQL_MODE_GET);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, sensor, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        store_col_text(s, 0, out->sensor, sizeof(out->sensor));
        out->heightened = sqlite3_column_int(s, 1) != 0;
        out->factor = sqlite3_column_double(s, 2);
        out->command_id = (uint64_t)sqlite3_column_int64(s, 3);
        store_col_text(s, 4, out->actor, sizeof(out->actor));
        out->at_usec = (uint64_t)sqlite3_column_int64(s, 5);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_fail(st, "intel: reading the mode");
    }
    store_stmt_done(s);
    return rc;
}
