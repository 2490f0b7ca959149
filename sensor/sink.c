/*
 * sink -- see sink.h.  The one place that builds a command result message, for
 * the sensor, containment and evidence capture alike.
 */
#include "sink.h"

#include "clock.h"

int sink_result(const struct sink *s, uint64_t command_id, bool ok, const char *backend,
                const char *detail)
{
    Ward__CommandResult r;
    Ward__Message m;
    ward__command_result__init(&r);
    ward__message__init(&m);
    r.command_id = command_id;
    r.ok = ok;
    /* protobuf-c's string fields are not const; packing only reads them. */
    r.detail = (char *)(uintptr_t)detail;
    r.backend = (char *)(uintptr_t)backend;
    r.done_usec = clock_now_usec();
    m.created_usec = r.done_usec;
    m.kind_case = WARD__MESSAGE__KIND_RESULT;
    m.result = &r;
    return sink_send(s, &m);
}
