/*
 * store_sensors -- the SQL of the sensors table (schema in store.c): enrolment,
 * revocation, lookups by name and CURVE key, delivery and heartbeat figures.
 * Console thread only.
 */
#include "store_sensors.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_int.h"

#define SENSOR_COLS                                                                        \
    "id, name, curve_pk, sign_pk, revoked, enrolled_usec, revoked_usec,"                   \
    " last_heartbeat_usec, acked_seq, sensor_next_seq, spool_records, spool_dropped,"      \
    " packets, kernel_drops, silent, silent_since_usec"

bool store_sensors_name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > SENSOR_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                  ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

static uint64_t col_u64(sqlite3_stmt *s, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(s, i);
    return v < 0 ? 0 : (uint64_t)v;
}

static void row_read(sqlite3_stmt *s, struct sensor_row *out)
{
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(s, 0);
    const unsigned char *name = sqlite3_column_text(s, 1);
    snprintf(out->name, sizeof(out->name), "%s", name ? (const char *)name : "");
    if (sqlite3_column_bytes(s, 2) == KEYS_CURVE_LEN)
        memcpy(out->pub.curve_pk, sqlite3_column_blob(s, 2), KEYS_CURVE_LEN);
    if (sqlite3_column_bytes(s, 3) == KEYS_SIGN_PK_LEN)
        memcpy(out->pub.sign_pk, sqlite3_column_blob(s, 3), KEYS_SIGN_PK_LEN);
    out->revoked = sqlite3_column_int(s, 4) != 0;
    out->enrolled_usec = col_u64(s, 5);
    out->revoked_usec = col_u64(s, 6);
    out->last_heartbeat_usec = col_u64(s, 7);
    out->acked_seq = col_u64(s, 8);
    out->sensor_next_seq = col_u64(s, 9);
    out->spool_records = col_u64(s, 10);
    out->spool_dropped = col_u64(s, 11);
    out->packets = col_u64(s, 12);
    out->kernel_drops = col_u64(s, 13);
    out->silent = sqlite3_column_int(s, 14) != 0;
    out->silent_since_usec = col_u64(s, 15);
}

static sqlite3_int64 i64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

/* Runs a prepared one-row lookup.  0, -ENOENT, or a store error. */
static int lookup(struct store *st, sqlite3_stmt *s, struct sensor_row *out, const char *what)
{
    int rc = sqlite3_step(s);
    int ret = 0;
    if (rc == SQLITE_ROW)
        row_read(s, out);
    else if (rc == SQLITE_DONE)
        ret = -ENOENT;
    else
        ret = store_fail(st, what);
    sqlite3_reset(s);
    return ret;
}

int store_sensors_by_name(struct store *st, const char *name, struct sensor_row *out)
{
    static const char sql[] = "SELECT " SENSOR_COLS " FROM sensors WHERE name = ?1";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    store_bind_text(s, 1, name);
    return lookup(st, s, out, "sensor by name");
}

int store_sensors_by_id(struct store *st, int64_t id, struct sensor_row *out)
{
    static const char sql[] = "SELECT " SENSOR_COLS " FROM sensors WHERE id = ?1";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    return lookup(st, s, out, "sensor by id");
}

int store_sensors_by_curve(struct store *st, const uint8_t curve_pk[KEYS_CURVE_LEN],
                           struct sensor_row *out)
{
    static const char sql[] = "SELECT " SENSOR_COLS " FROM sensors WHERE curve_pk = ?1";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_blob(s, 1, curve_pk, KEYS_CURVE_LEN, SQLITE_TRANSIENT);
    return lookup(st, s, out, "sensor by key");
}

int store_sensors_add(struct store *st, const char *name, const struct keys_public *pub,
                      uint64_t now_usec)
{
    if (!store_sensors_name_ok(name))
        return -EINVAL;
    struct sensor_row old, other;
    int rc = store_sensors_by_name(st, name, &old);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    bool reenrol = rc == 0;
    if (reenrol && !old.revoked)
        return -EEXIST;
    rc = store_sensors_by_curve(st, pub->curve_pk, &other);
    if (rc == 0 && !(reenrol && other.id == old.id))
        return -EEXIST;
    if (rc < 0 && rc != -ENOENT)
        return rc;

    sqlite3_stmt *s;
    if (reenrol) {
        static const char sql[] =
            "UPDATE sensors SET curve_pk = ?2, sign_pk = ?3, revoked = 0, revoked_usec = 0,"
            " enrolled_usec = ?4, silent = 0, silent_since_usec = 0,"
            " acked_seq = CASE WHEN curve_pk = ?2 THEN acked_seq ELSE 0 END"
            " WHERE id = ?1";
        s = store_prepare(st, sql);
        if (!s)
            return -EIO;
        sqlite3_bind_int64(s, 1, old.id);
    } else {
        static const char sql[] = "INSERT INTO sensors (name, curve_pk, sign_pk, enrolled_usec)"
                                  " VALUES (?1, ?2, ?3, ?4)";
        s = store_prepare(st, sql);
        if (!s)
            return -EIO;
        store_bind_text(s, 1, name);
    }
    sqlite3_bind_blob(s, 2, pub->curve_pk, KEYS_CURVE_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 3, pub->sign_pk, KEYS_SIGN_PK_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, i64(now_usec));
    return store_step_done(st, s, "enrol sensor");
}

