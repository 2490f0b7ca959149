/*
 * control -- see control.h.  The listening socket, the client connections with
 * their line buffers, peer credentials and roles, and the dispatch of requests
 * over every console module's command table.
 */
#define _GNU_SOURCE /* struct ucred, accept4 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "log.h"
#include "modules.h"

#define CONTROL_READ_CHUNK (64u << 10)

struct control_role_entry {
    char name[64];  /* user name from [roles] */
    enum role role; /* its role */
};

struct control_client {
    int fd;             /* connection, -1 when the slot is free */
    struct actor actor; /* who is on the other end */
    char *in;           /* bytes received, not yet served */
    size_t in_len;      /* bytes in in */
    size_t in_cap;      /* allocated */
    char *out;          /* reply bytes not yet written */
    size_t out_len;     /* bytes in out */
    size_t out_off;     /* bytes of out already written */
    bool eof;           /* the peer will send no more */
    bool closing;       /* close once out is written */
};

struct control {
    struct console *c;                                  /* the console served */
    int lfd;                                            /* listening socket */
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* socket path */
    uid_t self_uid;                                     /* the console's own user */
    struct control_role_entry roles[CONTROL_MAX_ROLES]; /* [roles] */
    size_t role_count;                                  /* entries in roles */
    struct control_client clients[CONTROL_MAX_CLIENTS]; /* connections */
};

/* ---------------------------------------------------------------- roles */

static const char *const role_names[] = {"none", "viewer", "operator", "admin"};

const char *control_role_name(enum role r)
{
    return (unsigned)r < WARD_ARRAY_LEN(role_names) ? role_names[r] : "none";
}

int control_role_parse(const char *s, enum role *out)
{
    for (size_t i = 0; i < WARD_ARRAY_LEN(role_names); i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum role)i;
            return 0;
        }
    }
    return -EINVAL;
}

struct roles_load {
    struct control *ctl;  /* being filled */
    struct config *cfg;   /* for messages */
};

static int on_role(void *arg, const char *key, const char *value, unsigned line)
{
    struct roles_load *rl = arg;
    struct control *ctl = rl->ctl;
    enum role r;
    (void)line;
    if (control_role_parse(value, &r) < 0)
        return config_fail(rl->cfg, "roles", key, "'%s' is not viewer, operator, admin or none",
                           value);
    if (strlen(key) >= sizeof(ctl->roles[0].name))
        return config_fail(rl->cfg, "roles", key, "user name longer than %zu bytes",
                           sizeof(ctl->roles[0].name) - 1);
    if (ctl->role_count >= CONTROL_MAX_ROLES)
        return config_fail(rl->cfg, "roles", key, "more than %d users", CONTROL_MAX_ROLES);
    struct control_role_entry *e = &ctl->roles[ctl->role_count++];
    snprintf(e->name, sizeof(e->name), "%s", key);
    e->role = r;
    return 0;
}

enum role control_role(const struct control *ctl, uid_t uid, const char *name)
{
    for (size_t i = 0; i < ctl->role_count; i++) {
        if (strcmp(ctl->roles[i].name, name) == 0)
            return ctl->roles[i].role;
    }
    if (uid == 0 || uid == ctl->self_uid)
        return ROLE_ADMIN;
    return ROLE_NONE;
}

static void actor_of(const struct control *ctl, uid_t uid, struct actor *a)
{
    struct passwd pw, *res = NULL;
    char buf[4096];
    memset(a, 0, sizeof(*a));
    a->uid = uid;
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res && res->pw_name)
        snprintf(a->name, sizeof(a->name), "%s", res->pw_name);
    else
        snprintf(a->name, sizeof(a->name), "uid:%u", (unsigned)uid);
    a->role = control_role(ctl, uid, a->name);
}

/* ---------------------------------------------------------------- arguments */

