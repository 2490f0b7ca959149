/*
 * grade -- incident levels I-IV from configurable rules.
 *
 * Levels follow the hospital's incident table: 1 = I 特别重大 (whole hospital),
 * 2 = II 重大, 3 = III 较大, 4 = IV 一般 (a few systems or single endpoints).
 * A lower number is more serious.  grade_compute() looks at the facts of an
 * incident (techniques seen, internal hosts and segments involved, the
 * criticality of those hosts, whether it spreads) and returns the most serious
 * level any rule gives, with the reasons that gave it.  Rules come from the
 * [grading] section of the console config (docs/operator-guide.md lists them).
 *
 * Asset criticality runs from 1 (core clinical systems: HIS, EMR, PACS, LIS) to
 * 4.  It comes from the asset ledger when a module has registered a source with
 * grade_set_criticality_source(); otherwise, and for addresses the ledger does
 * not know, from [grading] core_hosts (criticality 1), important_hosts (2) and
 * default_criticality.  Console thread only.
 */
#ifndef WARD_GRADE_H
#define WARD_GRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "console.h"
#include "ward.h"

#define GRADE_LEVEL_MIN 1       /* I */
#define GRADE_LEVEL_MAX 4       /* IV */
#define GRADE_KINDS 32          /* event kinds a rule may name (Ward__EventKind values) */
#define GRADE_REASON_LEN 512

struct grade_rules {
    uint8_t technique[GRADE_KINDS]; /* level a technique gives alone; 0: no level */
    unsigned hosts[GRADE_LEVEL_MAX + 1];    /* hosts[L]: internal hosts giving level L; 0 off */
    unsigned segments[GRADE_LEVEL_MAX + 1]; /* segments[L]: segments giving level L; 0 off */
    uint8_t crit_involved[GRADE_LEVEL_MAX + 1]; /* [k]: level when a criticality-k host is in */
    uint8_t core_spread;            /* level when a spread reaches a criticality-1 host */
    unsigned core_spread_i;         /* criticality-1 hosts a spread must reach for level I */
    struct cidr_set core;           /* [grading] core_hosts: criticality 1 */
    struct cidr_set important;      /* [grading] important_hosts: criticality 2 */
    int default_criticality;        /* for every other address (1..4) */
};

/* What is known about an incident, for grading. */
struct grade_facts {
    uint32_t kinds;                 /* bit (1 << Ward__EventKind) per technique seen */
    unsigned hosts;                 /* distinct internal hosts involved */
    unsigned sources;               /* distinct internal hosts acting (event sources) */
    unsigned segments;              /* distinct internal segments involved */
    unsigned crit[GRADE_LEVEL_MAX + 1]; /* crit[k]: hosts of criticality k */
    bool spreading;                 /* lateral movement, or a campaign over several hosts */
    char core_host[ADDR_STR_LEN];   /* one criticality-1 host involved, for the reason */
};

struct grade_result {
    int level;                      /* 1..4 */
    char reason[GRADE_REASON_LEN];  /* "II: lateral movement reached core host 10.1.5.10" */
};

/* The built-in rules (the design brief's defaults; docs/operator-guide.md). */
void grade_rules_default(struct grade_rules *r);
/*
 * The built-in rules overridden by [grading] in cfg.  Returns 0, or -EINVAL with
 * a message naming file and line in config_error(cfg).  Free with grade_rules_fini().
 */
WARD_MUST_CHECK int grade_rules_load(struct grade_rules *r, struct config *cfg);
void grade_rules_fini(struct grade_rules *r);

/* The level the rules give for facts, and why. */
void grade_compute(const struct grade_rules *r, const struct grade_facts *f,
                   struct grade_result *out);
/* grade_compute()'s level alone, without formatting the reason (per event). */
int grade_level_of(const struct grade_rules *r, const struct grade_facts *f);

/*
 * A source of asset criticality (the asset ledger): returns 1..4 for an address
 * it knows, 0 when it does not know it.  c is the console passed to
 * grade_criticality().  Registering NULL removes it.
 */
typedef int (*grade_criticality_fn)(struct console *c, const char *addr);
void grade_set_criticality_source(grade_criticality_fn fn);

/* Criticality 1..4 of addr: the registered source first, then the rules' lists. */
int grade_criticality(const struct grade_rules *r, struct console *c, const char *addr);

/* "I".."IV" ("?" out of range). */
const char *grade_level_name(int level);
/* "特别重大", "重大", "较大", "一般". */
const char *grade_level_name_zh(int level);
/* Parses "I".."IV" (any case) or "1".."4".  0 or -EINVAL. */
WARD_MUST_CHECK int grade_level_parse(const char *s, int *out);

#endif
