/*
 * store_contain -- SQL of containment (see store_contain.h).
 */
#include "store_contain.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS contain_cmd ("
    " id INTEGER PRIMARY KEY, action TEXT NOT NULL, host TEXT NOT NULL,"
    " incident INTEGER NOT NULL, actor TEXT NOT NULL, issued_usec INTEGER NOT NULL,"
    " ttl_sec INTEGER NOT NULL, dry_run INTEGER NOT NULL, drill INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS contain_result ("
    " command_id INTEGER NOT NULL, sensor TEXT NOT NULL, status TEXT NOT NULL,"
    " detail TEXT NOT NULL, backend TEXT NOT NULL, at_usec INTEGER NOT NULL,"
    " PRIMARY KEY (command_id, sensor));"
    "CREATE TABLE IF NOT EXISTS contain_host ("
    " host TEXT PRIMARY KEY, state TEXT NOT NULL, incident INTEGER NOT NULL,"
    " command_id INTEGER NOT NULL, actor TEXT NOT NULL, since_usec INTEGER NOT NULL,"
    " expires_usec INTEGER NOT NULL, backend TEXT NOT NULL, leak_packets INTEGER NOT NULL,"
    " leak_last_usec INTEGER NOT NULL, dry_run INTEGER NOT NULL);";

int store_contain_init(struct store *st)
{
    return store_exec(st, SCHEMA);
}

static const char SQL_NEXT_ID[] = "SELECT coalesce(max(id), 0) + 1 FROM contain_cmd";

int store_contain_next_id(struct store *st, uint64_t *out)
{
    sqlite3_stmt *s = store_prepare(st, SQL_NEXT_ID);
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *out = (uint64_t)sqlite3_column_int64(s, 0);
        rc = 0;
    } else {
        rc = store_fail(st, "contain: next command id");
    }
    store_stmt_done(s);
    return rc;
}

static const char SQL_CMD_ADD[] =
    "INSERT INTO contain_cmd (id, action, host, incident, actor, issued_usec, ttl_sec, dry_run,"
    " drill) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

int store_contain_cmd_add(struct store *st, const struct contain_cmd_row *r)
{
    sqlite3_stmt *s = store_prepare(st, SQL_CMD_ADD);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)r->id);
    sqlite3_bind_text(s, 2, r->action, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, r->host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, r->incident);
    sqlite3_bind_text(s, 5, r->actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)r->issued_usec);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)r->ttl_sec);
    sqlite3_bind_int(s, 8, r->dry_run);
    sqlite3_bind_int(s, 9, r->drill);
    return store_step_done(st, s, "contain: recording a command");
}

static const char SQL_CMD_GET[] =
    "SELECT id, action, host, incident, actor, issued_usec, ttl_sec, dry_run, drill"
    " FROM contain_cmd WHERE id = ?1";

int store_contain_cmd_get(struct store *st, uint64_t id, struct contain_cmd_row *out)
{
    sqlite3_stmt *s = store_prepare(st, SQL_CMD_GET);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        out->id = (uint64_t)sqlite3_column_int64(s, 0);
        store_col_text(s, 1, out->action, sizeof(out->action));
        store_col_text(s, 2, out->host, sizeof(out->host));
        out->incident = sqlite3_column_int64(s, 3);
        store_col_text(s, 4, out->actor, sizeof(out->actor));
        out->issued_usec = (uint64_t)sqlite3_column_int64(s, 5);
        out->ttl_sec = (uint64_t)sqlite3_column_int64(s, 6);
        out->dry_run = sqlite3_column_int(s, 7) != 0;
        out->drill = sqlite3_column_int(s, 8) != 0;
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_fail(st, "contain: reading a command");
    }
    store_stmt_done(s);
    return rc;
}

static const char SQL_RESULT[] =
    "INSERT INTO contain_result (command_id, sensor, status, detail, backend, at_usec)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (command_id, sensor) DO UPDATE SET"
    " status = excluded.status, detail = excluded.detail, backend = excluded.backend,"
    " at_usec = excluded.at_usec";

