/*
 * store_incidents -- see store_incidents.h.  Workflow fields live in one JSON
 * column: they are read and written whole with the incident and never queried.
 */
#include "store_incidents.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "event_json.h"
#include "store_int.h"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS incidents ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " title TEXT NOT NULL,"
    " state TEXT NOT NULL,"
    " level INTEGER NOT NULL,"
    " auto_level INTEGER NOT NULL,"
    " level_reason TEXT NOT NULL,"
    " level_by TEXT NOT NULL,"
    " campaign INTEGER NOT NULL,"
    " campaign_key TEXT NOT NULL,"
    " first_usec INTEGER NOT NULL,"
    " last_usec INTEGER NOT NULL,"
    " detected_usec INTEGER NOT NULL,"
    " updated_usec INTEGER NOT NULL,"
    " assignee TEXT NOT NULL,"
    " acked_usec INTEGER NOT NULL,"
    " acked_by TEXT NOT NULL,"
    " director_usec INTEGER NOT NULL,"
    " director_by TEXT NOT NULL,"
    " leadership_usec INTEGER NOT NULL,"
    " leadership_by TEXT NOT NULL,"
    " handling_usec INTEGER NOT NULL,"
    " handling_by TEXT NOT NULL,"
    " closed_usec INTEGER NOT NULL,"
    " merged_into INTEGER NOT NULL,"
    " containment INTEGER NOT NULL,"
    " fields TEXT NOT NULL,"
    " kinds INTEGER NOT NULL,"
    " n_hosts INTEGER NOT NULL,"
    " n_sources INTEGER NOT NULL,"
    " n_segments INTEGER NOT NULL,"
    " crit1 INTEGER NOT NULL,"
    " crit2 INTEGER NOT NULL,"
    " crit3 INTEGER NOT NULL,"
    " crit4 INTEGER NOT NULL,"
    " core_host TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS incidents_campaign ON incidents(campaign_key, state);"
    "CREATE TABLE IF NOT EXISTS incident_hosts ("
    " incident INTEGER NOT NULL,"
    " addr TEXT NOT NULL,"
    " internal INTEGER NOT NULL,"
    " acting INTEGER NOT NULL,"
    " targeted INTEGER NOT NULL,"
    " segment TEXT NOT NULL,"
    " sensor TEXT NOT NULL,"
    " criticality INTEGER NOT NULL,"
    " first_usec INTEGER NOT NULL,"
    " last_usec INTEGER NOT NULL,"
    " PRIMARY KEY (incident, addr));"
    "CREATE INDEX IF NOT EXISTS incident_hosts_addr ON incident_hosts(addr);"
    "CREATE INDEX IF NOT EXISTS incident_hosts_segment ON incident_hosts(incident, segment);"
    "CREATE TABLE IF NOT EXISTS incident_links ("
    " event INTEGER PRIMARY KEY,"
    " incident INTEGER NOT NULL,"
    " received_usec INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS incident_links_incident ON incident_links(incident);"
    "CREATE TABLE IF NOT EXISTS incident_keys ("
    " incident INTEGER NOT NULL,"
    " key TEXT NOT NULL,"
    " PRIMARY KEY (incident, key));"
    "CREATE INDEX IF NOT EXISTS incident_keys_key ON incident_keys(key);"
    "CREATE TABLE IF NOT EXISTS incident_notices ("
    " incident INTEGER NOT NULL,"
    " clock TEXT NOT NULL,"
    " stage TEXT NOT NULL,"
    " time_usec INTEGER NOT NULL,"
    " status INTEGER NOT NULL,"
    " PRIMARY KEY (incident, clock, stage));";

/*
 * Databases written before links referred to event rows kept a copy of each
 * event in incident_events: point the links at the events table and drop the
 * copies.  Both steps may run again after a crash between them.
 */
static int migrate_event_copies(struct store *st)
{
    static const char probe[] =
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'incident_events'";
    sqlite3_stmt *s = store_prepare(st, probe);
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    bool old = rc == SQLITE_ROW;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_fail(st, "incidents: schema");
    store_stmt_done(s);
    if (rc || !old)
        return rc;
    return store_exec(st, "INSERT OR IGNORE INTO incident_links(event, incident, received_usec)"
                          " SELECT e.id, ie.incident, ie.received_usec FROM incident_events ie"
                          " JOIN sensors s ON s.name = ie.sensor"
                          " JOIN events e ON e.sensor_id = s.id AND e.uid = ie.uid;"
                          "DROP TABLE incident_events;");
}

