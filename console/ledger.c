/*
 * ledger -- see ledger.h.
 *
 * Matching a report: by MAC first (the device), then by address.  When the MAC
 * row and the address row differ, an address row without a MAC is the same
 * device seen before its MAC was known and is merged into the other (the
 * registered one is kept); an address row with another MAC is a different
 * device that has given the address up, so it loses the address and the
 * history says so.  Observed host names never overwrite a registered one.
 * Times: packet time for first/last seen (what the sensor saw), console time
 * for "seen" and for the zombie rule, so replayed old captures do not make
 * zombies and a sensor's clock does not decide what is stale.
 */
#include "ledger.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "asset_json.h"
#include "audit.h"
#include "clock.h"
#include "control.h"
#include "csv_import.h"
#include "event_json.h"
#include "grade.h"
#include "log.h"
#include "modules.h"
#include "store.h"

#define DAY_USEC (86400ULL * USEC_PER_SEC)

struct ledger_state {
    uint64_t zombie_usec; /* [assets] zombie_days */
};

static struct ledger_state *state(const struct console *c)
{
    return c->mod[MOD_ASSETS];
}

static uint64_t zombie_usec(const struct console *c)
{
    const struct ledger_state *s = state(c);
    return s ? s->zombie_usec : LEDGER_DEFAULT_ZOMBIE_DAYS * DAY_USEC;
}

static int64_t i64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* The row's column for an address of this text's family (ip or ip6). */
static char *addr_col(struct asset_row *row, const char *ip)
{
    return strchr(ip, ':') ? row->ip6 : row->ip;
}

/* The address to show for a row: IPv4, else IPv6. */
static const char *row_addr(const struct asset_row *row)
{
    return row->ip[0] ? row->ip : row->ip6;
}

/* ------------------------------------------------------------------ states */

const char *ledger_state(const struct console *c, const struct asset_row *row, uint64_t now_usec)
{
    if (!row->registered)
        return "unclaimed";
    uint64_t limit = zombie_usec(c);
    uint64_t ref = (uint64_t)WARD_MAX(row->seen_usec, row->registered_usec);
    if (now_usec > ref && now_usec - ref > limit)
        return "zombie";
    return row->seen_usec ? "registered" : "unseen";
}

static const char *state_zh(const char *st)
{
    if (strcmp(st, "registered") == 0)
        return "在册";
    if (strcmp(st, "unclaimed") == 0)
        return "待认领";
    if (strcmp(st, "zombie") == 0)
        return "僵尸";
    return "未发现";
}

static json_t *list_or_empty(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    if (!json_is_array(j)) {
        json_decref(j);
        j = json_array();
    }
    return j;
}

json_t *ledger_row_json(const struct console *c, const struct asset_row *r, uint64_t now_usec)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    const char *st = ledger_state(c, r, now_usec);
    json_object_set_new(j, "id", json_integer(r->id));
    json_object_set_new(j, "ip", json_string(r->ip));
    json_object_set_new(j, "ip6", json_string(r->ip6));
    json_object_set_new(j, "address", json_string(row_addr(r)));
    json_object_set_new(j, "mac", json_string(r->mac));
    json_object_set_new(j, "hostname", json_string(r->hostname));
    json_object_set_new(j, "hostname_source", json_string(r->hostname_source));
    json_object_set_new(j, "vendor", json_string(r->vendor));
    json_object_set_new(j, "os", json_string(r->os));
    json_object_set_new(j, "services", list_or_empty(r->services));
    json_object_set_new(j, "tls_names", list_or_empty(r->tls_names));
    json_object_set_new(j, "user_agents", list_or_empty(r->user_agents));
    json_object_set_new(j, "dhcp_vendor_class", json_string(r->dhcp_vendor_class));
    json_object_set_new(j, "vlan", json_integer(r->vlan));
    json_object_set_new(j, "sensor", json_string(r->sensor));
    json_object_set_new(j, "state", json_string(st));
    json_object_set_new(j, "state_zh", json_string(state_zh(st)));
    json_object_set_new(j, "registered", json_boolean(r->registered));
    json_object_set_new(j, "department", json_string(r->department));
    json_object_set_new(j, "owner", json_string(r->owner));
    json_object_set_new(j, "system", json_string(r->system));
    json_object_set_new(j, "criticality", json_integer(r->criticality));
    json_object_set_new(j, "location", json_string(r->location));
    json_object_set_new(j, "brand", json_string(r->brand));
    json_object_set_new(j, "model", json_string(r->model));
    json_object_set_new(j, "purchase_year", json_integer(r->purchase_year));
    json_object_set_new(j, "warranty", json_string(r->warranty));
    json_object_set_new(j, "registered_by", json_string(r->registered_by));
    if (r->first_usec > 0) {
        json_set_time(j, "first_seen", (uint64_t)r->first_usec);
        json_set_time(j, "last_seen", (uint64_t)r->last_usec);
    } else {
        json_object_set_new(j, "first_seen", json_string(""));
        json_object_set_new(j, "last_seen", json_string(""));
    }
    if (r->seen_usec > 0)
        json_set_time(j, "reported", (uint64_t)r->seen_usec);
    else
        json_object_set_new(j, "reported", json_string(""));
    return j;
}