int store_contain_result(struct store *st, uint64_t id, const char *sensor, const char *status,
                         const char *detail, const char *backend, uint64_t at_usec)
{
    sqlite3_stmt *s = store_prepare(st, SQL_RESULT);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
    sqlite3_bind_text(s, 2, sensor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, detail ? detail : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, backend ? backend : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)at_usec);
    return store_step_done(st, s, "contain: recording a result");
}

static const char SQL_SENT_TO[] =
    "SELECT 1 FROM contain_result WHERE command_id = ?1 AND sensor = ?2"
    " AND status <> 'unreachable'";

int store_contain_sent_to(struct store *st, uint64_t id, const char *sensor)
{
    sqlite3_stmt *s = store_prepare(st, SQL_SENT_TO);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
    sqlite3_bind_text(s, 2, sensor, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    rc = rc == SQLITE_ROW    ? 0
         : rc == SQLITE_DONE ? -ENOENT
                             : store_fail(st, "contain: looking up where a command went");
    store_stmt_done(s);
    return rc;
}

static const char SQL_RESULTS[] =
    "SELECT sensor, status, detail, backend, at_usec FROM contain_result WHERE command_id = ?1"
    " ORDER BY sensor";

int store_contain_results_json(struct store *st, uint64_t id, json_t **out)
{
    sqlite3_stmt *s = store_prepare(st, SQL_RESULTS);
    json_t *arr = json_array();
    if (!s || !arr) {
        json_decref(arr);
        return s ? -ENOMEM : -EIO;
    }
    sqlite3_bind_int64(s, 1, (sqlite3_int64)id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "sensor",
                              (const char *)sqlite3_column_text(s, 0), "status",
                              (const char *)sqlite3_column_text(s, 1), "detail",
                              (const char *)sqlite3_column_text(s, 2), "backend",
                              (const char *)sqlite3_column_text(s, 3));
        if (o)
            json_set_time(o, "at", (uint64_t)sqlite3_column_int64(s, 4));
        json_array_append_new(arr, o);
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail(st, "contain: reading results");
    store_stmt_done(s);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

static const char SQL_HOST_PUT[] =
    "INSERT OR REPLACE INTO contain_host (host, state, incident, command_id, actor, since_usec,"
    " expires_usec, backend, leak_packets, leak_last_usec, dry_run)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

int store_contain_host_put(struct store *st, const struct contain_host_row *h)
{
    sqlite3_stmt *s = store_prepare(st, SQL_HOST_PUT);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, h->host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, h->state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, h->incident);
    sqlite3_bind_int64(s, 4, (sqlite3_int64)h->command_id);
    sqlite3_bind_text(s, 5, h->actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)h->since_usec);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)h->expires_usec);
    sqlite3_bind_text(s, 8, h->backend, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 9, (sqlite3_int64)h->leak_packets);
    sqlite3_bind_int64(s, 10, (sqlite3_int64)h->leak_last_usec);
    sqlite3_bind_int(s, 11, h->dry_run);
    return store_step_done(st, s, "contain: recording a host");
}

#define HOST_COLS                                                                            \
    "host, state, incident, command_id, actor, since_usec, expires_usec, backend,"           \
    " leak_packets, leak_last_usec, dry_run"

static void read_host(sqlite3_stmt *s, struct contain_host_row *h)
{
    memset(h, 0, sizeof(*h));
    store_col_text(s, 0, h->host, sizeof(h->host));
    store_col_text(s, 1, h->state, sizeof(h->state));
    h->incident = sqlite3_column_int64(s, 2);
    h->command_id = (uint64_t)sqlite3_column_int64(s, 3);
    store_col_text(s, 4, h->actor, sizeof(h->actor));
    h->since_usec = (uint64_t)sqlite3_column_int64(s, 5);
    h->expires_usec = (uint64_t)sqlite3_column_int64(s, 6);
    store_col_text(s, 7, h->backend, sizeof(h->backend));
    h->leak_packets = (uint64_t)sqlite3_column_int64(s, 8);
    h->leak_last_usec = (uint64_t)sqlite3_column_int64(s, 9);
    h->dry_run = sqlite3_column_int(s, 10) != 0;
}

