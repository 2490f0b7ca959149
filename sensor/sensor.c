/*
 * sensor -- see sensor.h.  The wiring of ward-sensor: options, configuration,
 * privilege drop, the run loop, statistics.  No protocol or detection logic lives
 * here; each stage is its own module.
 *
 * Order of work per packet, chosen so that each stage sees what it needs:
 * evidence ring first (the packet is kept even if it does not decode), decode,
 * counters, flow table, host table (reads the flow's packet counts), detectors,
 * asset tracker.  Flow ends feed the host table, then the detectors.  Once per
 * second of packet time: expire flows, tick detectors, assets, evidence,
 * containment, and service the uplink.
 */
#include "sensor.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asset.h"
#include "capture.h"
#include "clock.h"
#include "config.h"
#include "contain.h"
#include "decode.h"
#include "detect.h"
#include "event.h"
#include "evidence.h"
#include "evring.h"
#include "flow_table.h"
#include "host_table.h"
#include "json.h"
#include "log.h"
#include "sink_jsonl.h"
#include "uplink.h"

#define SENSOR_TICK_USEC USEC_PER_SEC
#define SENSOR_SERVICE_USEC (50 * USEC_PER_MSEC) /* uplink service between ticks, live */
#define SENSOR_MAX_SNAPLEN 262144u
#define SENSOR_COUNTERS (ANOM_COUNT + DECODE_RC_COUNT + 18)

/* ------------------------------------------------------------------ options */

enum {
    OPT_NO_PROMISC = 256,
    OPT_IMMEDIATE,
    OPT_REPLAY,
    OPT_SPEED,
    OPT_HOME_NET,
    OPT_ALLOW_ROOT,
    OPT_CONSOLE,
    OPT_KEYS,
    OPT_CONSOLE_KEY,
    OPT_NAME,
    OPT_SPOOL,
    OPT_ASSETS,
    OPT_STATS_JSON,
    OPT_FILE_READER,
    OPT_VERSION,
};

void sensor_usage(FILE *f)
{
    fputs(
        "NAME\n"
        "    ward-sensor - Ward's network sensor: capture, decode, detect, report\n"
        "\n"
        "SYNOPSIS\n"
        "    ward-sensor -r FILE [--replay [--speed N]] -o jsonl [options]\n"
        "    ward-sensor -i IFACE -u USER --console tcp://HOST:PORT [options]\n"
        "    ward-sensor -c ward-sensor.conf\n"
        "\n"
        "DESCRIPTION\n"
        "    Reads packets from a capture file or a live interface, decodes them,\n"
        "    keeps bounded flow and host tables, runs every enabled detector and\n"
        "    reports events: as JSON lines on standard output (-o jsonl, no console\n"
        "    needed), or to a Ward console over a signed, encrypted uplink with a\n"
        "    durable spool.  All time-based logic runs on packet time, so a\n"
        "    recording gives the same events however fast it is read.\n"
        "\n"
        "CAPTURE\n"
        "    -r FILE        read a pcap or pcapng file (\"-\" for standard input);\n"
        "                   link types Ethernet (802.1Q/QinQ), Linux cooked v1/v2,\n"
        "                   raw IPv4/IPv6 and loopback\n"
        "    -i IFACE       capture live on IFACE\n"
        "    -f BPF         capture filter, tcpdump syntax (config: filter)\n"
        "    -s SNAPLEN     bytes kept per packet, 64..262144 (default 262144)\n"
        "    -B BUFSIZE     kernel capture buffer, e.g. 64M (default: libpcap's)\n"
        "    --no-promisc   do not put IFACE in promiscuous mode\n"
        "    --immediate    deliver each packet at once instead of in batches\n"
        "    --replay       pace FILE by its own timestamps (drills)\n"
        "    --speed N      replay N times faster than recorded (implies --replay;\n"
        "                   default 1)\n"
        "    --file-reader auto|libpcap\n"
        "                   how FILE is read: auto reads classic pcap files directly\n"
        "                   in large chunks, without a copy per packet, and the rest\n"
        "                   (pcapng, standard input) through libpcap; libpcap reads\n"
        "                   every file through libpcap (config: file_reader)\n"
        "\n"
        "OUTPUT\n"
        "    -o jsonl       write events as JSON lines to standard output; no console\n"
        "    --assets       also write passive asset updates as JSON lines (implies\n"
        "                   -o jsonl)\n"
        "    --console tcp://HOST:PORT\n"
        "                   send to this console (config [uplink] console)\n"
        "    --keys DIR     the sensor's identity directory ([uplink] keys)\n"
        "    --console-key FILE\n"
        "                   the console's public identity ([uplink] console_key)\n"
        "    --name NAME    the sensor's enrolled name ([uplink] name)\n"
        "    --spool DIR    the durable spool directory ([uplink] spool_dir)\n"
        "\n"
        "DETECTION\n"
        "    --home-net CIDR[,CIDR...]\n"
        "                   the inside networks (overrides [detect] home_net;\n"
        "                   default: private address space)\n"
        "\n"
        "PRIVILEGES\n"
        "    -u USER        after opening the capture, switch to USER (its groups,\n"
        "                   group and user id) ([sensor] user)\n"
        "    --allow-root   allow a live capture to keep running as root without -u\n"
        "\n"
        "GENERAL\n"
        "    -c CONFIG      read an INI configuration file; command-line options\n"
        "                   override it\n"
        "    -v             more logging (repeat for debug)\n"
        "    --stats-json   at exit, print statistics as one JSON line on stderr\n"
        "    -h, --help     this text\n"
        "    --version      the version\n"
        "\n"
        "CONFIGURATION\n"
        "    [capture]  interface, file, filter, snaplen, buffer_size, promisc,\n"
        "               immediate, timeout (live read timeout, e.g. 100ms),\n"
        "               file_reader (auto)\n"
        "    [sensor]   name, user, max_flows (262144), flow_idle_timeout (60s),\n"
        "               flow_active_timeout (30m), max_hosts (131072),\n"
        "               host_window (60s)\n"
        "    [detect], [detect.NAME], [assets], [evidence], [contain], [uplink]:\n"
        "               see docs/ for each module.  An unknown key is an error that\n"
        "               names the file and line.\n"
        "\n"
        "SIGNALS\n"
        "    SIGINT, SIGTERM  stop: every flow and open event is flushed first.\n"
        "    SIGHUP           re-read the detectors' list files (indicators pushed by\n"
        "                     the console are kept; the console replaces those).\n"
        "\n"
        "EXIT STATUS\n"
        "    0 on success, 1 on a runtime failure, 2 on a usage error.\n"
        "\n"
        "EXAMPLES\n"
        "    ward-sensor -r capture.pcap -o jsonl --home-net 10.0.0.0/8\n"
        "    ward-sensor -r drill.pcapng --replay --speed 10 -o jsonl\n"
        "    ward-sensor -i eth1 -u ward -c /etc/ward/ward-sensor.conf\n",
        f);
}

