/*
 * event_json -- see event_json.h.
 */
#include "event_json.h"

#include <string.h>

#include "ward.h"

static const struct {
    Ward__EventKind kind;
    const char *name;
} kinds[] = {
    {WARD__EVENT_KIND__PORTSCAN, "portscan"},
    {WARD__EVENT_KIND__BRUTEFORCE, "bruteforce"},
    {WARD__EVENT_KIND__BEACON, "beacon"},
    {WARD__EVENT_KIND__DNS_TUNNEL, "dns_tunnel"},
    {WARD__EVENT_KIND__EXFIL, "exfil"},
    {WARD__EVENT_KIND__FLOOD, "flood"},
    {WARD__EVENT_KIND__LATERAL, "lateral"},
    {WARD__EVENT_KIND__ARP_SPOOF, "arp_spoof"},
    {WARD__EVENT_KIND__IOC_HIT, "ioc_hit"},
    {WARD__EVENT_KIND__NEW_ASSET, "new_asset"},
    {WARD__EVENT_KIND__SENSOR_SILENT, "sensor_silent"},
    {WARD__EVENT_KIND__ISOLATION_LEAK, "isolation_leak"},
};

const char *event_kind_name(Ward__EventKind kind)
{
    for (size_t i = 0; i < WARD_ARRAY_LEN(kinds); i++) {
        if (kinds[i].kind == kind)
            return kinds[i].name;
    }
    return "unknown";
}

Ward__EventKind event_kind_parse(const char *name)
{
    for (size_t i = 0; name && i < WARD_ARRAY_LEN(kinds); i++) {
        if (strcmp(kinds[i].name, name) == 0)
            return kinds[i].kind;
    }
    return WARD__EVENT_KIND__EVENT_KIND_UNSPECIFIED;
}

static json_t *str_array(char **items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(items[i] ? items[i] : ""));
    return a;
}

json_t *event_json(const Ward__Event *ev, const char *sensor)
{
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "kind", json_string(event_kind_name(ev->kind)));
    json_object_set_new(j, "subtype", json_string(ev->subtype ? ev->subtype : ""));
    json_object_set_new(j, "uid", json_string(ev->uid ? ev->uid : ""));
    json_set_u64(j, "revision", ev->revision);
    if (sensor)
        json_object_set_new(j, "sensor", json_string(sensor));
    json_object_set_new(j, "src", json_string(ev->src ? ev->src : ""));
    json_object_set_new(j, "dst", json_string(ev->dst ? ev->dst : ""));
    json_object_set_new(j, "src_mac", json_string(ev->src_mac ? ev->src_mac : ""));
    json_set_u64(j, "proto", ev->proto);
    json_t *ports = json_array();
    for (size_t i = 0; ports && i < ev->n_ports; i++)
        json_array_append_new(ports, json_integer(ev->ports[i]));
    json_object_set_new(j, "ports", ports);
    json_set_time(j, "first", ev->first_usec);
    json_set_time(j, "last", ev->last_usec);
    json_set_u64(j, "first_usec", ev->first_usec);
    json_set_u64(j, "last_usec", ev->last_usec);
    json_set_u64(j, "packets", ev->packets);
    json_set_u64(j, "bytes", ev->bytes);
    json_set_u64(j, "count", ev->count);
    json_set_u64(j, "severity", ev->severity);
    json_set_u64(j, "confidence", ev->confidence);
    json_object_set_new(j, "summary", json_string(ev->summary ? ev->summary : ""));
    json_t *figs = json_object();
    for (size_t i = 0; figs && i < ev->n_figures; i++) {
        if (ev->figures[i] && ev->figures[i]->name)
            json_object_set_new(figs, ev->figures[i]->name, json_real(ev->figures[i]->value));
    }
    json_object_set_new(j, "figures", figs);
    json_object_set_new(j, "targets", str_array(ev->targets, ev->n_targets));
    json_object_set_new(j, "domain", json_string(ev->domain ? ev->domain : ""));
    json_object_set_new(j, "evidence", str_array(ev->evidence, ev->n_evidence));
    json_set_u64(j, "vlan", ev->vlan);
    json_object_set_new(j, "closed", json_boolean(ev->closed));
    return j;
}