/* ------------------------------------------------------------------ criticality */

static bool is_core_system(const char *system)
{
    static const char *const core[] = {"HIS", "EMR", "PACS", "LIS"};
    for (size_t i = 0; i < WARD_ARRAY_LEN(core); i++) {
        if (strcasecmp(system, core[i]) == 0)
            return true;
    }
    return false;
}

int asset_criticality(struct console *c, const char *addr, int *out)
{
    struct addr a;
    char ip[ADDR_STR_LEN];
    struct asset_row row;

    if (!addr || addr_parse(addr, &a) < 0)
        return -EINVAL;
    addr_format(&a, ip, sizeof(ip));
    int rc = store_assets_by_ip(c->store, ip, &row);
    if (rc < 0)
        return rc;
    if (!row.registered)
        return -ENOENT;
    if (row.criticality >= 1 && row.criticality <= 4) {
        *out = (int)row.criticality;
        return 0;
    }
    if (is_core_system(row.system)) {
        *out = 1;
        return 0;
    }
    return -ENOENT;
}

int ledger_criticality(struct console *c, const char *addr)
{
    int k = 0;
    return asset_criticality(c, addr, &k) == 0 ? k : 0;
}

/* ------------------------------------------------------------------ observation */

static const char *svc_key(const json_t *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%" PRIu64, json_str(s, "proto", "?"), json_u64(s, "port", 0));
    return buf;
}

/*
 * Adds the services of u to the row's list; appends each new one's key
 * ("tcp/22 ssh") to opened (a JSON array).
 */
static void merge_services(struct asset_row *row, const Ward__AssetUpdate *u, json_t *opened)
{
    json_t *list = list_or_empty(row->services);
    char key[32], k2[32], pbuf[8], what[96];
    bool changed = false;

    for (size_t i = 0; list && i < u->n_services; i++) {
        const Ward__Service *sv = u->services[i];
        const char *proto = asset_json_proto(sv->proto, pbuf, sizeof(pbuf));
        snprintf(key, sizeof(key), "%s/%u", proto, sv->port);
        json_t *found = NULL;
        size_t k;
        json_t *e;
        json_array_foreach(list, k, e) {
            if (strcmp(svc_key(e, k2, sizeof(k2)), key) == 0)
                found = e;
        }
        const char *app = sv->app ? sv->app : "";
        if (found) {
            if (!json_str(found, "app", "")[0] && app[0]) {
                json_object_set_new(found, "app", json_string(app));
                changed = true;
            }
            continue;
        }
        if (json_array_size(list) >= LEDGER_MAX_SERVICES)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "proto", json_string(proto));
        json_object_set_new(o, "port", json_integer(sv->port));
        json_object_set_new(o, "app", json_string(app));
        json_array_append_new(list, o);
        snprintf(what, sizeof(what), "%s%s%s", key, app[0] ? " " : "", app);
        json_array_append_new(opened, json_string(what));
        changed = true;
    }
    if (changed) {
        char *text = json_dumps(list, JSON_COMPACT);
        if (text && strlen(text) < sizeof(row->services))
            copy(row->services, sizeof(row->services), text);
        free(text);
    }
    json_decref(list);
}

static void merge_names(char *col, size_t cap, char **items, size_t n)
{
    json_t *list = list_or_empty(col);
    bool changed = false;
    for (size_t i = 0; list && i < n; i++) {
        if (!items[i] || !items[i][0] || json_array_size(list) >= LEDGER_MAX_NAMES)
            continue;
        bool have = false;
        size_t k;
        json_t *e;
        json_array_foreach(list, k, e) {
            if (strcmp(json_string_value(e), items[i]) == 0)
                have = true;
        }
        if (!have) {
            json_array_append_new(list, json_string(items[i]));
            changed = true;
        }
    }
    if (changed) {
        char *text = json_dumps(list, JSON_COMPACT);
        if (text && strlen(text) < cap)
            copy(col, cap, text);
        free(text);
    }
    json_decref(list);
}

