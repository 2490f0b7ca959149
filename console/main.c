/*
 * main -- ward-console: options, configuration, the store, the console identity,
 * the modules, the control socket and ingest, wired into one poll loop with a
 * one-second tick.  No logic lives here.
 */
#define _GNU_SOURCE /* pipe2, close_range */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "clock.h"
#include "cli.h"
#include "config.h"
#include "console.h"
#include "control.h"
#include "ingest.h"
#include "keys.h"
#include "log.h"
#include "modules.h"
#include "store.h"

#define MAIN_DEFAULT_CONFIG "/etc/ward/ward-console.conf"
#define MAIN_DEFAULT_DATA_DIR "/var/lib/ward"
#define MAIN_DEFAULT_KEYS "/etc/ward/console"
#define MAIN_DEFAULT_LISTEN INGEST_DEFAULT_ENDPOINT
#define MAIN_DB_FILE "ward.db"
#define MAIN_TICK_USEC USEC_PER_SEC
#define MAIN_MAX_POLL (CONTROL_MAX_CLIENTS + 2)

struct main_opts {
    const char *config;   /* -c */
    bool config_given;    /* -c was given: the file must exist */
    bool foreground;      /* -f */
    const char *data_dir; /* --data-dir */
    const char *listen;   /* --listen */
    const char *control;  /* --control */
    const char *keys;     /* --keys */
    int verbose;          /* -v count */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ward-console [-f] [-v] [-c CONFIG] [--data-dir DIR] [--listen ENDPOINT]\n"
            "                    [--control PATH] [--keys DIR]\n"
            "\n"
            "Ward's console daemon.  Accepts signed, encrypted event batches from enrolled\n"
            "sensors over ZeroMQ (CURVE), stores them in SQLite (WAL) under the data\n"
            "directory, acknowledges them once committed, and serves wardctl on a local\n"
            "control socket.\n"
            "\n"
            "Options (each overrides the matching [console] setting of CONFIG):\n"
            "  -c, --config FILE     configuration (INI; default " MAIN_DEFAULT_CONFIG ",\n"
            "                        used only if it exists)\n"
            "  -f, --foreground      stay in the foreground and log to stderr; otherwise\n"
            "                        detach once started and log to syslog\n"
            "      --data-dir DIR    database (DIR/" MAIN_DB_FILE ") and evidence vault\n"
            "                        (data_dir; default " MAIN_DEFAULT_DATA_DIR ")\n"
            "      --listen ENDPOINT where sensors connect (listen; default " MAIN_DEFAULT_LISTEN
            ")\n"
            "      --control PATH    wardctl's UNIX socket, mode 0660 (control_socket;\n"
            "                        default " CLI_DEFAULT_SOCKET ")\n"
            "      --keys DIR        the console identity made by `wardctl keygen DIR`\n"
            "                        (keys; default " MAIN_DEFAULT_KEYS ")\n"
            "  -v, --verbose         log debug messages too (overrides log_level = err|warn|\n"
            "                        info|debug; default info)\n"
            "  -h, --help            this help\n"
            "  -V, --version         print the version\n"
            "\n"
            "Configuration: [console] data_dir, listen, control_socket, keys, log_level,\n"
            "heartbeat_interval (default 10s; a sensor silent for three intervals raises a\n"
            "sensor_silent event); [roles] user = viewer|operator|admin (root and the\n"
            "console's own user are admins; users not listed are refused).  Other modules\n"
            "read their own sections.  An unknown key or a bad value is an error naming\n"
            "the file and line.\n"
            "\n"
            "Signals: SIGINT and SIGTERM stop the console cleanly.\n"
            "Exit status: 0 after a clean stop, 1 on a start-up or fatal error, 2 usage.\n");
}