static const json_t *arg_get(const struct ctl_req *req, const char *key)
{
    const json_t *v = req->args ? json_object_get(req->args, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

static int arg_missing(const char *key, char *err, size_t errcap)
{
    snprintf(err, errcap, "missing argument '%s'", key);
    return -EINVAL;
}

int control_arg_str(const struct ctl_req *req, const char *key, bool required, const char *def,
                    const char **out, char *err, size_t errcap)
{
    const json_t *v = arg_get(req, key);
    *out = def;
    if (!v)
        return required ? arg_missing(key, err, errcap) : 0;
    if (!json_is_string(v)) {
        snprintf(err, errcap, "argument '%s' must be a string", key);
        return -EINVAL;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, errcap, "argument '%s' holds a NUL byte", key);
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

int control_arg_u64(const struct ctl_req *req, const char *key, bool required, uint64_t def,
                    uint64_t *out, char *err, size_t errcap)
{
    const json_t *v = arg_get(req, key);
    *out = def;
    if (!v)
        return required ? arg_missing(key, err, errcap) : 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        snprintf(err, errcap, "argument '%s' must be a non-negative integer", key);
        return -EINVAL;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int control_arg_bool(const struct ctl_req *req, const char *key, bool required, bool def,
                     bool *out, char *err, size_t errcap)
{
    const json_t *v = arg_get(req, key);
    *out = def;
    if (!v)
        return required ? arg_missing(key, err, errcap) : 0;
    if (!json_is_boolean(v)) {
        snprintf(err, errcap, "argument '%s' must be true or false", key);
        return -EINVAL;
    }
    *out = json_is_true(v);
    return 0;
}

/* ---------------------------------------------------------------- dispatch */

static json_t *reply_error(const char *msg)
{
    json_t *r = json_object();
    if (!r)
        return NULL;
    json_object_set_new(r, "ok", json_false());
    json_object_set_new(r, "error", json_string(msg));
    if (!json_object_get(r, "error")) /* not UTF-8: jansson refused the text */
        json_object_set_new(r, "error", json_string("error (message not printable)"));
    return r;
}

static json_t *reply_ok(json_t *data)
{
    json_t *r = json_object();
    if (!r) {
        json_decref(data);
        return NULL;
    }
    json_object_set_new(r, "ok", json_true());
    json_object_set_new(r, "data", data ? data : json_null());
    return r;
}

static const struct ctl_cmd *find_cmd(const struct console *c, const char *verb)
{
    const struct console_module *const *t = modules_table(c);
    for (size_t i = 0; t[i]; i++) {
        for (const struct ctl_cmd *cmd = t[i]->commands; cmd && cmd->verb; cmd++) {
            if (strcmp(cmd->verb, verb) == 0)
                return cmd;
        }
    }
    return NULL;
}

/* The built-in "verbs" verb: what this console serves, and to whom. */
static json_t *list_verbs(const struct console *c, const struct actor *a)
{
    json_t *arr = json_array();
    const struct console_module *const *t = modules_table(c);
    for (size_t i = 0; arr && t[i]; i++) {
        for (const struct ctl_cmd *cmd = t[i]->commands; cmd && cmd->verb; cmd++) {
            json_t *v = json_object();
            if (!v)
                break;
            json_object_set_new(v, "verb", json_string(cmd->verb));
            json_object_set_new(v, "module", json_string(t[i]->name));
            json_object_set_new(v, "role", json_string(control_role_name(cmd->min_role)));
            json_object_set_new(v, "allowed", json_boolean(a->role >= cmd->min_role));
            json_array_append_new(arr, v);
        }
    }
    return arr;
}

json_t *control_request(struct console *c, const struct actor *actor, const char *line,
                        size_t len)
{
    char err[512];
    if (len > CONTROL_MAX_REQUEST) {
        snprintf(err, sizeof(err), "request longer than %u bytes", CONTROL_MAX_REQUEST);
        return reply_error(err);
    }
    json_error_t jerr;
    json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!req) {
        snprintf(err, sizeof(err), "malformed request: %s at column %d", jerr.text,
                 jerr.column);
        return reply_error(err);
    }
    json_t *reply = NULL;
    const char *key;
    json_t *val;
    if (!json_is_object(req)) {
        reply = reply_error("malformed request: not a JSON object");
        goto out;
    }
    json_object_foreach(req, key, val) {
        if (strcmp(key, "verb") != 0 && strcmp(key, "args") != 0) {
            char k[64];
            snprintf(err, sizeof(err), "malformed request: unknown field '%s'",
                     log_escape(key, strlen(key), k, sizeof(k)));
            reply = reply_error(err);
            goto out;
        }
    }
    const json_t *jverb = json_object_get(req, "verb");
    const json_t *args = json_object_get(req, "args");
    if (!json_is_string(jverb) || json_string_length(jverb) == 0 ||
        json_string_length(jverb) > CONTROL_MAX_VERB ||
        strlen(json_string_value(jverb)) != json_string_length(jverb)) {
        reply = reply_error("malformed request: 'verb' must be a command name");
        goto out;
    }
    if (args && !json_is_null(args) && !json_is_object(args)) {
        reply = reply_error("malformed request: 'args' must be an object");
        goto out;
    }
    json_t *empty = NULL;
    if (!json_is_object(args)) {
        empty = json_object();
        args = empty;
    }
    const char *verb = json_string_value(jverb);
    if (actor->role == ROLE_NONE) {
        snprintf(err, sizeof(err),
                 "user %s (uid %u) has no role on this console; an admin can add '%s = viewer'"
                 " under [roles] in the console's configuration",
                 actor->name, (unsigned)actor->uid, actor->name);
        reply = reply_error(err);
        goto out_args;
    }
    if (strcmp(verb, "verbs") == 0) {
        reply = reply_ok(list_verbs(c, actor));
        goto out_args;
    }
    const struct ctl_cmd *cmd = find_cmd(c, verb);
    if (!cmd) {
        char v[CONTROL_MAX_VERB * 4 + 1];
        snprintf(err, sizeof(err), "unknown command '%s'",
                 log_escape(verb, strlen(verb), v, sizeof(v)));
        reply = reply_error(err);
        goto out_args;
    }
    if (actor->role < cmd->min_role) {
        snprintf(err, sizeof(err), "permission denied: '%s' needs the %s role; %s is %s", verb,
                 control_role_name(cmd->min_role), actor->name, control_role_name(actor->role));
        reply = reply_error(err);
        goto out_args;
    }
    struct ctl_req r = {verb, args, actor};
    json_t *data = NULL;
    err[0] = '\0';
    int rc = cmd->fn(c, &r, &data, err, sizeof(err));
    if (rc < 0) {
        json_decref(data);
        if (!err[0])
            snprintf(err, sizeof(err), "%s: %s", verb, strerror(-rc));
        reply = reply_error(err);
    } else {
        reply = reply_ok(data);
    }
out_args:
    json_decref(empty);
out:
    json_decref(req);
    return reply;
}

/* ---------------------------------------------------------------- sockets */

static void client_free(struct control_client *cl)
{
    if (cl->fd >= 0)
        close(cl->fd);
    free(cl->in);
    free(cl->out);
    memset(cl, 0, sizeof(*cl));
    cl->fd = -1;
}

/* Queues reply as one line; a reply too large for wardctl becomes an error. */
static void client_queue(struct control_client *cl, json_t *reply)
{
    char *text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    json_decref(reply);
    size_t n = text ? strlen(text) : 0;
    if (text && n + 1 > CLI_MAX_LINE) {
        free(text);
        text = NULL;
        json_t *e = reply_error("reply larger than the protocol's line limit; narrow the request"
                                " (e.g. --limit)");
        text = e ? json_dumps(e, JSON_COMPACT) : NULL;
        json_decref(e);
        n = text ? strlen(text) : 0;
    }
    if (!text) {
        static const char oom[] = "{\"ok\":false,\"error\":\"console out of memory\"}";
        text = strdup(oom);
        n = text ? strlen(text) : 0;
        if (!text) {
            cl->closing = true;
            return;
        }
    }
    /* text has room for its NUL: reuse it for the newline. */
    text[n] = '\n';
    free(cl->out);
    cl->out = text;
    cl->out_len = n + 1;
    cl->out_off = 0;
}

/* Writes what it can of cl->out.  False if the connection failed. */
static bool client_flush(struct control_client *cl)
{
    while (cl->out_off < cl->out_len) {
        ssize_t w = send(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK;
        }
        cl->out_off += (size_t)w;
    }
    free(cl->out);
    cl->out = NULL;
    cl->out_len = cl->out_off = 0;
    return true;
}

/* Serves complete lines while no reply is pending. */
static void client_serve(struct control *ctl, struct control_client *cl)
{
    while (!cl->out && !cl->closing) {
        char *nl = cl->in_len ? memchr(cl->in, '\n', cl->in_len) : NULL;
        if (!nl) {
            if (cl->in_len > CONTROL_MAX_REQUEST) {
                char msg[96];
                snprintf(msg, sizeof(msg), "request longer than %u bytes", CONTROL_MAX_REQUEST);
                log_warn("control: %s (uid %u): %s; closing", cl->actor.name,
                         (unsigned)cl->actor.uid, msg);
                client_queue(cl, reply_error(msg));
                cl->closing = true;
            } else if (cl->eof) {
                cl->closing = true;
            }
            break;
        }
        size_t len = (size_t)(nl - cl->in);
        size_t line_len = len;
        if (line_len > 0 && cl->in[line_len - 1] == '\r')
            line_len--;
        if (line_len > 0)
            client_queue(cl, control_request(ctl->c, &cl->actor, cl->in, line_len));
        memmove(cl->in, nl + 1, cl->in_len - len - 1);
        cl->in_len -= len + 1;
        if (cl->out && !client_flush(cl)) {
            free(cl->out);
            cl->out = NULL;
            cl->closing = true;
        }
    }
}

static void client_read(struct control *ctl, struct control_client *cl)
{
    if (cl->in_cap - cl->in_len < CONTROL_READ_CHUNK) {
        size_t ncap = cl->in_len + CONTROL_READ_CHUNK;
        char *n = realloc(cl->in, ncap);
        if (!n) {
            log_err("control: out of memory reading a request");
            cl->closing = true;
            return;
        }
        cl->in = n;
        cl->in_cap = ncap;
    }
    ssize_t r = recv(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, 0);
    if (r == 0) {
        cl->eof = true;
    } else if (r < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            cl->eof = true;
            cl->closing = true;
        }
        return;
    } else {
        cl->in_len += (size_t)r;
    }
    client_serve(ctl, cl);
}

static void accept_one(struct control *ctl)
{
    int fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            log_warn("control: accept: %s", strerror(errno));
        return;
    }
    struct control_client *cl = NULL;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        if (ctl->clients[i].fd < 0) {
            cl = &ctl->clients[i];
            break;
        }
    }
    if (!cl) {
        static const char busy[] = "{\"ok\":false,\"error\":\"console busy: too many clients\"}\n";
        log_warn("control: more than %d clients; refusing one", CONTROL_MAX_CLIENTS);
        if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            /* nothing more to do for a client we are refusing */
        }
        close(fd);
        return;
    }
    struct ucred cred;
    socklen_t clen = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
        log_warn("control: cannot read peer credentials: %s", strerror(errno));
        close(fd);
        return;
    }
    cl->fd = fd;
    actor_of(ctl, cred.uid, &cl->actor);
    log_debug("control: connection from %s (uid %u, %s)", cl->actor.name, (unsigned)cred.uid,
              control_role_name(cl->actor.role));
}

