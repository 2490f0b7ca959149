/*
 * keymap -- see keymap.h.  Tags and use times live in arrays of their own, apart
 * from the [key | value] records, so that scanning a window of KEYMAP_WAYS slots
 * reads one cache line of tags; only a matching tag costs a key compare.
 */
#include "keymap.h"

#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "ward.h"

struct keymap {
    uint32_t *tags;      /* per slot: high hash bits | 1, 0 when empty */
    uint64_t *last;      /* per slot: when the entry was last used */
    uint8_t *recs;       /* slot_count records of [key | value], stride bytes each */
    size_t slot_count;   /* power of two */
    size_t stride;       /* bytes per record */
    size_t key_len;      /* bytes of key */
    size_t val_len;      /* bytes of value */
    size_t val_off;      /* offset of the value in a record */
    size_t count;        /* entries in use */
    uint64_t evictions;  /* entries pushed out to make room */
    keymap_evict_fn on_evict; /* told before an eviction, may be NULL */
    void *evict_arg;     /* its argument */
};

static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

struct keymap *keymap_new(size_t cap, size_t key_len, size_t val_len)
{
    WARD_ASSERT(key_len > 0);
    size_t n = KEYMAP_WAYS;
    while (n < cap && n < ((size_t)1 << 30))
        n <<= 1;
    struct keymap *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->key_len = key_len;
    m->val_len = val_len;
    m->val_off = round8(key_len);
    m->stride = m->val_off + round8(val_len);
    m->slot_count = n;
    m->tags = bigmem_calloc(n, sizeof(*m->tags));
    m->last = bigmem_calloc(n, sizeof(*m->last));
    m->recs = bigmem_calloc(n, m->stride);
    if (!m->tags || !m->last || !m->recs) {
        keymap_free(m);
        return NULL;
    }
    return m;
}

void keymap_free(struct keymap *m)
{
    if (!m)
        return;
    bigmem_free(m->tags, m->slot_count, sizeof(*m->tags));
    bigmem_free(m->last, m->slot_count, sizeof(*m->last));
    bigmem_free(m->recs, m->slot_count, m->stride);
    free(m);
}

void keymap_on_evict(struct keymap *m, keymap_evict_fn fn, void *arg)
{
    m->on_evict = fn;
    m->evict_arg = arg;
}

static uint8_t *key_at(const struct keymap *m, size_t i)
{
    return m->recs + i * m->stride;
}

static uint8_t *val_at(const struct keymap *m, size_t i)
{
    return m->recs + i * m->stride + m->val_off;
}

/* Byte equality of two keys of len bytes, inline: detector keys are 4 to 48 bytes,
 * where a call to memcmp() costs more than the compare. */
static inline bool key_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint64_t x, y, diff = 0;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        diff |= x ^ y;
    }
    for (; i < len; i++)
        diff |= (uint64_t)(a[i] ^ b[i]);
    return diff == 0;
}

static uint32_t tag_of(uint64_t h)
{
    return (uint32_t)(h >> 32) | 1u; /* never 0, which marks an empty slot */
}

/*
 * Index of key, or slot_count if absent; *victim gets where to insert (an empty
 * slot, else the least recently used of the window).  The tags of a window share
 * one cache line, so a miss costs one line and a hit one more.
 */
static size_t find(const struct keymap *m, const void *key, uint64_t h, size_t *victim)
{
    size_t start = (size_t)h & (m->slot_count - 1) & ~(size_t)(KEYMAP_WAYS - 1);
    uint32_t tag = tag_of(h);
    size_t empty = m->slot_count;
    for (size_t i = start; i < start + KEYMAP_WAYS; i++) {
        uint32_t t = m->tags[i];
        if (t == tag && key_eq(key_at(m, i), key, m->key_len))
            return i;
        if (!t && empty == m->slot_count)
            empty = i;
    }
    if (victim) {
        if (empty != m->slot_count) {
            *victim = empty;
        } else {
            size_t lru = start;
            for (size_t i = start + 1; i < start + KEYMAP_WAYS; i++) {
                if (m->last[i] < m->last[lru])
                    lru = i;
            }
            *victim = lru;
        }
    }
    return m->slot_count;
}