int store_incidents_create(struct store *st)
{
    int rc = store_exec(st, schema_sql);
    return rc ? rc : migrate_event_copies(st);
}

void store_incidents_row_fini(struct incident_row *row)
{
    json_decref(row->fields);
    row->fields = NULL;
}

static int64_t i64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static uint64_t u64col(sqlite3_stmt *s, int i)
{
    int64_t v = sqlite3_column_int64(s, i);
    return v < 0 ? 0 : (uint64_t)v;
}

static const char *txt(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : "";
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

#define ROW_COLS                                                                           \
    "title, state, level, auto_level, level_reason, level_by, campaign, campaign_key,"    \
    " first_usec, last_usec, detected_usec, updated_usec, assignee, acked_usec, acked_by," \
    " director_usec, director_by, leadership_usec, leadership_by, handling_usec,"          \
    " handling_by, closed_usec, merged_into, containment, fields, kinds, n_hosts,"         \
    " n_sources, n_segments, crit1, crit2, crit3, crit4, core_host"

/* Binds the row's columns from index 1 (ROW_COLS order); returns -ENOMEM for fields. */
static int bind_row(sqlite3_stmt *s, const struct incident_row *r, char **fields_text)
{
    /* Most incidents have no fields: skip jansson for the "{}" it would print. */
    *fields_text = r->fields && (!json_is_object(r->fields) || json_object_size(r->fields))
                       ? json_dumps(r->fields, JSON_COMPACT | JSON_SORT_KEYS)
                       : strdup("{}");
    if (!*fields_text)
        return -ENOMEM;
    int i = 1;
    sqlite3_bind_text(s, i++, r->title, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, i++, incident_state_name(r->state), -1, SQLITE_STATIC);
    sqlite3_bind_int(s, i++, r->level);
    sqlite3_bind_int(s, i++, r->auto_level);
    sqlite3_bind_text(s, i++, r->level_reason, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, i++, r->level_by, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, i++, r->campaign);
    sqlite3_bind_text(s, i++, r->campaign_key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, i++, i64(r->first_usec));
    sqlite3_bind_int64(s, i++, i64(r->last_usec));
    sqlite3_bind_int64(s, i++, i64(r->detected_usec));
    sqlite3_bind_int64(s, i++, i64(r->updated_usec));
    sqlite3_bind_text(s, i++, r->assignee, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, i++, i64(r->acked_usec));
    sqlite3_bind_text(s, i++, r->acked_by, -1, SQLITE_STATIC);
    for (int k = 0; k < SLA_CLOCK_COUNT; k++) {
        sqlite3_bind_int64(s, i++, i64(r->met_usec[k]));
        sqlite3_bind_text(s, i++, r->met_by[k], -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(s, i++, i64(r->closed_usec));
    sqlite3_bind_int64(s, i++, r->merged_into);
    sqlite3_bind_int(s, i++, (int)r->containment);
    sqlite3_bind_text(s, i++, *fields_text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, i++, r->kinds);
    sqlite3_bind_int(s, i++, (int)r->n_hosts);
    sqlite3_bind_int(s, i++, (int)r->n_sources);
    sqlite3_bind_int(s, i++, (int)r->n_segments);
    for (int k = 1; k <= 4; k++)
        sqlite3_bind_int(s, i++, (int)r->crit[k]);
    sqlite3_bind_text(s, i++, r->core_host, -1, SQLITE_STATIC);
    return i;
}

/* Reads a row whose columns start with id, then ROW_COLS. */
static int read_row(sqlite3_stmt *s, struct incident_row *r)
{
    memset(r, 0, sizeof(*r));
    int i = 0;
    r->id = sqlite3_column_int64(s, i++);
    copy(r->title, sizeof(r->title), txt(s, i++));
    if (incident_state_parse(txt(s, i++), &r->state) < 0)
        r->state = INCIDENT_RECORDED;
    r->level = sqlite3_column_int(s, i++);
    r->auto_level = sqlite3_column_int(s, i++);
    copy(r->level_reason, sizeof(r->level_reason), txt(s, i++));
    copy(r->level_by, sizeof(r->level_by), txt(s, i++));
    r->campaign = sqlite3_column_int(s, i++) != 0;
    copy(r->campaign_key, sizeof(r->campaign_key), txt(s, i++));
    r->first_usec = u64col(s, i++);
    r->last_usec = u64col(s, i++);
    r->detected_usec = u64col(s, i++);
    r->updated_usec = u64col(s, i++);
    copy(r->assignee, sizeof(r->assignee), txt(s, i++));
    r->acked_usec = u64col(s, i++);
    copy(r->acked_by, sizeof(r->acked_by), txt(s, i++));
    for (int k = 0; k < SLA_CLOCK_COUNT; k++) {
        r->met_usec[k] = u64col(s, i++);
        copy(r->met_by[k], sizeof(r->met_by[k]), txt(s, i++));
    }
    r->closed_usec = u64col(s, i++);
    r->merged_into = sqlite3_column_int64(s, i++);
    int c = sqlite3_column_int(s, i++);
    r->containment = c < 0 ? 0 : (unsigned)c;
    const char *fields = txt(s, i++);
    r->fields = strcmp(fields, "{}") == 0 ? json_object() : json_loads(fields, 0, NULL);
    r->kinds = (uint32_t)sqlite3_column_int64(s, i++);
    r->n_hosts = (unsigned)sqlite3_column_int(s, i++);
    r->n_sources = (unsigned)sqlite3_column_int(s, i++);
    r->n_segments = (unsigned)sqlite3_column_int(s, i++);
    for (int k = 1; k <= 4; k++)
        r->crit[k] = (unsigned)sqlite3_column_int(s, i++);
    copy(r->core_host, sizeof(r->core_host), txt(s, i++));
    if (!json_is_object(r->fields)) {
        json_decref(r->fields);
        r->fields = json_object();
    }
    return r->fields ? 0 : -ENOMEM;
}

int store_incidents_insert(struct store *st, struct incident_row *row)
{
    static const char sql[] = "INSERT INTO incidents(" ROW_COLS ") VALUES (?,?,?,?,?,?,?,?,?,?,"
                              "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    char *ft = NULL;
    int rc = bind_row(s, row, &ft);
    if (rc > 0)
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, "incidents: inserting");
    if (rc == 0)
        row->id = sqlite3_last_insert_rowid(store_db(st));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    free(ft);
    return rc;
}

int store_incidents_update(struct store *st, const struct incident_row *row)
{
    static const char sql[] =
        "UPDATE incidents SET title=?1, state=?2, level=?3, auto_level=?4, level_reason=?5,"
        " level_by=?6, campaign=?7, campaign_key=?8, first_usec=?9, last_usec=?10,"
        " detected_usec=?11, updated_usec=?12, assignee=?13, acked_usec=?14, acked_by=?15,"
        " director_usec=?16, director_by=?17, leadership_usec=?18, leadership_by=?19,"
        " handling_usec=?20, handling_by=?21, closed_usec=?22, merged_into=?23,"
        " containment=?24, fields=?25, kinds=?26, n_hosts=?27, n_sources=?28, n_segments=?29,"
        " crit1=?30, crit2=?31, crit3=?32, crit4=?33, core_host=?34 WHERE id=?35";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    char *ft = NULL;
    int rc = bind_row(s, row, &ft);
    if (rc > 0) {
        sqlite3_bind_int64(s, 35, row->id);
        rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, "incidents: updating");
        if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
            rc = -ENOENT;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    free(ft);
    return rc;
}

int store_incidents_get(struct store *st, int64_t id, struct incident_row *row)
{
    static const char sql[] = "SELECT id, " ROW_COLS " FROM incidents WHERE id = ?1";
    memset(row, 0, sizeof(*row));
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = read_row(s, row);
    else if (rc == SQLITE_DONE)
        rc = -ENOENT;
    else
        rc = store_fail(st, "incidents: reading");
    sqlite3_reset(s);
    return rc;
}

/* Adds id to the sorted set ids[0..*n). */
static void add_id(int64_t *ids, size_t cap, size_t *n, int64_t id)
{
    size_t i = 0;
    while (i < *n && ids[i] < id)
        i++;
    if ((i < *n && ids[i] == id) || *n >= cap)
        return;
    memmove(ids + i + 1, ids + i, (*n - i) * sizeof(*ids));
    ids[i] = id;
    (*n)++;
}

int store_incidents_candidates(struct store *st, const char *const *hosts, size_t nhosts,
                               const char *campaign_key, uint64_t since_usec, int64_t *ids,
                               size_t cap, size_t *n)
{
    static const char by_host[] =
        "SELECT i.id FROM incident_hosts h JOIN incidents i ON i.id = h.incident"
        " WHERE h.addr = ?1 AND i.state NOT IN ('closed', 'merged') AND i.last_usec >= ?2";
    static const char by_key[] =
        "SELECT i.id FROM incident_keys k JOIN incidents i ON i.id = k.incident"
        " WHERE k.key = ?1 AND i.state NOT IN ('closed', 'merged') AND i.last_usec >= ?2";
    *n = 0;
    for (size_t h = 0; h <= nhosts; h++) {
        const char *key = h < nhosts ? hosts[h] : campaign_key;
        if (!key || !*key)
            continue;
        sqlite3_stmt *s = store_prepare(st, h < nhosts ? by_host : by_key);
        if (!s)
            return -EIO;
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, i64(since_usec));
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            add_id(ids, cap, n, sqlite3_column_int64(s, 0));
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (rc != SQLITE_DONE)
            return store_fail(st, "incidents: finding related incidents");
    }
    return 0;
}

int store_incidents_add_host(struct store *st, int64_t incident, const struct incident_host *h,
                             struct incident_host_delta *delta)
{
    static const char find_sql[] =
        "SELECT acting FROM incident_hosts WHERE incident = ?1 AND addr = ?2";
    static const char segment_sql[] = "SELECT 1 FROM incident_hosts WHERE incident = ?1"
                                      " AND segment = ?2 AND internal LIMIT 1";
    static const char sql[] =
        "INSERT INTO incident_hosts(incident, addr, internal, acting, targeted, segment, sensor,"
        " criticality, first_usec, last_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)"
        " ON CONFLICT(incident, addr) DO UPDATE SET acting = max(acting, ?4),"
        " targeted = max(targeted, ?5), sensor = ?7, criticality = min(criticality, ?8),"
        " first_usec = min(first_usec, ?9), last_usec = max(last_usec, ?9)";
    memset(delta, 0, sizeof(*delta));
    sqlite3_stmt *s = store_prepare(st, find_sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, incident);
    sqlite3_bind_text(s, 2, h->addr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    bool exists = rc == SQLITE_ROW;
    bool was_acting = exists && sqlite3_column_int(s, 0) != 0;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_fail(st, "incidents: finding a host");
    if (!exists && h->internal && h->segment && *h->segment) {
        s = store_prepare(st, segment_sql);
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, incident);
        sqlite3_bind_text(s, 2, h->segment, -1, SQLITE_STATIC);
        rc = sqlite3_step(s);
        delta->new_segment = rc == SQLITE_DONE;
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return store_fail(st, "incidents: finding a segment");
    }
    delta->new_host = !exists;
    delta->new_source = h->acting && !was_acting;

    s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, incident);
    sqlite3_bind_text(s, 2, h->addr, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, h->internal);
    sqlite3_bind_int(s, 4, h->acting);
    sqlite3_bind_int(s, 5, h->targeted);
    sqlite3_bind_text(s, 6, h->segment ? h->segment : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, h->sensor ? h->sensor : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, h->criticality);
    sqlite3_bind_int64(s, 9, i64(h->ts_usec));
    rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, "incidents: adding a host");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