static int history(struct console *c, const struct asset_row *row, const char *kind,
                   const char *old, const char *new_value, const char *source)
{
    return store_assets_history_add(c->store, row->id, clock_now_usec(), kind, old, new_value,
                                    source);
}

/* Keeps `keep`, folds the registry and observations of `drop` into it, deletes drop. */
static int merge_rows(struct console *c, struct asset_row *keep, struct asset_row *drop,
                      const char *source)
{
    if (!keep->registered && drop->registered) {
        keep->registered = 1;
        keep->registered_usec = drop->registered_usec;
        copy(keep->registered_by, sizeof(keep->registered_by), drop->registered_by);
        copy(keep->department, sizeof(keep->department), drop->department);
        copy(keep->owner, sizeof(keep->owner), drop->owner);
        copy(keep->system, sizeof(keep->system), drop->system);
        keep->criticality = drop->criticality;
        copy(keep->location, sizeof(keep->location), drop->location);
        copy(keep->brand, sizeof(keep->brand), drop->brand);
        copy(keep->model, sizeof(keep->model), drop->model);
        keep->purchase_year = drop->purchase_year;
        copy(keep->warranty, sizeof(keep->warranty), drop->warranty);
        if (strcmp(drop->hostname_source, "registry") == 0 || !keep->hostname[0]) {
            copy(keep->hostname, sizeof(keep->hostname), drop->hostname);
            copy(keep->hostname_source, sizeof(keep->hostname_source), drop->hostname_source);
        }
    }
    if (!keep->ip[0])
        copy(keep->ip, sizeof(keep->ip), drop->ip);
    if (!keep->ip6[0])
        copy(keep->ip6, sizeof(keep->ip6), drop->ip6);
    if (!keep->mac[0])
        copy(keep->mac, sizeof(keep->mac), drop->mac);
    if (drop->first_usec && (!keep->first_usec || drop->first_usec < keep->first_usec))
        keep->first_usec = drop->first_usec;
    keep->last_usec = WARD_MAX(keep->last_usec, drop->last_usec);
    keep->seen_usec = WARD_MAX(keep->seen_usec, drop->seen_usec);
    char what[64];
    snprintf(what, sizeof(what), "asset %" PRId64, drop->id);
    int rc = store_assets_merge_delete(c->store, drop->id, keep->id);
    if (rc == 0)
        rc = history(c, keep, "merged", what, "", source);
    return rc;
}

static int raise_new_asset(struct console *c, const struct msg_origin *o,
                           const struct asset_row *row, const char *subtype, const char *what,
                           const Ward__AssetUpdate *u)
{
    char uid[96], summary[1024];
    const char *name = row->hostname[0] ? row->hostname : "";
    Ward__Event ev;

    ward__event__init(&ev);
    if (strcmp(subtype, "unregistered") == 0) {
        snprintf(uid, sizeof(uid), "asset-%" PRId64, row->id);
        const char *ad = row_addr(row);
        snprintf(summary, sizeof(summary), "new unregistered device %s%s%s%s%s%s%s%s",
                 ad[0] ? ad : row->mac, ad[0] && row->mac[0] ? " (" : "", ad[0] ? row->mac : "",
                 ad[0] && row->mac[0] ? ")" : "", name[0] ? " " : "", name,
                 row->vendor[0] ? ", " : "", row->vendor);
        ev.severity = 20;
    } else {
        snprintf(uid, sizeof(uid), "asset-%" PRId64 "-svc-%s", row->id, what);
        for (char *p = uid; *p; p++) {
            if (*p == ' ' || *p == '/')
                *p = '-';
        }
        snprintf(summary, sizeof(summary), "new service %s on registered %s%s%s%s%s", what,
                 row->system[0] ? row->system : "asset", row->system[0] ? " server " : " ",
                 row_addr(row), name[0] ? " " : "", name);
        ev.severity = row->criticality == 1 ? 50 : 35;
    }
    ev.uid = uid;
    ev.revision = 1;
    ev.kind = WARD__EVENT_KIND__NEW_ASSET;
    ev.subtype = (char *)(uintptr_t)subtype;
    ev.src = (char *)(uintptr_t)row_addr(row);
    ev.src_mac = (char *)(uintptr_t)row->mac;
    ev.first_usec = u->first_usec;
    ev.last_usec = u->last_usec;
    ev.count = 1;
    ev.confidence = 90;
    ev.summary = summary;
    ev.vlan = u->vlan;
    ev.closed = true;
    return modules_raise_event(c, o->sensor_id, o->sensor, &ev);
}