size_t control_pollfds(struct control *ctl, struct pollfd *fds, size_t cap)
{
    size_t n = 0;
    if (n < cap)
        fds[n++] = (struct pollfd){.fd = ctl->lfd, .events = POLLIN};
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS && n < cap; i++) {
        struct control_client *cl = &ctl->clients[i];
        if (cl->fd < 0)
            continue;
        short ev = 0;
        if (cl->out)
            ev |= POLLOUT;
        else if (!cl->eof)
            ev |= POLLIN;
        fds[n++] = (struct pollfd){.fd = cl->fd, .events = ev};
    }
    return n;
}

static struct control_client *client_by_fd(struct control *ctl, int fd)
{
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        if (ctl->clients[i].fd == fd)
            return &ctl->clients[i];
    }
    return NULL;
}

void control_ready(struct control *ctl, const struct pollfd *fds, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        short rev = fds[i].revents;
        if (!rev)
            continue;
        if (fds[i].fd == ctl->lfd) {
            accept_one(ctl);
            continue;
        }
        struct control_client *cl = client_by_fd(ctl, fds[i].fd);
        if (!cl)
            continue;
        if ((rev & POLLERR) || ((rev & POLLOUT) && !client_flush(cl))) {
            client_free(cl);
            continue;
        }
        if (rev & POLLIN)
            client_read(ctl, cl);
        else if (rev & POLLHUP)
            cl->eof = true;
        if (!cl->out)
            client_serve(ctl, cl);
        if (cl->closing && !cl->out)
            client_free(cl);
    }
}

