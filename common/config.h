/*
 * config -- INI configuration files (parsed by libinih), with errors that name
 * the file and line.
 *
 * A loaded config is a list of (section, key, value, line).  Programs read what
 * they know with the typed getters; each getter remembers the key as used, and
 * config_check_unused() then reports any key nobody read: a typo in a config
 * file is an error that names where it is, never a silently ignored setting.
 * Limits: CONFIG_MAX_ENTRIES entries; a line longer than libinih takes is an error.
 */
#ifndef WARD_CONFIG_H
#define WARD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ward.h"

#define CONFIG_MAX_ENTRIES 4096
#define CONFIG_ERR_LEN 512

struct config;

/*
 * Loads path.  Returns 0, or a negative errno with a message in err ("ward.conf:12:
 * ..." for syntax errors, "ward.conf: No such file or directory" for I/O).
 * *out is NULL on failure.
 */
WARD_MUST_CHECK int config_load(const char *path, struct config **out, char *err, size_t errcap);
/* Parses INI text held in memory (name is used in messages).  Same contract. */
WARD_MUST_CHECK int config_parse(const char *name, const char *text, size_t len,
                                 struct config **out, char *err, size_t errcap);
/* An empty config (every getter returns its default). */
struct config *config_new_empty(const char *name);
void config_free(struct config *c);

/* The file name given at load. */
const char *config_name(const struct config *c);

/*
 * Getters.  When the key is absent they store def and return 0.  A value that does
 * not parse returns -EINVAL and leaves a message in config_error().  Each marks the
 * key used.  The string getter's result lives as long as the config.
 */
const char *config_get_str(struct config *c, const char *section, const char *key,
                           const char *def);
WARD_MUST_CHECK int config_get_u64(struct config *c, const char *section, const char *key,
                                   uint64_t def, uint64_t *out);
WARD_MUST_CHECK int config_get_double(struct config *c, const char *section, const char *key,
                                      double def, double *out);
WARD_MUST_CHECK int config_get_bool(struct config *c, const char *section, const char *key,
                                    bool def, bool *out);
/* Durations "30s", "15m", "2h", "1d" in usec (common/clock.h). */
WARD_MUST_CHECK int config_get_duration(struct config *c, const char *section, const char *key,
                                        uint64_t def_usec, uint64_t *out_usec);
/* Sizes "64M", "1G", "4096" in bytes. */
WARD_MUST_CHECK int config_get_size(struct config *c, const char *section, const char *key,
                                    uint64_t def, uint64_t *out);
/*
 * A list of ports, "22, 80,443": whole numbers 1 to 65535 separated by commas, with
 * blanks allowed around each.  An empty value is an empty list.  Fills out[0..*count)
 * in the order written, at most cap ports (cap > 0).  When the key is absent, def is
 * parsed instead.  An empty item, a token that is not a port, a port listed twice or
 * more than cap ports returns -EINVAL with a message in config_error() that names the
 * section, the key and the bad token; *count is then 0 and out is unspecified.
 */
WARD_MUST_CHECK int config_get_ports(struct config *c, const char *section, const char *key,
                                     const char *def, uint16_t *out, size_t cap, size_t *count);
/*
 * Steps through a list value whose items are separated by commas and/or blanks
 * ("a, b c"; empty items are skipped): returns the next item, not NUL-terminated,
 * with its length in *len, and moves *cursor past it; NULL when none is left.
 * For lists of names and addresses; port lists use config_get_ports().
 */
const char *config_list_next(const char **cursor, size_t *len);
/* True if the key is present (does not mark it used). */
bool config_has(const struct config *c, const char *section, const char *key);
/* Line of the key in the file, 0 if absent. */
unsigned config_line(const struct config *c, const char *section, const char *key);

/*
 * Visits every key of a section in file order (for lists such as [assets] or
 * [roles]); marks them used.  Stops early if fn returns non-zero and returns that.
 */
typedef int (*config_visit_fn)(void *arg, const char *key, const char *value, unsigned line);
int config_each(struct config *c, const char *section, config_visit_fn fn, void *arg);

/* Sets a message in config_error() naming file and line of section/key. */
int config_fail(struct config *c, const char *section, const char *key, const char *fmt, ...)
    WARD_PRINTF(4, 5);

/*
 * Returns -EINVAL and a message naming the first key no getter read
 * ("ward.conf:7: unknown key 'snaplenn' in [capture]"), 0 if all were read.
 * Sections listed in ignore_sections (NULL-terminated, may be NULL) are skipped.
 */
WARD_MUST_CHECK int config_check_unused(struct config *c, const char *const *ignore_sections);

/* The last error message. */
const char *config_error(const struct config *c);

#endif
