/*
 * sla -- see sla.h.  The notifier gets its standard input from one end of a
 * socketpair rather than a pipe, so a hook that exits without reading cannot
 * raise SIGPIPE in the console (send() takes MSG_NOSIGNAL).  It is started with
 * posix_spawn: the console has ZeroMQ threads, and nothing but exec may follow a
 * fork in a threaded program.
 */
#include "sla.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

extern char **environ;

#define MIN_USEC (60 * USEC_PER_SEC)
#define HOUR_USEC (60 * MIN_USEC)

static const char *const clock_names[SLA_CLOCK_COUNT] = {"director", "leadership", "handling"};
static const char *const stage_names[SLA_STAGE_COUNT] = {"warning", "overdue"};
static const char *const roman[5] = {"", "i", "ii", "iii", "iv"};

const char *sla_clock_name(enum sla_clock clock)
{
    return (unsigned)clock < SLA_CLOCK_COUNT ? clock_names[clock] : "?";
}

int sla_clock_parse(const char *s, enum sla_clock *out)
{
    for (int i = 0; s && i < SLA_CLOCK_COUNT; i++) {
        if (strcmp(s, clock_names[i]) == 0) {
            *out = (enum sla_clock)i;
            return 0;
        }
    }
    return -EINVAL;
}

const char *sla_stage_name(enum sla_stage stage)
{
    return (unsigned)stage < SLA_STAGE_COUNT ? stage_names[stage] : "?";
}

const char *sla_state_name(enum sla_state state)
{
    switch (state) {
    case SLA_STATE_NONE:
        return "none";
    case SLA_STATE_RUNNING:
        return "running";
    case SLA_STATE_WARNING:
        return "warning";
    case SLA_STATE_OVERDUE:
        return "overdue";
    case SLA_STATE_MET:
        return "met";
    case SLA_STATE_MET_LATE:
        return "met late";
    case SLA_STATE_MISSED:
        return "missed";
    }
    return "?";
}

void sla_config_default(struct sla_config *cfg)
{
    /* The hospital's table: report to IT director, to leadership, start of handling. */
    static const int64_t table[5][SLA_CLOCK_COUNT] = {
        {SLA_NO_CLOCK, SLA_NO_CLOCK, SLA_NO_CLOCK},
        {15 * MIN_USEC, 0, 1 * HOUR_USEC},
        {15 * MIN_USEC, 30 * MIN_USEC, 2 * HOUR_USEC},
        {1 * HOUR_USEC, 2 * HOUR_USEC, 4 * HOUR_USEC},
        {SLA_END_OF_DAY, SLA_NO_CLOCK, 24 * HOUR_USEC},
    };
    memset(cfg, 0, sizeof(*cfg));
    memcpy(cfg->deadline_usec, table, sizeof(table));
    cfg->warn_before_usec = 5 * MIN_USEC;
    cfg->notify_timeout_usec = 10 * USEC_PER_SEC;
}

int sla_config_load(struct sla_config *out, struct config *cfg)
{
    sla_config_default(out);
    if (!cfg)
        return 0;
    for (int l = 1; l <= 4; l++) {
        for (int k = 0; k < SLA_CLOCK_COUNT; k++) {
            char key[32];
            snprintf(key, sizeof(key), "%s_%s", roman[l], clock_names[k]);
            if (!config_has(cfg, "deadlines", key))
                continue;
            const char *v = config_get_str(cfg, "deadlines", key, "");
            uint64_t usec;
            if (strcasecmp(v, "none") == 0)
                out->deadline_usec[l][k] = SLA_NO_CLOCK;
            else if (strcasecmp(v, "eod") == 0)
                out->deadline_usec[l][k] = SLA_END_OF_DAY;
            else if (clock_parse_duration(v, &usec) == 0 && usec < (uint64_t)INT64_MAX)
                out->deadline_usec[l][k] = (int64_t)usec;
            else
                return config_fail(cfg, "deadlines", key,
                                   "'%s' is not a duration (15m, 2h), 0, eod or none", v);
        }
    }
    if (config_get_duration(cfg, "deadlines", "warn_before", out->warn_before_usec,
                            &out->warn_before_usec) < 0)
        return -EINVAL;
    const char *cmd = config_get_str(cfg, "notify", "command", "");
    if (strlen(cmd) >= sizeof(out->notify_cmd))
        return config_fail(cfg, "notify", "command", "path longer than %zu bytes",
                           sizeof(out->notify_cmd) - 1);
    if (cmd[0] && cmd[0] != '/')
        return config_fail(cfg, "notify", "command", "'%s' must be an absolute path", cmd);
    snprintf(out->notify_cmd, sizeof(out->notify_cmd), "%s", cmd);
    if (config_get_duration(cfg, "notify", "timeout", out->notify_timeout_usec,
                            &out->notify_timeout_usec) < 0)
        return -EINVAL;
    return 0;
}

