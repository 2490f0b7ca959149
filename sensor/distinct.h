/*
 * distinct -- fixed-size estimates of "how many different things" (ports, hosts,
 * names) by linear counting (Whang et al. 1990) over a caller-owned bitmap.
 *
 * A bitmap of 64*n bits counts exactly while collisions are rare and estimates
 * well up to a few times its bit count; it never allocates.  Header-only.
 *
 * A caller on a hot path keeps the number of set bits beside the bitmap (one more
 * for every distinct_add() that returned true) and estimates from that count:
 * the same figure without counting bits (baseline x86-64 has no popcount
 * instruction, so that is a call per word).
 */
#ifndef WARD_DISTINCT_H
#define WARD_DISTINCT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sets the bit for hash h in words[0..nwords) (nwords a power of two); true if new. */
static inline bool distinct_add(uint64_t *words, size_t nwords, uint64_t h)
{
    size_t bit = (size_t)(h % (nwords * 64));
    uint64_t mask = 1ULL << (bit & 63);
    uint64_t *w = &words[bit >> 6];
    if (*w & mask)
        return false;
    *w |= mask;
    return true;
}

static inline size_t distinct_bits(const uint64_t *words, size_t nwords)
{
    size_t n = 0;
    for (size_t i = 0; i < nwords; i++)
        n += (size_t)__builtin_popcountll(words[i]);
    return n;
}

/* Estimated number of distinct items added to a bitmap of nwords words with set bits set. */
static inline double distinct_estimate_set(size_t nwords, size_t set)
{
    double m = (double)(nwords * 64);
    double zero = m - (double)set;
    if (zero < 1.0)
        zero = 1.0;
    return m * log(m / zero);
}

/* Estimated number of distinct items added. */
static inline double distinct_estimate(const uint64_t *words, size_t nwords)
{
    return distinct_estimate_set(nwords, distinct_bits(words, nwords));
}

/* A cheap mixer for small integers (ports, addresses folded to 64 bits). */
static inline uint64_t distinct_mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    x ^= x >> 33;
    return x;
}

#endif
