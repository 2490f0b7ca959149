/*
 * ledger -- the console's asset ledger: one asset per device, merged from every
 * sensor's passive inventory (AssetUpdate) by MAC and address, joined with the
 * hospital's own register (CSV import, claims), with a history of changes.
 *
 * States (ledger_state()): registered and seen ("registered", 在册); seen but not
 * registered ("unclaimed", 待认领); registered but not seen for [assets]
 * zombie_days ("zombie", 僵尸); registered recently and not seen yet ("unseen",
 * 未发现).  A new unregistered device raises a new_asset event, as does a new
 * listening service on a registered device already seen before.  Registry
 * actions are written to the audit log.  Console thread only.
 */
#ifndef WARD_LEDGER_H
#define WARD_LEDGER_H

#include <stdint.h>

#include "console.h"
#include "json.h"
#include "store_assets.h"
#include "ward.pb-c.h"

#define LEDGER_DEFAULT_ZOMBIE_DAYS 30
#define LEDGER_MAX_SERVICES 64  /* services kept per asset */
#define LEDGER_MAX_NAMES 16     /* TLS names and user agents kept per asset (each) */

extern const struct console_module ledger_module;

/*
 * Criticality of the registered asset at addr: 1 (core: HIS, EMR, PACS, LIS) to
 * 4.  An asset whose register names a core system but no criticality counts as
 * 1.  Returns 0 with *out set, -ENOENT if the ledger has no registered
 * criticality for addr, -EINVAL for a bad address, or a store error.
 */
WARD_MUST_CHECK int asset_criticality(struct console *c, const char *addr, int *out);
/* The same in the shape incident grading registers (grade.h): 1..4, or 0 if unknown. */
int ledger_criticality(struct console *c, const char *addr);

/*
 * Merges one sensor report into the ledger (the module's on_message does this
 * for every AssetUpdate), inside the caller's transaction.
 */
WARD_MUST_CHECK int ledger_observe(struct console *c, const struct msg_origin *o,
                                   const Ward__AssetUpdate *u);

/*
 * Imports CSV text (csv_import.h) into the register for who, in one transaction
 * with its audit record.  *report (new) is {"imported": n, "updated": n,
 * "errors": [{"line": n, "error": "..."}...]}; the good rows are stored even
 * when some are bad.  A file that cannot be read at all returns -EINVAL with
 * the reason in err.
 */
WARD_MUST_CHECK int ledger_import(struct console *c, const struct actor *who, const char *name,
                                  const char *text, size_t len, json_t **report, char *err,
                                  size_t errcap);

/* "registered", "unclaimed", "zombie" or "unseen" for row as of now_usec. */
const char *ledger_state(const struct console *c, const struct asset_row *row,
                         uint64_t now_usec);
/* A new JSON object for row (with "state" and "state_zh"). */
json_t *ledger_row_json(const struct console *c, const struct asset_row *row,
                        uint64_t now_usec);

#endif
