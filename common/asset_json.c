/*
 * asset_json -- see asset_json.h.
 */
#include "asset_json.h"

#include <stdio.h>

static const char *s(const char *v)
{
    return v ? v : "";
}

const char *asset_json_proto(unsigned proto, char *buf, size_t cap)
{
    if (proto == 6)
        return "tcp";
    if (proto == 17)
        return "udp";
    snprintf(buf, cap, "%u", proto);
    return buf;
}

static json_t *str_array(char **items, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(s(items[i])));
    return a;
}

json_t *asset_json(const Ward__AssetUpdate *a, const char *sensor)
{
    char buf[8];
    json_t *j = json_object();
    if (!j)
        return NULL;
    json_object_set_new(j, "type", json_string("asset"));
    if (sensor)
        json_object_set_new(j, "sensor", json_string(sensor));
    json_object_set_new(j, "ip", json_string(s(a->ip)));
    json_object_set_new(j, "mac", json_string(s(a->mac)));
    json_object_set_new(j, "vendor", json_string(s(a->vendor)));
    json_object_set_new(j, "hostname", json_string(s(a->hostname)));
    json_object_set_new(j, "hostname_source", json_string(s(a->hostname_source)));
    json_object_set_new(j, "os", json_string(s(a->os_guess)));
    json_set_u64(j, "ttl", a->ttl);
    json_t *svcs = json_array();
    for (size_t i = 0; svcs && i < a->n_services; i++) {
        const Ward__Service *sv = a->services[i];
        json_t *o = json_object();
        if (!o)
            break;
        json_object_set_new(o, "proto", json_string(asset_json_proto(sv->proto, buf, sizeof(buf))));
        json_set_u64(o, "port", sv->port);
        json_object_set_new(o, "app", json_string(s(sv->app)));
        json_array_append_new(svcs, o);
    }
    json_object_set_new(j, "services", svcs);
    json_object_set_new(j, "tls_names", str_array(a->tls_names, a->n_tls_names));
    json_object_set_new(j, "user_agents", str_array(a->user_agents, a->n_user_agents));
    json_object_set_new(j, "dhcp_vendor_class", json_string(s(a->dhcp_vendor_class)));
    json_set_u64(j, "vlan", a->vlan);
    json_set_time(j, "first", a->first_usec);
    json_set_time(j, "last", a->last_usec);
    json_set_u64(j, "first_usec", a->first_usec);
    json_set_u64(j, "last_usec", a->last_usec);
    json_object_set_new(j, "is_new", json_boolean(a->is_new));
    json_object_set_new(j, "gone", json_boolean(a->gone));
    return j;
}
