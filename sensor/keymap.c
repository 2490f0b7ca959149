/*
 * keymap -- see keymap.h.  Each window of KEYMAP_WAYS slots keeps its tags and use
 * times together in one cache line of 64-bit words (an 8-bit tag from the top of
 * the hash over a 56-bit use time), apart from the [key | value] records: finding
 * a key, or the least recently used slot of a full window, reads that one line,
 * and only a matching tag (the key's own, or one in 255 others) costs a record.
 * Use times are exact up to 2^56 usec (the year 4253); later ones count as that.
 */
#include "keymap.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bigmem.h"
#include "ward.h"

#define META_TIME_BITS 56
#define META_TIME_MASK ((1ULL << META_TIME_BITS) - 1)

struct keymap {
    uint64_t *meta;      /* per slot: tag << 56 | use time; 0 when empty (tags are never 0) */
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

_Static_assert(KEYMAP_WAYS * sizeof(uint64_t) == 64, "a window's meta words fill one cache line");

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
    m->meta = bigmem_calloc(n, sizeof(*m->meta)); /* page-aligned: a window is one line */
    m->recs = bigmem_calloc(n, m->stride);
    if (!m->meta || !m->recs) {
        keymap_free(m);
        return NULL;
    }
    return m;
}

struct keymap *keymap_new_sparse(size_t cap, size_t key_len, size_t val_len)
{
    struct keymap *m = keymap_new(cap, key_len, val_len);
#ifdef MADV_NOHUGEPAGE
    /* Not yet touched, so nothing is resident to split; a refusal is harmless. */
    if (m)
        (void)madvise(m->recs, m->slot_count * m->stride, MADV_NOHUGEPAGE);
#endif
    return m;
}

void keymap_free(struct keymap *m)
{
    if (!m)
        return;
    bigmem_free(m->meta, m->slot_count, sizeof(*m->meta));
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

/* The tag of hash h in a meta word's top byte; never 0, which marks an empty slot. */
static uint64_t tag_of(uint64_t h)
{
    uint64_t t = h >> META_TIME_BITS;
    return (t ? t : 1) << META_TIME_BITS;
}

static uint64_t time_of(uint64_t meta)
{
    return meta & META_TIME_MASK;
}

static uint64_t clamp_time(uint64_t usec)
{
    return usec < META_TIME_MASK ? usec : META_TIME_MASK;
}

static size_t window_of(const struct keymap *m, uint64_t h)
{
    return (size_t)h & (m->slot_count - 1) & ~(size_t)(KEYMAP_WAYS - 1);
}

/* Where an insert into the window at start goes: its first empty slot, else its
 * least recently used one (the first of equals). */
static size_t victim_of(const struct keymap *m, size_t start)
{
    size_t lru = start;
    for (size_t i = start; i < start + KEYMAP_WAYS; i++) {
        if (!m->meta[i])
            return i;
        if (time_of(m->meta[i]) < time_of(m->meta[lru]))
            lru = i;
    }
    return lru;
}

/*
 * Index of key, or slot_count if absent; *victim (if not NULL) gets where to
 * insert.  The window's meta words share one cache line, so a miss costs one
 * line and a hit one more.
 */
static size_t find(const struct keymap *m, const void *key, uint64_t h, size_t *victim)
{
    size_t start = window_of(m, h);
    uint64_t tag = tag_of(h);
    for (size_t i = start; i < start + KEYMAP_WAYS; i++) {
        if ((m->meta[i] & ~META_TIME_MASK) == tag && key_eq(key_at(m, i), key, m->key_len))
            return i;
    }
    if (victim)
        *victim = victim_of(m, start);
    return m->slot_count;
}

void *keymap_get(struct keymap *m, const void *key, uint64_t now_usec, bool create,
                 bool *created)
{
    uint64_t h = keymap_hash(key, m->key_len, 0);
    uint64_t now = clamp_time(now_usec);
    size_t victim = 0;
    size_t i = find(m, key, h, create ? &victim : NULL);
    if (created)
        *created = false;
    if (i != m->slot_count) {
        if (now > time_of(m->meta[i]))
            m->meta[i] = (m->meta[i] & ~META_TIME_MASK) | now;
        return val_at(m, i);
    }
    if (!create)
        return NULL;
    if (m->meta[victim]) {
        m->evictions++;
        if (m->on_evict)
            m->on_evict(m->evict_arg, key_at(m, victim), val_at(m, victim));
    } else {
        m->count++;
    }
    m->meta[victim] = tag_of(h) | now;
    memcpy(key_at(m, victim), key, m->key_len);
    memset(val_at(m, victim), 0, m->val_len);
    if (created)
        *created = true;
    return val_at(m, victim);
}

void keymap_prefetch(const struct keymap *m, const void *key, int stage)
{
    uint64_t h = keymap_hash(key, m->key_len, 0);
    size_t start = window_of(m, h);
    if (stage == 0) {
        __builtin_prefetch(&m->meta[start]);
        return;
    }
    uint64_t tag = tag_of(h);
    for (size_t i = start; i < start + KEYMAP_WAYS; i++) {
        if ((m->meta[i] & ~META_TIME_MASK) == tag) {
            keymap_prefetch_slot(m, i);
            return;
        }
    }
    keymap_prefetch_slot(m, victim_of(m, start)); /* where keymap_get() would create it */
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
    if (slot >= m->slot_count || !m->meta[slot] || !key_eq(key_at(m, slot), key, m->key_len))
        return NULL;
    return val_at(m, slot);
}

void keymap_del_at(struct keymap *m, size_t i)
{
    if (i >= m->slot_count || !m->meta[i])
        return;
    m->meta[i] = 0;
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
    if (!m->meta[i])
        return NULL;
    if (key)
        *key = key_at(m, i);
    if (last_usec)
        *last_usec = time_of(m->meta[i]);
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
    return m ? sizeof(*m) + m->slot_count * (m->stride + sizeof(*m->meta)) : 0;
}
