/*
 * test_control -- the control socket's request path against hostile input
 * (malformed JSON, wrong shapes and types, unknown verbs, over-long lines, NUL
 * bytes), role checks, the [roles] configuration, and the real UNIX socket:
 * several requests per write, a line over the limit, stale and live sockets.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "console.h"
#include "control.h"
#include "modules.h"
#include "sensors.h"
#include "store.h"

/* A module whose verbs echo their arguments, to test dispatch itself. */
static int cmd_echo(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                    size_t errcap)
{
    (void)c;
    (void)err;
    (void)errcap;
    *reply = json_deep_copy(req->args);
    return 0;
}

static int cmd_fail(struct console *c, const struct ctl_req *req, json_t **reply, char *err,
                    size_t errcap)
{
    (void)c;
    (void)req;
    (void)reply;
    (void)err;
    (void)errcap;
    return -EPERM; /* no message: the dispatcher supplies one */
}

static const struct ctl_cmd echo_cmds[] = {
    {"test.echo", ROLE_VIEWER, cmd_echo},
    {"test.admin", ROLE_ADMIN, cmd_echo},
    {"test.fail", ROLE_VIEWER, cmd_fail},
    {NULL, ROLE_NONE, NULL},
};
static const struct console_module echo_module = {.name = "echo", .commands = echo_cmds};
static const struct console_module *const test_modules[] = {&audit_module, &sensors_module,
                                                            &echo_module, NULL};

struct fixture {
    struct console c;   /* console with a :memory: store */
    char dir[64];       /* scratch directory for sockets */
};

static const struct actor viewer = {1001, "vera", ROLE_VIEWER};
static const struct actor operator_ = {1002, "otto", ROLE_OPERATOR};
static const struct actor admin = {0, "root", ROLE_ADMIN};
static const struct actor nobody = {1003, "nemo", ROLE_NONE};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    clock_fake_set(1763700000ULL * USEC_PER_SEC);
    f->c.modules = test_modules;
    f->c.cfg = config_new_empty("test.conf");
    if (store_open(":memory:", &f->c.store) < 0 || modules_init(&f->c) < 0)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/ward-test-control-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    modules_fini(&f->c);
    store_close(f->c.store);
    config_free(f->c.cfg);
    char path[128];
    snprintf(path, sizeof(path), "%s/ctl.sock", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/sub/ctl.sock", f->dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/sub", f->dir);
    rmdir(path);
    rmdir(f->dir);
    free(f);
    clock_fake_off();
    return 0;
}

/* Serves line as actor; returns the reply (caller frees). */
static json_t *ask(struct fixture *f, const struct actor *a, const char *line)
{
    json_t *r = control_request(&f->c, a, line, strlen(line));
    assert_non_null(r);
    assert_true(json_is_boolean(json_object_get(r, "ok")));
    return r;
}

/* Asserts the request is refused with an error containing want. */
static void refused(struct fixture *f, const struct actor *a, const char *line, const char *want)
{
    json_t *r = ask(f, a, line);
    assert_false(json_is_true(json_object_get(r, "ok")));
    const char *err = json_str(r, "error", "");
    if (!strstr(err, want))
        fail_msg("request %s: error \"%s\" does not mention \"%s\"", line, err, want);
    json_decref(r);
}

