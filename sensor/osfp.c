/*
 * osfp -- see osfp.h.
 *
 * The TCP rules follow what p0f's signature file says of the common stacks:
 * Windows sends TTL 128 and options M,N,W,N,N,S (or M,N,W,S,T with timestamps
 * on); Linux sends TTL 64 and M,S,T,N,W; macOS and iOS send TTL 64 and
 * M,N,W,N,N,T,S,E,E (E is end-of-list padding), window 65535.  Network gear
 * starts at 255.  Anything else with TTL 64 is "linux" only when the options
 * look like Linux; otherwise the TTL decides alone.
 */
#include "osfp.h"

#include <string.h>
#include <strings.h>

uint8_t osfp_initial_ttl(uint8_t ttl)
{
    if (ttl == 0)
        return 0;
    if (ttl <= 32)
        return 32;
    if (ttl <= 64)
        return 64;
    if (ttl <= 128)
        return 128;
    return 255;
}

static struct osfp_guess guess(const char *family, enum osfp_rank rank)
{
    struct osfp_guess g = {family, rank};
    return g;
}

struct osfp_guess osfp_from_ttl(uint8_t ttl)
{
    switch (osfp_initial_ttl(ttl)) {
    case 32:
    case 128:
        return guess("windows", OSFP_TTL);
    case 64:
        return guess("linux", OSFP_TTL);
    case 255:
        return guess("network", OSFP_TTL);
    default:
        return guess("unknown", OSFP_NONE);
    }
}

struct osfp_guess osfp_from_syn(uint8_t ttl, const struct pkt_tcp *tcp)
{
    uint8_t init = osfp_initial_ttl(ttl);
    char order[sizeof(tcp->opt_order) + 1];

    memcpy(order, tcp->opt_order, sizeof(tcp->opt_order));
    order[sizeof(tcp->opt_order)] = '\0';
    if (init == 128 || init == 32)
        return guess("windows", OSFP_TCP);
    if (init == 255)
        return guess("network", OSFP_TCP);
    if (init != 64)
        return guess("unknown", OSFP_NONE);
    /* Apple stacks: timestamps before SACK, and end-of-list padding. */
    if (strncmp(order, "MNWNNTS", 7) == 0)
        return guess(tcp->window == 65535 ? "macos" : "ios", OSFP_TCP);
    if (strncmp(order, "MST", 3) == 0 || strncmp(order, "MSN", 3) == 0 ||
        strcmp(order, "MNNSNW") == 0)
        return guess("linux", OSFP_TCP);
    return guess("linux", OSFP_TTL);
}

struct osfp_guess osfp_from_dhcp(const char *vendor_class)
{
    static const struct {
        const char *prefix;
        const char *family;
    } table[] = {
        {"MSFT", "windows"},       {"android-dhcp", "android"}, {"dhcpcd", "linux"},
        {"udhcp", "linux"},        {"Linux", "linux"},          {"ubnt", "network"},
        {"Cisco", "network"},      {"Aruba", "network"},        {"HUAWEI", "network"},
        {"Mikrotik", "network"},
    };
    if (!vendor_class || !vendor_class[0])
        return guess("unknown", OSFP_NONE);
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strncasecmp(vendor_class, table[i].prefix, strlen(table[i].prefix)) == 0)
            return guess(table[i].family, OSFP_DHCP);
    }
    return guess("unknown", OSFP_NONE);
}

struct osfp_guess osfp_from_hostname(const char *hostname)
{
    static const struct {
        const char *needle;
        const char *family;
    } table[] = {
        {"android", "android"}, {"iphone", "ios"},     {"ipad", "ios"},
        {"macbook", "macos"},   {"imac", "macos"},     {"-pc", "windows"},
        {"desktop-", "windows"}, {"laptop-", "windows"},
    };
    char low[PKT_SHORT_MAX];
    size_t n = 0;

    if (!hostname)
        return guess("unknown", OSFP_NONE);
    for (; hostname[n] && n + 1 < sizeof(low); n++) {
        char ch = hostname[n];
        low[n] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
    }
    low[n] = '\0';
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strstr(low, table[i].needle))
            return guess(table[i].family, OSFP_DHCP);
    }
    return guess("unknown", OSFP_NONE);
}