int ledger_observe(struct console *c, const struct msg_origin *o, const Ward__AssetUpdate *u)
{
    struct asset_row *a = NULL, *b = NULL;
    char ip[ADDR_STR_LEN] = "";
    char mac[18] = "";
    const char *sensor = o && o->sensor ? o->sensor : "";
    uint64_t now = clock_now_usec();
    int rc = 0;
    bool created = false;

    if (u->ip && u->ip[0]) {
        struct addr ad;
        if (addr_parse(u->ip, &ad) == 0)
            addr_format(&ad, ip, sizeof(ip));
    }
    if (u->mac && u->mac[0] && csv_import_mac(u->mac, mac, sizeof(mac)) < 0)
        mac[0] = '\0';
    if (!ip[0] && !mac[0])
        return 0; /* nothing to key it by: ignore, never fail the batch */

    a = calloc(1, sizeof(*a));
    b = calloc(1, sizeof(*b));
    json_t *opened = json_array();
    if (!a || !b || !opened) {
        rc = -ENOMEM;
        goto out;
    }
    bool have_a = false, have_b = false;
    if (mac[0]) {
        rc = store_assets_by_mac(c->store, mac, a);
        if (rc < 0 && rc != -ENOENT)
            goto out;
        have_a = rc == 0;
    }
    if (ip[0]) {
        rc = store_assets_by_ip(c->store, ip, b);
        if (rc < 0 && rc != -ENOENT)
            goto out;
        have_b = rc == 0;
    }
    rc = 0;
    struct asset_row *row;
    if (have_a && have_b && a->id != b->id) {
        if (!b->mac[0]) {
            /* The same device, known by address before its MAC: one row. */
            struct asset_row *keep = b->registered && !a->registered ? b : a;
            struct asset_row *drop = keep == a ? b : a;
            rc = merge_rows(c, keep, drop, sensor);
            row = keep;
        } else {
            /* Another device had this address: it has given it up. */
            rc = history(c, b, "address_moved", ip, "", sensor);
            addr_col(b, ip)[0] = '\0';
            if (rc == 0)
                rc = store_assets_put(c->store, b);
            row = a;
        }
        if (rc < 0)
            goto out;
    } else if (have_a) {
        row = a;
    } else if (have_b && (!mac[0] || !b->mac[0] || strcmp(b->mac, mac) == 0)) {
        row = b;
    } else {
        if (have_b) {
            rc = history(c, b, "address_moved", ip, "", sensor);
            addr_col(b, ip)[0] = '\0';
            if (rc == 0)
                rc = store_assets_put(c->store, b);
            if (rc < 0)
                goto out;
        }
        row = a;
        memset(row, 0, sizeof(*row));
        copy(row->services, sizeof(row->services), "[]");
        copy(row->tls_names, sizeof(row->tls_names), "[]");
        copy(row->user_agents, sizeof(row->user_agents), "[]");
        row->created_usec = i64(now);
        created = true;
    }

    bool had_seen = row->seen_usec != 0;
    if (created) {
        if (ip[0])
            copy(addr_col(row, ip), ADDR_STR_LEN, ip);
        copy(row->mac, sizeof(row->mac), mac);
        rc = store_assets_put(c->store, row);
        if (rc == 0)
            rc = history(c, row, "first_seen", "", ip[0] ? ip : mac, sensor);
        if (rc < 0)
            goto out;
    }
    if (ip[0] && strcmp(addr_col(row, ip), ip) != 0) {
        char *col = addr_col(row, ip);
        if (col[0])
            rc = history(c, row, "address_moved", col, ip, sensor);
        copy(col, ADDR_STR_LEN, ip);
    }
    if (rc == 0 && mac[0] && strcmp(row->mac, mac) != 0) {
        if (row->mac[0])
            rc = history(c, row, "mac_changed", row->mac, mac, sensor);
        copy(row->mac, sizeof(row->mac), mac);
    }
    if (rc == 0 && u->hostname && u->hostname[0] &&
        strcmp(row->hostname_source, "registry") != 0 &&
        strncmp(row->hostname, u->hostname, sizeof(row->hostname) - 1) != 0) {
        if (row->hostname[0])
            rc = history(c, row, "hostname_changed", row->hostname, u->hostname, sensor);
        copy(row->hostname, sizeof(row->hostname), u->hostname);
        copy(row->hostname_source, sizeof(row->hostname_source), u->hostname_source);
    }
    if (rc < 0)
        goto out;
    if (u->vendor && u->vendor[0])
        copy(row->vendor, sizeof(row->vendor), u->vendor);
    if (u->os_guess && u->os_guess[0] && (strcmp(u->os_guess, "unknown") != 0 || !row->os[0]))
        copy(row->os, sizeof(row->os), u->os_guess);
    if (u->dhcp_vendor_class && u->dhcp_vendor_class[0])
        copy(row->dhcp_vendor_class, sizeof(row->dhcp_vendor_class), u->dhcp_vendor_class);
    row->vlan = u->vlan;
    copy(row->sensor, sizeof(row->sensor), sensor);
    merge_services(row, u, opened);
    merge_names(row->tls_names, sizeof(row->tls_names), u->tls_names, u->n_tls_names);
    merge_names(row->user_agents, sizeof(row->user_agents), u->user_agents, u->n_user_agents);
    if (u->first_usec && (!row->first_usec || i64(u->first_usec) < row->first_usec))
        row->first_usec = i64(u->first_usec);
    if (i64(u->last_usec) > row->last_usec)
        row->last_usec = i64(u->last_usec);
    row->seen_usec = i64(now);
    rc = store_assets_put(c->store, row);
    size_t k;
    json_t *e;
    json_array_foreach(opened, k, e) {
        if (rc < 0)
            break;
        rc = history(c, row, "service_opened", "", json_string_value(e), sensor);
    }
    if (rc < 0)
        goto out;
    if (created && !row->registered)
        rc = raise_new_asset(c, o, row, "unregistered", "", u);
    if (rc == 0 && row->registered && had_seen) {
        json_array_foreach(opened, k, e) {
            rc = raise_new_asset(c, o, row, "new_service", json_string_value(e), u);
            if (rc < 0)
                break;
        }
    }
out:
    json_decref(opened);
    free(a);
    free(b);
    return rc;
}

