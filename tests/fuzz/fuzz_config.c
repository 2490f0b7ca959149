/*
 * fuzz_config -- INI configuration text through config_parse() and the getters
 * (the port-list getter reads key "ports" of section [a]).
 */
#include "fuzz.h"

#include "config.h"

int FUZZ_ENTRY(const uint8_t *data, size_t size)
{
    if (size > (64u << 10))
        return 0;
    struct config *c = NULL;
    char err[256];
    if (config_parse("fuzz.conf", (const char *)data, size, &c, err, sizeof(err)) == 0) {
        uint64_t u;
        double d;
        bool b;
        int bad = 0;
        bad |= config_get_u64(c, "a", "b", 0, &u);
        bad |= config_get_size(c, "a", "size", 0, &u);
        bad |= config_get_duration(c, "a", "t", 0, &u);
        bad |= config_get_double(c, "a", "d", 0, &d);
        bad |= config_get_bool(c, "a", "y", false, &b);
        uint16_t ports[8];
        size_t n_ports;
        bad |= config_get_ports(c, "a", "ports", "", ports, WARD_ARRAY_LEN(ports), &n_ports);
        if (n_ports > WARD_ARRAY_LEN(ports))
            __builtin_trap();
        for (size_t i = 0; i < n_ports; i++) {
            if (ports[i] == 0)
                __builtin_trap();
        }
        bad |= config_check_unused(c, NULL);
        if (bad && config_error(c)[0] == '\0')
            __builtin_trap(); /* every failure must say why */
        config_free(c);
    }
    return 0;
}
