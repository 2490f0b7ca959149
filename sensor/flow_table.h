/*
 * flow_table -- the sensor's table of live flows, keyed by bidirectional 5-tuple
 * (plus VLAN).
 *
 * Capacity is fixed by flow_table_new(); nothing is allocated afterwards.  When the
 * table is full, the least recently seen flow is evicted (and ended, so detectors
 * see it) and counted, so a flood cannot blind the sensor to the next attack.
 * Flows end on FIN/RST teardown, idle timeout, active timeout or eviction; each
 * end is reported once through the callback.  Capture thread only.
 */
#ifndef WARD_FLOW_TABLE_H
#define WARD_FLOW_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "pkt.h"

/* Direction indexes: 0 = from the originator (the side seen first), 1 = back. */
#define FLOW_ORIG 0
#define FLOW_RESP 1

enum flow_state {
    FLOW_NEW = 0,        /* one side seen, no handshake */
    FLOW_SYN_SENT,       /* SYN seen, no SYN-ACK */
    FLOW_SYN_RCVD,       /* SYN-ACK seen */
    FLOW_ESTABLISHED,    /* handshake completed (or mid-stream data both ways) */
    FLOW_CLOSING,        /* FIN seen */
    FLOW_CLOSED,         /* FIN both ways, or RST */
};

enum flow_end_reason {
    FLOW_END_NONE = 0,
    FLOW_END_FIN,        /* orderly close */
    FLOW_END_RST,        /* reset */
    FLOW_END_IDLE,       /* idle timeout */
    FLOW_END_ACTIVE,     /* active timeout (long flow cut into records) */
    FLOW_END_EVICTED,    /* table full */
    FLOW_END_SHUTDOWN,   /* sensor stopping / end of capture file */
    FLOW_END_ANSWERED,   /* a DNS, NTP or ICMP echo exchange whose every request was answered */
};

enum flow_app {
    APP_UNKNOWN = 0, APP_DNS, APP_HTTP, APP_TLS, APP_SSH, APP_SMB, APP_RDP, APP_FTP,
    APP_TELNET, APP_DHCP, APP_NTP, APP_KERBEROS, APP_LDAP, APP_MSSQL, APP_MYSQL,
    APP_POSTGRES, APP_SMTP, APP_QUIC, APP_MDNS, APP_NETBIOS, APP_SSDP, APP_COUNT
};

struct flow_key {
    struct addr a;       /* originator address */
    struct addr b;       /* responder address */
    uint16_t port_a;     /* originator port (ICMP: echo id) */
    uint16_t port_b;     /* responder port (ICMP: type) */
    uint8_t proto;       /* IP protocol */
    uint8_t pad;         /* zero */
    uint16_t vlan;       /* outer VLAN id */
};

#define FLOW_NAME_SHORT 32 /* names up to 31 characters are kept in struct flow (320 bytes) */

struct flow {
    struct flow_key key;        /* originator = the side whose packet created the flow */
    uint64_t first_usec;        /* packet time of the first packet */
    uint64_t last_usec;         /* packet time of the latest packet */
    uint64_t pkts[2];           /* packets per direction */
    uint64_t bytes[2];          /* IP bytes per direction */
    uint64_t payload[2];        /* L4 payload bytes per direction */
    uint8_t flags[2];           /* OR of TCP flags per direction */
    uint8_t state;              /* enum flow_state */
    uint8_t app;                /* enum flow_app */
    bool midstream;             /* first packet was not a SYN (capture began mid-flow) */
    uint8_t end_reason;         /* enum flow_end_reason, set when the flow ends */
    uint8_t orig_ttl;           /* TTL of the originator's first packet */
    uint8_t resp_ttl;           /* TTL of the responder's first packet */
    uint32_t syn_count;         /* SYNs from the originator (retries) */
    uint64_t det[4];            /* scratch for detectors (see detect.h owners) */
    uint32_t asset_host[2];     /* asset.c: host slot + 1 of each direction's source, 0 unknown */
    uint32_t asset_mac[2];      /* asset.c: MAC slot + 1 of each direction's Ethernet source */
    uint32_t asset_gen;         /* asset.c: generation of a cached "not an asset" */
    uint32_t asset_ver[2];      /* asset.c: entry versions each direction's memo was made at */
    uint8_t asset_ttl[2];       /* asset.c: TTL of the packet each memo was made from */
    uint8_t asset_app[2];       /* asset.c: app of the flow when it was made */
    uint8_t asset_how[2];       /* asset.c: what each memo holds, 0 none */
    uint32_t ps_pair;           /* detect_portscan.c: pair table slot + 1 of its first contact */
    uint32_t host_pkts[2];      /* host_table.c: pkts[] already credited to the hosts */
    uint64_t host_bytes[2];     /* host_table.c: bytes[] already credited to the hosts */
    uint64_t host_due_usec;     /* host_table.c: packet time of its next credit */
    uint64_t close_usec;        /* packet time it reached FLOW_CLOSED, or was answered (see
                                   FLOW_TABLE_CLOSED_USEC); 0 while open */

