/*
 * intel -- indicator pushes, heightened mode, and keeping sensors in step with
 * both (see intel.h).
 */
#include "intel.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "audit.h"
#include "clock.h"
#include "command.h"
#include "log.h"
#include "store.h"
#include "store_contain.h"
#include "store_intel.h"
#include "store_sensors.h"

#define INTEL_MAX_PEERS 4096
#define INTEL_SYNC_USEC (5 * USEC_PER_SEC) /* how often the tick compares heartbeats */
#define INTEL_LINE_MAX 512

/* What the console last sent one sensor, to pace resends. */
struct intel_peer {
    char name[65];            /* sensor */
    uint64_t intel_sent_usec; /* console time the pushed set last went to it, 0 never */
    uint64_t mode_sent_usec;  /* ... the mode */
    unsigned refusals;        /* pushed sets refused in a row: resends back off */
};

struct intel_state {
    uint64_t max_entries;     /* [intel] max_entries */
    uint64_t next_sync_usec;  /* next tick that compares heartbeats */
    struct intel_peer *peers; /* sensors sent something since start */
    size_t n_peers;           /* entries in peers */
    size_t cap_peers;         /* allocated */
};

/* A set of indicators: JSON objects used as ordered sets of canonical text. */
struct intel_set {
    json_t *addrs;    /* address or network -> true */
    json_t *names;    /* domain -> true */
    size_t bytes;     /* text of all of them */
    uint64_t version; /* id of the latest push folded in */
};

static struct intel_state *state_of(struct console *c)
{
    return c->mod[MOD_INTEL];
}

static struct intel_peer *peer_get(struct intel_state *s, const char *name)
{
    for (size_t i = 0; i < s->n_peers; i++)
        if (!strcmp(s->peers[i].name, name))
            return &s->peers[i];
    if (s->n_peers == INTEL_MAX_PEERS)
        return NULL;
    if (s->n_peers == s->cap_peers) {
        size_t cap = s->cap_peers ? s->cap_peers * 2 : 16;
        struct intel_peer *p = reallocarray(s->peers, cap, sizeof(*p));
        if (!p)
            return NULL;
        s->peers = p;
        s->cap_peers = cap;
    }
    struct intel_peer *p = &s->peers[s->n_peers++];
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "%s", name);
    return p;
}

/* ---------------------------------------------------------------- sets */

static int set_init(struct intel_set *s)
{
    memset(s, 0, sizeof(*s));
    s->addrs = json_object();
    s->names = json_object();
    return s->addrs && s->names ? 0 : -ENOMEM;
}

static void set_fini(struct intel_set *s)
{
    json_decref(s->addrs);
    json_decref(s->names);
    memset(s, 0, sizeof(*s));
}

static size_t set_count(const struct intel_set *s)
{
    return json_object_size(s->addrs) + json_object_size(s->names);
}

static int set_add(struct intel_set *s, bool is_addr, const char *text)
{
    json_t *o = is_addr ? s->addrs : s->names;
    if (json_object_get(o, text))
        return 0;
    if (json_object_set_new(o, text, json_true()) < 0)
        return -ENOMEM;
    s->bytes += strlen(text) + 1;
    return 0;
}

static void add_lines(struct intel_set *s, bool is_addr, const char *text)
{
    char item[INTEL_LINE_MAX];
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        if (n && n < sizeof(item)) {
            memcpy(item, text, n);
            item[n] = '\0';
            (void)set_add(s, is_addr, item);
        }
        text += n + (nl ? 1 : 0);
    }
}

static int fold_one(void *arg, const struct intel_push_row *r)
{
    struct intel_set *s = arg;
    if (r->replace) {
        json_object_clear(s->addrs);
        json_object_clear(s->names);
        s->bytes = 0;
    }
    add_lines(s, true, r->addresses);
    add_lines(s, false, r->domains);
    s->version = r->id;
    return 0;
}

/* The set sensor should hold, from the stored pushes. */
static int sensor_set(struct console *c, const char *sensor, struct intel_set *s)
{
    int rc = set_init(s);
    if (rc == 0)
        rc = store_intel_pushes_for(c->store, sensor, fold_one, s);
    if (rc)
        set_fini(s);
    return rc;
}

/* Text joined by '\n' (malloc'd). */
static char *set_text(const json_t *o)
{
    size_t n = 1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)o, k, v) n += strlen(k) + 1;
    char *t = malloc(n), *w = t;
    if (!t)
        return NULL;
    json_object_foreach((json_t *)(uintptr_t)o, k, v)
    {
        size_t l = strlen(k);
        memcpy(w, k, l);
        w += l;
        *w++ = '\n';
    }
    *w = '\0';
    return t;
}

