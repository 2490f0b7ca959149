/*
 * store_assets -- the SQL of the asset ledger (store_assets.h).
 *
 * The columns of struct asset_row are listed once in `cols` below; the SELECT,
 * INSERT and UPDATE statements are built from that list on first use into static
 * buffers (store_prepare() caches statements by SQL text pointer, so each must
 * stay put) and rows are read and bound by walking the same list.
 */
#include "store_assets.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store_int.h"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS assets ("
    " id INTEGER PRIMARY KEY,"
    " ip TEXT NOT NULL DEFAULT '', ip6 TEXT NOT NULL DEFAULT '', mac TEXT NOT NULL DEFAULT '',"
    " hostname TEXT NOT NULL DEFAULT '', hostname_source TEXT NOT NULL DEFAULT '',"
    " vendor TEXT NOT NULL DEFAULT '', os TEXT NOT NULL DEFAULT '',"
    " services TEXT NOT NULL DEFAULT '[]', tls_names TEXT NOT NULL DEFAULT '[]',"
    " user_agents TEXT NOT NULL DEFAULT '[]', dhcp_vendor_class TEXT NOT NULL DEFAULT '',"
    " vlan INTEGER NOT NULL DEFAULT 0, sensor TEXT NOT NULL DEFAULT '',"
    " first_usec INTEGER NOT NULL DEFAULT 0, last_usec INTEGER NOT NULL DEFAULT 0,"
    " seen_usec INTEGER NOT NULL DEFAULT 0, created_usec INTEGER NOT NULL DEFAULT 0,"
    " registered INTEGER NOT NULL DEFAULT 0, registered_usec INTEGER NOT NULL DEFAULT 0,"
    " registered_by TEXT NOT NULL DEFAULT '', department TEXT NOT NULL DEFAULT '',"
    " owner TEXT NOT NULL DEFAULT '', system TEXT NOT NULL DEFAULT '',"
    " criticality INTEGER NOT NULL DEFAULT 0, location TEXT NOT NULL DEFAULT '',"
    " brand TEXT NOT NULL DEFAULT '', model TEXT NOT NULL DEFAULT '',"
    " purchase_year INTEGER NOT NULL DEFAULT 0, warranty TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS assets_ip ON assets (ip);"
    "CREATE INDEX IF NOT EXISTS assets_ip6 ON assets (ip6);"
    "CREATE INDEX IF NOT EXISTS assets_mac ON assets (mac);"
    "CREATE INDEX IF NOT EXISTS assets_ip_seen ON assets (ip, seen_usec DESC, id);"
    "CREATE INDEX IF NOT EXISTS assets_ip6_seen ON assets (ip6, seen_usec DESC, id);"
    "CREATE TABLE IF NOT EXISTS asset_history ("
    " id INTEGER PRIMARY KEY, asset_id INTEGER NOT NULL, time_usec INTEGER NOT NULL,"
    " kind TEXT NOT NULL, old TEXT NOT NULL DEFAULT '', new TEXT NOT NULL DEFAULT '',"
    " source TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX IF NOT EXISTS asset_history_asset ON asset_history (asset_id, id);";

#define TXT(f) {#f, false, offsetof(struct asset_row, f), sizeof(((struct asset_row *)0)->f)}
#define INT(f) {#f, true, offsetof(struct asset_row, f), 0}