/* Runs a lookup of open incidents by one text parameter; see the header. */
static int open_by(struct store *st, const char *sql, const char *text, int64_t *ids,
                   uint64_t *last_usec, bool *acting, size_t cap, size_t *n)
{
    *n = 0;
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, text, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n >= cap) {
            store_stmt_done(s);
            return -E2BIG;
        }
        ids[*n] = sqlite3_column_int64(s, 0);
        last_usec[*n] = u64col(s, 1);
        if (acting)
            acting[*n] = sqlite3_column_int(s, 2) != 0;
        (*n)++;
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail(st, "incidents: finding open incidents");
    store_stmt_done(s);
    return rc;
}

int store_incidents_open_by_host(struct store *st, const char *addr, int64_t *ids,
                                 uint64_t *last_usec, bool *acting, size_t cap, size_t *n)
{
    static const char sql[] =
        "SELECT i.id, i.last_usec, h.acting FROM incident_hosts h JOIN incidents i"
        " ON i.id = h.incident WHERE h.addr = ?1 AND i.state NOT IN ('closed', 'merged')";
    return open_by(st, sql, addr, ids, last_usec, acting, cap, n);
}

int store_incidents_open_by_key(struct store *st, const char *key, int64_t *ids,
                                uint64_t *last_usec, size_t cap, size_t *n)
{
    static const char sql[] =
        "SELECT i.id, i.last_usec FROM incident_keys k JOIN incidents i ON i.id = k.incident"
        " WHERE k.key = ?1 AND i.state NOT IN ('closed', 'merged')";
    return open_by(st, sql, key, ids, last_usec, NULL, cap, n);
}

