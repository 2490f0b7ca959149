/*
 * store_ingest -- what ingest needs from the store beyond the area headers.
 * Part of the store family (store.h).  Console thread only.
 */
#ifndef WARD_STORE_INGEST_H
#define WARD_STORE_INGEST_H

#include <stdbool.h>

#include "store.h"

/*
 * True if the transaction store_begin() opened is still open in SQLite.  SQLite
 * rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR,
 * SQLITE_NOMEM); a statement run after that would commit on its own.  Ingest
 * checks this after every stored message and before it moves the watermark, so
 * an error swallowed anywhere can never acknowledge rows that are not stored.
 */
bool store_ingest_tx_alive(struct store *st);

#endif
