/*
 * audit -- the hash-chained audit log (audit.h).
 *
 * A row's hash is SHA-256 over this canonical encoding, fields in this order,
 * each as a 4-byte big-endian length followed by its bytes:
 *
 *   "ward-audit-1"  id  time_usec  actor  uid  role  action  object  object_id
 *   details  prev_hash
 *
 * Integers are written in decimal, details is the stored JSON text (compact,
 * keys sorted when Ward wrote it), prev_hash is lower-case hex.  Length prefixes
 * keep "ab"+"c" and "a"+"bc" apart.  The encoding never changes for a given
 * version tag; a new one would get a new tag.
 */
#include "audit.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "keys.h"
#include "log.h"
#include "store_audit.h"

#define AUDIT_TAG "ward-audit-1"
#define AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

const char *audit_role_name(enum role r)
{
    switch (r) {
    case ROLE_VIEWER:
        return "viewer";
    case ROLE_OPERATOR:
        return "operator";
    case ROLE_ADMIN:
        return "admin";
    case ROLE_NONE:
        break;
    }
    return "none";
}

static void put_field(struct keys_sha256_ctx *h, const char *s)
{
    size_t len = strlen(s);
    uint8_t be[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                     (uint8_t)len};
    keys_sha256_update(h, be, sizeof(be));
    keys_sha256_update(h, s, len);
}

static void put_int(struct keys_sha256_ctx *h, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%" PRId64, v);
    put_field(h, buf);
}

static void row_hash(const struct store_audit_row *r, char out[AUDIT_HASH_HEX_LEN + 1])
{
    struct keys_sha256_ctx h;
    uint8_t md[KEYS_SHA256_LEN];

    keys_sha256_init(&h);
    put_field(&h, AUDIT_TAG);
    put_int(&h, r->id);
    put_int(&h, r->time_usec);
    put_field(&h, r->actor);
    put_int(&h, r->uid);
    put_field(&h, r->role);
    put_field(&h, r->action);
    put_field(&h, r->object);
    put_int(&h, r->object_id);
    put_field(&h, r->details);
    put_field(&h, r->prev_hash);
    keys_sha256_final(&h, md);
    keys_hex(md, sizeof(md), out, AUDIT_HASH_HEX_LEN + 1);
}

int audit_init_store(struct store *st)
{
    return store_audit_create(st);
}

int audit_append(struct store *st, const struct actor *who, const char *action,
                 const char *object, int64_t object_id, const json_t *details, int64_t *out_id)
{
    static const struct actor nobody = {.uid = 0, .name = "unknown", .role = ROLE_NONE};
    if (!who)
        who = &nobody;
    if (!action || !*action || strlen(action) > AUDIT_ACTION_MAX)
        return -EINVAL;
    if (!object)
        object = "";
    if (strlen(object) > AUDIT_OBJECT_MAX)
        return -EINVAL;
    if (details && !json_is_object(details))
        return -EINVAL;

    char *dtext = details ? json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS)
                          : strdup("{}");
    if (!dtext)
        return -ENOMEM;
    if (strlen(dtext) > AUDIT_DETAILS_MAX) {
        free(dtext);
        return -EINVAL;
    }

    int rc = store_audit_savepoint(st);
    if (rc) {
        free(dtext);
        return rc;
    }
    int64_t last_id;
    char prev[AUDIT_HASH_HEX_LEN + 1];
    char hash[AUDIT_HASH_HEX_LEN + 1];
    rc = store_audit_head(st, &last_id, prev);
    if (rc)
        goto out_rollback;
    if (!prev[0])
        snprintf(prev, sizeof(prev), "%s", AUDIT_GENESIS);

    uint64_t now = clock_now_usec();
    struct store_audit_row r = {
        .id = last_id + 1,
        .time_usec = now > INT64_MAX ? INT64_MAX : (int64_t)now,
        .actor = who->name[0] ? who->name : "unknown",
        .uid = (int64_t)who->uid,
        .role = audit_role_name(who->role),
        .action = action,
        .object = object,
        .object_id = object_id,
        .details = dtext,
        .prev_hash = prev,
        .hash = hash,
    };
    row_hash(&r, hash);
    rc = store_audit_insert(st, &r);
    if (rc == -EEXIST)
        log_err("audit: row %" PRId64 " exists already past the recorded head; run "
                "`wardctl audit verify`", r.id);
    if (rc)
        goto out_rollback;
    rc = store_audit_set_head(st, r.id, hash);
    if (rc)
        goto out_rollback;
    rc = store_audit_release(st);
    if (rc)
        goto out_rollback;
    if (out_id)
        *out_id = r.id;
    free(dtext);
    return 0;

