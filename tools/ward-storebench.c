/*
 * ward-storebench -- the console's storage ceiling without the transport: the
 * same event rows as ward-loadgen makes, written with the same store calls
 * (store_events_upsert, store_sensors_set_acked) in one transaction per batch,
 * into a fresh database.  make bench-console divides the real path's durable
 * rate by this one.
 *
 *   ward-storebench DB N [BATCH]     prints "storebench: N events in S s: R events/s"
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "console.h"
#include "keys.h"
#include "log.h"
#include "store.h"
#include "store_events.h"
#include "store_sensors.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ward-storebench DB N [BATCH]\n");
        return 2;
    }
    uint64_t n = strtoull(argv[2], NULL, 10);
    uint64_t batch = argc > 3 ? strtoull(argv[3], NULL, 10) : 1024;
    if (!n || !batch)
        return 2;
    log_open("ward-storebench", false, LOG_LEVEL_WARN);
    if (keys_init() < 0)
        return 1;
    struct store *st;
    if (store_open(argv[1], &st) < 0)
        return 1;
    struct keys_identity id;
    if (keys_generate(&id) < 0 || store_sensors_add(st, "bench", &id.pub, clock_now_usec()) < 0)
        return 1;
    struct sensor_row row;
    if (store_sensors_by_name(st, "bench", &row) < 0)
        return 1;
    uint64_t t0 = clock_mono_usec();
    for (uint64_t i = 0; i < n;) {
        if (store_begin(st) < 0)
            return 1;
        uint64_t end = WARD_MIN(n, i + batch);
        for (; i < end; i++) {
            char uid[64], src[32], summary[128];
            uint32_t ports[4];
            Ward__Event ev;
            ward__event__init(&ev);
            snprintf(uid, sizeof(uid), "bench-%" PRIu64, i);
            snprintf(src, sizeof(src), "10.%u.%u.%u", (unsigned)(i >> 16) & 255,
                     (unsigned)(i >> 8) & 255, (unsigned)i & 255);
            snprintf(summary, sizeof(summary), "synthetic port scan %" PRIu64 " from %s", i, src);
            for (unsigned k = 0; k < 4; k++)
                ports[k] = 20 + k + (unsigned)(i % 1000);
            uint64_t t = 1700000000000000ull + i * 1000;
            ev.uid = uid;
            ev.revision = 1;
            ev.kind = WARD__EVENT_KIND__PORTSCAN;
            ev.subtype = (char *)(uintptr_t) "vertical";
            ev.src = src;
            ev.dst = (char *)(uintptr_t) "10.9.9.9";
            ev.proto = 6;
            ev.ports = ports;
            ev.n_ports = 4;
            ev.first_usec = t;
            ev.last_usec = t + 500000;
            ev.packets = 100 + i % 50;
            ev.bytes = 6000 + i % 999;
            ev.count = 25;
            ev.severity = 40;
            ev.confidence = 80;
            ev.summary = summary;
            struct msg_origin o = {"bench", i + 1, row.id, 0};
            int64_t rowid;
            if (store_events_upsert(st, &o, &ev, clock_now_usec(), &rowid) < 0)
                return 1;
        }
        if (store_sensors_set_acked(st, row.id, i) < 0 || store_commit(st) < 0)
            return 1;
    }
    uint64_t dt = clock_mono_usec() - t0;
    printf("storebench: %" PRIu64 " events in %.3f s: %.0f events/s\n", n, (double)dt / 1e6,
           (double)n * 1e6 / (double)(dt ? dt : 1));
    store_close(st);
    keys_wipe(&id);
    return 0;
}