/* ---------------------------------------------------------------- open, close */

static int make_parent(const char *path)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            int e = errno;
            log_err("control: cannot create %s: %s", dir, strerror(e));
            return -e;
        }
        *p = '/';
    }
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        int e = errno;
        log_err("control: cannot create %s: %s", dir, strerror(e));
        return -e;
    }
    return 0;
}

/* Removes a socket nobody answers on; -EADDRINUSE if a console is running there. */
static int clear_stale(const struct sockaddr_un *sa)
{
    struct stat stb;
    if (lstat(sa->sun_path, &stb) < 0)
        return 0;
    if (!S_ISSOCK(stb.st_mode)) {
        log_err("control: %s exists and is not a socket", sa->sun_path);
        return -EEXIST;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    close(fd);
    if (rc == 0) {
        log_err("control: %s: another console is listening there", sa->sun_path);
        return -EADDRINUSE;
    }
    if (unlink(sa->sun_path) < 0 && errno != ENOENT) {
        int e = errno;
        log_err("control: cannot remove stale %s: %s", sa->sun_path, strerror(e));
        return -e;
    }
    return 0;
}

int control_open(struct console *c, const char *path, struct control **out)
{
    *out = NULL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!path || !path[0] || strlen(path) >= sizeof(sa.sun_path)) {
        log_err("control: socket path '%s' is empty or longer than %zu bytes", path ? path : "",
                sizeof(sa.sun_path) - 1);
        return -ENAMETOOLONG;
    }
    struct control *ctl = calloc(1, sizeof(*ctl));
    if (!ctl)
        return -ENOMEM;
    ctl->c = c;
    ctl->lfd = -1;
    ctl->self_uid = geteuid();
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
        ctl->clients[i].fd = -1;
    snprintf(ctl->path, sizeof(ctl->path), "%s", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);

    int rc = 0;
    if (c->cfg) {
        struct roles_load rl = {ctl, c->cfg};
        rc = config_each(c->cfg, "roles", on_role, &rl);
        if (rc != 0) {
            rc = rc < 0 ? rc : -EINVAL;
            goto out_free;
        }
    }
    rc = make_parent(path);
    if (rc < 0)
        goto out_free;
    rc = clear_stale(&sa);
    if (rc < 0)
        goto out_free;
    ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ctl->lfd < 0) {
        rc = -errno;
        log_err("control: socket: %s", strerror(-rc));
        goto out_free;
    }
    /* Bind under a tight umask so the socket is never briefly world-writable. */
    mode_t old = umask(0117);
    int b = bind(ctl->lfd, (const struct sockaddr *)&sa, sizeof(sa));
    int be = errno;
    umask(old);
    if (b < 0) {
        rc = -be;
        log_err("control: cannot bind %s: %s", path, strerror(be));
        goto out_free;
    }
    if (chmod(path, 0660) < 0) {
        rc = -errno;
        log_err("control: chmod %s: %s", path, strerror(-rc));
        goto out_unlink;
    }
    if (listen(ctl->lfd, 16) < 0) {
        rc = -errno;
        log_err("control: listen on %s: %s", path, strerror(-rc));
        goto out_unlink;
    }
    *out = ctl;
    return 0;
out_unlink:
    unlink(path);
out_free:
    if (ctl->lfd >= 0)
        close(ctl->lfd);
    free(ctl);
    return rc;
}

void control_close(struct control *ctl)
{
    if (!ctl)
        return;
    for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++) {
        if (ctl->clients[i].fd >= 0)
            client_free(&ctl->clients[i]);
    }
    if (ctl->lfd >= 0) {
        close(ctl->lfd);
        unlink(ctl->path);
    }
    free(ctl);
}