int store_incidents_host_find(struct store *st, int64_t incident, const char *addr,
                              bool *exists, bool *acting)
{
    static const char sql[] =
        "SELECT acting FROM incident_hosts WHERE incident = ?1 AND addr = ?2";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, incident);
    sqlite3_bind_text(s, 2, addr, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *exists = rc == SQLITE_ROW;
    *acting = *exists && sqlite3_column_int(s, 0) != 0;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_fail(st, "incidents: finding a host");
    store_stmt_done(s);
    return rc;
}

int store_incidents_has_segment(struct store *st, int64_t incident, const char *segment,
                                bool *present)
{
    static const char sql[] = "SELECT 1 FROM incident_hosts WHERE incident = ?1"
                              " AND segment = ?2 AND internal LIMIT 1";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, incident);
    sqlite3_bind_text(s, 2, segment, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *present = rc == SQLITE_ROW;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_fail(st, "incidents: finding a segment");
    store_stmt_done(s);
    return rc;
}

int store_incidents_put_host(struct store *st, int64_t incident, const struct incident_host *h,
                             uint64_t first_usec)
{
    static const char sql[] =
        "INSERT INTO incident_hosts(incident, addr, internal, acting, targeted, segment, sensor,"
        " criticality, first_usec, last_usec) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        " ON CONFLICT(incident, addr) DO UPDATE SET acting = max(acting, ?4),"
        " targeted = max(targeted, ?5), sensor = ?7, criticality = min(criticality, ?8),"
        " first_usec = min(first_usec, ?9), last_usec = max(last_usec, ?10)";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, incident);
    sqlite3_bind_text(s, 2, h->addr, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, h->internal);
    sqlite3_bind_int(s, 4, h->acting);
    sqlite3_bind_int(s, 5, h->targeted);
    sqlite3_bind_text(s, 6, h->segment ? h->segment : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, h->sensor ? h->sensor : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, h->criticality);
    sqlite3_bind_int64(s, 9, i64(first_usec));
    sqlite3_bind_int64(s, 10, i64(h->ts_usec));
    return store_step_done(st, s, "incidents: adding a host");
}

