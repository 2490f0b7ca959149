/*
 * asset_inventory -- turns `ward-sensor --assets` JSON lines into a sorted
 * inventory, one host per line, for exact comparison in evaluations:
 *
 *   ip <TAB> mac <TAB> hostname <TAB> services ("tcp/135,udp/53", sorted)
 *
 * The latest update about a host wins (hosts by address; devices known only by
 * MAC by MAC).  A MAC-only record is left out when an address record carries the
 * same MAC, as the console ledger merges them.  Empty fields print as "-".
 * Non-asset lines (events) are skipped.  Usage: asset_inventory < updates.jsonl
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_LINE (1u << 20)

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_svc(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int c = strncmp(x, y, 3); /* proto first, then port numerically */
    if (c)
        return c;
    return atoi(x + 4) - atoi(y + 4);
}

static const char *dash(const char *s)
{
    return s && s[0] ? s : "-";
}

int main(void)
{
    char *line = malloc(MAX_LINE);
    json_t *hosts = json_object(); /* key -> latest update */
    if (!line || !hosts)
        return 1;
    while (fgets(line, MAX_LINE, stdin)) {
        json_t *j = json_loads(line, 0, NULL);
        if (!json_is_object(j) || strcmp(json_str(j, "type", ""), "asset") != 0) {
            json_decref(j);
            continue;
        }
        const char *ip = json_str(j, "ip", "");
        char key[128];
        snprintf(key, sizeof(key), "%s%s", ip[0] ? "ip " : "mac ", ip[0] ? ip : json_str(j, "mac", ""));
        json_object_set_new(hosts, key, j);
    }
    free(line);

    json_t *bound = json_object(); /* MACs on address records */
    const char *key;
    json_t *h;
    json_object_foreach(hosts, key, h) {
        if (json_str(h, "ip", "")[0] && json_str(h, "mac", "")[0])
            json_object_set_new(bound, json_str(h, "mac", ""), json_true());
    }
    size_t n = 0, cap = json_object_size(hosts) + 1;
    char **out = calloc(cap, sizeof(*out));
    json_object_foreach(hosts, key, h) {
        const char *ip = json_str(h, "ip", "");
        const char *mac = json_str(h, "mac", "");
        if (!ip[0] && json_object_get(bound, mac))
            continue;
        json_t *svcs = json_object_get(h, "services");
        size_t ns = json_array_size(svcs);
        char **sv = calloc(ns + 1, sizeof(*sv));
        char services[4096] = "";
        for (size_t i = 0; i < ns; i++) {
            json_t *s = json_array_get(svcs, i);
            char buf[32];
            snprintf(buf, sizeof(buf), "%s/%llu", json_str(s, "proto", "?"),
                     (unsigned long long)json_u64(s, "port", 0));
            sv[i] = strdup(buf);
        }
        qsort(sv, ns, sizeof(*sv), cmp_svc);
        for (size_t i = 0; i < ns; i++) {
            size_t used = strlen(services);
            snprintf(services + used, sizeof(services) - used, "%s%s", i ? "," : "", sv[i]);
            free(sv[i]);
        }
        free(sv);
        char row[8192];
        snprintf(row, sizeof(row), "%s\t%s\t%s\t%s", dash(ip), dash(mac),
                 dash(json_str(h, "hostname", "")), dash(services));
        out[n++] = strdup(row);
    }
    qsort(out, n, sizeof(*out), cmp_str);
    for (size_t i = 0; i < n; i++) {
        printf("%s\n", out[i]);
        free(out[i]);
    }
    free(out);
    json_decref(bound);
    json_decref(hosts);
    return 0;
}