/* ------------------------------------------------------------------ register */

static void set_registry(struct asset_row *row, const json_t *r, const struct actor *who,
                         uint64_t now)
{
    const char *host = json_str(r, "hostname", "");
    if (host[0]) {
        copy(row->hostname, sizeof(row->hostname), host);
        copy(row->hostname_source, sizeof(row->hostname_source), "registry");
    }
    copy(row->department, sizeof(row->department), json_str(r, "department", ""));
    copy(row->owner, sizeof(row->owner), json_str(r, "owner", ""));
    copy(row->system, sizeof(row->system), json_str(r, "system", ""));
    row->criticality = (int64_t)json_u64(r, "criticality", 0);
    copy(row->location, sizeof(row->location), json_str(r, "location", ""));
    copy(row->brand, sizeof(row->brand), json_str(r, "brand", ""));
    copy(row->model, sizeof(row->model), json_str(r, "model", ""));
    row->purchase_year = (int64_t)json_u64(r, "purchase_year", 0);
    copy(row->warranty, sizeof(row->warranty), json_str(r, "warranty", ""));
    if (!row->registered)
        row->registered_usec = i64(now);
    row->registered = 1;
    copy(row->registered_by, sizeof(row->registered_by), who ? who->name : "");
}

static void add_error(json_t *errors, json_int_t line, const char *what, const char *ip,
                      const char *mac)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "address %s %s (%s)", ip, what, mac);
    json_t *e = json_object();
    json_object_set_new(e, "line", json_integer(line));
    json_object_set_new(e, "error", json_string(msg));
    json_array_append_new(errors, e);
}

static int errors_sort(const void *x, const void *y)
{
    json_int_t a = json_integer_value(json_object_get(*(json_t *const *)x, "line"));
    json_int_t b = json_integer_value(json_object_get(*(json_t *const *)y, "line"));
    return a < b ? -1 : a > b;
}