void *keymap_get(struct keymap *m, const void *key, uint64_t now_usec, bool create,
                 bool *created)
{
    uint64_t h = keymap_hash(key, m->key_len, 0);
    size_t victim = 0;
    size_t i = find(m, key, h, create ? &victim : NULL);
    if (created)
        *created = false;
    if (i != m->slot_count) {
        if (now_usec > m->last[i])
            m->last[i] = now_usec;
        return val_at(m, i);
    }
    if (!create)
        return NULL;
    if (m->tags[victim]) {
        m->evictions++;
        if (m->on_evict)
            m->on_evict(m->evict_arg, key_at(m, victim), val_at(m, victim));
    } else {
        m->count++;
    }
    m->tags[victim] = tag_of(h);
    m->last[victim] = now_usec;
    memcpy(key_at(m, victim), key, m->key_len);
    memset(val_at(m, victim), 0, m->val_len);
    if (created)
        *created = true;
    return val_at(m, victim);
}

void keymap_prefetch(const struct keymap *m, const void *key, int stage)
{
    uint64_t h = keymap_hash(key, m->key_len, 0);
    size_t start = (size_t)h & (m->slot_count - 1) & ~(size_t)(KEYMAP_WAYS - 1);
    if (stage == 0) {
        __builtin_prefetch(&m->tags[start]);
        __builtin_prefetch(&m->last[start]);
        return;
    }
    uint32_t tag = tag_of(h);
    size_t empty = m->slot_count;
    for (size_t i = start; i < start + KEYMAP_WAYS; i++) {
        if (m->tags[i] == tag) {
            keymap_prefetch_slot(m, i);
            return;
        }
        if (!m->tags[i] && empty == m->slot_count)
            empty = i;
    }
    if (empty == m->slot_count) {
        empty = start;
        for (size_t i = start + 1; i < start + KEYMAP_WAYS; i++) {
            if (m->last[i] < m->last[empty])
                empty = i;
        }
    }
    keymap_prefetch_slot(m, empty); /* where keymap_get() would create it */
}

void keymap_prefetch_slot(const struct keymap *m, size_t slot)
{
    if (slot >= m->slot_count)
        return;
    const uint8_t *rec = key_at(m, slot);
    for (size_t off = 0; off < m->stride; off += 64)
        __builtin_prefetch(rec + off);
    __builtin_prefetch(rec + m->stride - 1);
}

void *keymap_peek(const struct keymap *m, const void *key)
{
    uint64_t h = keymap_hash(key, m->key_len, 0);
    size_t i = find(m, key, h, NULL);
    return i == m->slot_count ? NULL : val_at(m, i);
}

size_t keymap_slot_of(const struct keymap *m, const void *val)
{
    return (size_t)((const uint8_t *)val - m->recs) / m->stride;
}

void *keymap_peek_slot(const struct keymap *m, size_t slot, const void *key)
{
    if (slot >= m->slot_count || !m->tags[slot] || !key_eq(key_at(m, slot), key, m->key_len))
        return NULL;
    return val_at(m, slot);
}

void keymap_del_at(struct keymap *m, size_t i)
{
    if (i >= m->slot_count || !m->tags[i])
        return;
    m->tags[i] = 0;
    m->count--;
}

void keymap_del(struct keymap *m, const void *key)
{
    uint64_t h = keymap_hash(key, m->key_len, 0);
    size_t i = find(m, key, h, NULL);
    if (i != m->slot_count)
        keymap_del_at(m, i);
}

size_t keymap_slots(const struct keymap *m)
{
    return m->slot_count;
}

void *keymap_at(struct keymap *m, size_t i, const void **key, uint64_t *last_usec)
{
    if (!m->tags[i])
        return NULL;
    if (key)
        *key = key_at(m, i);
    if (last_usec)
        *last_usec = m->last[i];
    return val_at(m, i);
}

size_t keymap_count(const struct keymap *m)
{
    return m->count;
}

uint64_t keymap_evictions(const struct keymap *m)
{
    return m->evictions;
}

size_t keymap_memory(const struct keymap *m)
{
    return m ? sizeof(*m) + m->slot_count * (m->stride + sizeof(*m->tags) + sizeof(*m->last))
             : 0;
}