/* "64M", "1G", "4096" -> bytes.  0 or -EINVAL. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -EINVAL;
    uint64_t mult = 1;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        mult = 1ULL << 10;
        end++;
        break;
    case 'm':
    case 'M':
        mult = 1ULL << 20;
        end++;
        break;
    case 'g':
    case 'G':
        mult = 1ULL << 30;
        end++;
        break;
    default:
        return -EINVAL;
    }
    if (*end != '\0' || v > UINT64_MAX / mult)
        return -EINVAL;
    *out = v * mult;
    return 0;
}

/* The capture-file readers --file-reader and [capture] file_reader name. */
static bool file_reader_known(const char *name)
{
    return strcmp(name, "auto") == 0 || strcmp(name, "libpcap") == 0;
}

static int usage_error(const char *fmt, ...) WARD_PRINTF(1, 2);

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ward-sensor: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'ward-sensor --help'.\n");
    return -EINVAL;
}

int sensor_opts_parse(int argc, char **argv, struct sensor_opts *o)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"no-promisc", no_argument, NULL, OPT_NO_PROMISC},
        {"immediate", no_argument, NULL, OPT_IMMEDIATE},
        {"replay", no_argument, NULL, OPT_REPLAY},
        {"speed", required_argument, NULL, OPT_SPEED},
        {"home-net", required_argument, NULL, OPT_HOME_NET},
        {"allow-root", no_argument, NULL, OPT_ALLOW_ROOT},
        {"console", required_argument, NULL, OPT_CONSOLE},
        {"keys", required_argument, NULL, OPT_KEYS},
        {"console-key", required_argument, NULL, OPT_CONSOLE_KEY},
        {"name", required_argument, NULL, OPT_NAME},
        {"spool", required_argument, NULL, OPT_SPOOL},
        {"assets", no_argument, NULL, OPT_ASSETS},
        {"stats-json", no_argument, NULL, OPT_STATS_JSON},
        {"file-reader", required_argument, NULL, OPT_FILE_READER},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->promisc = -1;
    o->immediate = -1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":r:i:f:s:B:c:o:u:vh", longopts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'r':
            o->file = optarg;
            break;
        case 'i':
            o->iface = optarg;
            break;
        case 'f':
            o->filter = optarg;
            break;
        case 's': {
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || end == optarg || v < 64 || v > SENSOR_MAX_SNAPLEN)
                return usage_error("-s: snap length must be 64..262144, not '%s'", optarg);
            o->snaplen = (uint32_t)v;
            break;
        }
        case 'B':
            if (parse_size(optarg, &o->buffer_bytes) < 0 || o->buffer_bytes == 0 ||
                o->buffer_bytes > (1ULL << 31))
                return usage_error("-B: buffer size must be like 64M (at most 2G), not '%s'",
                                   optarg);
            break;
        case 'c':
            o->config = optarg;
            break;
        case 'o':
            if (strcmp(optarg, "jsonl") != 0)
                return usage_error("-o: the only output format is 'jsonl', not '%s'", optarg);
            o->output = optarg;
            break;
        case 'u':
            o->user = optarg;
            break;
        case 'v':
            o->verbose++;
            break;
        case 'h':
            sensor_usage(stdout);
            return 1;
        case OPT_VERSION:
            printf("ward-sensor %s\n", WARD_VERSION);
            return 1;
        case OPT_NO_PROMISC:
            o->promisc = 0;
            break;
        case OPT_IMMEDIATE:
            o->immediate = 1;
            break;
        case OPT_REPLAY:
            o->replay = true;
            break;
        case OPT_SPEED: {
            double v = strtod(optarg, &end);
            if (*end || end == optarg || !(v > 0) || v > 1e6)
                return usage_error("--speed: a positive factor is needed, not '%s'", optarg);
            o->speed = v;
            o->replay = true;
            break;
        }
        case OPT_HOME_NET:
            o->home_net = optarg;
            break;
        case OPT_ALLOW_ROOT:
            o->allow_root = true;
            break;
        case OPT_CONSOLE:
            o->console = optarg;
            break;
        case OPT_KEYS:
            o->keys = optarg;
            break;
        case OPT_CONSOLE_KEY:
            o->console_key = optarg;
            break;
        case OPT_NAME:
            o->name = optarg;
            break;
        case OPT_SPOOL:
            o->spool = optarg;
            break;
        case OPT_ASSETS:
            o->assets = true;
            o->output = "jsonl";
            break;
        case OPT_STATS_JSON:
            o->stats_json = true;
            break;
        case OPT_FILE_READER:
            if (!file_reader_known(optarg))
                return usage_error("--file-reader: 'auto' or 'libpcap', not '%s'", optarg);
            o->file_reader = optarg;
            break;
        case ':':
            return usage_error("option '%s' needs a value", argv[optind - 1]);
        default:
            return usage_error("unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (o->file && o->iface)
        return usage_error("%s", "-r and -i are exclusive");
    if (o->replay && o->iface)
        return usage_error("%s", "--replay needs -r FILE");
    if (o->replay && o->speed == 0)
        o->speed = 1;
    if (o->output && o->console)
        return usage_error("%s", "-o jsonl and --console are exclusive");
    return 0;
}