static const char SQL_HOST_GET[] = "SELECT " HOST_COLS " FROM contain_host WHERE host = ?1";

int store_contain_host_get(struct store *st, const char *host, struct contain_host_row *out)
{
    sqlite3_stmt *s = store_prepare(st, SQL_HOST_GET);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, host, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        read_host(s, out);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_fail(st, "contain: reading a host");
    }
    store_stmt_done(s);
    return rc;
}

static const char SQL_HOST_STATE[] =
    "UPDATE contain_host SET state = ?2, backend = CASE WHEN ?3 = '' THEN backend ELSE ?3 END"
    " WHERE host = ?1";

int store_contain_host_state(struct store *st, const char *host, const char *state,
                             const char *backend)
{
    sqlite3_stmt *s = store_prepare(st, SQL_HOST_STATE);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, backend ? backend : "", -1, SQLITE_TRANSIENT);
    return store_step_done(st, s, "contain: updating a host");
}

static const char SQL_HOST_LEAK[] =
    "UPDATE contain_host SET leak_packets = max(leak_packets, ?2),"
    " leak_last_usec = max(leak_last_usec, ?3) WHERE host = ?1";

int store_contain_host_leak(struct store *st, const char *host, uint64_t packets,
                            uint64_t last_usec)
{
    sqlite3_stmt *s = store_prepare(st, SQL_HOST_LEAK);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)packets);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)last_usec);
    return store_step_done(st, s, "contain: recording a leak");
}

static const char SQL_HOSTS_EXPIRED[] =
    "SELECT " HOST_COLS " FROM contain_host WHERE state IN ('pending', 'active')"
    " AND dry_run = 0 AND expires_usec <= ?1";

int store_contain_hosts_expired(struct store *st, uint64_t now_usec, store_contain_host_fn fn,
                                void *arg)
{
    struct contain_host_row rows[64];
    size_t n = 0;
    sqlite3_stmt *s = store_prepare(st, SQL_HOSTS_EXPIRED);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, (sqlite3_int64)now_usec);
    int rc;
    /* Collected first: fn may write to the same table. */
    while (n < 64 && (rc = sqlite3_step(s)) == SQLITE_ROW)
        read_host(s, &rows[n++]);
    store_stmt_done(s);
    for (size_t i = 0; i < n; i++) {
        rc = fn(arg, &rows[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static const char SQL_HOSTS_ACTIVE[] =
    "SELECT " HOST_COLS " FROM contain_host WHERE state IN ('pending', 'active', 'failed')"
    " ORDER BY since_usec DESC";
static const char SQL_HOSTS_ALL[] =
    "SELECT " HOST_COLS " FROM contain_host ORDER BY since_usec DESC LIMIT 1000";

int store_contain_hosts_json(struct store *st, bool all, json_t **out)
{
    sqlite3_stmt *s = store_prepare(st, all ? SQL_HOSTS_ALL : SQL_HOSTS_ACTIVE);
    json_t *arr = json_array();
    if (!s || !arr) {
        json_decref(arr);
        return s ? -ENOMEM : -EIO;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct contain_host_row h;
        read_host(s, &h);
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:I, s:b}", "host", h.host, "state",
                              h.state, "incident", (json_int_t)h.incident, "command_id",
                              (json_int_t)h.command_id, "actor", h.actor, "backend", h.backend,
                              "leak_packets", (json_int_t)h.leak_packets, "dry_run", h.dry_run);
        if (!o)
            continue;
        json_set_time(o, "since", h.since_usec);
        json_set_time(o, "expires", h.expires_usec);
        json_set_u64(o, "expires_usec", h.expires_usec);
        if (h.leak_last_usec)
            json_set_time(o, "leak_last", h.leak_last_usec);
        json_array_append_new(arr, o);
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail(st, "contain: listing hosts");
    store_stmt_done(s);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}