out_rollback:
    store_audit_rollback_to(st);
    free(dtext);
    return rc;
}

int audit_log(struct console *c, const struct actor *who, const char *action,
              const char *object, int64_t object_id, const json_t *details)
{
    return audit_append(c->store, who, action, object, object_id, details, NULL);
}

struct verify_walk {
    struct audit_verify_result *res;
    int64_t head_id;                         /* last id the head records */
    int64_t prev_id;                         /* id of the row before, 0 at the start */
    char prev_hash[AUDIT_HASH_HEX_LEN + 1];  /* its stored hash (genesis at the start) */
};

static int verify_fail(struct verify_walk *w, int64_t id, const char *fmt, ...)
    WARD_PRINTF(3, 4);

static int verify_fail(struct verify_walk *w, int64_t id, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->res->reason, sizeof(w->res->reason), fmt, ap);
    va_end(ap);
    w->res->ok = false;
    w->res->bad_id = id;
    return 1;
}

static int verify_row(void *arg, const struct store_audit_row *r)
{
    struct verify_walk *w = arg;
    char want[AUDIT_HASH_HEX_LEN + 1];

    w->res->rows++;
    row_hash(r, want);
    bool self_ok = strcmp(want, r->hash) == 0;
    bool link_ok = strcmp(r->prev_hash, w->prev_hash) == 0;

    if (r->id != w->prev_id + 1) {
        if (r->id <= w->prev_id || r->id < 1)
            return verify_fail(w, r->id, "audit row %" PRId64 " was inserted: ids must start "
                               "at 1 and rise by one", r->id);
        if (link_ok && self_ok)
            return verify_fail(w, r->id, "audit row %" PRId64 " was inserted: it claims to "
                               "follow row %" PRId64 " but the ids jump", r->id, w->prev_id);
        if (w->prev_id + 1 == r->id - 1)
            return verify_fail(w, w->prev_id + 1, "audit row %" PRId64 " was deleted "
                               "(ids jump from %" PRId64 " to %" PRId64 ")",
                               w->prev_id + 1, w->prev_id, r->id);
        return verify_fail(w, w->prev_id + 1, "audit rows %" PRId64 "-%" PRId64 " were "
                           "deleted (ids jump from %" PRId64 " to %" PRId64 ")",
                           w->prev_id + 1, r->id - 1, w->prev_id, r->id);
    }
    if (r->id > w->head_id)
        return verify_fail(w, r->id, "audit row %" PRId64 " was inserted: it lies past the "
                           "log's recorded head (row %" PRId64 ")", r->id, w->head_id);
    if (!self_ok && !link_ok)
        return verify_fail(w, r->id, "audit row %" PRId64 " was inserted or replaced: its "
                           "hash does not match its contents and it does not follow row "
                           "%" PRId64, r->id, w->prev_id);
    if (!self_ok)
        return verify_fail(w, r->id, "audit row %" PRId64 " was changed: its hash does not "
                           "match its contents", r->id);
    if (!link_ok)
        return verify_fail(w, r->id, "audit row %" PRId64 " was inserted or row %" PRId64
                           " replaced: its prev_hash does not match row %" PRId64 "'s hash",
                           r->id, w->prev_id, w->prev_id);
    w->prev_id = r->id;
    snprintf(w->prev_hash, sizeof(w->prev_hash), "%s", r->hash);
    return 0;
}

