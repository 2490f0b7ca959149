/*
 * envelope -- see envelope.h.
 */
#include "envelope.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SIGN_TAG "WARD-ENVELOPE"

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Builds the signing input; returns a malloc'd buffer or NULL. */
static uint8_t *signing_input(uint32_t version, const char *sender, uint64_t first_seq,
                              const uint8_t *body, size_t body_len, size_t *len)
{
    size_t slen = strlen(sender);
    size_t tag = sizeof(SIGN_TAG); /* includes the NUL */
    size_t n = tag + 4 + 2 + slen + 8 + 4 + body_len;
    uint8_t *buf = malloc(n);
    if (!buf)
        return NULL;
    size_t o = 0;
    memcpy(buf, SIGN_TAG, tag);
    o += tag;
    put_be(buf + o, version, 4);
    o += 4;
    put_be(buf + o, slen, 2);
    o += 2;
    memcpy(buf + o, sender, slen);
    o += slen;
    put_be(buf + o, first_seq, 8);
    o += 8;
    put_be(buf + o, body_len, 4);
    o += 4;
    if (body_len)
        memcpy(buf + o, body, body_len);
    *len = n;
    return buf;
}

int envelope_seal_body(const uint8_t *body, size_t body_len, const char *sender,
                       uint64_t first_seq, const struct keys_identity *id, uint8_t **out,
                       size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (strlen(sender) > ENVELOPE_MAX_SENDER)
        return -EINVAL;
    if (body_len > ENVELOPE_MAX_BYTES - 256)
        return -ENOSPC;
    size_t in_len;
    uint8_t *in = signing_input(WARD__WIRE_VERSION__WIRE_VERSION, sender, first_seq, body,
                                body_len, &in_len);
    if (!in)
        return -ENOMEM;
    uint8_t sig[KEYS_SIG_LEN];
    keys_sign(id, in, in_len, sig);
    free(in);

    Ward__Envelope env;
    ward__envelope__init(&env);
    env.version = WARD__WIRE_VERSION__WIRE_VERSION;
    env.sender = (char *)(uintptr_t)sender;
    env.first_seq = first_seq;
    env.body.data = (uint8_t *)(uintptr_t)body;
    env.body.len = body_len;
    env.signature.data = sig;
    env.signature.len = sizeof(sig);
    size_t n = ward__envelope__get_packed_size(&env);
    if (n > ENVELOPE_MAX_BYTES)
        return -ENOSPC;
    uint8_t *buf = malloc(n);
    if (!buf)
        return -ENOMEM;
    ward__envelope__pack(&env, buf);
    *out = buf;
    *out_len = n;
    return 0;
}

int envelope_seal(const Ward__Payload *payload, const char *sender, uint64_t first_seq,
                  const struct keys_identity *id, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    size_t body_len = ward__payload__get_packed_size(payload);
    if (body_len > ENVELOPE_MAX_BYTES - 256)
        return -ENOSPC;
    uint8_t *body = malloc(body_len ? body_len : 1);
    if (!body)
        return -ENOMEM;
    ward__payload__pack(payload, body);
    int rc = envelope_seal_body(body, body_len, sender, first_seq, id, out, out_len);
    free(body);
    return rc;
}

/* ---------------------------------------------------------------- arena */

#define ARENA_CHUNK (256u << 10) /* bytes of a standard chunk */
#define ARENA_KEEP 16            /* standard chunks a reset keeps for the next message */
#define ARENA_ALIGN 16u

struct arena_chunk {
    struct arena_chunk *next; /* older chunk */
    size_t cap;               /* bytes at data */
    size_t used;              /* bytes handed out */
    _Alignas(ARENA_ALIGN) unsigned char data[]; /* the memory */
};

struct envelope_arena {
    ProtobufCAllocator al;     /* handed to protobuf-c: allocates from this arena */
    struct arena_chunk *live;  /* chunks in use, newest first */
    struct arena_chunk *spare; /* standard chunks kept by the last reset */
    size_t n_spare;            /* how many */
};

