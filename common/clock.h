/*
 * clock -- the time source, injectable for tests.
 *
 * Daemons read wall and monotonic time through here so that unit tests can move
 * time by hand (clock_fake_set/advance) instead of sleeping.  Packet-time logic in
 * the sensor never uses this: it uses the packet's own timestamp.
 */
#ifndef WARD_CLOCK_H
#define WARD_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL

/* Microseconds since the Unix epoch (or the fake clock's value). */
uint64_t clock_now_usec(void);
/* Monotonic microseconds (or the fake clock's value). */
uint64_t clock_mono_usec(void);

/* Replace real time by a fake one that moves only when told. */
void clock_fake_set(uint64_t usec);
void clock_fake_advance(uint64_t usec);
void clock_fake_off(void);
bool clock_is_fake(void);

/*
 * Formats usec since the epoch as "2026-11-21T06:49:22.123456Z" (UTC) into out
 * (cap >= 32).  Returns out.
 */
char *clock_format_iso(uint64_t usec, char *out, unsigned cap);
/*
 * Parses an ISO-8601 UTC time ("2026-11-21T06:49:22Z", optional fraction, or a
 * date alone), or a relative one ("-15m", "-2h", "-1d"), into usec since the epoch.
 * Returns 0 or -EINVAL.
 */
int clock_parse_time(const char *s, uint64_t *out);
/* Parses a duration "30", "30s", "15m", "2h", "1d", "500ms" into usec; 0 or -EINVAL. */
int clock_parse_duration(const char *s, uint64_t *out_usec);

#endif