int store_incidents_hosts_each(struct store *st, int64_t incident, store_incidents_host_fn fn,
                               void *arg)
{
    static const char sql[] =
        "SELECT addr, internal, acting, targeted, segment, sensor, criticality, last_usec"
        " FROM incident_hosts WHERE incident = ?1 ORDER BY addr";
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        return store_fail(st, "incidents: reading hosts");
    sqlite3_bind_int64(s, 1, incident);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct incident_host h = {
            .addr = txt(s, 0),
            .internal = sqlite3_column_int(s, 1) != 0,
            .acting = sqlite3_column_int(s, 2) != 0,
            .targeted = sqlite3_column_int(s, 3) != 0,
            .segment = txt(s, 4),
            .sensor = txt(s, 5),
            .criticality = sqlite3_column_int(s, 6),
            .ts_usec = u64col(s, 7),
        };
        int frc = fn(arg, &h);
        if (frc) {
            sqlite3_finalize(s);
            return frc;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail(st, "incidents: reading hosts");
    sqlite3_finalize(s);
    return rc;
}

int store_incidents_event_owner(struct store *st, int64_t event, int64_t *incident)
{
    static const char sql[] = "SELECT incident FROM incident_links WHERE event = ?1";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, event);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *incident = sqlite3_column_int64(s, 0);
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_fail(st, "incidents: finding an event");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int store_incidents_max_linked(struct store *st, int64_t *event)
{
    static const char sql[] = "SELECT coalesce(max(event), 0) FROM incident_links";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    *event = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    rc = rc == SQLITE_ROW ? 0 : store_fail(st, "incidents: reading links");
    store_stmt_done(s);
    return rc;
}

int store_incidents_link_event(struct store *st, int64_t incident, int64_t event,
                               uint64_t received_usec)
{
    static const char sql[] = "INSERT INTO incident_links(event, incident, received_usec)"
                              " VALUES (?1, ?2, ?3) ON CONFLICT(event) DO NOTHING";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, event);
    sqlite3_bind_int64(s, 2, incident);
    sqlite3_bind_int64(s, 3, i64(received_usec));
    return store_step_done(st, s, "incidents: linking an event");
}

