/*
 * log -- levelled logging to stderr (foreground) or syslog (daemon).
 *
 * Messages read "module: what happened: why".  Wire data must be escaped by the
 * caller (log_escape()).  The packet path uses only log_ratelimited().  Not
 * thread-safe for reconfiguration; log_open() once at start.
 */
#ifndef WARD_LOG_H
#define WARD_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "ward.h"

enum log_level { LOG_LEVEL_ERR = 3, LOG_LEVEL_WARN = 4, LOG_LEVEL_INFO = 6, LOG_LEVEL_DEBUG = 7 };

/* ident names the program in syslog; use_syslog false logs to stderr. */
void log_open(const char *ident, bool use_syslog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "err", "warn", "info", "debug"; returns -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) WARD_PRINTF(2, 3);
#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

/*
 * At most `burst` messages per `key` (a static counter the caller owns) per
 * second of wall clock; the rest are counted and summarised in the next message.
 */
struct log_limit {
    long window_sec;       /* start of the current one-second window */
    unsigned in_window;    /* messages logged in it */
    unsigned long dropped; /* messages suppressed since the last one logged */
};
void log_ratelimited(struct log_limit *lim, unsigned burst, enum log_level level,
                     const char *fmt, ...) WARD_PRINTF(4, 5);

/*
 * Copies untrusted bytes into out as printable ASCII (\xNN for the rest),
 * truncating to cap-1; always NUL-terminates.  Returns out.
 */
char *log_escape(const void *data, size_t len, char *out, size_t cap);

#endif
