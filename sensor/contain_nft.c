/*
 * contain_nft -- the nft containment backend, through libnftables (the sensor's
 * only <nftables/libnftables.h> user).
 *
 * setup() replaces the `ward` table (inet family) in one transaction with:
 *   sets isolated4/isolated6 (with timeouts: the kernel releases an isolation at
 *   its time limit even if the sensor is gone) and mgmt4/mgmt6 (intervals: the
 *   management addresses from config); chains forward, input and output at
 *   priority -10 that drop traffic from and to an isolated address unless the
 *   other end is a management address.
 * Isolating adds the address to its set with the remaining time as the element
 * timeout; releasing removes it.  Both are written as add-then-delete so that
 * repeating one never fails.  Needs CAP_NET_ADMIN.
 */
#include "contain.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

#include "log.h"

#define NFT_TABLE_MAX 32
#define NFT_CMD_MAX 512

struct contain_nft {
    struct nft_ctx *nft;        /* libnftables context */
    char table[NFT_TABLE_MAX];  /* table name */
    char *ruleset;              /* what setup() loads */
};

static bool table_name_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n >= NFT_TABLE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
              (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '-'))
            return false;
    return true;
}

/* Appends printf output at *len; false when cap is reached. */
static bool emit(char *out, size_t cap, size_t *len, const char *fmt, ...) WARD_PRINTF(4, 5);
static bool emit(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    if (*len >= cap)
        return false;
    va_start(ap, fmt);
    int n = vsnprintf(out + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap - *len) {
        *len = cap;
        return false;
    }
    *len += (size_t)n;
    return true;
}

static bool emit_set(char *out, size_t cap, size_t *len, const char *name, const char *type,
                     const char *flags, const struct cidr_set *items, uint8_t family)
{
    bool ok = emit(out, cap, len, "  set %s { type %s; flags %s;", name, type, flags);
    bool first = true;
    for (size_t i = 0; items && i < items->count; i++) {
        const struct cidr *ci = &items->items[i];
        char a[ADDR_STR_LEN];
        if (ci->net.family != family)
            continue;
        ok = ok && emit(out, cap, len, "%s%s/%u", first ? " elements = { " : ", ",
                        addr_format(&ci->net, a, sizeof(a)), ci->bits);
        first = false;
    }
    if (!first)
        ok = ok && emit(out, cap, len, " };");
    return ok && emit(out, cap, len, " }\n");
}

int contain_nft_ruleset(const char *table, const struct cidr_set *management, char *out,
                        size_t cap)
{
    size_t len = 0;
    if (!table)
        table = "ward";
    if (!table_name_ok(table))
        return -EINVAL;
    bool ok = emit(out, cap, &len, "add table inet %s\ndelete table inet %s\n", table, table) &&
              emit(out, cap, &len, "table inet %s {\n", table) &&
              emit_set(out, cap, &len, "isolated4", "ipv4_addr", "timeout", NULL, 4) &&
              emit_set(out, cap, &len, "isolated6", "ipv6_addr", "timeout", NULL, 6) &&
              emit_set(out, cap, &len, "mgmt4", "ipv4_addr", "interval", management, 4) &&
              emit_set(out, cap, &len, "mgmt6", "ipv6_addr", "interval", management, 6) &&
              emit(out, cap, &len,
                   "  chain forward {\n"
                   "    type filter hook forward priority -10; policy accept;\n"
                   "    ip saddr @isolated4 ip daddr != @mgmt4 counter drop\n"
                   "    ip daddr @isolated4 ip saddr != @mgmt4 counter drop\n"
                   "    ip6 saddr @isolated6 ip6 daddr != @mgmt6 counter drop\n"
                   "    ip6 daddr @isolated6 ip6 saddr != @mgmt6 counter drop\n"
                   "  }\n"
                   "  chain input {\n"
                   "    type filter hook input priority -10; policy accept;\n"
                   "    ip saddr @isolated4 ip daddr != @mgmt4 counter drop\n"
                   "    ip6 saddr @isolated6 ip6 daddr != @mgmt6 counter drop\n"
                   "  }\n"
                   "  chain output {\n"
                   "    type filter hook output priority -10; policy accept;\n"
                   "    ip daddr @isolated4 ip saddr != @mgmt4 counter drop\n"
                   "    ip6 daddr @isolated6 ip6 saddr != @mgmt6 counter drop\n"
                   "  }\n"
                   "}\n");
    return ok ? 0 : -ENOSPC;
}

