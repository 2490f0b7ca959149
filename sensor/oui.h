/*
 * oui -- MAC address vendors from the IEEE registry (Debian's ieee-data package).
 *
 * The registry files (oui.csv for MA-L 24-bit blocks, mam.csv for MA-M 28-bit,
 * oui36.csv for MA-S 36-bit) are read once at start into one sorted array with a
 * string pool; a lookup is a binary search per prefix length, longest first, and
 * never allocates.  Lines that do not parse are skipped and counted.  Read-only
 * after loading, so any thread may look up.
 */
#ifndef WARD_OUI_H
#define WARD_OUI_H

#include <stddef.h>
#include <stdint.h>

#include "ward.h"

#define OUI_DEFAULT_DIR "/usr/share/ieee-data"
#define OUI_MAX_FILE (32u << 20)   /* bytes of one registry file */
#define OUI_MAX_ENTRIES 400000     /* entries over all files */
#define OUI_NAME_MAX 96            /* bytes of a vendor name kept (longer are cut) */

struct oui_db;

/* An empty registry.  NULL if out of memory. */
struct oui_db *oui_new(void);
void oui_free(struct oui_db *db);

/*
 * Adds the entries of one registry CSV file (header "Registry,Assignment,
 * Organization Name,..."; Assignment is 6, 7 or 9 hex digits).  Returns 0,
 * -ENOENT/-EACCES/-EIO if the file cannot be read (logged), -EFBIG past
 * OUI_MAX_FILE, -ENOMEM.
 */
WARD_MUST_CHECK int oui_load(struct oui_db *db, const char *path);
/* The same from text in memory (name is for messages). */
WARD_MUST_CHECK int oui_parse(struct oui_db *db, const char *text, size_t len);
/*
 * Loads oui.csv, mam.csv and oui36.csv from dir (OUI_DEFAULT_DIR if NULL);
 * missing MA-M/MA-S files are fine, a missing oui.csv is -ENOENT.
 */
WARD_MUST_CHECK int oui_load_dir(struct oui_db *db, const char *dir);

/*
 * The vendor of mac, or NULL if unknown, if db is NULL, or if the address is
 * locally administered or multicast (randomised phone addresses, virtual
 * interfaces).  Borrowed from db.
 */
const char *oui_lookup(const struct oui_db *db, const uint8_t mac[6]);

size_t oui_count(const struct oui_db *db);
/* Lines skipped because they did not parse. */
size_t oui_bad_lines(const struct oui_db *db);

#endif
