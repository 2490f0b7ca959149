/*
 * evidence -- packet evidence for events: a sink that wraps the next sink
 * (usually the uplink), watches the events going through, and for each new
 * subject freezes that subject's hosts' packets from the evidence ring
 * (pre-trigger window) and keeps recording them through an evring tap until the
 * post-trigger window ends (packet time).  The file is a classic pcap built in
 * memory, hashed (SHA-256) and shipped as EvidenceChunk messages through the
 * same sink, a bounded number of chunks per tick, so chunks interleave with
 * events and never hold one back.
 *
 * Bounds: at most max_captures files at once (recording or shipping), each at
 * most max_file bytes (buffers allocated once, on first use of a slot); a
 * trigger that finds no free slot is refused and counted; a subject that
 * triggered a capture does not trigger another until pre+post has passed.
 * On-demand captures (Command.capture) record one host for N seconds.
 * Capture thread only.
 */
#ifndef WARD_EVIDENCE_H
#define WARD_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "evring.h"
#include "sink.h"
#include "ward.h"
#include "ward.pb-c.h"

#define EVIDENCE_PCAP_SNAPLEN 262144u
#define EVIDENCE_PCAP_HDR_LEN 24u
#define EVIDENCE_PCAP_REC_HDR_LEN 16u
#define EVIDENCE_MAX_CAPTURES 64    /* ceiling on [evidence] max_captures */
#define EVIDENCE_RECENT 256         /* subjects remembered for the once-per-window rule */

/* [evidence] settings. */
struct evidence_cfg {
    bool enabled;            /* enabled = true */
    uint64_t ring_bytes;     /* ring_bytes = 64M: evidence ring size */
    uint64_t ring_usec;      /* ring_seconds = 120: packet time the ring keeps */
    uint64_t pre_usec;       /* pre_seconds = 30: packets before the trigger */
    uint64_t post_usec;      /* post_seconds = 30: packets after the trigger */
    size_t max_captures;     /* max_captures = 4: files recording or shipping at once */
    size_t max_file;         /* max_file = 8M: bytes of one pcap */
    size_t chunk_bytes;      /* chunk_size = 256K: bytes of one EvidenceChunk */
    unsigned chunks_per_tick;/* chunks_per_tick = 8: chunks sent per tick */
    const char *dir;         /* dir = "": also write each file here as <sha256>.pcap */
};

/*
 * Reads [evidence] from cfg (defaults above).  Returns 0, or -EINVAL with the
 * message in config_error(cfg).
 */
WARD_MUST_CHECK int evidence_config(struct config *cfg, struct evidence_cfg *out);

struct evidence;

/*
 * Evidence over ring (borrowed; must outlive the evidence), shipping to next
 * (copied).  Registers a tap on ring.  NULL if out of memory or the ring has no
 * free tap.
 */
struct evidence *evidence_new(const struct evidence_cfg *cfg, struct evring *ring,
                              const struct sink *next);
void evidence_free(struct evidence *ev);

/* The sink to hand to detectors: passes everything on to next, watching events. */
struct sink evidence_sink(struct evidence *ev);

/*
 * Closes captures whose window ended before now_usec (packet time) and sends up
 * to chunks_per_tick chunks.  Call about once a second.
 */
void evidence_tick(struct evidence *ev, uint64_t now_usec);

/* End of input: closes every capture and sends every chunk. */
void evidence_flush(struct evidence *ev);

/*
 * Starts an on-demand capture for cmd (kind capture) at packet time now_usec and
 * answers it with a CommandResult through the sink.  Returns 0, -EINVAL (bad
 * host or duration), -EBUSY (no free slot); the result says the same.
 */
int evidence_command(struct evidence *ev, const Ward__Command *cmd, uint64_t now_usec);

struct evidence_stats {
    uint64_t triggered;   /* captures started by events */
    uint64_t on_demand;   /* captures started by commands */
    uint64_t refused;     /* triggers refused: every slot busy */
    uint64_t suppressed;  /* triggers skipped: the subject has a capture this window */
    uint64_t files;       /* files closed and hashed */
    uint64_t truncated;   /* files that reached max_file (later packets left out) */
    uint64_t chunks;      /* chunks sent */
    uint64_t send_errors; /* chunks the next sink refused (retried next tick) */
    size_t active;        /* slots in use now */
    size_t memory;        /* bytes held by capture buffers */
};
void evidence_get_stats(const struct evidence *ev, struct evidence_stats *out);

/* Appends the 24-byte classic pcap file header (microsecond, little-endian). */
void evidence_pcap_header(uint8_t out[EVIDENCE_PCAP_HDR_LEN], int linktype);

#endif