static void test_control_rejects_malformed_requests(void **state)
{
    struct fixture *f = *state;
    refused(f, &admin, "", "malformed");
    refused(f, &admin, "{", "malformed");
    refused(f, &admin, "{\"verb\":\"status\"", "malformed");
    refused(f, &admin, "not json", "malformed");
    refused(f, &admin, "[\"status\"]", "not a JSON object");
    refused(f, &admin, "\"status\"", "malformed");
    refused(f, &admin, "42", "malformed");
    refused(f, &admin, "{}", "'verb'");
    refused(f, &admin, "{\"verb\":7}", "'verb'");
    refused(f, &admin, "{\"verb\":null}", "'verb'");
    refused(f, &admin, "{\"verb\":\"\"}", "'verb'");
    refused(f, &admin, "{\"verb\":\"st\\u0000atus\"}", "malformed");
    refused(f, &admin, "{\"verb\":\"status\",\"args\":[]}", "'args'");
    refused(f, &admin, "{\"verb\":\"status\",\"args\":\"x\"}", "'args'");
    refused(f, &admin, "{\"verb\":\"status\",\"extra\":1}", "unknown field");
    refused(f, &admin, "{\"verb\":\"status\",\"verb\":\"events\"}", "malformed");
    refused(f, &admin, "{\"verb\":\"\xff\xfe\"}", "malformed"); /* not UTF-8 */

    char verb[200];
    memset(verb, 'a', sizeof(verb));
    char line[300];
    snprintf(line, sizeof(line), "{\"verb\":\"%.*s\"}", (int)sizeof(verb), verb);
    refused(f, &admin, line, "'verb'");
}

static void test_control_rejects_unknown_verbs_and_over_long_lines(void **state)
{
    struct fixture *f = *state;
    refused(f, &admin, "{\"verb\":\"no.such\"}", "unknown command 'no.such'");
    refused(f, &admin, "{\"verb\":\"bad\\nverb\"}", "unknown command 'bad\\x0averb'");

    size_t n = CONTROL_MAX_REQUEST + 10;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    json_t *r = control_request(&f->c, &admin, big, n);
    assert_false(json_is_true(json_object_get(r, "ok")));
    assert_non_null(strstr(json_str(r, "error", ""), "longer than"));
    json_decref(r);
    free(big);
}

static void test_control_checks_roles(void **state)
{
    struct fixture *f = *state;
    refused(f, &nobody, "{\"verb\":\"status\"}", "no role");
    refused(f, &viewer, "{\"verb\":\"test.admin\"}", "needs the admin role; vera is viewer");
    refused(f, &operator_, "{\"verb\":\"sensor.add\",\"args\":{\"name\":\"a\",\"pubkey\":\"b\"}}",
            "needs the admin role");
    json_t *r = ask(f, &admin, "{\"verb\":\"test.admin\",\"args\":{\"x\":1}}");
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_u64(json_object_get(r, "data"), "x", 0), 1);
    json_decref(r);

    r = ask(f, &viewer, "{\"verb\":\"verbs\"}");
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_true(json_array_size(json_object_get(r, "data")) >= 6);
    json_decref(r);
}

static void test_control_handler_errors_and_argument_types(void **state)
{
    struct fixture *f = *state;
    refused(f, &viewer, "{\"verb\":\"test.fail\"}", "test.fail: Operation not permitted");
    refused(f, &viewer, "{\"verb\":\"events\",\"args\":{\"limit\":\"ten\"}}",
            "argument 'limit' must be a non-negative integer");
    refused(f, &viewer, "{\"verb\":\"events\",\"args\":{\"limit\":-1}}", "non-negative");
    refused(f, &viewer, "{\"verb\":\"events\",\"args\":{\"limit\":0}}", "limit must be");
    refused(f, &viewer, "{\"verb\":\"events\",\"args\":{\"kind\":5}}",
            "argument 'kind' must be a string");
    refused(f, &viewer, "{\"verb\":\"events\",\"args\":{\"kind\":\"nosuch\"}}",
            "unknown event kind 'nosuch'");
    refused(f, &viewer, "{\"verb\":\"events\",\"args\":{\"since\":\"yesterday\"}}", "bad time");
    refused(f, &viewer, "{\"verb\":\"events\",\"args\":{\"since\":[1]}}", "argument 'since'");
    refused(f, &admin, "{\"verb\":\"sensor.add\",\"args\":{\"name\":\"x\"}}",
            "missing argument 'pubkey'");
    refused(f, &admin, "{\"verb\":\"sensor.add\",\"args\":{\"name\":\"a b\",\"pubkey\":\"k\"}}",
            "bad sensor name");
    refused(f, &admin, "{\"verb\":\"sensor.add\",\"args\":{\"name\":\"ab\",\"pubkey\":\"k\"}}",
            "bad public key");
    refused(f, &operator_, "{\"verb\":\"sensor.revoke\",\"args\":{\"name\":\"ghost\"}}",
            "no sensor named 'ghost'");

    json_t *r = ask(f, &viewer, "{\"verb\":\"events\",\"args\":{\"kind\":\"portscan\","
                                "\"since\":\"-15m\",\"limit\":5,\"host\":null}}");
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_true(json_is_array(json_object_get(r, "data")));
    json_decref(r);
}