/* The end of the local calendar day that holds usec. */
static uint64_t end_of_day(uint64_t usec)
{
    time_t t = (time_t)(usec / USEC_PER_SEC);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return usec + 24 * HOUR_USEC;
    tm.tm_hour = 23;
    tm.tm_min = 59;
    tm.tm_sec = 59;
    tm.tm_isdst = -1;
    time_t e = mktime(&tm);
    if (e == (time_t)-1 || e < t)
        return usec + 24 * HOUR_USEC;
    return (uint64_t)e * USEC_PER_SEC + (USEC_PER_SEC - 1);
}

void sla_evaluate(const struct sla_config *cfg, int level, enum sla_clock clock,
                  uint64_t detected_usec, uint64_t met_usec, uint64_t now_usec, bool closed,
                  struct sla_status *out)
{
    memset(out, 0, sizeof(*out));
    if (level < 1 || level > 4 || (unsigned)clock >= SLA_CLOCK_COUNT)
        return;
    int64_t setting = cfg->deadline_usec[level][clock];
    if (setting == SLA_NO_CLOCK)
        return;
    out->deadline_usec = setting == SLA_END_OF_DAY ? end_of_day(detected_usec)
                                                   : detected_usec + (uint64_t)setting;
    out->met_usec = met_usec;
    uint64_t at = met_usec ? met_usec : now_usec;
    out->left_usec = (int64_t)out->deadline_usec - (int64_t)at;
    if (met_usec)
        out->state = met_usec <= out->deadline_usec ? SLA_STATE_MET : SLA_STATE_MET_LATE;
    else if (closed)
        out->state = SLA_STATE_MISSED;
    else if (now_usec >= out->deadline_usec)
        out->state = SLA_STATE_OVERDUE;
    else if (cfg->warn_before_usec && now_usec + cfg->warn_before_usec >= out->deadline_usec)
        out->state = SLA_STATE_WARNING;
    else
        out->state = SLA_STATE_RUNNING;
}