/* ------------------------------------------------------------------ the sensor */

/*
 * The loop is a pipeline a few packets deep, so that the memory the tables need
 * for a packet is fetched while the packets before it are processed (a miss costs
 * as much as decoding a packet).  As packet t is read it is copied, decoded and
 * hashed, and its flow index slot prefetched; packet t - SENSOR_D_FLOW then
 * prefetches its flow (and, for a new flow, the hash buckets its hosts will be
 * looked up in), packet t - SENSOR_D_HOST what its flow points to (hosts, asset
 * entries, detector state), and packet t - SENSOR_D_RUN is processed.  The
 * pipeline slides packet by packet, so every packet gets the same lead; it
 * drains at the end of input, on a read timeout and after a live packet has
 * waited SENSOR_LIVE_HOLD_USEC.  Processing stays strictly in packet order.
 */
#define SENSOR_BATCH 16     /* pipeline slots, a power of two > SENSOR_D_RUN */
#define SENSOR_D_FLOW 3     /* packets between the index slot's prefetch and the flow's */
#define SENSOR_D_HOST 6     /* ... and the prefetch of what the flow points to */
#define SENSOR_D_RUN 9      /* ... and processing */
#define SENSOR_SLOT_BYTES 2048 /* copy room per slot; a larger packet drains the pipeline */
#define SENSOR_LIVE_HOLD_USEC 10000 /* a live packet waits at most this long in the pipeline */

struct sensor_slot {
    struct capture_pkt cp; /* the packet (data points into its copy, or the capture's if stable) */
    enum decode_rc rc;     /* decode result */
    uint64_t hash;         /* flow hash, when rc is DECODE_OK */
    const struct flow *guess; /* the flow it probably belongs to (stage 2 on), a hint */
};

struct sensor {
    const struct sensor_opts *opts;   /* command line */
    struct config *cfg;               /* configuration (empty without -c) */
    const char *name;                 /* sensor name (events, heartbeats) */
    const char *state_dir;            /* spool directory; console-pushed indicators live there */
    struct capture *cap;              /* packet source */
    int linktype;                     /* its link type */
    struct flow_table *flows;         /* live flows */
    struct host_table *hosts;         /* per-host counters */
    struct detect_engine *detect;     /* detectors */
    struct asset_tracker *assets;     /* inventory (NULL if disabled) */
    struct evring *ring;              /* evidence ring (NULL if evidence is off) */
    struct evidence *evidence;        /* evidence files (NULL if off) */
    struct contain *contain;          /* enforcement (console mode only) */
    struct uplink *uplink;            /* console link (NULL offline) */
    struct sink_jsonl jsonl;          /* offline writer */
    struct sink out;                  /* the final sink: jsonl or uplink */
    struct sink ev_sink;              /* what detectors write to (evidence-wrapped) */
    struct decode_stats dstats;       /* decode counters */
    struct sensor_slot batch[SENSOR_BATCH]; /* packets read but not yet processed (a ring) */
    struct pkt pkts[SENSOR_BATCH];    /* their decoded forms */
    uint64_t batch_head;              /* packets processed so far (next to process) */
    uint64_t batch_tail;              /* packets read so far (next slot to fill) */
    uint64_t batch_mono_usec;         /* when the oldest waiting packet arrived (live) */
    uint8_t arena[SENSOR_BATCH][SENSOR_SLOT_BYTES]; /* copies of their bytes, per slot */
    uint8_t big[SENSOR_MAX_SNAPLEN];  /* the copy of a packet too large for a slot */
    uint64_t now_usec;                /* packet clock */
    uint64_t next_tick_usec;          /* when the next tick is due */
    uint64_t next_service_usec;       /* monotonic: next uplink service between ticks */
    uint64_t start_mono_usec;         /* for uptime */
    uint64_t flow_ends;               /* flows ended */
    bool heightened;                  /* heightened mode in force */
    char source[256];                 /* capture source, for heartbeats */
    /* Heartbeat counters, kept here so the pointers outlive sensor_heartbeat(). */
    Ward__Counter counters[SENSOR_COUNTERS];
    Ward__Counter *counter_ptrs[SENSOR_COUNTERS];
    char counter_names[SENSOR_COUNTERS][48];
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;
static struct capture *signal_capture;

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
    capture_stop(signal_capture);
}

static void on_hup(int sig)
{
    (void)sig;
    reload_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void on_flow_end(void *arg, const struct flow *f)
{
    struct sensor *s = arg;
    s->flow_ends++;
    host_table_flow_end(s->hosts, f);
    detect_engine_flow_end(s->detect, f);
}

static int drop_privileges(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        log_err("sensor: no such user '%s'", user);
        return -ENOENT;
    }
    if (geteuid() == pw->pw_uid && getuid() == pw->pw_uid)
        return 0; /* already that user */
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        int e = errno;
        log_err("sensor: cannot switch to user '%s': %s", user, strerror(e));
        return -e;
    }
    if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        log_err("sensor: privileges could be regained after switching to '%s'", user);
        return -EPERM;
    }
    log_info("sensor: running as user %s (uid %u)", user, (unsigned)pw->pw_uid);
    return 0;
}

