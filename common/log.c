/*
 * log -- see log.h.  stderr lines carry an ISO-8601 UTC time and the level.
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static struct {
    const char *ident;   /* program name */
    bool syslog;         /* log to syslog instead of stderr */
    enum log_level level;/* most verbose level shown */
} log_state = {"ward", false, LOG_LEVEL_INFO};

void ward_assert_fail(const char *what, const char *file, int line)
{
    log_err("assertion failed: %s (%s:%d)", what, file, line);
    abort();
}

void log_open(const char *ident, bool use_syslog, enum log_level level)
{
    log_state.ident = ident;
    log_state.syslog = use_syslog;
    log_state.level = level;
    if (use_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_set_level(enum log_level level)
{
    log_state.level = level;
}

enum log_level log_get_level(void)
{
    return log_state.level;
}

int log_level_parse(const char *s, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } names[] = {{"err", LOG_LEVEL_ERR},     {"error", LOG_LEVEL_ERR}, {"warn", LOG_LEVEL_WARN},
                 {"warning", LOG_LEVEL_WARN}, {"info", LOG_LEVEL_INFO}, {"debug", LOG_LEVEL_DEBUG}};
    for (size_t i = 0; i < WARD_ARRAY_LEN(names); i++) {
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

static const char *level_name(enum log_level level)
{
    switch (level) {
    case LOG_LEVEL_ERR:
        return "error";
    case LOG_LEVEL_WARN:
        return "warning";
    case LOG_LEVEL_INFO:
        return "info";
    case LOG_LEVEL_DEBUG:
        return "debug";
    }
    return "?";
}

WARD_PRINTF(2, 0) static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    if (level > log_state.level)
        return;
    if (log_state.syslog) {
        vsyslog((int)level, fmt, ap);
        return;
    }
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[2048];
    vsnprintf(line, sizeof(line), fmt, ap);
    fprintf(stderr, "%s %s[%s]: %s\n", stamp, log_state.ident, level_name(level), line);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

void log_ratelimited(struct log_limit *lim, unsigned burst, enum log_level level,
                     const char *fmt, ...)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec != lim->window_sec) {
        lim->window_sec = ts.tv_sec;
        lim->in_window = 0;
    }
    if (lim->in_window >= burst) {
        lim->dropped++;
        return;
    }
    lim->in_window++;
    if (lim->dropped) {
        log_msg(level, "(%lu similar messages suppressed)", lim->dropped);
        lim->dropped = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

char *log_escape(const void *data, size_t len, char *out, size_t cap)
{
    const unsigned char *p = data;
    size_t o = 0;
    if (cap == 0)
        return out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            if (o + 1 >= cap)
                break;
            out[o++] = (char)c;
        } else {
            if (o + 4 >= cap)
                break;
            static const char hex[] = "0123456789abcdef";
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}