#define LINK_ROW "(?,?,?)"
#define LINK_ROWS4 LINK_ROW "," LINK_ROW "," LINK_ROW "," LINK_ROW
#define LINK_ROWS16 LINK_ROWS4 "," LINK_ROWS4 "," LINK_ROWS4 "," LINK_ROWS4
#define LINK_ROWS32 LINK_ROWS16 "," LINK_ROWS16
#define LINK_PER_STMT 32

int store_incidents_link_events(struct store *st, const struct incident_link *l, size_t n)
{
    static const char many[] = "INSERT INTO incident_links(event, incident, received_usec)"
                               " VALUES " LINK_ROWS32 " ON CONFLICT(event) DO NOTHING";
    int rc = 0;
    size_t i = 0;
    for (; rc == 0 && n - i >= LINK_PER_STMT; i += LINK_PER_STMT) {
        sqlite3_stmt *s = store_prepare(st, many);
        if (!s)
            return -EIO;
        for (int k = 0; k < LINK_PER_STMT; k++) {
            sqlite3_bind_int64(s, 3 * k + 1, l[i + k].event);
            sqlite3_bind_int64(s, 3 * k + 2, l[i + k].incident);
            sqlite3_bind_int64(s, 3 * k + 3, i64(l[i + k].received_usec));
        }
        rc = store_step_done(st, s, "incidents: linking events");
    }
    for (; rc == 0 && i < n; i++)
        rc = store_incidents_link_event(st, l[i].incident, l[i].event, l[i].received_usec);
    return rc;
}

int store_incidents_add_key(struct store *st, int64_t incident, const char *key)
{
    static const char sql[] = "INSERT OR IGNORE INTO incident_keys(incident, key) VALUES (?1, ?2)";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, incident);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, "incidents: adding a key");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int store_incidents_kinds(struct store *st, int64_t incident, uint32_t *mask)
{
    static const char sql[] = "SELECT DISTINCT e.kind FROM incident_links l"
                              " JOIN events e ON e.id = l.event WHERE l.incident = ?1";
    *mask = 0;
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, incident);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        Ward__EventKind k = event_kind_parse(txt(s, 0));
        if ((unsigned)k < 32)
            *mask |= 1u << (unsigned)k;
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail(st, "incidents: reading techniques");
    sqlite3_reset(s);
    return rc;
}

int store_incidents_merge(struct store *st, int64_t from, int64_t into)
{
    static const char move_events[] = "UPDATE incident_links SET incident = ?2 WHERE incident = ?1";
    static const char move_hosts[] =
        "INSERT INTO incident_hosts(incident, addr, internal, acting, targeted, segment, sensor,"
        " criticality, first_usec, last_usec) SELECT ?2, addr, internal, acting, targeted,"
        " segment, sensor, criticality, first_usec, last_usec FROM incident_hosts"
        " WHERE incident = ?1 AND true"
        " ON CONFLICT(incident, addr) DO UPDATE SET acting = max(acting, excluded.acting),"
        " targeted = max(targeted, excluded.targeted),"
        " criticality = min(criticality, excluded.criticality),"
        " first_usec = min(first_usec, excluded.first_usec),"
        " last_usec = max(last_usec, excluded.last_usec)";
    static const char drop_hosts[] = "DELETE FROM incident_hosts WHERE incident = ?1";
    static const char move_keys[] = "INSERT OR IGNORE INTO incident_keys(incident, key)"
                                    " SELECT ?2, key FROM incident_keys WHERE incident = ?1";
    static const char drop_keys[] = "DELETE FROM incident_keys WHERE incident = ?1";
    const char *const steps[] = {move_events, move_hosts, drop_hosts, move_keys, drop_keys};
    for (size_t i = 0; i < WARD_ARRAY_LEN(steps); i++) {
        sqlite3_stmt *s = store_prepare(st, steps[i]);
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, from);
        if (sqlite3_bind_parameter_count(s) >= 2)
            sqlite3_bind_int64(s, 2, into);
        int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, "incidents: merging");
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (rc)
            return rc;
    }
    return 0;
}

static json_t *time_or_null(uint64_t usec)
{
    char buf[40];
    return usec ? json_string(clock_format_iso(usec, buf, sizeof(buf))) : json_null();
}