    /* Internal to flow_table.c. */
    uint64_t hash;              /* bidirectional key hash */
    uint64_t lru_usec;          /* packet time it last moved to the LRU head */
    uint32_t lru_prev;          /* previous on the LRU (open flows) or closing list */
    uint32_t lru_next;          /* next on that list; free-list link when unused */
    uint32_t slot;              /* index slot holding this flow */
    uint32_t host_slot[2];      /* host_table.c: where key.a and key.b were last found */
    uint8_t list;               /* which list the flow is on */

    /*
     * Last: the server name (read it with flow_name()).  A short name lives in
     * the flow; a longer one in a slot of the table's name store, so that the
     * pool, which every flow's memory comes from, is not half empty name buffers.
     */
    char *name_long;                 /* the name when it is too long for name_short, else NULL */
    char name_short[FLOW_NAME_SHORT]; /* the name when it fits, NUL-terminated; "" none */
};

/* The SNI, HTTP Host or DNS name seen on f (the first of them), "" if none. */
static inline const char *flow_name(const struct flow *f)
{
    return f->name_long ? f->name_long : f->name_short;
}

/* Called once for every flow that ends; the flow is valid only during the call. */
typedef void (*flow_end_fn)(void *arg, const struct flow *f);

struct flow_table;

/*
 * Returns NULL if out of memory.  max_flows > 0.  Timeouts in usec of packet time.
 */
struct flow_table *flow_table_new(size_t max_flows, uint64_t idle_usec, uint64_t active_usec,
                                  flow_end_fn on_end, void *arg);
void flow_table_free(struct flow_table *ft);

/*
 * Finds or creates the flow of p (which must have PKT_IP4/PKT_IP6) and updates it.
 * *dir is set to FLOW_ORIG or FLOW_RESP.  Returns the flow, valid until the next
 * call, or NULL for packets that make no flow (no IP).
 */
struct flow *flow_table_update(struct flow_table *ft, const struct pkt *p, int *dir);

/*
 * A flow that reached FLOW_CLOSED (FIN both ways, or RST) stays findable for
 * FLOW_TABLE_CLOSED_USEC of packet time so that the last ACK and retransmissions
 * do not open a new flow; then it ends with reason FIN or RST.  So does an
 * exchange of one datagram each way that is done once answered (DNS other than
 * mDNS, NTP, ICMP echo and timestamp) when the responder has sent as many
 * packets as the originator: it ends with reason ANSWERED, unless a further
 * request within that time opens it again.  Without this, finished lookups
 * would wait out the idle timeout, and on a busy segment they are most of the
 * table.
 */
#define FLOW_TABLE_CLOSED_USEC 2000000
#define FLOW_TABLE_DEFAULT_CAP 262144
#define FLOW_TABLE_DEFAULT_IDLE_USEC 60000000ULL      /* 60 s */
#define FLOW_TABLE_DEFAULT_ACTIVE_USEC 1800000000ULL  /* 30 min */

/*
 * For capture loops that decode a few packets ahead and hide memory latency:
 * flow_table_hash() once per packet, flow_table_prefetch_slot() as soon as it is
 * known, flow_table_prefetch_flow() a few packets later (it reads the slot), then
 * flow_table_update_hashed() in packet order.  Prefetches are hints only: the
 * table may change in between without harm.  flow_table_update() does all of it
 * for one packet.
 */
uint64_t flow_table_hash(const struct flow_table *ft, const struct pkt *p);
void flow_table_prefetch_slot(const struct flow_table *ft, uint64_t hash);
/* Returns the flow it prefetched, flow_table_guess(ft, hash). */
const struct flow *flow_table_prefetch_flow(const struct flow_table *ft, uint64_t hash);
/* The flow hash probably leads to (first probe, tag match, no key check), or NULL:
 * a hint for prefetching what the flow points to, never for its contents. */
const struct flow *flow_table_guess(const struct flow_table *ft, uint64_t hash);
struct flow *flow_table_update_hashed(struct flow_table *ft, const struct pkt *p, uint64_t hash,
                                      int *dir);

/* Ends flows idle past their timeout, and closed ones, as of packet time now_usec.
 * Active timeouts end on the flow's next packet (a new record starts). */
void flow_table_expire(struct flow_table *ft, uint64_t now_usec);
/* Ends every flow (end of file, shutdown). */
void flow_table_flush(struct flow_table *ft);

size_t flow_table_count(const struct flow_table *ft);
uint64_t flow_table_evictions(const struct flow_table *ft);
size_t flow_table_memory(const struct flow_table *ft);
/* Flows created since flow_table_new(). */
uint64_t flow_table_created(const struct flow_table *ft);

/*
 * The application a new flow is labelled with before any payload is seen: by its
 * responder port, else by a well-known (< 1024) originator port; TCP and UDP only.
 * Exported so that test harnesses that build flows label them as the table does.
 */
enum flow_app flow_table_app_by_port(uint8_t proto, uint16_t sport, uint16_t dport);

#endif