static const struct col {
    const char *name; /* column and field name */
    bool is_int;      /* int64_t field, else char array */
    size_t off;       /* offset in struct asset_row */
    size_t cap;       /* char array size */
} cols[] = {
    TXT(ip),         TXT(ip6),           TXT(mac),           TXT(hostname),     TXT(hostname_source),
    TXT(vendor),     TXT(os),            TXT(services),     TXT(tls_names),
    TXT(user_agents), TXT(dhcp_vendor_class), INT(vlan),    TXT(sensor),
    INT(first_usec), INT(last_usec),     INT(seen_usec),    INT(created_usec),
    INT(registered), INT(registered_usec), TXT(registered_by), TXT(department),
    TXT(owner),      TXT(system),        INT(criticality),  TXT(location),
    TXT(brand),      TXT(model),         INT(purchase_year), TXT(warranty),
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static char sql_by_id[2048];
static char sql_by_mac[2048];
static char sql_each[2048];
static char sql_insert[2048];
static char sql_update[2048];

static void append(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s", s);
}

static void build_sql(void)
{
    char list[1024] = "";
    char marks[512] = "";
    char sets[1536] = "";
    char num[16];

    if (sql_by_id[0])
        return;
    for (size_t i = 0; i < NCOLS; i++) {
        append(list, sizeof(list), i ? ", " : "");
        append(list, sizeof(list), cols[i].name);
        snprintf(num, sizeof(num), "%s?%zu", i ? ", " : "", i + 1);
        append(marks, sizeof(marks), num);
        append(sets, sizeof(sets), i ? ", " : "");
        append(sets, sizeof(sets), cols[i].name);
        snprintf(num, sizeof(num), " = ?%zu", i + 1);
        append(sets, sizeof(sets), num);
    }
    snprintf(sql_by_id, sizeof(sql_by_id), "SELECT id, %s FROM assets WHERE id = ?1", list);
    snprintf(sql_by_mac, sizeof(sql_by_mac),
             "SELECT id, %s FROM assets WHERE mac = ?1 ORDER BY seen_usec DESC, id LIMIT 1",
             list);
    snprintf(sql_each, sizeof(sql_each),
             "SELECT id, %s FROM assets ORDER BY ip = '', length(ip), ip, mac, id", list);
    snprintf(sql_insert, sizeof(sql_insert), "INSERT INTO assets (%s) VALUES (%s)", list, marks);
    snprintf(sql_update, sizeof(sql_update), "UPDATE assets SET %s WHERE id = ?%zu", sets,
             NCOLS + 1);
}

int store_assets_init(struct store *st)
{
    build_sql();
    return store_exec(st, schema);
}

static void read_row(sqlite3_stmt *s, struct asset_row *row)
{
    memset(row, 0, sizeof(*row));
    row->id = sqlite3_column_int64(s, 0);
    for (size_t i = 0; i < NCOLS; i++) {
        char *base = (char *)row + cols[i].off;
        int c = (int)i + 1;
        if (cols[i].is_int) {
            int64_t v = sqlite3_column_int64(s, c);
            memcpy(base, &v, sizeof(v));
        } else {
            const unsigned char *t = sqlite3_column_text(s, c);
            snprintf(base, cols[i].cap, "%s", t ? (const char *)t : "");
        }
    }
}

static void bind_row(sqlite3_stmt *s, const struct asset_row *row)
{
    for (size_t i = 0; i < NCOLS; i++) {
        const char *base = (const char *)row + cols[i].off;
        int c = (int)i + 1;
        if (cols[i].is_int) {
            int64_t v;
            memcpy(&v, base, sizeof(v));
            sqlite3_bind_int64(s, c, v);
        } else {
            sqlite3_bind_text(s, c, base, -1, SQLITE_STATIC);
        }
    }
}

static int get_one(struct store *st, const char *sql, const char *key, int64_t id,
                   struct asset_row *out)
{
    build_sql();
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    if (key)
        sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    int ret;
    if (rc == SQLITE_ROW) {
        read_row(s, out);
        ret = 0;
    } else if (rc == SQLITE_DONE) {
        ret = -ENOENT;
    } else {
        ret = store_fail(st, "read asset");
    }
    sqlite3_reset(s);
    return ret;
}

int store_assets_by_id(struct store *st, int64_t id, struct asset_row *out)
{
    return get_one(st, sql_by_id, NULL, id, out);
}

/* The newest row (seen_usec DESC, id) whose column matches ip, from its index alone. */
static int best_by(struct store *st, const char *sql, const char *ip, int64_t *id,
                   int64_t *seen)
{
    sqlite3_stmt *s = store_prepare(st, sql);
    if (!s)
        return -EIO;
    sqlite3_bind_text(s, 1, ip, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(s, 0);
        *seen = sqlite3_column_int64(s, 1);
    } else if (rc == SQLITE_DONE) {
        *id = 0;
    } else {
        ret = store_fail(st, "find asset");
    }
    sqlite3_reset(s);
    return ret;
}

/*
 * The newest row whose ip or ip6 is ip (seen_usec DESC, then lowest id), found
 * with one probe of each covering index and no sort: the console asks
 * this for every host of every event it correlates.
 */
int store_assets_by_ip(struct store *st, const char *ip, struct asset_row *out)
{
    static const char v4[] =
        "SELECT id, seen_usec FROM assets WHERE ip = ?1 ORDER BY seen_usec DESC, id LIMIT 1";
    static const char v6[] =
        "SELECT id, seen_usec FROM assets WHERE ip6 = ?1 ORDER BY seen_usec DESC, id LIMIT 1";
    if (!ip || !ip[0])
        return -ENOENT;
    /*
     * The ledger files an address by its text's family (ip holds those without
     * ':', ip6 those with), so only that column can hold it: one probe, not two
     * (the console asks this for every new host of an incident).
     */
    bool six = strchr(ip, ':') != NULL;
    int64_t id4 = 0, seen4 = 0, id6 = 0, seen6 = 0;
    int rc = six ? best_by(st, v6, ip, &id6, &seen6) : best_by(st, v4, ip, &id4, &seen4);
    if (rc < 0)
        return rc;
    int64_t id = id4;
    if (id6 && (!id4 || seen6 > seen4 || (seen6 == seen4 && id6 < id4)))
        id = id6;
    if (!id)
        return -ENOENT;
    return get_one(st, sql_by_id, NULL, id, out);
}

int store_assets_by_mac(struct store *st, const char *mac, struct asset_row *out)
{
    if (!mac || !mac[0])
        return -ENOENT;
    return get_one(st, sql_by_mac, mac, 0, out);
}

int store_assets_put(struct store *st, struct asset_row *row)
{
    build_sql();
    sqlite3_stmt *s = store_prepare(st, row->id ? sql_update : sql_insert);
    if (!s)
        return -EIO;
    bind_row(s, row);
    if (row->id)
        sqlite3_bind_int64(s, (int)NCOLS + 1, row->id);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "store asset");
    if (!row->id)
        row->id = sqlite3_last_insert_rowid(store_db(st));
    return 0;
}

