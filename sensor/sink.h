/*
 * sink -- where the sensor's products go.
 *
 * Detectors, the asset tracker, evidence and containment produce Ward__Message
 * values (proto/ward.proto: an event, an asset update, an evidence chunk, a
 * command result) and hand each to a sink.  The offline sink (sink_jsonl.c)
 * prints events as JSON lines; the uplink (uplink.c) spools and sends them to the
 * console.  Sinks can be stacked: evidence.c wraps the next sink to see events.
 * The message is borrowed for the duration of the call: a sink that keeps it
 * serializes or copies it.  Capture thread only.
 */
#ifndef WARD_SINK_H
#define WARD_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "ward.pb-c.h"

struct sink {
    /* Returns 0, or a negative errno (counted by the caller, never fatal). */
    int (*send)(void *arg, const Ward__Message *m);
    void *arg; /* the sink's state */
};

static inline int sink_send(const struct sink *s, const Ward__Message *m)
{
    return s && s->send ? s->send(s->arg, m) : 0;
}

/*
 * Answers console command command_id: sends s a CommandResult done now, saying
 * whether it worked (ok), what acted (backend: "nft", "capture", "sensor") and
 * what a person should read (detail).  Both strings are borrowed for the call.
 * Returns what sink_send() returns.
 */
int sink_result(const struct sink *s, uint64_t command_id, bool ok, const char *backend,
                const char *detail);

#endif
