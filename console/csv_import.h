/*
 * csv_import -- reads the hospital's asset register from CSV text (libcsv).
 *
 * The first row names the columns (any order; English names or the Chinese
 * aliases in docs/assets.md): ip, mac, hostname, department, owner, system,
 * criticality, location, brand, model, purchase_year, warranty.  A column ip or
 * mac is required; every row needs an address or a MAC.  Text is UTF-8 (a byte
 * order mark is skipped).  Each bad row is reported with its line number and
 * why (bad address, bad MAC, unknown criticality, duplicate MAC or address in
 * the file, wrong column count, not UTF-8, field too long); the good rows are
 * returned.  This module only checks and normalises: the ledger stores.
 */
#ifndef WARD_CSV_IMPORT_H
#define WARD_CSV_IMPORT_H

#include <stddef.h>

#include "json.h"
#include "ward.h"

#define CSV_IMPORT_MAX_BYTES (8u << 20) /* whole file */
#define CSV_IMPORT_MAX_ROWS 100000      /* data rows */
#define CSV_IMPORT_MAX_COLS 64          /* columns of a row */
#define CSV_IMPORT_MAX_FIELD 255        /* bytes of one field */
#define CSV_IMPORT_MAX_ERRORS 1000      /* errors reported (the count goes on) */

/*
 * Parses text.  On success returns 0 with *rows (a new JSON array of objects:
 * "line", the canonical column names with normalised values, "criticality" and
 * "purchase_year" as integers, 0 when empty) and *errors (a new JSON array of
 * {"line": N, "error": "bad address '10.0.0.300'"}).  A file that cannot be
 * imported at all (no or bad header, too big, not CSV) returns -EINVAL (or
 * -EFBIG, -ENOMEM) with the reason in err.
 */
WARD_MUST_CHECK int csv_import_parse(const char *text, size_t len, json_t **rows,
                                     json_t **errors, char *err, size_t errcap);

/* The canonical column names, in the order docs and exports use, NULL-terminated. */
extern const char *const csv_import_columns[];

/* Normalises a MAC ("00-0C-29-59-FD-21", "000c.2959.fd21") into out (>= 18 bytes) as
   "00:0c:29:59:fd:21".  0, or -EINVAL if it is not a unicast MAC. */
WARD_MUST_CHECK int csv_import_mac(const char *in, char *out, size_t cap);

#endif
