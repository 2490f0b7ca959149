/*
 * keymap -- a fixed-capacity hash map of fixed-size keys to fixed-size values, the
 * bounded per-host and per-pair state of the detectors.
 *
 * All memory is allocated by keymap_new(); nothing is allocated afterwards.  A key
 * lives in one window of KEYMAP_WAYS slots chosen by its hash; when the window is
 * full, the least recently used entry of that window is evicted and counted, so a
 * flood of new keys costs old state, never memory.  Keys are compared byte for
 * byte: callers zero their padding.  Capture thread only.
 */
#ifndef WARD_KEYMAP_H
#define WARD_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define KEYMAP_WAYS 8 /* slots a key may live in */

struct keymap;

/*
 * A map of at least cap entries (rounded up to a power of two, at least
 * KEYMAP_WAYS).  key_len, val_len in bytes (key_len > 0).  NULL if out of memory.
 */
struct keymap *keymap_new(size_t cap, size_t key_len, size_t val_len);
/*
 * Like keymap_new(), for a map that holds few entries at a time, scattered over
 * its slots (open events, the rare traffic some detectors key): its records are
 * kept off huge pages, so an entry's first use costs a 4 KB page, not 2 MB.
 */
struct keymap *keymap_new_sparse(size_t cap, size_t key_len, size_t val_len);
void keymap_free(struct keymap *m);

/* Called with an entry about to be evicted (before its slot is reused). */
typedef void (*keymap_evict_fn)(void *arg, const void *key, void *val);
void keymap_on_evict(struct keymap *m, keymap_evict_fn fn, void *arg);

/*
 * Finds key and marks it used at now_usec.  If absent and create is true, claims
 * a slot (evicting as above), zeroes the value and sets *created (may be NULL).
 * Returns the value, or NULL when absent and !create.  The pointer is valid until
 * the next call that creates or deletes.
 */
void *keymap_get(struct keymap *m, const void *key, uint64_t now_usec, bool create,
                 bool *created);
/*
 * Latency hiding for callers that know a key a few packets ahead: stage 0
 * prefetches the tags and use times of key's window, stage 1 (once those have
 * arrived) the record whose tag matches, or if none does the record
 * keymap_get(..., true, ...) would claim.  Changes nothing.
 */
void keymap_prefetch(const struct keymap *m, const void *key, int stage);
/* Prefetches the record at slot (from keymap_slot_of()).  A hint only. */
void keymap_prefetch_slot(const struct keymap *m, size_t slot);
/* Like keymap_get(..., false, NULL) but does not touch the entry's time. */
void *keymap_peek(const struct keymap *m, const void *key);
void keymap_del(struct keymap *m, const void *key);

/*
 * For callers that remember where a key lives (in a flow, say): the slot of a
 * value keymap_get() or keymap_peek() returned, and the value at that slot if it
 * still holds key (else NULL: look it up again).  Neither touches the entry's time.
 */
size_t keymap_slot_of(const struct keymap *m, const void *val);
void *keymap_peek_slot(const struct keymap *m, size_t slot, const void *key);

/* Iteration by slot: 0 <= i < keymap_slots(m).  NULL for an empty slot. */
size_t keymap_slots(const struct keymap *m);
void *keymap_at(struct keymap *m, size_t i, const void **key, uint64_t *last_usec);
void keymap_del_at(struct keymap *m, size_t i);

size_t keymap_count(const struct keymap *m);
uint64_t keymap_evictions(const struct keymap *m);
size_t keymap_memory(const struct keymap *m);

/*
 * The hash keymap uses (a full 64-bit mixer), for callers that sketch keys.
 * Inline: callers hash keys of a constant length, which the compiler unrolls.
 */
static inline uint64_t keymap_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t keymap_hash(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ULL);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = keymap_mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
        p += 8;
        len -= 8;
    }
    if (len) {
        uint64_t w = 0;
        memcpy(&w, p, len);
        h = keymap_mix64(h ^ w ^ ((uint64_t)len << 56));
    }
    return keymap_mix64(h);
}

#endif