static json_t *set_json(const json_t *o)
{
    json_t *a = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)o, k, v) json_array_append_new(a, json_string(k));
    return a;
}

/* The wire form of a set: arrays that borrow the set's keys. */
struct intel_wire {
    Ward__IntelUpdate u; /* the update */
    char **addrs;        /* borrowed keys */
    char **names;        /* borrowed keys */
};

static char **keys_of(const json_t *o, size_t *n)
{
    *n = json_object_size(o);
    char **a = calloc(*n ? *n : 1, sizeof(*a));
    size_t i = 0;
    const char *k;
    json_t *v;
    if (!a)
        return NULL;
    json_object_foreach((json_t *)(uintptr_t)o, k, v) a[i++] = (char *)(uintptr_t)k;
    return a;
}

static int wire_init(struct intel_wire *w, const struct intel_set *s, bool replace,
                     uint64_t version, uint64_t base)
{
    memset(w, 0, sizeof(*w));
    ward__intel_update__init(&w->u);
    w->addrs = keys_of(s->addrs, &w->u.n_addresses);
    w->names = keys_of(s->names, &w->u.n_domains);
    if (!w->addrs || !w->names) {
        free(w->addrs);
        free(w->names);
        return -ENOMEM;
    }
    w->u.addresses = w->addrs;
    w->u.domains = w->names;
    w->u.replace = replace;
    w->u.version = version;
    w->u.base_version = base;
    return 0;
}

static void wire_fini(struct intel_wire *w)
{
    free(w->addrs);
    free(w->names);
}

/* ---------------------------------------------------------------- input */

/* A listed domain as the sensor keeps it: lowercased, no "*." or trailing dot. */
static int canon_domain(const char *item, char *out, size_t cap)
{
    if (strncmp(item, "*.", 2) == 0)
        item += 2;
    else if (item[0] == '.')
        item++;
    size_t n = strlen(item);
    while (n && item[n - 1] == '.')
        n--;
    if (!n || n >= cap)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)item[i];
        if (!(isalnum(ch) || ch == '-' || ch == '.' || ch == '_'))
            return -EINVAL;
        out[i] = (char)tolower(ch);
    }
    out[n] = '\0';
    return 0;
}

static int canon_addr(const char *item, char *out, size_t cap)
{
    struct cidr c;
    char a[ADDR_STR_LEN];
    if (cidr_parse(item, &c) < 0)
        return -EINVAL;
    addr_format(&c.net, a, sizeof(a));
    if ((c.net.family == 4 && c.bits == 32) || (c.net.family == 6 && c.bits == 128))
        snprintf(out, cap, "%s", a);
    else
        snprintf(out, cap, "%s/%u", a, (unsigned)c.bits);
    return 0;
}

/* An item for a message: at most 64 printable characters. */
static const char *shown(const char *item, char *buf, size_t cap)
{
    size_t n = 0;
    for (; n < 64 && n + 4 < cap && item[n]; n++)
        buf[n] = isprint((unsigned char)item[n]) ? item[n] : '?';
    snprintf(buf + n, cap - n, "%s", item[n] ? "..." : "");
    return buf;
}

/*
 * Reads a list file's text (one indicator a line, '#' comments, blank lines)
 * into s.  A bad line is an error naming file:line.
 */
