/*
 * audit -- the console's audit log: every action by a person or by Ward itself,
 * appended to one table whose rows form a hash chain.
 *
 * Each row holds id, time, actor (name, uid, role), action, the object acted on
 * (type and id), details (a JSON object), the previous row's hash and its own
 * hash: SHA-256 over a canonical encoding of all of those (audit.c says exactly
 * which bytes).  The first row's previous hash is 64 zeros.
 * A separate one-row head records the last id and hash, so removing rows from
 * the end is noticed as well.  audit_verify() walks the chain and names the first
 * row that was changed, inserted or deleted.
 *
 * Appending inside a caller's transaction (a sensor batch, a control verb) makes
 * the audit row commit or roll back with the action it records; outside one, the
 * append is its own transaction.  Console thread only.
 *
 * Action names are "area.verb" ("incident.advance", "evidence.stored",
 * "asset.import"); object types are nouns ("incident", "evidence", "asset",
 * "sensor"), object_id 0 when there is no numeric id.
 */
#ifndef WARD_AUDIT_H
#define WARD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "json.h"
#include "store.h"
#include "ward.h"

#define AUDIT_HASH_HEX_LEN 64   /* SHA-256 as lower-case hex */
#define AUDIT_ACTION_MAX 64     /* longest action name */
#define AUDIT_OBJECT_MAX 64     /* longest object type */
#define AUDIT_DETAILS_MAX 65536 /* longest details JSON, bytes */

/* Creates the audit tables if missing.  Idempotent.  0 or negative errno. */
WARD_MUST_CHECK int audit_init_store(struct store *st);

/*
 * Appends one row: who did action on (object, object_id), with details (a JSON
 * object, borrowed, may be NULL).  Time is clock_now_usec().  If *out_id is not
 * NULL it receives the new row's id.  Returns 0, -EINVAL for a bad argument
 * (empty action, action or details too long), or a store error.
 */
WARD_MUST_CHECK int audit_append(struct store *st, const struct actor *who, const char *action,
                                 const char *object, int64_t object_id, const json_t *details,
                                 int64_t *out_id);

/* The same, through the console's store (the usual call from a module). */
WARD_MUST_CHECK int audit_log(struct console *c, const struct actor *who, const char *action,
                              const char *object, int64_t object_id, const json_t *details);

/* What audit_verify() found. */
struct audit_verify_result {
    bool ok;                         /* the whole chain is intact */
    int64_t rows;                    /* rows checked */
    int64_t bad_id;                  /* first row found wrong (or the gap after it), 0 if ok */
    char head[AUDIT_HASH_HEX_LEN + 1]; /* hash of the last row ("" for an empty log) */
    char reason[256];                /* "audit row 12 was changed: ..." when !ok */
};

/*
 * Walks the chain from the first row.  Returns 0 when the walk ran (look at
 * res->ok), or a store error.  Finds: a changed row (its hash does not match its
 * contents), a deleted row (ids jump, or the next row's prev_hash names a row
 * that is not there), an inserted row (its prev_hash does not match the row
 * before it, or it lies past the recorded head), rows removed from the end
 * (the head names a row that is gone).
 */
WARD_MUST_CHECK int audit_verify(struct store *st, struct audit_verify_result *res);

struct audit_query {
    const char *object;  /* object type, NULL for all */
    int64_t object_id;   /* with object: that one only; 0 for all */
    const char *action;  /* exact action, or "area." prefix; NULL for all */
    int64_t after_id;    /* rows with id > this */
    uint64_t limit;      /* at most this many (oldest first), 0 for 1000 */
};

/*
 * The matching rows, oldest first, as a JSON array of objects {id, time,
 * time_usec, actor, uid, role, action, object, object_id, details, prev_hash,
 * hash}.  *out is a new reference.
 */
WARD_MUST_CHECK int audit_query(struct store *st, const struct audit_query *q, json_t **out);

/* Role as a word: "viewer", "operator", "admin", "none". */
const char *audit_role_name(enum role r);

/* The console module: creates the tables at init and serves `audit.verify` and `audit.list`. */
extern const struct console_module audit_module;

#endif