/* [capture] and command-line options into capture_opts. */
static int capture_settings(struct sensor *s, struct capture_opts *co)
{
    const struct sensor_opts *o = s->opts;
    struct config *cfg = s->cfg;
    uint64_t snap, buf, timeout;
    bool promisc, immediate;
    memset(co, 0, sizeof(*co));
    const char *iface = config_get_str(cfg, "capture", "interface", NULL);
    const char *file = config_get_str(cfg, "capture", "file", NULL);
    const char *filter = config_get_str(cfg, "capture", "filter", NULL);
    const char *reader = o->file_reader ? o->file_reader
                                        : config_get_str(cfg, "capture", "file_reader", "auto");
    if (config_get_u64(cfg, "capture", "snaplen", CAPTURE_DEFAULT_SNAPLEN, &snap) < 0 ||
        config_get_size(cfg, "capture", "buffer_size", 0, &buf) < 0 ||
        config_get_bool(cfg, "capture", "promisc", true, &promisc) < 0 ||
        config_get_bool(cfg, "capture", "immediate", false, &immediate) < 0 ||
        config_get_duration(cfg, "capture", "timeout", CAPTURE_DEFAULT_TIMEOUT_MS * USEC_PER_MSEC,
                            &timeout) < 0)
        return -EINVAL;
    if (snap < 64 || snap > SENSOR_MAX_SNAPLEN)
        return config_fail(cfg, "capture", "snaplen", "must be 64..262144");
    if (buf > (1ULL << 31))
        return config_fail(cfg, "capture", "buffer_size", "at most 2G");
    if (timeout < USEC_PER_MSEC || timeout > 10 * USEC_PER_SEC)
        return config_fail(cfg, "capture", "timeout", "must be 1ms..10s");
    if (!file_reader_known(reader))
        return config_fail(cfg, "capture", "file_reader", "must be auto or libpcap");
    if (o->file || o->iface) {
        co->file = o->file;
        co->iface = o->iface;
    } else {
        co->file = file;
        co->iface = file ? NULL : iface;
    }
    co->filter = o->filter ? o->filter : filter;
    co->snaplen = o->snaplen ? o->snaplen : (uint32_t)snap;
    co->buffer_bytes = (uint32_t)(o->buffer_bytes ? o->buffer_bytes : buf);
    co->promisc = o->promisc >= 0 ? o->promisc != 0 : promisc;
    co->immediate = o->immediate >= 0 ? o->immediate != 0 : immediate;
    co->timeout_ms = (int)(timeout / USEC_PER_MSEC);
    co->replay_speed = o->replay ? o->speed : 0;
    co->libpcap_files = strcmp(reader, "libpcap") == 0;
    return 0;
}

static void tick(struct sensor *s, uint64_t now)
{
    flow_table_expire(s->flows, now);
    detect_engine_tick(s->detect, now);
    asset_tracker_tick(s->assets, now);
    if (s->evidence)
        evidence_tick(s->evidence, now);
    if (s->contain)
        contain_tick(s->contain);
    if (s->uplink)
        uplink_service(s->uplink);
    if (reload_requested) {
        reload_requested = 0;
        (void)detect_engine_reload(s->detect);
    }
    s->next_tick_usec = now - now % SENSOR_TICK_USEC + SENSOR_TICK_USEC;
}

/* Stage 1, as a packet is read: keep a copy (unless copy is NULL: the capture's
 * bytes are stable), decode it, prefetch its flow index slot. */
static void stage_read(struct sensor *s, const struct capture_pkt *cp, uint8_t *copy)
{
    size_t at = s->batch_tail++ & (SENSOR_BATCH - 1);
    struct sensor_slot *sl = &s->batch[at];
    /* Field by field: cp was just written field by field, and one wide load of
     * it would wait for those stores to retire instead of forwarding them. */
    sl->cp.caplen = cp->caplen;
    sl->cp.wirelen = cp->wirelen;
    sl->cp.ts_usec = cp->ts_usec;
    sl->cp.stable = cp->stable;
    sl->cp.data = cp->data;
    if (copy) {
        memcpy(copy, cp->data, cp->caplen);
        sl->cp.data = copy;
    }
    struct pkt *p = &s->pkts[at];
    sl->rc = decode_packet(s->linktype, sl->cp.data, cp->caplen, cp->wirelen, cp->ts_usec, p);
    if (sl->rc == DECODE_OK) {
        sl->hash = flow_table_hash(s->flows, p);
        flow_table_prefetch_slot(s->flows, sl->hash);
    }
}

/* Stage 2: the flow (its index slot has arrived); for a new flow, the hash
 * buckets of its hosts; detectors' first prefetch. */
static void stage_flow(struct sensor *s, size_t at)
{
    if (s->batch[at].rc != DECODE_OK)
        return;
    const struct pkt *p = &s->pkts[at];
    /* Every line a packet touches, detectors' and the tracker's fields too. */
    const struct flow *g = flow_table_prefetch_flow(s->flows, s->batch[at].hash);
    s->batch[at].guess = g;
    if (g) {
        __builtin_prefetch(&g->det);
        __builtin_prefetch(&g->asset_host);
        __builtin_prefetch(&g->host_due_usec);
        __builtin_prefetch(&g->hash);
        __builtin_prefetch(&g->host_slot);
    } else if (p->layers & (PKT_IP4 | PKT_IP6)) {
        /* A new flow: its hosts are looked up by hash. */
        host_table_prefetch_addr(s->hosts, &p->src, 0);
        host_table_prefetch_addr(s->hosts, &p->dst, 0);
        asset_tracker_prefetch_lookup(s->assets, p, 0);
    }
    detect_engine_prefetch(s->detect, p, g, 0);
}

