/*
 * sink_jsonl -- see sink_jsonl.h.
 */
#include "sink_jsonl.h"

#include <errno.h>

#include "asset_json.h"
#include "event_json.h"
#include "json.h"

static json_t *other_json(const Ward__Message *m)
{
    switch (m->kind_case) {
    case WARD__MESSAGE__KIND_EVIDENCE: {
        const Ward__EvidenceChunk *e = m->evidence;
        json_t *j = json_pack("{s:s, s:s, s:s}", "type", "evidence", "sha256",
                              e->sha256 ? e->sha256 : "", "event_uid",
                              e->event_uid ? e->event_uid : "");
        if (j) {
            json_set_u64(j, "index", e->index);
            json_set_u64(j, "total", e->total);
            json_set_u64(j, "size", e->size);
        }
        return j;
    }
    case WARD__MESSAGE__KIND_RESULT: {
        const Ward__CommandResult *r = m->result;
        json_t *j = json_pack("{s:s, s:b, s:s, s:s}", "type", "command_result", "ok", r->ok,
                              "detail", r->detail ? r->detail : "", "backend",
                              r->backend ? r->backend : "");
        if (j)
            json_set_u64(j, "command_id", r->command_id);
        return j;
    }
    default:
        return NULL;
    }
}

static int jsonl_send(void *arg, const Ward__Message *m)
{
    struct sink_jsonl *s = arg;
    json_t *j = NULL;
    if (m->kind_case == WARD__MESSAGE__KIND_EVENT && m->event) {
        j = event_json(m->event, s->sensor);
    } else if (m->kind_case == WARD__MESSAGE__KIND_ASSET && m->asset && (s->assets || s->all)) {
        j = asset_json(m->asset, s->sensor);
    } else if (s->all) {
        j = other_json(m);
    } else {
        s->skipped++;
        return 0;
    }
    if (!j) {
        s->errors++;
        return -ENOMEM;
    }
    int rc = json_write_line(s->out, j);
    json_decref(j);
    if (rc == 0 && fflush(s->out) != 0)
        rc = -EIO;
    if (rc < 0) {
        s->errors++;
        return rc;
    }
    if (m->kind_case == WARD__MESSAGE__KIND_EVENT)
        s->events++;
    return 0;
}

struct sink sink_jsonl_init(struct sink_jsonl *j, FILE *out, const char *sensor, bool assets,
                            bool all)
{
    j->out = out;
    j->sensor = sensor;
    j->assets = assets;
    j->all = all;
    j->events = j->skipped = j->errors = 0;
    struct sink s = {jsonl_send, j};
    return s;
}
