/*
 * store_ingest -- see store_ingest.h.
 */
#include "store_ingest.h"

#include "store_int.h"

bool store_ingest_tx_alive(struct store *st)
{
    return store_in_tx(st) && !sqlite3_get_autocommit(store_db(st));
}
