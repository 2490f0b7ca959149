/*
 * grade -- see grade.h.  Each rule gives a level or nothing; the incident gets
 * the most serious one.  The reason names every rule that gave that level, so an
 * operator can see why Ward raised it.
 */
#include "grade.h"

#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "event_json.h"

static grade_criticality_fn criticality_source; /* the asset ledger, when registered */

static const char *const level_names[] = {"?", "I", "II", "III", "IV"};
static const char *const level_names_zh[] = {"?", "特别重大", "重大", "较大", "一般"};

const char *grade_level_name(int level)
{
    return level >= GRADE_LEVEL_MIN && level <= GRADE_LEVEL_MAX ? level_names[level] : "?";
}

const char *grade_level_name_zh(int level)
{
    return level >= GRADE_LEVEL_MIN && level <= GRADE_LEVEL_MAX ? level_names_zh[level] : "?";
}

int grade_level_parse(const char *s, int *out)
{
    if (!s)
        return -EINVAL;
    for (int l = GRADE_LEVEL_MIN; l <= GRADE_LEVEL_MAX; l++) {
        char digit[2] = {(char)('0' + l), '\0'};
        if (strcasecmp(s, level_names[l]) == 0 || strcmp(s, digit) == 0) {
            *out = l;
            return 0;
        }
    }
    return -EINVAL;
}

void grade_rules_default(struct grade_rules *r)
{
    memset(r, 0, sizeof(*r));
    r->technique[WARD__EVENT_KIND__PORTSCAN] = 4;
    r->technique[WARD__EVENT_KIND__BRUTEFORCE] = 4;
    r->technique[WARD__EVENT_KIND__BEACON] = 4;
    r->technique[WARD__EVENT_KIND__DNS_TUNNEL] = 4;
    r->technique[WARD__EVENT_KIND__IOC_HIT] = 4;
    r->technique[WARD__EVENT_KIND__NEW_ASSET] = 4;
    r->technique[WARD__EVENT_KIND__EXFIL] = 3;
    r->technique[WARD__EVENT_KIND__FLOOD] = 3;
    r->technique[WARD__EVENT_KIND__LATERAL] = 3;
    r->technique[WARD__EVENT_KIND__ARP_SPOOF] = 3;
    r->technique[WARD__EVENT_KIND__ISOLATION_LEAK] = 3;
    r->hosts[3] = 5;
    r->hosts[2] = 20;
    r->hosts[1] = 100;
    r->segments[3] = 2;
    r->segments[2] = 4;
    r->segments[1] = 8;
    r->crit_involved[1] = 3;
    r->core_spread = 2;
    r->core_spread_i = 3;
    cidr_set_init(&r->core);
    cidr_set_init(&r->important);
    r->default_criticality = 4;
}

void grade_rules_fini(struct grade_rules *r)
{
    cidr_set_fini(&r->core);
    cidr_set_fini(&r->important);
}

/* A level setting: I..IV, 1..4, or "none"/0 for no level. */
static int get_level(struct config *cfg, const char *key, uint8_t *inout)
{
    if (!config_has(cfg, "grading", key))
        return 0;
    const char *v = config_get_str(cfg, "grading", key, "");
    int l;
    if (strcasecmp(v, "none") == 0 || strcmp(v, "0") == 0) {
        *inout = 0;
        return 0;
    }
    if (grade_level_parse(v, &l) < 0)
        return config_fail(cfg, "grading", key, "'%s' is not a level (I, II, III, IV or none)",
                           v);
    *inout = (uint8_t)l;
    return 0;
}

static int get_count(struct config *cfg, const char *key, unsigned *inout)
{
    uint64_t v;
    if (config_get_u64(cfg, "grading", key, *inout, &v) < 0)
        return -EINVAL;
    if (v > 1000000)
        return config_fail(cfg, "grading", key, "%llu is more than 1000000",
                           (unsigned long long)v);
    *inout = (unsigned)v;
    return 0;
}

static int get_cidrs(struct config *cfg, const char *key, struct cidr_set *set)
{
    const char *v = config_get_str(cfg, "grading", key, "");
    char bad[64];
    if (cidr_set_add_list(set, v, bad, sizeof(bad)) < 0)
        return config_fail(cfg, "grading", key, "'%s' is not an address or CIDR", bad);
    return 0;
}

