/*
 * contain -- isolation state, safety rails, persistence and leak watch (see
 * contain.h).  The backends live in contain_nft.c and contain_exec.c.
 *
 * The state file is JSON written to a temporary file, synced and renamed, so a
 * crash leaves the old or the new state, never half of one:
 *   {"isolated":[{"host":"10.1.2.3","mac":"","since_usec":..,"expires_usec":..,
 *                 "incident":7,"command_id":12,"backend":"nft"}]}
 */
#include "contain.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "file.h"
#include "json.h"
#include "log.h"

#define CONTAIN_BACKEND_LEN 8
#define CONTAIN_UID_LEN 96

struct contain_entry {
    struct addr host;               /* the isolated address */
    char mac[CONTAIN_MAC_LEN];      /* its MAC where known */
    uint64_t since_usec;            /* wall clock when isolated */
    uint64_t expires_usec;          /* wall clock of automatic release */
    uint64_t incident;              /* incident the command named */
    uint64_t command_id;            /* isolating command */
    char backend[CONTAIN_BACKEND_LEN]; /* "nft", "exec", "none", "drill": what enforces it */
    uint64_t leak_packets;          /* packets that got through since isolating */
    uint64_t leak_bytes;            /* their bytes */
    uint64_t leak_first_usec;       /* packet time of the first */
    uint64_t leak_last_usec;        /* packet time of the latest */
    struct addr leak_peer;          /* the latest peer */
    uint64_t leak_reported;         /* leak_packets at the last report */
    uint32_t leak_revision;         /* revision of the leak event */
    uint64_t attempts;              /* packets from the host that the backend should stop */
};

struct contain {
    struct contain_cfg cfg;                 /* settings (lists copied and owned here) */
    struct sink out;                        /* results and leak events */
    const struct contain_ops *ops;          /* NULL: record only */
    void *b;                                /* backend state */
    const char *backend_name;               /* "nft", "exec", "none" */
    struct contain_entry *e;                /* CONTAIN_MAX_HOSTS entries */
    size_t count;                           /* in use (dense: 0..count-1) */
    int linktype;                           /* of the watched ring */
};

/* ---------------------------------------------------------------- config */

int contain_config(struct config *cfg, struct contain_cfg *out)
{
    char bad[128];
    memset(out, 0, sizeof(*out));
    cidr_set_init(&out->management);
    cidr_set_init(&out->never);
    out->backend = config_get_str(cfg, "contain", "backend", "none");
    out->state_file = config_get_str(cfg, "contain", "state_file", "");
    out->exec_path = config_get_str(cfg, "contain", "exec", "");
    out->nft_table = config_get_str(cfg, "contain", "nft_table", "ward");
    if (config_get_duration(cfg, "contain", "default_ttl", 3600 * USEC_PER_SEC,
                            &out->default_ttl_usec) ||
        config_get_duration(cfg, "contain", "max_ttl", 24 * 3600 * USEC_PER_SEC,
                            &out->max_ttl_usec) ||
        config_get_duration(cfg, "contain", "leak_grace", 2 * USEC_PER_SEC,
                            &out->leak_grace_usec) ||
        config_get_duration(cfg, "contain", "exec_timeout", 10 * USEC_PER_SEC,
                            &out->exec_timeout_usec))
        goto fail;
    if (strcmp(out->backend, "none") && strcmp(out->backend, "nft") &&
        strcmp(out->backend, "exec")) {
        config_fail(cfg, "contain", "backend", "must be none, nft or exec, not '%s'",
                    out->backend);
        goto fail;
    }
    if (!strcmp(out->backend, "exec") && !out->exec_path[0]) {
        config_fail(cfg, "contain", "exec", "backend = exec needs exec = /path/to/script");
        goto fail;
    }
    if (out->default_ttl_usec == 0 || out->default_ttl_usec > out->max_ttl_usec) {
        config_fail(cfg, "contain", "default_ttl", "must be more than 0 and at most max_ttl");
        goto fail;
    }
    if (cidr_set_add_list(&out->management,
                          config_get_str(cfg, "contain", "management", ""), bad,
                          sizeof(bad)) != 0) {
        config_fail(cfg, "contain", "management", "not an address or CIDR: '%s'", bad);
        goto fail;
    }
    if (cidr_set_add_list(&out->never, config_get_str(cfg, "contain", "never_isolate", ""),
                          bad, sizeof(bad)) != 0) {
        config_fail(cfg, "contain", "never_isolate", "not an address or CIDR: '%s'", bad);
        goto fail;
    }
    return 0;
fail:
    contain_config_fini(out);
    return -EINVAL;
}