static char *format_span(uint64_t usec, char *out, size_t cap)
{
    uint64_t s = usec / USEC_PER_SEC;
    if (s >= 86400)
        snprintf(out, cap, "%llud%02lluh", (unsigned long long)(s / 86400),
                 (unsigned long long)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(out, cap, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s % 3600 / 60));
    else if (s >= 60)
        snprintf(out, cap, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else
        snprintf(out, cap, "%llus", (unsigned long long)s);
    return out;
}

char *sla_format(const struct sla_status *s, char *out, size_t cap)
{
    char span[24];
    switch (s->state) {
    case SLA_STATE_NONE:
        snprintf(out, cap, "-");
        break;
    case SLA_STATE_RUNNING:
    case SLA_STATE_WARNING:
        snprintf(out, cap, "%s left", format_span((uint64_t)s->left_usec, span, sizeof(span)));
        break;
    case SLA_STATE_OVERDUE:
        snprintf(out, cap, "%s over",
                 format_span((uint64_t)(-s->left_usec), span, sizeof(span)));
        break;
    case SLA_STATE_MET:
        snprintf(out, cap, "met");
        break;
    case SLA_STATE_MET_LATE:
        snprintf(out, cap, "met %s late",
                 format_span((uint64_t)(-s->left_usec), span, sizeof(span)));
        break;
    case SLA_STATE_MISSED:
        snprintf(out, cap, "missed");
        break;
    }
    return out;
}

char *sla_format_setting(int64_t setting, char *out, size_t cap)
{
    if (setting == SLA_NO_CLOCK)
        snprintf(out, cap, "none");
    else if (setting == SLA_END_OF_DAY)
        snprintf(out, cap, "end of day");
    else if (setting == 0)
        snprintf(out, cap, "at once");
    else
        format_span((uint64_t)setting, out, cap);
    return out;
}

static uint64_t mono_usec(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * USEC_PER_SEC + (uint64_t)t.tv_nsec / 1000;
}

int sla_notify_poll(const struct sla_config *cfg, struct sla_run *run, int *exit_status)
{
    int st;
    *exit_status = -1;
    pid_t r = waitpid(run->pid, &st, WNOHANG);
    if (r == run->pid) {
        *exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (*exit_status != 0)
            log_warn("sla: notifier %s exited with status %d", cfg->notify_cmd, *exit_status);
        return 0;
    }
    if (r < 0 && errno != EINTR) {
        int e = errno;
        log_err("sla: waiting for notifier %s: %s", cfg->notify_cmd, strerror(e));
        return -e;
    }
    if (mono_usec() - run->started_usec < cfg->notify_timeout_usec)
        return -EAGAIN;
    kill(run->pid, SIGKILL);
    while (waitpid(run->pid, &st, 0) < 0 && errno == EINTR) {
    }
    log_err("sla: notifier %s ran longer than %llu ms and was killed", cfg->notify_cmd,
            (unsigned long long)(cfg->notify_timeout_usec / USEC_PER_MSEC));
    return -ETIMEDOUT;
}

int sla_notify_start(const struct sla_config *cfg, const json_t *payload, struct sla_run *run)
{
    if (!cfg->notify_cmd[0])
        return -ENOENT;
    char *text = json_dumps(payload, JSON_COMPACT);
    if (!text)
        return -ENOMEM;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
        int e = errno;
        log_err("sla: notifier %s: socketpair: %s", cfg->notify_cmd, strerror(e));
        free(text);
        return -e;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], STDIN_FILENO);
    char *argv[] = {(char *)(uintptr_t)cfg->notify_cmd, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, cfg->notify_cmd, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    if (rc != 0) {
        log_err("sla: cannot run notifier %s: %s", cfg->notify_cmd, strerror(rc));
        close(sv[0]);
        free(text);
        return -rc;
    }
    run->pid = pid;
    run->started_usec = mono_usec();
    /* The notice is small: it fits in the socket's buffer, so this does not wait
       for the hook; a hook that does not read it just loses it. */
    size_t len = strlen(text);
    text[len] = '\n';
    size_t off = 0;
    while (off < len + 1) {
        ssize_t w = send(sv[0], text + off, len + 1 - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            log_warn("sla: notifier %s did not read the notice: %s", cfg->notify_cmd,
                     strerror(errno));
            break;
        }
        off += (size_t)w;
    }
    close(sv[0]);
    free(text);
    return 0;
}

int sla_notify_run(const struct sla_config *cfg, const json_t *payload, int *exit_status)
{
    struct sla_run run;
    *exit_status = -1;
    int rc = sla_notify_start(cfg, payload, &run);
    while (rc == 0 && (rc = sla_notify_poll(cfg, &run, exit_status)) == -EAGAIN) {
        struct timespec nap = {0, 5 * 1000 * 1000};
        nanosleep(&nap, NULL);
        rc = 0;
    }
    return rc;
}