int store_assets_merge_delete(struct store *st, int64_t from, int64_t into)
{
    static const char mv[] = "UPDATE asset_history SET asset_id = ?2 WHERE asset_id = ?1";
    static const char del[] = "DELETE FROM assets WHERE id = ?1";
    sqlite3_stmt *s = store_prepare(st, mv);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, from);
    sqlite3_bind_int64(s, 2, into);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "move asset history");
    s = store_prepare(st, del);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, from);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "delete merged asset");
    return 0;
}

int store_assets_history_add(struct store *st, int64_t asset_id, uint64_t time_usec,
                             const char *kind, const char *old, const char *new_value,
                             const char *source)
{
    static const char ins[] = "INSERT INTO asset_history (asset_id, time_usec, kind, old, new,"
                              " source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    sqlite3_stmt *s = store_prepare(st, ins);
    if (!s)
        return -EIO;
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_int64(s, 2, time_usec > INT64_MAX ? INT64_MAX : (sqlite3_int64)time_usec);
    sqlite3_bind_text(s, 3, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, old ? old : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, new_value ? new_value : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, source ? source : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        return store_fail(st, "add asset history");
    return 0;
}

int store_assets_history(struct store *st, int64_t asset_id, json_t **out)
{
    static const char sel[] = "SELECT time_usec, kind, old, new, source FROM asset_history"
                              " WHERE asset_id = ?1 ORDER BY id";
    sqlite3_stmt *s = store_prepare(st, sel);
    if (!s)
        return -EIO;
    json_t *a = json_array();
    if (!a)
        return -ENOMEM;
    sqlite3_bind_int64(s, 1, asset_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *h = json_object();
        if (!h)
            break;
        sqlite3_int64 t = sqlite3_column_int64(s, 0);
        json_set_time(h, "time", t < 0 ? 0 : (uint64_t)t);
        for (int c = 1; c <= 4; c++) {
            static const char *const keys[] = {"", "kind", "old", "new", "source"};
            const unsigned char *v = sqlite3_column_text(s, c);
            json_object_set_new(h, keys[c], json_string(v ? (const char *)v : ""));
        }
        json_array_append_new(a, h);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        json_decref(a);
        return store_fail(st, "read asset history");
    }
    *out = a;
    return 0;
}

int store_assets_each(struct store *st, store_assets_fn fn, void *arg)
{
    build_sql();
    sqlite3_stmt *s = store_prepare(st, sql_each);
    if (!s)
        return -EIO;
    struct asset_row row;
    int rc;
    int ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_row(s, &row);
        ret = fn(arg, &row);
        if (ret != 0)
            break;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = store_fail(st, "list assets");
    sqlite3_reset(s);
    return ret;
}
