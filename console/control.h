/*
 * control -- the console's local control socket, which wardctl talks to.
 *
 * A UNIX stream socket (mode 0660; its directory is created if missing).  Each
 * way, one JSON object per line (docs/protocol.md, "Control socket"):
 *   request  {"verb": "events", "args": {"kind": "portscan"}}
 *   reply    {"ok": true, "data": ...}   or   {"ok": false, "error": "..."}
 * A request line is at most CONTROL_MAX_REQUEST bytes; a longer one is answered
 * with an error and the connection closed.  The peer is identified by SO_PEERCRED:
 * its uid is mapped to a user name (getpwuid) and the name to a role through
 * [roles] in the console config (user = viewer|operator|admin).  root and the
 * console's own user are admins unless [roles] names them; any other user not in
 * [roles] has no role and every request is refused (the socket's group decides
 * who may connect at all, [roles] what each may do).
 *
 * Sockets are non-blocking; requests are served one at a time per client, in the
 * console's poll loop, and a client that does not read its replies is dropped
 * when its backlog exceeds one reply.  Console thread only.
 */
#ifndef WARD_CONTROL_H
#define WARD_CONTROL_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console.h"
#include "json.h"
#include "ward.h"

#define CONTROL_MAX_REQUEST (1u << 20) /* bytes of one request line */
#define CONTROL_MAX_CLIENTS 64         /* connections served at once */
#define CONTROL_MAX_VERB 64            /* bytes of a verb */
#define CONTROL_MAX_ROLES 256          /* entries in [roles] */

struct control;

/*
 * Reads [roles] from c->cfg (errors name file and line, in config_error()),
 * creates path's directory if needed, removes a stale socket (refuses with
 * -EADDRINUSE if a console answers on it) and listens.  0 or negative errno.
 */
WARD_MUST_CHECK int control_open(struct console *c, const char *path, struct control **out);
void control_close(struct control *ctl);

/*
 * Fills fds (at most cap) with the descriptors to poll and their events; returns
 * how many.  cap >= CONTROL_MAX_CLIENTS + 1 always suffices.
 */
size_t control_pollfds(struct control *ctl, struct pollfd *fds, size_t cap);
/* Serves what the poll reported for the descriptors control_pollfds() gave. */
void control_ready(struct control *ctl, const struct pollfd *fds, size_t count);

/* The role of a user, as the control socket would grant it. */
enum role control_role(const struct control *ctl, uid_t uid, const char *name);
/* "viewer", "operator", "admin", "none". */
const char *control_role_name(enum role r);
/* Parses a role name; -EINVAL if unknown. */
int control_role_parse(const char *s, enum role *out);

/*
 * Parses and serves one request line as actor: the whole request path without a
 * socket (used by the socket code, the tests and the fuzz target).  Returns the
 * reply object, a new reference; NULL only when out of memory.
 */
json_t *control_request(struct console *c, const struct actor *actor, const char *line,
                        size_t len);

/*
 * Argument getters for verb handlers.  Absent (or JSON null) stores def and
 * returns 0, unless required, when it returns -EINVAL with "missing argument
 * 'name'" in err.  A value of the wrong type returns -EINVAL with "argument 'name'
 * must be a string" (etc.) in err.  Strings are borrowed from req->args.
 */
WARD_MUST_CHECK int control_arg_str(const struct ctl_req *req, const char *key, bool required,
                                    const char *def, const char **out, char *err, size_t errcap);
WARD_MUST_CHECK int control_arg_u64(const struct ctl_req *req, const char *key, bool required,
                                    uint64_t def, uint64_t *out, char *err, size_t errcap);
WARD_MUST_CHECK int control_arg_bool(const struct ctl_req *req, const char *key, bool required,
                                     bool def, bool *out, char *err, size_t errcap);

#endif