static void test_control_enrols_lists_and_revokes(void **state)
{
    struct fixture *f = *state;
    char line[512];
    snprintf(line, sizeof(line),
             "{\"verb\":\"sensor.add\",\"args\":{\"name\":\"edge-1\",\"pubkey\":\"%064d:%064d\"}}",
             1, 2);
    json_t *r = ask(f, &admin, line);
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    refused(f, &admin, line, "enrolled already");

    r = ask(f, &viewer, "{\"verb\":\"sensor.list\"}");
    const json_t *list = json_object_get(r, "data");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(json_str(json_array_get(list, 0), "state", ""), "never seen");
    json_decref(r);

    r = ask(f, &operator_, "{\"verb\":\"sensor.revoke\",\"args\":{\"name\":\"edge-1\"}}");
    assert_true(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    refused(f, &operator_, "{\"verb\":\"sensor.revoke\",\"args\":{\"name\":\"edge-1\"}}",
            "revoked already");

    r = ask(f, &viewer, "{\"verb\":\"status\"}");
    const json_t *d = json_object_get(r, "data");
    assert_int_equal(json_u64(d, "events", 99), 0);
    assert_string_equal(json_str(json_array_get(json_object_get(d, "sensors"), 0), "state", ""),
                        "revoked");
    json_decref(r);

    /* Both actions are in the audit log, with who did them. */
    json_t *rows = NULL;
    struct audit_query q = {"sensor", 0, NULL, 0, 0};
    assert_int_equal(audit_query(f->c.store, &q, &rows), 0);
    assert_int_equal(json_array_size(rows), 2);
    assert_string_equal(json_str(json_array_get(rows, 1), "actor", ""), "otto");
    json_decref(rows);
}

static void test_control_roles_from_config(void **state)
{
    struct fixture *f = *state;
    static const char good[] = "[roles]\nalice = operator\nroot = viewer\n";
    struct config *cfg = NULL;
    char err[256];
    assert_int_equal(config_parse("ward.conf", good, strlen(good), &cfg, err, sizeof(err)), 0);
    config_free(f->c.cfg);
    f->c.cfg = cfg;
    char path[128];
    snprintf(path, sizeof(path), "%s/ctl.sock", f->dir);
    struct control *ctl = NULL;
    assert_int_equal(control_open(&f->c, path, &ctl), 0);
    assert_int_equal(control_role(ctl, 1000, "alice"), ROLE_OPERATOR);
    assert_int_equal(control_role(ctl, 0, "root"), ROLE_VIEWER); /* config wins */
    assert_int_equal(control_role(ctl, 1234, "mallory"), ROLE_NONE);
    assert_int_equal(control_role(ctl, geteuid(), "whoever"), ROLE_ADMIN); /* own user */
    assert_int_equal(config_check_unused(cfg, NULL), 0);
    control_close(ctl);

    static const char bad[] = "[roles]\nalice = operator\nbob = superuser\n";
    assert_int_equal(config_parse("ward.conf", bad, strlen(bad), &cfg, err, sizeof(err)), 0);
    config_free(f->c.cfg);
    f->c.cfg = cfg;
    assert_int_equal(control_open(&f->c, path, &ctl), -EINVAL);
    assert_non_null(strstr(config_error(cfg), "ward.conf:3"));
    assert_non_null(strstr(config_error(cfg), "superuser"));
}

/* Runs the control socket's half of a poll loop until nothing happens for a while. */
static void pump(struct control *ctl)
{
    struct pollfd fds[CONTROL_MAX_CLIENTS + 1];
    for (int round = 0; round < 200; round++) {
        size_t n = control_pollfds(ctl, fds, CONTROL_MAX_CLIENTS + 1);
        int rc = poll(fds, n, 20);
        if (rc <= 0)
            return;
        control_ready(ctl, fds, n);
    }
}

static int client(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Reads what is there (non-blocking) into buf; returns bytes. */
static size_t drain(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    for (;;) {
        ssize_t r = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    buf[len] = '\0';
    return len;
}

static void test_control_socket_serves_lines(void **state)
{
    struct fixture *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/sub/ctl.sock", f->dir); /* directory made on open */
    struct control *ctl = NULL;
    assert_int_equal(control_open(&f->c, path, &ctl), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);

    /* A second console on the same socket is refused; the first keeps it. */
    struct control *again = NULL;
    assert_int_equal(control_open(&f->c, path, &again), -EADDRINUSE);

    int fd = client(path);
    pump(ctl);
    static const char two[] = "{\"verb\":\"test.echo\",\"args\":{\"n\":1}}\n"
                              "{\"verb\":\"nope\"}\r\n\n";
    assert_int_equal(send(fd, two, sizeof(two) - 1, 0), (ssize_t)(sizeof(two) - 1));
    pump(ctl);
    char buf[4096];
    drain(fd, buf, sizeof(buf));
    char *nl = strchr(buf, '\n');
    assert_non_null(nl);
    *nl = '\0';
    json_t *r1 = json_loads(buf, 0, NULL);
    json_t *r2 = json_loads(nl + 1, JSON_DISABLE_EOF_CHECK, NULL);
    assert_true(json_is_true(json_object_get(r1, "ok")));
    assert_int_equal(json_u64(json_object_get(r1, "data"), "n", 0), 1);
    assert_false(json_is_true(json_object_get(r2, "ok")));
    json_decref(r1);
    json_decref(r2);

    /* A line over the limit gets an error and the connection is closed. */
    int fd2 = client(path);
    pump(ctl);
    size_t big = CONTROL_MAX_REQUEST + (128u << 10);
    char *junk = malloc(big);
    assert_non_null(junk);
    memset(junk, 'x', big);
    size_t sent = 0;
    for (int round = 0; round < 10000 && sent < big; round++) {
        ssize_t w = send(fd2, junk + sent, big - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0)
            sent += (size_t)w;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            break; /* the console has closed the connection */
        pump(ctl);
    }
    free(junk);
    pump(ctl);
    drain(fd2, buf, sizeof(buf));
    assert_non_null(strstr(buf, "longer than"));
    char one;
    assert_int_equal(recv(fd2, &one, 1, MSG_DONTWAIT), 0); /* closed by the console */
    close(fd2);

    /* The first client is still served. */
    static const char st1[] = "{\"verb\":\"status\"}\n";
    assert_int_equal(send(fd, st1, sizeof(st1) - 1, 0), (ssize_t)(sizeof(st1) - 1));
    pump(ctl);
    drain(fd, buf, sizeof(buf));
    assert_non_null(strstr(buf, "\"ok\":true"));
    close(fd);
    pump(ctl);
    control_close(ctl);
    assert_int_equal(stat(path, &st), -1);
}

static void test_control_replaces_stale_socket(void **state)
{
    struct fixture *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/ctl.sock", f->dir);
    /* A socket file left behind by a console that died. */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
    struct control *ctl = NULL;
    assert_int_equal(control_open(&f->c, path, &ctl), 0);
    control_close(ctl);

    /* A regular file is not replaced. */
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fclose(file);
    assert_int_equal(control_open(&f->c, path, &ctl), -EEXIST);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_control_rejects_malformed_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_rejects_unknown_verbs_and_over_long_lines,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_checks_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_handler_errors_and_argument_types, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_control_enrols_lists_and_revokes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_roles_from_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_socket_serves_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_replaces_stale_socket, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