/* Stage 3: the flow has arrived; what it points to (hosts, asset entries,
 * detector state), or for a new flow the entries its buckets lead to. */
static void stage_host(struct sensor *s, size_t at)
{
    if (s->batch[at].rc != DECODE_OK)
        return;
    const struct pkt *p = &s->pkts[at];
    const struct flow *g = s->batch[at].guess;
    host_table_prefetch_flow(s->hosts, g, p->ts_usec);
    asset_tracker_prefetch_flow(s->assets, p, g);
    if (!g && (p->layers & (PKT_IP4 | PKT_IP6))) {
        host_table_prefetch_addr(s->hosts, &p->src, 1);
        host_table_prefetch_addr(s->hosts, &p->dst, 1);
        asset_tracker_prefetch_lookup(s->assets, p, 1);
    }
    detect_engine_prefetch(s->detect, p, g, 1);
}

/* Stage 4, in packet order: everything else. */
static void process(struct sensor *s, size_t i)
{
    struct sensor_slot *sl = &s->batch[i];
    const struct capture_pkt *cp = &sl->cp;
    struct pkt *p = &s->pkts[i];
    if (s->ring)
        evring_add(s->ring, cp->ts_usec, cp->data, cp->caplen, cp->wirelen);
    decode_count(&s->dstats, p, sl->rc);
    if (cp->ts_usec > s->now_usec)
        s->now_usec = cp->ts_usec;
    if (s->now_usec >= s->next_tick_usec)
        tick(s, s->now_usec);
    if (sl->rc != DECODE_OK)
        return; /* counted by reason; never trusted further */
    struct flow *f = NULL;
    int dir = FLOW_ORIG;
    if (p->layers & (PKT_IP4 | PKT_IP6)) {
        f = flow_table_update_hashed(s->flows, p, sl->hash, &dir);
        host_table_packet(s->hosts, p, f, dir);
    }
    detect_engine_packet(s->detect, p, f, dir);
    asset_tracker_packet(s->assets, p, f, dir);
}

/* Advances the pipeline as if packet t had just been read: stages 2 and 3 and
 * processing of the packets SENSOR_D_* before it that are still waiting. */
static void stage_step(struct sensor *s, uint64_t t)
{
    if (t >= SENSOR_D_FLOW && t - SENSOR_D_FLOW >= s->batch_head &&
        t - SENSOR_D_FLOW < s->batch_tail)
        stage_flow(s, (t - SENSOR_D_FLOW) & (SENSOR_BATCH - 1));
    if (t >= SENSOR_D_HOST && t - SENSOR_D_HOST >= s->batch_head &&
        t - SENSOR_D_HOST < s->batch_tail)
        stage_host(s, (t - SENSOR_D_HOST) & (SENSOR_BATCH - 1));
    if (t >= SENSOR_D_RUN && t - SENSOR_D_RUN == s->batch_head && s->batch_head < s->batch_tail)
        process(s, s->batch_head++ & (SENSOR_BATCH - 1));
}

/* Processes every waiting packet. */
static void batch_run(struct sensor *s)
{
    for (uint64_t t = s->batch_tail; s->batch_head < s->batch_tail; t++)
        stage_step(s, t);
}

/* Reads packet cp into the pipeline and advances it. */
static void batch_add(struct sensor *s, const struct capture_pkt *cp)
{
    if (cp->stable) {
        /* Lent until CAPTURE_RECYCLE, whatever its size: no copy. */
        stage_read(s, cp, NULL);
        stage_step(s, s->batch_tail - 1);
        return;
    }
    if (cp->caplen > SENSOR_SLOT_BYTES) {
        /* A rare giant (offloaded segments): on its own, through the spare buffer. */
        batch_run(s);
        stage_read(s, cp, s->big);
        batch_run(s);
        return;
    }
    uint8_t *copy = s->arena[s->batch_tail & (SENSOR_BATCH - 1)];
    stage_read(s, cp, copy);
    stage_step(s, s->batch_tail - 1);
}

static uint64_t sum_decode_errors(const struct decode_stats *d)
{
    uint64_t n = 0;
    for (int a = 1; a < ANOM_COUNT; a++) {
        if (a != ANOM_IP4_FRAGMENT && a != ANOM_TCP_BAD_FLAGS)
            n += d->anomalies[a];
    }
    return n;
}

static size_t memory_in_use(const struct sensor *s)
{
    size_t m = flow_table_memory(s->flows) + host_table_memory(s->hosts) +
               detect_engine_memory(s->detect) + asset_tracker_memory(s->assets);
    if (s->ring) {
        struct evring_stats rs;
        evring_get_stats(s->ring, &rs);
        m += rs.memory;
    }
    if (s->evidence) {
        struct evidence_stats es;
        evidence_get_stats(s->evidence, &es);
        m += es.memory;
    }
    return m;
}

static void add_counter(struct sensor *s, size_t *n, const char *prefix, const char *name,
                        uint64_t v)
{
    if (*n >= SENSOR_COUNTERS || v == 0)
        return;
    Ward__Counter *c = &s->counters[*n];
    ward__counter__init(c);
    snprintf(s->counter_names[*n], sizeof(s->counter_names[*n]), "%s%s", prefix, name);
    c->name = s->counter_names[*n];
    c->value = v;
    s->counter_ptrs[*n] = c;
    (*n)++;
}