void contain_config_fini(struct contain_cfg *cfg)
{
    cidr_set_fini(&cfg->management);
    cidr_set_fini(&cfg->never);
}

/* ---------------------------------------------------------------- state file */

static int state_save(const struct contain *c)
{
    int rc = 0;
    if (!c->cfg.state_file || !c->cfg.state_file[0])
        return 0;
    json_t *arr = json_array();
    json_t *root = json_object();
    if (!arr || !root) {
        json_decref(arr);
        json_decref(root);
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->count; i++) {
        const struct contain_entry *e = &c->e[i];
        char host[ADDR_STR_LEN];
        json_t *o = json_object();
        if (!o)
            continue;
        json_object_set_new(o, "host", json_string(addr_format(&e->host, host, sizeof(host))));
        json_object_set_new(o, "mac", json_string(e->mac));
        json_set_u64(o, "since_usec", e->since_usec);
        json_set_u64(o, "expires_usec", e->expires_usec);
        json_set_u64(o, "incident", e->incident);
        json_set_u64(o, "command_id", e->command_id);
        json_object_set_new(o, "backend", json_string(e->backend));
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "isolated", arr);
    char *text = json_dumps(root, JSON_INDENT(1));
    json_decref(root);
    if (!text)
        return -ENOMEM;
    size_t len = strlen(text);
    text[len] = '\n'; /* over the terminator: the file ends in a newline */
    rc = file_replace(c->cfg.state_file, text, len + 1, 0666, FILE_SYNC);
    free(text);
    if (rc < 0)
        log_err("contain: cannot write %s: %s", c->cfg.state_file, strerror(-rc));
    return rc;
}

/* Loads state_file into c->e (nothing applied yet).  A missing file is no state. */
static int state_load(struct contain *c)
{
    json_error_t jerr;
    if (!c->cfg.state_file || !c->cfg.state_file[0])
        return 0;
    if (access(c->cfg.state_file, F_OK) != 0)
        return 0;
    json_t *root = json_load_file(c->cfg.state_file, 0, &jerr);
    if (!root) {
        log_err("contain: %s:%d: %s", c->cfg.state_file, jerr.line, jerr.text);
        return -EINVAL;
    }
    json_t *arr = json_object_get(root, "isolated");
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        if (c->count == CONTAIN_MAX_HOSTS)
            break;
        struct contain_entry *e = &c->e[c->count];
        memset(e, 0, sizeof(*e));
        if (addr_parse(json_str(o, "host", ""), &e->host) != 0) {
            log_warn("contain: %s: entry %zu: bad host, skipped", c->cfg.state_file, i);
            continue;
        }
        snprintf(e->mac, sizeof(e->mac), "%s", json_str(o, "mac", ""));
        snprintf(e->backend, sizeof(e->backend), "%s", json_str(o, "backend", "none"));
        e->since_usec = json_u64(o, "since_usec", 0);
        e->expires_usec = json_u64(o, "expires_usec", 0);
        e->incident = json_u64(o, "incident", 0);
        e->command_id = json_u64(o, "command_id", 0);
        c->count++;
    }
    json_decref(root);
    return 0;
}

/* ---------------------------------------------------------------- backend calls */

static bool entry_is_real(const struct contain *c, const struct contain_entry *e)
{
    return c->ops && !strcmp(e->backend, c->backend_name);
}

static int backend_isolate(struct contain *c, const struct contain_entry *e, uint64_t now,
                           char *err, size_t errcap)
{
    if (!entry_is_real(c, e))
        return 0;
    uint64_t ttl =
        e->expires_usec > now ? (e->expires_usec - now + USEC_PER_SEC - 1) / USEC_PER_SEC : 1;
    return c->ops->isolate(c->b, &e->host, e->mac, ttl, err, errcap);
}

static int backend_release(struct contain *c, const struct contain_entry *e, char *err,
                           size_t errcap)
{
    if (!entry_is_real(c, e))
        return 0;
    return c->ops->release(c->b, &e->host, e->mac, err, errcap);
}

static struct contain_entry *find(const struct contain *c, const struct addr *a)
{
    for (size_t i = 0; i < c->count; i++)
        if (addr_eq(&c->e[i].host, a))
            return &c->e[i];
    return NULL;
}

static void remove_entry(struct contain *c, struct contain_entry *e)
{
    size_t i = (size_t)(e - c->e);
    c->e[i] = c->e[c->count - 1];
    c->count--;
}