int ledger_import(struct console *c, const struct actor *who, const char *name,
                  const char *text, size_t len, json_t **report, char *err, size_t errcap)
{
    json_t *rows = NULL, *errors = NULL;
    struct asset_row *row = NULL, *other = NULL;
    uint64_t now = clock_now_usec();
    unsigned imported = 0, updated = 0;

    *report = NULL;
    int rc = csv_import_parse(text, len, &rows, &errors, err, errcap);
    if (rc < 0)
        return rc;
    row = malloc(sizeof(*row));
    other = malloc(sizeof(*other));
    if (!row || !other) {
        rc = -ENOMEM;
        snprintf(err, errcap, "out of memory");
        goto out;
    }
    rc = store_begin(c->store);
    if (rc < 0) {
        snprintf(err, errcap, "cannot import: %s", strerror(-rc));
        goto out;
    }
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        const char *ip = json_str(r, "ip", "");
        const char *mac = json_str(r, "mac", "");
        json_int_t line = json_integer_value(json_object_get(r, "line"));
        bool by_mac = false, by_ip = false;
        rc = store_assets_by_mac(c->store, mac, row);
        if (rc == 0)
            by_mac = true;
        else if (rc != -ENOENT)
            break;
        rc = store_assets_by_ip(c->store, ip, by_mac ? other : row);
        if (rc == 0)
            by_ip = true;
        else if (rc != -ENOENT)
            break;
        rc = 0;
        if (by_mac && by_ip && other->id != row->id && other->mac[0]) {
            add_error(errors, line, "belongs to another device in the ledger", ip, other->mac);
            continue;
        }
        if (!by_mac && by_ip && mac[0] && row->mac[0] && strcmp(row->mac, mac) != 0) {
            add_error(errors, line, "is in use by another device", ip, row->mac);
            continue;
        }
        bool found = by_mac || by_ip;
        if (!found) {
            memset(row, 0, sizeof(*row));
            copy(row->services, sizeof(row->services), "[]");
            copy(row->tls_names, sizeof(row->tls_names), "[]");
            copy(row->user_agents, sizeof(row->user_agents), "[]");
            row->created_usec = i64(now);
        }
        if (by_mac && by_ip && other->id != row->id) {
            rc = merge_rows(c, row, other, "import");
            if (rc < 0)
                break;
        }
        if (ip[0] && !addr_col(row, ip)[0])
            copy(addr_col(row, ip), ADDR_STR_LEN, ip);
        if (!row->mac[0])
            copy(row->mac, sizeof(row->mac), mac);
        bool was = row->registered != 0;
        set_registry(row, r, who, now);
        rc = store_assets_put(c->store, row);
        if (rc == 0)
            rc = store_assets_history_add(c->store, row->id, now,
                                          was ? "registration_updated" : "registered", "",
                                          name && name[0] ? name : "import",
                                          who ? who->name : "");
        if (rc < 0)
            break;
        if (found && was)
            updated++;
        else
            imported++;
    }
    if (rc == 0) {
        json_t *d = json_object();
        json_object_set_new(d, "file", json_string(name ? name : ""));
        json_object_set_new(d, "imported", json_integer(imported));
        json_object_set_new(d, "updated", json_integer(updated));
        json_object_set_new(d, "errors", json_integer((json_int_t)json_array_size(errors)));
        rc = audit_log(c, who ? who : console_ward_actor(), "asset.import", "asset", 0, d);
        json_decref(d);
    }
    if (rc == 0)
        rc = store_commit(c->store);
    if (rc < 0) {
        if (store_in_tx(c->store))
            store_rollback(c->store);
        snprintf(err, errcap, "cannot import: %s", strerror(-rc));
        goto out;
    }
    /* Errors from the file and from the ledger, in line order. */
    size_t n = json_array_size(errors);
    json_t **v = calloc(n ? n : 1, sizeof(*v));
    if (v) {
        for (size_t k = 0; k < n; k++)
            v[k] = json_incref(json_array_get(errors, k));
        qsort(v, n, sizeof(*v), errors_sort);
        json_array_clear(errors);
        for (size_t k = 0; k < n; k++)
            json_array_append_new(errors, v[k]);
        free(v);
    }
    *report = json_object();
    json_object_set_new(*report, "imported", json_integer(imported));
    json_object_set_new(*report, "updated", json_integer(updated));
    json_object_set(*report, "errors", errors);
    rc = 0;
out:
    json_decref(rows);
    json_decref(errors);
    free(row);
    free(other);
    return rc;
}

/* ------------------------------------------------------------------ control verbs */

/* Finds the asset of addr (an address or a MAC).  -ENOENT / -EINVAL with err set. */
static int find_asset(struct console *c, const char *addr, struct asset_row *row, char *err,
                      size_t errcap)
{
    struct addr a;
    char key[ADDR_STR_LEN];
    char esc[80];
    int rc;

    if (addr_parse(addr, &a) == 0) {
        addr_format(&a, key, sizeof(key));
        rc = store_assets_by_ip(c->store, key, row);
    } else if (csv_import_mac(addr, key, sizeof(key)) == 0) {
        rc = store_assets_by_mac(c->store, key, row);
    } else {
        snprintf(err, errcap, "'%s' is neither an address nor a MAC",
                 log_escape(addr, strlen(addr), esc, sizeof(esc)));
        return -EINVAL;
    }
    if (rc == -ENOENT)
        snprintf(err, errcap, "no asset with address or MAC %s in the ledger", key);
    else if (rc < 0)
        snprintf(err, errcap, "cannot read the ledger: %s", strerror(-rc));
    return rc;
}

