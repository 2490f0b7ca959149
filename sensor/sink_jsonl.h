/*
 * sink_jsonl -- the offline sink of `ward-sensor -o jsonl`: each event as one JSON
 * line (common/event_json.h's shape) on a stream, flushed per line so a pipe
 * sees events as they happen.  Other message kinds (asset updates, evidence,
 * command results) are skipped, except asset updates when `assets` is set
 * (common/asset_json.h's shape, `ward-sensor --assets`) and everything when `all`
 * is set (a short {"type":...} line for evidence chunks and command results).
 * Capture thread only.
 */
#ifndef WARD_SINK_JSONL_H
#define WARD_SINK_JSONL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sink.h"

struct sink_jsonl {
    FILE *out;          /* where lines go (borrowed) */
    const char *sensor; /* sensor name for the "sensor" field, NULL offline */
    bool assets;        /* also write asset updates */
    bool all;           /* also write every other message kind */
    uint64_t events;    /* event lines written */
    uint64_t skipped;   /* messages of other kinds not written */
    uint64_t errors;    /* lines that could not be built or written */
};

/* Initialises j to write to out and returns the sink that feeds it (it borrows j). */
struct sink sink_jsonl_init(struct sink_jsonl *j, FILE *out, const char *sensor, bool assets,
                            bool all);

#endif
