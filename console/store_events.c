/*
 * store_events -- the SQL of the events table (schema in store.c).  One row per
 * (sensor, event uid) holding the latest revision: the columns that queries
 * filter and sort on, and in body the rest of the event (what no column holds:
 * ports, figures, targets, evidence...) as a protobuf Event with the column
 * fields left out, so the row stays narrow and storing an event formats no
 * text.  Readers put the two back together and give the JSON shape
 * `ward-sensor -o jsonl` prints (common/event_json.h).  Rows written before the
 * body held protobuf hold that JSON text in body instead; readers take either.
 * Console thread only.
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

#define BODY_STACK 1024 /* body bytes packed without an allocation */

static sqlite3_int64 i64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

/* A column holds v exactly: the body need not. */
static bool col_holds(uint64_t v)
{
    return v <= INT64_MAX;
}

static int upsert(struct store *st, int64_t sensor_id, uint64_t seq, const Ward__Event *ev,
                  uint64_t received_usec, int64_t *rowid)
{
    static const char ins[] =
        "INSERT INTO events (sensor_id, uid, revision, seq, kind, subtype, src, dst, first_usec,"
        " last_usec, received_usec, packets, bytes, count, severity, confidence, closed,"
        " summary, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
        " ?15, ?16, ?17, ?18, ?19)"
        " ON CONFLICT (sensor_id, uid) DO UPDATE SET revision = excluded.revision,"
        " seq = excluded.seq, kind = excluded.kind, subtype = excluded.subtype,"
        " src = excluded.src, dst = excluded.dst, first_usec = excluded.first_usec,"
        " last_usec = excluded.last_usec, received_usec = excluded.received_usec,"
        " packets = excluded.packets, bytes = excluded.bytes, count = excluded.count,"
        " severity = excluded.severity, confidence = excluded.confidence,"
        " closed = excluded.closed, summary = excluded.summary, body = excluded.body"
        " WHERE excluded.revision > events.revision";
    static const char sel[] = "SELECT id FROM events WHERE sensor_id = ?1 AND uid = ?2";

    if (!ev->uid || !ev->uid[0])
        return -EINVAL;
    /* The body: the event less what the columns hold (store_events_row_json() adds it back). */
    Ward__Event rest = *ev;
    rest.uid = rest.subtype = rest.src = rest.dst = rest.summary = NULL;
    rest.revision = rest.severity = rest.confidence = 0;
    rest.closed = false;
    if (col_holds(ev->first_usec))
        rest.first_usec = 0;
    if (col_holds(ev->last_usec))
        rest.last_usec = 0;
    if (col_holds(ev->packets))
        rest.packets = 0;
    if (col_holds(ev->bytes))
        rest.bytes = 0;
    if (col_holds(ev->count))
        rest.count = 0;
    uint8_t stack[BODY_STACK];
    size_t body_len = ward__event__get_packed_size(&rest);
    uint8_t *body = body_len <= sizeof(stack) ? stack : malloc(body_len);
    if (!body)
        return -ENOMEM;
    ward__event__pack(&rest, body);

    int ret = -EIO;
    sqlite3_stmt *s = store_prepare(st, ins);
    if (!s)
        goto out;
    /* The event outlives the step: its strings are bound without a copy. */
    sqlite3_bind_int64(s, 1, sensor_id);
    sqlite3_bind_text(s, 2, ev->uid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, ev->revision);
    sqlite3_bind_int64(s, 4, i64(seq));
    sqlite3_bind_text(s, 5, event_kind_name(ev->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, ev->subtype ? ev->subtype : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, ev->src ? ev->src : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, ev->dst ? ev->dst : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, i64(ev->first_usec));
    sqlite3_bind_int64(s, 10, i64(ev->last_usec));
    sqlite3_bind_int64(s, 11, i64(received_usec));
    sqlite3_bind_int64(s, 12, i64(ev->packets));
    sqlite3_bind_int64(s, 13, i64(ev->bytes));
    sqlite3_bind_int64(s, 14, i64(ev->count));
    sqlite3_bind_int64(s, 15, ev->severity);
    sqlite3_bind_int64(s, 16, ev->confidence);
    sqlite3_bind_int(s, 17, ev->closed);
    sqlite3_bind_text(s, 18, ev->summary ? ev->summary : "", -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 19, body, (int)body_len, SQLITE_STATIC);
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
        sqlite3_bind_text(s, 2, ev->uid, -1, SQLITE_STATIC);
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
    if (body != stack)
        free(body);
    return ret;
}

int store_events_upsert(struct store *st, const struct msg_origin *o, const Ward__Event *ev,
                        uint64_t received_usec, int64_t *rowid)
{
    return upsert(st, o->sensor_id, o->seq, ev, received_usec, rowid);
}

int store_events_console(struct store *st, int64_t sensor_id, const Ward__Event *ev,
                         int64_t *rowid)
{
    struct sensor_row row;
    int rc = store_sensors_by_id(st, sensor_id, &row);
    if (rc < 0)
        return rc;
    return upsert(st, sensor_id, 0, ev, clock_now_usec(), rowid);
}

static const char *col_text(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? (const char *)t : "";
}

static uint64_t col_u64(sqlite3_stmt *s, int col)
{
    sqlite3_int64 v = sqlite3_column_int64(s, col);
    return v < 0 ? 0 : (uint64_t)v;
}

/* Where each of STORE_EVENT_COLS is, from the first. */
enum ev_col {
    EV_UID, EV_REVISION, EV_SUBTYPE, EV_SRC, EV_DST, EV_FIRST, EV_LAST, EV_PACKETS, EV_BYTES,
    EV_COUNT, EV_SEVERITY, EV_CONFIDENCE, EV_CLOSED, EV_SUMMARY, EV_BODY, EV_SENSOR
};
_Static_assert(EV_BODY == STORE_EVENT_BODY, "STORE_EVENT_COLS and enum ev_col differ");

static char *col_str(sqlite3_stmt *s, int col)
{
    return (char *)(uintptr_t)col_text(s, col);
}

/* A value the body holds (too large for its column) wins over the column. */
static uint64_t body_or_col(uint64_t body, sqlite3_stmt *s, int col)
{
    return body ? body : col_u64(s, col);
}

json_t *store_events_row_json(sqlite3_stmt *s, int col)
{
    json_t *j = NULL;
    if (sqlite3_column_type(s, col + EV_BODY) == SQLITE_TEXT) {
        /* Written before the body held protobuf: the event's JSON as it was stored. */
        j = json_loads(col_text(s, col + EV_BODY), 0, NULL);
    } else {
        const void *data = sqlite3_column_blob(s, col + EV_BODY);
        size_t len = (size_t)sqlite3_column_bytes(s, col + EV_BODY);
        Ward__Event *ev = ward__event__unpack(NULL, len, data ? data : (const void *)"");
        if (ev) {
            /* The text columns stay valid until the next step: borrowed, not copied. */
            ev->uid = col_str(s, col + EV_UID);
            ev->subtype = col_str(s, col + EV_SUBTYPE);
            ev->src = col_str(s, col + EV_SRC);
            ev->dst = col_str(s, col + EV_DST);
            ev->summary = col_str(s, col + EV_SUMMARY);
            ev->revision = (uint32_t)col_u64(s, col + EV_REVISION);
            ev->first_usec = body_or_col(ev->first_usec, s, col + EV_FIRST);
            ev->last_usec = body_or_col(ev->last_usec, s, col + EV_LAST);
            ev->packets = body_or_col(ev->packets, s, col + EV_PACKETS);
            ev->bytes = body_or_col(ev->bytes, s, col + EV_BYTES);
            ev->count = body_or_col(ev->count, s, col + EV_COUNT);
            ev->severity = (uint32_t)col_u64(s, col + EV_SEVERITY);
            ev->confidence = (uint32_t)col_u64(s, col + EV_CONFIDENCE);
            ev->closed = sqlite3_column_int(s, col + EV_CLOSED) != 0;
            j = event_json(ev, col_text(s, col + EV_SENSOR));
            ev->uid = ev->subtype = ev->src = ev->dst = ev->summary = NULL;
            ward__event__free_unpacked(ev, NULL);
        }
    }
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
        if (!j)
            return NULL;
        json_object_set_new(j, "error", json_string("stored event cannot be read"));
    }
    return j;
}

/* The event of the current row with "id" and "received" added: id, received, then the event. */
static json_t *row_json(sqlite3_stmt *s)
{
    json_t *j = store_events_row_json(s, 2);
    if (!j)
        return NULL;
    json_object_set_new(j, "id", json_integer(sqlite3_column_int64(s, 0)));
    sqlite3_int64 rec = sqlite3_column_int64(s, 1);
    json_set_time(j, "received", rec < 0 ? 0 : (uint64_t)rec);
    return j;
}

int store_events_query(struct store *st, const struct events_query *q, json_t **out)
{
    static const char sql[] =
        "SELECT e.id, e.received_usec, " STORE_EVENT_COLS " FROM events e"
        " JOIN sensors s ON s.id = e.sensor_id WHERE (?1 IS NULL OR instr(',' || ?1 || ',', ',' || e.kind || ',') > 0)"
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
    static const char sql[] = "SELECT e.id, e.received_usec, " STORE_EVENT_COLS " FROM events e"
                              " JOIN sensors s ON s.id = e.sensor_id WHERE e.id = ?1";
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