static int host_json(void *arg, const struct incident_host *h)
{
    json_t *o = json_pack("{s:s, s:b, s:b, s:b, s:s, s:s, s:i}", "addr", h->addr, "internal",
                          h->internal, "acting", h->acting, "targeted", h->targeted, "segment",
                          h->segment, "sensor", h->sensor, "criticality", h->criticality);
    if (!o)
        return -ENOMEM;
    json_object_set_new(o, "last", time_or_null(h->ts_usec));
    return json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

int store_incidents_hosts_json(struct store *st, int64_t incident, json_t **out)
{
    json_t *arr = json_array();
    if (!arr)
        return -ENOMEM;
    int rc = store_incidents_hosts_each(st, incident, host_json, arr);
    if (rc) {
        json_decref(arr);
        return rc < 0 ? rc : -EIO;
    }
    *out = arr;
    return 0;
}

int store_incidents_events_json(struct store *st, int64_t incident, uint64_t limit,
                                json_t **out)
{
    /* An event without a first packet time counts from when it was linked. */
    static const char sql[] =
        "SELECT s.name, e.uid, e.kind, e.src, e.dst,"
        " CASE WHEN e.first_usec > 0 THEN e.first_usec ELSE l.received_usec END AS ev_first,"
        " max(e.last_usec, CASE WHEN e.first_usec > 0 THEN e.first_usec ELSE l.received_usec"
        " END), e.severity, e.summary, l.received_usec, " STORE_EVENT_COLS
        " FROM incident_links l JOIN events e ON e.id = l.event"
        " JOIN sensors s ON s.id = e.sensor_id WHERE l.incident = ?1"
        " ORDER BY ev_first, l.received_usec, l.event LIMIT ?2";
    json_t *arr = json_array();
    if (!arr)
        return -ENOMEM;
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s) {
        json_decref(arr);
        return -EIO;
    }
    sqlite3_bind_int64(s, 1, incident);
    sqlite3_bind_int64(s, 2, limit ? i64(limit) : 1000);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *ev = store_events_row_json(s, 10);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o}", "sensor", txt(s, 0),
                              "uid", txt(s, 1), "kind", txt(s, 2), "src", txt(s, 3), "dst",
                              txt(s, 4), "severity", sqlite3_column_int(s, 7), "summary",
                              txt(s, 8), "event", ev ? ev : json_object());
        if (!o) {
            rc = SQLITE_NOMEM;
            break;
        }
        json_object_set_new(o, "first", time_or_null(u64col(s, 5)));
        json_object_set_new(o, "last", time_or_null(u64col(s, 6)));
        json_object_set_new(o, "received", time_or_null(u64col(s, 9)));
        json_array_append_new(arr, o);
    }
    if (rc == SQLITE_DONE) {
        rc = 0;
        *out = arr;
    } else {
        rc = rc == SQLITE_NOMEM ? -ENOMEM : store_fail(st, "incidents: reading events");
        json_decref(arr);
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

/* Runs a one-column query with ?1 = incident and appends each value to arr. */
static int column_list(struct store *st, const char *sql, int64_t incident, json_t *arr,
                       bool with_count)
{
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, incident);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *v = with_count ? json_pack("{s:s, s:i}", "kind", txt(s, 0), "events",
                                           sqlite3_column_int(s, 1))
                               : json_string(txt(s, 0));
        if (!v || json_array_append_new(arr, v) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    rc = rc == SQLITE_DONE ? 0
                           : (rc == SQLITE_NOMEM ? -ENOMEM : store_fail(st, "incidents: summary"));
    sqlite3_reset(s);
    return rc;
}

int store_incidents_summary_json(struct store *st, int64_t incident, json_t **techniques,
                                 json_t **sensors, json_t **segments, uint64_t *events)
{
    static const char kinds_sql[] = "SELECT e.kind, count(*) FROM incident_links l"
                                    " JOIN events e ON e.id = l.event WHERE l.incident = ?1"
                                    " GROUP BY e.kind ORDER BY e.kind";
    static const char sensors_sql[] = "SELECT DISTINCT s.name FROM incident_links l"
                                      " JOIN events e ON e.id = l.event"
                                      " JOIN sensors s ON s.id = e.sensor_id"
                                      " WHERE l.incident = ?1 ORDER BY s.name";
    static const char segments_sql[] = "SELECT DISTINCT segment FROM incident_hosts"
                                       " WHERE incident = ?1 AND internal ORDER BY segment";
    static const char count_sql[] = "SELECT count(*) FROM incident_links WHERE incident = ?1";
    *techniques = json_array();
    *sensors = json_array();
    *segments = json_array();
    int rc = *techniques && *sensors && *segments ? 0 : -ENOMEM;
    if (rc == 0)
        rc = column_list(st, kinds_sql, incident, *techniques, true);
    if (rc == 0)
        rc = column_list(st, sensors_sql, incident, *sensors, false);
    if (rc == 0)
        rc = column_list(st, segments_sql, incident, *segments, false);
    if (rc == 0) {
        sqlite3_stmt *s = store_prepare(st, count_sql);
        if (!s) {
            rc = -EIO;
        } else {
            sqlite3_bind_int64(s, 1, incident);
            rc = sqlite3_step(s) == SQLITE_ROW ? 0 : store_fail(st, "incidents: counting");
            *events = rc == 0 ? u64col(s, 0) : 0;
            sqlite3_reset(s);
        }
    }
    if (rc) {
        json_decref(*techniques);
        json_decref(*sensors);
        json_decref(*segments);
        *techniques = *sensors = *segments = NULL;
    }
    return rc;
}

int store_incidents_each(struct store *st, bool open_only, int level, store_incidents_fn fn,
                         void *arg)
{
    static const char sql[] = "SELECT id, " ROW_COLS " FROM incidents"
                              " WHERE (?1 = 0 OR state NOT IN ('closed', 'merged'))"
                              " AND (?2 = 0 OR level = ?2) ORDER BY id";
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
        return store_fail(st, "incidents: listing");
    sqlite3_bind_int(s, 1, open_only);
    sqlite3_bind_int(s, 2, level);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct incident_row row;
        int frc = read_row(s, &row);
        if (frc == 0)
            frc = fn(arg, &row);
        store_incidents_row_fini(&row);
        if (frc) {
            sqlite3_finalize(s);
            return frc;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : store_fail(st, "incidents: listing");
    sqlite3_finalize(s);
    return rc;
}

int store_incidents_merged(struct store *st, int64_t incident, int64_t *ids, size_t cap,
                           size_t *n)
{
    static const char sql[] = "SELECT id FROM incidents WHERE merged_into = ?1 ORDER BY id";
    *n = 0;
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, incident);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < cap)
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_fail(st, "incidents: merged ones");
    sqlite3_reset(s);
    return rc;
}