void sensor_heartbeat(void *arg, Ward__Heartbeat *hb)
{
    struct sensor *s = arg;
    struct capture_stats cs = {0};
    if (s->cap)
        (void)capture_stats(s->cap, &cs);
    hb->uptime_sec = (clock_mono_usec() - s->start_mono_usec) / USEC_PER_SEC;
    hb->packets = s->dstats.packets;
    hb->bytes = s->dstats.bytes;
    hb->kernel_drops = cs.dropped;
    hb->decode_errors = sum_decode_errors(&s->dstats);
    hb->flows = flow_table_count(s->flows);
    hb->flow_evictions = flow_table_evictions(s->flows);
    hb->host_evictions = host_table_evictions(s->hosts);
    hb->memory_bytes = memory_in_use(s);
    hb->heightened = s->heightened;
    hb->factor = detect_engine_factor(s->detect);
    struct detect_intel_stats is;
    detect_engine_intel_stats(s->detect, &is);
    hb->intel_version = is.version;
    snprintf(s->source, sizeof(s->source), "%s", s->cap ? capture_source(s->cap) : "");
    hb->interface = s->source;
    if (s->contain)
        hb->isolated = (uint32_t)contain_count(s->contain);
    size_t n = 0;
    for (int a = 1; a < ANOM_COUNT; a++)
        add_counter(s, &n, "decode.", decode_anomaly_name((enum pkt_anomaly)a),
                    s->dstats.anomalies[a]);
    for (int r = 1; r < DECODE_RC_COUNT; r++)
        add_counter(s, &n, "decode.", decode_rc_name((enum decode_rc)r), s->dstats.rc[r]);
    add_counter(s, &n, "", "flows.created", flow_table_created(s->flows));
    add_counter(s, &n, "", "flows.evicted", flow_table_evictions(s->flows));
    add_counter(s, &n, "", "hosts.tracked", host_table_count(s->hosts));
    add_counter(s, &n, "", "hosts.evicted", host_table_evictions(s->hosts));
    add_counter(s, &n, "", "events.allowlisted", detect_engine_allowed(s->detect));
    add_counter(s, &n, "", "detect.evicted", detect_engine_evictions(s->detect));
    add_counter(s, &n, "", "intel.pushed_addresses", is.addresses);
    add_counter(s, &n, "", "intel.pushed_domains", is.domains);
    add_counter(s, &n, "", "intel.updates", is.updates);
    add_counter(s, &n, "", "intel.refused", is.refused);
    add_counter(s, &n, "", "intel.pushed_hits", is.hits);
    struct asset_stats as;
    asset_tracker_stats(s->assets, &as);
    add_counter(s, &n, "", "assets.hosts", as.hosts);
    add_counter(s, &n, "", "assets.host_evictions", as.host_evictions);
    add_counter(s, &n, "", "assets.mac_evictions", as.mac_evictions);
    add_counter(s, &n, "", "assets.updates", as.updates);
    hb->counters = s->counter_ptrs;
    hb->n_counters = n;
}

static void print_stats(struct sensor *s)
{
    Ward__Heartbeat hb;
    ward__heartbeat__init(&hb);
    sensor_heartbeat(s, &hb);
    log_info("sensor: %s: %llu packets, %llu bytes, %llu decode errors, %llu flows created, "
             "%llu flow evictions, %zu hosts, %llu host evictions, %llu kernel drops, "
             "%zu bytes of tables",
             hb.interface, (unsigned long long)hb.packets, (unsigned long long)hb.bytes,
             (unsigned long long)hb.decode_errors,
             (unsigned long long)flow_table_created(s->flows),
             (unsigned long long)hb.flow_evictions, host_table_count(s->hosts),
             (unsigned long long)hb.host_evictions, (unsigned long long)hb.kernel_drops,
             (size_t)hb.memory_bytes);
    if (!s->opts->stats_json)
        return;
    json_t *j = json_object();
    if (!j)
        return;
    json_object_set_new(j, "source", json_string(hb.interface));
    json_set_u64(j, "packets", hb.packets);
    json_set_u64(j, "bytes", hb.bytes);
    json_set_u64(j, "kernel_drops", hb.kernel_drops);
    json_set_u64(j, "decode_errors", hb.decode_errors);
    json_set_u64(j, "flows_created", flow_table_created(s->flows));
    json_set_u64(j, "flow_evictions", hb.flow_evictions);
    json_set_u64(j, "hosts", host_table_count(s->hosts));
    json_set_u64(j, "host_evictions", hb.host_evictions);
    json_set_u64(j, "memory_bytes", hb.memory_bytes);
    json_set_u64(j, "events", s->jsonl.events);
    json_t *c = json_object();
    for (size_t i = 0; c && i < hb.n_counters; i++)
        json_set_u64(c, hb.counters[i]->name, hb.counters[i]->value);
    if (c)
        json_object_set_new(j, "counters", c);
    (void)json_write_line(stderr, j);
    json_decref(j);
}

/* ------------------------------------------------------------------ commands */

static void answer(struct sensor *s, const Ward__Command *cmd, bool ok, const char *detail)
{
    (void)sink_result(&s->out, cmd->id, ok, "sensor", detail);
}

