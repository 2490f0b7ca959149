/*
 * clock -- see clock.h.
 */
#define _GNU_SOURCE /* timegm */
#include "clock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
    bool fake;     /* the fake clock is in force */
    uint64_t usec; /* its value */
} clock_state;

static uint64_t ts_usec(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t clock_now_usec(void)
{
    return clock_state.fake ? clock_state.usec : ts_usec(CLOCK_REALTIME);
}

uint64_t clock_mono_usec(void)
{
    return clock_state.fake ? clock_state.usec : ts_usec(CLOCK_MONOTONIC);
}

void clock_fake_set(uint64_t usec)
{
    clock_state.fake = true;
    clock_state.usec = usec;
}

void clock_fake_advance(uint64_t usec)
{
    clock_state.usec += usec;
}

void clock_fake_off(void)
{
    clock_state.fake = false;
}

bool clock_is_fake(void)
{
    return clock_state.fake;
}

char *clock_format_iso(uint64_t usec, char *out, unsigned cap)
{
    time_t sec = (time_t)(usec / USEC_PER_SEC);
    struct tm tm;
    char base[24];
    gmtime_r(&sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%06uZ", base, (unsigned)(usec % USEC_PER_SEC));
    return out;
}

int clock_parse_duration(const char *s, uint64_t *out_usec)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0 || v > 1e12)
        return -EINVAL;
    double mul;
    if (*end == '\0' || strcmp(end, "s") == 0)
        mul = 1e6;
    else if (strcmp(end, "ms") == 0)
        mul = 1e3;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        mul = 60e6;
    else if (strcmp(end, "h") == 0)
        mul = 3600e6;
    else if (strcmp(end, "d") == 0)
        mul = 86400e6;
    else
        return -EINVAL;
    /* 2^64 is exact as a double; anything at or past it does not fit. */
    if (v * mul >= 18446744073709551616.0)
        return -EINVAL;
    *out_usec = (uint64_t)(v * mul);
    return 0;
}

int clock_parse_time(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -EINVAL;
    if (s[0] == '-') {
        uint64_t d;
        if (clock_parse_duration(s + 1, &d) < 0)
            return -EINVAL;
        uint64_t now = clock_now_usec();
        *out = d > now ? 0 : now - d;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *rest = strptime(s, "%Y-%m-%d", &tm);
    if (!rest)
        return -EINVAL;
    if (*rest == 'T' || *rest == ' ') {
        rest = strptime(rest + 1, "%H:%M:%S", &tm);
        if (!rest)
            return -EINVAL;
    }
    uint64_t frac = 0;
    if (*rest == '.') {
        rest++;
        unsigned digits = 0;
        while (*rest >= '0' && *rest <= '9') {
            if (digits < 6) {
                frac = frac * 10 + (uint64_t)(*rest - '0');
                digits++;
            }
            rest++;
        }
        while (digits++ < 6)
            frac *= 10;
    }
    if (*rest == 'Z')
        rest++;
    if (*rest != '\0')
        return -EINVAL;
    time_t t = timegm(&tm);
    if (t < 0)
        return -EINVAL;
    *out = (uint64_t)t * USEC_PER_SEC + frac;
    return 0;
}