/* Releases e (backend, then state).  On a backend error e stays and the error is returned. */
static int release_entry(struct contain *c, struct contain_entry *e, const char *why)
{
    char err[CONTAIN_ERR_LEN] = "";
    char host[ADDR_STR_LEN];
    addr_format(&e->host, host, sizeof(host));
    int rc = backend_release(c, e, err, sizeof(err));
    if (rc) {
        log_err("contain: release of %s failed: %s", host, err);
        return rc;
    }
    log_info("contain: released %s (%s)", host, why);
    remove_entry(c, e);
    (void)state_save(c); /* logged there; the release itself happened */
    return 0;
}

/* ---------------------------------------------------------------- open / close */

int contain_open_with(const struct contain_cfg *cfg, const struct sink *out,
                      const struct contain_ops *ops, void *b, struct contain **res)
{
    char err[CONTAIN_ERR_LEN] = "";
    int rc;
    *res = NULL;
    struct contain *c = calloc(1, sizeof(*c));
    if (!c) {
        if (ops)
            ops->close(b);
        return -ENOMEM;
    }
    c->e = calloc(CONTAIN_MAX_HOSTS, sizeof(*c->e));
    c->cfg = *cfg;
    /* The lists are copied: the caller may free its contain_cfg once this returns. */
    cidr_set_init(&c->cfg.management);
    cidr_set_init(&c->cfg.never);
    for (size_t i = 0; i < cfg->management.count; i++)
        if (cidr_set_add(&c->cfg.management, &cfg->management.items[i]) != 0)
            c->e = (free(c->e), NULL);
    for (size_t i = 0; i < cfg->never.count; i++)
        if (cidr_set_add(&c->cfg.never, &cfg->never.items[i]) != 0)
            c->e = (free(c->e), NULL);
    c->out = *out;
    c->ops = ops;
    c->b = b;
    c->backend_name = ops ? ops->name : "none";
    if (!c->e) {
        rc = -ENOMEM;
        goto fail;
    }
    if (ops && (rc = ops->setup(b, err, sizeof(err))) != 0) {
        log_err("contain: %s backend: %s", c->backend_name, err);
        goto fail;
    }
    if ((rc = state_load(c)) != 0)
        goto fail;
    uint64_t now = clock_now_usec();
    for (size_t i = 0; i < c->count;) {
        struct contain_entry *e = &c->e[i];
        char host[ADDR_STR_LEN];
        addr_format(&e->host, host, sizeof(host));
        if (e->expires_usec <= now) {
            size_t before = c->count;
            (void)release_entry(c, e, "its time ran out while the sensor was down");
            if (c->count == before)
                i++; /* release failed: kept, tried again at the next tick */
            continue;
        }
        if (backend_isolate(c, e, now, err, sizeof(err)) != 0)
            log_err("contain: cannot re-apply isolation of %s: %s", host, err);
        else
            log_info("contain: re-applied isolation of %s (%s, %" PRIu64 " s left)", host,
                     e->backend, (uint64_t)((e->expires_usec - now) / USEC_PER_SEC));
        i++;
    }
    (void)state_save(c);
    *res = c;
    return 0;
fail:
    contain_close(c);
    return rc;
}

int contain_open(const struct contain_cfg *cfg, const struct sink *out, struct contain **res)
{
    void *b = NULL;
    const struct contain_ops *ops = NULL;
    int rc;
    *res = NULL;
    if (!strcmp(cfg->backend, "nft")) {
        if ((rc = contain_nft_open(cfg->nft_table, &cfg->management, false, &b)) != 0)
            return rc;
        ops = &contain_nft_ops;
    } else if (!strcmp(cfg->backend, "exec")) {
        if ((rc = contain_exec_open(cfg->exec_path, cfg->exec_timeout_usec, &b)) != 0)
            return rc;
        ops = &contain_exec_ops;
    }
    return contain_open_with(cfg, out, ops, b, res);
}

void contain_close(struct contain *c)
{
    if (!c)
        return;
    if (c->ops)
        c->ops->close(c->b);
    contain_config_fini(&c->cfg);
    free(c->e);
    free(c);
}

size_t contain_count(const struct contain *c)
{
    return c->count;
}

bool contain_is_isolated(const struct contain *c, const struct addr *a)
{
    return find(c, a) != NULL;
}

/* ---------------------------------------------------------------- commands */