int audit_verify(struct store *st, struct audit_verify_result *res)
{
    memset(res, 0, sizeof(*res));
    res->ok = true;
    struct verify_walk w = {.res = res, .prev_id = 0};
    snprintf(w.prev_hash, sizeof(w.prev_hash), "%s", AUDIT_GENESIS);

    int64_t head_id;
    char head_hash[AUDIT_HASH_HEX_LEN + 1];
    int rc = store_audit_head(st, &head_id, head_hash);
    if (rc)
        return rc;
    w.head_id = head_id;
    rc = store_audit_each(st, verify_row, &w);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        if (w.prev_id < head_id) {
            if (w.prev_id + 1 == head_id)
                verify_fail(&w, head_id, "audit row %" PRId64 " was deleted (the log ends at "
                            "row %" PRId64 ", its head names row %" PRId64 ")", head_id,
                            w.prev_id, head_id);
            else
                verify_fail(&w, w.prev_id + 1, "audit rows %" PRId64 "-%" PRId64 " were "
                            "deleted (the log ends at row %" PRId64 ", its head names row "
                            "%" PRId64 ")", w.prev_id + 1, head_id, w.prev_id, head_id);
        } else if (w.prev_id > head_id) {
            verify_fail(&w, head_id + 1, "audit row %" PRId64 " was inserted: the log's head "
                        "ends at row %" PRId64, head_id + 1, head_id);
        } else if (head_id > 0 && strcmp(head_hash, w.prev_hash) != 0) {
            verify_fail(&w, head_id, "audit row %" PRId64 " was replaced: the head records "
                        "another hash for it", head_id);
        }
    }
    if (res->ok)
        snprintf(res->head, sizeof(res->head), "%s", head_id ? w.prev_hash : "");
    return 0;
}

int audit_query(struct store *st, const struct audit_query *q, json_t **out)
{
    static const struct audit_query all = {0};
    if (!q)
        q = &all;
    return store_audit_query(st, q->object, q->object_id, q->action, q->after_id, q->limit,
                             out);
}

/* ---------------------------------------------------------------- the module */

static int audit_mod_init(struct console *c)
{
    return audit_init_store(c->store);
}

static int cmd_verify(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                      size_t errcap)
{
    struct audit_verify_result res;
    int rc = audit_verify(c->store, &res);
    if (rc) {
        snprintf(err, errcap, "audit verify: %s", strerror(-rc));
        return rc;
    }
    (void)req;
    *reply = json_pack("{s:b, s:I, s:I, s:s, s:s}", "ok", res.ok, "rows", (json_int_t)res.rows,
                       "bad_id", (json_int_t)res.bad_id, "head", res.head, "reason",
                       res.ok ? "" : res.reason);
    return *reply ? 0 : -ENOMEM;
}

static int cmd_list(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                    size_t errcap)
{
    struct audit_query q = {
        .object = json_str(req->args, "object", NULL),
        .object_id = (int64_t)json_u64(req->args, "object_id", 0),
        .action = json_str(req->args, "action", NULL),
        .after_id = (int64_t)json_u64(req->args, "after", 0),
        .limit = json_u64(req->args, "limit", 0),
    };
    int rc = audit_query(c->store, &q, reply);
    if (rc)
        snprintf(err, errcap, "audit list: %s", strerror(-rc));
    return rc;
}

static const struct ctl_cmd audit_cmds[] = {
    {"audit.verify", ROLE_VIEWER, cmd_verify},
    {"audit.list", ROLE_VIEWER, cmd_list},
    {NULL, ROLE_NONE, NULL},
};

const struct console_module audit_module = {
    .name = "audit",
    .init = audit_mod_init,
    .commands = audit_cmds,
};
