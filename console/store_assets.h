/*
 * store_assets -- the asset ledger's tables: one row per device (what sensors saw
 * and what the hospital registered about it) and its history of changes.  Part of
 * the store family (store.h); the rules live in ledger.c.  Console thread only.
 */
#ifndef WARD_STORE_ASSETS_H
#define WARD_STORE_ASSETS_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "json.h"
#include "store.h"
#include "ward.h"

#define ASSET_TEXT_MAX 256   /* bytes of a registry text field (UTF-8), NUL included */
#define ASSET_SHORT_MAX 64   /* bytes of short fields (os, system, source...) */
#define ASSET_LIST_MAX 4096  /* bytes of a JSON list column (services, names, agents) */

/* One ledger row.  Text fields are NUL-terminated; lists are JSON array text. */
struct asset_row {
    int64_t id;                           /* row id, 0 before the first store */
    char ip[ADDR_STR_LEN];                /* current IPv4 address, "" if unknown */
    char ip6[ADDR_STR_LEN];               /* current IPv6 address, "" if unknown */
    char mac[18];                         /* "00:0c:29:59:fd:21", "" if unknown */
    char hostname[ASSET_TEXT_MAX];        /* host name (seen, or registered) */
    char hostname_source[ASSET_SHORT_MAX];/* dhcp, netbios, mdns, registry */
    char vendor[ASSET_TEXT_MAX];          /* MAC vendor */
    char os[ASSET_SHORT_MAX];             /* OS family guess */
    char services[ASSET_LIST_MAX];        /* [{"proto":"tcp","port":22,"app":"ssh"}...] */
    char tls_names[ASSET_LIST_MAX];       /* ["example.org"...] */
    char user_agents[ASSET_LIST_MAX];     /* ["Mozilla/5.0 ..."...] */
    char dhcp_vendor_class[ASSET_SHORT_MAX]; /* DHCP option 60 */
    int64_t vlan;                         /* VLAN seen on */
    char sensor[ASSET_SHORT_MAX];         /* sensor of the latest report */
    int64_t first_usec;                   /* first seen, packet time (0: never seen) */
    int64_t last_usec;                    /* last seen, packet time */
    int64_t seen_usec;                    /* console time of the latest report (0: never) */
    int64_t created_usec;                 /* console time the row was made */
    int64_t registered;                   /* 1 if the hospital registered it */
    int64_t registered_usec;              /* when registered (import or claim) */
    char registered_by[ASSET_SHORT_MAX];  /* who registered it */
    char department[ASSET_TEXT_MAX];      /* 科室 */
    char owner[ASSET_TEXT_MAX];           /* responsible person */
    char system[ASSET_SHORT_MAX];         /* business system: HIS, EMR, PACS, LIS... */
    int64_t criticality;                  /* 1 (core) .. 4, 0 unset */
    char location[ASSET_TEXT_MAX];        /* building, room */
    char brand[ASSET_TEXT_MAX];           /* manufacturer */
    char model[ASSET_TEXT_MAX];           /* model */
    int64_t purchase_year;                /* 0 unset */
    char warranty[ASSET_TEXT_MAX];        /* warranty end or terms */
};

/* Creates the tables if missing.  Idempotent. */
WARD_MUST_CHECK int store_assets_init(struct store *st);

/* The row with this id / current address (ip or ip6) / MAC.  -ENOENT if none. */
WARD_MUST_CHECK int store_assets_by_id(struct store *st, int64_t id, struct asset_row *out);
WARD_MUST_CHECK int store_assets_by_ip(struct store *st, const char *ip, struct asset_row *out);
WARD_MUST_CHECK int store_assets_by_mac(struct store *st, const char *mac, struct asset_row *out);

/* Inserts (row->id == 0; sets it) or rewrites the row. */
WARD_MUST_CHECK int store_assets_put(struct store *st, struct asset_row *row);
/* Deletes row `from` after moving its history to row `into` (a merge). */
WARD_MUST_CHECK int store_assets_merge_delete(struct store *st, int64_t from, int64_t into);

/* Appends a history entry ("address_moved", old "10.0.0.5", new "10.0.0.9"). */
WARD_MUST_CHECK int store_assets_history_add(struct store *st, int64_t asset_id,
                                             uint64_t time_usec, const char *kind,
                                             const char *old, const char *new_value,
                                             const char *source);
/* The history of one asset, oldest first, as a JSON array of objects. */
WARD_MUST_CHECK int store_assets_history(struct store *st, int64_t asset_id, json_t **out);

/* Calls fn for every row ordered by address then MAC; stops at a non-zero return. */
typedef int (*store_assets_fn)(void *arg, const struct asset_row *row);
int store_assets_each(struct store *st, store_assets_fn fn, void *arg);

#endif
