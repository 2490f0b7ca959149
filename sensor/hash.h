/*
 * hash -- the sensor's table hash: a full 64-bit mixer over small fixed keys.
 *
 * The flow and host tables index by a hash of addresses and ports that an
 * attacker chooses, so the hash mixes every input bit into every output bit
 * (the murmur3/splitmix64 finaliser over 64-bit words, keyed by a per-table
 * seed) rather than XOR-folding fields, which would put whole scans into one
 * bucket.  Header-only; no state.
 */
#ifndef WARD_HASH_H
#define WARD_HASH_H

#include <stdint.h>
#include <string.h>

/* splitmix64's finaliser: a bijection on 64 bits with full avalanche. */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* One word into a running state (order matters, as it should for a key). */
static inline uint64_t hash_step(uint64_t h, uint64_t word)
{
    return hash_mix64(h ^ word) + 0x9e3779b97f4a7c15ULL;
}

/* Reads 8 bytes as a native-order word (memcpy: no alignment assumptions). */
static inline uint64_t hash_word(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

#endif