int store_sensors_revoke(struct store *st, const char *name, uint64_t now_usec)
{
    struct sensor_row row;
    int rc = store_sensors_by_name(st, name, &row);
    if (rc < 0)
        return rc;
    if (row.revoked)
        return -EALREADY;
    static const char sql[] = "UPDATE sensors SET revoked = 1, revoked_usec = ?2 WHERE id = ?1";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, row.id);
    sqlite3_bind_int64(s, 2, i64(now_usec));
    return store_step_done(st, s, "revoke sensor");
}

int store_sensors_each(struct store *st, store_sensors_fn fn, void *arg)
{
    static const char sql[] = "SELECT " SENSOR_COLS " FROM sensors ORDER BY name";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    /*
     * Rows are copied out first: fn may write to the store (silence alarms), and a
     * statement still stepping would see its own writes.
     */
    struct sensor_row *rows = NULL;
    size_t count = 0, cap = 0;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct sensor_row *n = reallocarray(rows, ncap, sizeof(*n));
            if (!n) {
                ret = -ENOMEM;
                break;
            }
            rows = n;
            cap = ncap;
        }
        row_read(s, &rows[count++]);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store_fail(st, "list sensors");
    sqlite3_reset(s);
    for (size_t i = 0; ret == 0 && i < count; i++)
        ret = fn(arg, &rows[i]);
    free(rows);
    return ret;
}

int store_sensors_set_acked(struct store *st, int64_t id, uint64_t acked_seq)
{
    static const char sql[] = "UPDATE sensors SET acked_seq = ?2 WHERE id = ?1";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, i64(acked_seq));
    return store_step_done(st, s, "record acknowledged sequence");
}

static json_t *heartbeat_extra(const Ward__Heartbeat *hb)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_set_u64(j, "uptime_sec", hb->uptime_sec);
    json_set_u64(j, "bytes", hb->bytes);
    json_set_u64(j, "decode_errors", hb->decode_errors);
    json_set_u64(j, "flows", hb->flows);
    json_set_u64(j, "flow_evictions", hb->flow_evictions);
    json_set_u64(j, "host_evictions", hb->host_evictions);
    json_set_u64(j, "memory_bytes", hb->memory_bytes);
    json_set_u64(j, "spool_bytes", hb->spool_bytes);
    json_object_set_new(j, "heightened", json_boolean(hb->heightened));
    json_object_set_new(j, "factor", json_real(hb->factor));
    json_set_u64(j, "intel_version", hb->intel_version);
    json_object_set_new(j, "interface", json_string(hb->interface ? hb->interface : ""));
    json_set_u64(j, "isolated", hb->isolated);
    json_set_u64(j, "sent_usec", hb->sent_usec);
    json_t *counters = json_object();
    for (size_t i = 0; counters && i < hb->n_counters && i < 256; i++) {
        if (hb->counters[i] && hb->counters[i]->name)
            json_set_u64(counters, hb->counters[i]->name, hb->counters[i]->value);
    }
    json_object_set_new(j, "counters", counters);
    return j;
}

int store_sensors_heartbeat(struct store *st, int64_t id, uint64_t now_usec,
                            const Ward__Heartbeat *hb)
{
    static const char sql[] =
        "UPDATE sensors SET last_heartbeat_usec = ?2, sensor_next_seq = ?3, spool_records = ?4,"
        " spool_dropped = ?5, packets = ?6, kernel_drops = ?7, heartbeat = ?8 WHERE id = ?1";
    json_t *extra = heartbeat_extra(hb);
    char *text = extra ? json_dumps(extra, JSON_COMPACT) : NULL;
    json_decref(extra);
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s) {
        free(text);
        return -EIO;
    }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, i64(now_usec));
    sqlite3_bind_int64(s, 3, i64(hb->next_seq));
    sqlite3_bind_int64(s, 4, i64(hb->spool_records));
    sqlite3_bind_int64(s, 5, i64(hb->spool_dropped));
    sqlite3_bind_int64(s, 6, i64(hb->packets));
    sqlite3_bind_int64(s, 7, i64(hb->kernel_drops));
    store_bind_text(s, 8, text ? text : "{}");
    free(text);
    return store_step_done(st, s, "record heartbeat");
}

int store_sensors_heartbeat_json(struct store *st, int64_t id, json_t **out)
{
    static const char sql[] = "SELECT heartbeat FROM sensors WHERE id = ?1";
    *out = NULL;
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(s, 0);
        *out = text ? json_loads((const char *)text, 0, NULL) : NULL;
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = json_object();
        }
        if (!*out)
            ret = -ENOMEM;
    } else if (rc == SQLITE_DONE) {
        ret = -ENOENT;
    } else {
        ret = store_fail(st, "read heartbeat");
    }
    sqlite3_reset(s);
    return ret;
}

int store_sensors_set_silent(struct store *st, int64_t id, bool silent, uint64_t now_usec)
{
    static const char sql[] = "UPDATE sensors SET silent = ?2, silent_since_usec = ?3 WHERE id = ?1";
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, silent);
    sqlite3_bind_int64(s, 3, silent ? i64(now_usec) : 0);
    return store_step_done(st, s, "record sensor silence");
}
