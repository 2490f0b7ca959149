/*
 * contain_exec -- the exec containment backend: an operator's script does the
 * work on switches, firewalls or NAC products.
 *
 * The script is run directly (no shell) as `SCRIPT ACTION ADDRESS MAC` with
 * ACTION isolate or release (MAC "-" when unknown) and WARD_TTL (seconds left)
 * in its environment for isolate.  setup() runs `SCRIPT setup - -`.  Exit status
 * 0 is success; anything else, or running past exec_timeout (the script is then
 * killed), is a failure reported with the status.  Standard output and error go
 * to the sensor's.  The capture thread waits for the script: keep it quick.
 */
#include "contain.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

struct contain_exec {
    char *script;          /* path, checked executable at open */
    uint64_t timeout_usec; /* longest wait for one run */
};

static int run(struct contain_exec *x, const char *action, const char *addr, const char *mac,
               uint64_t ttl_sec, char *err, size_t errcap)
{
    char ttl[32];
    snprintf(ttl, sizeof(ttl), "%llu", (unsigned long long)ttl_sec);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errcap, "exec: fork: %s", strerror(errno));
        return -errno;
    }
    if (pid == 0) {
        char *argv[] = {x->script, (char *)(uintptr_t)action, (char *)(uintptr_t)addr,
                        (char *)(uintptr_t)(mac && mac[0] ? mac : "-"), NULL};
        setenv("WARD_TTL", ttl, 1);
        execv(x->script, argv);
        _exit(127);
    }
    uint64_t deadline = clock_mono_usec() + x->timeout_usec;
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            snprintf(err, errcap, "exec: waitpid: %s", strerror(errno));
            return -EIO;
        }
        if (clock_mono_usec() > deadline) {
            kill(pid, SIGKILL);
            (void)waitpid(pid, &status, 0);
            snprintf(err, errcap, "exec: %s %s %s: killed after %llu ms", x->script, action,
                     addr, (unsigned long long)(x->timeout_usec / USEC_PER_MSEC));
            return -ETIMEDOUT;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status))
        snprintf(err, errcap, "exec: %s %s %s: exit status %d%s", x->script, action, addr,
                 WEXITSTATUS(status), WEXITSTATUS(status) == 127 ? " (could not run)" : "");
    else
        snprintf(err, errcap, "exec: %s %s %s: killed by signal %d", x->script, action, addr,
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return -EIO;
}

static int exec_setup(void *b, char *err, size_t errcap)
{
    return run(b, "setup", "-", "-", 0, err, errcap);
}

static int exec_isolate(void *b, const struct addr *a, const char *mac, uint64_t ttl_sec,
                        char *err, size_t errcap)
{
    char host[ADDR_STR_LEN];
    return run(b, "isolate", addr_format(a, host, sizeof(host)), mac, ttl_sec, err, errcap);
}

static int exec_release(void *b, const struct addr *a, const char *mac, char *err, size_t errcap)
{
    char host[ADDR_STR_LEN];
    return run(b, "release", addr_format(a, host, sizeof(host)), mac, 0, err, errcap);
}

static void exec_close(void *b)
{
    struct contain_exec *x = b;
    if (!x)
        return;
    free(x->script);
    free(x);
}

const struct contain_ops contain_exec_ops = {
    .name = "exec",
    .setup = exec_setup,
    .isolate = exec_isolate,
    .release = exec_release,
    .close = exec_close,
};

int contain_exec_open(const char *script, uint64_t timeout_usec, void **out)
{
    *out = NULL;
    if (!script || script[0] != '/' || access(script, X_OK) != 0) {
        log_err("contain: exec script '%s' must be an absolute path to an executable%s%s",
                script ? script : "", errno ? ": " : "", errno ? strerror(errno) : "");
        return -EINVAL;
    }
    struct contain_exec *x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->script = strdup(script);
    x->timeout_usec = timeout_usec ? timeout_usec : 10 * USEC_PER_SEC;
    if (!x->script) {
        exec_close(x);
        return -ENOMEM;
    }
    *out = x;
    return 0;
}