static void *arena_alloc(void *data, size_t size)
{
    struct envelope_arena *a = data;
    size = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct arena_chunk *c = a->live;
    if (!c || c->cap - c->used < size) {
        if (size <= ARENA_CHUNK && a->spare) {
            c = a->spare;
            a->spare = c->next;
            a->n_spare--;
        } else {
            size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
            if (cap > SIZE_MAX - sizeof(*c))
                return NULL;
            c = malloc(sizeof(*c) + cap);
            if (!c)
                return NULL;
            c->cap = cap;
        }
        c->used = 0;
        c->next = a->live;
        a->live = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

static void arena_free_one(void *data, void *p)
{
    (void)data; /* given back all at once by envelope_arena_reset() */
    (void)p;
}

struct envelope_arena *envelope_arena_new(void)
{
    struct envelope_arena *a = calloc(1, sizeof(*a));
    if (a) {
        a->al.alloc = arena_alloc;
        a->al.free = arena_free_one;
        a->al.allocator_data = a;
    }
    return a;
}

void envelope_arena_reset(struct envelope_arena *a)
{
    while (a->live) {
        struct arena_chunk *c = a->live;
        a->live = c->next;
        if (c->cap == ARENA_CHUNK && a->n_spare < ARENA_KEEP) {
            c->next = a->spare;
            a->spare = c;
            a->n_spare++;
        } else {
            free(c);
        }
    }
}

void envelope_arena_free(struct envelope_arena *a)
{
    if (!a)
        return;
    envelope_arena_reset(a);
    while (a->spare) {
        struct arena_chunk *c = a->spare;
        a->spare = c->next;
        free(c);
    }
    free(a);
}

/* ---------------------------------------------------------------- opening */

static ProtobufCAllocator *allocator_of(struct envelope_arena *a)
{
    return a ? &a->al : NULL;
}

int envelope_open(const uint8_t *buf, size_t len, Ward__Envelope **out, const char **why)
{
    return envelope_open_in(NULL, buf, len, out, why);
}

int envelope_open_in(struct envelope_arena *arena, const uint8_t *buf, size_t len,
                     Ward__Envelope **out, const char **why)
{
    ProtobufCAllocator *al = allocator_of(arena);
    *out = NULL;
    if (len > ENVELOPE_MAX_BYTES) {
        *why = "message larger than the 8 MiB limit";
        return -EMSGSIZE;
    }
    if (len == 0) {
        *why = "empty message";
        return -EBADMSG;
    }
    Ward__Envelope *env = ward__envelope__unpack(al, len, buf);
    if (!env) {
        *why = "malformed protobuf (not a Ward envelope)";
        return -EBADMSG;
    }
    if (env->version != WARD__WIRE_VERSION__WIRE_VERSION) {
        *why = "unknown wire version";
        ward__envelope__free_unpacked(env, al);
        return -EPROTO;
    }
    if (!env->sender || strlen(env->sender) == 0 || strlen(env->sender) > ENVELOPE_MAX_SENDER) {
        *why = "missing or over-long sender name";
        ward__envelope__free_unpacked(env, al);
        return -EBADMSG;
    }
    if (env->signature.len != KEYS_SIG_LEN) {
        *why = "missing or malformed signature";
        ward__envelope__free_unpacked(env, al);
        return -EBADMSG;
    }
    *out = env;
    return 0;
}

int envelope_verify(const Ward__Envelope *env, const uint8_t sign_pk[KEYS_SIGN_PK_LEN])
{
    size_t in_len;
    uint8_t *in = signing_input(env->version, env->sender, env->first_seq, env->body.data,
                                env->body.len, &in_len);
    if (!in)
        return -ENOMEM;
    bool ok = env->signature.len == KEYS_SIG_LEN &&
              keys_verify(sign_pk, in, in_len, env->signature.data);
    free(in);
    return ok ? 0 : -EBADMSG;
}

static bool str_ok(const char *s)
{
    return !s || strnlen(s, ENVELOPE_MAX_STRING + 1) <= ENVELOPE_MAX_STRING;
}

static bool event_ok(const Ward__Event *e)
{
    if (!str_ok(e->uid) || !str_ok(e->subtype) || !str_ok(e->src) || !str_ok(e->dst) ||
        !str_ok(e->src_mac) || !str_ok(e->summary) || !str_ok(e->domain))
        return false;
    if (!e->uid || !*e->uid)
        return false;
    if (e->n_ports > ENVELOPE_MAX_REPEATED || e->n_figures > ENVELOPE_MAX_REPEATED ||
        e->n_evidence > ENVELOPE_MAX_REPEATED || e->n_targets > ENVELOPE_MAX_REPEATED)
        return false;
    for (size_t i = 0; i < e->n_figures; i++) {
        if (!e->figures[i] || !str_ok(e->figures[i]->name))
            return false;
    }
    for (size_t i = 0; i < e->n_evidence; i++) {
        if (!str_ok(e->evidence[i]))
            return false;
    }
    for (size_t i = 0; i < e->n_targets; i++) {
        if (!str_ok(e->targets[i]))
            return false;
    }
    return true;
}

static bool asset_ok(const Ward__AssetUpdate *a)
{
    if (!str_ok(a->ip) || !str_ok(a->mac) || !str_ok(a->vendor) || !str_ok(a->hostname) ||
        !str_ok(a->hostname_source) || !str_ok(a->os_guess) || !str_ok(a->dhcp_vendor_class))
        return false;
    if (a->n_services > ENVELOPE_MAX_REPEATED || a->n_tls_names > ENVELOPE_MAX_REPEATED ||
        a->n_user_agents > ENVELOPE_MAX_REPEATED)
        return false;
    for (size_t i = 0; i < a->n_services; i++) {
        if (!a->services[i] || !str_ok(a->services[i]->app))
            return false;
    }
    for (size_t i = 0; i < a->n_tls_names; i++) {
        if (!str_ok(a->tls_names[i]))
            return false;
    }
    for (size_t i = 0; i < a->n_user_agents; i++) {
        if (!str_ok(a->user_agents[i]))
            return false;
    }
    return true;
}

static bool chunk_ok(const Ward__EvidenceChunk *c)
{
    if (!str_ok(c->sha256) || !str_ok(c->event_uid) || c->n_hosts > ENVELOPE_MAX_REPEATED)
        return false;
    for (size_t i = 0; i < c->n_hosts; i++) {
        if (!str_ok(c->hosts[i]))
            return false;
    }
    return c->data.len <= ENVELOPE_MAX_CHUNK && c->total > 0 && c->index < c->total;
}

static bool message_ok(const Ward__Message *m)
{
    if (!m)
        return false;
    switch (m->kind_case) {
    case WARD__MESSAGE__KIND_EVENT:
        return m->event && event_ok(m->event);
    case WARD__MESSAGE__KIND_ASSET:
        return m->asset && asset_ok(m->asset);
    case WARD__MESSAGE__KIND_EVIDENCE:
        return m->evidence && chunk_ok(m->evidence);
    case WARD__MESSAGE__KIND_RESULT:
        return m->result && str_ok(m->result->detail) && str_ok(m->result->backend);
    case WARD__MESSAGE__KIND_SPOOL_DROP:
        return m->spool_drop != NULL;
    case WARD__MESSAGE__KIND__NOT_SET:
    case _WARD__MESSAGE__KIND__CASE_IS_INT_SIZE:
        break;
    }
    return false;
}

static bool command_ok(const Ward__Command *c)
{
    switch (c->kind_case) {
    case WARD__COMMAND__KIND_ISOLATE:
        return c->isolate && str_ok(c->isolate->host) && str_ok(c->isolate->mac);
    case WARD__COMMAND__KIND_RELEASE:
        return c->release && str_ok(c->release->host);
    case WARD__COMMAND__KIND_CAPTURE:
        return c->capture && str_ok(c->capture->host);
    case WARD__COMMAND__KIND_SET_MODE:
        return c->set_mode != NULL;
    case WARD__COMMAND__KIND_INTEL:
        if (!c->intel || c->intel->n_addresses > 65536 || c->intel->n_domains > 65536)
            return false;
        for (size_t i = 0; i < c->intel->n_addresses; i++) {
            if (!str_ok(c->intel->addresses[i]))
                return false;
        }
        for (size_t i = 0; i < c->intel->n_domains; i++) {
            if (!str_ok(c->intel->domains[i]))
                return false;
        }
        return true;
    case WARD__COMMAND__KIND__NOT_SET:
    case _WARD__COMMAND__KIND__CASE_IS_INT_SIZE:
        break;
    }
    return false;
}

int envelope_payload(const Ward__Envelope *env, Ward__Payload **out, const char **why)
{
    return envelope_payload_in(NULL, env, out, why);
}

int envelope_payload_in(struct envelope_arena *arena, const Ward__Envelope *env,
                        Ward__Payload **out, const char **why)
{
    ProtobufCAllocator *al = allocator_of(arena);
    *out = NULL;
    Ward__Payload *p = ward__payload__unpack(al, env->body.len, env->body.data);
    if (!p) {
        *why = "malformed protobuf in signed body";
        return -EBADMSG;
    }
    bool ok = true;
    *why = "payload exceeds a limit or lacks a required field";
    switch (p->kind_case) {
    case WARD__PAYLOAD__KIND_BATCH:
        if (!p->batch || p->batch->n_messages == 0 ||
            p->batch->n_messages > ENVELOPE_MAX_MESSAGES) {
            *why = "batch empty or over the message limit";
            ok = false;
            break;
        }
        if (env->first_seq == 0 || env->first_seq > UINT64_MAX - p->batch->n_messages) {
            *why = "batch without a valid sequence number";
            ok = false;
            break;
        }
        for (size_t i = 0; ok && i < p->batch->n_messages; i++)
            ok = message_ok(p->batch->messages[i]);
        break;
    case WARD__PAYLOAD__KIND_HEARTBEAT:
        ok = p->heartbeat && str_ok(p->heartbeat->interface) &&
             p->heartbeat->n_counters <= ENVELOPE_MAX_REPEATED;
        for (size_t i = 0; ok && i < p->heartbeat->n_counters; i++)
            ok = p->heartbeat->counters[i] && str_ok(p->heartbeat->counters[i]->name);
        break;
    case WARD__PAYLOAD__KIND_ACK:
        ok = p->ack && str_ok(p->ack->reason);
        break;
    case WARD__PAYLOAD__KIND_COMMAND:
        ok = p->command && command_ok(p->command);
        break;
    case WARD__PAYLOAD__KIND_GAP:
        ok = p->gap != NULL;
        break;
    case WARD__PAYLOAD__KIND__NOT_SET:
    case _WARD__PAYLOAD__KIND__CASE_IS_INT_SIZE:
        *why = "payload kind not set";
        ok = false;
        break;
    }
    if (!ok) {
        ward__payload__free_unpacked(p, al);
        return -EBADMSG;
    }
    *out = p;
    return 0;
}

void envelope_free(Ward__Envelope *env)
{
    if (env)
        ward__envelope__free_unpacked(env, NULL);
}

void envelope_payload_free(Ward__Payload *p)
{
    if (p)
        ward__payload__free_unpacked(p, NULL);
}