/* sql prepared, with a notice's key (incident, clock, stage) bound to ?1..?3; NULL on error. */
static sqlite3_stmt *notice_stmt(struct store *st, const char *sql, int64_t incident,
                                 const char *clock, const char *stage)
{
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return NULL;
    sqlite3_bind_int64(s, 1, incident);
    sqlite3_bind_text(s, 2, clock, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, stage, -1, SQLITE_STATIC);
    return s;
}

int store_incidents_notice_sent(struct store *st, int64_t incident, const char *clock,
                                const char *stage, bool *sent)
{
    static const char sql[] = "SELECT 1 FROM incident_notices WHERE incident = ?1 AND clock = ?2"
                              " AND stage = ?3";
    sqlite3_stmt *s = notice_stmt(st, sql, incident, clock, stage);
    if (!s)
        return -EIO;
    int rc = sqlite3_step(s);
    *sent = rc == SQLITE_ROW;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_fail(st, "incidents: reading notices");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int store_incidents_notice_result(struct store *st, int64_t incident, const char *clock,
                                  const char *stage, int status)
{
    static const char sql[] = "UPDATE incident_notices SET status = ?4 WHERE incident = ?1"
                              " AND clock = ?2 AND stage = ?3";
    sqlite3_stmt *s = notice_stmt(st, sql, incident, clock, stage);
    if (!s)
        return -EIO;
    sqlite3_bind_int(s, 4, status);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, "incidents: recording a notice");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int store_incidents_notice_mark(struct store *st, int64_t incident, const char *clock,
                                const char *stage, uint64_t now_usec, int status)
{
    static const char sql[] = "INSERT OR IGNORE INTO incident_notices(incident, clock, stage,"
                              " time_usec, status) VALUES (?1, ?2, ?3, ?4, ?5)";
    sqlite3_stmt *s = notice_stmt(st, sql, incident, clock, stage);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 4, i64(now_usec));
    sqlite3_bind_int(s, 5, status);
    int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : store_fail(st, "incidents: recording a notice");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}
