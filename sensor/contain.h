/*
 * contain -- the sensor's enforcement of isolate and release commands.
 *
 * The console decides; the sensor carries out Command.isolate / Command.release
 * through one backend chosen in [contain] backend:
 *   nft   a sensor inline on a segment gateway: a `ward` table (inet) whose sets
 *         hold isolated addresses; traffic from and to them is dropped in forward,
 *         input and output except to the management addresses (contain_nft.c);
 *   exec  an operator script called as `SCRIPT isolate|release ADDRESS MAC` for
 *         switches, firewalls and NAC products (contain_exec.c);
 *   none  record and report only.
 * Safety rails: the never_isolate list is refused here too, every isolation has
 * a time limit (default_ttl, at most max_ttl) after which the sensor releases it,
 * dry-run commands touch nothing, and drill commands never reach the real
 * backend unless they carry allow_real.  The set of isolations is written to
 * state_file after every change and re-applied at start (entries whose time ran
 * out meanwhile are released), so a restart neither loses nor prolongs one.
 *
 * Every command is answered by a CommandResult through the sink.  After an
 * isolation, a tap on the evidence ring watches the host: traffic that still
 * gets through (to the host from a non-management address; for the exec and
 * none backends, any traffic of the host) is reported as an isolation_leak
 * event.  TTLs run on the wall clock (common/clock.h); leaks on packet time.
 * Capture thread only.
 */
#ifndef WARD_CONTAIN_H
#define WARD_CONTAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "evring.h"
#include "sink.h"
#include "ward.h"
#include "ward.pb-c.h"

#define CONTAIN_MAX_HOSTS 1024 /* isolations held at once */
#define CONTAIN_MAC_LEN 18     /* "aa:bb:cc:dd:ee:ff" + NUL */
#define CONTAIN_ERR_LEN 256    /* backend error messages */

/* A backend: contain_nft.c, contain_exec.c, or none (no ops). */
struct contain_ops {
    const char *name; /* "nft", "exec" */
    /* Makes the enforcement point ready and empty (idempotent).  0 or -errno, err set. */
    int (*setup)(void *b, char *err, size_t errcap);
    /* Blocks a (ttl_sec: remaining time, a backstop for the backend if it can expire). */
    int (*isolate)(void *b, const struct addr *a, const char *mac, uint64_t ttl_sec, char *err,
                   size_t errcap);
    /* Unblocks a; releasing what is not blocked succeeds. */
    int (*release)(void *b, const struct addr *a, const char *mac, char *err, size_t errcap);
    void (*close)(void *b);
};

/* [contain] settings. */
struct contain_cfg {
    const char *backend;         /* backend = none | nft | exec */
    struct cidr_set management;  /* management = CIDRs always reachable by isolated hosts */
    struct cidr_set never;       /* never_isolate = CIDRs the sensor refuses to isolate */
    uint64_t default_ttl_usec;   /* default_ttl = 1h */
    uint64_t max_ttl_usec;       /* max_ttl = 24h */
    uint64_t leak_grace_usec;    /* leak_grace = 2s: traffic this soon after isolating is not a leak */
    const char *state_file;      /* state_file = "": where isolations persist ("" keeps none) */
    const char *exec_path;       /* exec = script for the exec backend */
    uint64_t exec_timeout_usec;  /* exec_timeout = 10s */
    const char *nft_table;       /* nft_table = ward */
};

/* Reads [contain].  0, or -EINVAL with the message in config_error(cfg). */
WARD_MUST_CHECK int contain_config(struct config *cfg, struct contain_cfg *out);
/* Frees the lists of a contain_cfg. */
void contain_config_fini(struct contain_cfg *cfg);

struct contain;

/*
 * Opens the backend named in cfg (copied, lists included, so the caller may
 * contain_config_fini() it at once; the strings are borrowed from the config and
 * must outlive the contain), prepares it, loads state_file and re-applies what
 * has not expired.  Results and leak events go to out.  Returns 0, or a negative
 * errno after logging why (the backend's own message).
 */
WARD_MUST_CHECK int contain_open(const struct contain_cfg *cfg, const struct sink *out,
                                 struct contain **res);
/* Same with a given backend (tests; ops NULL means none).  Takes b. */
WARD_MUST_CHECK int contain_open_with(const struct contain_cfg *cfg, const struct sink *out,
                                      const struct contain_ops *ops, void *b,
                                      struct contain **res);
/* Leaves the backend as it is (isolations stay in force across a restart). */
void contain_close(struct contain *c);

/* Watches ring for leaks (registers a tap).  0 or -ENOSPC. */
WARD_MUST_CHECK int contain_watch(struct contain *c, struct evring *ring);

/*
 * Carries out an isolate or release command and answers it with a CommandResult.
 * Returns 0 when done, -EINVAL for a malformed command, -EPERM when refused by
 * a safety rail, -ETIME when expired, -ENOTSUP for another kind, or the
 * backend's error.
 */
int contain_command(struct contain *c, const Ward__Command *cmd);

/* Releases isolations whose time ran out and reports leaks.  Call about once a second. */
void contain_tick(struct contain *c);

/* Hosts isolated now (for heartbeats). */
size_t contain_count(const struct contain *c);
/* True if a is isolated now. */
bool contain_is_isolated(const struct contain *c, const struct addr *a);

/* Backends. */
extern const struct contain_ops contain_nft_ops;
/* A libnftables context for table (NULL: "ward") allowing management.  0 or -errno, logged. */
WARD_MUST_CHECK int contain_nft_open(const char *table, const struct cidr_set *management,
                                     bool dry_run, void **out);
/* The ruleset text setup() loads (tests, and `nft -f` by hand). */
WARD_MUST_CHECK int contain_nft_ruleset(const char *table, const struct cidr_set *management,
                                        char *out, size_t cap);

extern const struct contain_ops contain_exec_ops;
/* The exec backend for script (checked executable).  0 or -errno, logged. */
WARD_MUST_CHECK int contain_exec_open(const char *script, uint64_t timeout_usec, void **out);

#endif