static void answer(struct contain *c, const Ward__Command *cmd, bool ok, const char *backend,
                   const char *detail)
{
    if (sink_result(&c->out, cmd->id, ok, backend, detail) != 0)
        log_warn("contain: could not queue the result of command %" PRIu64, cmd->id);
}

static int do_isolate(struct contain *c, const Ward__Command *cmd, uint64_t now)
{
    const Ward__Isolate *is = cmd->isolate;
    char detail[512];
    char err[CONTAIN_ERR_LEN] = "";
    struct addr a;
    if (!is || !is->host || addr_parse(is->host, &a) != 0) {
        answer(c, cmd, false, c->backend_name, "isolate needs a host address");
        return -EINVAL;
    }
    if (cidr_set_contains(&c->cfg.never, &a)) {
        snprintf(detail, sizeof(detail), "refused: %s is on this sensor's never_isolate list",
                 is->host);
        answer(c, cmd, false, c->backend_name, detail);
        log_warn("contain: command %" PRIu64 ": %s", cmd->id, detail);
        return -EPERM;
    }
    if (cidr_set_contains(&c->cfg.management, &a)) {
        snprintf(detail, sizeof(detail), "refused: %s is a management address", is->host);
        answer(c, cmd, false, c->backend_name, detail);
        return -EPERM;
    }
    uint64_t ttl = is->ttl_sec ? is->ttl_sec * USEC_PER_SEC : c->cfg.default_ttl_usec;
    if (ttl > c->cfg.max_ttl_usec)
        ttl = c->cfg.max_ttl_usec;
    const char *backend = c->backend_name;
    if (is->drill && !is->allow_real)
        backend = "drill";
    if (is->dry_run) {
        snprintf(detail, sizeof(detail), "dry run: would isolate %s via %s for %" PRIu64 " s",
                 is->host, backend, (uint64_t)(ttl / USEC_PER_SEC));
        answer(c, cmd, true, "dry-run", detail);
        return 0;
    }
    struct contain_entry *e = find(c, &a);
    bool fresh = !e;
    if (fresh) {
        if (c->count == CONTAIN_MAX_HOSTS) {
            answer(c, cmd, false, backend, "refused: isolation table full");
            return -ENOSPC;
        }
        e = &c->e[c->count];
        memset(e, 0, sizeof(*e));
        e->host = a;
        e->since_usec = now;
    }
    snprintf(e->mac, sizeof(e->mac), "%s", is->mac ? is->mac : "");
    snprintf(e->backend, sizeof(e->backend), "%s", backend);
    e->expires_usec = now + ttl;
    e->incident = is->incident;
    e->command_id = cmd->id;
    int rc = backend_isolate(c, e, now, err, sizeof(err));
    if (rc) {
        snprintf(detail, sizeof(detail), "isolation of %s failed: %s", is->host, err);
        answer(c, cmd, false, backend, detail);
        log_err("contain: %s", detail);
        return rc;
    }
    if (fresh)
        c->count++;
    rc = state_save(c);
    snprintf(detail, sizeof(detail), "%s %s via %s for %" PRIu64 " s%s",
             fresh ? "isolated" : "isolation renewed for", is->host, backend,
             (uint64_t)(ttl / USEC_PER_SEC), rc ? " (state file not written)" : "");
    log_info("contain: %s", detail);
    answer(c, cmd, true, backend, detail);
    return 0;
}

static int do_release(struct contain *c, const Ward__Command *cmd)
{
    const Ward__Release *re = cmd->release;
    char detail[512];
    struct addr a;
    if (!re || !re->host || addr_parse(re->host, &a) != 0) {
        answer(c, cmd, false, c->backend_name, "release needs a host address");
        return -EINVAL;
    }
    struct contain_entry *e = find(c, &a);
    if (!e) {
        snprintf(detail, sizeof(detail), "%s was not isolated by this sensor", re->host);
        answer(c, cmd, true, c->backend_name, detail);
        return 0;
    }
    char backend[CONTAIN_BACKEND_LEN];
    snprintf(backend, sizeof(backend), "%s", e->backend);
    int rc = release_entry(c, e, "operator command");
    if (rc) {
        snprintf(detail, sizeof(detail), "release of %s failed (%s)", re->host, strerror(-rc));
        answer(c, cmd, false, backend, detail);
        return rc;
    }
    snprintf(detail, sizeof(detail), "released %s via %s", re->host, backend);
    answer(c, cmd, true, backend, detail);
    return 0;
}