struct list_ctx {
    struct console *c;   /* the console */
    const char *filter;  /* state wanted, NULL for all */
    const char *system;  /* business system wanted, NULL for all */
    uint64_t now;        /* console time */
    json_t *out;         /* rows */
};

static int list_one(void *arg, const struct asset_row *row)
{
    struct list_ctx *l = arg;
    if (l->filter && strcmp(ledger_state(l->c, row, l->now), l->filter) != 0)
        return 0;
    if (l->system && strcasecmp(row->system, l->system) != 0)
        return 0;
    json_t *j = ledger_row_json(l->c, row, l->now);
    if (!j)
        return -ENOMEM;
    json_array_append_new(l->out, j);
    return 0;
}

static int ctl_assets(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                      size_t errcap)
{
    const char *state_arg, *system;
    if (control_arg_str(req, "state", false, NULL, &state_arg, err, errcap) < 0 ||
        control_arg_str(req, "system", false, NULL, &system, err, errcap) < 0)
        return -EINVAL;
    if (state_arg && strcmp(state_arg, "registered") != 0 && strcmp(state_arg, "unclaimed") != 0 &&
        strcmp(state_arg, "zombie") != 0 && strcmp(state_arg, "unseen") != 0) {
        snprintf(err, errcap, "unknown state '%.40s': registered, unclaimed, zombie or unseen",
                 state_arg);
        return -EINVAL;
    }
    struct list_ctx l = {c, state_arg, system && system[0] ? system : NULL, clock_now_usec(),
                         json_array()};
    if (!l.out)
        return -ENOMEM;
    int rc = store_assets_each(c->store, list_one, &l);
    if (rc < 0) {
        json_decref(l.out);
        snprintf(err, errcap, "cannot list assets: %s", strerror(-rc));
        return rc;
    }
    *reply = l.out;
    return 0;
}

static int ctl_show(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                    size_t errcap)
{
    const char *addr;
    struct asset_row row;
    if (control_arg_str(req, "addr", true, NULL, &addr, err, errcap) < 0)
        return -EINVAL;
    int rc = find_asset(c, addr, &row, err, errcap);
    if (rc < 0)
        return rc;
    json_t *j = ledger_row_json(c, &row, clock_now_usec());
    json_t *h = NULL;
    rc = store_assets_history(c->store, row.id, &h);
    if (rc < 0 || !j) {
        json_decref(j);
        snprintf(err, errcap, "cannot read asset history: %s", strerror(rc < 0 ? -rc : ENOMEM));
        return rc < 0 ? rc : -ENOMEM;
    }
    json_object_set_new(j, "history", h);
    *reply = j;
    return 0;
}

static int ctl_import(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                      size_t errcap)
{
    const char *csv, *name;
    if (control_arg_str(req, "csv", true, NULL, &csv, err, errcap) < 0 ||
        control_arg_str(req, "name", false, "", &name, err, errcap) < 0)
        return -EINVAL;
    const json_t *v = json_object_get(req->args, "csv");
    return ledger_import(c, req->actor, name, csv, json_string_length(v), reply, err, errcap);
}