/* Runs cmd; on failure copies libnftables' message into err. */
static int run(struct contain_nft *n, const char *cmd, char *err, size_t errcap)
{
    if (nft_run_cmd_from_buffer(n->nft, cmd) == 0)
        return 0;
    const char *msg = nft_ctx_get_error_buffer(n->nft);
    snprintf(err, errcap, "nft: %s", msg && msg[0] ? msg : "command failed");
    /* One line for the log: libnftables ends messages with newlines and carets. */
    for (char *p = err; *p; p++)
        if (*p == '\n')
            *p = ' ';
    return -EIO;
}

static int nft_setup(void *b, char *err, size_t errcap)
{
    struct contain_nft *n = b;
    return run(n, n->ruleset, err, errcap);
}

static const char *set_of(const struct addr *a)
{
    return a->family == 6 ? "isolated6" : "isolated4";
}

static int nft_isolate(void *b, const struct addr *a, const char *mac, uint64_t ttl_sec,
                       char *err, size_t errcap)
{
    struct contain_nft *n = b;
    char host[ADDR_STR_LEN];
    char cmd[NFT_CMD_MAX];
    (void)mac;
    addr_format(a, host, sizeof(host));
    const char *set = set_of(a);
    snprintf(cmd, sizeof(cmd),
             "add element inet %s %s { %s }\ndelete element inet %s %s { %s }\n"
             "add element inet %s %s { %s timeout %llus }\n",
             n->table, set, host, n->table, set, host, n->table, set, host,
             (unsigned long long)(ttl_sec ? ttl_sec : 1));
    return run(n, cmd, err, errcap);
}

static int nft_release(void *b, const struct addr *a, const char *mac, char *err, size_t errcap)
{
    struct contain_nft *n = b;
    char host[ADDR_STR_LEN];
    char cmd[NFT_CMD_MAX];
    (void)mac;
    addr_format(a, host, sizeof(host));
    const char *set = set_of(a);
    snprintf(cmd, sizeof(cmd), "add element inet %s %s { %s }\ndelete element inet %s %s { %s }\n",
             n->table, set, host, n->table, set, host);
    return run(n, cmd, err, errcap);
}

static void nft_close(void *b)
{
    struct contain_nft *n = b;
    if (!n)
        return;
    if (n->nft)
        nft_ctx_free(n->nft);
    free(n->ruleset);
    free(n);
}

const struct contain_ops contain_nft_ops = {
    .name = "nft",
    .setup = nft_setup,
    .isolate = nft_isolate,
    .release = nft_release,
    .close = nft_close,
};

int contain_nft_open(const char *table, const struct cidr_set *management, bool dry_run,
                     void **out)
{
    size_t cap = 4096 + (management ? management->count * 64 : 0);
    *out = NULL;
    if (!table)
        table = "ward";
    if (!table_name_ok(table)) {
        log_err("contain: nft table name '%s' must be 1-31 letters, digits, _ or -", table);
        return -EINVAL;
    }
    struct contain_nft *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    snprintf(n->table, sizeof(n->table), "%s", table);
    n->ruleset = malloc(cap);
    n->nft = nft_ctx_new(NFT_CTX_DEFAULT);
    if (!n->ruleset || !n->nft) {
        nft_close(n);
        return -ENOMEM;
    }
    if (contain_nft_ruleset(table, management, n->ruleset, cap) != 0) {
        nft_close(n);
        return -ENOSPC;
    }
    nft_ctx_buffer_output(n->nft);
    nft_ctx_buffer_error(n->nft);
    if (dry_run)
        nft_ctx_set_dry_run(n->nft, true);
    *out = n;
    return 0;
}