static int parse_args(int argc, char **argv, struct main_opts *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"foreground", no_argument, NULL, 'f'},
        {"data-dir", required_argument, NULL, 'D'},
        {"listen", required_argument, NULL, 'L'},
        {"control", required_argument, NULL, 'C'},
        {"keys", required_argument, NULL, 'K'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    o->config = MAIN_DEFAULT_CONFIG;
    while ((ch = getopt_long(argc, argv, "c:fvhV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            o->config = optarg;
            o->config_given = true;
            break;
        case 'f':
            o->foreground = true;
            break;
        case 'D':
            o->data_dir = optarg;
            break;
        case 'L':
            o->listen = optarg;
            break;
        case 'C':
            o->control = optarg;
            break;
        case 'K':
            o->keys = optarg;
            break;
        case 'v':
            o->verbose++;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case 'V':
            printf("ward-console %s\n", WARD_VERSION);
            exit(0);
        default:
            usage(stderr);
            return -EINVAL;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "ward-console: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return -EINVAL;
    }
    return 0;
}

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: the poll must return so the loop sees the stop. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/*
 * Detaches: the parent waits on a pipe until the child reports that start-up
 * finished (0) or failed (its exit status), so `ward-console` without -f still
 * fails visibly.  Returns the write end for the child, or -1 in the foreground.
 */
static int detach(void)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        log_err("console: pipe: %s", strerror(errno));
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_err("console: fork: %s", strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        close(p[1]);
        unsigned char status = 1;
        ssize_t r;
        do {
            r = read(p[0], &status, 1);
        } while (r < 0 && errno == EINTR);
        _exit(r == 1 ? status : 1);
    }
    close(p[0]);
    setsid();
    return p[1];
}

static void detached_ready(int fd, unsigned char status)
{
    if (fd < 0)
        return;
    if (status == 0) {
        /* Started: from now on, syslog; the terminal may go away. */
        log_open("ward-console", true, log_get_level());
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
            if (null > STDERR_FILENO)
                close(null);
        }
        if (chdir("/") < 0) {
            /* nothing depends on the working directory after start-up */
        }
    }
    ssize_t w;
    do {
        w = write(fd, &status, 1);
    } while (w < 0 && errno == EINTR);
    close(fd);
}

static int make_data_dir(const char *dir)
{
    if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
        int e = errno;
        log_err("console: cannot create data directory %s: %s", dir, strerror(e));
        return -e;
    }
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        log_err("console: data directory %s is not a directory", dir);
        return -ENOTDIR;
    }
    return 0;
}

/*
 * One console per data directory: a second one on the same database would
 * acknowledge batches the first one also numbers.  The lock lives as long as
 * the descriptor (the process).  Returns the descriptor or a negative errno.
 */
static int lock_data_dir(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/console.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        int e = errno;
        log_err("console: cannot open %s: %s", path, strerror(e));
        return -e;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            log_err("console: another ward-console is using %s", dir);
        else
            log_err("console: cannot lock %s: %s", path, strerror(e));
        close(fd);
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    return fd;
}

/* The poll loop: ingest, the control socket and a tick, until a signal. */
static int run(struct console *c)
{
    zmq_pollitem_t items[MAIN_MAX_POLL];
    struct pollfd pfds[MAIN_MAX_POLL];
    uint64_t next_tick = clock_mono_usec() + MAIN_TICK_USEC;
    int ret = 0;

    while (!stop_signal && !c->stop) {
        size_t n = 0;
        memset(&items[n], 0, sizeof(items[n]));
        items[n].socket = ingest_socket(c->ingest);
        items[n].events = ZMQ_POLLIN;
        n++;
        size_t first_ctl = n;
        size_t nctl = control_pollfds(c->control, pfds, MAIN_MAX_POLL - n);
        for (size_t i = 0; i < nctl; i++, n++) {
            memset(&items[n], 0, sizeof(items[n]));
            items[n].fd = pfds[i].fd;
            items[n].events = (short)(((pfds[i].events & POLLIN) ? ZMQ_POLLIN : 0) |
                                      ((pfds[i].events & POLLOUT) ? ZMQ_POLLOUT : 0));
        }
        uint64_t now = clock_mono_usec();
        long timeout_ms = next_tick > now ? (long)((next_tick - now) / USEC_PER_MSEC) + 1 : 0;
        int rc = zmq_poll(items, (int)n, timeout_ms);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;
            log_err("console: poll: %s", zmq_strerror(zmq_errno()));
            ret = -EIO;
            break;
        }
        if (rc > 0) {
            if ((items[0].revents & ZMQ_POLLIN) && ingest_handle(c->ingest) < 0) {
                ret = -EIO;
                break;
            }
            for (size_t i = 0; i < nctl; i++) {
                short re = items[first_ctl + i].revents;
                pfds[i].revents = (short)(((re & ZMQ_POLLIN) ? POLLIN : 0) |
                                          ((re & ZMQ_POLLOUT) ? POLLOUT : 0) |
                                          ((re & ZMQ_POLLERR) ? POLLERR : 0));
            }
            control_ready(c->control, pfds, nctl);
        }
        now = clock_mono_usec();
        if (now >= next_tick) {
            modules_tick(c, clock_now_usec());
            next_tick = now + MAIN_TICK_USEC;
        }
    }
    if (stop_signal)
        log_info("console: stopping on signal %d", (int)stop_signal);
    return ret;
}

