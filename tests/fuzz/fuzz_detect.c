/*
 * fuzz_detect -- an Ethernet frame through the decoders, the flow table and every
 * detector: the payload readers of the detectors (SMB, DCE/RPC, Kerberos DER) see
 * hostile bytes here.  The first two bytes pick the packet time step, so state
 * builds up across inputs the way a capture would drive it.
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decode.h"
#include "detect.h"
#include "flow_table.h"

/* Kept across inputs on purpose (state builds up); freed at exit so that a
 * leak checker sees only real leaks. */
static struct detect_engine *engine;
static struct config *cfg;
static struct flow_table *ft;

static void fuzz_detect_cleanup(void)
{
    flow_table_free(ft);
    detect_engine_free(engine);
    config_free(cfg);
    ft = NULL;
    engine = NULL;
    cfg = NULL;
}

static void on_end(void *arg, const struct flow *f)
{
    (void)arg;
    detect_engine_flow_end(engine, f);
}

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    static struct pkt p;
    static uint64_t now = 1700000000ULL * 1000000ULL;
    if (size < 3 || size > (64u << 10))
        return 0;
    if (!engine) {
        cfg = config_new_empty("fuzz");
        engine = detect_engine_new(cfg, NULL, NULL, NULL);
        ft = flow_table_new(4096, 60000000ULL, 1800000000ULL, on_end, NULL);
        if (!engine || !ft)
            __builtin_trap();
        atexit(fuzz_detect_cleanup);
    }
    now += ((uint64_t)data[0] << 8 | data[1]) * 1000ULL;
    uint32_t caplen = (uint32_t)(size - 2);
    if (decode_packet(DECODE_LINK_ETHERNET, data + 2, caplen, caplen, now, &p) != DECODE_OK)
        return 0;
    int dir = FLOW_ORIG;
    struct flow *f = flow_table_update(ft, &p, &dir);
    detect_engine_packet(engine, &p, f, dir);
    if ((data[0] & 0x0f) == 0x0f) {
        flow_table_expire(ft, now);
        detect_engine_tick(engine, now);
    }
    return 0;
}