int grade_rules_load(struct grade_rules *r, struct config *cfg)
{
    static const char *const roman_keys[][2] = {
        {"hosts_i", "segments_i"}, {"hosts_ii", "segments_ii"}, {"hosts_iii", "segments_iii"}};
    static const char *const crit_keys[] = {"", "criticality_1", "criticality_2",
                                            "criticality_3", "criticality_4"};
    grade_rules_default(r);
    if (!cfg)
        return 0;
    int rc = 0;
    for (int k = 1; k < GRADE_KINDS && rc == 0; k++) {
        const char *name = event_kind_name((Ward__EventKind)k);
        if (strcmp(name, "unknown") == 0)
            continue;
        char key[64];
        snprintf(key, sizeof(key), "technique.%s", name);
        rc = get_level(cfg, key, &r->technique[k]);
    }
    for (int l = 1; l <= 3 && rc == 0; l++) {
        rc = get_count(cfg, roman_keys[l - 1][0], &r->hosts[l]);
        if (rc == 0)
            rc = get_count(cfg, roman_keys[l - 1][1], &r->segments[l]);
    }
    for (int k = 1; k <= GRADE_LEVEL_MAX && rc == 0; k++)
        rc = get_level(cfg, crit_keys[k], &r->crit_involved[k]);
    if (rc == 0)
        rc = get_level(cfg, "core_spread", &r->core_spread);
    if (rc == 0)
        rc = get_count(cfg, "core_spread_i", &r->core_spread_i);
    if (rc == 0)
        rc = get_cidrs(cfg, "core_hosts", &r->core);
    if (rc == 0)
        rc = get_cidrs(cfg, "important_hosts", &r->important);
    if (rc == 0) {
        uint64_t d;
        rc = config_get_u64(cfg, "grading", "default_criticality", 4, &d);
        if (rc == 0 && (d < 1 || d > 4))
            rc = config_fail(cfg, "grading", "default_criticality", "%llu is not 1..4",
                             (unsigned long long)d);
        if (rc == 0)
            r->default_criticality = (int)d;
    }
    if (rc) {
        grade_rules_fini(r);
        return -EINVAL;
    }
    return 0;
}

void grade_set_criticality_source(grade_criticality_fn fn)
{
    criticality_source = fn;
}

int grade_criticality(const struct grade_rules *r, struct console *c, const char *addr)
{
    if (criticality_source) {
        int k = criticality_source(c, addr);
        if (k >= 1 && k <= 4)
            return k;
    }
    struct addr a;
    if (addr_parse(addr, &a) == 0) {
        if (cidr_set_contains(&r->core, &a))
            return 1;
        if (cidr_set_contains(&r->important, &a))
            return 2;
    }
    return r->default_criticality;
}

/* Collects the rules that give the most serious level seen so far. */
struct verdict {
    int level;                     /* most serious so far, 5 = none */
    bool level_only;               /* no reason wanted: nothing is formatted */
    char reason[GRADE_REASON_LEN]; /* the rules that gave it, "; "-separated */
};

static void offer(struct verdict *v, int level, const char *fmt, ...) WARD_PRINTF(3, 4);

static void offer(struct verdict *v, int level, const char *fmt, ...)
{
    if (level < GRADE_LEVEL_MIN || level > GRADE_LEVEL_MAX || level > v->level)
        return;
    if (level < v->level) {
        v->level = level;
        v->reason[0] = '\0';
    }
    if (v->level_only)
        return;
    size_t n = strlen(v->reason);
    if (n > 0 && n + 2 < sizeof(v->reason)) {
        memcpy(v->reason + n, "; ", 3);
        n += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason + n, sizeof(v->reason) - n, fmt, ap);
    va_end(ap);
}

/* Offers every rule that applies to f. */
static void judge(const struct grade_rules *r, const struct grade_facts *f, struct verdict *v)
{
    for (int k = 1; k < GRADE_KINDS; k++) {
        if (f->kinds & (1u << k))
            offer(v, r->technique[k], "technique %s", event_kind_name((Ward__EventKind)k));
    }
    for (int l = GRADE_LEVEL_MIN; l < GRADE_LEVEL_MAX; l++) {
        if (r->hosts[l] && f->hosts >= r->hosts[l])
            offer(v, l, "%u internal hosts involved (%u or more)", f->hosts, r->hosts[l]);
        if (r->segments[l] && f->segments >= r->segments[l])
            offer(v, l, "%u segments involved (%u or more)", f->segments, r->segments[l]);
    }
    for (int k = 1; k <= GRADE_LEVEL_MAX; k++) {
        if (f->crit[k] && r->crit_involved[k])
            offer(v, r->crit_involved[k], "%u host(s) of criticality %d involved%s%s",
                  f->crit[k], k, k == 1 && f->core_host[0] ? ", e.g. " : "",
                  k == 1 ? f->core_host : "");
    }
    if (f->spreading && f->crit[1]) {
        offer(v, r->core_spread, "a spreading attack reached core host %s", f->core_host);
        if (r->core_spread_i && f->crit[1] >= r->core_spread_i)
            offer(v, 1, "a spreading attack reached %u core hosts (%u or more)", f->crit[1],
                  r->core_spread_i);
    }
}

int grade_level_of(const struct grade_rules *r, const struct grade_facts *f)
{
    struct verdict v = {.level = GRADE_LEVEL_MAX + 1, .level_only = true};
    judge(r, f, &v);
    return v.level > GRADE_LEVEL_MAX ? GRADE_LEVEL_MAX : v.level;
}

void grade_compute(const struct grade_rules *r, const struct grade_facts *f,
                   struct grade_result *out)
{
    struct verdict v = {.level = GRADE_LEVEL_MAX + 1};
    judge(r, f, &v);
    if (v.level > GRADE_LEVEL_MAX) {
        v.level = GRADE_LEVEL_MAX;
        snprintf(v.reason, sizeof(v.reason), "no rule gave a level: the lowest, IV");
    }
    out->level = v.level;
    snprintf(out->reason, sizeof(out->reason), "%s", v.reason);
}
