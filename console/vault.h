/*
 * vault -- the console's evidence vault: a console module that reassembles the
 * EvidenceChunk messages sensors send, stores each file once by its SHA-256
 * under data_dir/vault/<aa>/<sha256>.pcap after checking the digest, keeps a row
 * per item (hash, size, time range, sensor, hosts, event, incident) and a
 * custody chain per item, and exports and verifies evidence bundles.
 *
 * Chunks wait in the database (inside the batch's transaction, so a resent batch
 * neither loses nor doubles one) until the last arrives; files in progress are
 * bounded ([evidence] max_partial_files, max_partial_bytes: the oldest is dropped,
 * logged and audited) and a file larger than max_file is refused.
 *
 * Custody: every step in an item's life (collected by the sensor, received,
 * verified, stored, exported) is one entry {seq, action, who, at, detail} chained
 * by SHA-256 (vault_custody_hash(): each entry's hash covers the previous one's),
 * and is also appended to the console's audit log (audit.h) as "evidence.<action>".
 *
 * An export (`wardctl evidence export ID DIR`) writes the incident's pcaps, a
 * manifest.json (items, hashes, custody chains, the console's Ed25519 public
 * key) and manifest.sig (the console's signature of manifest.json, hex).
 * vault_verify_dir() checks such a bundle offline: file hashes, the signature,
 * every custody chain, and says exactly what does not match.  Console thread only
 * (vault_verify_* are pure and run in wardctl).
 */
#ifndef WARD_VAULT_H
#define WARD_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "json.h"
#include "keys.h"
#include "ward.h"

#define VAULT_FORMAT "ward-evidence/1"     /* manifest "format" */
#define VAULT_MANIFEST "manifest.json"
#define VAULT_SIGNATURE "manifest.sig"
#define VAULT_MANIFEST_MAX (16u << 20)     /* bytes of a manifest vault_verify_dir() reads */
#define VAULT_MAX_CHUNKS 65536             /* chunks of one file */
#define VAULT_ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* The console module ("evidence"). */
extern const struct console_module vault_module;

/*
 * The hash of one custody entry: hex SHA-256 over "WARD-CUSTODY-1" and the
 * fields prev_hash, sha256, seq, action, who, at_usec, detail, each written as
 * "<decimal length>:<bytes>\n".  out has 65 bytes.
 */
void vault_custody_hash(const char *prev_hash, const char *sha256, int64_t seq,
                        const char *action, const char *who, uint64_t at_usec,
                        const char *detail, char out[65]);

/*
 * Appends a custody entry to the item sha256 (chained to its last one) and the
 * audit log.  item_id is the item's row id (0 before it is stored).  0 or
 * negative errno.
 */
WARD_MUST_CHECK int vault_custody_append(struct console *c, const char *sha256, int64_t item_id,
                                         const char *action, const char *who, uint64_t at_usec,
                                         const char *detail);

/* data_dir/vault/<aa>/<sha256>.pcap into out. */
void vault_path(const char *data_dir, const char *sha256, char *out, size_t cap);

/*
 * The evidence items of an incident (its events' files and its on-demand
 * captures) as a new JSON array.  0 or negative errno.
 */
WARD_MUST_CHECK int vault_incident_items(struct console *c, int64_t incident, json_t **items);

/*
 * Exports the incident's evidence into dir (created; refused with -EEXIST if it
 * holds a manifest already), appending an "exported" custody entry per item
 * as who.  *summary gets {dir, items, manifest, key}.  On failure returns a
 * negative errno with a message in err.
 */
WARD_MUST_CHECK int vault_export(struct console *c, int64_t incident, const char *dir,
                                 const struct actor *who, json_t **summary, char *err,
                                 size_t errcap);

/*
 * Hashes one file of a bundle: name is the manifest's file name.  Sets out_hex
 * (65 bytes) and *size; returns 0, or a negative errno (-ENOENT missing).
 */
typedef int (*vault_file_fn)(void *arg, const char *name, char out_hex[65], uint64_t *size);

/*
 * Checks a manifest (its bytes as exported) against sig (64 bytes, or NULL if
 * the signature file is missing or unreadable), expect_pk (NULL: accept the key
 * the manifest names, and report it) and the files through hash_file.  *report
 * gets {ok, console_key, items:[{file, sha256, ok, custody}], problems:[text]}:
 * each problem names the file or the custody line ("item 3f2a…: custody line 4
 * (exported by alice): hash does not match its contents").  Returns 0 when the
 * check ran (see report.ok), -ENOMEM.
 */
WARD_MUST_CHECK int vault_verify_manifest(const uint8_t *manifest, size_t len,
                                          const uint8_t *sig, const uint8_t *expect_pk,
                                          vault_file_fn hash_file, void *arg,
                                          json_t **report);

/* vault_verify_manifest() over dir's manifest.json, manifest.sig and files. */
WARD_MUST_CHECK int vault_verify_dir(const char *dir, const uint8_t *expect_pk,
                                     json_t **report);

#endif
