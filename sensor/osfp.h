/*
 * osfp -- a passive guess at a host's operating-system family.
 *
 * Three weak signals, strongest first: the DHCP vendor class a client sends
 * ("MSFT 5.0", "android-dhcp-13", "dhcpcd-..."), the shape of a TCP SYN or SYN-ACK
 * (initial TTL, window, option order as decoded into struct pkt_tcp), and the
 * initial TTL of any other packet.  Families: windows, linux, macos, ios,
 * android, network (routers, printers and appliances answering with TTL 255),
 * unknown.  Pure functions over decoded values; no state.
 */
#ifndef WARD_OSFP_H
#define WARD_OSFP_H

#include <stdint.h>

#include "pkt.h"

/* How much a guess is worth; a host keeps its best. */
enum osfp_rank {
    OSFP_NONE = 0,   /* no guess */
    OSFP_TTL = 1,    /* initial TTL alone */
    OSFP_TCP = 2,    /* SYN / SYN-ACK shape */
    OSFP_DHCP = 3,   /* DHCP vendor class */
};

struct osfp_guess {
    const char *family;  /* static string: "windows", "linux"...; "unknown" if none */
    enum osfp_rank rank; /* how it was found */
};

/* The initial TTL a packet probably left with: 32, 64, 128 or 255 (0 for ttl 0). */
uint8_t osfp_initial_ttl(uint8_t ttl);

/* From the TTL alone. */
struct osfp_guess osfp_from_ttl(uint8_t ttl);
/* From a SYN or SYN-ACK (tcp decoded with options) and its TTL. */
struct osfp_guess osfp_from_syn(uint8_t ttl, const struct pkt_tcp *tcp);
/* From a DHCP vendor class string (option 60); rank OSFP_NONE if it says nothing. */
struct osfp_guess osfp_from_dhcp(const char *vendor_class);
/* From a host name a device gave itself ("android-...", "iPhone", "MacBook-Air"). */
struct osfp_guess osfp_from_hostname(const char *hostname);

#endif
