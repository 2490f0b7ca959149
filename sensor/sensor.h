/*
 * sensor -- ward-sensor's options, configuration and run loop.
 *
 * sensor_opts_parse() reads the command line; sensor_run() loads the
 * configuration ([capture], [sensor], and the sections of every module it
 * wires), opens the capture, drops privileges, builds the pipeline
 *
 *   capture -> decode -> flow table -> host table -> detectors, assets
 *           -> evidence ring                          |
 *                                 events -> evidence -> jsonl sink | uplink
 *
 * and runs it until the file ends or SIGINT/SIGTERM, then flushes every flow and
 * open event.  All time-based logic runs on packet time; a live capture that
 * goes quiet advances it by the wall clock.  Capture thread only (the uplink
 * keeps its own I/O thread).
 */
#ifndef WARD_SENSOR_H
#define WARD_SENSOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ward.h"
#include "ward.pb-c.h"

struct sensor_opts {
    const char *file;         /* -r FILE */
    const char *iface;        /* -i IFACE */
    const char *filter;       /* -f BPF */
    uint32_t snaplen;         /* -s SNAPLEN, 0 = config or default */
    uint64_t buffer_bytes;    /* -B BUFSIZE, 0 = config or default */
    int promisc;              /* --no-promisc sets 0; -1 = config (default on) */
    int immediate;            /* --immediate sets 1; -1 = config (default off) */
    bool replay;              /* --replay: pace the file by its timestamps */
    double speed;             /* --speed N (implies --replay); 0 = 1 */
    const char *config;       /* -c CONFIG */
    const char *output;       /* -o jsonl */
    bool assets;              /* --assets: asset updates as JSON lines too */
    const char *home_net;     /* --home-net CIDR[,CIDR...] */
    const char *user;         /* -u USER */
    bool allow_root;          /* --allow-root */
    int verbose;              /* -v (repeatable) */
    const char *console;      /* --console tcp://HOST:PORT */
    const char *keys;         /* --keys DIR */
    const char *console_key;  /* --console-key FILE */
    const char *name;         /* --name NAME */
    const char *spool;        /* --spool DIR */
    bool stats_json;          /* --stats-json: statistics as one JSON line on stderr at exit */
    const char *file_reader;  /* --file-reader auto|libpcap, NULL = config (default auto) */
};

/*
 * Parses argv into o.  Returns 0 to run, 1 when --help or --version was printed
 * (exit 0), or -EINVAL after printing what is wrong to stderr (exit 2).
 */
int sensor_opts_parse(int argc, char **argv, struct sensor_opts *o);
/* The manual page text of --help. */
void sensor_usage(FILE *f);

/* Runs the sensor; returns the process exit status (0 ok, 1 failure). */
int sensor_run(const struct sensor_opts *o);

struct sensor;
/*
 * Fills a heartbeat with the sensor's figures (packets, bytes, kernel drops,
 * decode errors by reason as counters, flows, evictions, memory).  hb must be
 * initialised; the counters it points to live in s until the next call.  The
 * signature matches uplink_stats_fn.
 */
void sensor_heartbeat(void *s, Ward__Heartbeat *hb);

#endif
