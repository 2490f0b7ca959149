/*
 * store_events -- the SQL of the events table (schema in store.c).  One row per
 * (sensor, event uid) holding the latest revision: the columns that queries
 * filter and sort on, and the event's JSON (common/event_json.h) so every reader
 * gets the shape `ward-sensor -o jsonl` prints.  Console thread only.
 */
#include "store_events.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "event_json.h"
#include "log.h"
#include "store_int.h"
#include "store_sensors.h"

static sqlite3_int64 i64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

static int upsert(struct store *st, int64_t sensor_id, const char *sensor, uint64_t seq,
                  const Ward__Event *ev, uint64_t received_usec, int64_t *rowid)
{
    static const char ins[] =
        "INSERT INTO events (sensor_id, uid, revision, seq, kind, subtype, src, dst, first_usec,"
        " last_usec, received_usec, packets, bytes, count, severity, confidence, closed,"
        " summary, json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
        " ?15, ?16, ?17, ?18, ?19)"
        " ON CONFLICT (sensor_id, uid) DO UPDATE SET revision = excluded.revision,"
        " seq = excluded.seq, kind = excluded.kind, subtype = excluded.subtype,"
        " src = excluded.src, dst = excluded.dst, first_usec = excluded.first_usec,"
        " last_usec = excluded.last_usec, received_usec = excluded.received_usec,"
        " packets = excluded.packets, bytes = excluded.bytes, count = excluded.count,"
        " severity = excluded.severity, confidence = excluded.confidence,"
        " closed = excluded.closed, summary = excluded.summary, json = excluded.json"
        " WHERE excluded.revision > events.revision";
    static const char sel[] = "SELECT id FROM events WHERE sensor_id = ?1 AND uid = ?2";

    if (!ev->uid || !ev->uid[0])
        return -EINVAL;
    char stack[4096];
    struct event_json_buf text = {stack, 0, sizeof(stack), false};
    int ret = event_json_text(ev, sensor, &text);
    if (ret < 0)
        goto out;

    ret = -EIO;
    sqlite3_stmt *s = store_prepare(st, ins);
    if (!s)
        goto out;
    sqlite3_bind_int64(s, 1, sensor_id);
    store_bind_text(s, 2, ev->uid);
    sqlite3_bind_int64(s, 3, ev->revision);
    sqlite3_bind_int64(s, 4, i64(seq));
    store_bind_text(s, 5, event_kind_name(ev->kind));
    store_bind_text(s, 6, ev->subtype ? ev->subtype : "");
    store_bind_text(s, 7, ev->src ? ev->src : "");
    store_bind_text(s, 8, ev->dst ? ev->dst : "");
    sqlite3_bind_int64(s, 9, i64(ev->first_usec));
    sqlite3_bind_int64(s, 10, i64(ev->last_usec));
    sqlite3_bind_int64(s, 11, i64(received_usec));
    sqlite3_bind_int64(s, 12, i64(ev->packets));
    sqlite3_bind_int64(s, 13, i64(ev->bytes));
    sqlite3_bind_int64(s, 14, i64(ev->count));
    sqlite3_bind_int64(s, 15, ev->severity);
    sqlite3_bind_int64(s, 16, ev->confidence);
    sqlite3_bind_int(s, 17, ev->closed);
    store_bind_text(s, 18, ev->summary ? ev->summary : "");
    sqlite3_bind_text(s, 19, text.data, (int)text.len, SQLITE_STATIC);
    /*
     * An insert sets the connection's last rowid; the upsert's UPDATE leaves it
     * alone.  (RETURNING would say the same, at the cost of a temporary table
     * per statement.)  When no new row was made, the id is looked up.
     */
    sqlite3_set_last_insert_rowid(store_db(st), 0);
    int rc = sqlite3_step(s);
    *rowid = rc == SQLITE_DONE ? sqlite3_last_insert_rowid(store_db(st)) : 0;
    if (rc != SQLITE_DONE) {
        ret = store_fail(st, "store event");
        sqlite3_reset(s);
        goto out;
    }
    sqlite3_reset(s);
    if (*rowid == 0) {
        /* Updated, or not newer and left as it was: find its id. */
        s = store_prepare(st, sel);
        if (!s)
            goto out;
        sqlite3_bind_int64(s, 1, sensor_id);
        store_bind_text(s, 2, ev->uid);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *rowid = sqlite3_column_int64(s, 0);
            ret = 0;
        } else {
            ret = store_fail(st, "find stored event");
        }
        sqlite3_reset(s);
        goto out;
    }
    ret = 0;
out:
    event_json_buf_fini(&text);
    return ret;
}