static void on_command(void *arg, const Ward__Command *cmd)
{
    struct sensor *s = arg;
    switch (cmd->kind_case) {
    case WARD__COMMAND__KIND_ISOLATE:
    case WARD__COMMAND__KIND_RELEASE:
        if (s->contain)
            (void)contain_command(s->contain, cmd);
        else
            answer(s, cmd, false, "containment is not configured on this sensor");
        break;
    case WARD__COMMAND__KIND_CAPTURE:
        if (s->evidence)
            (void)evidence_command(s->evidence, cmd, s->now_usec);
        else
            answer(s, cmd, false, "evidence is disabled on this sensor");
        break;
    case WARD__COMMAND__KIND_INTEL: {
        const Ward__IntelUpdate *u = cmd->intel;
        char detail[512];
        struct detect_intel di = {
            .addresses = (const char *const *)u->addresses,
            .n_addresses = u->n_addresses,
            .domains = (const char *const *)u->domains,
            .n_domains = u->n_domains,
            .replace = u->replace,
            .version = u->version,
            .base_version = u->base_version,
        };
        int rc = detect_engine_intel(s->detect, &di, detail, sizeof(detail));
        answer(s, cmd, rc == 0, detail);
        break;
    }
    case WARD__COMMAND__KIND_SET_MODE: {
        const Ward__SetMode *m = cmd->set_mode;
        double f = m && m->factor > 0 && m->factor <= 1 ? m->factor : 0.5;
        bool on = m && m->heightened;
        detect_engine_set_heightened(s->detect, on, f);
        s->heightened = on;
        log_info("sensor: heightened mode %s (factor %.2f)", on ? "on" : "off", f);
        answer(s, cmd, true, on ? "heightened mode on" : "heightened mode off");
        break;
    }
    default:
        answer(s, cmd, false, "command not supported by this sensor");
        break;
    }
}

/* ------------------------------------------------------------------ set-up */

static int open_output(struct sensor *s)
{
    const struct sensor_opts *o = s->opts;
    bool console = o->console || o->keys || o->console_key || o->spool ||
                   config_has(s->cfg, "uplink", "console");
    if (o->output || !console) {
        if (!o->output) {
            log_err("sensor: nowhere to send events: give -o jsonl, or --console with "
                    "--keys, --console-key, --name and --spool (or [uplink] in the config)");
            return -EINVAL;
        }
        s->out = sink_jsonl_init(&s->jsonl, stdout, s->name, o->assets, false);
        return 0;
    }
    struct uplink_opts uo;
    uplink_opts_default(&uo);
    if (uplink_opts_from_config(s->cfg, &uo) < 0) {
        log_err("%s", config_error(s->cfg));
        return -EINVAL;
    }
    if (o->console)
        uo.endpoint = o->console;
    if (o->keys)
        uo.keys_dir = o->keys;
    if (o->console_key)
        uo.console_pub = o->console_key;
    if (o->name)
        uo.name = o->name;
    if (o->spool)
        uo.spool_dir = o->spool;
    if (!uo.endpoint || !uo.keys_dir || !uo.console_pub || !uo.name || !uo.spool_dir) {
        log_err("sensor: console mode needs --console, --keys, --console-key, --name and "
                "--spool (or [uplink] console, keys, console_key, name, spool_dir)");
        return -EINVAL;
    }
    s->name = uo.name;
    s->state_dir = uo.spool_dir;
    int rc = uplink_open(&uo, &s->uplink);
    if (rc < 0)
        return rc;
    s->out = *uplink_sink(s->uplink);
    return 0;
}

static int open_pipeline(struct sensor *s)
{
    struct config *cfg = s->cfg;
    uint64_t max_flows, idle, active, max_hosts, window;
    if (config_get_u64(cfg, "sensor", "max_flows", FLOW_TABLE_DEFAULT_CAP, &max_flows) < 0 ||
        config_get_duration(cfg, "sensor", "flow_idle_timeout", FLOW_TABLE_DEFAULT_IDLE_USEC,
                            &idle) < 0 ||
        config_get_duration(cfg, "sensor", "flow_active_timeout", FLOW_TABLE_DEFAULT_ACTIVE_USEC,
                            &active) < 0 ||
        config_get_u64(cfg, "sensor", "max_hosts", HOST_TABLE_DEFAULT_CAP, &max_hosts) < 0 ||
        config_get_duration(cfg, "sensor", "host_window", HOST_TABLE_DEFAULT_WINDOW_USEC,
                            &window) < 0)
        goto bad_config;
    if (max_flows < 16 || max_flows > (1u << 26)) {
        config_fail(cfg, "sensor", "max_flows", "must be 16..67108864");
        goto bad_config;
    }
    if (max_hosts < 16 || max_hosts > (1u << 26)) {
        config_fail(cfg, "sensor", "max_hosts", "must be 16..67108864");
        goto bad_config;
    }
    if (idle == 0 || active == 0 || window == 0) {
        config_fail(cfg, "sensor", "flow_idle_timeout", "timeouts and windows must be > 0");
        goto bad_config;
    }
    s->flows = flow_table_new(max_flows, idle, active, on_flow_end, s);
    s->hosts = host_table_new(max_hosts, window);
    if (!s->flows || !s->hosts) {
        log_err("sensor: out of memory for %llu flows and %llu hosts",
                (unsigned long long)max_flows, (unsigned long long)max_hosts);
        return -ENOMEM;
    }

    int rc = open_output(s);
    if (rc < 0)
        return rc;

    /* Evidence: always with a console; offline only when files are asked for. */
    struct evidence_cfg ec;
    if (evidence_config(cfg, &ec) < 0)
        goto bad_config;
    bool want_evidence = ec.enabled && (s->uplink || (ec.dir && ec.dir[0]));
    s->ev_sink = s->out;
    if (want_evidence) {
        s->ring = evring_new(ec.ring_bytes, ec.ring_usec, s->linktype);
        if (s->ring)
            s->evidence = evidence_new(&ec, s->ring, &s->out);
        if (!s->ring || !s->evidence) {
            log_err("sensor: cannot set up evidence (ring of %llu bytes)",
                    (unsigned long long)ec.ring_bytes);
            return -ENOMEM;
        }
        s->ev_sink = evidence_sink(s->evidence);
    }

    if (s->uplink) {
        struct contain_cfg cc;
        if (contain_config(cfg, &cc) < 0)
            goto bad_config;
        rc = contain_open(&cc, &s->out, &s->contain);
        if (rc == 0 && s->ring && contain_watch(s->contain, s->ring) < 0)
            log_warn("sensor: containment cannot watch for leaks: no free evidence ring tap");
        contain_config_fini(&cc);
        if (rc < 0)
            return rc;
        uplink_on_stats(s->uplink, sensor_heartbeat, s);
        uplink_on_command(s->uplink, on_command, s);
    }

    s->detect = detect_engine_new(cfg, s->opts->home_net, &s->ev_sink, s->hosts);
    if (!s->detect)
        goto bad_config;
    if (s->state_dir && (rc = detect_engine_intel_open(s->detect, s->state_dir)) < 0)
        return rc;
    if (asset_tracker_open(cfg, s->opts->home_net, &s->out, &s->assets) < 0)
        goto bad_config;

    /* Every key must have been read by someone: a typo is an error, not a default. */
    static const char *const offline_unused[] = {"uplink", "contain", NULL};
    if (config_check_unused(cfg, s->uplink ? NULL : offline_unused) < 0)
        goto bad_config;
    return 0;
bad_config:
    log_err("%s", config_error(cfg));
    return -EINVAL;
}

