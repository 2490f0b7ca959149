/*
 * store_audit -- the SQL of the audit log (audit.h has the meaning): the rows of
 * the hash chain and the one-row head.  Part of the store family (store.h).
 * Console thread only.
 */
#ifndef WARD_STORE_AUDIT_H
#define WARD_STORE_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include "json.h"
#include "store.h"
#include "ward.h"

/* One audit row as stored.  Strings are borrowed for the duration of a callback. */
struct store_audit_row {
    int64_t id;             /* chain position, from 1 */
    int64_t time_usec;      /* when (console clock) */
    const char *actor;      /* user name, "ward" for Ward itself */
    int64_t uid;            /* peer uid */
    const char *role;       /* viewer, operator, admin, none */
    const char *action;     /* "incident.advance" */
    const char *object;     /* "incident" */
    int64_t object_id;      /* 0 when none */
    const char *details;    /* compact JSON object text */
    const char *prev_hash;  /* hex of the previous row's hash */
    const char *hash;       /* hex of this row's hash */
};

WARD_MUST_CHECK int store_audit_create(struct store *st);

/* The recorded head: last id and hash (0 and "" when the log is empty). */
WARD_MUST_CHECK int store_audit_head(struct store *st, int64_t *last_id, char hash[65]);
WARD_MUST_CHECK int store_audit_set_head(struct store *st, int64_t last_id, const char *hash);

/* Inserts the row with its id as given.  -EEXIST if that id is taken. */
WARD_MUST_CHECK int store_audit_insert(struct store *st, const struct store_audit_row *row);

/* Calls fn for every row by ascending id; stops when fn returns non-zero and returns that. */
typedef int (*store_audit_fn)(void *arg, const struct store_audit_row *row);
int store_audit_each(struct store *st, store_audit_fn fn, void *arg);

/* Rows matching, oldest first, at most limit, as a JSON array (audit.h's shape). */
WARD_MUST_CHECK int store_audit_query(struct store *st, const char *object, int64_t object_id,
                                      const char *action, int64_t after_id, uint64_t limit,
                                      json_t **out);

/* Savepoints, so one append is atomic inside or outside a caller's transaction. */
WARD_MUST_CHECK int store_audit_savepoint(struct store *st);
WARD_MUST_CHECK int store_audit_release(struct store *st);
void store_audit_rollback_to(struct store *st);

#endif