int store_events_upsert(struct store *st, const struct msg_origin *o, const Ward__Event *ev,
                        uint64_t received_usec, int64_t *rowid)
{
    return upsert(st, o->sensor_id, o->sensor, o->seq, ev, received_usec, rowid);
}

int store_events_console(struct store *st, int64_t sensor_id, const Ward__Event *ev,
                         int64_t *rowid)
{
    struct sensor_row row;
    int rc = store_sensors_by_id(st, sensor_id, &row);
    if (rc < 0)
        return rc;
    return upsert(st, sensor_id, row.name, 0, ev, clock_now_usec(), rowid);
}

/* The stored JSON of the current row, with "id" and "received" added. */
static json_t *row_json(sqlite3_stmt *s)
{
    const unsigned char *text = sqlite3_column_text(s, 1);
    json_t *j = text ? json_loads((const char *)text, 0, NULL) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
        if (!j)
            return NULL;
        json_object_set_new(j, "error", json_string("stored event is not valid JSON"));
    }
    json_object_set_new(j, "id", json_integer(sqlite3_column_int64(s, 0)));
    sqlite3_int64 rec = sqlite3_column_int64(s, 2);
    json_set_time(j, "received", rec < 0 ? 0 : (uint64_t)rec);
    return j;
}

int store_events_query(struct store *st, const struct events_query *q, json_t **out)
{
    static const char sql[] =
        "SELECT e.id, e.json, e.received_usec FROM events e"
        " WHERE (?1 IS NULL OR instr(',' || ?1 || ',', ',' || e.kind || ',') > 0)"
        " AND e.last_usec >= ?2"
        " AND (?3 IS NULL OR e.src = ?3 OR e.dst = ?3)"
        " AND (?4 IS NULL OR e.sensor_id = (SELECT id FROM sensors WHERE name = ?4))"
        " ORDER BY e.last_usec DESC, e.id DESC LIMIT ?5";
    *out = NULL;
    uint64_t limit = q->limit ? q->limit : STORE_EVENTS_DEFAULT_LIMIT;
    if (limit > STORE_EVENTS_MAX_LIMIT)
        limit = STORE_EVENTS_MAX_LIMIT;
    json_t *arr = json_array();
    if (!arr)
        return -ENOMEM;
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s) {
        json_decref(arr);
        return -EIO;
    }
    store_bind_text(s, 1, q->kind);
    sqlite3_bind_int64(s, 2, i64(q->since_usec));
    store_bind_text(s, 3, q->host);
    store_bind_text(s, 4, q->sensor);
    sqlite3_bind_int64(s, 5, i64(limit));
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *j = row_json(s);
        if (!j || json_array_append_new(arr, j) < 0) {
            ret = -ENOMEM;
            break;
        }
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store_fail(st, "query events");
    sqlite3_reset(s);
    if (ret < 0) {
        json_decref(arr);
        return ret;
    }
    *out = arr;
    return 0;
}

int store_events_get(struct store *st, int64_t rowid, json_t **out)
{
    static const char sql[] = "SELECT id, json, received_usec FROM events WHERE id = ?1";
    *out = NULL;
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, rowid);
    int rc = sqlite3_step(s);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        *out = row_json(s);
        if (!*out)
            ret = -ENOMEM;
    } else if (rc == SQLITE_DONE) {
        ret = -ENOENT;
    } else {
        ret = store_fail(st, "read event");
    }
    sqlite3_reset(s);
    return ret;
}

int store_events_count(struct store *st, uint64_t *out)
{
    static const char sql[] = "SELECT count(*) FROM events";
    *out = 0;
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    int ret = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        sqlite3_int64 n = sqlite3_column_int64(s, 0);
        *out = n < 0 ? 0 : (uint64_t)n;
    } else {
        ret = store_fail(st, "count events");
    }
    sqlite3_reset(s);
    return ret;
}

int store_events_count_by_kind(struct store *st, json_t **out)
{
    static const char sql[] = "SELECT kind, count(*) FROM events GROUP BY kind ORDER BY kind";
    *out = NULL;
    json_t *j = json_object();
    if (!j)
        return -ENOMEM;
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s) {
        json_decref(j);
        return -EIO;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *kind = sqlite3_column_text(s, 0);
        sqlite3_int64 n = sqlite3_column_int64(s, 1);
        json_set_u64(j, kind ? (const char *)kind : "", n < 0 ? 0 : (uint64_t)n);
    }
    int ret = rc == SQLITE_DONE ? 0 : store_fail(st, "count events by kind");
    sqlite3_reset(s);
    if (ret < 0) {
        json_decref(j);
        return ret;
    }
    *out = j;
    return 0;
}
