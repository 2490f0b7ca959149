/*
 * store_evidence -- the evidence vault's tables: chunks still arriving, stored
 * items (one row per file, by SHA-256) and their custody chain.  Part of the
 * store family (store.h): the SQL lives here, the logic in vault.c.
 *
 *   evidence_chunk    (sha256, idx) -> data, while a file is incomplete
 *   evidence_item     one row per stored file: hash, size, time range, sensor,
 *                     hosts, event uid, incident, command, path
 *   evidence_custody  (sha256, seq) -> action, who, when, detail, prev_hash, hash
 * Console thread only; every function runs inside the caller's transaction
 * when there is one.
 */
#ifndef WARD_STORE_EVIDENCE_H
#define WARD_STORE_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "store.h"
#include "ward.h"

#define STORE_EVIDENCE_SHA_LEN 64  /* hex digits */

struct evidence_item {
    int64_t id;                           /* row id */
    char sha256[STORE_EVIDENCE_SHA_LEN + 1]; /* hex digest */
    uint64_t size;                        /* bytes */
    uint64_t first_usec;                  /* packet time range */
    uint64_t last_usec;
    char sensor[65];                      /* sensor that collected it */
    char hosts[512];                      /* JSON array of addresses */
    char event_uid[128];                  /* triggering event, "" for on-demand */
    int64_t incident;                     /* incident named by the capture command, 0 if none */
    uint64_t command_id;                  /* capture command, 0 if none */
    uint64_t collected_usec;              /* sensor wall clock when the file was closed */
    uint64_t stored_usec;                 /* console clock when stored */
    char path[1024];                      /* file in the vault */
};

struct evidence_custody {
    int64_t seq;                          /* 1, 2, ... per item */
    char action[32];                      /* collected, received, verified, stored, exported */
    char who[128];                        /* sensor name, console user, "ward" */
    uint64_t at_usec;                     /* when */
    char detail[1200];                    /* free text */
    char prev_hash[STORE_EVIDENCE_SHA_LEN + 1]; /* previous entry's hash (64 zeros first) */
    char hash[STORE_EVIDENCE_SHA_LEN + 1];      /* this entry's hash */
};

/* Creates the tables if missing.  0 or negative errno. */
WARD_MUST_CHECK int store_evidence_init(struct store *st);

/* Stores one chunk (a repeat of (sha256, idx) is ignored). */
WARD_MUST_CHECK int store_evidence_chunk_put(struct store *st, const char *sha256, uint32_t idx,
                                             uint32_t total, uint64_t size, const void *data,
                                             size_t len, uint64_t now_usec);
/* Chunks held for sha256 and their bytes. */
WARD_MUST_CHECK int store_evidence_chunk_count(struct store *st, const char *sha256,
                                               uint32_t *count, uint64_t *bytes);
/* Items in progress and the bytes their chunks hold, over all files. */
WARD_MUST_CHECK int store_evidence_partial_stats(struct store *st, uint32_t *items,
                                                 uint64_t *bytes);
/* Visits the chunks of sha256 in index order; fn's non-zero return stops and is returned. */
typedef int (*store_evidence_chunk_fn)(void *arg, uint32_t idx, const void *data, size_t len);
WARD_MUST_CHECK int store_evidence_chunk_each(struct store *st, const char *sha256,
                                              store_evidence_chunk_fn fn, void *arg);
WARD_MUST_CHECK int store_evidence_chunk_delete(struct store *st, const char *sha256);
/* The sha256 of the oldest file in progress (for eviction); -ENOENT if none. */
WARD_MUST_CHECK int store_evidence_chunk_oldest(struct store *st, char out[65]);

/* Inserts the item; -EEXIST if its sha256 is stored already.  Sets it->id. */
WARD_MUST_CHECK int store_evidence_item_add(struct store *st, struct evidence_item *it);
/* -ENOENT if none. */
WARD_MUST_CHECK int store_evidence_item_get(struct store *st, const char *sha256,
                                            struct evidence_item *out);
/*
 * Items of an incident: those whose incident column is it, or whose (sensor,
 * event_uid) is one of events (a JSON array of {"sensor","uid"}, may be NULL),
 * as a JSON array of objects (newest first).
 */
WARD_MUST_CHECK int store_evidence_items_json(struct store *st, int64_t incident,
                                              const json_t *events, json_t **out);
/* The item as a JSON object (same shape as the list). */
json_t *store_evidence_item_json(const struct evidence_item *it);

/* The last custody entry of sha256; -ENOENT when there is none yet. */
WARD_MUST_CHECK int store_evidence_custody_last(struct store *st, const char *sha256,
                                                struct evidence_custody *out);
WARD_MUST_CHECK int store_evidence_custody_insert(struct store *st, const char *sha256,
                                                  const struct evidence_custody *e);
/* The chain of sha256 as a JSON array, seq order. */
WARD_MUST_CHECK int store_evidence_custody_json(struct store *st, const char *sha256,
                                                json_t **out);

#endif