static int parse_list(const char *text, const char *fname, bool is_addr, struct intel_set *s,
                      uint64_t max, char *err, size_t errcap)
{
    char line[INTEL_LINE_MAX + 2], canon[INTEL_LINE_MAX + 8], shownbuf[80];
    unsigned lineno = 0;
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        lineno++;
        if (n > INTEL_LINE_MAX) {
            snprintf(err, errcap, "%s:%u: line longer than %d characters", fname, lineno,
                     INTEL_LINE_MAX);
            return -EINVAL;
        }
        memcpy(line, text, n);
        line[n] = '\0';
        text += n + (nl ? 1 : 0);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *b = line;
        while (isspace((unsigned char)*b))
            b++;
        char *e = b + strlen(b);
        while (e > b && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (!*b)
            continue;
        int rc = is_addr ? canon_addr(b, canon, sizeof(canon)) : canon_domain(b, canon, 254);
        if (rc < 0) {
            snprintf(err, errcap, "%s:%u: '%s' is not %s", fname, lineno,
                     shown(b, shownbuf, sizeof(shownbuf)),
                     is_addr ? "an IPv4/IPv6 address or network"
                             : "a domain name (letters, digits, '-', '_', '.'; at most 253)");
            return -EINVAL;
        }
        if ((rc = set_add(s, is_addr, canon)) < 0) {
            snprintf(err, errcap, "out of memory");
            return rc;
        }
        if (set_count(s) > max) {
            snprintf(err, errcap, "%s:%u: more than %" PRIu64 " indicators ([intel] max_entries)",
                     fname, lineno, max);
            return -E2BIG;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- sensors */

static int name_one(void *arg, const struct sensor_row *row)
{
    if (!row->revoked && json_array_size(arg) < COMMAND_MAX_SENSORS)
        json_array_append_new(arg, json_string(row->name));
    return 0;
}

/* The sensors a command is for: the one named (it must be enrolled), or every one. */
static int targets_of(struct console *c, const char *sensor, json_t **out, char *err, size_t errcap)
{
    json_t *a = json_array();
    if (!a)
        return -ENOMEM;
    if (sensor && sensor[0]) {
        struct sensor_row row;
        if (store_sensors_by_name(c->store, sensor, &row) != 0 || row.revoked) {
            json_decref(a);
            snprintf(err, errcap, "no enrolled sensor '%s' (wardctl sensor list)", sensor);
            return -ENOENT;
        }
        json_array_append_new(a, json_string(row.name));
    } else {
        (void)store_sensors_each(c->store, name_one, a);
    }
    *out = a;
    return 0;
}

/* The sensor's row and last heartbeat ({} if none).  0 or -ENOENT. */
static int reported(struct console *c, const char *sensor, struct sensor_row *row, json_t **hb)
{
    int rc = store_sensors_by_name(c->store, sensor, row);
    if (rc)
        return rc;
    if (store_sensors_heartbeat_json(c->store, row->id, hb) != 0)
        *hb = json_object();
    return *hb ? 0 : -ENOMEM;
}

static int record_cmd(struct console *c, uint64_t id, const char *action, const char *who,
                      uint64_t now)
{
    struct contain_cmd_row row;
    memset(&row, 0, sizeof(row));
    row.id = id;
    snprintf(row.action, sizeof(row.action), "%s", action);
    snprintf(row.actor, sizeof(row.actor), "%s", who);
    row.issued_usec = now;
    return store_contain_cmd_add(c->store, &row);
}

/* ---------------------------------------------------------------- push */

struct push_req {
    const char *sensor;    /* one sensor, or NULL/"" for every one */
    bool replace;          /* replace the pushed set */
    const char *addresses; /* file text */
    const char *addr_file; /* its name for messages */
    const char *domains;   /* file text */
    const char *name_file; /* its name for messages */
};

static int push(struct console *c, const struct actor *who, const struct push_req *p,
                json_t **reply, char *err, size_t errcap)
{
    struct intel_state *s = state_of(c);
    struct intel_set in;
    json_t *targets = NULL;
    uint64_t prev[COMMAND_MAX_SENSORS];
    uint64_t id;
    int rc = set_init(&in);
    if (rc)
        return rc;
    if ((rc = parse_list(p->addresses, p->addr_file, true, &in, s->max_entries, err, errcap)) ||
        (rc = parse_list(p->domains, p->name_file, false, &in, s->max_entries, err, errcap)))
        goto out;
    if (!p->replace && set_count(&in) == 0) {
        snprintf(err, errcap,
                 "nothing to push: give --addresses FILE and/or --domains FILE with "
                 "at least one indicator (--replace alone clears the pushed set)");
        rc = -EINVAL;
        goto out;
    }
    if ((rc = targets_of(c, p->sensor, &targets, err, errcap)))
        goto out;
    if ((rc = command_next_id(c, &id))) {
        snprintf(err, errcap, "database: %s", strerror(-rc));
        goto out;
    }
    for (size_t i = 0; i < json_array_size(targets); i++) {
        if ((rc = store_intel_version_for(c->store, json_string_value(json_array_get(targets, i)),
                                          &prev[i]))) {
            snprintf(err, errcap, "database: %s", strerror(-rc));
            goto out;
        }
    }
    char *atext = set_text(in.addrs), *dtext = set_text(in.names);
    uint64_t now = clock_now_usec();
    struct intel_push_row row;
    memset(&row, 0, sizeof(row));
    row.id = id;
    snprintf(row.actor, sizeof(row.actor), "%s", who->name);
    row.issued_usec = now;
    snprintf(row.sensor, sizeof(row.sensor), "%s", p->sensor ? p->sensor : "");
    row.replace = p->replace;
    row.addresses = atext;
    row.domains = dtext;
    row.n_addresses = json_object_size(in.addrs);
    row.n_domains = json_object_size(in.names);
    if (!atext || !dtext) {
        free(atext);
        free(dtext);
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = store_begin(c->store))) {
        free(atext);
        free(dtext);
        snprintf(err, errcap, "database busy: %s", strerror(-rc));
        goto out;
    }
    rc = record_cmd(c, id, "intel", who->name, now);
    if (rc == 0)
        rc = store_intel_push_add(c->store, &row);
    free(atext);
    free(dtext);
    if (rc) {
        snprintf(err, errcap, "database: %s", strerror(-rc));
        goto rollback;
    }
    /* Every sensor's whole set must stay within bounds before anything is sent. */
    for (size_t i = 0; i < json_array_size(targets); i++) {
        const char *name = json_string_value(json_array_get(targets, i));
        struct intel_set whole;
        if ((rc = sensor_set(c, name, &whole))) {
            snprintf(err, errcap, "database: %s", strerror(-rc));
            goto rollback;
        }
        size_t n = set_count(&whole), bytes = whole.bytes;
        set_fini(&whole);
        if (n > s->max_entries || bytes > INTEL_MAX_BYTES) {
            snprintf(err, errcap,
                     "refused: sensor %s would hold %zu pushed indicators (%zu bytes), over "
                     "[intel] max_entries = %" PRIu64 " or %u bytes; push with --replace, or "
                     "fewer",
                     name, n, bytes, s->max_entries, INTEL_MAX_BYTES);
            rc = -E2BIG;
            goto rollback;
        }
    }
    struct command_targets t;
    command_targets_init(&t);
    for (size_t i = 0; i < json_array_size(targets); i++) {
        const char *name = json_string_value(json_array_get(targets, i));
        struct sensor_row srow;
        json_t *hb = NULL;
        bool in_step = prev[i] != 0 && reported(c, name, &srow, &hb) == 0 &&
                       json_u64(hb, "intel_version", 0) == prev[i];
        json_decref(hb);
        struct intel_set whole;
        const struct intel_set *send = &in;
        bool whole_set = !in_step && !p->replace;
        if (whole_set && (rc = sensor_set(c, name, &whole))) {
            snprintf(err, errcap, "database: %s", strerror(-rc));
            goto rollback;
        }
        if (whole_set)
            send = &whole;
        struct intel_wire w;
        Ward__Command cmd;
        command_init(&cmd, id, now);
        rc = wire_init(&w, send, p->replace || whole_set, id, in_step ? prev[i] : 0);
        if (rc == 0) {
            cmd.kind_case = WARD__COMMAND__KIND_INTEL;
            cmd.intel = &w.u;
            if (command_try(c, &t, name, &cmd) == 0) {
                struct intel_peer *peer = peer_get(s, name);
                if (peer)
                    peer->intel_sent_usec = now;
            }
            wire_fini(&w);
        }
        if (whole_set)
            set_fini(&whole);
        if (rc)
            goto rollback;
    }
    json_t *sensors = command_targets_json(&t);
    json_t *d = json_pack(
        "{s:I, s:I, s:b, s:s, s:I, s:I, s:s, s:s, s:O}", "command_id", (json_int_t)id, "version",
        (json_int_t)id, "replace", p->replace, "sensor", row.sensor[0] ? row.sensor : "*",
        "addresses", (json_int_t)row.n_addresses, "domains", (json_int_t)row.n_domains,
        "addresses_file", p->addr_file, "domains_file", p->name_file, "sensors", sensors);
    json_decref(sensors);
    if (!d) {
        rc = -ENOMEM;
        goto rollback;
    }
    if ((rc = command_record_sent(c, id, &t, now)) == 0 &&
        (rc = audit_log(c, who, "intel.push", "intel", (int64_t)id, d)) == 0)
        rc = store_commit(c->store);
    if (rc) {
        json_decref(d);
        snprintf(err, errcap, "push %" PRIu64 " could not be recorded: %s", id, strerror(-rc));
        goto rollback;
    }
    log_info("intel: %s pushed version %" PRIu64 " (%" PRIu64 " addresses, %" PRIu64
             " domains%s) to %s; %zu of %zu sensors reached",
             who->name, id, row.n_addresses, row.n_domains, p->replace ? ", replacing" : "",
             row.sensor[0] ? row.sensor : "every sensor", t.sent, t.count);
    *reply = d;
    goto out;
rollback:
    if (store_in_tx(c->store))
        store_rollback(c->store);
out:
    json_decref(targets);
    set_fini(&in);
    return rc;
}

/* ---------------------------------------------------------------- mode */

static void mode_cmd(Ward__Command *cmd, Ward__SetMode *m, uint64_t id, uint64_t now,
                     bool heightened, double factor)
{
    command_init(cmd, id, now);
    ward__set_mode__init(m);
    m->heightened = heightened;
    m->factor = factor;
    cmd->kind_case = WARD__COMMAND__KIND_SET_MODE;
    cmd->set_mode = m;
}

static int set_mode(struct console *c, const struct actor *who, const char *sensor, bool heightened,
                    double factor, json_t **reply, char *err, size_t errcap)
{
    struct intel_state *s = state_of(c);
    json_t *targets = NULL;
    uint64_t id;
    if (!(factor > 0 && factor <= 1.0)) {
        snprintf(err, errcap,
                 "the factor must be more than 0 and at most 1 (thresholds are "
                 "multiplied by it), not %g",
                 factor);
        return -EINVAL;
    }
    int rc = targets_of(c, sensor, &targets, err, errcap);
    if (rc)
        return rc;
    if ((rc = command_next_id(c, &id)) || (rc = store_begin(c->store))) {
        json_decref(targets);
        snprintf(err, errcap, "database: %s", strerror(-rc));
        return rc;
    }
    uint64_t now = clock_now_usec();
    struct intel_mode_row m;
    memset(&m, 0, sizeof(m));
    snprintf(m.sensor, sizeof(m.sensor), "%s", sensor ? sensor : "");
    m.heightened = heightened;
    m.factor = factor;
    m.command_id = id;
    snprintf(m.actor, sizeof(m.actor), "%s", who->name);
    m.at_usec = now;
    Ward__Command cmd;
    Ward__SetMode sm;
    mode_cmd(&cmd, &sm, id, now, heightened, factor);
    struct command_targets t;
    command_targets_init(&t);
    for (size_t i = 0; i < json_array_size(targets); i++) {
        const char *name = json_string_value(json_array_get(targets, i));
        if (command_try(c, &t, name, &cmd) == 0) {
            struct intel_peer *peer = peer_get(s, name);
            if (peer)
                peer->mode_sent_usec = now;
        }
    }
    json_t *sensors = command_targets_json(&t);
    json_t *d = json_pack("{s:I, s:s, s:b, s:f, s:O}", "command_id", (json_int_t)id, "sensor",
                          m.sensor[0] ? m.sensor : "*", "heightened", heightened, "factor",
                          heightened ? factor : 1.0, "sensors", sensors);
    json_decref(sensors);
    rc = d ? 0 : -ENOMEM;
    if (rc == 0 && (rc = record_cmd(c, id, "mode", who->name, now)) == 0 &&
        (rc = store_intel_mode_set(c->store, &m)) == 0 &&
        (rc = command_record_sent(c, id, &t, now)) == 0 &&
        (rc = audit_log(c, who, "mode.set", "mode", (int64_t)id, d)) == 0)
        rc = store_commit(c->store);
    if (rc) {
        if (store_in_tx(c->store))
            store_rollback(c->store);
        json_decref(d);
        json_decref(targets);
        snprintf(err, errcap, "mode change could not be recorded: %s", strerror(-rc));
        return rc;
    }
    log_info("intel: %s set %s mode (factor %.2f) on %s; %zu of %zu sensors reached", who->name,
             heightened ? "heightened" : "normal", heightened ? factor : 1.0,
             m.sensor[0] ? m.sensor : "every sensor", t.sent, t.count);
    json_decref(targets);
    *reply = d;
    return 0;
}

/* ---------------------------------------------------------------- keeping in step */

int intel_sensor_set(struct console *c, const char *sensor, json_t **out)
{
    struct intel_set s;
    int rc = sensor_set(c, sensor, &s);
    if (rc)
        return rc;
    *out = json_pack("{s:I, s:o, s:o}", "version", (json_int_t)s.version, "addresses",
                     set_json(s.addrs), "domains", set_json(s.names));
    set_fini(&s);
    return *out ? 0 : -ENOMEM;
}

/* Sends one resend command to sensor and records it; *sent 1 if it went. */
static int resend(struct console *c, const char *sensor, const char *action, Ward__Command *cmd,
                  json_t *details, uint64_t now, int *sent)
{
    struct command_targets t;
    command_targets_init(&t);
    int rc = store_begin(c->store);
    if (rc) {
        json_decref(details);
        return rc;
    }
    if (command_try(c, &t, sensor, cmd) != 0) {
        store_rollback(c->store); /* offline: nothing to record; try at its next heartbeat */
        json_decref(details);
        return 0;
    }
    if ((rc = record_cmd(c, cmd->id, action, console_ward_actor()->name, now)) == 0 &&
        (rc = command_record_sent(c, cmd->id, &t, now)) == 0 &&
        (rc = audit_log(c, console_ward_actor(), action,
                        strncmp(action, "mode", 4) ? "intel" : "mode", (int64_t)cmd->id,
                        details)) == 0)
        rc = store_commit(c->store);
    if (rc && store_in_tx(c->store))
        store_rollback(c->store);
    json_decref(details);
    if (rc == 0)
        (*sent)++;
    return rc;
}

int intel_sync_sensor(struct console *c, const char *sensor, uint64_t now_usec, int *sent)
{
    struct intel_state *s = state_of(c);
    struct sensor_row row;
    json_t *hb = NULL;
    uint64_t want = 0, id;
    *sent = 0;
    if (reported(c, sensor, &row, &hb) != 0)
        return 0;
    struct intel_peer *peer = peer_get(s, sensor);
    int rc = 0;
    if (row.revoked || !row.last_heartbeat_usec || !peer)
        goto out;
    uint64_t have = json_u64(hb, "intel_version", 0);
    if ((rc = store_intel_version_for(c->store, sensor, &want)))
        goto out;
    /* A sensor that keeps refusing (its own ceiling is lower) is asked less and less often. */
    uint64_t pause = (uint64_t)INTEL_RESEND_SEC * USEC_PER_SEC << WARD_MIN(peer->refusals, 5u);
    if (want != have && row.last_heartbeat_usec > peer->intel_sent_usec &&
        now_usec >= peer->intel_sent_usec + pause) {
        struct intel_set set;
        struct intel_wire w;
        if ((rc = sensor_set(c, sensor, &set)))
            goto out;
        if ((rc = command_next_id(c, &id)) == 0 &&
            (rc = wire_init(&w, &set, true, set.version, 0)) == 0) {
            Ward__Command cmd;
            command_init(&cmd, id, now_usec);
            cmd.kind_case = WARD__COMMAND__KIND_INTEL;
            cmd.intel = &w.u;
            json_t *d = json_pack("{s:s, s:I, s:I, s:I, s:I}", "sensor", sensor, "version",
                                  (json_int_t)set.version, "reported", (json_int_t)have,
                                  "addresses", (json_int_t)json_object_size(set.addrs), "domains",
                                  (json_int_t)json_object_size(set.names));
            rc = resend(c, sensor, "intel.sync", &cmd, d, now_usec, sent);
            wire_fini(&w);
            if (*sent) {
                peer->intel_sent_usec = now_usec;
                log_info("intel: sensor %s reports pushed set version %" PRIu64
                         "; sent it version %" PRIu64 " whole",
                         sensor, have, set.version);
            }
        }
        set_fini(&set);
        if (rc)
            goto out;
    }
    struct intel_mode_row m;
    if (store_intel_mode_get(c->store, sensor, &m) != 0)
        goto out;
    bool on = json_is_true(json_object_get(hb, "heightened"));
    double f = json_number_value(json_object_get(hb, "factor"));
    bool differs = on != m.heightened || (on && f > 0 && fabs(f - m.factor) > 1e-6);
    if (differs && row.last_heartbeat_usec > peer->mode_sent_usec &&
        now_usec >= peer->mode_sent_usec + INTEL_RESEND_SEC * USEC_PER_SEC &&
        (rc = command_next_id(c, &id)) == 0) {
        Ward__Command cmd;
        Ward__SetMode sm;
        int before = *sent;
        mode_cmd(&cmd, &sm, id, now_usec, m.heightened, m.factor);
        json_t *d = json_pack("{s:s, s:b, s:f, s:b}", "sensor", sensor, "heightened", m.heightened,
                              "factor", m.heightened ? m.factor : 1.0, "reported_heightened", on);
        rc = resend(c, sensor, "mode.sync", &cmd, d, now_usec, sent);
        if (*sent > before) {
            peer->mode_sent_usec = now_usec;
            log_info("intel: sensor %s runs in %s mode; sent it %s mode again", sensor,
                     on ? "heightened" : "normal", m.heightened ? "heightened" : "normal");
        }
    }
out:
    json_decref(hb);
    return rc;
}

static void intel_on_tick(struct console *c, uint64_t now_usec)
{
    struct intel_state *s = state_of(c);
    if (now_usec < s->next_sync_usec)
        return;
    s->next_sync_usec = now_usec + INTEL_SYNC_USEC;
    json_t *names = json_array();
    if (!names || store_sensors_each(c->store, name_one, names) < 0) {
        json_decref(names);
        return;
    }
    for (size_t i = 0; i < json_array_size(names); i++) {
        int sent;
        (void)!intel_sync_sensor(c, json_string_value(json_array_get(names, i)), now_usec, &sent);
    }
    json_decref(names);
}

/* ---------------------------------------------------------------- results */

static bool is_ours(const char *action)
{
    return !strcmp(action, "intel") || !strcmp(action, "intel.sync") || !strcmp(action, "mode") ||
           !strcmp(action, "mode.sync");
}

static int intel_on_message(struct console *c, const struct msg_origin *o, const Ward__Message *m)
{
    if (m->kind_case != WARD__MESSAGE__KIND_RESULT || !m->result)
        return 0;
    const Ward__CommandResult *r = m->result;
    struct contain_cmd_row row;
    int rc = command_peek(c, r->command_id, &row);
    if (rc == -ENOENT || (rc == 0 && !is_ours(row.action)))
        return 0; /* unknown ones are contain's to report */
    if (rc || (rc = command_record_result(c, o->sensor, row.id, r)))
        return rc;
    bool mode = !strncmp(row.action, "mode", 4);
    struct actor a = {0, "", ROLE_NONE};
    snprintf(a.name, sizeof(a.name), "%s", o->sensor);
    const char *detail = r->detail ? r->detail : "";
    json_t *d = json_pack("{s:I, s:s, s:s, s:b, s:s}", "command_id", (json_int_t)row.id, "action",
                          row.action, "sensor", o->sensor, "ok", r->ok, "detail", detail);
    rc = audit_log(c, &a, mode ? "mode.result" : "intel.result", mode ? "mode" : "intel",
                   (int64_t)row.id, d);
    json_decref(d);
    struct intel_peer *peer = peer_get(state_of(c), o->sensor);
    if (peer && !mode && r->ok)
        peer->refusals = 0;
    if (peer && !r->ok && mode) {
        peer->mode_sent_usec = 0; /* resend at its next heartbeat */
    } else if (peer && !r->ok && !strcmp(row.action, "intel") && peer->refusals == 0) {
        peer->intel_sent_usec = 0; /* a push it could not add (stale base): resend it whole */
    } else if (peer && !r->ok) {
        peer->refusals++; /* the whole set refused: back off (intel_sync_sensor) */
    }
    if (r->ok)
        log_info("intel: %s %" PRIu64 " done by sensor %s: %s", row.action, row.id, o->sensor,
                 detail);
    else
        log_warn("intel: %s %" PRIu64 " refused by sensor %s: %s", row.action, row.id, o->sensor,
                 detail);
    return rc;
}

/* ---------------------------------------------------------------- verbs */

static int verb_push(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                     size_t errcap)
{
    const json_t *a = req->args;
    static const char *const strings[] = {"addresses", "addresses_file", "domains", "domains_file",
                                          "sensor"};
    for (size_t i = 0; i < WARD_ARRAY_LEN(strings); i++) {
        const json_t *v = json_object_get(a, strings[i]);
        if (v && !json_is_string(v) && !json_is_null(v)) {
            snprintf(err, errcap, "'%s' must be a string", strings[i]);
            return -EINVAL;
        }
    }
    struct push_req p = {
        .sensor = json_str(a, "sensor", ""),
        .replace = json_is_true(json_object_get(a, "replace")),
        .addresses = json_str(a, "addresses", ""),
        .addr_file = json_str(a, "addresses_file", "addresses"),
        .domains = json_str(a, "domains", ""),
        .name_file = json_str(a, "domains_file", "domains"),
    };
    return push(c, req->actor, &p, reply, err, errcap);
}

static int verb_mode(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                     size_t errcap)
{
    const json_t *h = json_object_get(req->args, "heightened");
    const json_t *f = json_object_get(req->args, "factor");
    if (!json_is_boolean(h)) {
        snprintf(err, errcap, "'heightened' (true or false) is needed");
        return -EINVAL;
    }
    if (f && !json_is_number(f)) {
        snprintf(err, errcap, "'factor' must be a number");
        return -EINVAL;
    }
    double factor = f ? json_number_value(f) : INTEL_DEFAULT_FACTOR;
    return set_mode(c, req->actor, json_str(req->args, "sensor", ""), json_is_true(h), factor,
                    reply, err, errcap);
}

struct list_ctx {
    struct console *c; /* the console */
    json_t *arr;       /* one row per sensor */
};

static int list_sensor(void *arg, const struct sensor_row *row)
{
    struct list_ctx *l = arg;
    json_t *hb = NULL;
    uint64_t want = 0;
    struct intel_mode_row m;
    if (row->revoked)
        return 0;
    if (store_intel_version_for(l->c->store, row->name, &want) != 0 ||
        store_sensors_heartbeat_json(l->c->store, row->id, &hb) != 0)
        hb = NULL;
    bool seen = row->last_heartbeat_usec != 0;
    uint64_t have = json_u64(hb, "intel_version", 0);
    bool on = json_is_true(json_object_get(hb, "heightened"));
    double f = json_number_value(json_object_get(hb, "factor"));
    json_t *j =
        json_pack("{s:s, s:I, s:s}", "sensor", row->name, "version", (json_int_t)want, "state",
                  !seen          ? "never seen"
                  : have == want ? "in step"
                                 : "behind");
    if (j && seen)
        json_set_u64(j, "reported", have);
    if (j && seen) {
        char mode[48] = "normal";
        if (on)
            snprintf(mode, sizeof(mode), "heightened x%.2f", f);
        json_object_set_new(j, "mode", json_string(mode));
    }
    if (j && store_intel_mode_get(l->c->store, row->name, &m) == 0) {
        char mode[48] = "normal";
        if (m.heightened)
            snprintf(mode, sizeof(mode), "heightened x%.2f", m.factor);
        json_object_set_new(j, "mode_asked", json_string(mode));
    }
    json_decref(hb);
    return j && json_array_append_new(l->arr, j) == 0 ? 0 : -ENOMEM;
}

static int verb_list(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                     size_t errcap)
{
    bool full = json_is_true(json_object_get(req->args, "full"));
    uint64_t limit = json_u64(req->args, "limit", 20);
    json_t *pushes = NULL;
    struct list_ctx l = {c, json_array()};
    if (limit < 1 || limit > 10000)
        limit = 20;
    int rc = l.arr ? store_intel_pushes_json(c->store, limit, full, &pushes) : -ENOMEM;
    if (rc == 0)
        rc = store_sensors_each(c->store, list_sensor, &l);
    if (rc < 0) {
        json_decref(pushes);
        json_decref(l.arr);
        snprintf(err, errcap, "cannot list pushes: %s", strerror(-rc));
        return rc;
    }
    size_t i, k, j;
    json_t *p, *r, *st;
    json_array_foreach(pushes, i, p)
    {
        json_t *res = NULL;
        uint64_t id = json_u64(p, "id", 0);
        if (store_contain_results_json(c->store, id, &res) != 0)
            continue;
        /* A sensor reached later by a resend holds the push if it is in step past it. */
        json_array_foreach(res, k, r)
        {
            if (!strcmp(json_str(r, "status", ""), "ok"))
                continue;
            json_array_foreach(l.arr, j, st)
            {
                if (!strcmp(json_str(st, "sensor", ""), json_str(r, "sensor", "")) &&
                    !strcmp(json_str(st, "state", ""), "in step") &&
                    json_u64(st, "reported", 0) >= id)
                    json_object_set_new(r, "status", json_string("ok (resent)"));
            }
        }
        json_object_set_new(p, "sensors", res);
    }
    *reply = json_pack("{s:o, s:o}", "pushes", pushes, "sensors", l.arr);
    return *reply ? 0 : -ENOMEM;
}

static const struct ctl_cmd intel_cmds[] = {
    {"intel.push", ROLE_OPERATOR, verb_push},
    {"intel.list", ROLE_VIEWER, verb_list},
    {"mode", ROLE_OPERATOR, verb_mode},
    {NULL, ROLE_NONE, NULL},
};

/* ---------------------------------------------------------------- module */

static int intel_init(struct console *c)
{
    struct intel_state *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int rc = 0;
    if (c->cfg && config_get_u64(c->cfg, "intel", "max_entries", INTEL_DEFAULT_MAX_ENTRIES,
                                 &s->max_entries) < 0)
        rc = -EINVAL;
    else if (!c->cfg)
        s->max_entries = INTEL_DEFAULT_MAX_ENTRIES;
    if (rc == 0 && (s->max_entries < 1 || s->max_entries > 65536)) {
        config_fail(c->cfg, "intel", "max_entries", "must be 1..65536 (one command's lists)");
        rc = -EINVAL;
    }
    if (rc) {
        log_err("intel: %s", config_error(c->cfg));
        free(s);
        return rc;
    }
    if ((rc = store_contain_init(c->store)) || (rc = store_intel_init(c->store))) {
        free(s);
        return rc;
    }
    c->mod[MOD_INTEL] = s;
    return 0;
}

static void intel_fini(struct console *c)
{
    struct intel_state *s = state_of(c);
    if (!s)
        return;
    free(s->peers);
    free(s);
    c->mod[MOD_INTEL] = NULL;
}

const struct console_module intel_module = {
    .name = "intel",
    .init = intel_init,
    .fini = intel_fini,
    .on_message = intel_on_message,
    .on_tick = intel_on_tick,
    .commands = intel_cmds,
};