static int ctl_claim(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                     size_t errcap)
{
    static const char *const keys[] = {"hostname", "department", "owner", "system", "location",
                                       "brand", "model", "warranty"};
    const char *addr;
    uint64_t crit, year;
    struct asset_row row;

    if (control_arg_str(req, "addr", true, NULL, &addr, err, errcap) < 0 ||
        control_arg_u64(req, "criticality", false, 0, &crit, err, errcap) < 0 ||
        control_arg_u64(req, "purchase_year", false, 0, &year, err, errcap) < 0)
        return -EINVAL;
    if (crit > 4) {
        snprintf(err, errcap, "unknown criticality %" PRIu64 " (1 core .. 4 low)", crit);
        return -EINVAL;
    }
    if (year && (year < 1970 || year > 2100)) {
        snprintf(err, errcap, "bad purchase year %" PRIu64, year);
        return -EINVAL;
    }
    json_t *r = json_object();
    if (!r)
        return -ENOMEM;
    for (size_t i = 0; i < WARD_ARRAY_LEN(keys); i++) {
        const char *v;
        if (control_arg_str(req, keys[i], false, "", &v, err, errcap) < 0) {
            json_decref(r);
            return -EINVAL;
        }
        if (strlen(v) >= ASSET_TEXT_MAX || (strlen(v) >= ASSET_SHORT_MAX &&
                                            strcmp(keys[i], "system") == 0)) {
            snprintf(err, errcap, "%s is too long", keys[i]);
            json_decref(r);
            return -EINVAL;
        }
        json_object_set_new(r, keys[i], json_string(v));
    }
    json_object_set_new(r, "criticality", json_integer((json_int_t)crit));
    json_object_set_new(r, "purchase_year", json_integer((json_int_t)year));

    int rc = find_asset(c, addr, &row, err, errcap);
    if (rc < 0) {
        json_decref(r);
        return rc;
    }
    /* A claim keeps what the register said before unless the claim says otherwise. */
    if (row.registered) {
        const struct {
            const char *key;
            const char *have;
        } keep[] = {{"department", row.department}, {"owner", row.owner},
                    {"system", row.system},         {"location", row.location},
                    {"brand", row.brand},           {"model", row.model},
                    {"warranty", row.warranty}};
        for (size_t i = 0; i < WARD_ARRAY_LEN(keep); i++) {
            if (!json_str(r, keep[i].key, "")[0])
                json_object_set_new(r, keep[i].key, json_string(keep[i].have));
        }
        if (!crit)
            json_object_set_new(r, "criticality", json_integer(row.criticality));
        if (!year)
            json_object_set_new(r, "purchase_year", json_integer(row.purchase_year));
    }
    uint64_t now = clock_now_usec();
    rc = store_begin(c->store);
    if (rc == 0) {
        set_registry(&row, r, req->actor, now);
        rc = store_assets_put(c->store, &row);
    }
    if (rc == 0)
        rc = store_assets_history_add(c->store, row.id, now, "claimed", "",
                                      json_str(r, "owner", ""), req->actor->name);
    if (rc == 0)
        rc = audit_log(c, req->actor, "asset.claim", "asset", row.id, r);
    if (rc == 0)
        rc = store_commit(c->store);
    json_decref(r);
    if (rc < 0) {
        if (store_in_tx(c->store))
            store_rollback(c->store);
        snprintf(err, errcap, "cannot claim %s: %s", addr, strerror(-rc));
        return rc;
    }
    *reply = ledger_row_json(c, &row, now);
    return *reply ? 0 : -ENOMEM;
}

static const struct ctl_cmd ledger_cmds[] = {
    {"assets", ROLE_VIEWER, ctl_assets},
    {"asset.show", ROLE_VIEWER, ctl_show},
    {"assets.import", ROLE_OPERATOR, ctl_import},
    {"assets.claim", ROLE_OPERATOR, ctl_claim},
    {NULL, ROLE_NONE, NULL},
};

/* ------------------------------------------------------------------ module */

static int ledger_init(struct console *c)
{
    uint64_t days = LEDGER_DEFAULT_ZOMBIE_DAYS;
    if (c->cfg &&
        config_get_u64(c->cfg, "assets", "zombie_days", LEDGER_DEFAULT_ZOMBIE_DAYS, &days) < 0) {
        log_err("ledger: %s", config_error(c->cfg));
        return -EINVAL;
    }
    if (days < 1 || days > 3650) {
        if (c->cfg)
            config_fail(c->cfg, "assets", "zombie_days", "zombie_days must be 1..3650");
        log_err("ledger: [assets] zombie_days must be 1..3650");
        return -EINVAL;
    }
    int rc = store_assets_init(c->store);
    if (rc == 0)
        rc = audit_init_store(c->store); /* registry actions are audited; idempotent */
    if (rc < 0)
        return rc;
    struct ledger_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->zombie_usec = days * DAY_USEC;
    c->mod[MOD_ASSETS] = s;
    grade_set_criticality_source(ledger_criticality); /* incident grading asks the ledger */
    return 0;
}

static void ledger_fini(struct console *c)
{
    if (c->mod[MOD_ASSETS])
        grade_set_criticality_source(NULL);
    free(c->mod[MOD_ASSETS]);
    c->mod[MOD_ASSETS] = NULL;
}

static int ledger_on_message(struct console *c, const struct msg_origin *o,
                             const Ward__Message *m)
{
    if (m->kind_case != WARD__MESSAGE__KIND_ASSET || !m->asset)
        return 0;
    return ledger_observe(c, o, m->asset);
}

const struct console_module ledger_module = {
    .name = "assets",
    .init = ledger_init,
    .fini = ledger_fini,
    .on_message = ledger_on_message,
    .on_tick = NULL,
    .commands = ledger_cmds,
};