static void close_all(struct sensor *s)
{
    asset_tracker_free(s->assets);
    detect_engine_free(s->detect);
    contain_close(s->contain);
    evidence_free(s->evidence);
    evring_free(s->ring);
    uplink_close(s->uplink);
    flow_table_free(s->flows);
    host_table_free(s->hosts);
    capture_close(s->cap);
    signal_capture = NULL;
    config_free(s->cfg);
}

/* ------------------------------------------------------------------ run */

static int run_loop(struct sensor *s)
{
    bool live = capture_is_live(s->cap);
    int rc = 0;
    while (!stop_requested) {
        struct capture_pkt cp;
        int n = capture_next(s->cap, &cp);
        if (n == 1) {
            if (s->batch_head == s->batch_tail && live)
                s->batch_mono_usec = clock_mono_usec();
            batch_add(s, &cp);
            /* Live traffic that trickles in is not held back for long. */
            if (live && clock_mono_usec() - s->batch_mono_usec > SENSOR_LIVE_HOLD_USEC)
                batch_run(s);
            /* Commands (isolate, release) must not wait for a tick of busy traffic. */
            if (live && s->uplink && clock_mono_usec() >= s->next_service_usec) {
                uplink_service(s->uplink);
                s->next_service_usec = clock_mono_usec() + SENSOR_SERVICE_USEC;
            }
            continue;
        }
        batch_run(s);
        if (n == CAPTURE_RECYCLE)
            continue; /* the lent packets are processed; the capture may reuse them */
        if (n == -ENODATA)
            break;
        if (n < 0) {
            rc = n;
            break;
        }
        /* A quiet live interface: packet time follows the wall clock. */
        if (live) {
            uint64_t now = clock_now_usec();
            if (now > s->now_usec)
                s->now_usec = now;
            if (s->now_usec >= s->next_tick_usec)
                tick(s, s->now_usec);
            else if (s->uplink)
                uplink_service(s->uplink);
        }
    }
    batch_run(s);
    /* End of input: every flow ends, every open event is reported. */
    flow_table_flush(s->flows);
    detect_engine_flush(s->detect, s->now_usec);
    asset_tracker_flush(s->assets);
    if (s->evidence)
        evidence_flush(s->evidence);
    if (s->uplink)
        uplink_service(s->uplink);
    return rc;
}

int sensor_run(const struct sensor_opts *o)
{
    static struct sensor sensor_storage; /* large (struct pkt); one per process */
    struct sensor *s = &sensor_storage;
    memset(s, 0, sizeof(*s));
    s->opts = o;
    s->name = o->name;
    s->start_mono_usec = clock_mono_usec();
    log_open("ward-sensor", false,
             o->verbose >= 2 ? LOG_LEVEL_DEBUG : o->verbose ? LOG_LEVEL_INFO : LOG_LEVEL_INFO);
    int status = 1;

    if (o->config) {
        char err[CONFIG_ERR_LEN];
        if (config_load(o->config, &s->cfg, err, sizeof(err)) < 0) {
            log_err("%s", err);
            return 1;
        }
    } else {
        s->cfg = config_new_empty("(no config)");
        if (!s->cfg)
            return 1;
    }

    struct capture_opts co;
    if (capture_settings(s, &co) < 0) {
        log_err("%s", config_error(s->cfg));
        goto out;
    }
    if (!co.file && !co.iface) {
        log_err("sensor: nothing to read: give -r FILE or -i IFACE (or [capture] file or "
                "interface)");
        status = 2;
        goto out;
    }
    const char *user = o->user ? o->user : config_get_str(s->cfg, "sensor", "user", NULL);
    if (!o->name)
        s->name = config_get_str(s->cfg, "sensor", "name", NULL);
    if (co.iface && geteuid() == 0 && !user && !o->allow_root) {
        log_err("sensor: refusing to capture on %s as root without -u USER (or --allow-root)",
                co.iface);
        goto out;
    }
    if (capture_open(&co, &s->cap) < 0)
        goto out;
    s->linktype = capture_linktype(s->cap);
    signal_capture = s->cap;
    if (user && drop_privileges(user) < 0)
        goto out;
    if (open_pipeline(s) < 0)
        goto out;
    install_signals();
    log_info("sensor: reading %s%s", capture_source(s->cap),
             co.replay_speed > 0 ? " (paced replay)" : "");
    if (run_loop(s) == 0)
        status = 0;
    print_stats(s);
out:
    close_all(s);
    return status;
}