/*
 * A daemon keeps only the descriptors it opens: one inherited from whoever
 * started it (a lock, a pipe to a test harness) would otherwise stay held for
 * the console's whole life.
 */
static void close_inherited(void)
{
    if (close_range(3, ~0U, 0) == 0)
        return;
    for (int fd = 3; fd < 1024; fd++)
        close(fd);
}

int main(int argc, char **argv)
{
    struct main_opts o = {0};
    close_inherited();
    if (parse_args(argc, argv, &o) < 0)
        return 2;
    enum log_level level = o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
    log_open("ward-console", false, level);

    struct config *cfg = NULL;
    char err[CONFIG_ERR_LEN];
    if (!o.config_given && access(o.config, F_OK) < 0) {
        cfg = config_new_empty(o.config);
    } else if (config_load(o.config, &cfg, err, sizeof(err)) < 0) {
        log_err("%s", err);
        return 1;
    }
    if (!cfg) {
        log_err("console: out of memory");
        return 1;
    }

    int exit_code = 1;
    struct console c;
    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    const char *data_dir = config_get_str(cfg, "console", "data_dir", MAIN_DEFAULT_DATA_DIR);
    const char *listen = config_get_str(cfg, "console", "listen", MAIN_DEFAULT_LISTEN);
    const char *ctl_path = config_get_str(cfg, "console", "control_socket", CLI_DEFAULT_SOCKET);
    const char *keys_dir = config_get_str(cfg, "console", "keys", MAIN_DEFAULT_KEYS);
    const char *lvl = config_get_str(cfg, "console", "log_level", NULL);
    if (lvl && !o.verbose && log_level_parse(lvl, &level) < 0) {
        config_fail(cfg, "console", "log_level", "'%s' is not err, warn, info or debug", lvl);
        log_err("%s", config_error(cfg));
        goto out_cfg;
    }
    log_set_level(level);
    c.data_dir = o.data_dir ? o.data_dir : data_dir;
    listen = o.listen ? o.listen : listen;
    ctl_path = o.control ? o.control : ctl_path;
    keys_dir = o.keys ? o.keys : keys_dir;

    int ready_fd = o.foreground ? -1 : detach();

    if (keys_init() < 0)
        goto out_ready;
    if (keys_load(keys_dir, &c.id) < 0) {
        log_err("console: cannot load the console identity from %s (make one with `wardctl"
                " keygen %s`)",
                keys_dir, keys_dir);
        goto out_ready;
    }
    if (make_data_dir(c.data_dir) < 0)
        goto out_keys;
    int lock_fd = lock_data_dir(c.data_dir);
    if (lock_fd < 0)
        goto out_keys;
    char db[4096];
    snprintf(db, sizeof(db), "%s/%s", c.data_dir, MAIN_DB_FILE);
    if (store_open(db, &c.store) < 0)
        goto out_lock;
    if (modules_init(&c) < 0)
        goto out_store;
    if (control_open(&c, ctl_path, &c.control) < 0) {
        if (config_error(cfg)[0])
            log_err("%s", config_error(cfg));
        goto out_modules;
    }
    /* Every module has read its keys by now: anything left is a mistake. */
    if (config_check_unused(cfg, NULL) < 0) {
        log_err("%s", config_error(cfg));
        goto out_control;
    }
    if (ingest_open(&c, listen, &c.ingest) < 0)
        goto out_control;

    install_signals();
    log_info("console: started (data %s, control %s, listen %s)", c.data_dir, ctl_path, listen);
    detached_ready(ready_fd, 0);
    ready_fd = -1;
    exit_code = run(&c) < 0 ? 1 : 0;
    log_info("console: stopped");

    ingest_close(c.ingest);
out_control:
    control_close(c.control);
out_modules:
    modules_fini(&c);
out_store:
    store_close(c.store);
out_lock:
    close(lock_fd);
out_keys:
    keys_wipe(&c.id);
out_ready:
    detached_ready(ready_fd, (unsigned char)exit_code);
out_cfg:
    config_free(cfg);
    return exit_code;
}