int contain_command(struct contain *c, const Ward__Command *cmd)
{
    uint64_t now = clock_now_usec();
    if (cmd->kind_case != WARD__COMMAND__KIND_ISOLATE &&
        cmd->kind_case != WARD__COMMAND__KIND_RELEASE)
        return -ENOTSUP;
    if (cmd->expires_usec && cmd->expires_usec < now) {
        answer(c, cmd, false, c->backend_name, "command expired before it arrived");
        return -ETIME;
    }
    if (cmd->kind_case == WARD__COMMAND__KIND_ISOLATE)
        return do_isolate(c, cmd, now);
    return do_release(c, cmd);
}

/* ---------------------------------------------------------------- leaks and ticks */

static void on_packet(void *arg, const struct evring_rec *rec)
{
    struct contain *c = arg;
    struct addr src, dst;
    if (!c->count || !evring_frame_addrs(c->linktype, rec->data, rec->caplen, &src, &dst))
        return;
    bool inline_backend = c->ops && c->ops == &contain_nft_ops;
    for (size_t i = 0; i < c->count; i++) {
        struct contain_entry *e = &c->e[i];
        bool from = addr_eq(&e->host, &src);
        bool to = addr_eq(&e->host, &dst);
        if (!from && !to)
            continue;
        if (rec->ts_usec < e->since_usec + c->cfg.leak_grace_usec)
            return;
        const struct addr *peer = from ? &dst : &src;
        if (cidr_set_contains(&c->cfg.management, peer))
            return;
        bool leak = to || !inline_backend || !entry_is_real(c, e);
        if (from)
            e->attempts++;
        if (!leak)
            return;
        if (!e->leak_packets)
            e->leak_first_usec = rec->ts_usec;
        e->leak_packets++;
        e->leak_bytes += rec->wirelen;
        e->leak_last_usec = rec->ts_usec;
        e->leak_peer = *peer;
        return;
    }
}

int contain_watch(struct contain *c, struct evring *ring)
{
    c->linktype = evring_linktype(ring);
    return evring_tap(ring, on_packet, c);
}

static void report_leak(struct contain *c, struct contain_entry *e)
{
    char host[ADDR_STR_LEN], peer[ADDR_STR_LEN];
    char uid[CONTAIN_UID_LEN], summary[256];
    Ward__Event ev;
    Ward__Message m;
    Ward__Figure fig[2];
    Ward__Figure *figs[2] = {&fig[0], &fig[1]};
    addr_format(&e->host, host, sizeof(host));
    addr_format(&e->leak_peer, peer, sizeof(peer));
    snprintf(uid, sizeof(uid), "leak-%s-%" PRIu64, host,
             (uint64_t)(e->since_usec / USEC_PER_SEC));
    snprintf(summary, sizeof(summary),
             "isolated host %s still has traffic (%" PRIu64 " packets, latest peer %s) via %s",
             host, e->leak_packets, peer, e->backend);
    ward__event__init(&ev);
    ward__figure__init(&fig[0]);
    ward__figure__init(&fig[1]);
    fig[0].name = (char *)(uintptr_t)"leak_packets";
    fig[0].value = (double)e->leak_packets;
    fig[1].name = (char *)(uintptr_t)"attempts";
    fig[1].value = (double)e->attempts;
    ev.uid = uid;
    ev.revision = ++e->leak_revision;
    ev.kind = WARD__EVENT_KIND__ISOLATION_LEAK;
    ev.subtype = e->backend;
    ev.src = host;
    ev.dst = peer;
    ev.first_usec = e->leak_first_usec;
    ev.last_usec = e->leak_last_usec;
    ev.packets = e->leak_packets;
    ev.bytes = e->leak_bytes;
    ev.count = e->leak_packets;
    ev.severity = 70;
    ev.confidence = 90;
    ev.summary = summary;
    ev.figures = figs;
    ev.n_figures = 2;
    ward__message__init(&m);
    m.created_usec = clock_now_usec();
    m.kind_case = WARD__MESSAGE__KIND_EVENT;
    m.event = &ev;
    if (sink_send(&c->out, &m) == 0)
        e->leak_reported = e->leak_packets;
    log_warn("contain: %s", summary);
}

void contain_tick(struct contain *c)
{
    uint64_t now = clock_now_usec();
    for (size_t i = 0; i < c->count;) {
        struct contain_entry *e = &c->e[i];
        if (e->leak_packets > e->leak_reported)
            report_leak(c, e);
        if (e->expires_usec <= now) {
            size_t before = c->count;
            (void)release_entry(c, e, "time limit reached");
            if (c->count < before)
                continue; /* the slot now holds another entry */
        }
        i++;
    }
}
